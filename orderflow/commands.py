"""The commands of the checkout service, written once for the sync and the async service.

Each command is a generator that yields its effects: the Centra calls it makes (``Call``
values), the store operations (``Stored``) and the waits (``Sleep``). ``CheckoutService`` runs
them directly and ``AsyncCheckoutService`` awaits them, so neither ever blocks the other's
way of waiting. The flow table decides every destination: a command classifies Centra's answer
(``AnswerKind``) and looks up where it leads.

Every call that moves money goes through one gate (``_pay``): claim the checkout, write the
marker that its outcome is unknown, make the call, settle the answer, release. Anything but a
definitive answer keeps the marker; the next payment call or ``reconcile`` asks Centra
(``ReadSelection``) before anything is called again, and every other event is refused while it
is set (``PaymentInFlight``). With a store that takes the gate's steps in one call each
(``GateStore``), taking the claim and writing the marker are one atomic write, and settling
releases the claim: a payment step is two store calls where nothing interferes (measured on
PostgreSQL: 2 round trips, where the separate calls took 9).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Generator, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from orderflow import codec, flow, limits, personal
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    Call,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    RemoveLine,
    RemoveVoucher,
    SetCheckoutFields,
    SetCountry,
    SetQuantity,
    StartPayment,
)
from orderflow.checkout import Checkout
from orderflow.clock import SystemClock
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    CheckoutNotFound,
    ClaimTimeout,
    ConcurrencyConflict,
    GuardRefused,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    OrderflowError,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
    PaymentInFlight,
)
from orderflow.flow import AnswerKind, Event, State, TransitionRecord
from orderflow.payment import FailedAction, PaymentAction, PaymentRequest, SuccessAction
from orderflow.ports import ClaimedSave, Clock, IdempotencyRecord
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse


@attrs.frozen
class Sleep:
    """A wait a command makes (polling for another caller's outcome)."""

    seconds: float


@attrs.frozen
class Stored:
    """A store operation a command makes: ``act(store)`` (awaited by the async service)."""

    act: Callable[[Any], Any]


@attrs.frozen
class Commit:
    """Save a checkout whose last history entry is a new transition; the service tells its
    subscribers once the save succeeded. ``release``: the owner whose payment claim the same
    store call gives up (``GateStore.save_and_release``)."""

    checkout: Checkout
    expected_version: int
    release: str | None = None

    def act(self, store: Any) -> Any:
        """The store call that makes it (awaited by the async service)."""
        if self.release is None:
            return store.save(self.checkout, self.expected_version)
        return store.save_and_release(self.checkout, self.expected_version, self.release)


Effect = Call[Any] | Stored | Commit | Sleep
Command = Generator[Effect, Any, Checkout]


@attrs.frozen
class ServiceSettings:
    """Tunables of the service, with defaults for a storefront.

    ``claim_lease``: how long a payment claim (and an idempotency key's reservation) lasts
    before another caller may take over; keep it longer than a transport's total deadline per
    call (the HTTP clients' default is 30 s). ``claim_wait``: how long a second caller waits
    for the first one's outcome before ``ClaimTimeout`` or ``IdempotencyKeyInFlight``.
    ``claim_poll``: how often it looks. ``idempotency_ttl``: how long an idempotency key's
    result is kept. ``save_retries``: how often an outcome Centra already acted on is
    re-applied to a checkout that changed underneath.
    """

    claim_lease: timedelta = timedelta(seconds=60)
    claim_wait: timedelta = timedelta(seconds=35)
    claim_poll: float = 0.05
    idempotency_ttl: timedelta = timedelta(hours=24)
    save_retries: int = 5


@attrs.frozen
class _Outcome:
    """Where an answer takes a checkout: its kind (the table says where that leads), a detail
    for the history, and the fields it sets."""

    kind: AnswerKind
    detail: str
    changes: dict[str, Any] = attrs.field(factory=dict)


class _Held:
    """A payment claim a command takes: its owner, and whether a save gave it up already."""

    __slots__ = ("owner", "released")

    def __init__(self) -> None:
        self.owner = os.urandom(16).hex()  # as unique as a uuid4, at a fraction of its cost
        self.released = False


GATE_STEPS = ("recent", "claim_and_save", "save_and_release")
"""The ``GateStore`` methods, beyond ``Store``'s."""

_STOOD_FOR = ("load", "save", "acquire_claim", "release_claim")
"""The ``Store`` methods the gate steps take the place of."""


def takes_gate_steps(store: object) -> bool:
    """Whether the service may use ``store``'s ``GateStore`` steps: it has all of them, and
    none of the methods they take the place of is defined where the steps are not known.

    A wrapper that overrides ``acquire_claim`` (to count or fault claims) but forwards the
    rest through ``__getattr__`` gets the separate calls, so it still sees every claim; one
    that only forwards, or a store whose class defines both, gets the steps.
    """
    kind = type(store)
    verdict = _VERDICTS.get(kind)
    if verdict is None:
        verdict = _VERDICTS.setdefault(kind, _verdict(kind))
    if verdict is _Verdict.ASK_INSTANCE:  # a forwarder: does what it forwards to have them?
        return all(callable(getattr(store, name, None)) for name in GATE_STEPS)
    return verdict is _Verdict.TAKES


class _Verdict(enum.Enum):
    TAKES = enum.auto()
    REFUSES = enum.auto()
    ASK_INSTANCE = enum.auto()


_VERDICTS: dict[type, _Verdict] = {}
"""What each store class says (service instances are made per request: this is asked often)."""


def _verdict(kind: type) -> _Verdict:
    homes = [_defined_by(kind, step) for step in GATE_STEPS]
    for name in _STOOD_FOR:
        separate = _defined_by(kind, name)
        if separate is None:
            continue
        if any(home is None or separate not in home.__mro__ for home in homes):
            return _Verdict.REFUSES
    if all(home is not None for home in homes):
        return _Verdict.TAKES
    return _Verdict.ASK_INSTANCE


def _defined_by(kind: type, name: str) -> type | None:
    """The class in ``kind``'s MRO that defines ``name`` (``None``: only an instance has it)."""
    return next((base for base in kind.__mro__ if name in vars(base)), None)


class CheckoutCommands:
    """The commands, written once. Subclasses run their effects (sync or async).

    ``gate_steps``: whether the store is a ``GateStore`` (see ``takes_gate_steps``).
    """

    def __init__(
        self, clock: Clock | None, settings: ServiceSettings | None, *, gate_steps: bool = False
    ):
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.settings = settings if settings is not None else ServiceSettings()
        self._gate_steps = gate_steps

    # --- store effects -----------------------------------------------------------------------

    @staticmethod
    def _load(checkout_id: str) -> Command:
        if limits.text(checkout_id, "checkout", longest=limits.MAX_ID, required=True):
            raise CheckoutNotFound(checkout_id)
        checkout: Checkout = yield Stored(lambda store: store.load(checkout_id))
        return checkout

    @staticmethod
    def _save(checkout: Checkout, expected_version: int) -> Command:
        saved: Checkout = yield Stored(lambda store: store.save(checkout, expected_version))
        return saved

    def _commit(
        self, checkout: Checkout, expected_version: int, held: _Held | None = None
    ) -> Command:
        """Save a new transition; with a ``GateStore``, release ``held``'s claim in that call."""
        if held is None or not self._gate_steps:
            saved: Checkout = yield Commit(checkout, expected_version)
            return saved
        saved = yield Commit(checkout, expected_version, held.owner)
        held.released = True
        return saved

    # --- building blocks ---------------------------------------------------------------------

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

    def _lead(self, checkout: Checkout, event: Event, outcome: _Outcome) -> Checkout:
        dest = flow.lead(event, outcome.kind, checkout.state)
        return self._fire(checkout, event, dest, outcome.detail, **outcome.changes)

    def _settle(self, checkout: Checkout, event: Event, outcome: _Outcome, held: _Held) -> Command:
        """Apply an answer Centra already acted on to ``checkout`` (as stored when the claim
        holder last wrote or read it), re-reading it on a conflict; with a ``GateStore`` the
        save releases ``held``'s claim.

        Clears the marker. A paid checkout already holds its order and stays as it is. The
        answer must never be lost to a stale version, so a conflict re-reads and re-applies.
        """
        outcome = _Outcome(
            outcome.kind, outcome.detail, {"outcome_unknown": None, **outcome.changes}
        )
        current = checkout
        for _ in range(self.settings.save_retries):
            if current.state is State.PAID:
                return current
            if current is not checkout and checkout.outcome_unknown is not None:
                if outcome.kind is not AnswerKind.ORDER:
                    # Another caller moved the checkout on meanwhile (this one outlived its
                    # claim: nothing else writes a marked checkout): it settled this payment
                    # call, or wrote the marker of its own, whose outcome may be unknown and
                    # must stay for the next look-up. This stale answer changes nothing.
                    return current
                if outcome.kind is AnswerKind.ORDER and event not in flow.allowed_events(
                    current.state
                ):
                    # The order came after another caller moved the checkout on (a newer
                    # redirect, a decline): money taken is an order, kept as a reconcile would.
                    event = Event.RECONCILE
            try:
                settled = self._lead(current, event, outcome)
                return (yield from self._commit(settled, current.version, held))
            except ConcurrencyConflict:
                current = yield from self._load(checkout.id)
        raise ConcurrencyConflict(checkout.id, current.version, current.version)

    def _unmark(
        self, checkout: Checkout, refusal: OrderflowError, held: _Held, fields: Any
    ) -> Command:
        """Clear the marker of a payment call Centra did not act on: the checkout is as it was
        before the call (``fields``: its payment fields then), but for a session token the
        refusal carried; with a ``GateStore`` the save releases the claim."""
        cleared = attrs.evolve(
            checkout,
            outcome_unknown=None,
            payment_fields=fields,
            token=_token_of(refusal) or checkout.token,
            version=checkout.version + 1,
        )
        if not self._gate_steps:
            return (yield from self._save(cleared, checkout.version))
        version, owner = checkout.version, held.owner
        saved: Checkout = yield Stored(
            lambda store: store.save_and_release(cleared, version, owner)
        )
        held.released = True
        return saved

    def _keep_token(self, checkout: Checkout, refusal: OrderflowError) -> Command:
        """Store the session token a refusal carried (the checkout is otherwise unchanged), so
        the next call sends the newest; the stored checkout when there is none to keep."""
        return (yield from self._keep_newer_token(checkout, _token_of(refusal)))

    def _keep_newer_token(self, checkout: Checkout, token: str | None) -> Command:
        """Store ``token`` if it is a newer session token than the checkout's (the checkout is
        otherwise unchanged); the stored checkout when there is none to keep."""
        if token is None or token == checkout.token:
            return checkout
        kept = attrs.evolve(checkout, token=token, version=checkout.version + 1)
        return (yield from self._save(kept, checkout.version))

    # --- idempotency -------------------------------------------------------------------------

    def _idempotent(
        self,
        key: str | None,
        event: Event,
        params: Mapping[str, Any],
        checkout_id: str | None,
        command: Callable[[IdempotencyRecord | None], Command],
    ) -> Command:
        """Run ``command`` once per idempotency key: reserved before it acts, its result kept.

        A second caller with the key waits for the first one's result (``IdempotencyKeyInFlight``
        after ``claim_wait``); a caller that takes over a dead one's reservation runs the
        command with that record, so it resumes from what Centra holds. Other parameters with
        the key raise ``IdempotencyKeyReused``.
        """
        if key is None:  # the command itself: no generator around it for every effect
            return command(None)
        return self._keyed(key, event, params, checkout_id, command)

    def _keyed(
        self,
        key: str,
        event: Event,
        params: Mapping[str, Any],
        checkout_id: str | None,
        command: Callable[[IdempotencyRecord | None], Command],
    ) -> Command:
        refusal = limits.text(key, "idempotency_key", longest=limits.MAX_ID, required=True)
        if refusal is not None:
            raise GuardRefused(event, [refusal])
        target = checkout_id if event is not Event.OPEN else None
        fingerprint = _fingerprint(event, target, params)
        owner = _random_id()
        settings = self.settings
        started = self.clock.now()
        while True:
            now = self.clock.now()
            wanted = IdempotencyRecord(
                key,
                fingerprint,
                owner,
                lease_until=now + settings.claim_lease,
                expires_at=now + settings.idempotency_ttl,
                checkout_id=checkout_id,
            )
            record: IdempotencyRecord = yield _reserve(wanted, now)
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(key, event)
            if record.result is not None:
                return codec.loads(record.result, Checkout, source=f"idempotency key {key!r}")
            if record.owner == owner:
                break
            if now - started >= settings.claim_wait:
                raise IdempotencyKeyInFlight(key, (now - started).total_seconds())
            yield Sleep(settings.claim_poll)
        try:
            result = yield from command(record if record.attempt > 1 else None)
        except Exception:
            yield Stored(lambda store: store.abandon(key, owner))
            raise
        text = codec.dumps(result)
        yield Stored(lambda store: store.complete(key, owner, text))
        return result

    def _done_before(
        self, checkout: Checkout, event: Event, resumed: IdempotencyRecord | None
    ) -> bool:
        """Whether a dead caller of the same key already fired ``event`` on ``checkout``."""
        if resumed is None:
            return False
        first = resumed.expires_at - self.settings.idempotency_ttl
        return any(r.event is event and r.at >= first for r in reversed(checkout.history))

    # --- the commands ------------------------------------------------------------------------

    def _open(self, checkout_id: str | None, resumed: IdempotencyRecord | None) -> Command:
        if resumed is not None and resumed.checkout_id is not None:
            try:
                return (yield from self._load(resumed.checkout_id))
            except CheckoutNotFound:
                checkout_id = resumed.checkout_id
        refusal = limits.text(checkout_id, "checkout_id", longest=limits.MAX_ID)
        if refusal is not None:
            raise GuardRefused(Event.OPEN, [refusal])
        cart: SelectionResponse = yield CreateSelection()
        now = self.clock.now()
        checkout = Checkout(
            id=checkout_id or _random_id(),
            state=flow.INITIAL,
            created_at=now,
            updated_at=now,
            selection_id=cart.selection_id,
            token=cart.token,
            cart=cart,
            history=(TransitionRecord(Event.OPEN, None, flow.INITIAL, now),),
            version=1,
        )
        return (yield from self._commit(checkout, 0))

    def _cart_change(
        self,
        checkout_id: str,
        event: Event,
        params: Mapping[str, Any],
        build: Callable[[Checkout], Call[SelectionResponse]],
        resumed: IdempotencyRecord | None,
    ) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        if self._done_before(checkout, event, resumed):
            return checkout
        flow.check(checkout, event, params)
        cart: SelectionResponse | None = None
        if resumed is not None:  # a dead caller may have changed the cart at Centra
            cart = yield from self._changed_at_centra(checkout)
        if cart is None:
            try:
                cart = yield build(checkout)
            except (CentraUnavailable, OutcomeUnknown, PayloadError) as failed:
                cart = yield from self._changed_at_centra(checkout)
                if cart is None:
                    yield from self._keep_token(checkout, failed)
                    raise
            except CentraError as refused:
                yield from self._keep_token(checkout, refused)
                raise
        outcome = _Outcome(
            AnswerKind.CART, "", {"cart": cart, "token": cart.token or checkout.token}
        )
        return (yield from self._commit(self._lead(checkout, event, outcome), checkout.version))

    def _changed_at_centra(
        self, checkout: Checkout
    ) -> Generator[Effect, Any, SelectionResponse | None]:
        """Centra's cart if it differs from the stored one (a change reached Centra), else None.

        A cart call whose answer was lost (or came malformed) may have acted: repeating an
        ``add_item`` would add the item twice, so the selection is read back instead.
        """
        assert checkout.selection_id is not None
        try:
            now: SelectionResponse | Receipt = yield ReadSelection(
                checkout.selection_id, token=checkout.token
            )
        except (CentraError, CentraUnavailable, OutcomeUnknown, PayloadError):
            return None
        if not isinstance(now, SelectionResponse) or now == checkout.cart:
            return None
        return now

    def _confirm(
        self, checkout_id: str, details: PaymentRequest, resumed: IdempotencyRecord | None
    ) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        if self._done_before(checkout, Event.CONFIRM, resumed):
            return checkout
        flow.check(checkout, Event.CONFIRM, {"details": details})
        assert checkout.selection_id is not None
        try:
            cart: SelectionResponse = yield SetCheckoutFields(
                checkout.selection_id, details, token=checkout.token
            )
        except (CentraError, CentraUnavailable) as refused:
            yield from self._keep_token(checkout, refused)
            raise
        # Centra re-prices and re-checks shipping for the address just sent.
        refusal = flow.ships_to(cart)
        if refusal is not None:
            yield from self._keep_newer_token(checkout, cart.token)  # the answer's, newest
            raise GuardRefused(Event.CONFIRM, [refusal])
        # The details go to Centra once as they are; a password typed into them is never kept.
        kept = personal.without_credentials(details)
        changes = {"cart": cart, "token": cart.token or checkout.token, "details": kept}
        confirmed = self._lead(checkout, Event.CONFIRM, _Outcome(AnswerKind.CART, "", changes))
        return (yield from self._commit(confirmed, checkout.version))

    def _without_call(
        self, checkout_id: str, event: Event, resumed: IdempotencyRecord | None
    ) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        if self._done_before(checkout, event, resumed):
            return checkout
        flow.check(checkout, event)
        moved = self._lead(checkout, event, _Outcome(AnswerKind.DONE, ""))
        return (yield from self._commit(moved, checkout.version))

    # --- the money gate ----------------------------------------------------------------------

    def _start_payment(self, checkout_id: str, resumed: IdempotencyRecord | None = None) -> Command:
        def call(checkout: Checkout) -> StartPayment:
            assert checkout.details is not None and checkout.selection_id is not None
            request = attrs.evolve(checkout.details, selection=checkout.selection_id)
            return StartPayment(checkout.selection_id, request, token=checkout.token)

        return self._pay(checkout_id, Event.START_PAYMENT, {}, call, resumed)

    def _complete_payment(
        self,
        checkout_id: str,
        fields: Mapping[str, Any],
        resumed: IdempotencyRecord | None = None,
    ) -> Command:
        fields = dict(fields)

        def call(checkout: Checkout) -> PaymentResult:
            assert checkout.selection_id is not None
            return PaymentResult(checkout.selection_id, fields, token=checkout.token)

        return self._pay(checkout_id, Event.COMPLETE_PAYMENT, {"fields": fields}, call, resumed)

    def _pay(
        self,
        checkout_id: str,
        event: Event,
        params: Mapping[str, Any],
        build: Callable[[Checkout], StartPayment | PaymentResult],
        resumed: IdempotencyRecord | None = None,
    ) -> Command:
        """The money gate: claim, look first if a marker is set, write the marker, call, settle.

        ``resumed``: the record of an idempotency key whose caller died; if that caller's call
        was settled (the event is in the history since, and the payment fields last posted are
        this request's), its result stands: nothing is sent.

        With a ``GateStore``, the checkout the store last saw is the base while it passes every
        check, and the claim and the marker are one write that saves nothing if the stored
        checkout changed since; the gate then decides again on the stored one, holding the
        claim. Anything but an immediate call (a replay, a refusal, a marker to look up) is
        decided on the stored checkout.
        """
        checkout: Checkout | None = None
        if self._gate_steps and resumed is None:
            checkout = yield Stored(lambda store: store.recent(checkout_id))
            if checkout is not None and not self._calls_at_once(checkout, event, params):
                checkout = None
        if checkout is None:
            checkout = yield from self._load(checkout_id)
            if checkout.state is State.PAID:
                return checkout  # a replay: the stored receipt, nothing called
            if self._paid_before(checkout, event, params, resumed):
                return checkout  # a dead caller of the same key was answered: its result
            flow.check(checkout, event, params)
        call: StartPayment | PaymentResult | None = None
        marked: Checkout | None = None
        if self._gate_steps and _calls(checkout, event, params):
            call = build(checkout)
            marked = self._marked(checkout, call, params)

        def then(held: _Held, saved: Checkout | None) -> Command:
            if saved is None or call is None:
                return self._gated(checkout_id, event, params, build, held)
            return self._call_and_settle(saved, call, event, held, checkout.payment_fields)

        return (yield from self._claimed(checkout_id, then, marked, checkout.version))

    def _paid_before(
        self,
        checkout: Checkout,
        event: Event,
        params: Mapping[str, Any],
        resumed: IdempotencyRecord | None,
    ) -> bool:
        """Whether a dead caller of the same key made this payment call and it was settled:
        the event is in the history since, and the fields last posted are this request's (a
        caller that died before posting its own leaves another's there)."""
        fields = params.get("fields", checkout.payment_fields)
        return self._done_before(checkout, event, resumed) and checkout.payment_fields == fields

    def _calls_at_once(self, checkout: Checkout, event: Event, params: Mapping[str, Any]) -> bool:
        """Whether the gate calls Centra at once on ``checkout``: not paid, the event allowed,
        no marker to look up first, not the same declined answer again."""
        if checkout.state is State.PAID or not _calls(checkout, event, params):
            return False
        try:
            flow.check(checkout, event, params)
        except OrderflowError:
            return False
        return True

    @staticmethod
    def _marked(
        checkout: Checkout, call: StartPayment | PaymentResult, params: Mapping[str, Any]
    ) -> Checkout:
        # Write ahead: a crash from the save on leaves the marker, and the next caller asks first.
        fields = params.get("fields")
        return attrs.evolve(
            checkout,
            outcome_unknown=call.kind,
            payment_fields=fields if fields is not None else checkout.payment_fields,
            version=checkout.version + 1,
        )

    def _gated(
        self,
        checkout_id: str,
        event: Event,
        params: Mapping[str, Any],
        build: Callable[[Checkout], StartPayment | PaymentResult],
        held: _Held,
    ) -> Command:
        """The gate holding the claim, no marker written yet: decide on the stored checkout."""
        checkout: Checkout = yield from self._load(checkout_id)
        if checkout.state is State.PAID:
            return checkout
        flow.check(checkout, event, params)
        looked_up = checkout.outcome_unknown is not None
        if looked_up:
            # A caller died or lost the answer mid-call: ask Centra before calling again.
            found = yield from self._look_up(checkout)
            if isinstance(found, Receipt):
                return (yield from self._settle(checkout, event, _paid_by(found), held))
            if found is None:
                raise OutcomeUnknown(
                    str(checkout.outcome_unknown),
                    "Centra could not say whether it became an order; nothing was sent again",
                )
            if found.token is not None:  # the call that follows sends the newest token
                checkout = attrs.evolve(checkout, token=found.token)
        elif _declined_again(checkout, event, params):
            # The same answer again (a double click after a decline): the first result stands.
            return checkout
        call = build(checkout)
        marked = yield from self._mark(checkout, event, call, params, held, renew=looked_up)
        before = _settled_fields(checkout)  # a refusal leaves the fields a decline stands by
        return (yield from self._call_and_settle(marked, call, event, held, before))

    def _mark(
        self,
        checkout: Checkout,
        event: Event,
        call: StartPayment | PaymentResult,
        params: Mapping[str, Any],
        held: _Held,
        *,
        renew: bool,
    ) -> Command:
        """Write the marker, renewing the claim for the money call that follows: in one store
        step where the store offers it, else (``renew``: after a look-up, which may have used
        up much of the lease) as a step of its own. The call must not outlive the claim, or
        another caller would call too."""
        marked = self._marked(checkout, call, params)
        if not self._gate_steps and not renew:
            return (yield from self._save(marked, checkout.version))
        now, lease = self.clock.now(), self.settings.claim_lease
        saved: Checkout | None = None
        if self._gate_steps:
            taken: ClaimedSave = yield _claim_and_save(
                marked, checkout.version, held.owner, now, lease
            )
            claim, saved = taken.claim, taken.saved
        else:
            claim = yield _acquire(checkout.id, held.owner, now, lease)
        if claim.owner != held.owner:  # the lease ran out and another caller holds it now
            raise PaymentInFlight(checkout.id, event, call.kind)
        if saved is None and self._gate_steps:  # stored meanwhile by a caller that held it
            raise ConcurrencyConflict(checkout.id, checkout.version, None)
        if saved is None:
            saved = yield from self._save(marked, checkout.version)
        return saved

    def _call_and_settle(
        self,
        marked: Checkout,
        call: StartPayment | PaymentResult,
        event: Event,
        held: _Held,
        fields: Any,
    ) -> Command:
        """Make the money call whose marker ``marked`` is stored, and settle its answer;
        ``fields`` are the checkout's payment fields before the marker was written."""
        try:
            answer: PaymentAction | Receipt = yield call
        except OutOfStock as error:
            return (yield from self._settle(marked, event, _back_to_cart(error), held))
        except (AuthenticationFailed, CentraUnavailable) as refused:
            # Centra did not act (unauthorised, busy, unreachable): nothing to settle.
            yield from self._unmark(marked, refused, held, fields)
            raise
        except CentraError as error:
            if event is Event.START_PAYMENT:  # a refused request (fields): no payment started
                yield from self._unmark(marked, error, held, fields)
                raise
            # A refusal can also mean the selection already is an order (a late success, or a
            # call Centra took before): money taken must become an order, so look first.
            found = yield from self._look_up(marked)
            if isinstance(found, Receipt):
                return (yield from self._settle(marked, event, _paid_by(found), held))
            if found is None:  # Centra could not say: the refusal may hide an order
                raise OutcomeUnknown(
                    call.label, f"{error}; the selection could not be read to tell"
                ) from error
            return (yield from self._settle(marked, event, _declined(error, found.token), held))
        except OrderflowError as error:
            # No definitive answer: the marker stays, and the next attempt asks Centra first.
            if isinstance(error, OutcomeUnknown):
                raise
            raise OutcomeUnknown(call.label, str(error)) from error
        return (yield from self._settle(marked, event, _answered(answer), held))

    def _look_up(
        self, checkout: Checkout
    ) -> Generator[Effect, Any, SelectionResponse | Receipt | None]:
        """Centra's receipt if the selection became an order, its cart if not, else ``None``.

        ``None`` means Centra could not say (unreachable, an error, an answer that does not
        decode): the outcome stays unknown. So does a selection without one line, when the
        checkout's had lines: a dialect that names the selection by its session's token is
        answered an empty new session once Centra no longer knows the token (it expired while
        the shopper was at the provider), which says nothing of the selection paid for.
        """
        assert checkout.selection_id is not None
        try:
            found: SelectionResponse | Receipt = yield ReadSelection(
                checkout.selection_id, token=checkout.token
            )
        except OrderflowError:
            return None
        if isinstance(found, SelectionResponse) and not found.selection.items and checkout.items:
            return None
        return found

    def _claimed(
        self,
        checkout_id: str,
        then: Callable[[_Held, Checkout | None], Command],
        marked: Checkout | None = None,
        expected_version: int = 0,
        *,
        until_paid: bool = True,
    ) -> Command:
        """Run ``then`` holding the checkout's payment claim, waiting for another holder first.

        With a ``GateStore``, the first attempt also saves ``marked`` in place of the stored
        checkout at ``expected_version`` if it is unchanged; ``then`` gets the claim and the
        checkout saved (``None``: nothing saved). Returns the stored checkout without running
        ``then`` if it became paid meanwhile (``until_paid``). Raises ``ClaimTimeout`` when
        another holder does not finish within ``claim_wait``.
        """
        settings = self.settings
        held = _Held()
        owner, lease = held.owner, settings.claim_lease
        saved: Checkout | None = None
        started = now = self.clock.now()
        while True:
            if marked is not None and self._gate_steps:
                taken: ClaimedSave = yield _claim_and_save(
                    marked, expected_version, owner, now, lease
                )
                claim, saved = taken.claim, taken.saved
                marked = None  # after a wait the stored checkout is read again: claim only
            else:
                claim = yield _acquire(checkout_id, owner, now, lease)
            if claim.owner == owner:
                break
            if now - started >= settings.claim_wait:
                raise ClaimTimeout(checkout_id, (now - started).total_seconds())
            yield Sleep(settings.claim_poll)
            current: Checkout = yield from self._load(checkout_id)
            if until_paid and current.state is State.PAID:
                return current
            now = self.clock.now()
        try:
            return (yield from then(held, saved))
        finally:
            if not held.released:
                yield Stored(lambda store: store.release_claim(checkout_id, owner))

    def _reconcile(self, checkout_id: str) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        if checkout.state is State.PAID:
            # Settled since it was found (the shopper's return, another reconcile): nothing to
            # ask, as when it becomes paid while this call waits for the claim.
            return checkout
        flow.check(checkout, Event.RECONCILE)
        return (
            yield from self._claimed(
                checkout_id, lambda held, _: self._reconciled(checkout_id, held)
            )
        )

    def _reconciled(self, checkout_id: str, held: _Held) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        if checkout.state is State.PAID:
            return checkout
        flow.check(checkout, Event.RECONCILE)
        found = yield from self._look_up(checkout)
        if found is None:
            call = checkout.outcome_unknown or CallKind.READ_SELECTION
            raise OutcomeUnknown(str(call), "Centra could not say whether it became an order")
        if isinstance(found, Receipt):
            return (yield from self._settle(checkout, Event.RECONCILE, _paid_by(found), held))
        # The fields of a payment result Centra never answered are no decline to stand by.
        changes = {
            "payment_fields": _settled_fields(checkout),
            "token": found.token or checkout.token,  # the newest, as every answer's
        }
        outcome = _Outcome(AnswerKind.NO_ORDER, "no order at Centra", changes)
        return (yield from self._settle(checkout, Event.RECONCILE, outcome, held))

    def _refresh_order(self, checkout_id: str) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        flow.check(checkout, Event.REFRESH_ORDER)
        found = yield from self._look_up(checkout)
        if not isinstance(found, Receipt):
            raise OutcomeUnknown(
                CallKind.READ_SELECTION, "Centra did not answer the order of a paid checkout"
            )
        if found == checkout.receipt:
            return checkout  # nothing changed: no transition to record
        status = found.status_description or found.status
        outcome = _Outcome(AnswerKind.ORDER, f"order {found.order}: {status}", {"receipt": found})
        moved = self._lead(checkout, Event.REFRESH_ORDER, outcome)
        return (yield from self._commit(moved, checkout.version))

    def _erase(self, checkout_id: str) -> Command:
        yield from self._load(checkout_id)  # CheckoutNotFound before any claim is taken
        # Holding the payment claim: a payment call in flight settles first (its answer would
        # bring back what was erased, and its refusal would meet a conflict, keeping a marker
        # Centra had answered), and none starts while the checkout is erased.
        return (
            yield from self._claimed(
                checkout_id, lambda held, _: self._erased(checkout_id, held), until_paid=False
            )
        )

    def _erased(self, checkout_id: str, held: _Held) -> Command:
        checkout: Checkout = yield from self._load(checkout_id)
        scrubbed = attrs.evolve(personal.erased(checkout), version=checkout.version + 1)
        saved: Checkout
        if self._gate_steps:
            version, owner = checkout.version, held.owner
            saved = yield Stored(lambda store: store.save_and_release(scrubbed, version, owner))
            held.released = True
        else:
            saved = yield from self._save(scrubbed, checkout.version)
        yield Stored(lambda store: store.forget(checkout_id))
        return saved

    # --- each public method's command, for both services ----------------------------------

    def _open_command(self, checkout_id: str | None, key: str | None) -> Command:
        params = {"checkout_id": checkout_id}
        new_id = checkout_id if checkout_id is not None else _random_id()
        return self._idempotent(
            key, Event.OPEN, params, new_id, lambda resumed: self._open(new_id, resumed)
        )

    def _cart_command(
        self,
        checkout_id: str,
        event: Event,
        params: Mapping[str, Any],
        build: Callable[[Checkout], Call[SelectionResponse]],
        key: str | None,
    ) -> Command:
        return self._idempotent(
            key,
            event,
            params,
            checkout_id,
            lambda resumed: self._cart_change(checkout_id, event, params, build, resumed),
        )

    def _add_item_command(
        self, checkout_id: str, item: str, quantity: int, key: str | None
    ) -> Command:
        def call(c: Checkout) -> AddItem:
            return AddItem(_selection(c), item, quantity, token=c.token)

        params = {"item": item, "quantity": quantity}
        return self._cart_command(checkout_id, Event.ADD_ITEM, params, call, key)

    def _set_quantity_command(
        self, checkout_id: str, line: str, quantity: int, key: str | None
    ) -> Command:
        def call(c: Checkout) -> SetQuantity:
            return SetQuantity(_selection(c), line, quantity, token=c.token)

        params = {"line": line, "quantity": quantity}
        return self._cart_command(checkout_id, Event.SET_QUANTITY, params, call, key)

    def _remove_line_command(self, checkout_id: str, line: str, key: str | None) -> Command:
        def call(c: Checkout) -> RemoveLine:
            return RemoveLine(_selection(c), line, token=c.token)

        return self._cart_command(checkout_id, Event.REMOVE_LINE, {"line": line}, call, key)

    def _apply_voucher_command(self, checkout_id: str, code: str, key: str | None) -> Command:
        def call(c: Checkout) -> ApplyVoucher:
            return ApplyVoucher(_selection(c), code, token=c.token)

        return self._cart_command(checkout_id, Event.APPLY_VOUCHER, {"code": code}, call, key)

    def _remove_voucher_command(self, checkout_id: str, code: str, key: str | None) -> Command:
        def call(c: Checkout) -> RemoveVoucher:
            return RemoveVoucher(_selection(c), code, token=c.token)

        return self._cart_command(checkout_id, Event.REMOVE_VOUCHER, {"code": code}, call, key)

    def _set_country_command(self, checkout_id: str, country: str, key: str | None) -> Command:
        def call(c: Checkout) -> SetCountry:
            return SetCountry(_selection(c), country, token=c.token)

        params = {"country": country}
        return self._cart_command(checkout_id, Event.SET_COUNTRY, params, call, key)

    def _confirm_command(
        self, checkout_id: str, details: PaymentRequest, key: str | None
    ) -> Command:
        return self._idempotent(
            key,
            Event.CONFIRM,
            {"details": details},
            checkout_id,
            lambda resumed: self._confirm(checkout_id, details, resumed),
        )

    def _without_call_command(self, checkout_id: str, event: Event, key: str | None) -> Command:
        return self._idempotent(
            key,
            event,
            {},
            checkout_id,
            lambda resumed: self._without_call(checkout_id, event, resumed),
        )

    def _start_payment_command(self, checkout_id: str, key: str | None) -> Command:
        return self._idempotent(
            key,
            Event.START_PAYMENT,
            {},
            checkout_id,
            lambda resumed: self._start_payment(checkout_id, resumed),
        )

    def _complete_payment_command(
        self, checkout_id: str, fields: Mapping[str, Any], key: str | None
    ) -> Command:
        params = {"fields": dict(fields)}
        return self._idempotent(
            key,
            Event.COMPLETE_PAYMENT,
            params,
            checkout_id,
            lambda resumed: self._complete_payment(checkout_id, fields, resumed),
        )

    def _reconcile_command(self, checkout_id: str, key: str | None) -> Command:
        return self._idempotent(
            key, Event.RECONCILE, {}, checkout_id, lambda _: self._reconcile(checkout_id)
        )


def _reserve(record: IdempotencyRecord, now: datetime) -> Stored:
    return Stored(lambda store: store.reserve(record, now))


def _acquire(checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Stored:
    return Stored(lambda store: store.acquire_claim(checkout_id, owner, now, lease))


def _claim_and_save(
    marked: Checkout, expected_version: int, owner: str, now: datetime, lease: timedelta
) -> Stored:
    return Stored(lambda store: store.claim_and_save(marked, expected_version, owner, now, lease))


def _calls(checkout: Checkout, event: Event, params: Mapping[str, Any]) -> bool:
    """Whether the gate calls Centra on ``checkout``, once the flow allowed ``event``: no
    marker to look up first, and not the same declined answer again."""
    return checkout.outcome_unknown is None and not _declined_again(checkout, event, params)


def _settled_fields(checkout: Checkout) -> dict[str, Any] | None:
    """The payment fields Centra answered, as ``_declined_again`` compares them: not those of
    a payment result whose marker is still set (they were sent, and never answered), which
    are forgotten when the marker is cleared without Centra's answer to them."""
    if checkout.outcome_unknown is CallKind.PAYMENT_RESULT:
        return None
    return checkout.payment_fields


def _declined_again(checkout: Checkout, event: Event, params: Mapping[str, Any]) -> bool:
    return (
        event is Event.COMPLETE_PAYMENT
        and checkout.state is State.PAYMENT_FAILED
        and checkout.payment_fields == params.get("fields")
    )


def _selection(checkout: Checkout) -> str:
    assert checkout.selection_id is not None  # every checkout has one from open on
    return checkout.selection_id


# --- answers, classified for the flow table -----------------------------------------------------


def _answered(answer: PaymentAction | Receipt) -> _Outcome:
    outcome = _classified(answer)
    if answer.token is not None:  # a dialect with sessions: the token the answer carried
        return attrs.evolve(outcome, changes={**outcome.changes, "token": answer.token})
    return outcome


def _classified(answer: PaymentAction | Receipt) -> _Outcome:
    if isinstance(answer, Receipt):
        return _paid_by(answer)
    if isinstance(answer, SuccessAction):
        outcome = _paid_by(answer.receipt)
        return attrs.evolve(outcome, changes={**outcome.changes, "payment_action": answer})
    if isinstance(answer, FailedAction):
        reason = answer.reason
        changes = {"payment_action": answer, "last_error": reason}
        return _Outcome(AnswerKind.DECLINED, f"declined: {reason}", changes)
    changes = {"payment_action": answer, "last_error": None}
    return _Outcome(AnswerKind.AWAITING_SHOPPER, f"action {answer.kind}", changes)


def _paid_by(receipt: Receipt) -> _Outcome:
    detail = f"order {receipt.order}"
    if receipt.undecoded:
        detail += f" (kept undecoded: {', '.join(receipt.undecoded)})"
    changes: dict[str, Any] = {"receipt": receipt, "last_error": None}
    if receipt.token is not None:
        changes["token"] = receipt.token
    return _Outcome(AnswerKind.ORDER, detail, changes)


def _declined(error: CentraError, newer_token: str | None = None) -> _Outcome:
    """A refusal of the payment result; ``newer_token``: one an answer after it carried."""
    reason = _reasons(error.errors) or error.message or f"status {error.status}"
    changes: dict[str, Any] = {"last_error": reason}
    token = newer_token or error.token
    if token is not None:
        changes["token"] = token
    return _Outcome(AnswerKind.DECLINED, f"declined: {reason}", changes)


def _back_to_cart(error: OutOfStock) -> _Outcome:
    changes: dict[str, Any] = {
        "last_error": str(error),
        "unavailable": error.unavailable,
        "cancellation": error.cancellation,
    }
    token = error.token or (error.selection.token if error.selection is not None else None)
    if token is not None:
        changes["token"] = token
    if error.selection is not None:
        changes["cart"] = error.selection
    items = ", ".join(f"{u.item} ({u.unavailable} unavailable)" for u in error.unavailable)
    detail = f"out of stock: {items}" if items else "out of stock"
    return _Outcome(AnswerKind.OUT_OF_STOCK, detail, changes)


def _token_of(refusal: OrderflowError) -> str | None:
    """The newest session token a refused or failed call carried (Checkout, Storefront API)."""
    if isinstance(refusal, CentraError | CentraUnavailable):
        return refusal.token
    return None


def _reasons(errors: Mapping[str, str]) -> str:
    return ", ".join(f"{field} {message}" for field, message in errors.items())


# hashlib (with OpenSSL's binding) and uuid are imported where they are first used, not by
# ``import orderflow``: together ~7 ms of it (python -X importtime), for a program that may never
# open a checkout or use an idempotency key (``orderflow diagram``, a job that only reads).


def _fingerprint(event: Event, checkout_id: str | None, params: Mapping[str, Any]) -> str:
    import hashlib

    request = {"event": event, "checkout": checkout_id, "params": codec.unstructure(dict(params))}
    return hashlib.sha256(codec.dumps(request).encode()).hexdigest()


def _random_id() -> str:
    """A new random id: a version-4 UUID as 32 hex digits."""
    import uuid

    return uuid.uuid4().hex


__all__ = [
    "GATE_STEPS",
    "CheckoutCommands",
    "Command",
    "Commit",
    "Effect",
    "ServiceSettings",
    "Sleep",
    "Stored",
    "takes_gate_steps",
]
