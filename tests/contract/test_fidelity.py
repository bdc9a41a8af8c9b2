"""The fidelity table's behaviours (docs/fidelity.md), through the service, over every transport.

Each test runs once per entry of ``transports.TRANSPORTS`` (in process, HTTP sync and async,
replay): the fake does what Centra's documentation says, and the adapter turns it into the
core's types and states the same way on each.
"""

from __future__ import annotations

import attrs
import pytest

from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.checkout import Checkout
from orderflow.errors import EventNotAllowed
from orderflow.flow import State
from orderflow.payment import (
    ExternalAction,
    FailedAction,
    FormAction,
    JavascriptAction,
    PaymentAction,
)
from tests.contract.transports import Rig

ADYEN_CARD = {"paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_4111"}}


def rest_only(rig: Rig, why: str) -> None:
    """Skip a behaviour that only Centra's REST dialects have: the Storefront API's schema has
    no field or type for it (docs/fidelity.md says which)."""
    if rig.name.startswith("storefront"):
        pytest.skip(f"not in the Storefront API's schema: {why}")


def statuses(rig: Rig, rest: tuple[str, str]) -> tuple[str, str]:
    """An order status as the rig's dialect names it: the REST dialects' ``untouched``/
    ``Pending``, the Storefront API's ``PENDING``/``Pending``."""
    if rig.name.startswith("storefront"):
        return (rest[1].upper(), rest[1])
    return rest


def confirmed(rig: Rig, method: str, **details: object) -> Checkout:
    checkout = rig.service.open()
    rig.service.add_item(checkout.id, SEED_ITEM, 1)
    request = attrs.evolve(seed_details(), payment_method=method, **details)
    return rig.service.confirm(checkout.id, request)


@pytest.mark.parametrize(
    ("method", "details", "action", "form_type"),
    [
        ("adyen-dropin", {}, FormAction, "adyen-drop-in"),
        (
            "adyen-dropin",
            {"payment_method_specific_fields": ADYEN_CARD},
            JavascriptAction,
            "adyen-drop-in",
        ),
        ("stripe-checkout", {}, FormAction, "stripe-checkout"),
        ("klarna-payments", {}, FormAction, "klarna-payments"),
        ("qliro-hold", {}, FormAction, "qliro"),
        ("external-payment", {}, ExternalAction, None),
    ],
    ids=["adyen-setup", "adyen-javascript", "stripe", "klarna-payments", "qliro", "external"],
)
def test_each_documented_action_kind_waits_for_the_shopper(
    rig: Rig,
    method: str,
    details: dict[str, object],
    action: type[PaymentAction],
    form_type: str | None,
) -> None:
    if action is ExternalAction:
        rest_only(rig, "no PaymentAction type for the External Payment plugin's action")
    started = rig.service.start_payment(confirmed(rig, method, **details).id)
    assert started.state is State.PAYMENT_PENDING
    assert type(started.payment_action) is action
    assert getattr(started.payment_action, "form_type", None) == form_type


def test_the_shop_apis_decline_body_fails_the_payment_with_its_reason(rig: Rig) -> None:
    failed = rig.service.start_payment(confirmed(rig, "decline-body").id)
    assert failed.state is State.PAYMENT_FAILED
    assert isinstance(failed.payment_action, FailedAction)
    assert failed.payment_action.errors == {"paymentMethod": "failed"}
    assert failed.last_error and "paymentMethod failed" in failed.last_error
    assert rig.fake.orders == {}


def test_adyens_nested_return_fields_are_posted_unchanged_and_pay(rig: Rig) -> None:
    checkout = confirmed(rig, "adyen-dropin", payment_method_specific_fields=ADYEN_CARD)
    started = rig.service.start_payment(checkout.id)
    assert isinstance(started.payment_action, JavascriptAction)
    fields = started.payment_action.form_fields or {}
    returned = {
        "details": {"threeDSResult": "eyJ0cmFuc1N0YXR1cyI6IlkifQ=="},
        "paymentData": fields["action"]["paymentData"],
    }
    paid = rig.service.complete_payment(checkout.id, returned)
    assert paid.state is State.PAID and paid.payment_fields == returned
    assert paid.receipt is not None and paid.receipt.payment_method == "adyen-dropin"


