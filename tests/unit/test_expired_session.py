"""A session Centra no longer knows says nothing of the checkout's selection.

The Checkout API (and the Storefront API) name the selection by the session's token; a request
whose token Centra no longer knows (it expired while the shopper was at the payment provider)
is answered as a new session: an empty selection, with a new token. Read back after a payment
call's answer was lost, that empty cart must not be taken for "the selection did not become an
order": Centra may well hold the order, so the outcome stays unknown and nothing is sent again.
"""

from __future__ import annotations

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import CallKind
from orderflow.errors import OutcomeUnknown
from orderflow.flow import State
from orderflow.service import CheckoutService
from tests.unit.test_checkout_api_support import Api
from tests.unit.test_checkout_api_tokens import _served_by, at_the_return_page

EXPIRED = "0" * 32
"""The token the checkout holds once its session expired: one Centra no longer knows."""


def _lost_payment_then_expired_session(
    fake: FakeCentra, plan: FaultPlan, store: MemoryStore, service: CheckoutService
) -> tuple[str, dict[str, str]]:
    checkout_id, fields = at_the_return_page(service)
    plan.timeout_after(CallKind.PAYMENT_RESULT)  # the order is made, its answer lost
    with pytest.raises(OutcomeUnknown):
        service.complete_payment(checkout_id, fields)
    plan.clear()
    assert len(fake.orders) == 1
    # The session expires: Centra no longer knows the token the checkout holds.
    stored = store.load(checkout_id)
    store.save(attrs.evolve(stored, token=EXPIRED), stored.version)
    return checkout_id, fields


def test_reconcile_on_an_expired_session_leaves_the_outcome_unknown() -> None:
    plan = FaultPlan(5)
    fake = FakeCentra.seeded(faults=plan)
    store = MemoryStore()
    with Api("sync", _served_by(fake)) as api:
        service = CheckoutService(transport=api.client, store=store)
        checkout_id, _ = _lost_payment_then_expired_session(fake, plan, store, service)
        with pytest.raises(OutcomeUnknown, match="could not say"):
            service.reconcile(checkout_id)
    kept = store.load(checkout_id)
    assert kept.state is State.PAYMENT_PENDING
    assert kept.outcome_unknown is CallKind.PAYMENT_RESULT  # never "no order at Centra"
    assert kept.token == EXPIRED  # a new session's token is not the checkout's


def test_a_payment_retried_on_an_expired_session_sends_nothing_again() -> None:
    plan = FaultPlan(5)
    fake = FakeCentra.seeded(faults=plan)
    store = MemoryStore()
    with Api("sync", _served_by(fake)) as api:
        service = CheckoutService(transport=api.client, store=store)
        checkout_id, fields = _lost_payment_then_expired_session(fake, plan, store, service)
        results = fake.calls[CallKind.PAYMENT_RESULT]
        with pytest.raises(OutcomeUnknown, match="could not say"):
            service.complete_payment(checkout_id, fields)
        assert fake.calls[CallKind.PAYMENT_RESULT] == results  # not posted to a new session
    kept = store.load(checkout_id)
    assert kept.state is State.PAYMENT_PENDING and kept.outcome_unknown is not None
