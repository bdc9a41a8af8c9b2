"""Pricing a cart in the fake Centra: its items, discounts and totals as Centra's wire dicts.

Prices include VAT (Centra's default): the price without tax is ``price / (1 + tax%)`` and the
tax in a total is ``total * tax% / (100 + tax%)``. Amounts are rounded to the currency's
decimals, shown with ``CurrencyFormat.format`` and sent as numbers (``int`` when integral).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import attrs

from orderflow.adapters.fake.catalog import (
    AutomaticDiscount,
    Catalog,
    Country,
    PriceList,
    VoucherRule,
)
from orderflow.money import CurrencyFormat


@attrs.frozen
class PricedCart:
    """A cart priced in a country: the wire dicts of its items, discounts and totals."""

    country: Country
    pricelist: PriceList
    items: list[dict[str, Any]]
    discounts: dict[str, Any]
    totals: dict[str, Any]


def number(amount: Decimal) -> int | float:
    """A JSON number as Centra sends it: an ``int`` when the amount is whole."""
    whole = int(amount)
    return whole if whole == amount else float(amount)


_PAIRS: dict[tuple[int, str, Decimal], tuple[CurrencyFormat, dict[str, Any]]] = {}


def money(currency_format: CurrencyFormat, key: str, amount: Decimal) -> dict[str, Any]:
    """``{key: display, keyAsNumber: number}``, the pair Centra sends (shared: spread it)."""
    # Formatting dominates the fake's cost; the same few amounts recur, so pairs are cached.
    # Keyed by id(): the format stays referenced by its entry, so its id cannot be reused.
    cache_key = (id(currency_format), key, amount)
    hit = _PAIRS.get(cache_key)
    if hit is None:
        if len(_PAIRS) > 20_000:
            _PAIRS.clear()
        pair = {key: currency_format.format(amount), f"{key}AsNumber": number(amount)}
        hit = _PAIRS[cache_key] = (currency_format, pair)
    return hit[1]


def currency_format_wire(currency_format: CurrencyFormat) -> dict[str, Any]:
    """``currencyFormat`` as Centra sends it (``decimalDigits`` is a string)."""
    cf = currency_format
    return {
        "currency": cf.currency,
        "name": cf.name,
        "prefix": cf.prefix,
        "suffix": cf.suffix,
        "decimalPoint": cf.decimal_point,
        "decimalDigits": str(cf.decimal_digits),
        "uri": cf.uri,
    }


VouchersAs = Literal["list", "object"]
"""How order-level ``discounts`` are sent: the seed's lists, or newer instances' objects keyed
by voucher code and automatic discount id (with line-level lists on each item)."""


def price_cart(
    catalog: Catalog,
    country_code: str,
    lines: Iterable[tuple[str, str, int]],
    vouchers: Sequence[str],
    shipping_method: str | None,
    payment_method: str | None = None,
    vouchers_as: VouchersAs = "list",
) -> PricedCart:
    """Price ``(line, item, quantity)`` lines with vouchers, automatic discounts, shipping and
    the payment method's handling cost in a country.

    ``itemsTotalPrice`` is the sum of the lines (after percentage vouchers and automatic
    discounts); ``totalDiscountPrice`` the fixed-amount vouchers (negative, or ``false`` when
    none); ``discounts.discount`` everything the discounts took off (negative).
    """
    rows = list(lines)
    country = catalog.countries[country_code]
    pricelist = catalog.pricelists[country.pricelist]
    cf = pricelist.currency_format
    quantum = Decimal(1).scaleb(-cf.decimal_digits)

    def rounded(amount: Decimal) -> Decimal:
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)

    tax = country.tax_percent
    rules = [catalog.vouchers[code] for code in vouchers]
    autos = _applying(catalog, pricelist, rows)
    taxed = 1 + tax / 100
    items: list[dict[str, Any]] = []
    items_total = Decimal(0)
    off: dict[str, Decimal] = {r.code: Decimal(0) for r in rules}
    off.update({a.ident: Decimal(0) for a in autos})
    touched: dict[str, list[str]] = {key: [] for key in off}
    quantity_total = 0
    for line, item_id, quantity in rows:
        item = catalog.items[item_id]
        before = pricelist.prices[item.product]
        shares: list[tuple[str, Decimal]] = [
            (r.code, r.percent) for r in rules if r.percent is not None
        ]
        shares += [(a.ident, a.percent) for a in autos if a.product == item.product]
        percent = min(sum((p for _, p in shares), Decimal(0)), Decimal(100))
        reduction = rounded(before * percent / 100)
        each = before - reduction
        line_off: dict[str, Decimal] = {}
        for key, share in shares:
            if percent and share:
                line_off[key] = reduction * quantity * share / percent
                off[key] += line_off[key]
                touched[key].append(line)
        items_total += each * quantity
        quantity_total += quantity
        wire = {
            "item": item.item,
            "product": item.product,
            "brandName": item.brand_name,
            "productName": item.product_name,
            "size": item.size,
            "sku": item.sku,
            "ean": item.ean,
            "silkProduct": item.silk_product,
            "silkVariant": item.silk_variant,
            "quantity": quantity,
            "comment": "",
            "storePickup": False,
            "line": line,
            **money(cf, "priceEach", each),
            **money(cf, "totalPrice", each * quantity),
            **money(cf, "priceEachBeforeDiscount", before),
            "anyDiscount": reduction > 0,
            "taxPercent": number(tax),
            **money(cf, "priceEachWithoutTax", rounded(each / taxed)),
            **money(cf, "priceEachReduction", reduction),
        }
        if vouchers_as == "object":
            automatic = {a.ident for a in autos}
            wire["discounts"] = _line_discounts(cf, line_off, rounded, automatic)
        items.append(wire)
    fixed = Decimal(0)
    for rule in rules:
        if rule.percent is None:
            taken = min(rule.amounts.get(cf.currency, Decimal(0)), items_total - fixed)
            off[rule.code] += taken
            touched[rule.code] = [line for line, _, _ in rows]
            fixed += taken
    shipping = Decimal(0)
    for option in catalog.shipping_options(country_code):
        if option.shipping_method == shipping_method:
            shipping = option.prices[country.pricelist]
    method = catalog.payment_methods.get(payment_method or "")
    handling = method.handling_costs.get(cf.currency, Decimal(0)) if method else Decimal(0)
    grand = items_total - fixed + shipping + handling
    discount = sum(off.values(), Decimal(0))
    discounts = {
        "anyDiscount": discount > 0,
        **money(cf, "discount", -rounded(discount)),
        **_order_discounts(cf, rules, autos, off, touched, rounded, vouchers_as),
    }
    no_discount = {"totalDiscountPrice": False, "totalDiscountPriceAsNumber": False}
    totals = {
        **money(cf, "itemsTotalPrice", items_total),
        **(money(cf, "totalDiscountPrice", -fixed) if fixed else no_discount),
        **money(cf, "shippingPrice", shipping),
        **money(cf, "handlingCostPrice", handling),
        "totalQuantity": quantity_total,
        "taxDeducted": False,
        "taxDeductedAsNumber": False,
        "taxAdded": False,
        "taxAddedAsNumber": False,
        "taxPercent": number(tax),
        **money(cf, "grandTotalPrice", grand),
        **money(cf, "grandTotalPriceTax", rounded(grand * tax / (100 + tax))),
    }
    return PricedCart(country, pricelist, items, discounts, totals)


def with_lines(template: PricedCart, lines: Sequence[str], vouchers_as: VouchersAs) -> PricedCart:
    """``template`` (a cart priced with its lines named ``"0"``, ``"1"``, ...) for a cart of the
    same contents whose lines are ``lines``, in order: the ids are the only difference (each
    item names its line; the discounts of ``"object"`` shape list the lines they touched).
    Shares everything else with ``template``."""
    items = [{**wire, "line": line} for wire, line in zip(template.items, lines, strict=True)]
    discounts = template.discounts
    if vouchers_as == "object":
        discounts = {
            **discounts,
            **{
                kind: {
                    code: {**entry, "lines": [lines[int(label)] for label in entry["lines"]]}
                    for code, entry in discounts[kind].items()
                }
                for kind in ("vouchers", "automaticDiscounts")
            },
        }
    return PricedCart(template.country, template.pricelist, items, discounts, template.totals)


def _applying(
    catalog: Catalog, pricelist: PriceList, lines: Sequence[tuple[str, str, int]]
) -> list[AutomaticDiscount]:
    """The automatic discounts a cart's quantities earn."""
    held: dict[str, int] = {}
    for _, item_id, quantity in lines:
        product = catalog.items[item_id].product
        held[product] = held.get(product, 0) + quantity
    return [
        a
        for a in catalog.automatic_discounts
        if a.product in pricelist.prices and held.get(a.product, 0) >= a.min_quantity
    ]


