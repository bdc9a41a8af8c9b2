"""Pricing a cart in the fake Centra: its items, discounts and totals as Centra's wire dicts.

Prices include VAT (Centra's default): the price without tax is ``price / (1 + tax%)`` and the
tax in a total is ``total * tax% / (100 + tax%)``. Amounts are rounded to the currency's
decimals, shown with ``CurrencyFormat.format`` and sent as numbers (``int`` when integral).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from orderflow.adapters.fake.catalog import Catalog, Country, PriceList
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


def price_cart(
    catalog: Catalog,
    country_code: str,
    lines: Iterable[tuple[str, str, int]],
    vouchers: Sequence[str],
    shipping_method: str | None,
) -> PricedCart:
    """Price ``(line, item, quantity)`` lines with vouchers and shipping in a country.

    ``itemsTotalPrice`` is the sum of the lines (after percentage vouchers);
    ``totalDiscountPrice`` the fixed-amount vouchers (negative, or ``false`` when none);
    ``discounts.discount`` everything the vouchers took off (negative).
    """
    country = catalog.countries[country_code]
    pricelist = catalog.pricelists[country.pricelist]
    cf = pricelist.currency_format
    quantum = Decimal(1).scaleb(-cf.decimal_digits)

    def rounded(amount: Decimal) -> Decimal:
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)

    tax = country.tax_percent
    rules = [catalog.vouchers[code] for code in vouchers]
    percent = min(
        sum((r.percent for r in rules if r.percent is not None), Decimal(0)), Decimal(100)
    )
    taxed = 1 + tax / 100
    items: list[dict[str, Any]] = []
    items_total = Decimal(0)
    reductions: dict[str, Decimal] = {r.code: Decimal(0) for r in rules}
    quantity_total = 0
    for line, item_id, quantity in lines:
        item = catalog.items[item_id]
        before = pricelist.prices[item.product]
        reduction = rounded(before * percent / 100)
        each = before - reduction
        for rule in rules:
            if rule.percent is not None and percent:
                reductions[rule.code] += reduction * quantity * rule.percent / percent
        items_total += each * quantity
        quantity_total += quantity
        items.append(
            {
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
        )
    fixed = Decimal(0)
    for rule in rules:
        if rule.percent is None:
            off = min(rule.amounts.get(cf.currency, Decimal(0)), items_total - fixed)
            reductions[rule.code] += off
            fixed += off
    shipping = Decimal(0)
    for option in catalog.shipping_options(country_code):
        if option.shipping_method == shipping_method:
            shipping = option.prices[country.pricelist]
    grand = items_total - fixed + shipping
    discount = sum(reductions.values(), Decimal(0))
    discounts = {
        "anyDiscount": discount > 0,
        **money(cf, "discount", -rounded(discount)),
        "vouchers": [
            {
                "voucher": r.code,
                "description": r.description,
                **money(cf, "priceOff", -rounded(reductions[r.code])),
            }
            for r in rules
        ],
        "automaticDiscounts": [],
    }
    no_discount = {"totalDiscountPrice": False, "totalDiscountPriceAsNumber": False}
    totals = {
        **money(cf, "itemsTotalPrice", items_total),
        **(money(cf, "totalDiscountPrice", -fixed) if fixed else no_discount),
        **money(cf, "shippingPrice", shipping),
        **money(cf, "handlingCostPrice", Decimal(0)),
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
