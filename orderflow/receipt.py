"""The order receipt Centra answers a successful payment result with, and its parts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from orderflow.address import Address
from orderflow.money import CurrencyFormat, Money


@attrs.frozen
class Item:
    """One line of a selection or an order: an item (``<product>-<size>``) and its quantity."""

    item: str
    quantity: int
    line: str
    price_each: Money
    total_price: Money
    product: str | None = None
    brand_name: str | None = None
    product_name: str | None = None
    size: str | None = None
    sku: str | None = None
    ean: str | None = None
    silk_product: str | None = None
    silk_variant: str | None = None
    comment: str | None = None
    store_pickup: bool | None = None
    price_each_before_discount: Money | None = None
    any_discount: bool | None = None
    tax_percent: Decimal | None = None
    price_each_without_tax: Money | None = None
    price_each_reduction: Money | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


Line = Item
"""A selection line: the same wire shape as a receipt item."""


@attrs.frozen
class Voucher:
    """A voucher applied to a selection (``type`` is ``"code"`` for one the shopper entered)."""

    voucher: str
    description: str | None = None
    price_off: Money | None = None
    type: str | None = None
    shipping_discount: Money | None = None
    expiry_date: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class Discounts:
    """The discounts on a selection or order.

    Older instances send ``vouchers`` and ``automaticDiscounts`` as lists; newer ones as
    objects keyed by voucher code and by id. Both are kept as they came (``codes`` reads
    either).
    """

    any_discount: bool
    discount: Money
    vouchers: tuple[Voucher, ...] | dict[str, Voucher] = ()
    automatic_discounts: tuple[dict[str, Any], ...] | dict[str, dict[str, Any]] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the vouchers applied, in Centra's order."""
        vouchers = self.vouchers.values() if isinstance(self.vouchers, dict) else self.vouchers
        return tuple(v.voucher for v in vouchers)


@attrs.frozen
class Totals:
    """The totals of a selection or order.

    Centra sends ``false`` instead of an amount for ``totalDiscountPrice``, ``taxDeducted`` and
    ``taxAdded`` when they do not apply; those are ``None`` here.
    """

    items_total_price: Money
    grand_total_price: Money
    total_quantity: int
    shipping_price: Money | None = None
    handling_cost_price: Money | None = None
    total_discount_price: Money | None = None
    tax_deducted: Money | None = None
    tax_added: Money | None = None
    tax_percent: Decimal | None = None
    grand_total_price_tax: Money | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class Receipt:
    """The order: what a successful payment result (or a later receipt read) answers with.

    Centra's answer showing an order is kept even when parts of it do not decode: those parts
    are then absent here (``totals`` ``None``, ``items`` empty, ...) and kept as they came in
    ``undecoded``, by their wire key. ``token`` is the session token the answer carried, in a
    dialect with sessions (the Checkout API's); it is no part of the order.
    """

    order: str
    status: str = ""
    currency: str = ""
    items: tuple[Item, ...] = ()
    totals: Totals | None = None
    status_description: str | None = None
    message: str | None = None
    date: str | None = None
    affiliate_html: str | None = None
    market: str | None = None
    pricelist: str | None = None
    language: str | None = None
    payment_method: str | None = None
    payment_method_name: str | None = None
    shipping_method: str | None = None
    shipping_method_name: str | None = None
    warehouse: str | bool | None = None
    discounts: Discounts | None = None
    vat_exempt: bool | None = None
    address: Address | None = None
    shipping_address: Address | None = None
    gift_message: str | None = None
    additional_notes: str | None = None
    shipments: tuple[dict[str, Any], ...] = ()
    payment_method_data: dict[str, Any] | None = None
    currency_format: CurrencyFormat | None = None
    undecoded: dict[str, Any] | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
