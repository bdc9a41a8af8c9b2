"""A checkout: plain data about one shopper's way from cart to order."""

from __future__ import annotations

from datetime import datetime

import attrs

from orderflow.flow import State, TransitionRecord
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Item, Receipt
from orderflow.selection import SelectionResponse


@attrs.frozen
class Checkout:
    """One checkout as the store keeps it. Plain data: the flow and the service act on it.

    ``version`` is the optimistic-concurrency version the store checks on save.
    ``outcome_unknown`` names the payment call whose answer was lost (``reconcile`` finds out).
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
    payment_fields: dict[str, str] | None = None
    outcome_unknown: str | None = None
    last_error: str | None = None
    receipt: Receipt | None = None
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
        return tuple(m.payment_method for m in self.cart.payment_methods)

    @property
    def voucher_codes(self) -> tuple[str, ...]:
        """The codes of the vouchers applied to the selection."""
        discounts = self.cart.selection.discounts if self.cart is not None else None
        return tuple(v.voucher for v in discounts.vouchers) if discounts is not None else ()

    @property
    def order(self) -> str | None:
        """The Centra order number, once paid."""
        return self.receipt.order if self.receipt is not None else None
