"""The Storefront API's objects put in the shape every Centra REST dialect decodes (the codec's
wire names, ``orderflow.adapters.http.answers``), so a cart, an order, an action, a refusal and
out of stock mean the same in every dialect. Pure (no httpx).

- ``MonetaryValue {value, formattedValue, currency}`` is the pair ``key`` (the display string)
  and ``keyAsNumber`` (the amount); its ``currency`` is the object's currency and currency
  format. Amounts are the numbers as they came, never parsed from display strings.
- A ``Selection`` becomes ``{selection, paymentMethods, shippingMethods, location}``: the
  billing address is ``separateBillingAddress`` when ``hasSeparateBillingAddress``, else the
  shipping address; a payment method is its ``uri``, a shipping method its ``id`` as text; the
  location is the shipping address's country. The totals are the ``checkout.totals`` rows; the
  rows of one type (a tax row per rate) add up.
- An ``Order`` becomes the receipt's flat fields: ``order`` is its ``number`` as text,
  ``status`` the schema's (``PENDING``) and ``statusDescription`` its word (``Pending``).
- A ``PaymentAction`` becomes the action by its type's name; ``script`` is the code to run.
- ``userErrors`` become the refusal a REST dialect answers (``refusal``).

What the core's types do not name is kept under the schema's own field names, so the codec keeps
it in ``extra``: a line's ``productNumber``, a method's ``id`` and ``kind``, an order's ``id``,
``paymentHtml``, ``otherComment`` and ``comment``, a voucher's ``lines`` (its ``lineIds``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from orderflow.money import CurrencyFormat

__all__ = ["action", "cart", "receipt", "refusal", "stock_problems"]

Wire = dict[str, Any]

_ROWS = {
    "ITEMS_SUBTOTAL": "itemsTotalPrice",
    "DISCOUNT": "totalDiscountPrice",
    "SHIPPING": "shippingPrice",
    "HANDLING": "handlingCostPrice",
    "TAX_DEDUCT": "taxDeducted",
    "TAX_ADDED": "taxAdded",
    "INCLUDING_TAX": "grandTotalPriceTax",
    "GRAND_TOTAL": "grandTotalPrice",
}
"""Each ``SelectionTotalRowType`` the totals read, and the total's wire name."""
_ACTIONS = {
    "FormPaymentAction": "form",
    "JavascriptPaymentAction": "javascript",
    "RedirectPaymentAction": "redirect",
    "SuccessPaymentAction": "success",
}


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _kept(**fields: Any) -> Wire:
    return {k: v for k, v in fields.items() if v is not None}


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # anything else as it came: the codec says what is wrong with it


def _pair(key: str, money: Any) -> Wire:
    if not isinstance(money, Mapping):
        return {}
    return {key: money.get("formattedValue"), f"{key}AsNumber": _number(money.get("value"))}


def _currency(money: Any) -> Mapping[str, Any]:
    return _map(_map(money).get("currency"))


def _format(money: Any) -> CurrencyFormat | None:
    cur = _currency(money)
    code = cur.get("code")
    if not isinstance(code, str):
        return None
    digits = cur.get("decimalDigits")
    return CurrencyFormat(
        code,
        name=str(cur.get("name") or code),
        prefix=str(cur.get("prefix") or ""),
        suffix=str(cur.get("suffix") or ""),
        decimal_point=str(cur.get("decimalPoint") or "."),
        decimal_digits=digits if isinstance(digits, int) else 2,
        uri=code.lower(),
    )


def _currency_format(money: Any) -> Wire | None:
    cf = _format(money)
    if cf is None:
        return None
    return {
        "currency": cf.currency,
        "name": cf.name,
        "prefix": cf.prefix,
        "suffix": cf.suffix,
        "decimalPoint": cf.decimal_point,
        "decimalDigits": str(cf.decimal_digits),
        "uri": cf.uri,
    }


