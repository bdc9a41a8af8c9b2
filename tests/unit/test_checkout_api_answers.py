"""The Checkout API's answers as its documentation prints them, decoded by the clients: the
selection (no id, products nested, the parts the core has no field for), every payment action,
declines, errors with their token and messages, out of stock, the order nested and flat, and
the token each answer carries. No network.
"""

from __future__ import annotations

from typing import Any

import pytest

from orderflow.adapters.checkout_api.answers import PRODUCT_KEY, SESSION_KEY, selection_id
from orderflow.calls import (
    AddItem,
    Call,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    StartPayment,
)
from orderflow.errors import AuthenticationFailed, CentraError, OutOfStock
from orderflow.payment import (
    ExternalAction,
    FailedAction,
    FormAction,
    JavascriptAction,
    RedirectAction,
    SuccessAction,
)
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse
from tests.unit.test_checkout_api_support import (
    KINDS,
    ROTATED,
    SELECTION,
    TOKEN,
    Api,
    Centra,
    details,
    doc,
)

READ = ReadSelection(SELECTION, token=TOKEN)
ADD = AddItem(SELECTION, "1-1", 1, token=TOKEN)
START = StartPayment(SELECTION, details(), token=TOKEN)
RESULT = PaymentResult(SELECTION, {"orderRef": "45bf"}, token=TOKEN)
ROUTE = {
    ReadSelection: ("GET", "/selection"),
    CreateSelection: ("GET", "/selection"),
    AddItem: ("POST", "/items/1-1/quantity/1"),
    StartPayment: ("POST", "/payment"),
    PaymentResult: ("POST", "/payment-result"),
}


def _answered(kind: str, call: Call[Any], status: int, body: Any, token: str = TOKEN) -> Any:
    centra = Centra({ROUTE[type(call)]: (status, body)}, token=token)
    with Api(kind, centra) as api:
        return api.send(call)


def _refused(kind: str, call: Call[Any], status: int, body: Any, error: type[Exception]) -> Any:
    with pytest.raises(error) as raised:
        _answered(kind, call, status, body)
    return raised.value


# --- the selection ----------------------------------------------------------------------------


@KINDS
def test_a_selection_keeps_the_id_the_service_holds_and_every_part_it_has_no_field_for(
    kind: str,
) -> None:
    body = doc("selection.response.json")
    cart = _answered(kind, READ, 200, body)
    assert isinstance(cart, SelectionResponse) and cart.selection_id == SELECTION
    assert cart.token == TOKEN
    assert cart.extra["paymentFields"] == body["paymentFields"]
    assert cart.extra["countries"] == body["countries"]
    assert cart.extra["language"] == body["language"]  # a list on this page
    assert cart.location is not None and cart.location.ship_to is False
    assert cart.location.language == "en"
    handling = cart.payment_methods[0].handling_cost
    assert handling is not None and handling.amount == 13
    assert cart.selection.totals.grand_total_price.amount == 313


@KINDS
def test_each_line_names_its_product_and_keeps_the_nested_product_object(kind: str) -> None:
    body = doc("items.add.first.response.json")
    (line,) = _answered(kind, ADD, 200, body).selection.items
    product = body["selection"]["items"][0]["product"]
    assert (line.item, line.quantity) == ("1-1", 2)  # sic: the page shows 2 after one add
    assert line.line == "0a6d0c85c097bffdd54ad0cac52b3435"
    assert line.product == "1" and line.product_name == "Test Product"
    assert (line.brand_name, line.silk_product, line.silk_variant) == ("Brand", "1", "1445")
    assert line.extra[PRODUCT_KEY] == product


@KINDS
def test_a_new_session_is_named_by_a_hash_of_its_first_token_never_the_token(kind: str) -> None:
    first = _answered(kind, CreateSelection(), 200, doc("selection.response.json"))
    again = _answered(kind, CreateSelection(), 200, doc("selection.response.json"))
    other = _answered(kind, CreateSelection(), 200, doc("selection.response.json"), ROTATED)
    assert first.selection_id == again.selection_id == selection_id(TOKEN)
    assert other.selection_id != first.selection_id
    assert TOKEN not in first.selection_id and first.token == TOKEN


@KINDS
def test_a_selection_id_the_answer_carries_is_kept(kind: str) -> None:
    body = doc("selection.response.json")
    body["selection"]["selection"] = "4f1211119567211c441d86e19fbd7114"
    assert _answered(kind, READ, 200, body).selection_id == "4f1211119567211c441d86e19fbd7114"


