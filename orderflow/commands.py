"""The commands of the checkout service, written once for the sync and the async service.

Each command is written once, as a generator that yields the Centra calls it needs
(``Call``) and the waits it makes (``Sleep``); ``CheckoutService`` runs those effects
directly and ``AsyncCheckoutService`` awaits them. The store and the clock are local and
called directly by both.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Generator, Mapping
from datetime import timedelta
from typing import Any

import attrs

from orderflow import codec, flow
from orderflow.checkout import Checkout
from orderflow.clock import SystemClock
from orderflow.errors import (
    CentraError,
    CentraUnavailable,
    ClaimTimeout,
    ConcurrencyConflict,
    GuardRefused,
    IdempotencyKeyReused,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
)
from orderflow.flow import Event, State, TransitionRecord
from orderflow.payment import (
    FailedAction,
    PaymentAction,
    PaymentRequest,
    SuccessAction,
)
from orderflow.ports import Clock, IdempotencyRecord, Store
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

_CENTRA_FAILURES = (CentraError, CentraUnavailable, OutcomeUnknown, PayloadError)
"""What a read-back may fail with and still be answered; anything else is a bug to surface."""

START_PAYMENT_CALL = "start_payment"
PAYMENT_RESULT_CALL = "payment_result"


@attrs.frozen
class Call:
    """A Centra call a command needs: ``Transport.<method>(*args)``."""

    method: str
    args: tuple[Any, ...]


@attrs.frozen
class Sleep:
    """A wait a command makes (polling for another caller's payment result)."""

    seconds: float


Effect = Call | Sleep
Command = Generator[Effect, Any, Checkout]


@attrs.frozen
class ServiceSettings:
    """Tunables of the service, with defaults for a storefront.

    ``claim_lease``: how long a payment-result claim lasts before another caller may resume;
    longer than the transport's payment timeout. ``claim_wait``: how long a second caller
    waits for the first one's outcome before ``ClaimTimeout``. ``claim_poll``: how often it
    looks. ``idempotency_ttl``: how long an idempotency key's first result is kept.
    ``save_retries``: how often an outcome Centra already acted on is re-applied to a
    checkout that changed underneath.
    """

    claim_lease: timedelta = timedelta(seconds=60)
    claim_wait: timedelta = timedelta(seconds=35)
    claim_poll: float = 0.05
    idempotency_ttl: timedelta = timedelta(hours=24)
    save_retries: int = 5


class CheckoutCommands:
    """The commands, written once. Subclasses run their effects (sync or async)."""

    def __init__(self, store: Store, clock: Clock | None, settings: ServiceSettings | None):
        self.store = store
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.settings = settings if settings is not None else ServiceSettings()

    # --- reading ----------------------------------------------------------------------------

    def get(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        return self.store.load(checkout_id)

    # --- building blocks --------------------------------------------------------------------

    def _fire(
        self, checkout: Checkout, event: Event, dest: State, detail: str = "", **changes: Any
    ) -> Checkout:
        # One copy per step: the transition, the changes and the version the store will check.
        now = self.clock.now()
        return flow.fire(
            checkout,
            event,
            dest,
            now,
            detail,
            updated_at=now,
            version=checkout.version + 1,
            **changes,
        )

    def _save(self, checkout: Checkout, expected_version: int) -> Checkout:
        return self.store.save(checkout, expected_version)

    def _settle(self, checkout_id: str, event: Event, outcome: _Outcome) -> Checkout:
        """Apply an outcome Centra already acted on, re-reading the checkout on a conflict.

        A paid checkout already holds its order and is returned as it is; so is one the outcome
        does not apply to (``outcome.only_from``). Anything else the table refuses (say, an
        order for a checkout cancelled meanwhile) raises ``EventNotAllowed`` rather than
        dropping Centra's answer, which must never be lost to a stale version either.
        """
        for _ in range(self.settings.save_retries):
            current = self.store.load(checkout_id)
            if current.state is State.PAID or outcome.only_from not in (None, current.state):
                return current
            moved = self._fire(current, event, outcome.dest, outcome.detail, **outcome.changes)
            try:
                return self._save(moved, current.version)
            except ConcurrencyConflict:
                continue
        current = self.store.load(checkout_id)
        raise ConcurrencyConflict(checkout_id, current.version, current.version)

    # --- the commands -----------------------------------------------------------------------

    def _open(self, checkout_id: str | None) -> Command:
        cart: SelectionResponse = yield Call("create_selection", ())
        now = self.clock.now()
        checkout = Checkout(
            id=checkout_id or uuid.uuid4().hex,
            state=flow.INITIAL,
            created_at=now,
            updated_at=now,
            selection_id=cart.selection_id,
            token=cart.token,
            cart=cart,
            history=(TransitionRecord(Event.OPEN, None, flow.INITIAL, now),),
            version=1,
        )
        return self._save(checkout, 0)

    def _cart_change(
        self, checkout_id: str, event: Event, params: Mapping[str, Any], args: tuple[Any, ...]
    ) -> Command:
        checkout = self.store.load(checkout_id)
        flow.check(checkout, event, params)
        try:
            cart: SelectionResponse = yield Call(event.value, (checkout.selection_id, *args))
        except (CentraUnavailable, OutcomeUnknown) as lost:
            cart = yield from self._read_back(checkout, lost)
        changed = self._fire(checkout, event, State.SELECTION, cart=cart, token=cart.token)
        return self._save(changed, checkout.version)

    def _read_back(
        self, checkout: Checkout, lost: CentraUnavailable | OutcomeUnknown
    ) -> Generator[Effect, Any, SelectionResponse]:
        """After a cart call lost its answer, Centra's cart if the change was made there.

        A retry of an ``add_item`` whose answer was lost would add the item twice, so the
        selection is read back: a cart that differs from the stored one means the change
        happened (the event completes); an unchanged or unreadable one re-raises ``lost``.
        """
        try:
            cart: SelectionResponse = yield Call("read_selection", (checkout.selection_id,))
        except _CENTRA_FAILURES:
            raise lost from None
        if cart == checkout.cart:
            raise lost
        return cart

    def _confirm(self, checkout_id: str, details: PaymentRequest) -> Command:
        checkout = self.store.load(checkout_id)
        flow.check(checkout, Event.CONFIRM, {"details": details})
        cart: SelectionResponse = yield Call(
            "set_checkout_fields", (checkout.selection_id, details)
        )
        # Centra re-prices and re-checks shipping for the address just sent.
        refusal = flow.ships_to(cart)
        if refusal is not None:
            raise GuardRefused(Event.CONFIRM, [refusal])
        confirmed = self._fire(checkout, Event.CONFIRM, State.CONFIRMED, cart=cart, details=details)
        return self._save(confirmed, checkout.version)

    def _without_effect(self, checkout_id: str, event: Event, dest: State) -> Command:
        checkout = self.store.load(checkout_id)
        flow.check(checkout, event)
        return self._save(self._fire(checkout, event, dest), checkout.version)
        yield  # a generator like every command, though it calls nothing

    def _start_payment(self, checkout_id: str) -> Command:
        checkout = self.store.load(checkout_id)
        flow.check(checkout, Event.START_PAYMENT)
        assert checkout.details is not None  # confirm stored them
        request = attrs.evolve(checkout.details, selection=checkout.selection_id)
        try:
            action: PaymentAction = yield Call(START_PAYMENT_CALL, (checkout.selection_id, request))
        except OutOfStock as error:
            back = self._fire(
                checkout,
                Event.START_PAYMENT,
                State.SELECTION,
                _out_of_stock(error),
                cart=error.selection or checkout.cart,
                last_error=str(error),
            )
            return self._save(back, checkout.version)
        except OutcomeUnknown as error:
            # Centra may have started the payment (or even taken it); reconcile finds out.
            unknown = self._fire(
                checkout,
                Event.START_PAYMENT,
                State.PAYMENT_PENDING,
                "outcome unknown",
                outcome_unknown=START_PAYMENT_CALL,
                last_error=str(error),
            )
            self._save(unknown, checkout.version)
            raise
        if isinstance(action, SuccessAction):
            after = self._fire(
                checkout,
                Event.START_PAYMENT,
                State.PAID,
                f"order {action.receipt.order}",
                receipt=action.receipt,
                payment_action=action,
                last_error=None,
            )
        elif isinstance(action, FailedAction):
            reason = _reasons(action.errors)
            after = self._fire(
                checkout,
                Event.START_PAYMENT,
                State.PAYMENT_FAILED,
                f"failed: {reason}",
                payment_action=action,
                last_error=reason,
            )
        else:
            after = self._fire(
                checkout,
                Event.START_PAYMENT,
                State.PAYMENT_PENDING,
                f"action {action.kind}",
                payment_action=action,
                last_error=None,
            )
        return self._save(after, checkout.version)

    def _claimed(self, checkout_id: str, owner: str) -> Generator[Effect, Any, Checkout | None]:
        """Take the payment-result claim, waiting for another holder's outcome if needed.

        Returns the checkout once this caller holds the claim, or ``None`` if it became paid
        meanwhile (the caller then returns the stored receipt). Raises ``ClaimTimeout``.
        """
        settings = self.settings
        started = self.clock.now()
        while True:
            now = self.clock.now()
            claim = self.store.acquire_claim(checkout_id, owner, now, settings.claim_lease)
            if claim.owner == owner:
                return self.store.load(checkout_id)
            if now - started >= settings.claim_wait:
                raise ClaimTimeout(checkout_id, (now - started).total_seconds())
            yield Sleep(settings.claim_poll)
            if self.store.load(checkout_id).state is State.PAID:
                return None

    def _complete_payment(self, checkout_id: str, fields: Mapping[str, str]) -> Command:
        checkout = self.store.load(checkout_id)
        if checkout.state is State.PAID:
            return checkout
        flow.check(checkout, Event.COMPLETE_PAYMENT)
        owner = uuid.uuid4().hex
        held = yield from self._claimed(checkout_id, owner)
        if held is None:
            return self.store.load(checkout_id)
        try:
            return (yield from self._complete_claimed(held, dict(fields)))
        finally:
            self.store.release_claim(checkout_id, owner)

    def _complete_claimed(self, checkout: Checkout, fields: dict[str, str]) -> Command:
        if checkout.state is State.PAID:
            return checkout
        flow.check(checkout, Event.COMPLETE_PAYMENT)
        if checkout.outcome_unknown is not None:
            # A caller died or lost the answer mid-call: ask Centra before calling again.
            receipt: Receipt | None = yield Call("read_receipt", (checkout.selection_id,))
            if receipt is not None:
                return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _paid_by(receipt))
        elif checkout.state is State.PAYMENT_FAILED and checkout.payment_fields == fields:
            # The same answer again (a double click after a decline): the first result stands.
            return checkout
        # Write ahead: a crash from here on leaves the marker, and the next caller asks first.
        checkout = self._save(
            attrs.evolve(
                checkout,
                outcome_unknown=PAYMENT_RESULT_CALL,
                payment_fields=fields,
                version=checkout.version + 1,
            ),
            checkout.version,
        )
        try:
            answer: Receipt | PaymentAction = yield Call(
                PAYMENT_RESULT_CALL, (checkout.selection_id, fields)
            )
        except OutOfStock as error:
            return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _back_to_cart(error))
        except CentraError as error:
            # A refusal can also mean the selection already is an order (a late success, or a
            # call Centra took before): money taken must become an order, so look first.
            receipt = yield from self._receipt_if_any(checkout)
            if receipt is not None:
                return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _paid_by(receipt))
            return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _declined(error))
        # Anything else (no answer, a 5xx, a malformed answer) keeps the marker: Centra may
        # have made the order, so the next attempt reads the receipt before calling again.
        if isinstance(answer, Receipt):
            return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _paid_by(answer))
        return self._settle(checkout.id, Event.COMPLETE_PAYMENT, _new_action(answer))

    def _receipt_if_any(self, checkout: Checkout) -> Generator[Effect, Any, Receipt | None]:
        """Centra's receipt for the checkout's selection, or None (also when unreadable)."""
        try:
            receipt: Receipt | None = yield Call("read_receipt", (checkout.selection_id,))
        except _CENTRA_FAILURES:
            return None
        return receipt

    def _reconcile(self, checkout_id: str) -> Command:
        checkout = self.store.load(checkout_id)
        flow.check(checkout, Event.RECONCILE)
        owner = uuid.uuid4().hex
        held = yield from self._claimed(checkout_id, owner)
        if held is None:
            return self.store.load(checkout_id)
        try:
            flow.check(held, Event.RECONCILE)
            receipt: Receipt | None = yield Call("read_receipt", (held.selection_id,))
            if receipt is not None:
                return self._settle(checkout_id, Event.RECONCILE, _paid_by(receipt))
            return self._settle(checkout_id, Event.RECONCILE, _STILL_PENDING)
        finally:
            self.store.release_claim(checkout_id, owner)

    # --- idempotency ------------------------------------------------------------------------

    def _recall(
        self, key: str, command: str, params: Mapping[str, Any]
    ) -> tuple[str, Checkout | None]:
        fingerprint = _fingerprint(command, params)
        record = self.store.recall(key, self.clock.now())
        if record is None:
            return fingerprint, None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key, command)
        return fingerprint, codec.loads(record.result, Checkout, source=f"idempotency key {key!r}")

    def _remember(self, key: str, fingerprint: str, result: Checkout) -> Checkout:
        now = self.clock.now()
        record = IdempotencyRecord(
            key, fingerprint, codec.dumps(result), now + self.settings.idempotency_ttl
        )
        kept = self.store.remember(record, now)
        if kept.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key, "command")
        if kept.result == record.result:
            return result
        return codec.loads(kept.result, Checkout, source=f"idempotency key {key!r}")


