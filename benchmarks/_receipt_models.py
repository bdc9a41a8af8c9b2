"""The seed receipt's shape as pydantic v2 models (msgspec's Structs are in ``_structs``).

The same fields as ``orderflow.receipt`` (camelCase on the wire), each money amount as its two
wire keys (display string and ``...AsNumber``), Centra's ``false`` for an absent amount
accepted where it occurs, and unknown keys kept (pydantic) as ours keeps them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

Amount = Decimal | Literal[False]
Display = str | Literal[False]


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class PydanticItem(_Wire):
    item: str
    quantity: int
    line: str
    price_each: str
    price_each_as_number: Decimal
    total_price: str
    total_price_as_number: Decimal
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
    price_each_before_discount: str | None = None
    price_each_before_discount_as_number: Decimal | None = None
    any_discount: bool | None = None
    tax_percent: Decimal | None = None
    price_each_without_tax: str | None = None
    price_each_without_tax_as_number: Decimal | None = None
    price_each_reduction: str | None = None
    price_each_reduction_as_number: Decimal | None = None


class PydanticVoucher(_Wire):
    voucher: str
    description: str | None = None
    price_off: str | None = None
    price_off_as_number: Decimal | None = None


class PydanticDiscounts(_Wire):
    any_discount: bool
    discount: str
    discount_as_number: Decimal
    vouchers: tuple[PydanticVoucher, ...] = ()
    automatic_discounts: tuple[dict[str, Any], ...] = ()


class PydanticTotals(_Wire):
    items_total_price: str
    items_total_price_as_number: Decimal
    grand_total_price: str
    grand_total_price_as_number: Decimal
    total_quantity: int
    shipping_price: Display | None = None
    shipping_price_as_number: Amount | None = None
    handling_cost_price: Display | None = None
    handling_cost_price_as_number: Amount | None = None
    total_discount_price: Display | None = None
    total_discount_price_as_number: Amount | None = None
    tax_deducted: Display | None = None
    tax_deducted_as_number: Amount | None = None
    tax_added: Display | None = None
    tax_added_as_number: Amount | None = None
    tax_percent: Decimal | None = None
    grand_total_price_tax: Display | None = None
    grand_total_price_tax_as_number: Amount | None = None


class PydanticAddress(_Wire):
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


class PydanticCurrencyFormat(_Wire):
    currency: str
    name: str = ""
    prefix: str = ""
    suffix: str = ""
    decimal_point: str = "."
    decimal_digits: int = 2
    uri: str = ""


class PydanticReceipt(_Wire):
    order: str
    status: str
    currency: str
    items: tuple[PydanticItem, ...]
    totals: PydanticTotals
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
    discounts: PydanticDiscounts | None = None
    vat_exempt: bool | None = None
    address: PydanticAddress | None = None
    shipping_address: PydanticAddress | None = None
    gift_message: str | None = None
    additional_notes: str | None = None
    shipments: tuple[dict[str, Any], ...] = ()
    payment_method_data: dict[str, Any] | None = None
    currency_format: PydanticCurrencyFormat | None = None
