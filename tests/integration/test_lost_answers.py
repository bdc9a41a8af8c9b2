"""Lost answers, 5xx, timeouts and 410 at the payment calls: the store ends where Centra is.

A seeded ``FaultPlan`` loses the answers of ``start_payment`` and ``payment_result`` after
Centra acted (and injects the other faults around them). ``reconcile`` then ends every
pending checkout in the state Centra holds, paid exactly when the fake has its order; a
repeated ``complete_payment`` finishes the rest without a second payment result.
"""

from __future__ import annotations

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import Fault, FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown
from orderflow.flow import State
from orderflow.ports import Store
from orderflow.service import CheckoutService
from tests.integration import support
from tests.integration.support import StoreSpec

CHECKOUTS = 120
SEED = 20260101
SETTINGS = ServiceSettings(claim_poll=0.005)


def _plan() -> FaultPlan:
    plan = FaultPlan(SEED, sleep=lambda _: None).latency("*", 0.0005, 0.002)
    for endpoint in ("start_payment", "payment_result"):
        plan.timeout_after(endpoint, probability=0.3)
        plan.timeout_before(endpoint, probability=0.1)
        plan.server_error(endpoint, probability=0.1)
        plan.out_of_stock(endpoint, probability=0.05)
    return plan


def _assert_as_centra_holds(fake: FakeCentra, store: Store, ids: list[str]) -> list[Checkout]:
    """Paid exactly when the fake has the order, with its number; at most one payment result
    per selection."""
    stored = [store.load(checkout_id) for checkout_id in ids]
    for checkout in stored:
        order = fake.orders.get(checkout.selection_id or "")
        assert (checkout.state is State.PAID) == (order is not None), checkout.id
        if order is not None:
            assert checkout.order == order["order"]
    return stored


def _reconcile_all(service: CheckoutService, ids: list[str]) -> None:
    for checkout_id in ids:
        if service.get(checkout_id).state is State.PAYMENT_PENDING:
            service.reconcile(checkout_id)


def test_reconcile_ends_every_checkout_in_the_state_centra_holds_after_lost_answers(
    store_spec: StoreSpec,
) -> None:
    plan = _plan()
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * CHECKOUTS}, faults=plan)
    store = store_spec.open()
    service = CheckoutService(transport=fake, store=store, settings=SETTINGS)
    try:
        ids = []
        for index in range(CHECKOUTS):
            # Every third pays at once (start_payment makes the order), the rest by Klarna.
            method = "instant-success" if index % 3 == 0 else "klarna-playground"
            checkout = service.open()
            service.add_item(checkout.id, SEED_ITEM, 1)
            service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))
            ids.append(checkout.id)
        unexplained: list[BaseException] = []
        for checkout_id in ids:
            try:
                if service.start_payment(checkout_id).state is State.PAYMENT_PENDING:
                    service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)
            except (OutcomeUnknown, CentraUnavailable):
                pass  # injected: pending with the marker, or unchanged
            except OrderflowError as error:
                unexplained.append(error)
        assert unexplained == []
        lost = plan.injected(Fault.TIMEOUT_AFTER)
        assert {i.endpoint for i in lost} == {"start_payment", "payment_result"}
        assert all(plan.injected(fault) for fault in Fault)

        _reconcile_all(service, ids)  # reconcile's reads are never faulted here
        stored = _assert_as_centra_holds(fake, store, ids)
        assert all(c.outcome_unknown is None for c in stored)
        lost_results = {i.selection for i in lost if i.endpoint == "payment_result"}
        assert lost_results <= {c.selection_id for c in stored if c.state is State.PAID}

        # Finish the rest without faults: a repeated complete_payment, never a second result.
        plan.clear()
        for checkout in stored:
            if checkout.state is State.CONFIRMED:  # a 5xx: Centra did nothing
                service.start_payment(checkout.id)
            if service.get(checkout.id).state is State.PAYMENT_PENDING:
                service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        final = _assert_as_centra_holds(fake, store, ids)
        assert all(plan.reached["payment_result", c.selection_id] <= 1 for c in final)
        assert len(fake.orders) == sum(c.state is State.PAID for c in final)
        assert {c.state for c in final} <= {State.PAID, State.SELECTION, State.PAYMENT_FAILED}
    finally:
        support.close(store)


@pytest.mark.parametrize("endpoint", ["start_payment", "payment_result"])
def test_a_lost_answer_then_a_repeated_complete_payment_makes_exactly_one_order(
    store_spec: StoreSpec, endpoint: str
) -> None:
    plan = FaultPlan(SEED).timeout_after(endpoint, on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    store = store_spec.open()
    service = CheckoutService(transport=fake, store=store, settings=SETTINGS)
    try:
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        method = "instant-success" if endpoint == "start_payment" else "klarna-playground"
        service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))
        if endpoint == "start_payment":
            with pytest.raises(OutcomeUnknown):
                service.start_payment(checkout.id)
        else:
            service.start_payment(checkout.id)
            with pytest.raises(OutcomeUnknown):
                service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        assert store.load(checkout.id).outcome_unknown == endpoint
        paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        assert paid.state is State.PAID and paid.outcome_unknown is None
        assert len(fake.orders) == 1 and paid.order == fake.orders[paid.selection_id or ""]["order"]
        assert fake.calls["payment_result"] == (1 if endpoint == "payment_result" else 0)
        assert [i.fault for i in plan.log] == [Fault.TIMEOUT_AFTER]
    finally:
        support.close(store)