# --- outcomes applied by _settle ------------------------------------------------------------


@attrs.frozen
class _Outcome:
    """Where Centra's answer takes a checkout: the destination, a detail, the fields it sets."""

    dest: State
    detail: str
    changes: dict[str, Any]
    only_from: State | None = None


def _paid_by(receipt: Receipt) -> _Outcome:
    changes = {"receipt": receipt, "outcome_unknown": None, "last_error": None}
    return _Outcome(State.PAID, f"order {receipt.order}", changes)


def _declined(error: CentraError) -> _Outcome:
    reason = _reasons(error.errors) or error.message or f"status {error.status}"
    changes = {"outcome_unknown": None, "last_error": reason}
    return _Outcome(State.PAYMENT_FAILED, f"declined: {reason}", changes)


def _back_to_cart(error: OutOfStock) -> _Outcome:
    changes: dict[str, Any] = {"outcome_unknown": None, "last_error": str(error)}
    if error.selection is not None:
        changes["cart"] = error.selection
    return _Outcome(State.SELECTION, _out_of_stock(error), changes)


def _new_action(action: PaymentAction) -> _Outcome:
    changes = {"payment_action": action, "outcome_unknown": None}
    return _Outcome(State.PAYMENT_PENDING, f"action {action.kind}", changes)


_STILL_PENDING = _Outcome(
    State.PAYMENT_PENDING,
    "no order at Centra yet",
    {"outcome_unknown": None},
    only_from=State.PAYMENT_PENDING,
)


def _reasons(errors: Mapping[str, str]) -> str:
    return ", ".join(f"{field} {message}" for field, message in errors.items())


def _out_of_stock(error: OutOfStock) -> str:
    items = ", ".join(f"{u.item} ({u.unavailable} unavailable)" for u in error.unavailable)
    return f"out of stock: {items}" if items else "out of stock"


def _fingerprint(command: str, params: Mapping[str, Any]) -> str:
    canonical = codec.dumps({"command": command, "params": codec.unstructure(dict(params))})
    return hashlib.sha256(canonical.encode()).hexdigest()
