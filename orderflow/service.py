"""The checkout service: one method per event of the flow, for sync and async callers.

``CheckoutService`` and ``AsyncCheckoutService`` run the same commands (``commands.py``);
they differ only in how a Centra call is made: called, or awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from orderflow.checkout import Checkout
from orderflow.clock import SystemClock
from orderflow.commands import CheckoutCommands, Command, ServiceSettings, Sleep
from orderflow.flow import Event, State
from orderflow.payment import PaymentRequest
from orderflow.ports import AsyncTransport, Clock, Store, Transport


class CheckoutService(CheckoutCommands):
    """The checkout brain: one method per event, each returning the saved ``Checkout``.

    Every method loads the checkout, asks the flow whether the event is allowed (raising
    ``EventNotAllowed`` or ``GuardRefused``), makes its Centra call through the transport,
    fires the transition, appends it to the history and saves with the expected version
    (``ConcurrencyConflict`` if someone saved in between). ``idempotency_key``: the same key
    with the same parameters returns the first result; with others, ``IdempotencyKeyReused``.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        store: Store,
        clock: Clock | None = None,
        settings: ServiceSettings | None = None,
    ):
        super().__init__(store, clock, settings)
        self.transport = transport

    def _run(
        self,
        command: Command,
        name: str,
        params: Mapping[str, Any],
        idempotency_key: str | None,
    ) -> Checkout:
        if idempotency_key is None:
            return self._drive(command)
        fingerprint, first = self._recall(idempotency_key, name, params)
        if first is not None:
            command.close()
            return first
        return self._remember(idempotency_key, fingerprint, self._drive(command))

    def _drive(self, command: Command) -> Checkout:
        answer: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = command.send(answer) if error is None else command.throw(error)
            except StopIteration as done:
                result: Checkout = done.value
                return result
            answer, error = None, None
            if isinstance(effect, Sleep):
                self.clock.sleep(effect.seconds)
                continue
            try:
                answer = getattr(self.transport, effect.method)(*effect.args)
            except Exception as raised:  # handed to the command, which decides
                error = raised

    def open(
        self, checkout_id: str | None = None, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Create a selection at Centra and a new checkout in ``selection``."""
        params = {"checkout_id": checkout_id}
        return self._run(self._open(checkout_id), "open", params, idempotency_key)

    def add_item(
        self, checkout_id: str, item: str, quantity: int = 1, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Add ``quantity`` of ``item`` (``<product>-<size>``) to the cart."""
        params = {"item": item, "quantity": quantity}
        return self._run(
            self._cart_change(checkout_id, Event.ADD_ITEM, params, (item, quantity)),
            f"add_item {checkout_id}",
            params,
            idempotency_key,
        )

    def set_quantity(
        self, checkout_id: str, line: str, quantity: int, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Set a cart line's quantity (0 removes it)."""
        params = {"line": line, "quantity": quantity}
        command = self._cart_change(checkout_id, Event.SET_QUANTITY, params, (line, quantity))
        return self._run(command, f"set_quantity {checkout_id}", params, idempotency_key)

    def remove_line(
        self, checkout_id: str, line: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Remove a cart line."""
        params = {"line": line}
        return self._run(
            self._cart_change(checkout_id, Event.REMOVE_LINE, params, (line,)),
            f"remove_line {checkout_id}",
            params,
            idempotency_key,
        )

    def apply_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Apply a voucher code to the cart."""
        params = {"code": code}
        return self._run(
            self._cart_change(checkout_id, Event.APPLY_VOUCHER, params, (code,)),
            f"apply_voucher {checkout_id}",
            params,
            idempotency_key,
        )

    def remove_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Remove an applied voucher."""
        params = {"code": code}
        return self._run(
            self._cart_change(checkout_id, Event.REMOVE_VOUCHER, params, (code,)),
            f"remove_voucher {checkout_id}",
            params,
            idempotency_key,
        )

    def set_country(
        self, checkout_id: str, country: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Set the shopper's country (ISO 3166 alpha-2)."""
        params = {"country": country}
        return self._run(
            self._cart_change(checkout_id, Event.SET_COUNTRY, params, (country,)),
            f"set_country {checkout_id}",
            params,
            idempotency_key,
        )

    def confirm(
        self, checkout_id: str, details: PaymentRequest, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Send the shopper's details and freeze the cart for paying."""
        return self._run(
            self._confirm(checkout_id, details),
            f"confirm {checkout_id}",
            {"details": details},
            idempotency_key,
        )

    def reopen(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Go back to the cart from ``confirmed`` or ``payment_failed``."""
        command = self._without_effect(checkout_id, Event.REOPEN, State.SELECTION)
        return self._run(command, f"reopen {checkout_id}", {}, idempotency_key)

    def start_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Start the payment; ``payment_action`` says what the shopper's browser must do."""
        return self._run(
            self._start_payment(checkout_id), f"start_payment {checkout_id}", {}, idempotency_key
        )

    def complete_payment(
        self, checkout_id: str, fields: Mapping[str, str], *, idempotency_key: str | None = None
    ) -> Checkout:
        """Post the provider's answer once; on a paid checkout, return the stored receipt."""
        params = {"fields": dict(fields)}
        return self._run(
            self._complete_payment(checkout_id, fields),
            f"complete_payment {checkout_id}",
            params,
            idempotency_key,
        )

    def fail_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """The shopper landed on the payment-failed page."""
        command = self._without_effect(checkout_id, Event.FAIL_PAYMENT, State.PAYMENT_FAILED)
        return self._run(command, f"fail_payment {checkout_id}", {}, idempotency_key)

    def retry_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Back to ``confirmed`` after a failure, to start the payment again."""
        command = self._without_effect(checkout_id, Event.RETRY_PAYMENT, State.CONFIRMED)
        return self._run(command, f"retry_payment {checkout_id}", {}, idempotency_key)

    def reconcile(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Ask Centra whether a pending checkout became an order; ``paid`` if it did."""
        return self._run(
            self._reconcile(checkout_id), f"reconcile {checkout_id}", {}, idempotency_key
        )

    def cancel(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Cancel before paying."""
        command = self._without_effect(checkout_id, Event.CANCEL, State.CANCELLED)
        return self._run(command, f"cancel {checkout_id}", {}, idempotency_key)

    def expire(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Expire an abandoned checkout before paying."""
        command = self._without_effect(checkout_id, Event.EXPIRE, State.CANCELLED)
        return self._run(command, f"expire {checkout_id}", {}, idempotency_key)


class AsyncCheckoutService(CheckoutCommands):
    """``CheckoutService`` for asyncio callers: the same methods and errors, awaited.

    Centra calls go through an ``AsyncTransport``; the store is called directly (a local
    database call is short).
    """

    def __init__(
        self,
        *,
        transport: AsyncTransport,
        store: Store,
        clock: Clock | None = None,
        settings: ServiceSettings | None = None,
    ):
        super().__init__(store, clock, settings)
        self.transport = transport

    async def _run(
        self,
        command: Command,
        name: str,
        params: Mapping[str, Any],
        idempotency_key: str | None,
    ) -> Checkout:
        if idempotency_key is None:
            return await self._drive(command)
        fingerprint, first = self._recall(idempotency_key, name, params)
        if first is not None:
            command.close()
            return first
        return self._remember(idempotency_key, fingerprint, await self._drive(command))

    async def _drive(self, command: Command) -> Checkout:
        answer: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = command.send(answer) if error is None else command.throw(error)
            except StopIteration as done:
                result: Checkout = done.value
                return result
            answer, error = None, None
            if isinstance(effect, Sleep):
                await self._sleep(effect.seconds)
                continue
            try:
                answer = await getattr(self.transport, effect.method)(*effect.args)
            except Exception as raised:  # handed to the command, which decides
                error = raised

    async def _sleep(self, seconds: float) -> None:
        if isinstance(self.clock, SystemClock):
            await asyncio.sleep(seconds)
        else:  # a test clock advances; let other tasks run
            self.clock.sleep(seconds)
            await asyncio.sleep(0)

    async def open(
        self, checkout_id: str | None = None, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.open``."""
        params = {"checkout_id": checkout_id}
        return await self._run(self._open(checkout_id), "open", params, idempotency_key)

    async def add_item(
        self, checkout_id: str, item: str, quantity: int = 1, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.add_item``."""
        params = {"item": item, "quantity": quantity}
        command = self._cart_change(checkout_id, Event.ADD_ITEM, params, (item, quantity))
        return await self._run(command, f"add_item {checkout_id}", params, idempotency_key)

    async def set_quantity(
        self, checkout_id: str, line: str, quantity: int, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.set_quantity``."""
        params = {"line": line, "quantity": quantity}
        command = self._cart_change(checkout_id, Event.SET_QUANTITY, params, (line, quantity))
        return await self._run(command, f"set_quantity {checkout_id}", params, idempotency_key)

    async def remove_line(
        self, checkout_id: str, line: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.remove_line``."""
        params = {"line": line}
        command = self._cart_change(checkout_id, Event.REMOVE_LINE, params, (line,))
        return await self._run(command, f"remove_line {checkout_id}", params, idempotency_key)

    async def apply_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.apply_voucher``."""
        params = {"code": code}
        command = self._cart_change(checkout_id, Event.APPLY_VOUCHER, params, (code,))
        return await self._run(command, f"apply_voucher {checkout_id}", params, idempotency_key)

    async def remove_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.remove_voucher``."""
        params = {"code": code}
        command = self._cart_change(checkout_id, Event.REMOVE_VOUCHER, params, (code,))
        return await self._run(command, f"remove_voucher {checkout_id}", params, idempotency_key)

    async def set_country(
        self, checkout_id: str, country: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.set_country``."""
        params = {"country": country}
        command = self._cart_change(checkout_id, Event.SET_COUNTRY, params, (country,))
        return await self._run(command, f"set_country {checkout_id}", params, idempotency_key)

    async def confirm(
        self, checkout_id: str, details: PaymentRequest, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.confirm``."""
        return await self._run(
            self._confirm(checkout_id, details),
            f"confirm {checkout_id}",
            {"details": details},
            idempotency_key,
        )

    async def reopen(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.reopen``."""
        command = self._without_effect(checkout_id, Event.REOPEN, State.SELECTION)
        return await self._run(command, f"reopen {checkout_id}", {}, idempotency_key)

    async def start_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.start_payment``."""
        return await self._run(
            self._start_payment(checkout_id), f"start_payment {checkout_id}", {}, idempotency_key
        )

    async def complete_payment(
        self, checkout_id: str, fields: Mapping[str, str], *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.complete_payment``."""
        params = {"fields": dict(fields)}
        return await self._run(
            self._complete_payment(checkout_id, fields),
            f"complete_payment {checkout_id}",
            params,
            idempotency_key,
        )

    async def fail_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.fail_payment``."""
        command = self._without_effect(checkout_id, Event.FAIL_PAYMENT, State.PAYMENT_FAILED)
        return await self._run(command, f"fail_payment {checkout_id}", {}, idempotency_key)

    async def retry_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.retry_payment``."""
        command = self._without_effect(checkout_id, Event.RETRY_PAYMENT, State.CONFIRMED)
        return await self._run(command, f"retry_payment {checkout_id}", {}, idempotency_key)

    async def reconcile(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.reconcile``."""
        return await self._run(
            self._reconcile(checkout_id), f"reconcile {checkout_id}", {}, idempotency_key
        )

    async def cancel(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.cancel``."""
        command = self._without_effect(checkout_id, Event.CANCEL, State.CANCELLED)
        return await self._run(command, f"cancel {checkout_id}", {}, idempotency_key)

    async def expire(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.expire``."""
        command = self._without_effect(checkout_id, Event.EXPIRE, State.CANCELLED)
        return await self._run(command, f"expire {checkout_id}", {}, idempotency_key)


__all__ = ["AsyncCheckoutService", "CheckoutService", "ServiceSettings"]
