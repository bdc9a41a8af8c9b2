"""The shopper's personal data in a checkout: credentials never kept, everything else erasable.

A checkout holds the shopper's details (what they typed), Centra's cart (the address Centra
echoes back), the receipt (the address the order ships to) and the provider's fields from the
return page. ``without_credentials`` drops what must never be stored (a password typed into
the checkout, sent to Centra once with the checkout fields); ``erased`` removes the rest of the
shopper's personal data, keeping what the shop's books need: the order number, items, totals,
states and history.
"""

from __future__ import annotations

from typing import Any

import attrs

from orderflow.address import Address
from orderflow.checkout import Checkout
from orderflow.payment import PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

CREDENTIAL_KEYS = frozenset(
    {"password", "passwordRepeat", "password2", "newPassword", "currentPassword", "oldPassword"}
)
"""Wire keys of credentials a shopper may type into a checkout's address form."""

ERASED = "<erased>"
"""What an erased text reads afterwards (kept non-empty where Centra requires a value)."""


def without_credentials(details: PaymentRequest) -> PaymentRequest:
    """``details`` without any credential field, wherever the request carries one."""
    return attrs.evolve(
        details,
        address=_address_without_credentials(details.address),
        shipping_address=(
            _address_without_credentials(details.shipping_address)
            if details.shipping_address is not None
            else None
        ),
        extra=_without(details.extra),
    )


def erased(checkout: Checkout) -> Checkout:
    """``checkout`` with the shopper's personal data removed.

    Names, email, phone, street, postcode, city, company and VAT number become ``<erased>``
    (or are dropped where optional); the provider's fields and the payment action (which may
    embed them) are dropped. The order number, items, totals, states and history stay.
    """
    return attrs.evolve(
        checkout,
        details=_erased_details(checkout.details),
        cart=_erased_cart(checkout.cart),
        receipt=_erased_receipt(checkout.receipt),
        payment_fields=None,
        payment_action=None,
        last_error=None,
    )


_PERSONAL = (
    "email",
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "zip_code",
    "city",
    "state",
    "phone_number",
    "vat_number",
)


def _erased_address(address: Address | None) -> Address | None:
    if address is None:
        return None
    cleared = {name: ERASED for name in _PERSONAL if getattr(address, name)}
    # Unknown fields Centra sent may be personal too (a birth date, a national id): dropped.
    return attrs.evolve(address, extra={}, **cleared)


def _address_without_credentials(address: Address) -> Address:
    return attrs.evolve(address, extra=_without(address.extra))


def _without(extra: dict[str, Any]) -> dict[str, Any]:
    if not CREDENTIAL_KEYS.intersection(extra):
        return extra
    return {key: value for key, value in extra.items() if key not in CREDENTIAL_KEYS}


def _erased_details(details: PaymentRequest | None) -> PaymentRequest | None:
    if details is None:
        return None
    address = _erased_address(details.address)
    assert address is not None
    return attrs.evolve(
        details,
        address=address,
        shipping_address=_erased_address(details.shipping_address),
        ip_address=None,
        payment_method_specific_fields=None,
        customer_club_fields=None,
        additional_fields=None,
        consents=None,
        extra={},
    )


def _erased_cart(cart: SelectionResponse | None) -> SelectionResponse | None:
    if cart is None:
        return None
    selection = attrs.evolve(
        cart.selection,
        address=_erased_address(cart.selection.address),
        shipping_address=_erased_address(cart.selection.shipping_address),
    )
    return attrs.evolve(cart, selection=selection)


def _erased_receipt(receipt: Receipt | None) -> Receipt | None:
    if receipt is None:
        return None
    return attrs.evolve(
        receipt,
        address=_erased_address(receipt.address),
        shipping_address=_erased_address(receipt.shipping_address),
        payment_method_data=None,
        affiliate_html=None,
        undecoded={k: v for k, v in receipt.undecoded.items() if k not in _RAW_PERSONAL} or None
        if receipt.undecoded
        else None,
    )


_RAW_PERSONAL = frozenset({"address", "shippingAddress", "paymentMethodData", "affiliateHtml"})
