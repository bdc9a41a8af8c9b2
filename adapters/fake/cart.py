"""The fake Centra's per-selection state: the cart (``Cart``), the payment started on it
(``PaymentSession``) and, once it became one, its order's back-office status (``OrderStatus``).

Plain mutable records: ``state`` changes them under the fake's lock, ``rendering`` renders them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

PENDING = ("untouched", "Pending")
CONFIRMED = ("progress", "Confirmed")
"""The receipt's ``status``/``statusDescription`` pairs Centra's documentation shows."""

PAYMENT_MISMATCH = "Payment mismatch"
WAITING_FOR_PAYMENT = "Waiting for Payment"
"""Why an order is on Hold, in the words of Centra's documentation."""


@attrs.define
class PaymentSession:
    """A payment started on a selection: what the provider was told and what it will check.

    ``stage`` is ``"initiated"`` while only the provider's widget is shown (Adyen Drop-in after
    ``paymentInitiateOnly``, or before its ``paymentMethodSpecificFields``) and ``"started"``
    once the shopper can pay; ``amount`` is what the provider charges (currency, grand total);
    ``country`` the selection's country when the payment started.
    """

    request: dict[str, Any]
    method: str
    reference: str
    amount: tuple[str, Decimal]
    country: str
    stage: str = "started"


@attrs.define
class Cart:
    """One selection's state in the fake: lines (``line -> [item, quantity]``), vouchers, ...

    ``failed_authorizations`` keeps the fields of each refused payment result while the payment
    stays started (Centra keeps a failed External Payment authorization for the order's
    history); ``order`` is the receipt once the selection became an order.
    """

    id: str
    country: str
    payment_method: str | None
    shipping_method: str | None
    lines: dict[str, list[Any]] = attrs.field(factory=dict)
    vouchers: list[str] = attrs.field(factory=list)
    address: dict[str, Any] = attrs.field(factory=dict)
    shipping_address: dict[str, Any] | None = None
    gift_message: str = ""
    cart_abandonment_email: bool = False
    payment: PaymentSession | None = None
    failed_authorizations: list[dict[str, Any]] = attrs.field(factory=list)
    order: dict[str, Any] | None = None


@attrs.define
class OrderStatus:
    """An order's status in the fake's back office (what a webhook's receiver reads again).

    ``status`` is the receipt's pair (``PENDING`` or ``CONFIRMED``); ``hold`` and
    ``waiting_for_payment`` are the back office's flags, ``hold_reasons`` why it is held
    (``PAYMENT_MISMATCH``, ``WAITING_FOR_PAYMENT``). Centra's receipt shows none of the flags.
    """

    order: str
    selection: str
    payment_method: str
    status: tuple[str, str] = PENDING
    waiting_for_payment: bool = False
    hold_reasons: list[str] = attrs.field(factory=list)

    @property
    def hold(self) -> bool:
        """Whether the order is on Hold (for any reason)."""
        return bool(self.hold_reasons)
