"""``FaultPlan``: seeded, so a run repeats; schedules; the log; lost answers as core errors."""

from __future__ import annotations

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import Fault, FaultPlan, Injection
from orderflow.adapters.fake.seed import SEED_ITEM, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown, OutOfStock
from orderflow.service import CheckoutService


def _run(seed: int) -> tuple[list[Injection], list[str]]:
    plan = FaultPlan(seed, sleep=lambda _: None).latency("*", 0.001, 0.002, probability=0.3)
    for fault in (plan.server_error, plan.timeout_before, plan.timeout_after, plan.out_of_stock):
        fault("start_payment", probability=0.2)
    fake = FakeCentra.seeded(faults=plan)
    service = CheckoutService(transport=fake, store=MemoryStore())
    outcomes = []
    for _ in range(30):
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        service.confirm(checkout.id, seed_details())
        try:
            outcomes.append(service.start_payment(checkout.id).state.value)
        except OrderflowError as error:
            outcomes.append(type(error).__name__)
    return plan.log, outcomes


def test_the_same_seed_injects_the_same_faults_and_another_seed_others() -> None:
    first, second, other = _run(7), _run(7), _run(8)
    assert first == second
    assert first != other
    assert {i.fault for i in first[0]} == set(Fault)


def test_a_schedule_hits_exactly_the_calls_it_names_and_the_log_says_so() -> None:
    plan = FaultPlan(1).server_error("create_selection", status=502, on_calls={2})
    fake = FakeCentra.seeded(faults=plan)
    fake.create_selection()
    with pytest.raises(CentraUnavailable) as unavailable:
        fake.create_selection()
    fake.create_selection()
    assert unavailable.value.status == 502
    assert plan.log == [Injection("create_selection", None, 2, Fault.SERVER_ERROR)]
    assert fake.calls["create_selection"] == 3 and plan.reached["create_selection", None] == 2


@pytest.mark.parametrize("fault", [Fault.TIMEOUT_BEFORE, Fault.TIMEOUT_AFTER])
def test_a_lost_answer_is_outcome_unknown_at_payment_calls_and_unavailable_elsewhere(
    fault: Fault,
) -> None:
    plan = FaultPlan(1)
    lose = plan.timeout_before if fault is Fault.TIMEOUT_BEFORE else plan.timeout_after
    lose("add_item", on_calls={1})
    lose("start_payment", on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    selection = fake.create_selection().selection_id
    with pytest.raises(CentraUnavailable):
        fake.add_item(selection, SEED_ITEM, 1)
    acted = fault is Fault.TIMEOUT_AFTER
    assert bool(fake.read_selection(selection).selection.items) == acted
    if not acted:
        fake.add_item(selection, SEED_ITEM, 1)
    with pytest.raises(OutcomeUnknown):
        fake.start_payment(selection, seed_details())
    assert plan.reached["start_payment", selection] == int(acted)


def test_a_410_at_the_payment_result_is_out_of_stock() -> None:
    plan = FaultPlan(1).out_of_stock("payment_result", on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    selection = fake.create_selection().selection_id
    fake.add_item(selection, SEED_ITEM, 1)
    fake.start_payment(selection, seed_details())
    with pytest.raises(OutOfStock):
        fake.payment_result(selection, {"klarna_order": "x"})
    assert fake.orders == {}


def test_a_plan_refuses_an_unknown_endpoint_and_a_bad_probability() -> None:
    with pytest.raises(ValueError, match="no endpoint"):
        FaultPlan(1).timeout_after("pay")
    with pytest.raises(ValueError, match="probability"):
        FaultPlan(1).timeout_after("payment_result", probability=2)
