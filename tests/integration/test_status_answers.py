"""408, 409, 425, 429, 404 and 5xx at each payment call, before and after Centra acted.

Each case answers the first start-payment (paying by instant success: it makes the order) or
the first payment result (Klarna) with one status over HTTP (``ShopApiClient`` against
``FakeServer``): instead of acting, or after acting for 404, 409 and 5xx (``status(...,
acted=True)``). 408, 425 and 429 say Centra did not act, so they come only before: the
checkout is left as it was, unmarked, and never declined. The others leave the write-ahead
marker. Then the next attempt (the same call again, or ``reconcile`` and then the call if no
order was found) must end ``paid`` with exactly one order, nothing made twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import Fault, FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import tally

PAY, RESULT = CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT
BUSY = {408: None, 425: None, 429: 1}
"""Statuses that say Centra did not act, and the ``Retry-After`` each is sent with."""
UNSETTLED = (404, 409, 500, 502, 503)
"""Statuses that settle nothing: sent before Centra acted, or after."""
CASES = [
    (kind, code, acted, then)
    for kind in (PAY, RESULT)
    for code, acted in [
        *((c, False) for c in BUSY),
        *((c, a) for c in UNSETTLED for a in (False, True)),
    ]
    for then in ("retry", "reconcile")
]
SETTINGS = ServiceSettings(claim_poll=0.005)


def _pay(service: CheckoutService, kind: CallKind, checkout_id: str) -> Checkout:
    if kind is PAY:
        return service.start_payment(checkout_id)
    return service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)


def test_each_status_at_each_payment_call_ends_in_exactly_one_order_on_the_next_attempt(
    store_spec: StoreSpec,
) -> None:
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10 * len(CASES)})
    ledger = wire.Ledger(fake, FaultPlan(0))
    problems: list[Any] = []
    first_errors: Counter[str] = Counter()
    with (
        tally(
            "408/409/425/429/404/5xx at each payment call, then retry or reconcile", store_spec
        ) as t,
        support.opened(store_spec) as store,
        wire.serving(fake, ledger) as server,
        wire.client(server.base_url) as transport,
    ):
        setup = CheckoutService(transport=fake, store=store, settings=SETTINGS)
        service = CheckoutService(transport=transport, store=store, settings=SETTINGS)
        for index, (kind, code, acted, then) in enumerate(CASES):
            case = (kind.value, code, "after acting" if acted else "before acting", then)
            method = wire.INSTANT if kind is PAY else wire.KLARNA
            ledger.plan = FaultPlan(index)
            before = wire.to_state(
                setup, State.CONFIRMED if kind is PAY else State.PAYMENT_PENDING, method
            )
            ledger.plan = FaultPlan(index).status(kind, code, BUSY.get(code), acted, on_calls={1})
            selection = before.selection_id
            try:
                _pay(service, kind, before.id)
            except OrderflowError as error:
                raised: OrderflowError | None = error
            else:
                raised = None
            first_errors[type(raised).__name__] += 1
            after_error = store.load(before.id)
            if code in BUSY:  # Centra did not act: told so, with Retry-After; nothing marked
                told = isinstance(raised, CentraUnavailable) and (
                    (raised.status, raised.retry_after) == (code, BUSY[code])
                )
                if not told or after_error.outcome_unknown is not None:
                    problems.append((case, repr(raised), after_error.outcome_unknown))
            elif not isinstance(raised, OutcomeUnknown) or after_error.outcome_unknown is not kind:
                problems.append((case, repr(raised), after_error.outcome_unknown))
            if after_error.state is not before.state:  # never declined, never moved on
                problems.append((case, "moved to", after_error.state, after_error.last_error))

            try:
                if then == "reconcile":
                    checkout = service.reconcile(before.id)
                    if checkout.state is not State.PAID:
                        assert not acted, "reconcile found no order that Centra made"
                        checkout = _pay(service, kind, before.id)
                else:
                    checkout = _pay(service, kind, before.id)
            except (OrderflowError, AssertionError) as error:
                problems.append((case, "next attempt", repr(error)))
                checkout = store.load(before.id)
            receipt = wire.receipt_at_centra(fake, selection)
            kept = checkout.state is State.PAID and receipt == checkout.receipt
            stored = store.load(before.id)
            kept = kept and stored == checkout and stored.outcome_unknown is None
            t.run(lost=not kept, doubled=ledger.doubled(selection, kind))
            if not kept:
                problems.append((case, "ended", stored.state, stored.order, receipt is not None))
            if ledger.made(kind, selection) != 1 or len(ledger.plan.injected(Fault.STATUS)) != 1:
                problems.append((case, "made", ledger.made(kind, selection)))
            if kind is PAY and fake.calls[RESULT] != 0:
                problems.append((case, "a payment result after an instant success"))
        t.notes["first call raised"] = dict(first_errors)
        assert (t.lost, t.doubled) == (0, 0), (str(t), problems)
        assert problems == []


def test_a_busy_payment_result_is_never_stored_as_a_decline(store_spec: StoreSpec) -> None:
    fake = FakeCentra.seeded()
    ledger = wire.Ledger(fake, FaultPlan(0))
    with (
        support.opened(store_spec) as store,
        wire.serving(fake, ledger) as server,
        wire.client(server.base_url) as transport,
    ):
        setup = CheckoutService(transport=fake, store=store, settings=SETTINGS)
        service = CheckoutService(transport=transport, store=store, settings=SETTINGS)
        for code, retry_after in BUSY.items():
            ledger.plan = FaultPlan(code)
            pending = wire.to_state(setup, State.PAYMENT_PENDING)
            ledger.plan = FaultPlan(code).status(RESULT, code, retry_after, on_calls={1, 2})
            for _ in range(2):  # twice busy: still pending, no decline, nothing remembered
                with pytest.raises(CentraUnavailable) as busy:
                    service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
                assert (busy.value.status, busy.value.retry_after) == (code, retry_after)
                stored = store.load(pending.id)
                assert stored.state is State.PAYMENT_PENDING, code
                assert (stored.last_error, stored.outcome_unknown) == (None, None), code
                assert [r.dest for r in stored.history] == [r.dest for r in pending.history]
            paid = service.complete_payment(pending.id, SEED_PAYMENT_FIELDS)
            assert paid.state is State.PAID, code
            assert ledger.made(RESULT, paid.selection_id) == 1, code
        assert len(fake.orders) == len(BUSY)