def _sum(key: str, moneys: Iterable[Any], like: Any) -> Wire:
    """The pair of the sum of ``moneys`` (displayed in ``like``'s currency), or nothing."""
    cf = _format(like)
    try:
        total = sum((Decimal(str(_map(m)["value"])) for m in moneys), Decimal(0))
    except (KeyError, InvalidOperation):
        return {}
    if cf is None:
        return {}
    return {key: cf.format(total), f"{key}AsNumber": _number(float(total))}


def _line(line: Mapping[str, Any]) -> Wire:
    item, shown = _map(line.get("item")), _map(line.get("displayItem"))
    product = shown.get("id")
    return _kept(
        line=line.get("id"),
        item=item.get("id"),
        quantity=line.get("quantity"),
        product=str(product) if product is not None else None,
        productName=line.get("name"),
        brandName=_map(line.get("brand")).get("name"),
        size=line.get("size"),
        sku=item.get("sku"),
        ean=item.get("GTIN") or None,
        comment=line.get("comment"),
        anyDiscount=line.get("hasDiscount"),
        taxPercent=_number(line.get("taxPercent")),
        productNumber=line.get("productNumber"),
        productVariantName=line.get("productVariantName"),
        **_pair("priceEach", line.get("unitPrice")),
        **_pair("totalPrice", line.get("lineValue")),
        **_pair("priceEachBeforeDiscount", line.get("unitOriginalPrice")),
        **_pair("priceEachWithoutTax", line.get("unitPriceExcludingTax")),
        **_pair("priceEachReduction", line.get("unitPriceReduction")),
    )


def _totals(rows: Any, lines: list[Mapping[str, Any]], grand: Any) -> Wire:
    by_type: dict[Any, list[Mapping[str, Any]]] = {}
    for row in _maps(rows):
        by_type.setdefault(row.get("type"), []).append(row)
    out: Wire = {}
    for kind, key in _ROWS.items():
        found = by_type.get(kind, [])
        if len(found) == 1:
            out.update(_pair(key, found[0].get("price")))
        elif found:  # a row per tax rate (each ``SelectionTotalTaxRow`` has its taxPercent)
            prices = [row.get("price") for row in found]
            out.update(_sum(key, prices, prices[0]))
    if "grandTotalPrice" not in out:
        out.update(_pair("grandTotalPrice", grand))
    if "itemsTotalPrice" not in out:  # no rows (``checkout`` is null): the lines' sum
        out.update(_sum("itemsTotalPrice", (line.get("lineValue") for line in lines), grand))
    for key in ("totalDiscountPrice", "taxDeducted", "taxAdded"):
        if key not in out:  # as the REST dialects say "does not apply"
            out[key] = out[f"{key}AsNumber"] = False
    taxed = by_type.get("INCLUDING_TAX", [])
    tax = taxed[0].get("taxPercent") if len(taxed) == 1 else None  # several: no one rate
    if tax is not None:
        out["taxPercent"] = _number(tax)
    quantities = [line.get("quantity") for line in lines]
    out["totalQuantity"] = sum(q for q in quantities if isinstance(q, int))
    return out


def _voucher(v: Mapping[str, Any]) -> Wire:
    return _kept(
        description=v.get("name"),
        type=str(v.get("method") or "CODE").lower(),
        expiryDate=v.get("expiryDate"),
        lines=v.get("lineIds"),
        **_pair("priceOff", v.get("value")),
        **_pair("shippingDiscount", v.get("totalShippingReduction")),
    )


def _discounts(vouchers: Any, like: Any) -> Wire:
    given = _maps(vouchers)
    codes = [v for v in given if v.get("method") != "AUTO"]
    automatic = [v for v in given if v.get("method") == "AUTO"]
    return {
        "anyDiscount": bool(given),
        **_sum("discount", (v.get("value") for v in given), like),
        "vouchers": [
            {"voucher": v.get("code") or v.get("url") or v.get("name"), **_voucher(v)}
            for v in codes
        ],
        "automaticDiscounts": [
            {"automaticDiscount": str(v.get("id")), "name": v.get("name"), **_voucher(v)}
            for v in automatic
        ],
    }


