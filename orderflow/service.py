"""The checkout service: one method per event of the flow, for sync and async callers.

``CheckoutService`` and ``AsyncCheckoutService`` run the same commands (``commands.py``);
they differ only in how an effect is made: called, or awaited. Both log under
``orderflow.service`` (one INFO record per transition, never personal data) and tell their
subscribers (``on_transition``) once per committed transition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orderflow.calls import Call
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock, SystemClock
from orderflow.commands import (
    CheckoutCommands,
    Command,
    Commit,
    ServiceSettings,
    Sleep,
    Stored,
    takes_gate_steps,
)
from orderflow.errors import (
    CentraUnavailable,
    ClaimTimeout,
    OrderflowError,
    OutcomeUnknown,
    StoreError,
)
from orderflow.flow import Event, TransitionRecord
from orderflow.payment import PaymentRequest
from orderflow.ports import AsyncStore, AsyncTransport, Clock, Store, Transport

log = logging.getLogger("orderflow.service")

Subscriber = Callable[[Checkout, TransitionRecord], Any]
"""Told of each committed transition: the saved checkout and the transition it made."""


def _foreign(effect: Any, error: Exception) -> OrderflowError:
    """A core error for an exception that is not orderflow's, from a transport or a store."""
    what = f"{type(error).__name__}: {error}"
    if isinstance(effect, Call):
        if effect.moves_money:
            converted: OrderflowError = OutcomeUnknown(effect.label, what)
        else:
            converted = CentraUnavailable(effect.label, what)
    else:
        converted = StoreError(f"the store failed: {what}")
    converted.__cause__ = error
    return converted


def _warn(failed: OutcomeUnknown | ClaimTimeout) -> None:
    # The messages name calls and checkout ids only: nothing about the shopper.
    log.warning("%s", failed)


class _Service(CheckoutCommands):
    """What both services share: settings, subscribers, and telling them."""

    def __init__(
        self,
        store: object,
        clock: Clock | None,
        settings: ServiceSettings | None,
        on_transition: Subscriber | Iterable[Subscriber] | None,
    ):
        super().__init__(clock, settings, gate_steps=takes_gate_steps(store))
        if on_transition is None:
            self._subscribers: tuple[Subscriber, ...] = ()
        elif callable(on_transition):
            self._subscribers = (on_transition,)
        else:
            self._subscribers = tuple(on_transition)

    def _committed(self, checkout: Checkout) -> list[Any]:
        """Log the checkout's new transition and tell the subscribers; their awaitables."""
        record = checkout.history[-1]
        if record.event is Event.RECONCILE:
            log.warning(
                "checkout %s: reconcile settled %s -> %s (%s)",
                checkout.id,
                record.source.value if record.source is not None else "(new)",
                record.dest.value,
                record.detail,
            )
        if log.isEnabledFor(logging.INFO):
            source = record.source.value if record.source is not None else "(new)"
            log.info(
                "checkout %s: %s %s -> %s",
                checkout.id,
                record.event.value,
                source,
                record.dest.value,
                extra={
                    "checkout_id": checkout.id,
                    "event": record.event.value,
                    "source": source,
                    "dest": record.dest.value,
                },
            )
        pending: list[Any] = []
        for subscriber in self._subscribers:
            try:
                told = subscriber(checkout, record)
            except Exception:  # a subscriber's failure never breaks the flow
                log.exception("subscriber %r failed on checkout %s", subscriber, checkout.id)
            else:
                if hasattr(told, "__await__"):
                    pending.append(told)
        return pending