def _order_discounts(
    cf: CurrencyFormat,
    rules: Sequence[VoucherRule],
    autos: Sequence[AutomaticDiscount],
    off: dict[str, Decimal],
    touched: dict[str, list[str]],
    rounded: Callable[[Decimal], Decimal],
    vouchers_as: VouchersAs,
) -> dict[str, Any]:
    if vouchers_as == "list":  # the seed's shape: no lines, types or expiry dates
        return {
            "vouchers": [
                {
                    "voucher": r.code,
                    "description": r.description,
                    **money(cf, "priceOff", -rounded(off[r.code])),
                }
                for r in rules
            ],
            "automaticDiscounts": [
                {
                    "automaticDiscount": a.ident,
                    "name": a.name,
                    **money(cf, "priceOff", -rounded(off[a.ident])),
                }
                for a in autos
            ],
        }
    no_shipping_discount = money(cf, "shippingDiscount", Decimal(0))
    return {
        "vouchers": {
            r.code: {
                "voucher": r.code,
                "type": "code",
                **money(cf, "priceOff", -rounded(off[r.code])),
                "description": r.description,
                "lines": touched[r.code],
                **no_shipping_discount,
                "expiryDate": r.expiry_date,
            }
            for r in rules
        },
        "automaticDiscounts": {
            a.ident: {
                "automaticDiscount": a.ident,
                "name": a.name,
                **money(cf, "priceOff", -rounded(off[a.ident])),
                "lines": touched[a.ident],
                **no_shipping_discount,
                "expiryDate": a.expiry_date,
            }
            for a in autos
        },
    }


def _line_discounts(
    cf: CurrencyFormat,
    line_off: dict[str, Decimal],
    rounded: Callable[[Decimal], Decimal],
    automatic: set[str],
) -> dict[str, Any]:
    """A line's share of each discount, as newer instances list it on each item."""
    vouchers: list[dict[str, Any]] = []
    autos: list[dict[str, Any]] = []
    for key, amount in line_off.items():
        entry = {**money(cf, "priceOff", -rounded(amount)), "hasAffectedItemPrice": False}
        if key in automatic:
            ident: int | str = int(key) if key.isdigit() else key  # a number at line level
            autos.append({"automaticDiscount": ident, **entry})
        else:
            vouchers.append({"voucher": key, **entry})
    return {"vouchers": vouchers, "automaticDiscounts": autos}