def _address(address: Any) -> Wire | None:
    if not isinstance(address, Mapping):
        return None
    country = _map(address.get("country"))
    return _kept(
        email=address.get("email"),
        firstName=address.get("firstName"),
        lastName=address.get("lastName"),
        company=address.get("companyName"),
        address1=address.get("address1"),
        address2=address.get("address2"),
        zipCode=address.get("zipCode"),
        city=address.get("city"),
        state=address.get("stateOrProvince") or _map(address.get("state")).get("code"),
        country=country.get("code"),
        countryName=country.get("name"),
        phoneNumber=address.get("phoneNumber"),
        vatNumber=address.get("vatNumber"),
    )


def _location(country: Mapping[str, Any]) -> Wire | None:
    if not country.get("code"):
        return None
    return _kept(
        country=country.get("code"),
        name=country.get("name"),
        eu=country.get("isEU"),
        shipTo=country.get("shipTo"),
        language=_map(country.get("defaultLanguage")).get("code"),
    )


def cart(selection: Mapping[str, Any], token: str | None) -> Wire:
    """A ``Selection`` as a cart call's answer (see the module docstring)."""
    checkout = _map(selection.get("checkout"))
    lines = [line for line in _maps(selection.get("lines"))]
    grand = selection.get("grandTotal")
    shipping = checkout.get("shippingAddress")
    billing = (
        checkout.get("separateBillingAddress")
        if checkout.get("hasSeparateBillingAddress")
        else None
    )
    chosen = _map(checkout.get("shippingMethod")).get("id")
    country = _map(_map(shipping).get("country"))
    wire = _kept(
        selection=selection.get("id"),
        currency=_currency(grand).get("code"),
        items=[_line(line) for line in lines],
        totals=_totals(checkout.get("totals"), lines, grand),
        discounts=_discounts(selection.get("discounts"), grand),
        currencyFormat=_currency_format(grand),
        paymentMethod=_map(checkout.get("paymentMethod")).get("uri"),
        shippingMethod=str(chosen) if chosen is not None else None,
        country=country.get("code"),
        language=_map(selection.get("language")).get("code"),
        address=_address(billing or shipping),
        shippingAddress=_address(shipping) if billing else None,
        vatExempt=selection.get("taxExempt"),
    )
    methods = [
        _kept(
            paymentMethod=m.get("uri"),
            name=m.get("name"),
            paymentMethodType=str(m.get("kind") or "").lower() or None,
            supportsInitiateOnly=m.get("initiateOnlySupported"),
            providesCustomerAddressAfterPayment=m.get("addressAfterPayment"),
            id=m.get("id"),
            kind=m.get("kind"),
            **_pair("handlingCost", m.get("handlingCost")),
        )
        for m in _maps(checkout.get("paymentMethods"))
    ]
    shipping_methods = [
        _kept(
            shippingMethod=str(m.get("id")),
            name=m.get("name"),
            id=m.get("id"),
            selected=m.get("selected"),
            **_pair("price", m.get("price")),
        )
        for m in _maps(checkout.get("shippingMethods"))
    ]
    return _kept(
        selection=wire,
        paymentMethods=methods,
        shippingMethods=shipping_methods,
        location=_location(country),
        token=token,
    )


