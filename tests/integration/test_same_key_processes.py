"""One idempotency key from two processes at once, for ``open``, ``add_item`` and
``start_payment``: Centra acts once and both callers get the same result.

Two worker processes, each with its own store and ``ShopApiClient`` against one ``FakeServer``,
run the same rounds in lockstep (a barrier per round): both send the round's command with the
round's key at the same moment. The fake answers those calls slowly, so the second caller
finds the key reserved and waits for the first one's result; in half the rounds the second
process comes 20 ms later and waits only 20 ms, so it is told the key is in flight
(``IdempotencyKeyInFlight``) and asks again until the result is there. The fake's own answers
(``Ledger.answered``) say how often Centra acted.
"""

from __future__ import annotations

from datetime import timedelta

from orderflow import codec
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.calls import CallKind, ReadSelection
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import tally

REPEATS = 4
PAY = CallKind.START_PAYMENT
COMMANDS = ("open", "add_item", "start_payment")
CALLED = {
    "open": CallKind.CREATE_SELECTION,
    "add_item": CallKind.ADD_ITEM,
    "start_payment": CallKind.START_PAYMENT,
}
SETTINGS = ServiceSettings(
    claim_lease=timedelta(seconds=60), claim_wait=timedelta(seconds=5), claim_poll=0.01
)
"""A patient waiter waits up to 5 s for the other caller's result."""


def test_one_key_from_two_processes_at_once_makes_centra_act_once(store_spec: StoreSpec) -> None:
    fake = FakeCentra.seeded()
    ledger = wire.Ledger(fake, FaultPlan(0))
    rounds: list[wire.Round] = []
    with (
        tally(
            "one idempotency key from 2 processes (open, add_item, start_payment)", store_spec
        ) as t,
        support.opened(store_spec) as store,
        wire.serving(fake, ledger) as server,
    ):
        setup = CheckoutService(transport=fake, store=store, settings=SETTINGS)
        for index in range(REPEATS):
            for command in COMMANDS:
                if command == "open":
                    target = None
                elif command == "add_item":
                    target = setup.open().id
                else:
                    target = wire.to_state(setup, State.CONFIRMED, wire.INSTANT).id
                rounds.append((command, target, f"key-{command}-{index}", index % 2 == 1))
        opened_before = ledger.made(CallKind.CREATE_SELECTION, None)
        slow = (CallKind.CREATE_SELECTION, CallKind.ADD_ITEM, CallKind.START_PAYMENT)
        ledger.plan = FaultPlan(5)
        for kind in slow:
            ledger.plan.latency(kind, 0.05, 0.08)

        ctx = support.context()
        start = ctx.Barrier(2)
        results = ctx.Queue()
        workers = [
            ctx.Process(
                target=support.report,
                args=(
                    results,
                    i,
                    wire.same_key_worker,
                    store_spec,
                    server.base_url,
                    rounds,
                    start,
                    SETTINGS,
                    i == 1,
                ),
            )
            for i in range(2)
        ]
        for worker in workers:
            worker.start()
        reported = sorted(results.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(timeout=30)
        assert [r[1] for r in reported] == ["ok", "ok"], reported
        (first, waited_a, in_flight_a), (second, waited_b, in_flight_b) = (r[2] for r in reported)
        t.notes["rounds where a caller waited"] = len(waited_a | waited_b)
        t.notes["told in flight"] = in_flight_a + in_flight_b

        problems = []
        for (command, _, key, _), a, b in zip(rounds, first, second, strict=True):
            if a[0] != "ok" or b[0] != "ok":
                problems.append((command, key, a, b))
                t.run(lost=command == "start_payment")
                continue
            got_a, got_b = (codec.loads(r[1], Checkout) for r in (a, b))
            stored = store.load(got_a.id)
            selection = got_a.selection_id
            acted = ledger.made(CALLED[command], selection if command != "open" else None)
            same = got_a == got_b == stored
            if command == "open":
                acted = 1  # counted for all open rounds together, below
            elif command == "add_item":
                cart = fake.send(ReadSelection(selection or ""))
                same = same and cart == stored.cart and [i.quantity for i in stored.items] == [1]
            else:
                receipt = wire.receipt_at_centra(fake, selection)
                same = same and stored.state is State.PAID and stored.receipt == receipt
            t.run(
                lost=command == "start_payment" and not same,
                doubled=command == "start_payment" and ledger.doubled(selection, PAY),
            )
            if not same or acted != 1:
                problems.append((command, key, same, acted))
        opened = ledger.made(CallKind.CREATE_SELECTION, None) - opened_before
        assert (t.lost, t.doubled) == (0, 0), (str(t), problems)
        assert problems == []
        assert opened == REPEATS  # one selection per open round, whoever asked first
        # In every round, one caller found the key held by the other, and waited for its result.
        assert waited_a | waited_b == {key for _, _, key, _ in rounds}
        assert in_flight_b > 0  # the impatient rounds: told in flight, asked again, same result
