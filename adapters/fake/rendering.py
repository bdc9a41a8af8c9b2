"""The fake Centra's answers: one selection's state (``cart.Cart``) rendered as Centra's JSON.

``ShopRenderer`` renders the selection and the receipt from a cart priced by ``pricing``,
including the shopper's address as a Klarna-like provider verifies it (the city of the postal
code, the phone number in E.164). Names are the documented ones: payment methods carry
``supportsInitiateOnly`` and ``handlingCost``/``handlingCostAsNumber``, ``location`` has
``country``, ``name``, ``state``, ``stateName``, ``eu``, ``shipTo`` and ``language``.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderflow.adapters.fake.cart import PENDING, Cart
from orderflow.adapters.fake.catalog import ADDRESS_FIELDS, Catalog
from orderflow.adapters.fake.pricing import (
    PricedCart,
    VouchersAs,
    currency_format_wire,
    money,
    price_cart,
    with_lines,
)

_ELIDED = "..."
"""The seed elides the provider's HTML (affiliate pixels, Klarna's snippet); so does the fake."""

_ADDRESS_KEYS = (
    "email",
    "firstName",
    "lastName",
    "company",
    "address1",
    "address2",
    "zipCode",
    "city",
    "state",
    "country",
)


_FIELDS = (
    ("email", "string", True),
    ("company", "string", True),
    ("firstName", "string", True),
    ("lastName", "string", True),
    ("address1", "string", True),
    ("address2", "string", True),
    ("zipCode", "string", True),
    ("city", "string", True),
    ("state", "string", True),
    ("country", "string", True),
    ("phoneNumber", "string", True),
    ("identityNumber", "string", False),
    ("vatNumber", "string", True),
    ("houseNumber", "string", False),
    ("houseExtension", "string", False),
    ("newsletter", "boolean", True),
)
"""``paymentFields``' address fields as the order-flow page lists them: name, type, visible."""
_BILLING_ONLY = ("identityNumber", "vatNumber", "newsletter")


def _payment_fields(required: tuple[str, ...]) -> dict[str, Any]:
    """Which payment fields a method requires (its address fields) and shows."""

    def spec(kind: str, needed: bool, visible: bool) -> dict[str, Any]:
        return {"type": kind, "required": needed, "visible": visible}

    address = {name: spec(kind, name in required, shown) for name, kind, shown in _FIELDS}
    shipping = {k: v for k, v in address.items() if k not in _BILLING_ONLY}
    return {
        "termsAndConditions": spec("boolean", True, True),
        "address": address,
        "shippingAddress": shipping,
    }


_SHARED_RENDERERS: dict[int, tuple[weakref.ref[Catalog], ShopRenderer]] = {}


