"""The checkout service on FakeCentra and the memory store: every event, every outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, run_seed_flow, seed_details
from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.calls import CallKind, PaymentResult
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import ServiceSettings
from orderflow.errors import (
    CentraError,
    CentraUnavailable,
    ClaimTimeout,
    EventNotAllowed,
    GuardRefused,
    IdempotencyKeyReused,
    OutcomeUnknown,
)
from orderflow.flow import Event, State
from orderflow.payment import FailedAction, FormAction, PaymentRequest, RedirectAction
from orderflow.service import AsyncCheckoutService, CheckoutService
from tests.support import Awaited, LosesAnswers, Script


@attrs.define
class World:
    fake: FakeCentra
    store: MemoryStore
    clock: ManualClock
    service: CheckoutService

    def confirmed(self, payment_method: str = "klarna-playground") -> Checkout:
        checkout = self.service.open()
        self.service.add_item(checkout.id, SEED_ITEM, 1)
        details = attrs.evolve(seed_details(), payment_method=payment_method)
        return self.service.confirm(checkout.id, details)

    def pending(self) -> Checkout:
        return self.service.start_payment(self.confirmed().id)


@pytest.fixture
def world() -> World:
    fake = FakeCentra.seeded()
    store = MemoryStore()
    clock = ManualClock()
    settings = ServiceSettings(claim_wait=timedelta(seconds=5), claim_poll=0.5)
    service = CheckoutService(transport=fake, store=store, clock=clock, settings=settings)
    return World(fake, store, clock, service)


# The provider's answer without its proof of payment: Centra declines it.
DECLINED = {"centraPaymentMethod": "klarna-playground"}


def events(checkout: Checkout) -> list[tuple[str | None, str, str]]:
    return [(r.source and r.source.value, r.event.value, r.dest.value) for r in checkout.history]


def test_the_seed_flow_ends_paid_with_one_order_and_every_step_in_the_history(
    world: World,
) -> None:
    paid = run_seed_flow(world.service)
    assert paid.state is State.PAID
    assert paid.receipt is not None and paid.order == paid.receipt.order
    assert paid.receipt.totals is not None
    assert paid.receipt.totals.grand_total_price.amount == 3600
    assert events(paid) == [
        (None, "open", "selection"),
        ("selection", "add_item", "selection"),
        ("selection", "confirm", "confirmed"),
        ("confirmed", "start_payment", "payment_pending"),
        ("payment_pending", "complete_payment", "paid"),
    ]
    assert world.store.load(paid.id) == paid
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 1


def test_complete_payment_on_a_paid_checkout_returns_the_stored_receipt_without_a_call(
    world: World,
) -> None:
    paid = run_seed_flow(world.service)
    calls = sum(world.fake.calls.values())
    again = world.service.complete_payment(paid.id, SEED_PAYMENT_FIELDS)
    assert again.receipt == paid.receipt and again.version == paid.version
    assert sum(world.fake.calls.values()) == calls


def test_cart_events_change_the_cart_and_stay_in_selection(world: World) -> None:
    checkout = world.service.open()
    added = world.service.add_item(checkout.id, SEED_ITEM, 2)
    (line,) = added.items
    assert line.quantity == 2 and added.state is State.SELECTION
    changed = world.service.set_quantity(checkout.id, line.line, 3)
    assert changed.items[0].quantity == 3
    assert changed.cart is not None
    assert changed.cart.selection.totals.grand_total_price.amount == 3 * 3600
    country = world.service.set_country(checkout.id, "NO")
    assert country.cart is not None and country.cart.location is not None
    assert country.cart.location.country == "NO"
    removed = world.service.remove_line(checkout.id, line.line)
    assert removed.items == ()
    assert [e for _, e, _ in events(removed)] == [
        "open",
        "add_item",
        "set_quantity",
        "set_country",
        "remove_line",
    ]
    assert removed.version == 5


def test_setting_quantity_zero_removes_the_line(world: World) -> None:
    checkout = world.service.open()
    (line,) = world.service.add_item(checkout.id, SEED_ITEM, 1).items
    assert world.service.set_quantity(checkout.id, line.line, 0).items == ()


def test_an_unknown_item_is_centras_field_error_and_the_checkout_is_unchanged(
    world: World,
) -> None:
    checkout = world.service.open()
    with pytest.raises(CentraError) as refused:
        world.service.add_item(checkout.id, "999-999", 1)
    assert "item" in refused.value.errors
    assert world.store.load(checkout.id) == checkout


def test_a_guard_refusal_leaves_the_checkout_unchanged_and_calls_nothing(world: World) -> None:
    checkout = world.service.open()
    calls = sum(world.fake.calls.values())
    with pytest.raises(GuardRefused) as refused:
        world.service.confirm(checkout.id, seed_details())
    assert [r.code for r in refused.value.refusals] == ["selection_empty"]
    assert world.store.load(checkout.id) == checkout
    assert sum(world.fake.calls.values()) == calls


def test_a_disallowed_event_names_the_allowed_ones_and_changes_nothing(world: World) -> None:
    checkout = world.service.open()
    with pytest.raises(EventNotAllowed, match="add_item") as refused:
        world.service.start_payment(checkout.id)
    assert refused.value.state == "selection" and refused.value.event == "start_payment"
    assert world.store.load(checkout.id) == checkout


def test_confirm_then_reopen_goes_back_to_the_cart(world: World) -> None:
    confirmed = world.confirmed()
    assert confirmed.state is State.CONFIRMED and confirmed.details is not None
    assert world.service.reopen(confirmed.id).state is State.SELECTION


@pytest.mark.parametrize(
    ("method", "state", "action"),
    [
        ("klarna-playground", State.PAYMENT_PENDING, FormAction),
        ("redirect-test", State.PAYMENT_PENDING, RedirectAction),
        ("always-decline", State.PAYMENT_FAILED, FailedAction),
    ],
)
def test_start_payment_follows_the_action(
    world: World, method: str, state: State, action: type[Any]
) -> None:
    started = world.service.start_payment(world.confirmed(method).id)
    assert started.state is state
    assert isinstance(started.payment_action, action)


def test_a_success_action_is_paid_at_once_with_the_order_as_receipt(world: World) -> None:
    paid = world.service.start_payment(world.confirmed("instant-success").id)
    assert paid.state is State.PAID and paid.receipt is not None
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 0
    assert len(world.fake.orders) == 1


def test_out_of_stock_at_payment_goes_back_to_the_cart_without_the_items(world: World) -> None:
    confirmed = world.confirmed()
    world.fake.stock[SEED_ITEM] = 0
    back = world.service.start_payment(confirmed.id)
    assert back.state is State.SELECTION
    assert back.items == ()
    assert back.last_error is not None and SEED_ITEM in back.last_error
    assert back.history[-1].detail.startswith("out of stock")


def test_a_declined_payment_result_fails_and_a_retry_can_still_pay(world: World) -> None:
    pending = world.pending()
    declined = world.service.complete_payment(pending.id, DECLINED)
    assert declined.state is State.PAYMENT_FAILED and declined.last_error
    retried = world.service.retry_payment(pending.id)
    assert retried.state is State.CONFIRMED
    again = world.service.start_payment(pending.id)
    paid = world.service.complete_payment(again.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID
    assert len(world.fake.orders) == 1


def test_the_same_declined_answer_twice_returns_the_first_result_without_a_call(
    world: World,
) -> None:
    pending = world.pending()
    first = world.service.complete_payment(pending.id, DECLINED)
    calls = world.fake.calls[CallKind.PAYMENT_RESULT]
    second = world.service.complete_payment(pending.id, DECLINED)
    assert second == first and world.fake.calls[CallKind.PAYMENT_RESULT] == calls


def test_fail_payment_then_cancel(world: World) -> None:
    pending = world.pending()
    failed = world.service.fail_payment(pending.id)
    assert failed.state is State.PAYMENT_FAILED
    assert world.service.cancel(pending.id).state is State.CANCELLED
    with pytest.raises(EventNotAllowed, match=r"allowed there: reconcile$"):
        world.service.reopen(pending.id)


@pytest.mark.parametrize("state_of", ["open", "confirmed", "failed"])
def test_expire_cancels_before_paying(world: World, state_of: str) -> None:
    if state_of == "open":
        checkout = world.service.open()
    elif state_of == "confirmed":
        checkout = world.confirmed()
    else:
        checkout = world.service.fail_payment(world.pending().id)
    expired = world.service.expire(checkout.id)
    assert expired.state is State.CANCELLED
    assert expired.history[-1].event is Event.EXPIRE


def test_reconcile_without_an_order_stays_pending(world: World) -> None:
    pending = world.pending()
    still = world.service.reconcile(pending.id)
    assert still.state is State.PAYMENT_PENDING
    assert still.history[-1].event is Event.RECONCILE


def test_a_lost_payment_result_is_reconciled_to_paid_without_a_second_call(
    world: World,
) -> None:
    pending = world.pending()
    lossy = CheckoutService(
        transport=LosesAnswers(world.fake, {CallKind.PAYMENT_RESULT}),
        store=world.store,
        clock=world.clock,
    )
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    unknown = world.store.load(pending.id)
    assert unknown.state is State.PAYMENT_PENDING
    assert unknown.outcome_unknown is CallKind.PAYMENT_RESULT
    paid = world.service.reconcile(pending.id)
    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 1 and len(world.fake.orders) == 1


def test_after_a_lost_answer_complete_payment_asks_centra_before_calling_again(
    world: World,
) -> None:
    pending = world.pending()
    lossy = CheckoutService(
        transport=LosesAnswers(world.fake, {CallKind.PAYMENT_RESULT}),
        store=world.store,
        clock=world.clock,
    )
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    paid = world.service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 1
    assert world.fake.calls[CallKind.READ_SELECTION] == 1


def test_a_lost_instant_success_keeps_its_marker_and_is_reconciled_to_the_order(
    world: World,
) -> None:
    confirmed = world.confirmed("instant-success")
    lossy = CheckoutService(
        transport=LosesAnswers(world.fake, {CallKind.START_PAYMENT}),
        store=world.store,
        clock=world.clock,
    )
    with pytest.raises(OutcomeUnknown):
        lossy.start_payment(confirmed.id)
    unknown = world.store.load(confirmed.id)
    assert unknown.state is State.CONFIRMED
    assert unknown.outcome_unknown is CallKind.START_PAYMENT
    paid = world.service.reconcile(confirmed.id)
    assert paid.state is State.PAID and paid.order == world.fake.orders[paid.selection_id]["order"]
    assert paid.outcome_unknown is None and len(world.fake.orders) == 1


def test_a_caller_waits_for_a_held_claim_and_gives_up_after_the_bound(world: World) -> None:
    pending = world.pending()
    world.store.acquire_claim(pending.id, "someone-else", world.clock.now(), timedelta(minutes=5))
    with pytest.raises(ClaimTimeout):
        world.service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 0
    assert world.store.load(pending.id) == pending


def test_an_expired_claim_is_taken_over(world: World) -> None:
    pending = world.pending()
    world.store.acquire_claim(pending.id, "crashed", world.clock.now(), timedelta(seconds=1))
    paid = world.service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID


def test_an_idempotency_key_replays_the_first_result(world: World) -> None:
    checkout = world.service.open()
    first = world.service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    again = world.service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    assert again == first and world.fake.calls[CallKind.ADD_ITEM] == 1
    assert world.store.load(checkout.id).items[0].quantity == 1


def test_an_idempotency_key_with_other_parameters_is_refused_by_name(world: World) -> None:
    checkout = world.service.open()
    world.service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReused, match="k1"):
        world.service.add_item(checkout.id, SEED_ITEM, 2, idempotency_key="k1")


def test_an_idempotency_key_expires(world: World) -> None:
    checkout = world.service.open()
    world.service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    world.clock.advance(timedelta(hours=25).total_seconds())
    world.service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="k1")
    assert world.fake.calls[CallKind.ADD_ITEM] == 2


async def test_the_async_service_runs_the_same_flow(world: World) -> None:
    service = AsyncCheckoutService(
        transport=Awaited(world.fake), store=AsyncMemoryStore(), clock=world.clock
    )
    checkout = await service.open()
    await service.add_item(checkout.id, SEED_ITEM, 1)
    await service.confirm(checkout.id, seed_details())
    await service.start_payment(checkout.id)
    paid = await service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    again = await service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID and again == paid
    assert world.fake.calls[CallKind.PAYMENT_RESULT] == 1


def test_details_are_stored_and_sent_with_the_selection(world: World) -> None:
    confirmed = world.confirmed()
    assert isinstance(confirmed.details, PaymentRequest)
    assert confirmed.details.address.email == "hhh@maximilliangeorge.com"


def test_an_add_item_whose_answer_was_lost_is_read_back_instead_of_doubled(world: World) -> None:
    checkout = world.service.open()
    lossy = CheckoutService(
        transport=LosesAnswers(world.fake, {CallKind.ADD_ITEM}),
        store=world.store,
        clock=world.clock,
    )
    added = lossy.add_item(checkout.id, SEED_ITEM, 1)
    assert [(i.item, i.quantity) for i in added.items] == [(SEED_ITEM, 1)]
    assert added.history[-1].event is Event.ADD_ITEM
    assert world.fake.calls[CallKind.READ_SELECTION] == 1


def test_a_lost_cart_change_that_did_not_happen_is_reported_and_changes_nothing(
    world: World,
) -> None:
    checkout = world.service.open()

    never = CentraUnavailable("add_item", "connection reset before sending")
    lossy = CheckoutService(
        transport=Script(world.fake, {CallKind.ADD_ITEM: [never]}),
        store=world.store,
        clock=world.clock,
    )
    with pytest.raises(CentraUnavailable):
        lossy.add_item(checkout.id, SEED_ITEM, 1)
    assert world.store.load(checkout.id) == checkout


def test_a_refused_payment_result_for_a_selection_that_is_already_an_order_ends_paid(
    world: World,
) -> None:
    pending = world.pending()
    # Centra took the order (say, through another client), then refuses a second result.
    assert pending.selection_id is not None
    world.fake.send(PaymentResult(pending.selection_id, SEED_PAYMENT_FIELDS))
    paid = world.service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID and paid.receipt is not None
    assert paid.order == world.fake.orders[pending.selection_id]["order"]
    assert len(world.fake.orders) == 1
