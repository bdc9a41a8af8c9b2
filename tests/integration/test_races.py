"""Callers racing ``complete_payment`` on the same checkouts: one payment result, one receipt.

16 threads in one process, and separately 8 processes, each complete the payment of the
same 200 checkouts in the same order, on SQLite and on PostgreSQL. The fake (in this process)
counts the payment results per selection (``FaultPlan.reached``, by ``CallKind``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.ports import Store
from orderflow.service import CheckoutService
from tests.integration import support
from tests.integration.support import RACE_SETTINGS, Outcome, PickledFake, StoreSpec
from tests.integration.tally import Tally, tally

CHECKOUTS = 200
THREADS = 16
PROCESSES = 8

pytestmark = pytest.mark.slow


def _world(spec: StoreSpec) -> tuple[FakeCentra, FaultPlan, Store, list[Checkout]]:
    # Latency at the payment result widens the window in which the racers overlap.
    plan = FaultPlan(seed=2026).latency(CallKind.PAYMENT_RESULT, 0.001, 0.004)
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * CHECKOUTS}, faults=plan)
    store = spec.open()
    service = CheckoutService(transport=fake, store=store, settings=RACE_SETTINGS)
    return fake, plan, store, support.pending_checkouts(service, CHECKOUTS)


def _complete_all(service: CheckoutService, ids: Sequence[str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for checkout_id in ids:
        try:
            paid = service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)
            outcomes.append(("order", paid.order or f"no order in state {paid.state}"))
        except Exception as error:  # collected: the assertion shows every one
            outcomes.append(("error", repr(error)))
    return outcomes


def _assert_one_order_each(
    fake: FakeCentra,
    plan: FaultPlan,
    store: Store,
    checkouts: list[Checkout],
    outcomes: list[list[Outcome]],
    counted: Tally,
) -> None:
    for checkout in checkouts:
        stored = store.load(checkout.id)
        order = fake.orders.get(checkout.selection_id or "")
        counted.run(
            lost=order is None or stored.order != order["order"],
            doubled=plan.reached[CallKind.PAYMENT_RESULT, checkout.selection_id] > 1,
        )
    assert (counted.lost, counted.doubled) == (0, 0), str(counted)
    errors = [o for caller in outcomes for o in caller if o[0] == "error"]
    assert errors == []
    assert fake.calls[CallKind.PAYMENT_RESULT] == len(checkouts)
    assert len(fake.orders) == len(checkouts)
    for index, checkout in enumerate(checkouts):
        assert checkout.selection_id is not None
        assert plan.reached[CallKind.PAYMENT_RESULT, checkout.selection_id] == 1
        order = fake.orders[checkout.selection_id]["order"]
        assert {caller[index] for caller in outcomes} == {("order", order)}
        stored = store.load(checkout.id)
        assert stored.state is State.PAID and stored.order == order
        assert stored.outcome_unknown is None


def test_payment_result_reaches_centra_once_per_checkout_when_16_threads_race(
    store_spec: StoreSpec,
) -> None:
    with tally("complete_payment, 16 threads x 200 checkouts", store_spec) as counts:
        _race_threads(store_spec, counts)


def _race_threads(store_spec: StoreSpec, counts: Tally) -> None:
    fake, plan, store, checkouts = _world(store_spec)
    ids = [c.id for c in checkouts]
    counted = support.ClaimCounter(store)
    service = CheckoutService(
        transport=fake,
        store=counted,
        settings=RACE_SETTINGS,
    )
    start = threading.Barrier(THREADS)
    outcomes: list[list[Outcome]] = [[] for _ in range(THREADS)]

    def racer(index: int) -> None:
        start.wait()
        outcomes[index] = _complete_all(service, ids)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert all(len(caller) == CHECKOUTS for caller in outcomes)
        _assert_one_order_each(fake, plan, store, checkouts, outcomes, counts)
        assert counted.refused > 0  # the racers really overlapped
    finally:
        support.close(store)


def test_payment_result_reaches_centra_once_per_checkout_when_8_processes_race(
    store_spec: StoreSpec,
) -> None:
    with tally("complete_payment, 8 processes x 200 checkouts", store_spec) as counts:
        _race_processes(store_spec, counts)


def _race_processes(store_spec: StoreSpec, counts: Tally) -> None:
    fake, plan, store, checkouts = _world(store_spec)
    ids = [c.id for c in checkouts]
    ctx = support.context()
    start = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    with PickledFake(fake) as server:
        racers = [
            ctx.Process(
                target=support.report,
                args=(
                    results,
                    i,
                    support.race_worker,
                    store_spec,
                    server.address,
                    server.authkey,
                    ids,
                    start,
                ),
            )
            for i in range(PROCESSES)
        ]
        for racer in racers:
            racer.start()
        reported = [results.get(timeout=120) for _ in racers]
        for racer in racers:
            racer.join(timeout=30)
    try:
        assert [r for r in reported if r[1] != "ok"] == []
        outcomes = [outcome for _, _, (outcome, _) in sorted(reported)]
        assert all(len(caller) == CHECKOUTS for caller in outcomes)
        _assert_one_order_each(fake, plan, store, checkouts, outcomes, counts)
        assert sum(refused for _, _, (_, refused) in reported) > 0  # they really overlapped
    finally:
        support.close(store)