@KINDS
def test_the_localization_form_of_language_and_languages_is_kept(kind: str) -> None:
    body = {**doc("selection.response.json"), **doc("selection.localization.fragment.json")}
    cart = _answered(kind, READ, 200, body)
    assert cart.extra["language"] == body["language"] and cart.extra["languages"]
    assert cart.location.country == "DE" and cart.location.ship_to is True


@KINDS
def test_a_cart_change_out_of_stock_in_part_answers_the_cart_with_what_was_left_out(
    kind: str,
) -> None:
    body = {**doc("items.add.first.response.json")}
    body.update(doc("centra-docs/overselling.cart-200-unavailable.response.json"))
    cart = _answered(kind, ADD, 200, body)
    assert [(u.item, u.unavailable) for u in cart.unavailable] == [("1-1", 5)]


# --- payment actions, declines ------------------------------------------------------------------

ACTIONS = [
    ("payment.form-action.response.json", FormAction),
    ("payment.form-action.klarna-checkout.response.json", FormAction),
    ("payment.redirect-action.payex.response.json", RedirectAction),
    ("payment.redirect-action.paypal.response.json", RedirectAction),
    ("centra-docs/adyen-drop-in.payment.javascript-action.response.json", JavascriptAction),
    ("centra-docs/external-payment.payment.external-action.response.json", ExternalAction),
    ("centra-docs/payment-flows.payment.success.response.json", SuccessAction),
]


@KINDS
@pytest.mark.parametrize(("name", "action"), ACTIONS, ids=[n for n, _ in ACTIONS])
def test_each_action_decodes_to_its_kind_with_the_answers_token(
    kind: str, name: str, action: type[Any]
) -> None:
    answered = _answered(kind, START, 200, doc(name), token=ROTATED)
    assert type(answered) is action and answered.token == ROTATED


@KINDS
def test_the_actions_details_are_kept(kind: str) -> None:
    paypal = _answered(kind, START, 200, doc("payment.redirect-action.paypal.response.json"))
    assert paypal.url.startswith("https://www.sandbox.paypal.com/")
    assert paypal.extra == {"orderId": "20E81578H46162301"}
    name = "centra-docs/payment-flows.payment.success.response.json"
    success = _answered(kind, START, 200, doc(name))
    assert (success.receipt.order, success.receipt.status) == ("12", "untouched")
    form = _answered(kind, START, 200, doc("payment.form-action.response.json"))
    assert "ba_order_num" in form.form_html


@KINDS
def test_a_failed_action_is_a_decline(kind: str) -> None:
    # The pages name the "failed" action but print no body: its documented key only.
    failed = _answered(kind, START, 200, {"action": "failed"})
    assert isinstance(failed, FailedAction) and failed.token == TOKEN


DECLINES = [
    (400, "centra-docs/adyen-drop-in.payment.failed.response.json", "FRAUD"),
    (412, "centra-docs/external-payment.payment-result.412.response.json", "Mismatched currency"),
    (400, "centra-docs/payment-flows.payment-result.failed.response.json", "Always fail"),
]


@KINDS
@pytest.mark.parametrize("call", [START, RESULT], ids=["payment", "payment-result"])
@pytest.mark.parametrize(("status", "name", "shown"), DECLINES, ids=[n for _, n, _ in DECLINES])
def test_a_decline_body_is_a_failed_action_with_its_messages_and_token(
    kind: str, call: Call[Any], status: int, name: str, shown: str
) -> None:
    failed = _answered(kind, call, status, doc(name), token=ROTATED)
    assert isinstance(failed, FailedAction) and failed.errors == {"paymentMethod": "failed"}
    assert failed.messages and shown in failed.reason
    assert failed.token == ROTATED and "token" not in failed.extra


@KINDS
def test_a_country_mismatch_is_a_decline_keeping_its_code(kind: str) -> None:
    body = doc("centra-docs/payment-flows.payment-result.country-mismatch.response.json")
    failed = _answered(kind, RESULT, 400, body)
    assert isinstance(failed, FailedAction) and failed.code == "COUNTRY_MISMATCH"


# --- errors: their token and messages, out of stock ----------------------------------------------