class CheckoutService(_Service):
    """The checkout brain: one method per event, each returning the saved ``Checkout``.

    Every method loads the checkout, asks the flow whether the event is allowed (raising
    ``EventNotAllowed``, ``PaymentInFlight`` or ``GuardRefused``), makes its Centra call through
    the transport, fires the transition the answer leads to, records it in the history and
    saves with the expected version (``ConcurrencyConflict`` if someone saved in between).
    ``idempotency_key``: the same key with the same parameters returns the first result (a
    second caller waits for it); with others, ``IdempotencyKeyReused``. Raises only
    orderflow's errors.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        store: Store,
        clock: Clock | None = None,
        settings: ServiceSettings | None = None,
        on_transition: Subscriber | Iterable[Subscriber] | None = None,
    ):
        super().__init__(store, clock, settings, on_transition)
        self.transport = transport
        self.store = store

    def _drive(self, command: Command) -> Checkout:
        answer: Any = None
        error: BaseException | None = None
        aborted: BaseException | None = None
        while True:
            try:
                effect = command.send(answer) if error is None else command.throw(error)
            except StopIteration as done:
                if aborted is not None:
                    raise aborted from None  # a command never swallows it; if one did
                result: Checkout = done.value
                return result
            except BaseException as failed:
                if aborted is not None and failed is not aborted:
                    raise aborted from failed  # its clean-up failed: what stopped it stands
                if isinstance(failed, OutcomeUnknown | ClaimTimeout):
                    _warn(failed)
                raise
            answer, error = None, None
            try:
                if isinstance(effect, Stored):
                    answer = effect.act(self.store)
                elif isinstance(effect, Commit):
                    answer = effect.act(self.store)
                    for told in self._committed(answer):
                        told.close()  # a coroutine function subscribed to a blocking service
                        log.warning("subscriber returned an awaitable; use AsyncCheckoutService")
                elif isinstance(effect, Sleep):
                    self.clock.sleep(effect.seconds)
                else:
                    answer = self.transport.send(effect)
            except OrderflowError as raised:  # handed to the command, which decides
                error = raised
            except Exception as raised:
                error = _foreign(effect, raised)
            except BaseException as raised:
                # Cancelled or interrupted: the command still gives up its claim (its marker
                # stays), then this is raised. Left to the garbage collector, it could not.
                error = aborted = raised

    def get(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        return self._drive(self._load(checkout_id))

    def open(
        self, checkout_id: str | None = None, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Create a selection at Centra and a new checkout in ``selection``."""
        return self._drive(self._open_command(checkout_id, idempotency_key))

    def add_item(
        self, checkout_id: str, item: str, quantity: int = 1, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Add ``quantity`` of ``item`` (``<product>-<size>``) to the cart."""
        return self._drive(self._add_item_command(checkout_id, item, quantity, idempotency_key))

    def set_quantity(
        self, checkout_id: str, line: str, quantity: int, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Set a cart line's quantity (0 removes it)."""
        return self._drive(self._set_quantity_command(checkout_id, line, quantity, idempotency_key))

    def remove_line(
        self, checkout_id: str, line: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Remove a cart line."""
        return self._drive(self._remove_line_command(checkout_id, line, idempotency_key))

    def apply_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Apply a voucher code to the cart."""
        return self._drive(self._apply_voucher_command(checkout_id, code, idempotency_key))

    def remove_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Remove an applied voucher."""
        return self._drive(self._remove_voucher_command(checkout_id, code, idempotency_key))

    def set_country(
        self, checkout_id: str, country: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Set the shopper's country (ISO 3166 alpha-2)."""
        return self._drive(self._set_country_command(checkout_id, country, idempotency_key))

    def confirm(
        self, checkout_id: str, details: PaymentRequest, *, idempotency_key: str | None = None
    ) -> Checkout:
        """Send the shopper's details and freeze the cart for paying."""
        return self._drive(self._confirm_command(checkout_id, details, idempotency_key))

    def reopen(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Go back to the cart from ``confirmed`` or ``payment_failed``."""
        return self._drive(self._without_call_command(checkout_id, Event.REOPEN, idempotency_key))

    def start_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Start the payment; ``payment_action`` says what the shopper's browser must do.

        Raises ``OutcomeUnknown`` when Centra's answer did not come (the checkout keeps its
        marker; ``reconcile`` or a retry asks Centra first).
        """
        return self._drive(self._start_payment_command(checkout_id, idempotency_key))

    def complete_payment(
        self, checkout_id: str, fields: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Checkout:
        """Post the provider's answer once; on a paid checkout, return the stored receipt.

        ``fields`` are every query and form parameter the return page got, names and values
        unchanged (any JSON values). Raises ``OutcomeUnknown`` as ``start_payment`` does.
        """
        return self._drive(self._complete_payment_command(checkout_id, fields, idempotency_key))

    def fail_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """The shopper landed on the payment-failed page."""
        command = self._without_call_command(checkout_id, Event.FAIL_PAYMENT, idempotency_key)
        return self._drive(command)

    def retry_payment(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Back to ``confirmed`` after a failure, to start the payment again."""
        command = self._without_call_command(checkout_id, Event.RETRY_PAYMENT, idempotency_key)
        return self._drive(command)

    def reconcile(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Ask Centra whether the checkout's selection became an order; ``paid`` if it did.

        Settles an unknown payment outcome either way; raises ``OutcomeUnknown`` while Centra
        cannot say. A paid checkout is returned as stored, nothing asked.
        """
        return self._drive(self._reconcile_command(checkout_id, idempotency_key))

    def refresh_order(self, checkout_id: str) -> Checkout:
        """Read a paid checkout's order again (its status changed: a webhook said so).

        Records a transition only when the order changed. Raises ``OutcomeUnknown`` when
        Centra does not answer the order.
        """
        return self._drive(self._refresh_order(checkout_id))

    def cancel(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Cancel before paying."""
        return self._drive(self._without_call_command(checkout_id, Event.CANCEL, idempotency_key))

    def expire(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """Expire an abandoned checkout before paying."""
        return self._drive(self._without_call_command(checkout_id, Event.EXPIRE, idempotency_key))

    def erase(self, checkout_id: str) -> Checkout:
        """Remove the shopper's personal data from the checkout and its idempotency records.

        The order number, items, totals, states and history stay; the state does not change
        (a checkout erased before it was paid cannot be paid with the erased details). A
        payment call in flight is waited for, as a second payment caller waits. Raises
        ``CheckoutNotFound``, ``ClaimTimeout`` (a payment call still in flight: erase again),
        ``ConcurrencyConflict`` (saved meanwhile: erase again).
        """
        return self._drive(self._erase(checkout_id))


class AsyncCheckoutService(_Service):
    """``CheckoutService`` for asyncio callers: the same methods and errors, awaited.

    Centra calls go through an ``AsyncTransport`` and the store is an ``AsyncStore``, so no
    method ever blocks the event loop; ``on_transition`` subscribers may be plain callables or
    coroutine functions.
    """

    def __init__(
        self,
        *,
        transport: AsyncTransport,
        store: AsyncStore,
        clock: Clock | None = None,
        settings: ServiceSettings | None = None,
        on_transition: Subscriber | Iterable[Subscriber] | None = None,
    ):
        super().__init__(store, clock, settings, on_transition)
        self.transport = transport
        self.store = store

    async def _drive(self, command: Command) -> Checkout:
        answer: Any = None
        error: BaseException | None = None
        aborted: BaseException | None = None
        while True:
            try:
                effect = command.send(answer) if error is None else command.throw(error)
            except StopIteration as done:
                if aborted is not None:
                    raise aborted from None  # a command never swallows it; if one did
                result: Checkout = done.value
                return result
            except BaseException as failed:
                if aborted is not None and failed is not aborted:
                    raise aborted from failed  # its clean-up failed: what stopped it stands
                if isinstance(failed, OutcomeUnknown | ClaimTimeout):
                    _warn(failed)
                raise
            answer, error = None, None
            try:
                if isinstance(effect, Stored):
                    answer = await effect.act(self.store)
                elif isinstance(effect, Commit):
                    answer = await effect.act(self.store)
                    for told in self._committed(answer):
                        await self._await_subscriber(told, answer)
                elif isinstance(effect, Sleep):
                    await self._sleep(effect.seconds)
                else:
                    answer = await self.transport.send(effect)
            except OrderflowError as raised:  # handed to the command, which decides
                error = raised
            except Exception as raised:
                error = _foreign(effect, raised)
            except BaseException as raised:
                # Cancelled or interrupted: the command still gives up its claim (its marker
                # stays), then this is raised. Left to the garbage collector, it could not.
                error = aborted = raised

    @staticmethod
    async def _await_subscriber(told: Any, checkout: Checkout) -> None:
        try:
            await told
        except Exception:  # a subscriber's failure never breaks the flow
            log.exception("a subscriber failed on checkout %s", checkout.id)

    async def _sleep(self, seconds: float) -> None:
        import asyncio  # here, not at import: ``import orderflow`` stays cheap

        if isinstance(self.clock, SystemClock):
            await asyncio.sleep(seconds)
        elif isinstance(self.clock, ManualClock):  # the test clock advances; let others run
            self.clock.sleep(seconds)
            await asyncio.sleep(0)
        else:  # a clock of the service's own may block: never the event loop
            await asyncio.to_thread(self.clock.sleep, seconds)

    async def get(self, checkout_id: str) -> Checkout:
        """See ``CheckoutService.get``."""
        return await self._drive(self._load(checkout_id))

    async def open(
        self, checkout_id: str | None = None, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.open``."""
        return await self._drive(self._open_command(checkout_id, idempotency_key))

    async def add_item(
        self, checkout_id: str, item: str, quantity: int = 1, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.add_item``."""
        command = self._add_item_command(checkout_id, item, quantity, idempotency_key)
        return await self._drive(command)

    async def set_quantity(
        self, checkout_id: str, line: str, quantity: int, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.set_quantity``."""
        command = self._set_quantity_command(checkout_id, line, quantity, idempotency_key)
        return await self._drive(command)

    async def remove_line(
        self, checkout_id: str, line: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.remove_line``."""
        return await self._drive(self._remove_line_command(checkout_id, line, idempotency_key))

    async def apply_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.apply_voucher``."""
        return await self._drive(self._apply_voucher_command(checkout_id, code, idempotency_key))

    async def remove_voucher(
        self, checkout_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.remove_voucher``."""
        return await self._drive(self._remove_voucher_command(checkout_id, code, idempotency_key))

    async def set_country(
        self, checkout_id: str, country: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.set_country``."""
        return await self._drive(self._set_country_command(checkout_id, country, idempotency_key))

    async def confirm(
        self, checkout_id: str, details: PaymentRequest, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.confirm``."""
        return await self._drive(self._confirm_command(checkout_id, details, idempotency_key))

    async def reopen(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.reopen``."""
        command = self._without_call_command(checkout_id, Event.REOPEN, idempotency_key)
        return await self._drive(command)

    async def start_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.start_payment``."""
        return await self._drive(self._start_payment_command(checkout_id, idempotency_key))

    async def complete_payment(
        self, checkout_id: str, fields: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.complete_payment``."""
        command = self._complete_payment_command(checkout_id, fields, idempotency_key)
        return await self._drive(command)

    async def fail_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.fail_payment``."""
        command = self._without_call_command(checkout_id, Event.FAIL_PAYMENT, idempotency_key)
        return await self._drive(command)

    async def retry_payment(
        self, checkout_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        """See ``CheckoutService.retry_payment``."""
        command = self._without_call_command(checkout_id, Event.RETRY_PAYMENT, idempotency_key)
        return await self._drive(command)

    async def reconcile(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.reconcile``."""
        return await self._drive(self._reconcile_command(checkout_id, idempotency_key))

    async def refresh_order(self, checkout_id: str) -> Checkout:
        """See ``CheckoutService.refresh_order``."""
        return await self._drive(self._refresh_order(checkout_id))

    async def cancel(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.cancel``."""
        command = self._without_call_command(checkout_id, Event.CANCEL, idempotency_key)
        return await self._drive(command)

    async def expire(self, checkout_id: str, *, idempotency_key: str | None = None) -> Checkout:
        """See ``CheckoutService.expire``."""
        command = self._without_call_command(checkout_id, Event.EXPIRE, idempotency_key)
        return await self._drive(command)

    async def erase(self, checkout_id: str) -> Checkout:
        """See ``CheckoutService.erase``."""
        return await self._drive(self._erase(checkout_id))


__all__ = ["AsyncCheckoutService", "CheckoutService", "ServiceSettings", "Subscriber"]
