"""The money gate when answers come late, or cannot be checked: a refusal whose selection
cannot be read, a payment call Centra never acted on, a call that outlives its claim, a late
answer after another caller moved the checkout on.

Each case is a transport around ``FakeCentra`` that acts where Centra would have; every store
that offers the gate's one-step saves (``MemoryStore``, ``SQLiteStore``) and the plain ``Store``
path are run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraError, CentraUnavailable, OutcomeUnknown
from orderflow.flow import State
from orderflow.payment import FailedAction, RedirectAction
from orderflow.ports import Store
from orderflow.service import CheckoutService

LEASE = ServiceSettings().claim_lease


class PlainStore:
    """A store written to ``Store`` alone (no ``GateStore`` steps), over a ``MemoryStore``."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name in ("recent", "claim_and_save", "save_and_release"):
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.fixture(params=["memory", "sqlite", "plain"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "plain":
        yield PlainStore()  # type: ignore[misc]
    else:
        with SQLiteStore(tmp_path / "checkouts.db") as sqlite:
            yield sqlite


class Around:
    """Sends every call to the fake, except where ``steps`` says what happens instead."""

    def __init__(self, fake: FakeCentra, **steps: Callable[[Call[Any]], Any]) -> None:
        self.fake = fake
        self.steps = {CallKind(kind): step for kind, step in steps.items()}

    def send(self, call: Call[Any]) -> Any:
        step = self.steps.get(call.kind)
        return self.fake.send(call) if step is None else step(call)


@attrs.define
class Shop:
    fake: FakeCentra
    store: Store
    clock: ManualClock

    def service(self, transport: Any = None) -> CheckoutService:
        return CheckoutService(transport=transport or self.fake, store=self.store, clock=self.clock)

    def confirmed(self, method: str) -> Checkout:
        service = self.service()
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        return service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))


@pytest.fixture
def shop(store: Store) -> Shop:
    return Shop(FakeCentra.seeded(), store, ManualClock())


def test_a_refusal_whose_selection_cannot_be_read_leaves_the_outcome_unknown(shop: Shop) -> None:
    checkout = shop.service().start_payment(shop.confirmed("klarna-playground").id)

    def taken_then_refused(call: Call[Any]) -> Any:
        shop.fake.send(call)  # Centra made the order, then answered with a refusal
        raise CentraError(400, message="payment already processed")

    def unreadable(call: Call[Any]) -> Any:
        raise CentraUnavailable(call.label, "HTTP 503", 503)

    late = Around(shop.fake, payment_result=taken_then_refused, read_selection=unreadable)
    with pytest.raises(OutcomeUnknown):
        shop.service(late).complete_payment(checkout.id, SEED_PAYMENT_FIELDS)

    stored = shop.store.load(checkout.id)
    assert (stored.state, stored.outcome_unknown) == (State.PAYMENT_PENDING, "payment_result")
    assert [c.id for c in shop.store.find(outcome_unknown=True)] == [checkout.id]
    settled = shop.service().reconcile(checkout.id)
    assert (settled.state, settled.order, len(shop.fake.orders)) == (State.PAID, "588", 1)


def test_a_payment_result_centra_did_not_act_on_leaves_the_checkout_as_it_was(
    shop: Shop,
) -> None:
    checkout = shop.service().start_payment(shop.confirmed("klarna-playground").id)
    failed = shop.service().fail_payment(checkout.id)  # the shopper saw the failed page first

    def busy(call: Call[Any]) -> Any:
        raise CentraUnavailable(call.label, "HTTP 429", 429, retry_after=1.0)

    with pytest.raises(CentraUnavailable):
        shop.service(Around(shop.fake, payment_result=busy)).complete_payment(
            checkout.id, SEED_PAYMENT_FIELDS
        )

    stored = shop.store.load(checkout.id)
    assert stored.payment_fields == failed.payment_fields  # not the fields Centra never got
    assert (stored.state, stored.outcome_unknown) == (State.PAYMENT_FAILED, None)
    paid = shop.service().complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert (paid.state, shop.fake.calls[CallKind.PAYMENT_RESULT], len(shop.fake.orders)) == (
        State.PAID,
        1,
        1,
    )


def test_a_payment_call_after_a_long_look_up_holds_a_fresh_claim(shop: Shop) -> None:
    checkout = shop.service().start_payment(shop.confirmed("klarna-playground").id)

    def lost(call: Call[Any]) -> Any:
        raise OutcomeUnknown(call.label, "the answer was lost before Centra got it")

    with pytest.raises(OutcomeUnknown):
        shop.service(Around(shop.fake, payment_result=lost)).complete_payment(
            checkout.id, SEED_PAYMENT_FIELDS
        )
    taken_by_another: list[str] = []

    def slow_look_up(call: Call[Any]) -> Any:
        shop.clock.advance(35)  # most of the lease spent asking Centra first
        return shop.fake.send(call)

    def slow_payment(call: Call[Any]) -> Any:
        shop.clock.advance(30)  # past the claim taken before the look-up
        other = shop.store.acquire_claim(checkout.id, "another-caller", shop.clock.now(), LEASE)
        taken_by_another.append(other.owner)
        return shop.fake.send(call)

    slow = Around(shop.fake, read_selection=slow_look_up, payment_result=slow_payment)
    paid = shop.service(slow).complete_payment(checkout.id, SEED_PAYMENT_FIELDS)

    assert paid.state is State.PAID
    assert taken_by_another and taken_by_another[0] != "another-caller"
    assert (shop.fake.calls[CallKind.PAYMENT_RESULT], len(shop.fake.orders)) == (1, 1)


def test_an_order_that_comes_after_another_caller_moved_on_is_kept(shop: Shop) -> None:
    checkout = shop.confirmed("instant-success")

    def redirect(call: Call[Any]) -> Any:  # Centra answers the second caller with a redirect
        return RedirectAction("https://psp.example/redirect")

    def outlives_its_claim(call: Call[Any]) -> Any:
        shop.clock.advance(LEASE.total_seconds() + 1)
        moved = shop.service(Around(shop.fake, start_payment=redirect)).start_payment(checkout.id)
        assert moved.state is State.PAYMENT_PENDING
        return shop.fake.send(call)  # the first caller's answer: the order

    first = Around(shop.fake, start_payment=outlives_its_claim)
    paid = shop.service(first).start_payment(checkout.id)

    stored = shop.store.load(checkout.id)
    assert (paid.state, stored.state, stored.order, stored.outcome_unknown) == (
        State.PAID,
        State.PAID,
        "588",
        None,
    )
    assert len(shop.fake.orders) == 1


def test_a_stale_decline_leaves_what_another_caller_settled(shop: Shop) -> None:
    checkout = shop.confirmed("klarna-playground")

    def outlives_its_claim(call: Call[Any]) -> Any:
        shop.clock.advance(LEASE.total_seconds() + 1)
        shop.service().start_payment(checkout.id)  # the second caller: a form to fill in
        return FailedAction({"paymentMethod": "failed"})  # the first caller's stale answer

    late = shop.service(Around(shop.fake, start_payment=outlives_its_claim))
    answered = late.start_payment(checkout.id)

    stored = shop.store.load(checkout.id)
    assert (answered.state, stored.state, stored.outcome_unknown) == (
        State.PAYMENT_PENDING,
        State.PAYMENT_PENDING,
        None,
    )
    assert stored.payment_action is not None and stored.payment_action.kind == "form"
