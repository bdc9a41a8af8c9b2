"""The seed's data as msgspec Structs: the receipt, and a whole stored checkout.

What a competent msgspec user declares for the same documents: one Struct per object, camelCase
on the wire (``rename="camel"``), every key the seed's documents hold declared as a field (so
both sides keep the same data; msgspec would drop undeclared keys, ours keeps them in
``extra``), amounts as ``Decimal`` next to their display strings, Centra's ``false`` for an
absent amount accepted where the type allows ``bool``, states and events as orderflow's own
enums, times as ``datetime``, and the payment action as a tagged union on ``action``.
``memory`` checks that no key of its documents is lost (``lost_keys``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from orderflow.flow import Event, State

Amount = Decimal | bool | None
Display = str | bool | None


class _Wire(msgspec.Struct, rename="camel"):
    pass


def lost_keys(decoded: msgspec.Struct, raw: bytes) -> list[str]:
    """The paths of the keys in ``raw`` that ``decoded`` does not hold (declare them)."""
    kept = msgspec.json.decode(msgspec.json.encode(decoded))
    lost: list[str] = []

    def compare(given: Any, held: Any, path: str) -> None:
        if isinstance(given, dict) and isinstance(held, dict):
            for key, value in given.items():
                if key not in held:
                    lost.append(f"{path}.{key}")
                else:
                    compare(value, held[key], f"{path}.{key}")
        elif isinstance(given, list) and isinstance(held, list):
            for index, (value, kept_value) in enumerate(zip(given, held, strict=False)):
                compare(value, kept_value, f"{path}[{index}]")

    compare(msgspec.json.decode(raw), kept, "$")
    return lost


# --- the receipt ---------------------------------------------------------------------------


class StructItem(_Wire):
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


class StructVoucher(_Wire):
    voucher: str
    description: str | None = None
    price_off: str | None = None
    price_off_as_number: Decimal | None = None


class StructDiscounts(_Wire):
    any_discount: bool
    discount: str
    discount_as_number: Decimal
    vouchers: tuple[StructVoucher, ...] | dict[str, StructVoucher] = ()
    automatic_discounts: tuple[dict[str, Any], ...] | dict[str, dict[str, Any]] = ()


class StructTotals(_Wire):
    items_total_price: str
    items_total_price_as_number: Decimal
    grand_total_price: str
    grand_total_price_as_number: Decimal
    total_quantity: int
    shipping_price: Display = None
    shipping_price_as_number: Amount = None
    handling_cost_price: Display = None
    handling_cost_price_as_number: Amount = None
    total_discount_price: Display = None
    total_discount_price_as_number: Amount = None
    tax_deducted: Display = None
    tax_deducted_as_number: Amount = None
    tax_added: Display = None
    tax_added_as_number: Amount = None
    tax_percent: Decimal | None = None
    grand_total_price_tax: Display = None
    grand_total_price_tax_as_number: Amount = None


class StructAddress(_Wire):
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
    logged_in: bool | None = None
    register: bool | None = None


class StructCurrencyFormat(_Wire):
    currency: str
    name: str = ""
    prefix: str = ""
    suffix: str = ""
    decimal_point: str = "."
    decimal_digits: str = "2"
    uri: str = ""


class StructReceipt(_Wire):
    order: str
    status: str
    currency: str
    items: tuple[StructItem, ...]
    totals: StructTotals
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
    discounts: StructDiscounts | None = None
    vat_exempt: bool | None = None
    address: StructAddress | None = None
    shipping_address: StructAddress | None = None
    gift_message: str | None = None
    additional_notes: str | None = None
    shipments: tuple[dict[str, Any], ...] = ()
    payment_method_data: dict[str, Any] | None = None
    currency_format: StructCurrencyFormat | None = None


# --- the cart ------------------------------------------------------------------------------


class StructSelection(_Wire):
    selection: str
    currency: str
    items: tuple[StructItem, ...]
    totals: StructTotals
    discounts: StructDiscounts | None = None
    currency_format: StructCurrencyFormat | None = None
    payment_method: str | None = None
    shipping_method: str | None = None
    country: str | None = None
    language: str | None = None
    address: StructAddress | None = None
    shipping_address: StructAddress | None = None
    payment_method_name: str | None = None
    shipping_method_name: str | None = None
    vat_exempt: bool | None = None
    additional_notes: str | None = None


class StructPaymentMethod(_Wire):
    payment_method: str
    name: str | None = None
    payment_method_type: str | None = None
    supports_initiate_only: bool | None = None
    provides_customer_address_after_payment: bool | None = None
    handling_cost: str | None = None
    handling_cost_as_number: Decimal | None = None
    use_for_digital_content: bool | None = None
    has_terms_and_conditions_agreement: bool | None = None
    address_required_fields: tuple[str, ...] = ()
    client_side: dict[str, Any] | None = None


class StructShippingMethod(_Wire):
    shipping_method: str
    name: str | None = None
    price: str | None = None
    price_as_number: Decimal | None = None


class StructLocation(_Wire):
    country: str | None = None
    ship_to: bool = True
    name: str | None = None
    state: str | None = None
    state_name: str | None = None
    eu: bool | None = None
    language: str | None = None


class StructSelectionResponse(_Wire):
    selection: StructSelection
    payment_methods: tuple[StructPaymentMethod, ...] = ()
    shipping_methods: tuple[StructShippingMethod, ...] = ()
    location: StructLocation | None = None
    token: str | None = None
    unavailable: tuple[dict[str, Any], ...] = ()
    payment_fields: dict[str, Any] | None = None  # Centra's description of the checkout form


# --- the payment ---------------------------------------------------------------------------


class StructPaymentRequest(_Wire):
    payment_method: str
    address: StructAddress
    payment_return_page: str
    payment_failed_page: str
    terms_and_conditions: bool = False
    selection: str | None = None
    payment_method_callback_page: str | None = None
    shipping_address: StructAddress | None = None
    payment_method_specific_fields: Any = None
    consents: tuple[Any, ...] | None = None
    additional_fields: tuple[Any, ...] | None = None
    customer_club_fields: tuple[Any, ...] | None = None
    internal_order: bool | None = None
    ip_address: str | None = None


class _Action(_Wire, tag_field="action"):
    pass


class StructFormAction(_Action, tag="form"):
    form_html: str
    form_fields: dict[str, Any] | None = None
    form_url: str | None = None
    form_type: str | None = None


class StructRedirectAction(_Action, tag="redirect"):
    url: str


class StructJavascriptAction(_Action, tag="javascript"):
    code: str | None = None
    form_fields: dict[str, Any] | None = None
    form_type: str | None = None


class StructSuccessAction(_Action, tag="success"):
    receipt: StructReceipt


class StructFailedAction(_Action, tag="failed"):
    errors: dict[str, str] = {}
    messages: tuple[str, ...] | None = None


StructPaymentAction = (
    StructFormAction
    | StructRedirectAction
    | StructJavascriptAction
    | StructSuccessAction
    | StructFailedAction
)


# --- the checkout --------------------------------------------------------------------------


class StructTransitionRecord(_Wire):
    event: Event
    source: State | None
    dest: State
    at: datetime
    detail: str = ""


class StructCheckout(_Wire):
    id: str
    state: State
    created_at: datetime
    updated_at: datetime
    version: int = 0
    selection_id: str | None = None
    token: str | None = None
    cart: StructSelectionResponse | None = None
    details: StructPaymentRequest | None = None
    payment_action: StructPaymentAction | None = None
    payment_fields: dict[str, Any] | None = None
    outcome_unknown: str | None = None
    last_error: str | None = None
    receipt: StructReceipt | None = None
    unavailable: tuple[dict[str, Any], ...] = ()
    cancellation: dict[str, Any] | None = None
    history: tuple[StructTransitionRecord, ...] = ()
