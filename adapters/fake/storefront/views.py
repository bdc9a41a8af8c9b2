"""The fake's selections and orders as Storefront API objects, rendered from what its Shop API
endpoints answer (the selection answer, the receipt, an error body), so a selection read over
GraphQL is the very selection every dialect sees. See ``catalog_views`` for the objects' form
and the ids.

As the published schema has them: the selection's ``grandTotal`` is the total without added
tax; ``checkout`` holds the addresses (``shippingAddress``, and ``separateBillingAddress`` when
the billing address differs), the methods, the totals as rows (``ITEMS_SUBTOTAL``,
``DISCOUNT``, ``SHIPPING``, ``HANDLING``, ``INCLUDING_TAX`` with its ``taxPercent``,
``GRAND_TOTAL``) and, while a Klarna Payments session is open, its ``KlarnaPaymentWidget``.
Line money takes ``includingTax``. A voucher's amounts carry the Shop API's sign (a reduction
is negative). An order's ``status`` is ``PENDING`` (``untouched``) or ``CONFIRMED``
(``progress``); ``orderDate(format:)`` is written as ``dates`` says.

A refusal's ``{"errors": {field: message}}`` becomes one ``UserErrorBase`` per field (``path``
the field split at dots), its ``messages`` (or ``message``) more ``UserErrorBase`` without a
path, and each ``unavailable`` entry an ``UnavailableItem``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderflow.adapters.fake.catalog import NO_EXPIRY
from orderflow.adapters.fake.storefront.catalog_views import CatalogViews, Stock, View
from orderflow.adapters.fake.storefront.dates import order_moment, php_date

_ROWS = (
    ("ITEMS_SUBTOTAL", "itemsTotalPrice"),
    ("DISCOUNT", "totalDiscountPrice"),
    ("SHIPPING", "shippingPrice"),
    ("HANDLING", "handlingCostPrice"),
    ("TAX_DEDUCT", "taxDeducted"),
    ("TAX_ADDED", "taxAdded"),
    ("INCLUDING_TAX", "grandTotalPriceTax"),
    ("GRAND_TOTAL", "grandTotalPrice"),
)
"""Each ``SelectionTotalRowType`` the fake shows, and the Shop API total it shows."""
_SORT_KEYS = {
    "ADDRESS1": "address1",
    "ADDRESS2": "address2",
    "CITY": "city",
    "COMPANY": "company",
    "COUNTRY": "country",
    "EMAIL": "email",
    "FIRSTNAME": "firstName",
    "HOUSE_EXTENSION": "houseExtension",
    "HOUSE_NUMBER": "houseNumber",
    "IDENTITY_NUMBER": "identityNumber",
    "LASTNAME": "lastName",
    "PHONE_NUMBER": "phoneNumber",
    "STATE": "state",
    "VAT_NUMBER": "vatNumber",
    "ZIPCODE": "zipCode",
}
"""Each ``AddressSortKey`` and the payment field it orders."""
_STATUSES = {"untouched": "PENDING", "progress": "CONFIRMED"}
_ISO_DATE = "Y-m-dTH:i:sP"


def _taxed(including: View, excluding: View) -> Any:
    return lambda info, includingTax=True: including if includingTax else excluding


def _text(wire: Mapping[str, Any], key: str) -> str | None:
    value = wire.get(key)
    return None if value is None or value == "" else str(value)


class Views(CatalogViews):
    """The objects of one fake: its catalog's, and its selections' and orders'."""

    # --- lines and money of a cart or an order -------------------------------------------

    def _net(self, pricelist: str, amount: Any, tax: Decimal) -> View:
        cf = self.catalog.pricelists[pricelist].currency_format
        quantum = Decimal(1).scaleb(-cf.decimal_digits)
        net = (Decimal(str(amount)) / (1 + tax / 100)).quantize(quantum, rounding=ROUND_HALF_UP)
        return self.amount(pricelist, net)

    def line(self, wire: Mapping[str, Any], pricelist: str, stock: Stock) -> View:
        """``ProductLine`` of a Shop API line (``items[]``)."""
        tax = Decimal(str(wire.get("taxPercent") or 0))
        quantity = int(wire["quantity"])
        before = Decimal(str(wire["priceEachBeforeDiscountAsNumber"]))
        reduction = Decimal(str(wire["priceEachReductionAsNumber"]))
        original = self.amount(pricelist, before * quantity)
        product = str(wire["product"])

        def money(key: str) -> Any:
            return _taxed(
                self.pair(pricelist, wire, key), self._net(pricelist, wire[f"{key}AsNumber"], tax)
            )

        return {
            "__typename": "ProductLine",
            "id": str(wire["line"]),
            "name": str(wire.get("productName") or ""),
            "productNumber": str(wire.get("sku") or ""),
            "productVariantName": str(wire.get("productName") or ""),
            "size": str(wire.get("size") or ""),
            "quantity": quantity,
            "comment": str(wire.get("comment") or ""),
            "hasDiscount": bool(wire.get("anyDiscount")),
            "discountPercent": float(reduction * 100 / before) if before else 0.0,
            "taxPercent": float(tax),
            "productExternalUrl": None,
            "subscriptionId": None,
            "unitPrice": money("priceEach"),
            "unitOriginalPrice": money("priceEachBeforeDiscount"),
            "unitPriceReduction": money("priceEachReduction"),
            "lineValue": money("totalPrice"),
            "originalLineValue": _taxed(original, self._net(pricelist, before * quantity, tax)),
            "item": self.item(str(wire["item"]), stock),
            "displayItem": lambda info: self.display_item(product, pricelist, stock),
            "brand": self.brand(_text(wire, "brandName")),
        }

    def totals(self, totals: Mapping[str, Any], pricelist: str) -> list[View]:
        """``[SelectionTotalRow]`` of Shop API totals (an amount sent as ``false``: no row)."""
        rows: list[View] = []
        for kind, key in _ROWS:
            if totals.get(key) is False or f"{key}AsNumber" not in totals:
                continue
            row: View = {
                "__typename": "SelectionTotalRowBase",
                "type": kind,
                "price": self.pair(pricelist, totals, key),
            }
            if kind == "INCLUDING_TAX":
                row["__typename"] = "SelectionTotalTaxRow"
                row["taxPercent"] = float(totals.get("taxPercent") or 0)
            rows.append(row)
        return rows

    def vouchers(self, discounts: Mapping[str, Any], pricelist: str) -> list[View]:
        """``[Voucher]`` of Shop API discounts, lists or objects (``vouchers_as``)."""
        zero = self.amount(pricelist, Decimal(0))
        out: list[View] = []
        for wire in _entries(discounts.get("vouchers")):
            code = str(wire["voucher"])
            rule = self.catalog.vouchers.get(code)
            on_items = rule is not None and rule.percent is not None
            out.append(
                self._voucher(wire, pricelist, zero, on_items)
                | {"__typename": "CodeVoucher", "code": code, "method": "CODE"}
                | {"name": str(wire.get("description") or code)}
            )
        for wire in _entries(discounts.get("automaticDiscounts")):
            ident = str(wire["automaticDiscount"])
            out.append(
                self._voucher(wire, pricelist, zero, True)
                | {"__typename": "AutoVoucher", "method": "AUTO", "name": str(wire.get("name"))}
                | {"id": int(ident) if ident.isdigit() else 0}
            )
        return out

    def _voucher(self, wire: Mapping[str, Any], pricelist: str, zero: View, items: bool) -> View:
        value = self.pair(pricelist, wire, "priceOff")
        shipping = wire.get("shippingDiscountAsNumber")
        return {
            "type": "DISCOUNT",
            "lineIds": [str(line) for line in wire.get("lines") or []],
            "value": value,
            "orderReduction": zero if items else value,
            "totalItemReduction": value if items else zero,
            "totalShippingReduction": (
                self.pair(pricelist, wire, "shippingDiscount") if shipping is not None else zero
            ),
            "expiryDate": str(wire.get("expiryDate") or NO_EXPIRY),
            "isExternal": False,
        }

    def address(self, wire: Mapping[str, Any]) -> View:
        """``Address`` of a Shop API address (empty text: null)."""
        code = _text(wire, "country")
        return {
            "firstName": _text(wire, "firstName"),
            "lastName": _text(wire, "lastName"),
            "companyName": _text(wire, "company"),
            "attention": None,
            "address1": _text(wire, "address1"),
            "address2": _text(wire, "address2"),
            "zipCode": _text(wire, "zipCode"),
            "city": _text(wire, "city"),
            "stateOrProvince": _text(wire, "state"),
            "state": None,
            "country": self.country(code),
            "email": _text(wire, "email"),
            "phoneNumber": _text(wire, "phoneNumber"),
            "cellPhoneNumber": None,
            "faxNumber": None,
            "vatNumber": _text(wire, "vatNumber"),
        }

    # --- the selection ---------------------------------------------------------------------

    def selection(self, answer: Mapping[str, Any], stock: Stock, language: str | None) -> View:
        """``Selection`` of a Shop API selection answer; ``checkout`` is rendered when resolved."""
        sel = answer["selection"]
        pricelist = self.catalog.countries[sel["country"]].pricelist
        return {
            "__typename": "Selection",
            "id": str(sel["selection"]),
            "lines": [self.line(wire, pricelist, stock) for wire in sel["items"]],
            "grandTotal": self.pair(pricelist, sel["totals"], "grandTotalPrice"),
            "discounts": self.vouchers(sel.get("discounts") or {}, pricelist),
            "language": self.language(language),
            "comment": None,
            "taxExempt": bool(sel.get("vatExempt")),
            "usedFallbackTax": False,
            "externalGiftCardAvailable": False,
            "checkout": lambda info: self.checkout(answer, pricelist),
        }

    def checkout(self, answer: Mapping[str, Any], pricelist: str) -> View:
        """``CheckoutSelection`` of a Shop API selection answer."""
        sel = answer["selection"]
        address: Mapping[str, Any] = sel.get("address") or {}
        shipping: Mapping[str, Any] = sel.get("shippingAddress") or address
        separate = dict(shipping) != {k: v for k, v in address.items() if k != "vatNumber"}
        offered = [str(m["paymentMethod"]) for m in answer.get("paymentMethods") or []]
        methods = [self.payment_method(uri, pricelist) for uri in offered]
        chosen = sel.get("shippingMethod")
        shipping_methods = [
            self.shipping_method(key, pricelist, key == chosen)
            for key in (str(m["shippingMethod"]) for m in answer.get("shippingMethods") or [])
        ]

        def sorted_methods(info: Any, sort: Sequence[str] = ()) -> list[View]:
            first = [m for kind in sort for m in methods if m["kind"] == kind]
            return first + [m for m in methods if m not in first]

        return {
            "addressFields": self.address_fields(answer.get("paymentFields") or {}, sel["country"]),
            "checkoutScript": None,
            "hasSeparateBillingAddress": separate,
            "paymentMethod": next(
                (m for m in methods if m["uri"] == sel.get("paymentMethod")), None
            ),
            "paymentMethods": sorted_methods,
            "separateBillingAddress": self.address(address) if separate else None,
            "shippingAddress": self.address(shipping),
            "shippingMethod": next((m for m in shipping_methods if m["selected"]), None),
            "shippingMethods": shipping_methods,
            "totals": self.totals(sel["totals"], pricelist),
            "widgets": self._widgets(sel.get("pluginFields") or {}),
        }

    def address_fields(self, fields: Mapping[str, Any], country: str) -> View:
        """``AddressFieldList`` of the Shop API's ``paymentFields`` (which are required, shown)."""
        billing: Mapping[str, Any] = fields.get("address") or {}

        def listed(spec: Mapping[str, Any]) -> Any:
            def in_order(info: Any, sort: Sequence[str] = ()) -> list[View]:
                names = [_SORT_KEYS[key] for key in sort if key in _SORT_KEYS]
                return [self._field(name, spec[name], country) for name in names if name in spec]

            return in_order

        return {
            "shippingAddress": listed(fields.get("shippingAddress") or {}),
            "separateBillingAddress": listed(billing),
            "termsAndConditions": _checkbox("termsAndConditions", fields.get("termsAndConditions")),
            "newsletter": _checkbox("newsletter", billing.get("newsletter")),
        }

    def _field(self, name: str, spec: Mapping[str, Any], country: str) -> View:
        base = {
            "key": name,
            "required": bool(spec.get("required")),
            "visible": bool(spec.get("visible")),
        }
        if name == "country":
            chosen = self.country(country)
            choices = self.countries(True)
            return base | {
                "__typename": "CountryAddressField",
                "choices": choices,
                "selected": chosen,
            }
        if name == "state":
            return base | {"__typename": "StateAddressField", "choices": [], "selected": None}
        if spec.get("type") == "boolean":
            return _checkbox(name, spec)
        return base | {"__typename": "TextAddressField"}

    @staticmethod
    def _widgets(plugin: Mapping[str, Any]) -> list[View]:
        klarna = plugin.get("klarnaPayments")
        if not isinstance(klarna, Mapping):
            return []
        return [
            {
                "__typename": "KlarnaPaymentWidget",
                "kind": "PAYMENT",
                "client_token": str(klarna.get("client_token") or ""),
                "replace_snippet": bool(klarna.get("replaceSnippet")),
                "authorizePayload": klarna.get("authorizePayload"),
            }
        ]

    # --- the order --------------------------------------------------------------------------

    def order(self, receipt: Mapping[str, Any], stock: Stock) -> View:
        """``Order`` of a Shop API receipt."""
        pricelist = str(receipt["pricelist"])
        moment = order_moment(str(receipt["date"]))
        address: Mapping[str, Any] = receipt.get("address") or {}
        data: Mapping[str, Any] = receipt.get("paymentMethodData") or {}
        method = str(receipt.get("paymentMethod") or "")

        def order_date(info: Any, **args: Any) -> str:
            return php_date(moment, args.get("format") or _ISO_DATE)

        return {
            "__typename": "Order",
            "id": str(receipt["order"]),
            "number": int(receipt["order"]),
            "status": _STATUSES.get(str(receipt.get("status")), "PENDING"),
            "orderDate": order_date,
            "lines": [self.line(wire, pricelist, stock) for wire in receipt["items"]],
            "totals": self.totals(receipt["totals"], pricelist),
            "discountsApplied": self.vouchers(receipt.get("discounts") or {}, pricelist),
            "shippingMethod": self.shipping_method(receipt.get("shippingMethod"), pricelist, True),
            "paymentMethod": self.payment_method(method, pricelist),
            "paymentHtml": str(data.get("snippet") or ""),
            "affiliateHtml": str(receipt.get("affiliateHtml") or ""),
            "otherComment": str(receipt.get("additionalNotes") or ""),
            "comment": _text(receipt, "giftMessage"),
            "billingAddress": self.address(address),
            "shippingAddress": self.address(receipt.get("shippingAddress") or address),
            "country": self.country(_text(address, "country")),
            "state": None,
            "market": self.market(str(receipt["market"])),
            "language": None,
            "currencyBaseRate": 1.0,
            "usedFallbackTax": False,
            "userIP": None,
        }

    # --- refusals ---------------------------------------------------------------------------

    def user_errors(self, body: Any, pricelist: str | None, stock: Stock) -> list[View]:
        """``[UserError]`` of a Shop API refusal (see the module docstring)."""
        data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        unavailable = [e for e in data.get("unavailable") or [] if isinstance(e, Mapping)]
        found = data.get("errors")
        errors: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        out: list[View] = [self._unavailable(entry, pricelist, stock) for entry in unavailable]
        for field, message in errors.items():
            if unavailable and field == "stock":
                continue  # the items say it
            out.append(_error(str(message), str(field).split(".")))
        said = {str(m) for m in errors.values()}
        messages = data.get("messages")
        texts = messages if isinstance(messages, list) else [data.get("message")]
        out += [_error(str(t), None) for t in texts if t and str(t) not in said]
        return out or [_error("refused", None)]

    def _unavailable(self, entry: Mapping[str, Any], pricelist: str | None, stock: Stock) -> View:
        item = str(entry.get("item"))
        known = self.catalog.items.get(item)
        product = known.product if known is not None else None

        def display_item(info: Any) -> View | None:
            if product is None or pricelist is None:
                return None
            return self.display_item(product, pricelist, stock)

        available = int(entry.get("available") or 0)
        original = int(entry.get("originalQuantity") or 0)
        return {
            "__typename": "UnavailableItem",
            "message": f"{item}: {available} of {original} available",
            "path": None,
            "availableQuantity": available,
            "unavailableQuantity": int(entry.get("unavailable") or 0),
            "originalQuantity": original,
            "item": self.item(item, stock) if known is not None else None,
            "displayItem": display_item,
        }


def _entries(found: Any) -> list[Mapping[str, Any]]:
    values = found.values() if isinstance(found, Mapping) else found or []
    return [v for v in values if isinstance(v, Mapping)]


def _checkbox(name: str, spec: Any) -> View:
    given: Mapping[str, Any] = spec if isinstance(spec, Mapping) else {}
    return {
        "__typename": "CheckboxAddressField",
        "key": name,
        "required": bool(given.get("required")),
        "visible": bool(given.get("visible")),
    }


def _error(message: str, path: list[str] | None) -> View:
    return {"__typename": "UserErrorBase", "message": message, "path": path}
