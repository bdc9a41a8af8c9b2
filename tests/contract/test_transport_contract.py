"""One contract for every transport: the same flow, answers and errors over each.

Each test runs once per entry of ``transports.TRANSPORTS`` (FakeCentra in process; the HTTP
adapter against the fake served on a loopback port, sync and async), through ``rig``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, run_seed_flow, seed_details
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import CentraError, OutcomeUnknown, PaymentInFlight
from orderflow.flow import State
from orderflow.payment import (
    FailedAction,
    FormAction,
    PaymentAction,
    RedirectAction,
    SuccessAction,
)
from tests.contract.transports import Rig

# The provider's answer without its proof of payment: Centra declines it.
DECLINED = {"centraPaymentMethod": "klarna-playground"}


def confirmed(rig: Rig, payment_method: str = "klarna-playground") -> Checkout:
    checkout = rig.service.open()
    rig.service.add_item(checkout.id, SEED_ITEM, 1)
    details = attrs.evolve(seed_details(), payment_method=payment_method)
    return rig.service.confirm(checkout.id, details)


def pending(rig: Rig) -> Checkout:
    return rig.service.start_payment(confirmed(rig).id)


def returned_fields(action: PaymentAction | None) -> dict[str, str]:
    """What the shopper's browser posts back to the return page after this action."""
    if isinstance(action, RedirectAction):
        return dict(parse_qsl(urlsplit(action.url).query))
    assert isinstance(action, FormAction)
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', action.form_html))


def test_the_seed_flow_ends_paid_with_the_seeds_totals(rig: Rig) -> None:
    paid = run_seed_flow(rig.service)
    assert paid.state is State.PAID
    assert paid.receipt is not None
    totals = paid.receipt.totals
    assert totals is not None and totals.grand_total_price.amount == 3600
    assert totals.grand_total_price_tax is not None
    assert totals.grand_total_price_tax.amount == 720
    assert totals.grand_total_price.display == "3\u00a0600.00\u00a0SEK"
    assert rig.order_numbers() == [paid.order]
    assert rig.fake.calls["payment_result"] == 1
    assert rig.store.load(paid.id) == paid


@pytest.mark.parametrize(
    ("payment_method", "kind", "state"),
    [
        ("klarna-playground", FormAction, State.PAYMENT_PENDING),
        ("redirect-test", RedirectAction, State.PAYMENT_PENDING),
        ("instant-success", SuccessAction, State.PAID),
        ("always-decline", FailedAction, State.PAYMENT_FAILED),
    ],
)
def test_each_payment_action_kind_leads_to_its_state(
    rig: Rig, payment_method: str, kind: type[PaymentAction], state: State
) -> None:
    started = rig.service.start_payment(confirmed(rig, payment_method).id)
    assert isinstance(started.payment_action, kind)
    assert started.state is state
    if state is State.PAYMENT_PENDING:
        fields = returned_fields(started.payment_action)
        paid = rig.service.complete_payment(started.id, fields)
        assert paid.state is State.PAID
    expected_orders = 0 if state is State.PAYMENT_FAILED else 1
    assert len(rig.fake.orders) == expected_orders


def test_a_declined_payment_fails_and_a_retry_pays(rig: Rig) -> None:
    checkout = pending(rig)
    failed = rig.service.complete_payment(checkout.id, DECLINED)
    assert failed.state is State.PAYMENT_FAILED
    assert "paymentMethod" in (failed.last_error or "")
    rig.service.retry_payment(checkout.id)
    rig.service.start_payment(checkout.id)
    paid = rig.service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID
    assert rig.fake.calls["payment_result"] == 2 and len(rig.fake.orders) == 1


def test_out_of_stock_at_payment_goes_back_to_the_cart_without_the_items(rig: Rig) -> None:
    checkout = confirmed(rig)
    rig.fake.stock[SEED_ITEM] = 0
    back = rig.service.start_payment(checkout.id)
    assert back.state is State.SELECTION
    assert back.items == ()
    assert SEED_ITEM in (back.last_error or "")
    assert rig.fake.orders == {}


def test_a_voucher_takes_ten_percent_off_the_cart_and_the_order(rig: Rig) -> None:
    checkout = rig.service.open()
    rig.service.add_item(checkout.id, SEED_ITEM, 1)
    discounted = rig.service.apply_voucher(checkout.id, "WELCOME10")
    assert discounted.voucher_codes == ("WELCOME10",)
    assert discounted.cart is not None
    assert discounted.cart.selection.totals.grand_total_price.amount == 3240
    rig.service.confirm(checkout.id, seed_details())
    rig.service.start_payment(checkout.id)
    paid = rig.service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.receipt is not None and paid.receipt.totals is not None
    assert paid.receipt.totals.grand_total_price.amount == 3240


def test_an_unknown_item_is_a_field_error_and_leaves_the_checkout_unchanged(rig: Rig) -> None:
    checkout = rig.service.open()
    with pytest.raises(CentraError) as raised:
        rig.service.add_item(checkout.id, "99-999", 1)
    assert raised.value.status == 400
    assert raised.value.errors == {"item": "product item not found"}
    assert rig.service.get(checkout.id) == checkout


def test_a_payment_result_called_twice_reaches_centra_once_and_both_get_the_receipt(
    rig: Rig,
) -> None:
    checkout = pending(rig)
    first = rig.service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    second = rig.service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert first.state is second.state is State.PAID
    assert first.receipt is not None and second.receipt == first.receipt
    assert rig.fake.calls["payment_result"] == 1 and len(rig.fake.orders) == 1


def test_a_payment_result_that_times_out_is_reconciled_to_paid_with_one_order(rig: Rig) -> None:
    checkout = pending(rig)
    with pytest.raises(OutcomeUnknown):
        rig.losing(CallKind.PAYMENT_RESULT).complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    unknown = rig.service.get(checkout.id)
    assert unknown.state is State.PAYMENT_PENDING
    assert unknown.outcome_unknown is CallKind.PAYMENT_RESULT
    paid = rig.service.reconcile(checkout.id)
    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert rig.fake.calls["payment_result"] == 1 and len(rig.fake.orders) == 1
    assert paid.receipt is not None
    assert rig.order_numbers() == [paid.order]


def test_an_instant_success_whose_answer_was_lost_is_reconciled_to_its_one_order(
    rig: Rig,
) -> None:
    checkout = confirmed(rig, "instant-success")
    with pytest.raises(OutcomeUnknown):
        rig.losing(CallKind.START_PAYMENT).start_payment(checkout.id)
    unknown = rig.service.get(checkout.id)
    assert unknown.state is State.CONFIRMED
    assert unknown.outcome_unknown is CallKind.START_PAYMENT
    with pytest.raises(PaymentInFlight):
        rig.service.cancel(checkout.id)
    paid = rig.service.start_payment(checkout.id)  # a retry asks Centra first
    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert rig.fake.calls["start_payment"] == 1 and len(rig.fake.orders) == 1
    assert rig.order_numbers() == [paid.order]
