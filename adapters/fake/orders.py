"""The fake Centra's order ledger: the orders its selections became, their back-office status,
and the webhooks each new or changed order sends (``OrderBook``).

As Centra documents it: a new order is ``untouched``/``Pending``, or ``progress``/``Confirmed``
when the store confirms orders automatically ("Autoconfirm Orders" skips Pending;
``pages/01.overview/07.orderflow``). Qliro's orders are placed on Hold, Waiting for Payment,
until Qliro's notification says the payment completed (``pages/06.plugins/13.qliroone``); a cart
changed after the payment started makes the order a "Payment mismatch" on Hold
(``06.plugins/06.adyen-drop-in``, ``06.plugins/02.stripe``). The fake's choices: a held order is
not confirmed automatically until every hold is cleared; the receipt shows the status pair only
(no page shows a Hold flag in it); ``confirm_payment`` plays the provider's notification and
``clear_hold`` a person releasing the hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orderflow.adapters.fake.cart import (
    CONFIRMED,
    PENDING,
    WAITING_FOR_PAYMENT,
    Cart,
    OrderStatus,
)
from orderflow.adapters.fake.webhooks import WebhookSender
from orderflow.ports import Clock

_DATE = "%Y-%m-%d %H:%M:%S"


class OrderBook:
    """The orders: ``orders`` maps each selection that became an order to its receipt,
    ``statuses`` each order number to its ``OrderStatus``. Not locked (``FakeCentra`` is)."""

    def __init__(
        self,
        clock: Clock,
        first_order: int,
        *,
        autoconfirm: bool = False,
        webhooks: WebhookSender | None = None,
    ):
        self.clock = clock
        self.autoconfirm = autoconfirm
        self.webhooks = webhooks
        self.orders: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, OrderStatus] = {}
        self._carts: dict[str, Cart] = {}
        self._next = first_order

    def next_number(self) -> str:
        """The number the next order gets (taken by ``record``)."""
        return str(self._next)

    def date(self) -> str:
        """Now, as an order's ``date``."""
        return self.clock.now().strftime(_DATE)

    def status_for(self, held: bool) -> tuple[str, str]:
        """The status a new order gets: Confirmed when the store confirms orders automatically
        and nothing holds it, else Pending."""
        return CONFIRMED if self.autoconfirm and not held else PENDING

    def record(
        self,
        cart: Cart,
        receipt: dict[str, Any],
        *,
        hold_reasons: Iterable[str] = (),
        waiting_for_payment: bool = False,
    ) -> OrderStatus:
        """Book ``receipt`` as the order ``cart`` became; sends its ``insert`` webhook."""
        number = str(receipt["order"])
        self._next = max(self._next, int(number) + 1) if number.isdigit() else self._next + 1
        cart.order = receipt
        self.orders[cart.id] = receipt
        self._carts[number] = cart
        status = OrderStatus(
            number,
            cart.id,
            cart.payment_method or "",
            (receipt["status"], receipt["statusDescription"]),
            waiting_for_payment,
            list(hold_reasons),
        )
        self.statuses[number] = status
        self._emit("insert", status)
        return status

    def confirm_payment(self, order: str) -> OrderStatus:
        """The provider confirmed the payment (its notification): Waiting for Payment and the
        Hold it caused are cleared. Raises ``KeyError`` for an unknown order."""
        status = self._status(order)
        status.waiting_for_payment = False
        status.hold_reasons = [r for r in status.hold_reasons if r != WAITING_FOR_PAYMENT]
        return self._changed(status)

    def clear_hold(self, order: str) -> OrderStatus:
        """Every Hold on the order released (a payment mismatch too). Raises ``KeyError``."""
        status = self._status(order)
        status.hold_reasons = []
        return self._changed(status)

    def _status(self, order: str) -> OrderStatus:
        status = self.statuses.get(str(order))
        if status is None:
            raise KeyError(f"no order {order!r} in the fake")
        return status

    def _changed(self, status: OrderStatus) -> OrderStatus:
        if self.autoconfirm and not status.hold and not status.waiting_for_payment:
            status.status = CONFIRMED
        cart = self._carts[status.order]
        assert cart.order is not None
        pair = {"status": status.status[0], "statusDescription": status.status[1]}
        # A new dict: answers given before share the old one and must not change.
        cart.order = self.orders[cart.id] = {**cart.order, **pair}
        self._emit("update", status)
        return status

    def _emit(self, action: str, status: OrderStatus) -> None:
        if self.webhooks is None:
            return
        number: int | str = int(status.order) if status.order.isdigit() else status.order
        event = {
            "type": "order",
            "action": action,
            "date": self.clock.now().strftime(_DATE + ".%f"),
            "id": number,
            "selection": status.selection,
        }
        self.webhooks.send([event])
