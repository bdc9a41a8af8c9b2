"""The seed receipt as plain attrs classes structured by cattrs' own generated hooks.

The reference for why ``orderflow.codec`` generates its own per-class plans: this is the
lower bound of a cattrs-native codec (camelCase renames only, ``detailed_validation=False``,
orjson when installed), with none of what the core needs: no ``Money`` built from the
display/number pairs, no unknown keys kept, no explicit nulls remembered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override


@attrs.frozen
class CurrencyFormat:
    currency: str
    name: str
    prefix: str
    suffix: str
    decimal_point: str
    decimal_digits: str
    uri: str


@attrs.frozen
class Address:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    country_name: str | None = None
    phone_number: str | None = None
    vat_number: str | None = None


@attrs.frozen
class Item:
    item: str
    product: str
    brand_name: str
    product_name: str
    size: str
    sku: str
    ean: str
    silk_product: str
    silk_variant: str
    quantity: int
    comment: str
    store_pickup: bool
    line: str
    price_each: str
    price_each_as_number: Decimal
    total_price: str
    total_price_as_number: Decimal
    price_each_before_discount: str
    price_each_before_discount_as_number: Decimal
    any_discount: bool
    tax_percent: Decimal
    price_each_without_tax: str
    price_each_without_tax_as_number: Decimal
    price_each_reduction: str
    price_each_reduction_as_number: Decimal


@attrs.frozen
class Discounts:
    any_discount: bool
    discount: str
    discount_as_number: Decimal
    vouchers: tuple[dict[str, Any], ...]
    automatic_discounts: tuple[dict[str, Any], ...]


@attrs.frozen
class Totals:
    items_total_price: str
    items_total_price_as_number: Decimal
    total_discount_price: str | bool
    total_discount_price_as_number: Decimal | bool
    shipping_price: str
    shipping_price_as_number: Decimal
    handling_cost_price: str
    handling_cost_price_as_number: Decimal
    total_quantity: int
    tax_deducted: str | bool
    tax_deducted_as_number: Decimal | bool
    tax_added: str | bool
    tax_added_as_number: Decimal | bool
    tax_percent: Decimal
    grand_total_price: str
    grand_total_price_as_number: Decimal
    grand_total_price_tax: str
    grand_total_price_tax_as_number: Decimal


@attrs.frozen
class CattrsReceipt:
    order: str
    status: str
    status_description: str
    message: str
    date: str
    affiliate_html: str
    market: str
    pricelist: str
    language: str | None
    currency: str
    payment_method: str
    payment_method_name: str
    shipping_method: str
    shipping_method_name: str
    warehouse: str | bool
    items: tuple[Item, ...]
    discounts: Discounts
    totals: Totals
    vat_exempt: bool
    address: Address
    shipping_address: Address
    gift_message: str
    additional_notes: str
    shipments: tuple[dict[str, Any], ...]
    payment_method_data: dict[str, Any]
    currency_format: CurrencyFormat


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _decimal(value: Any, _: Any) -> Decimal:
    return Decimal(value) if type(value) is int else Decimal(str(value))


def decoder() -> Callable[[bytes], CattrsReceipt]:
    """bytes -> ``CattrsReceipt`` through one cattrs converter with generated hooks."""
    try:
        import orjson

        parse: Callable[[bytes], Any] = orjson.loads
    except ImportError:
        parse = json.loads
    converter = cattrs.Converter(detailed_validation=False)
    converter.register_structure_hook(Decimal, _decimal)
    converter.register_structure_hook(str | bool, lambda value, _: value)
    converter.register_structure_hook(
        Decimal | bool, lambda value, _: value if value is False else _decimal(value, None)
    )
    for cls in (CurrencyFormat, Address, Item, Discounts, Totals, CattrsReceipt):
        renames = {f.name: override(rename=_camel(f.name)) for f in attrs.fields(cls)}
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **renames))
    return lambda raw: converter.structure(parse(raw), CattrsReceipt)
