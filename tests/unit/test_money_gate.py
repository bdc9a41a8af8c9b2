"""The money gate, in process: every answer a payment call can get, and what it leaves behind.

Centra's answers come from ``FakeCentra``; the odd ones (a 429, a 409, a lost answer after
Centra acted, an elided success) are scripted around it with ``tests.support.Script``, so the
fake still acts where Centra would have.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import takes_gate_steps
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    EventNotAllowed,
    GuardRefused,
    IdempotencyKeyInFlight,
    OrderflowError,
    OutcomeUnknown,
    PaymentInFlight,
)
from orderflow.flow import Event, State, TransitionRecord
from orderflow.payment import FailedAction, RedirectAction, SuccessAction
from orderflow.ports import IdempotencyRecord
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService
from tests.support import GATE_SETTINGS, LosesAnswers, Script, Scripted, Shop

SETTINGS = GATE_SETTINGS


@pytest.fixture
def shop() -> Shop:
    return Shop(FakeCentra.seeded(), MemoryStore(), ManualClock())


def acted_then(error: Exception, fake: FakeCentra) -> Scripted:
    """Centra acts on the call, then the answer is replaced by ``error``."""

    def act(call: Call[Any]) -> Any:
        fake.send(call)
        raise error

    return act


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def busy(status: int) -> CentraUnavailable:
    return CentraUnavailable("payment", f"HTTP {status}", status, retry_after=2.0)


# --- start_payment ---------------------------------------------------------------------------


def test_a_lost_instant_success_is_settled_by_the_next_start_payment_without_a_second_call(
    shop: Shop,
) -> None:
    confirmed = shop.confirmed("instant-success")
    lost = OutcomeUnknown("start_payment", "read timed out")
    with pytest.raises(OutcomeUnknown):
        shop.service(start_payment=[acted_then(lost, shop.fake)]).start_payment(confirmed.id)
    marked = shop.store.load(confirmed.id)
    assert marked.state is State.CONFIRMED and marked.outcome_unknown is CallKind.START_PAYMENT

    paid = shop.service().start_payment(confirmed.id)

    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert shop.fake.calls[CallKind.START_PAYMENT] == 1 and len(shop.fake.orders) == 1


def test_a_start_payment_whose_answer_was_lost_before_centra_acted_calls_again(
    shop: Shop,
) -> None:
    confirmed = shop.confirmed()
    with pytest.raises(OutcomeUnknown):
        shop.service(start_payment=[OutcomeUnknown("start_payment", "timeout")]).start_payment(
            confirmed.id
        )
    pending = shop.service().start_payment(confirmed.id)
    assert pending.state is State.PAYMENT_PENDING and pending.outcome_unknown is None
    assert shop.fake.calls[CallKind.READ_SELECTION] >= 1


@pytest.mark.parametrize("status", [408, 425, 429])
def test_a_busy_centra_at_start_payment_leaves_the_checkout_confirmed_and_unmarked(
    shop: Shop, status: int
) -> None:
    confirmed = shop.confirmed()
    with pytest.raises(CentraUnavailable) as raised:
        shop.service(start_payment=[busy(status)]).start_payment(confirmed.id)
    assert raised.value.retry_after == 2.0
    after = shop.store.load(confirmed.id)
    assert after.state is State.CONFIRMED and after.outcome_unknown is None
    assert shop.service().start_payment(confirmed.id).state is State.PAYMENT_PENDING


def test_a_refused_start_payment_leaves_the_checkout_confirmed(shop: Shop) -> None:
    confirmed = shop.confirmed()
    refused = CentraError(400, {"termsAndConditions": "must be true"})
    with pytest.raises(CentraError):
        shop.service(start_payment=[refused]).start_payment(confirmed.id)
    after = shop.store.load(confirmed.id)
    assert after.state is State.CONFIRMED and after.outcome_unknown is None


def test_a_declined_start_payment_fails_the_payment(shop: Shop) -> None:
    failed = shop.service().start_payment(shop.confirmed("always-decline").id)
    assert failed.state is State.PAYMENT_FAILED
    assert isinstance(failed.payment_action, FailedAction)
    assert failed.last_error


def test_an_elided_success_is_an_order_with_what_did_not_decode_kept(shop: Shop) -> None:
    confirmed = shop.confirmed("instant-success")

    def elided(call: Call[Any]) -> Any:
        shop.fake.send(call)
        receipt = Receipt(order="588", undecoded={"items": "...", "totals": "..."})
        return SuccessAction(receipt)

    paid = shop.service(start_payment=[elided]).start_payment(confirmed.id)
    assert paid.state is State.PAID and paid.order == "588"
    assert paid.receipt is not None and paid.receipt.undecoded == {"items": "...", "totals": "..."}
    assert "undecoded" in paid.history[-1].detail


# --- complete_payment ------------------------------------------------------------------------


def test_a_failed_action_at_payment_result_fails_the_payment_as_at_start(shop: Shop) -> None:
    pending = shop.pending()
    failed = FailedAction({"paymentMethod": "failed"}, messages=("Card declined",))
    after = shop.service(payment_result=[lambda call: failed]).complete_payment(
        pending.id, SEED_PAYMENT_FIELDS
    )
    assert after.state is State.PAYMENT_FAILED
    assert after.last_error == "Card declined (paymentMethod failed)"


@pytest.mark.parametrize("status", [408, 425, 429])
def test_a_busy_centra_at_payment_result_is_no_decline_and_the_payment_can_still_complete(
    shop: Shop, status: int
) -> None:
    pending = shop.pending()
    with pytest.raises(CentraUnavailable):
        shop.service(payment_result=[busy(status)]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    after = shop.store.load(pending.id)
    assert after.state is State.PAYMENT_PENDING and after.outcome_unknown is None
    paid = shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID and len(shop.fake.orders) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_an_unauthorised_payment_result_is_no_decline(shop: Shop, status: int) -> None:
    pending = shop.pending()
    denied = AuthenticationFailed(status, {"accessRight": "denied"})
    with pytest.raises(AuthenticationFailed):
        shop.service(payment_result=[denied]).complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    after = shop.store.load(pending.id)
    assert after.state is State.PAYMENT_PENDING and after.outcome_unknown is None


@pytest.mark.parametrize("status", [404, 409, 500, 502, 503])
def test_an_unclear_answer_after_centra_acted_keeps_the_marker_and_becomes_the_order(
    shop: Shop, status: int
) -> None:
    pending = shop.pending()
    unclear = OutcomeUnknown("payment_result", f"HTTP {status}")
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[acted_then(unclear, shop.fake)]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    marked = shop.store.load(pending.id)
    assert marked.outcome_unknown is CallKind.PAYMENT_RESULT

    paid = shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID and shop.fake.calls[CallKind.PAYMENT_RESULT] == 1


def test_a_refusal_after_a_decline_with_other_fields_still_pays(shop: Shop) -> None:
    pending = shop.pending()
    declined = shop.service().complete_payment(pending.id, {"centraPaymentMethod": "x"})
    assert declined.state is State.PAYMENT_FAILED
    assert shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS).state is State.PAID


def test_provider_fields_of_any_json_value_are_posted_and_stored_unchanged(shop: Shop) -> None:
    pending = shop.pending()
    fields = {
        **SEED_PAYMENT_FIELDS,
        "success": True,
        "timestamp": 1718617138,
        "amount": 3600.5,
        "transaction": {"id": "tx-1", "details": {"paymentAction": ["a", None]}},
    }
    script = Script(shop.fake, {})
    service = CheckoutService(transport=script, store=shop.store, clock=shop.clock)
    paid = service.complete_payment(pending.id, fields)
    assert paid.payment_fields == fields
    (posted,) = [c for c in script.sent if c.kind is CallKind.PAYMENT_RESULT]
    assert posted.fields == fields  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"n": 2**64}, "paymentMethodFields.n"),
        ({"n": float("nan")}, "paymentMethodFields.n"),
        ({"s": "\ud800"}, "paymentMethodFields.s"),
        ({"deep": nested(40)}, None),
        ({"big": "x" * 70_000}, "paymentMethodFields.big"),
        ({"obj": object()}, "paymentMethodFields.obj"),
    ],
)
def test_provider_fields_that_cannot_be_stored_are_refused_naming_the_field(
    shop: Shop, fields: dict[str, Any], path: str | None
) -> None:
    pending = shop.pending()
    with pytest.raises(GuardRefused) as refused:
        shop.service().complete_payment(pending.id, fields)
    (refusal,) = refused.value.refusals
    assert refusal.code == "json_invalid"
    if path is not None:
        assert refusal.field == path
    assert shop.store.load(pending.id) == pending
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == 0


# --- nothing else moves while a payment is in flight -----------------------------------------


@pytest.mark.parametrize("event", ["cancel", "expire", "reopen", "retry_payment"])
def test_no_other_event_moves_a_checkout_whose_start_payment_is_unsettled(
    shop: Shop, event: str
) -> None:
    confirmed = shop.confirmed()
    with pytest.raises(OutcomeUnknown):
        shop.service(start_payment=[OutcomeUnknown("start_payment", "timeout")]).start_payment(
            confirmed.id
        )
    marked = shop.store.load(confirmed.id)
    with pytest.raises((PaymentInFlight, EventNotAllowed)):
        getattr(shop.service(), event)(confirmed.id)
    assert shop.store.load(confirmed.id) == marked


@pytest.mark.parametrize("event", ["cancel", "expire", "fail_payment"])
def test_no_other_event_moves_a_checkout_whose_payment_result_is_unsettled(
    shop: Shop, event: str
) -> None:
    pending = shop.pending()
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[OutcomeUnknown("payment_result", "timeout")]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    marked = shop.store.load(pending.id)
    with pytest.raises((PaymentInFlight, EventNotAllowed)) as refused:
        getattr(shop.service(), event)(pending.id)
    if isinstance(refused.value, PaymentInFlight):
        assert refused.value.call == "payment_result"
    assert shop.store.load(pending.id) == marked


def test_reconcile_settles_a_start_payment_that_made_no_order_back_to_confirmed(
    shop: Shop,
) -> None:
    confirmed = shop.confirmed()
    with pytest.raises(OutcomeUnknown):
        shop.service(start_payment=[OutcomeUnknown("start_payment", "timeout")]).start_payment(
            confirmed.id
        )
    settled = shop.service().reconcile(confirmed.id)
    assert settled.state is State.CONFIRMED and settled.outcome_unknown is None
    assert shop.service().cancel(confirmed.id).state is State.CANCELLED


def test_reconcile_keeps_the_marker_while_centra_cannot_say(shop: Shop) -> None:
    pending = shop.pending()
    with pytest.raises(OutcomeUnknown):
        shop.service(payment_result=[OutcomeUnknown("payment_result", "timeout")]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    down = CentraUnavailable("read_selection", "HTTP 503", 503)
    with pytest.raises(OutcomeUnknown):
        shop.service(read_selection=[down]).reconcile(pending.id)
    assert shop.store.load(pending.id).outcome_unknown is CallKind.PAYMENT_RESULT
    with pytest.raises(OutcomeUnknown):
        shop.service(read_selection=[down]).complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == 0


def test_a_redirect_answered_to_the_payment_result_waits_for_the_shopper_again(
    shop: Shop,
) -> None:
    pending = shop.pending()
    again = RedirectAction("https://provider.example/3ds")
    after = shop.service(payment_result=[lambda call: again]).complete_payment(
        pending.id, SEED_PAYMENT_FIELDS
    )
    assert after.state is State.PAYMENT_PENDING and after.payment_action == again


# --- errors that are not orderflow's ----------------------------------------------------------


def test_a_foreign_exception_from_a_payment_call_is_an_unknown_outcome(shop: Shop) -> None:
    pending = shop.pending()
    with pytest.raises(OutcomeUnknown) as raised:
        shop.service(payment_result=[RuntimeError("socket closed")]).complete_payment(
            pending.id, SEED_PAYMENT_FIELDS
        )
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert shop.store.load(pending.id).outcome_unknown is CallKind.PAYMENT_RESULT


def test_a_foreign_exception_from_a_cart_call_is_centra_unavailable(shop: Shop) -> None:
    checkout = shop.service().open()
    with pytest.raises(CentraUnavailable) as raised:
        shop.service(add_item=[ValueError("bad")], read_selection=[ValueError("bad")]).add_item(
            checkout.id, SEED_ITEM, 1
        )
    assert isinstance(raised.value.__cause__, ValueError)
    assert shop.store.load(checkout.id) == checkout


# --- bounded input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s, c: s.add_item(c, SEED_ITEM, 2**64), "quantity_invalid"),
        (lambda s, c: s.add_item(c, SEED_ITEM, True), "quantity_invalid"),
        (lambda s, c: s.add_item(c, "23-" + "1" * 70_000, 1), "item_unknown"),
        (lambda s, c: s.add_item(c, "23-28\ud800", 1), "item_unknown"),
        (lambda s, c: s.apply_voucher(c, "V" * 70_000), "too_long"),
        (lambda s, c: s.apply_voucher(c, "WELCOME\ud800"), "not_encodable"),
    ],
)
def test_input_that_cannot_be_stored_or_sent_is_refused_and_calls_nothing(
    shop: Shop, call: Any, code: str
) -> None:
    service = shop.service()
    checkout = service.open()
    before = sum(shop.fake.calls.values())
    with pytest.raises(GuardRefused) as refused:
        call(service, checkout.id)
    assert [r.code for r in refused.value.refusals] == [code]
    assert shop.store.load(checkout.id) == checkout
    assert sum(shop.fake.calls.values()) == before


def test_details_with_unencodable_text_are_refused_naming_the_field(shop: Shop) -> None:
    service = shop.service()
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    details = seed_details()
    details = attrs.evolve(details, address=attrs.evolve(details.address, city="Br\udcffmma"))
    with pytest.raises(GuardRefused) as refused:
        service.confirm(checkout.id, details)
    assert [(r.code, r.field) for r in refused.value.refusals] == [
        ("not_encodable", "address.city")
    ]


@pytest.mark.parametrize("checkout_id", ["x" * 70_000, "co-\ud800"])
def test_an_id_that_cannot_exist_is_not_found(shop: Shop, checkout_id: str) -> None:
    from orderflow.errors import CheckoutNotFound

    with pytest.raises(CheckoutNotFound):
        shop.service().add_item(checkout_id, SEED_ITEM, 1)


# --- idempotency keys -------------------------------------------------------------------------


def test_a_key_whose_first_request_is_running_makes_the_second_wait_then_give_up(
    shop: Shop,
) -> None:
    service = shop.service()
    checkout = service.open()
    now = shop.clock.now()
    shop.store.reserve(
        IdempotencyRecord(
            "k1",
            _fingerprint_of(
                service, Event.ADD_ITEM, checkout.id, {"item": SEED_ITEM, "quantity": 1}
            ),
            "other",
            lease_until=now + timedelta(minutes=5),
            expires_at=now + timedelta(days=1),
            checkout_id=checkout.id,
        ),
        now,
    )
    with pytest.raises(IdempotencyKeyInFlight):
        service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    assert shop.fake.calls[CallKind.ADD_ITEM] == 0


def test_a_key_whose_caller_died_after_centra_acted_resumes_from_centras_cart(
    shop: Shop,
) -> None:
    service = shop.service()
    checkout = service.open()
    params = {"item": SEED_ITEM, "quantity": 1}
    now = shop.clock.now()
    shop.store.reserve(
        IdempotencyRecord(
            "k1",
            _fingerprint_of(service, Event.ADD_ITEM, checkout.id, params),
            "died",
            lease_until=now + timedelta(seconds=1),
            expires_at=now + timedelta(days=1),
            checkout_id=checkout.id,
        ),
        now,
    )
    assert checkout.selection_id is not None
    from orderflow.calls import AddItem

    shop.fake.send(AddItem(checkout.selection_id, SEED_ITEM, 1))  # what the dead caller did
    shop.clock.advance(5)

    resumed = service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")

    assert [(i.item, i.quantity) for i in resumed.items] == [(SEED_ITEM, 1)]
    assert shop.fake.calls[CallKind.ADD_ITEM] == 1
    again = service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    assert again == resumed


def _fingerprint_of(
    service: CheckoutService, event: Event, checkout_id: str, params: dict[str, Any]
) -> str:
    from orderflow.commands import _fingerprint

    return _fingerprint(event, checkout_id, params)


def test_a_failed_command_frees_its_key_for_a_retry(shop: Shop) -> None:
    service = shop.service()
    checkout = service.open()
    with pytest.raises(CentraError):
        service.add_item(checkout.id, "999-999", 1, idempotency_key="k1")
    with pytest.raises(CentraError):
        service.add_item(checkout.id, "999-999", 1, idempotency_key="k1")
    assert shop.fake.calls[CallKind.ADD_ITEM] == 2


# --- subscribers and logging ------------------------------------------------------------------


def test_subscribers_hear_each_committed_transition_once_and_never_on_a_replay(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[tuple[str, Event]] = []

    def listen(checkout: Checkout, record: TransitionRecord) -> None:
        heard.append((checkout.id, record.event))

    def broken(checkout: Checkout, record: TransitionRecord) -> None:
        raise RuntimeError("subscriber bug")

    service = CheckoutService(
        transport=shop.fake, store=shop.store, clock=shop.clock, on_transition=[listen, broken]
    )
    with caplog.at_level(logging.INFO, logger="orderflow"):
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k")
        service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k")  # a replay

    assert heard == [(checkout.id, Event.OPEN), (checkout.id, Event.ADD_ITEM)]
    transitions = [r for r in caplog.records if r.name == "orderflow.service" and r.levelno == 20]
    assert [r.getMessage() for r in transitions] == [
        f"checkout {checkout.id}: open (new) -> selection",
        f"checkout {checkout.id}: add_item selection -> selection",
    ]
    assert any("subscriber bug" in (r.exc_text or "") for r in caplog.records)


def test_nothing_is_logged_about_the_shopper(shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    service = CheckoutService(transport=shop.fake, store=shop.store, clock=shop.clock)
    with caplog.at_level(logging.DEBUG, logger="orderflow"):
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        service.confirm(checkout.id, seed_details())
        service.start_payment(checkout.id)
        service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for personal in ("hhh@maximilliangeorge.com", "Maximillian", "734444782", "Dybecksv"):
        assert personal not in text


def test_losing_a_read_never_repeats_a_payment(shop: Shop) -> None:
    pending = shop.pending()
    lossy = CheckoutService(
        transport=LosesAnswers(shop.fake, {CallKind.PAYMENT_RESULT, CallKind.READ_SELECTION}),
        store=shop.store,
        clock=shop.clock,
    )
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == 1
    assert shop.fake.calls[CallKind.READ_SELECTION] == 1  # the retry only asked


def test_an_unknown_outcome_and_what_reconcile_settled_are_warnings(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    pending = shop.pending()
    lost = OutcomeUnknown("payment_result", "read timed out")
    with caplog.at_level(logging.WARNING, logger="orderflow"):
        with pytest.raises(OutcomeUnknown):
            shop.service(payment_result=[acted_then(lost, shop.fake)]).complete_payment(
                pending.id, SEED_PAYMENT_FIELDS
            )
        shop.service().reconcile(pending.id)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the outcome is unknown" in w for w in warnings)
    assert any(
        f"checkout {pending.id}: reconcile settled payment_pending -> paid" in w for w in warnings
    )


# --- the gate's combined store steps ----------------------------------------------------------


class StaleCopies(MemoryStore):
    """A store whose ``recent`` hands out the copies ``keep`` kept, however old (as another
    process's store would, after this one's writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[str, Checkout] = {}

    def keep(self, checkout: Checkout) -> None:
        self.kept[checkout.id] = checkout

    def recent(self, checkout_id: str) -> Checkout | None:
        return self.kept.get(checkout_id)


def test_a_stale_copy_whose_payment_became_unknown_is_looked_up_never_called_again() -> None:
    fake, store, clock = FakeCentra.seeded(), StaleCopies(), ManualClock()
    shop = Shop(fake, store, clock)
    confirmed = shop.confirmed("instant-success")
    store.keep(confirmed)
    lost = OutcomeUnknown("start_payment", "read timed out")
    with pytest.raises(OutcomeUnknown):
        shop.service(start_payment=[acted_then(lost, fake)]).start_payment(confirmed.id)
    assert store.load(confirmed.id).outcome_unknown is CallKind.START_PAYMENT

    paid = shop.service().start_payment(confirmed.id)  # its copy: confirmed, no marker

    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert fake.calls[CallKind.START_PAYMENT] == 1 and len(fake.orders) == 1
    assert fake.calls[CallKind.READ_SELECTION] == 1


def test_a_stale_copy_of_a_paid_checkout_returns_the_stored_receipt_without_a_call() -> None:
    fake, store, clock = FakeCentra.seeded(), StaleCopies(), ManualClock()
    shop = Shop(fake, store, clock)
    pending = shop.pending()
    store.keep(pending)
    paid = shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    calls = sum(fake.calls.values())

    again = shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert again == paid and sum(fake.calls.values()) == calls
    assert store.acquire_claim(pending.id, "other", clock.now(), timedelta(1)).owner == "other"


def test_a_stale_copy_of_a_checkout_cancelled_since_calls_nothing_and_frees_the_claim() -> None:
    fake, store, clock = FakeCentra.seeded(), StaleCopies(), ManualClock()
    shop = Shop(fake, store, clock)
    confirmed = shop.confirmed()
    store.keep(confirmed)  # its copy: confirmed, so the flow allows start_payment
    cancelled = shop.service().cancel(confirmed.id)

    with pytest.raises(EventNotAllowed):
        shop.service().start_payment(confirmed.id)

    assert fake.calls[CallKind.START_PAYMENT] == 0
    assert store.load(confirmed.id) == cancelled
    assert store.acquire_claim(confirmed.id, "other", clock.now(), timedelta(1)).owner == "other"


OUTCOMES: dict[str, Scripted | None] = {
    "answered": None,
    "busy": busy(429),
    "refused": CentraError(400, {"termsAndConditions": "must be true"}),
    "lost": OutcomeUnknown("start_payment", "timeout"),
    "foreign": RuntimeError("socket closed"),
}


@pytest.mark.parametrize("outcome", OUTCOMES.values(), ids=OUTCOMES.keys())
def test_the_claim_is_free_after_every_outcome_of_a_payment_call(
    shop: Shop, outcome: Scripted | None
) -> None:
    confirmed = shop.confirmed()
    script = {} if outcome is None else {"start_payment": [outcome]}
    with contextlib.suppress(OrderflowError):
        shop.service(**script).start_payment(confirmed.id)

    claim = shop.store.acquire_claim(confirmed.id, "other", shop.clock.now(), timedelta(1))

    assert claim.owner == "other"


class OldContract:
    """A store written to the ``Store`` contract alone: every method its own, no gate steps."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.calls: list[str] = []

    def _forward(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)(*args, **kwargs)

    def load(self, *args: Any) -> Any:
        return self._forward("load", *args)

    def save(self, *args: Any) -> Any:
        return self._forward("save", *args)

    def find(self, **kwargs: Any) -> Any:
        return self._forward("find", **kwargs)

    def acquire_claim(self, *args: Any) -> Any:
        return self._forward("acquire_claim", *args)

    def release_claim(self, *args: Any) -> Any:
        return self._forward("release_claim", *args)

    def reserve(self, *args: Any) -> Any:
        return self._forward("reserve", *args)

    def complete(self, *args: Any) -> Any:
        return self._forward("complete", *args)

    def abandon(self, *args: Any) -> Any:
        return self._forward("abandon", *args)

    def forget(self, *args: Any) -> Any:
        return self._forward("forget", *args)

    def purge(self, *args: Any, **kwargs: Any) -> Any:
        return self._forward("purge", *args, **kwargs)


def test_a_store_of_the_old_contract_pays_once_through_the_separate_calls() -> None:
    fake, store = FakeCentra.seeded(), OldContract()
    service = CheckoutService(transport=fake, store=store)
    confirmed = Shop(fake, store.inner, ManualClock()).confirmed()
    store.calls.clear()

    pending = service.start_payment(confirmed.id)
    paid = service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID and len(fake.orders) == 1
    payment_step = ["load", "acquire_claim", "load", "save", "save", "release_claim"]
    assert store.calls == payment_step * 2


def test_a_subclass_that_overrides_a_separate_step_gets_the_separate_calls() -> None:
    class CountedSaves(MemoryStore):
        saves = 0

        def save(self, checkout: Checkout, expected_version: int) -> Checkout:
            self.saves += 1
            return super().save(checkout, expected_version)

    store = CountedSaves()
    assert takes_gate_steps(MemoryStore()) and not takes_gate_steps(store)
    shop = Shop(FakeCentra.seeded(), store, ManualClock())
    pending = shop.pending()
    shop.service().complete_payment(pending.id, SEED_PAYMENT_FIELDS)

    assert store.saves == 3 + 2 + 2  # open, add_item, confirm; marker and settle of each step