class ShopRenderer:
    """Renders Centra's answers for one catalog; the parts that never change are built once.

    ShopRenderer share those parts (and recently priced carts) with each other: read them, or copy
    before changing anything.
    """

    @classmethod
    def shared(cls, catalog: Catalog) -> ShopRenderer:
        """The answers of ``catalog``, shared by every fake built on it (a catalog is frozen,
        so its rendered parts and priced carts are the same for all of them)."""
        found = _SHARED_RENDERERS.get(id(catalog))
        if found is not None and found[0]() is catalog:
            return found[1]
        answers = cls(catalog)
        if len(_SHARED_RENDERERS) > 64:
            _SHARED_RENDERERS.clear()
        _SHARED_RENDERERS[id(catalog)] = (weakref.ref(catalog), answers)
        return answers

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._priced: dict[tuple[Any, ...], PricedCart] = {}
        self._templates: dict[tuple[Any, ...], PricedCart] = {}  # lines named "0", "1", ...
        self._payment_methods = {
            code: [
                {
                    "paymentMethod": m.payment_method,
                    "name": m.name,
                    "paymentMethodType": m.payment_method_type,
                    "supportsInitiateOnly": m.supports_initiate_only,
                    "providesCustomerAddressAfterPayment": m.provides_address_after_payment,
                    **money(
                        pricelist.currency_format,
                        "handlingCost",
                        m.handling_costs.get(pricelist.currency_format.currency, Decimal(0)),
                    ),
                    **copy.deepcopy(dict(m.extra)),
                }
                for m in catalog.payment_methods.values()
            ]
            for code, pricelist in catalog.pricelists.items()
        }
        self._shipping_names = {o.shipping_method: o.name for o in catalog.shipping}
        self._shipping_methods: dict[str, list[dict[str, Any]]] = {}
        self._locations: dict[str, dict[str, Any]] = {}
        for code, country in catalog.countries.items():
            cf = catalog.pricelists[country.pricelist].currency_format
            self._shipping_methods[code] = [
                {
                    "shippingMethod": o.shipping_method,
                    "name": o.name,
                    **money(cf, "price", o.prices[country.pricelist]),
                }
                for o in catalog.shipping_options(code)
            ]
            self._locations[code] = {
                "country": code,
                "name": country.name,
                "state": None,
                "stateName": "",
                "eu": country.eu,
                "shipTo": country.ship_to,
                **({"language": country.language} if country.language else {}),
            }
        self._payment_fields = {
            m.payment_method: _payment_fields(m.address_fields)
            for m in catalog.payment_methods.values()
        }
        self._any_payment_fields = _payment_fields(ADDRESS_FIELDS)
        self._currency_formats = {
            code: currency_format_wire(pricelist.currency_format)
            for code, pricelist in catalog.pricelists.items()
        }

    def priced(self, cart: Cart, vouchers_as: VouchersAs = "list") -> PricedCart:
        """The cart priced now (the last few carts' prices are remembered).

        A cart with the same contents as one priced before (same items and quantities,
        vouchers, methods and country) is not priced again, only given its own line ids
        (``with_lines``): each new selection of a long-running fake-server is such a cart,
        and pricing was a sixth of serving its seed flow.
        """
        contents = tuple((item, quantity) for item, quantity in cart.lines.values())
        key = (
            cart.country,
            contents,
            tuple(cart.vouchers),
            cart.shipping_method,
            cart.payment_method,
            vouchers_as,
        )
        lines = tuple(cart.lines)
        priced = self._priced.get((key, lines))
        if priced is None:
            if len(self._priced) > 1_000:
                self._priced.clear()
            template = self._templates.get(key)
            if template is None:
                if len(self._templates) > 1_000:
                    self._templates.clear()
                template = self._templates[key] = price_cart(
                    self.catalog,
                    cart.country,
                    [(str(i), item, quantity) for i, (item, quantity) in enumerate(contents)],
                    cart.vouchers,
                    cart.shipping_method,
                    cart.payment_method,
                    vouchers_as,
                )
            priced = self._priced[(key, lines)] = with_lines(template, lines, vouchers_as)
        return priced

    def _method_names(self, cart: Cart) -> tuple[str, str]:
        payment = self.catalog.payment_methods.get(cart.payment_method or "")
        shipping = self._shipping_names.get(cart.shipping_method or "", "")
        return (payment.name if payment else "", shipping)

    def selection(
        self,
        cart: Cart,
        vouchers_as: VouchersAs = "list",
        plugin_fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The answer of every cart-changing call: the selection, its methods and location;
        ``plugin_fields`` are the payment plugins' ``selection.pluginFields`` (if any)."""
        priced = self.priced(cart, vouchers_as)
        cf = priced.pricelist.currency_format
        payment_name, shipping_name = self._method_names(cart)
        address = _address(self.catalog, cart.address, cart.country)
        extra = {"pluginFields": dict(plugin_fields)} if plugin_fields else {}
        return {
            "selection": {
                "selection": cart.id,
                "currency": cf.currency,
                "paymentMethod": cart.payment_method or "",
                "paymentMethodName": payment_name,
                "shippingMethod": cart.shipping_method or "",
                "shippingMethodName": shipping_name,
                "country": cart.country,
                "language": None,
                "items": priced.items,
                "discounts": priced.discounts,
                "totals": priced.totals,
                "vatExempt": False,
                "address": address,
                "shippingAddress": self._shipping_address(cart, address),
                "additionalNotes": "",
                "currencyFormat": self._currency_formats[priced.pricelist.pricelist],
                **extra,
            },
            "paymentMethods": self._payment_methods[priced.pricelist.pricelist],
            "shippingMethods": self._shipping_methods[cart.country],
            "location": self._locations[cart.country],
            "paymentFields": self._payment_fields.get(
                cart.payment_method or "", self._any_payment_fields
            ),
        }

    def receipt(
        self,
        cart: Cart,
        order: str,
        date: str,
        *,
        verified: bool,
        status: tuple[str, str] = PENDING,
        payment_method_data: Mapping[str, Any] | None = None,
        vouchers_as: VouchersAs = "list",
    ) -> dict[str, Any]:
        """The order's receipt; ``verified``: the address as a Klarna-like provider verified it;
        ``status`` the ``status``/``statusDescription`` pair; ``payment_method_data`` what the
        provider added (default: Klarna's snippet when ``verified``, else nothing)."""
        priced = self.priced(cart, vouchers_as)
        cf = priced.pricelist.currency_format
        payment_name, shipping_name = self._method_names(cart)
        address = _address(self.catalog, cart.address, cart.country, verified=verified)
        if payment_method_data is None:
            payment_method_data = {"snippet": _ELIDED} if verified else {}
        return {
            "order": order,
            "status": status[0],
            "statusDescription": status[1],
            "message": "Thank you for your order!",
            "date": date,
            "affiliateHtml": _ELIDED,
            "market": priced.pricelist.market,
            "pricelist": priced.pricelist.pricelist,
            "language": None,
            "currency": cf.currency,
            "paymentMethod": cart.payment_method or "",
            "paymentMethodName": payment_name,
            "shippingMethod": cart.shipping_method or "",
            "shippingMethodName": shipping_name,
            "warehouse": False,
            "items": priced.items,
            "discounts": priced.discounts,
            "totals": priced.totals,
            "vatExempt": False,
            "address": address,
            "shippingAddress": self._shipping_address(cart, address, verified=verified),
            "giftMessage": cart.gift_message,
            "additionalNotes": "",
            "shipments": [],
            "paymentMethodData": dict(payment_method_data),
            "currencyFormat": self._currency_formats[priced.pricelist.pricelist],
        }

    def _shipping_address(
        self, cart: Cart, address: dict[str, Any], *, verified: bool = False
    ) -> dict[str, Any]:
        if cart.shipping_address:
            return _address(
                self.catalog, cart.shipping_address, cart.country, verified=verified, vat=False
            )
        return {k: v for k, v in address.items() if k != "vatNumber"}


def _address(
    catalog: Catalog,
    posted: Mapping[str, Any],
    country: str,
    *,
    verified: bool = False,
    vat: bool = True,
) -> dict[str, Any]:
    out = {key: str(posted.get(key) or "") for key in _ADDRESS_KEYS}
    out["country"] = out["country"] or country
    known = catalog.countries.get(out["country"])
    out["countryName"] = known.name if known else ""
    phone = str(posted.get("phoneNumber") or "")
    if verified:
        city = catalog.postal_directory.get((out["country"], out["zipCode"]))
        out["city"] = city or out["city"]
        phone = _e164(phone, known.calling_code if known else "")
    out["phoneNumber"] = phone
    if vat:
        out["vatNumber"] = str(posted.get("vatNumber") or "")
    return out


def _e164(phone: str, calling_code: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return ""
    if phone.strip().startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    return f"+{calling_code}{digits.removeprefix('0')}"
