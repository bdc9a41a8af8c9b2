"""Lost answers, 5xx, timeouts and 410 at the payment calls: the store ends where Centra is.

A seeded ``FaultPlan`` loses the answers of ``start_payment`` and ``payment_result`` after
Centra acted (and injects the other faults around them). A payment call whose answer is unknown
keeps its marker (``outcome_unknown``) in the state it was called from: a start-payment stays
``confirmed``, a payment result ``payment_pending``. ``reconcile`` then ends every marked or
pending checkout in the state Centra holds, paid exactly when the fake has its order; the same
payment call again finishes the rest without a second order-making call.
"""

from __future__ import annotations

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import Fault, FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown
from orderflow.flow import State
from orderflow.ports import Store
from orderflow.service import CheckoutService
from tests.integration import support
from tests.integration.support import StoreSpec
from tests.integration.tally import Tally, tally

CHECKOUTS = 120
SEED = 20260101
SETTINGS = ServiceSettings(claim_poll=0.005)
PAY, RESULT = CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT
INJECTED = (
    Fault.LATENCY,
    Fault.TIMEOUT_BEFORE,
    Fault.TIMEOUT_AFTER,
    Fault.STATUS,
    Fault.OUT_OF_STOCK,
)
"""The faults ``_plan`` injects (a server error is a ``STATUS``)."""


def _plan() -> FaultPlan:
    plan = FaultPlan(SEED, sleep=lambda _: None).latency("*", 0.0005, 0.002)
    for kind in (PAY, RESULT):
        plan.timeout_after(kind, probability=0.3)
        plan.timeout_before(kind, probability=0.1)
        plan.server_error(kind, probability=0.1)
        plan.out_of_stock(kind, probability=0.05)
    return plan


def _assert_as_centra_holds(fake: FakeCentra, store: Store, ids: list[str]) -> list[Checkout]:
    """Paid exactly when the fake has the order, with its number."""
    stored = [store.load(checkout_id) for checkout_id in ids]
    for checkout in stored:
        order = fake.orders.get(checkout.selection_id or "")
        assert (checkout.state is State.PAID) == (order is not None), checkout.id
        if order is not None:
            assert checkout.order == order["order"]
    return stored


def _reconcile_all(service: CheckoutService, ids: list[str]) -> None:
    for checkout_id in ids:
        checkout = service.get(checkout_id)
        if checkout.outcome_unknown is not None or checkout.state is State.PAYMENT_PENDING:
            service.reconcile(checkout_id)


def test_reconcile_ends_every_checkout_in_the_state_centra_holds_after_lost_answers(
    store_spec: StoreSpec,
) -> None:
    with tally("lost answers, 5xx, 410 at both payment calls (in process)", store_spec) as t:
        _lose_and_reconcile(store_spec, t)


def _lose_and_reconcile(store_spec: StoreSpec, counts: Tally) -> None:
    plan = _plan()
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * CHECKOUTS}, faults=plan)
    store = store_spec.open()
    service = CheckoutService(transport=fake, store=store, settings=SETTINGS)
    try:
        ids = []
        instant = set()
        for index in range(CHECKOUTS):
            # Every third pays at once (start_payment makes the order), the rest by Klarna.
            method = "instant-success" if index % 3 == 0 else "klarna-playground"
            checkout = service.open()
            service.add_item(checkout.id, SEED_ITEM, 1)
            service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))
            ids.append(checkout.id)
            if index % 3 == 0:
                instant.add(checkout.selection_id)
        unexplained: list[BaseException] = []
        for checkout_id in ids:
            try:
                if service.start_payment(checkout_id).state is State.PAYMENT_PENDING:
                    service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)
            except (OutcomeUnknown, CentraUnavailable):
                pass  # injected: marked where the call was made, or unchanged
            except OrderflowError as error:
                unexplained.append(error)
        assert unexplained == []
        lost = plan.injected(Fault.TIMEOUT_AFTER)
        assert {i.kind for i in lost} == {PAY, RESULT}
        assert all(plan.injected(fault) for fault in INJECTED)
        # An unknown start-payment stays confirmed with its marker; it never moves on alone.
        marked = [c for c in map(store.load, ids) if c.outcome_unknown is PAY]
        assert marked and {c.state for c in marked} == {State.CONFIRMED}

        _reconcile_all(service, ids)  # reconcile's reads are never faulted here
        stored = _assert_as_centra_holds(fake, store, ids)
        assert all(c.outcome_unknown is None for c in stored)
        lost_results = {i.selection for i in lost if i.kind is RESULT}
        assert lost_results <= {c.selection_id for c in stored if c.state is State.PAID}
        lost_instant = {i.selection for i in lost if i.kind is PAY} & set(fake.orders)
        assert lost_instant  # some lost start-payments had made the order: reconciled to paid
        assert lost_instant <= {c.selection_id for c in stored if c.state is State.PAID}

        # Finish the rest without faults: the same payment call again, never a second order.
        plan.clear()
        for checkout in stored:
            if checkout.state is State.CONFIRMED:  # nothing started, or no order at Centra
                service.start_payment(checkout.id)
            if service.get(checkout.id).state is State.PAYMENT_PENDING:
                service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        final = _assert_as_centra_holds(fake, store, ids)
        for checkout in final:
            selection = checkout.selection_id
            order = fake.orders.get(selection or "")
            order_making = PAY if selection in instant else RESULT
            counts.run(
                lost=order is not None and checkout.order != order["order"],
                doubled=plan.reached[order_making, selection] > 1
                or plan.reached[RESULT, selection] > 1,
            )
        assert (counts.lost, counts.doubled) == (0, 0), counts
        assert len(fake.orders) == sum(c.state is State.PAID for c in final)
        assert {c.state for c in final} <= {State.PAID, State.SELECTION, State.PAYMENT_FAILED}
    finally:
        support.close(store)


@pytest.mark.parametrize("kind", [PAY, RESULT])
def test_a_lost_answer_then_the_same_payment_call_again_makes_exactly_one_order(
    store_spec: StoreSpec, kind: CallKind
) -> None:
    plan = FaultPlan(SEED).timeout_after(kind, on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    store = store_spec.open()
    service = CheckoutService(transport=fake, store=store, settings=SETTINGS)
    try:
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        method = "instant-success" if kind is PAY else "klarna-playground"
        service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))
        if kind is PAY:
            with pytest.raises(OutcomeUnknown):
                service.start_payment(checkout.id)
            marked = store.load(checkout.id)
            assert (marked.state, marked.outcome_unknown) == (State.CONFIRMED, PAY)
            paid = service.start_payment(checkout.id)  # asks Centra first: the order is there
        else:
            service.start_payment(checkout.id)
            with pytest.raises(OutcomeUnknown):
                service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
            marked = store.load(checkout.id)
            assert (marked.state, marked.outcome_unknown) == (State.PAYMENT_PENDING, RESULT)
            paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        assert paid.state is State.PAID and paid.outcome_unknown is None
        assert len(fake.orders) == 1 and paid.order == fake.orders[paid.selection_id or ""]["order"]
        assert fake.calls[RESULT] == (1 if kind is RESULT else 0)
        assert fake.calls[PAY] == 1
        assert fake.calls[CallKind.READ_SELECTION] == 1  # the look-up before calling again
        assert [i.fault for i in plan.log] == [Fault.TIMEOUT_AFTER]
    finally:
        support.close(store)
