"""An order that Centra makes after the checkout left the payment states is stored, not lost.

A payment call can outlive its claim (a slow provider, a paused process); another caller then
takes over, is declined, and reopens or cancels the checkout. When the first call's order
arrives, Centra holds one order: the checkout must become ``paid`` with it. And a checkout
cancelled after a payment the shopper left can still become an order at Centra (the provider
completes it): ``reconcile`` finds it from ``cancelled`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_PAYMENT_FIELDS
from orderflow.calls import Call, PaymentResult
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.flow import Event, State
from orderflow.payment import FailedAction
from tests.unit.test_money_review_2 import SETTINGS, CrashesBeforeTheResult, Shop

_Move = Callable[[Shop, str], Checkout]


@pytest.fixture
def shop() -> Shop:
    return Shop(FakeCentra.seeded(), CrashesBeforeTheResult(), ManualClock())


def _reopen(shop: Shop, checkout_id: str) -> Checkout:
    return shop.service().reopen(checkout_id)


def _cancel(shop: Shop, checkout_id: str) -> Checkout:
    return shop.service().cancel(checkout_id)


@pytest.mark.parametrize(
    ("move", "moved_to"), [(_reopen, State.SELECTION), (_cancel, State.CANCELLED)]
)
def test_an_order_that_outlived_its_claim_is_kept_after_another_caller_moved_the_checkout_on(
    shop: Shop, move: _Move, moved_to: State
) -> None:
    checkout = shop.confirmed("instant-success")
    declined = FailedAction({"paymentMethod": "failed"})

    def outlives_its_claim(call: Call[Any]) -> Any:
        # Meanwhile: the lease runs out, a second caller takes over, is declined, moves on.
        shop.clock.advance(SETTINGS.claim_lease.total_seconds() + 1)
        second = shop.service(start_payment=[lambda _call: declined])
        assert second.start_payment(checkout.id).state is State.PAYMENT_FAILED
        assert move(shop, checkout.id).state is moved_to
        return shop.fake.send(call)  # the first call reaches Centra last: an order

    paid = shop.service(start_payment=[outlives_its_claim]).start_payment(checkout.id)

    stored = shop.store.load(checkout.id)
    assert len(shop.fake.orders) == 1
    assert paid.state is State.PAID and stored.state is State.PAID
    assert stored.order == _the_order(shop)
    assert stored.outcome_unknown is None
    assert stored.history[-1].source is moved_to
    assert stored.history[-1].event is Event.RECONCILE


def test_reconcile_finds_the_order_of_a_checkout_cancelled_after_the_shopper_left(
    shop: Shop,
) -> None:
    service = shop.service()
    pending = service.start_payment(shop.confirmed().id)
    service.fail_payment(pending.id)
    cancelled = service.cancel(pending.id)
    assert cancelled.state is State.CANCELLED
    # The provider completes the payment at Centra on its own: the selection is an order now.
    assert cancelled.selection_id is not None
    shop.fake.send(PaymentResult(cancelled.selection_id, SEED_PAYMENT_FIELDS))

    paid = service.reconcile(cancelled.id)

    assert paid.state is State.PAID and paid.order == _the_order(shop)
    assert shop.store.load(cancelled.id).state is State.PAID


@pytest.mark.parametrize("state", [State.SELECTION, State.CANCELLED])
def test_reconcile_without_an_order_leaves_a_cart_or_a_cancelled_checkout_as_it_is(
    shop: Shop, state: State
) -> None:
    service = shop.service()
    checkout = service.open()
    if state is State.CANCELLED:
        checkout = service.cancel(checkout.id)
    before = shop.store.load(checkout.id)

    after = service.reconcile(checkout.id)

    assert after.state is state and after.order is None
    assert shop.store.load(checkout.id).state is state
    assert len(shop.fake.orders) == 0 and before.state is state


def _the_order(shop: Shop) -> str:
    (receipt,) = shop.fake.orders.values()
    return str(receipt["order"])
