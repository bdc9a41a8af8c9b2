"""Unclear answers after Centra acted, at both payment calls, over HTTP: paid after at most one
reconcile, never a second payment call, never an exception that is not orderflow's.

Hypothesis draws one fault for the first payment call of a checkout, always after the fake
acted (so the order exists): a malformed 2xx in every ``malformed`` shape, a status after
acting (``status(..., acted=True)``: 404, 409, 5xx), an answer larger than the client reads
(``huge``), a gzip bomb past its decoded limit, or an answer that drips slower than the
client's deadline. The payment call goes through a ``ShopApiClient`` with small limits and a
short deadline; the one reconcile, if the call did not end paid, through an ordinary one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.malformed import SHAPES
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import OrderflowError
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import Tally, tally

PAY, RESULT = CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT
DEADLINE = 0.3
MAX_ANSWER = 200_000
MAX_DECODED = 400_000

FAULTS = st.one_of(
    st.tuples(st.just("malformed"), st.sampled_from(SHAPES)),
    st.tuples(st.just("status"), st.sampled_from([404, 409, 500, 502, 503, 504])),
    st.tuples(st.just("huge"), st.integers(MAX_ANSWER + 1, 3 * MAX_ANSWER)),
    st.tuples(st.just("gzip_bomb"), st.integers(MAX_DECODED + 1, 4 * MAX_DECODED)),
    st.tuples(st.just("drip"), st.floats(0.02, 0.2)),
)


def _plan(kind: CallKind, fault: tuple[str, Any]) -> FaultPlan:
    name, value = fault
    plan = FaultPlan(hash(fault) & 0xFFFF)
    if name == "status":
        return plan.status(kind, value, acted=True, on_calls={1})
    adding = getattr(plan, name)
    result: FaultPlan = adding(kind, value, on_calls={1})
    return result


class _World:
    def __init__(self, spec: StoreSpec, fake: FakeCentra, ledger: wire.Ledger, url: str):
        self.spec, self.fake, self.ledger = spec, fake, ledger
        self.store = spec.open()
        self.quick = wire.client(
            url, deadline=DEADLINE, max_answer_bytes=MAX_ANSWER, max_decoded_bytes=MAX_DECODED
        )
        self.steady: ShopApiClient = wire.client(url)
        self.setup = CheckoutService(transport=fake, store=self.store)
        self.paying = CheckoutService(transport=self.quick, store=self.store)
        self.reconciling = CheckoutService(transport=self.steady, store=self.store)
        self.counts: Tally
        self.endings: Counter[str] = Counter()
        self.kinds: Counter[CallKind] = Counter()

    def close(self) -> None:
        self.quick.close()
        self.steady.close()
        support.close(self.store)


@pytest.fixture
def world(store_spec: StoreSpec) -> Iterator[_World]:
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10_000})
    ledger = wire.Ledger(fake, FaultPlan(0))
    with (
        tally(
            "unclear answers after Centra acted (hypothesis), both payment calls", store_spec
        ) as counts,
        wire.serving(fake, ledger) as server,
    ):
        made = _World(store_spec, fake, ledger, server.base_url)
        made.counts = counts
        try:
            yield made
        finally:
            counts.notes["ended"] = dict(made.endings)
            made.close()
        assert (counts.lost, counts.doubled) == (0, 0), str(counts)
        drawn = {ending.partition(":")[0] for ending in made.endings}
        assert drawn == {"malformed", "status", "huge", "gzip_bomb", "drip"}, made.endings
        assert set(made.kinds) == {PAY, RESULT}, made.kinds


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from([PAY, RESULT]), fault=FAULTS)
def test_an_unclear_answer_after_centra_acted_ends_paid_after_at_most_one_reconcile(
    world: _World, kind: CallKind, fault: tuple[str, Any]
) -> None:
    world.ledger.plan = FaultPlan(0)
    method = wire.INSTANT if kind is PAY else wire.KLARNA
    start = State.CONFIRMED if kind is PAY else State.PAYMENT_PENDING
    checkout = wire.to_state(world.setup, start, method)
    selection = checkout.selection_id
    world.ledger.plan = _plan(kind, fault)
    first: Checkout | None = None
    try:
        if kind is PAY:
            first = world.paying.start_payment(checkout.id)
        else:
            first = world.paying.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    except OrderflowError as error:
        ended = f"{fault[0]}: {type(error).__name__}, reconciled"
    except Exception as error:  # not orderflow's: the failure this test looks for
        raise AssertionError(f"{fault} at {kind} raised {error!r}") from error
    else:
        ended = f"{fault[0]}: {first.state}"
    world.ledger.quiet()
    assert world.ledger.plan.log, f"{fault} was never injected"
    paid = first if first is not None and first.state is State.PAID else None
    if paid is None:
        assert world.store.load(checkout.id).outcome_unknown is kind
        paid = world.reconciling.reconcile(checkout.id)
    world.endings[ended] += 1
    world.kinds[kind] += 1
    order = world.fake.orders.get(selection or "")
    world.counts.run(
        lost=order is None or paid.state is not State.PAID or paid.order != order["order"],
        doubled=world.ledger.doubled(selection, kind),
    )
    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert order is not None and paid.order == order["order"]
    assert world.store.load(checkout.id) == paid
    assert world.ledger.made(kind, selection) == 1
    assert len(world.ledger.answered[kind, selection]) == 1  # never a second payment call
    if kind is PAY:
        assert world.ledger.answered[RESULT, selection] == []
