"""A checkout: plain data about one shopper's way from cart to order."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

import attrs

from orderflow.calls import CallKind
from orderflow.flow import State, TransitionRecord
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Item, Receipt
from orderflow.selection import SelectionResponse, UnavailableItem

_payment_method_of = attrgetter("payment_method")


@attrs.frozen
class Checkout:
    """One checkout as the store keeps it. Plain data: the flow and the service act on it.

    ``version`` is the optimistic-concurrency version the store checks on save.
    ``outcome_unknown`` names the payment call that is in flight or whose answer was lost (the
    write-ahead marker: ``reconcile``, or the next payment call, asks Centra first).
    ``payment_fields`` are the provider's fields last posted (any JSON values).
    ``unavailable`` lists what Centra last removed for want of stock, and ``cancellation`` is
    what it said of a payment its 410 cancelled, both as Centra sent them.
    """

    id: str
    state: State
    created_at: datetime
    updated_at: datetime
    version: int = 0
    selection_id: str | None = None
    token: str | None = None
    cart: SelectionResponse | None = None
    details: PaymentRequest | None = None
    payment_action: PaymentAction | None = None
    payment_fields: dict[str, Any] | None = None
    outcome_unknown: CallKind | None = None
    last_error: str | None = None
    receipt: Receipt | None = None
    unavailable: tuple[UnavailableItem, ...] = ()
    cancellation: dict[str, Any] | None = None
    history: tuple[TransitionRecord, ...] = ()

    @property
    def items(self) -> tuple[Item, ...]:
        """The cart's lines (empty before the selection exists)."""
        return self.cart.selection.items if self.cart is not None else ()

    @property
    def payment_methods(self) -> tuple[str, ...]:
        """The ids of the payment methods the selection offers."""
        if self.cart is None:
            return ()
        return tuple(map(_payment_method_of, self.cart.payment_methods))

    @property
    def voucher_codes(self) -> tuple[str, ...]:
        """The codes of the vouchers applied to the selection."""
        discounts = self.cart.selection.discounts if self.cart is not None else None
        return discounts.codes if discounts is not None else ()

    @property
    def order(self) -> str | None:
        """The Centra order number, once paid."""
        return self.receipt.order if self.receipt is not None else None
