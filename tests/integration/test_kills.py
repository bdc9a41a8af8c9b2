"""A worker SIGKILLed at each step boundary of the flow, then resumed by another process.

Each kill point runs in its own worker process on its own checkout; one more process then
resumes every checkout to ``paid``. The killed worker's claim expires (a short lease, the real
clock), and a payment call whose answer died with the worker is settled by reading the
selection (``ReadSelection``: Centra answers the order once there is one), never by calling
payment-result again. A start-payment killed around its call stays ``confirmed`` with its
marker, and the resumer asks Centra before it starts the payment again.
"""

from __future__ import annotations

import signal
import time
import uuid
from datetime import timedelta

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.calls import CallKind
from orderflow.commands import ServiceSettings
from orderflow.errors import CheckoutNotFound
from orderflow.flow import State
from tests.integration import support
from tests.integration.support import PickledFake, StoreSpec
from tests.integration.tally import Tally, tally

pytestmark = pytest.mark.slow

STEPS = ("open", "add_item", "confirm", "start_payment", "complete_payment")
KILL_POINTS = [
    *((step, when) for step in STEPS for when in ("before_call", "after_call", "after_save")),
    ("start_payment", "after_claim"),
    ("complete_payment", "after_claim"),
]

# A lease short enough that the test does not wait long for a dead worker's claim; the resumer
# waits longer than one lease.
SETTINGS = ServiceSettings(
    claim_lease=timedelta(seconds=1), claim_wait=timedelta(seconds=10), claim_poll=0.02
)


# Where each kill leaves the stored checkout: (state, has items, write-ahead marker); None when
# the checkout was never stored.
PAY, RESULT = CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT
STOPPED_AT: dict[tuple[str, str], tuple[State, bool, CallKind | None] | None] = {
    ("open", "before_call"): None,
    ("open", "after_call"): None,
    ("open", "after_save"): (State.SELECTION, False, None),
    ("add_item", "before_call"): (State.SELECTION, False, None),
    ("add_item", "after_call"): (State.SELECTION, False, None),
    ("add_item", "after_save"): (State.SELECTION, True, None),
    ("confirm", "before_call"): (State.SELECTION, True, None),
    ("confirm", "after_call"): (State.SELECTION, True, None),
    ("confirm", "after_save"): (State.CONFIRMED, True, None),
    ("start_payment", "after_claim"): (State.CONFIRMED, True, None),
    ("start_payment", "before_call"): (State.CONFIRMED, True, PAY),
    ("start_payment", "after_call"): (State.CONFIRMED, True, PAY),
    ("start_payment", "after_save"): (State.PAYMENT_PENDING, True, None),
    ("complete_payment", "after_claim"): (State.PAYMENT_PENDING, True, None),
    ("complete_payment", "before_call"): (State.PAYMENT_PENDING, True, RESULT),
    ("complete_payment", "after_call"): (State.PAYMENT_PENDING, True, RESULT),
    ("complete_payment", "after_save"): (State.PAID, True, None),
}


def _assert_stopped_where_killed(spec: StoreSpec, ids: dict[tuple[str, str], str]) -> None:
    store = spec.open()
    try:
        for point, checkout_id in ids.items():
            try:
                checkout = store.load(checkout_id)
            except CheckoutNotFound:
                assert STOPPED_AT[point] is None, point
                continue
            found = (checkout.state, bool(checkout.items), checkout.outcome_unknown)
            assert found == STOPPED_AT[point], point
    finally:
        support.close(store)


def test_a_flow_killed_at_any_step_resumes_elsewhere_to_exactly_one_order(
    store_spec: StoreSpec,
) -> None:
    with tally("SIGKILL at each step boundary (pickled fake)", store_spec) as counts:
        _kill_and_resume(store_spec, counts)


def _kill_and_resume(store_spec: StoreSpec, counts: Tally) -> None:
    plan = FaultPlan(seed=9)  # no faults: it counts what reached the fake per selection
    fake = FakeCentra.seeded(stock={SEED_ITEM: 1000}, faults=plan)
    ids = {point: f"kill-{point[0]}-{point[1]}-{uuid.uuid4().hex[:6]}" for point in KILL_POINTS}
    ctx = support.context()
    with PickledFake(fake) as server:
        workers = {
            point: ctx.Process(
                target=support.kill_worker,
                args=(store_spec, server.address, server.authkey, ids[point], *point, SETTINGS),
            )
            for point in KILL_POINTS
        }
        for worker in workers.values():
            worker.start()
        for worker in workers.values():
            worker.join(timeout=60)
        assert {p: w.exitcode for p, w in workers.items()} == dict.fromkeys(
            KILL_POINTS, -signal.SIGKILL
        )
        _assert_stopped_where_killed(store_spec, ids)
        results = ctx.Queue()
        started = time.monotonic()
        resumer = ctx.Process(
            target=support.report,
            args=(
                results,
                0,
                support.resume_worker,
                store_spec,
                server.address,
                server.authkey,
                list(ids.values()),
                SETTINGS,
            ),
        )
        resumer.start()
        _, status, resumed = results.get(timeout=120)
        resumer.join(timeout=30)
        waited = time.monotonic() - started
    assert status == "ok", resumed
    assert [r for r in resumed.values() if r[0] != "order"] == []

    store = store_spec.open()
    try:
        paid = {point: store.load(checkout_id) for point, checkout_id in ids.items()}
    finally:
        support.close(store)
    selections = {point: checkout.selection_id or "" for point, checkout in paid.items()}
    for point, checkout in paid.items():
        order = fake.orders.get(selections[point])
        counts.run(
            lost=order is None or checkout.order != order["order"],
            doubled=plan.reached[RESULT, selections[point]] > 1,
        )
    assert (counts.lost, counts.doubled) == (0, 0), str(counts)
    # The ledger: one order per paid checkout, none lost, none doubled.
    assert all(checkout.state is State.PAID for checkout in paid.values())
    assert set(fake.orders) == set(selections.values())
    assert len(fake.orders) == len(KILL_POINTS)
    for point, checkout in paid.items():
        selection = selections[point]
        assert plan.reached[RESULT, selection] == 1, point
        assert checkout.order == fake.orders[selection]["order"] == resumed[ids[point]][1]
        assert checkout.outcome_unknown is None
    # A payment result whose answer died with its worker was read back, not repeated.
    assert plan.reached[CallKind.READ_SELECTION, selections["complete_payment", "after_call"]] == 1
    # A start-payment killed around its call: Centra was asked once, then it was started again
    # (the Klarna form makes no order, so a second start is what the shopper needs).
    for when, started in (("before_call", 1), ("after_call", 2)):
        selection = selections["start_payment", when]
        assert plan.reached[CallKind.READ_SELECTION, selection] == 1, when
        assert plan.reached[PAY, selection] == started, when
    assert waited < 30