def test_klarna_payments_posts_its_authorization_token_and_keeps_the_redirect_url(
    rig: Rig,
) -> None:
    rest_only(rig, "no paymentMethodData on Order")
    checkout = confirmed(rig, "klarna-payments")
    rig.service.start_payment(checkout.id)
    paid = rig.service.complete_payment(checkout.id, {"authorization_token": "auth-1"})
    assert paid.state is State.PAID and paid.receipt is not None
    assert paid.receipt.payment_method_data is not None
    assert "redirect_url" in paid.receipt.payment_method_data


def test_a_held_qliro_order_is_paid_with_an_empty_return_and_its_status_kept(rig: Rig) -> None:
    checkout = confirmed(rig, "qliro-hold")
    rig.service.start_payment(checkout.id)
    paid = rig.service.complete_payment(checkout.id, {})
    assert paid.state is State.PAID and paid.receipt is not None
    assert (paid.receipt.status, paid.receipt.status_description) == statuses(
        rig, ("untouched", "Pending")
    )
    assert len(rig.fake.orders) == 1


@pytest.mark.fake(autoconfirm=True)
def test_an_order_confirmed_at_once_keeps_its_status_on_the_receipt(rig: Rig) -> None:
    checkout = confirmed(rig, "klarna-playground")
    rig.service.start_payment(checkout.id)
    paid = rig.service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.receipt is not None
    assert (paid.receipt.status, paid.receipt.status_description) == statuses(
        rig, ("progress", "Confirmed")
    )
    assert "order" in paid.history[-1].detail


@pytest.mark.fake(vouchers_as="object")
def test_vouchers_keyed_by_code_decode_on_the_cart_and_the_order(rig: Rig) -> None:
    rest_only(rig, "the REST answers' voucher shapes (GraphQL has its own list)")
    checkout = rig.service.open()
    rig.service.add_item(checkout.id, SEED_ITEM, 1)
    discounted = rig.service.apply_voucher(checkout.id, "WELCOME10")
    assert discounted.voucher_codes == ("WELCOME10",)
    assert discounted.cart is not None and discounted.cart.selection.discounts is not None
    assert isinstance(discounted.cart.selection.discounts.vouchers, dict)
    removed = rig.service.remove_voucher(checkout.id, "WELCOME10")
    assert removed.voucher_codes == ()


@pytest.mark.fake(stock_mode="aggressive")
def test_an_aggressive_cart_answer_keeps_what_was_unavailable(rig: Rig) -> None:
    rig.fake.stock[SEED_ITEM] = 2
    checkout = rig.service.open()
    added = rig.service.add_item(checkout.id, SEED_ITEM, 5)
    assert [(i.item, i.quantity) for i in added.items] == [(SEED_ITEM, 2)]
    assert added.cart is not None
    assert [(u.item, u.unavailable, u.available) for u in added.cart.unavailable] == [
        (SEED_ITEM, 3, 2)
    ]


@pytest.mark.fake(stock_mode="aggressive")
def test_a_payment_result_cancelled_for_stock_goes_back_to_the_cart_keeping_the_cancellation(
    rig: Rig,
) -> None:
    rest_only(rig, "no cancellation on PaymentResultFailedPayload")
    checkout = confirmed(rig, "stripe-checkout")
    rig.service.start_payment(checkout.id)
    rig.fake.stock[SEED_ITEM] = 0
    back = rig.service.complete_payment(checkout.id, {"session_id": "cs_test_1"})
    assert back.state is State.SELECTION and back.items == ()
    assert back.cancellation is not None and "grandTotalPrice" in back.cancellation
    assert [u.item for u in back.unavailable] == [SEED_ITEM]
    assert rig.fake.orders == {}


def test_the_cart_cannot_change_while_the_shopper_is_paying(rig: Rig) -> None:
    """Centra does not block it (the order would land on Hold as a payment mismatch); the flow
    does, as Centra's best practice asks: the cart is reopened only before paying or after a
    failure."""
    started = rig.service.start_payment(confirmed(rig, "klarna-playground").id)
    calls = sum(rig.fake.calls.values())
    with pytest.raises(EventNotAllowed):
        rig.service.add_item(started.id, SEED_ITEM, 1)
    assert sum(rig.fake.calls.values()) == calls
