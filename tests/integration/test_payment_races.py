"""``cancel``, ``expire``, ``reopen`` and ``fail_payment`` racing a slow ``complete_payment``.

Each round puts a checkout in ``payment_pending`` or ``payment_failed`` (the shopper landed on
the failed page), then two threads race over HTTP (``ShopApiClient`` against ``FakeServer``):
one completes the payment, whose payment result the fake answers slowly (latency before and
after it acts), the other fires a seeded sequence of the events that leave the payment, a
seeded moment later. Whatever interleaving happens, a selection that became an order is a
``paid`` checkout holding Centra's receipt: never cancelled, never back in the cart; there is at
most one order; and each racer gets an answer or one of the flow's own refusals.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.calls import CallKind
from orderflow.commands import ServiceSettings
from orderflow.errors import ConcurrencyConflict, EventNotAllowed, PaymentInFlight
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import RACE_SETTINGS, StoreSpec
from tests.integration.tally import tally

RESULT = CallKind.PAYMENT_RESULT
SEQUENCES: dict[State, list[tuple[str, ...]]] = {
    State.PAYMENT_PENDING: [
        ("fail_payment",),
        ("fail_payment", "cancel"),
        ("fail_payment", "expire"),
        ("fail_payment", "reopen"),
    ],
    State.PAYMENT_FAILED: [("cancel",), ("expire",), ("reopen",)],
}
"""From each state the race starts in, the sequences the other racer fires."""
CASES = [(state, events) for state, sequences in SEQUENCES.items() for events in sequences]
REPEATS = 6
WAVE = 7
"""Rounds raced at the same time (two threads each)."""
REFUSALS = (EventNotAllowed, PaymentInFlight, ConcurrencyConflict)
"""What a racer may be told: the flow moved on, the payment is in flight, or the checkout was
saved meanwhile. Anything else is a failure."""
SETTINGS: ServiceSettings = RACE_SETTINGS


def _race(
    service: CheckoutService,
    checkout_id: str,
    events: tuple[str, ...],
    delays: tuple[float, float],
    start: threading.Barrier,
    seen: dict[str, list[str]],
) -> None:
    def pay() -> None:
        start.wait()
        time.sleep(delays[0])
        try:
            seen["pay"].append(service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS).state)
        except REFUSALS as refused:
            seen["pay"].append(type(refused).__name__)
        except Exception as error:  # collected: the assertion shows it
            seen["unexpected"].append(repr(error))

    def leave() -> None:
        start.wait()
        time.sleep(delays[1])
        for event in events:
            try:
                seen["leave"].append(f"{event}->{getattr(service, event)(checkout_id).state}")
            except REFUSALS as refused:
                seen["leave"].append(f"{event}:{type(refused).__name__}")
            except Exception as error:  # collected: the assertion shows it
                seen["unexpected"].append(repr(error))

    threads = [threading.Thread(target=pay), threading.Thread(target=leave)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def _delays(rng: random.Random) -> tuple[float, float]:
    """When each racer starts: the payer within 10 ms; the other at once, within 10 ms (both
    before the payment's write-ahead marker, mostly) or within the slow call (after it)."""
    leave = rng.choice([0.0, rng.uniform(0, 0.01), rng.uniform(0, 0.1)])
    return rng.uniform(0, 0.01), leave


def test_a_checkout_whose_selection_became_an_order_is_paid_whatever_races_it(
    store_spec: StoreSpec,
) -> None:
    rng = random.Random(f"payment-races:{store_spec.kind}")
    plan = FaultPlan(seed=77).latency(RESULT, 0.02, 0.05)
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * len(CASES) * REPEATS})
    ledger = wire.Ledger(fake, plan, after_acting={RESULT: (0.0, 0.03)})
    rounds = [case for case in CASES for _ in range(REPEATS)]
    rng.shuffle(rounds)
    ended: Counter[str] = Counter()
    problems: list[Any] = []
    with (
        tally("cancel/expire/reopen/fail_payment racing a slow complete_payment", store_spec) as t,
        support.opened(store_spec) as store,
        wire.serving(fake, ledger) as server,
        wire.client(server.base_url) as transport,
    ):
        setup = CheckoutService(transport=fake, store=store, settings=SETTINGS)
        racing = CheckoutService(transport=transport, store=store, settings=SETTINGS)
        for first in range(0, len(rounds), WAVE):
            wave = rounds[first : first + WAVE]
            checkouts = [wire.to_state(setup, state) for state, _ in wave]
            start = threading.Barrier(2 * len(wave))
            seen: list[dict[str, list[str]]] = [
                {"pay": [], "leave": [], "unexpected": []} for _ in wave
            ]
            racers = [
                threading.Thread(
                    target=_race,
                    args=(racing, c.id, events, _delays(rng), start, seen[i]),
                )
                for i, (c, (_, events)) in enumerate(zip(checkouts, wave, strict=True))
            ]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join(timeout=60)
            ledger.quiet()
            for checkout, (state, events), said in zip(checkouts, wave, seen, strict=True):
                selection = checkout.selection_id
                stored = store.load(checkout.id)
                receipt = wire.receipt_at_centra(fake, selection)
                kept = (
                    stored.state is State.PAID and stored.receipt == receipt
                    if receipt is not None
                    else stored.state is not State.PAID
                )
                t.run(lost=not kept, doubled=ledger.doubled(selection, RESULT))
                ended[stored.state.value] += 1
                if not kept or said["unexpected"] or stored.outcome_unknown is not None:
                    problems.append((state, events, said, stored.state, receipt is not None))
        t.notes["ended"] = dict(ended)
        assert (t.lost, t.doubled) == (0, 0), (str(t), problems)
        assert problems == []
        # The race went both ways: some payments won, some were left first.
        assert ended[State.PAID.value] > 0, t.notes
        assert sum(ended.values()) > ended[State.PAID.value], t.notes
        assert len(fake.orders) == ended[State.PAID.value]