def receipt(order: Mapping[str, Any], token: str | None) -> Wire:
    """An ``Order`` as the receipt's flat fields (see the module docstring)."""
    lines = _maps(order.get("lines"))
    rows = _maps(order.get("totals"))
    grand = next((r.get("price") for r in rows if r.get("type") == "GRAND_TOTAL"), None)
    like = grand or next((line.get("lineValue") for line in lines), None)
    number = order.get("number")
    status = order.get("status")
    payment, shipping = _map(order.get("paymentMethod")), _map(order.get("shippingMethod"))
    return _kept(
        order=str(number) if number is not None else order.get("id"),
        status=status,
        statusDescription=status.title() if isinstance(status, str) else None,
        date=order.get("orderDate"),
        affiliateHtml=order.get("affiliateHtml"),
        currency=_currency(like).get("code"),
        items=[_line(line) for line in lines],
        totals=_totals(rows, lines, grand),
        discounts=_discounts(order.get("discountsApplied"), like),
        currencyFormat=_currency_format(like),
        paymentMethod=payment.get("uri"),
        paymentMethodName=payment.get("name"),
        shippingMethod=str(shipping["id"]) if shipping.get("id") is not None else None,
        shippingMethodName=shipping.get("name"),
        address=_address(order.get("billingAddress")),
        shippingAddress=_address(order.get("shippingAddress")),
        market=str(_map(order.get("market")).get("id") or "") or None,
        language=_map(order.get("language")).get("code"),
        id=order.get("id"),
        paymentHtml=order.get("paymentHtml"),
        otherComment=order.get("otherComment"),
        comment=order.get("comment"),
        token=token,
    )


def action(shown: Mapping[str, Any], token: str | None) -> Wire:
    """A ``PaymentAction`` as the start-payment answer's action (an unknown type is kept by its
    name, for the codec to refuse)."""
    typename = str(shown.get("__typename") or "")
    kind = _ACTIONS.get(typename, typename or str(shown.get("action")))
    if kind == "success":
        return {**receipt(_map(shown.get("order")), token), "action": "success"}
    common = _kept(formFields=shown.get("formFields"), formType=shown.get("formType"), token=token)
    if kind == "form":
        return {"action": "form", "formHtml": shown.get("html"), **common}
    if kind == "javascript":
        return {"action": "javascript", "code": shown.get("script"), **common}
    if kind == "redirect":
        return _kept(action="redirect", url=shown.get("url"), token=token)
    return _kept(action=kind, token=token)


def stock_problems(errors: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``userErrors`` that say items are out of stock."""
    return [
        e for e in errors if e.get("__typename") == "UnavailableItem" or e.get("path") == ["stock"]
    ]


def unavailable(errors: list[Mapping[str, Any]]) -> list[Wire]:
    """The unavailable items of ``UnavailableItem`` errors, as the REST dialects list them."""
    return [
        _kept(
            item=_map(e.get("item")).get("id"),
            product=str(_map(e.get("displayItem")).get("id") or "") or None,
            originalQuantity=e.get("originalQuantity"),
            unavailable=e.get("unavailableQuantity"),
            available=e.get("availableQuantity"),
        )
        for e in errors
        if e.get("__typename") == "UnavailableItem"
    ]


def refusal(
    errors: list[Mapping[str, Any]], selection: Wire | None, token: str | None
) -> tuple[int, Wire]:
    """``userErrors`` as a REST dialect's refusal ``(status, body)``: out of stock (any
    ``UnavailableItem``, or a path ``stock``) is 410 with the unavailable items and
    ``selection`` (the cart's wire form, when the payload has one); anything else 400 with
    ``{"errors": {path: message}}`` (the path joined by dots) and the errors without a path as
    ``messages``; each with the answer's ``token``."""
    stock = stock_problems(errors)
    rest = [e for e in errors if e not in stock]
    fields = {".".join(map(str, e["path"])): str(e.get("message")) for e in rest if e.get("path")}
    messages = [str(e.get("message")) for e in rest if not e.get("path")]
    body: Wire = _kept(errors=fields, token=token)
    if messages:
        body["messages"] = messages
        body["message"] = "; ".join(messages)
    if stock:
        body["errors"] = {"stock": "unavailable items", **fields}
        return 410, {**body, "unavailable": unavailable(errors), **(selection or {})}
    return 400, body