@KINDS
def test_an_error_carries_its_fields_messages_and_the_token_it_came_with(kind: str) -> None:
    # The documented error, with the list of messages errors may add.
    body = {**doc("error.item-not-found.response.json"), "messages": ["Try another size"]}
    error = _refused(kind, ADD, 400, body, CentraError)
    assert error.errors == {"item": "product item not found"}
    assert error.message == "Try another size"
    assert error.token == TOKEN and TOKEN not in str(error)


@KINDS
def test_terms_not_accepted_refuses_the_payment_with_the_token(kind: str) -> None:
    body = doc("error.terms-and-conditions.response.json")
    error = _refused(kind, START, 400, body, CentraError)
    assert error.errors == {"termsAndConditions": "must be true"} and error.token == TOKEN


@KINDS
def test_access_denied_is_an_authentication_failure_naming_the_secret(kind: str) -> None:
    error = _refused(kind, READ, 403, doc("error.403-access-denied.response.json"), CentraError)
    assert isinstance(error, AuthenticationFailed) and "Bearer" in str(error)


@KINDS
def test_out_of_stock_at_payment_as_printed_lists_the_items_and_keeps_the_token(
    kind: str,
) -> None:
    error = _refused(kind, START, 410, doc("error.410-unavailable.response.json"), OutOfStock)
    assert [(u.item, u.product, u.available) for u in error.unavailable] == [("4-5", "4", 5)]
    assert error.selection is None  # the page elides it
    assert error.token == TOKEN


@KINDS
def test_out_of_stock_with_the_selection_gives_the_reduced_cart_and_its_token(kind: str) -> None:
    # SO: "the rest of the response looks like GET selection"; OS: with errors.stock.
    body = {**doc("items.add.first.response.json")}
    body.update(doc("centra-docs/overselling.payment-410-unavailable.response.json"))
    error = _refused(kind, START, 410, body, OutOfStock)
    assert error.selection is not None and error.selection.selection_id == SELECTION
    assert error.selection.token == TOKEN and error.errors == {"stock": "unavailable items"}


@KINDS
def test_out_of_stock_on_a_cart_change_and_at_the_payment_result(kind: str) -> None:
    cart = doc("centra-docs/overselling.cart-410-unavailable.response.json")
    assert _refused(kind, ADD, 410, cart, OutOfStock).unavailable[0].unavailable == 5
    body = doc("centra-docs/overselling.payment-result-410-cancellation.response.json")
    error = _refused(kind, RESULT, 410, body, OutOfStock)
    assert error.cancellation == body["cancellation"]


# --- the order -----------------------------------------------------------------------------------


@KINDS
def test_the_payment_results_nested_order_is_the_receipt_with_its_token(kind: str) -> None:
    body = doc("payment-result.response.json")
    receipt = _answered(kind, RESULT, 200, body, token=ROTATED)
    assert isinstance(receipt, Receipt) and receipt.undecoded is None
    assert (receipt.order, receipt.status, receipt.status_description) == (
        "61",
        "progress",
        "Confirmed",
    )
    assert receipt.token == ROTATED
    assert [i.product for i in receipt.items] == ["1", "1", "1"]  # one line per unit
    assert receipt.items[0].extra[PRODUCT_KEY]["name"] == "Test Product"
    assert receipt.totals is not None and receipt.totals.grand_total_price.amount == 350
    assert receipt.payment_method_data == body["order"]["paymentMethodData"]
    assert receipt.extra[SESSION_KEY] == {
        "language": body["language"],
        "countries": body["countries"],
        "location": body["location"],
    }


@KINDS
def test_the_older_flat_order_is_the_receipt_too(kind: str) -> None:
    receipt = _answered(kind, RESULT, 200, doc("payment-result.cut-down.response.json"))
    assert (receipt.order, receipt.status, receipt.token) == ("1114", "untouched", TOKEN)


@KINDS
def test_reading_the_selection_after_the_order_answers_the_receipt(kind: str) -> None:
    receipt = _answered(kind, READ, 200, doc("selection.after-order.response.json"), ROTATED)
    assert isinstance(receipt, Receipt) and receipt.order == "61"
    assert receipt.token == ROTATED and receipt.undecoded is None


@KINDS
def test_a_cart_change_answered_with_the_order_is_refused(kind: str) -> None:
    error = _refused(kind, ADD, 200, doc("selection.after-order.response.json"), CentraError)
    assert error.errors == {"selection": "already an order"}
