"""SIGKILL inside an instant-success start-payment over HTTP, then a resumer in another process.

Each round is a worker process that sets its checkout up through ``ShopApiClient`` against a
``FakeServer``, starts the payment (the instant-success method: Centra makes the order while it
answers) and is SIGKILLed a seeded time later: counted from the moment the start-payment call
leaves (three rounds in four) or from the start of ``start_payment`` (the others, so some kills
land before the write-ahead marker). The fake sleeps before it acts and after (``Ledger``'s
latency after acting), so the kill lands while the call is in flight, after Centra made the
order but before the checkout was saved, or after the save. One more process then resumes
every round: half start the payment again, half reconcile first.
Every round must end ``paid`` with Centra's one order, and no start-payment may reach Centra
once the order exists.
"""

from __future__ import annotations

import random
import signal
from collections import Counter

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.calls import CallKind
from orderflow.flow import State
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import tally

pytestmark = pytest.mark.slow

ROUNDS = 16
KILLED_WITHIN = 0.16
"""Each worker is killed this long at most after its start-payment began or its call left
(spread evenly)."""
PAY = CallKind.START_PAYMENT
ORDER_UNSAVED = "Centra made the order, the checkout never heard"
"""Where a kill lands that this scenario is about."""


def _where(checkout_state: State, marker: CallKind | None, order: bool) -> str:
    """Where a kill landed, from what the store and Centra hold once Centra is quiet."""
    if checkout_state is State.PAID:
        return "after the save"
    if marker is None:
        assert not order, "an order without the write-ahead marker"
        return "before the marker"
    return ORDER_UNSAVED if order else "marker written, Centra never acted"


def test_a_start_payment_killed_anywhere_is_resumed_elsewhere_to_exactly_one_order(
    store_spec: StoreSpec,
) -> None:
    rng = random.Random(f"kill-start-payment:{store_spec.kind}")
    kills = [
        ("start" if i % 4 == 0 else "call", KILLED_WITHIN * (i + 0.5) / ROUNDS)
        for i in range(ROUNDS)
    ]
    rng.shuffle(kills)
    plan = FaultPlan(seed=41).latency(PAY, 0.0, 0.02)
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * ROUNDS})
    ledger = wire.Ledger(fake, plan, after_acting={PAY: (0.04, 0.1)})
    ids = [f"killed-pay-{i}-{rng.randrange(16**6):06x}" for i in range(ROUNDS)]
    hows = ["start_payment" if i % 2 else "reconcile" for i in range(ROUNDS)]
    rng.shuffle(hows)
    ctx = support.context()
    with (
        tally("SIGKILL inside an instant-success start_payment", store_spec) as counts,
        wire.serving(fake, ledger) as server,
    ):
        workers = [
            ctx.Process(
                target=wire.pay_and_die,
                args=(
                    store_spec,
                    server.base_url,
                    ids[i],
                    kills[i],
                    wire.SHORT_LEASE,
                    wire.SHORT_DEADLINE,
                ),
            )
            for i in range(ROUNDS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [-signal.SIGKILL] * ROUNDS
        ledger.quiet()  # a dead worker's request is still served: let Centra finish it

        with support.opened(store_spec) as store:
            killed = {i: store.load(i) for i in ids}
        landed = {
            i: _where(c.state, c.outcome_unknown, c.selection_id in fake.orders)
            for i, c in killed.items()
        }
        counts.notes["kills"] = dict(Counter(landed.values()))
        # The window this scenario is about: Centra made the order, the checkout does not know.
        assert ORDER_UNSAVED in landed.values(), counts.notes

        results = ctx.Queue()
        resumer = ctx.Process(
            target=support.report,
            args=(
                results,
                0,
                wire.resume_payments,
                store_spec,
                server.base_url,
                list(zip(ids, hows, strict=True)),
                wire.SHORT_LEASE,
            ),
        )
        resumer.start()
        _, status, resumed = results.get(timeout=60)
        resumer.join(timeout=30)
        assert status == "ok", resumed

        with support.opened(store_spec) as store:
            final = {i: store.load(i) for i in ids}
        for checkout in final.values():
            order = fake.orders.get(checkout.selection_id or "")
            counts.run(
                lost=order is None
                or checkout.state is not State.PAID
                or checkout.order != order["order"],
                doubled=ledger.doubled(checkout.selection_id, PAY),
            )
        wrong = [  # where it was killed, how it was resumed, and what Centra answered
            (landed[i], resumed[i], c.state, [s for s, _ in ledger.answered[PAY, c.selection_id]])
            for i, c in final.items()
            if ledger.doubled(c.selection_id, PAY) or c.state is not State.PAID
        ]
        assert (counts.lost, counts.doubled) == (0, 0), (str(counts), wrong)
        for checkout_id, checkout in final.items():
            outcome, number, steps = resumed[checkout_id]
            assert (outcome, number) == ("order", checkout.order), (landed[checkout_id], steps)
            assert checkout.outcome_unknown is None
            assert ledger.made(PAY, checkout.selection_id) == 1, landed[checkout_id]
            assert fake.calls[CallKind.PAYMENT_RESULT] == 0
        assert len(fake.orders) == ROUNDS
