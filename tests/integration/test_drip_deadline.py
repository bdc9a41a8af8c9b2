"""An answer that drips slower than the client's deadline: the payment call ends in time.

Centra acts, then the fake's server sends its answer one byte per interval (``drip``), either
faster than a read times out (only the deadline, checked between chunks, can stop it) or
slower (a read times out first). A ``ShopApiClient`` with a short ``deadline`` must end the
call within the deadline plus a margin (the exchange's own bound is about 1.33 deadlines: one
read of a third of the deadline may already be waiting), and the service's command well before
its claim lease, so no other caller can take the claim while the call is still running. The
command then ends ``OutcomeUnknown`` with the marker set, and the same call again finds
Centra's order.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.calls import Call, CallKind
from orderflow.commands import ServiceSettings
from orderflow.errors import OutcomeUnknown
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import tally

PAY, RESULT = CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT
DEADLINE = 0.25
BOUND = DEADLINE * 4 / 3
"""The exchange's documented bound for a blocking client: the deadline and one third read."""
MARGIN = 0.25
"""What the test allows the client's call beyond ``BOUND`` (a loaded machine). What it took
past the deadline itself is in the tally's notes (the session's summary)."""
SETTINGS = ServiceSettings(claim_lease=timedelta(seconds=2), claim_poll=0.01)
INTERVALS = (0.02, 0.075, 0.2)
"""A byte every 20 ms and every 75 ms (just under what a read may wait, DEADLINE / 3: no read
times out, the deadline must stop it, at worst one interval late), and every 200 ms (a read
times out first)."""


class _Timed:
    """Forwards to a transport and keeps how long each call of the payment kinds took."""

    def __init__(self, inner: ShopApiClient) -> None:
        self._inner = inner
        self.took: list[float] = []

    def send(self, call: Call[Any]) -> Any:
        started = time.monotonic()
        try:
            return self._inner.send(call)
        finally:
            if call.moves_money:
                self.took.append(time.monotonic() - started)


def test_a_dripping_answer_ends_the_payment_call_within_its_deadline(
    store_spec: StoreSpec,
) -> None:
    fake = FakeCentra.seeded(stock={SEED_ITEM: 100})
    ledger = wire.Ledger(fake, FaultPlan(0))
    took: dict[str, float] = {}
    with (
        tally(f"a slow drip past ShopApiClient(deadline={DEADLINE:g})", store_spec) as t,
        support.opened(store_spec) as store,
        wire.serving(fake, ledger) as server,
        wire.client(server.base_url, deadline=DEADLINE) as quick,
        wire.client(server.base_url) as steady,
    ):
        setup = CheckoutService(transport=fake, store=store, settings=SETTINGS)
        timed = _Timed(quick)
        paying = CheckoutService(transport=timed, store=store, settings=SETTINGS)
        again = CheckoutService(transport=steady, store=store, settings=SETTINGS)
        for kind in (PAY, RESULT):
            for interval in INTERVALS:
                ledger.plan = FaultPlan(0)
                method = wire.INSTANT if kind is PAY else wire.KLARNA
                start = State.CONFIRMED if kind is PAY else State.PAYMENT_PENDING
                checkout = wire.to_state(setup, start, method)
                ledger.plan = FaultPlan(1).drip(kind, interval, on_calls={1})
                started = time.monotonic()
                with pytest.raises(OutcomeUnknown):
                    if kind is PAY:
                        paying.start_payment(checkout.id)
                    else:
                        paying.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
                served = time.monotonic() - started
                took[f"{kind.value} every {interval:g}s"] = call = timed.took[-1]
                assert call <= BOUND + MARGIN, took  # the client's own bound
                assert served < SETTINGS.claim_lease.total_seconds(), (served, took)
                assert store.load(checkout.id).outcome_unknown is kind
                ledger.quiet(within=2)  # the server stopped dripping once the client left
                if kind is PAY:
                    paid = again.start_payment(checkout.id)
                else:
                    paid = again.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
                order = fake.orders.get(paid.selection_id or "")
                t.run(
                    lost=order is None or paid.order != order["order"],
                    doubled=ledger.doubled(paid.selection_id, kind),
                )
                assert paid.state is State.PAID
                assert len(ledger.answered[kind, paid.selection_id]) == 1
        t.notes["seconds past the deadline"] = {k: round(v - DEADLINE, 3) for k, v in took.items()}
        assert (t.lost, t.doubled) == (0, 0), str(t)
