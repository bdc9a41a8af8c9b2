"""The Shop API dialect as Centra documents it, through both clients: the two payment-result
paths, every action kind, declines, 410 with ``cancellation``, provider fields of any JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.calls import (
    CALLS,
    AddItem,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    SetCheckoutFields,
    StartPayment,
)
from orderflow.errors import CentraError, OutOfStock
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
from tests.unit.test_http_support import (
    BASE_URL,
    CART,
    KEY,
    KINDS,
    MONEY,
    SELECTION,
    START,
    Api,
    answer,
    fake_handler,
    seed_json,
    selection_body,
)

# --- the two forms of the payment result ------------------------------------------------------


@KINDS
def test_the_payment_result_is_v1s_by_default_with_only_the_providers_fields(kind: str) -> None:
    with Api(kind, answer(200, seed_json("payment-result.response.json"))) as api:
        assert isinstance(api.send(MONEY), Receipt)
    sent = api.requests[0]
    assert (sent.method, sent.url.path) == (
        "POST",
        f"/api/shop/selections/{SELECTION}/payment-result",
    )
    assert json.loads(sent.content) == {"paymentMethodFields": SEED_PAYMENT_FIELDS}


@KINDS
def test_the_seeds_older_payment_result_path_is_a_setting(kind: str) -> None:
    seed = seed_json("payment-result.request.json")
    handler = answer(200, seed_json("payment-result.response.json"))
    with Api(kind, handler, payment_result_path="seed") as api:
        receipt = api.send(PaymentResult(seed["selection"], seed["paymentMethodFields"]))
    assert isinstance(receipt, Receipt)
    sent = api.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/api/shop/selections/payment-result")
    assert json.loads(sent.content) == seed


def test_an_unknown_payment_result_path_is_refused() -> None:
    with pytest.raises(ValueError, match="payment_result_path"):
        ShopApiClient(BASE_URL, KEY, payment_result_path="v2")  # type: ignore[arg-type]


@KINDS
@pytest.mark.parametrize("path", dialect.PAYMENT_RESULT_PATHS)
def test_the_seed_flow_pays_through_the_fake_with_either_path(kind: str, path: Any) -> None:
    fake = FakeCentra.seeded(api_key=KEY)
    with Api(kind, fake_handler(fake), payment_result_path=path) as api:
        selection = api.send(CreateSelection()).selection_id
        api.send(AddItem(selection, SEED_ITEM, 1))
        api.send(SetCheckoutFields(selection, seed_details()))
        assert isinstance(api.send(StartPayment(selection, seed_details())), FormAction)
        receipt = api.send(PaymentResult(selection, SEED_PAYMENT_FIELDS))
        assert isinstance(receipt, Receipt) and receipt.totals is not None
        assert receipt.totals.grand_total_price.amount == 3600
        assert api.send(ReadSelection(selection)) == receipt
    assert fake.orders.keys() == {selection}


@KINDS
def test_provider_fields_of_any_json_go_to_centra_unchanged(kind: str) -> None:
    fields = {
        "success": True,
        "timestamp": 1767225600,
        "amount": "3600.00",
        "transaction": {"id": "tx-1", "captured": False, "lines": [1, 2.5, None]},
        "details": {"paymentAction": "authorise"},
    }
    with Api(kind, answer(200, seed_json("payment-result.response.json"))) as api:
        api.send(PaymentResult(SELECTION, fields))
    assert json.loads(api.requests[0].content) == {"paymentMethodFields": fields}


# --- every action kind -----------------------------------------------------------------------

ORDER = seed_json("payment-result.response.json")
ACTIONS: list[tuple[dict[str, Any], type[Any]]] = [
    ({"action": "form", "formHtml": "<div>klarna</div>"}, FormAction),
    (
        {
            "action": "form",
            "formHtml": "<form></form>",
            "formFields": {"a": 1},
            "formUrl": "https://psp.test/form",
            "formType": "stripe-checkout",
        },
        FormAction,
    ),
    ({"action": "redirect", "url": "https://psp.test/pay", "orderId": "7"}, RedirectAction),
    (
        {
            "action": "javascript",
            "code": "start()",
            "formFields": {"paymentMethodsResponse": {}},
            "formType": "adyen-drop-in",
        },
        JavascriptAction,
    ),
    ({"action": "external", "selection": SELECTION, "token": "t-1"}, ExternalAction),
    ({"action": "success", **ORDER}, SuccessAction),
    ({"action": "failed", "errors": {"paymentMethod": "failed"}}, FailedAction),
]


@KINDS
@pytest.mark.parametrize(
    ("body", "cls"), ACTIONS, ids=[f"{a['action']}-{i}" for i, (a, _) in enumerate(ACTIONS)]
)
def test_each_documented_action_kind_decodes_to_its_own_action(
    kind: str, body: dict[str, Any], cls: type[Any]
) -> None:
    with Api(kind, answer(200, body)) as api:
        action = api.send(START)
    assert type(action) is cls and action.kind == body["action"]
    if isinstance(action, FormAction) and "formType" in body:
        assert action.form_fields == {"a": 1} and action.form_type == "stripe-checkout"
    if isinstance(action, ExternalAction):
        assert action.selection == SELECTION and action.token == "t-1"
    if isinstance(action, SuccessAction):
        assert action.receipt.order == ORDER["order"]


@KINDS
def test_a_javascript_actions_script_is_its_code(kind: str) -> None:
    body = {"action": "javascript", "script": "go()", "formType": "adyen-drop-in"}
    with Api(kind, answer(200, body)) as api:
        action = api.send(START)
    assert isinstance(action, JavascriptAction) and action.code == "go()"


@KINDS
def test_a_payment_result_can_answer_a_new_redirect(kind: str) -> None:
    with Api(kind, answer(200, {"action": "redirect", "url": "https://paypal.test/again"})) as api:
        assert api.send(MONEY) == RedirectAction("https://paypal.test/again")


@KINDS
def test_a_success_whose_order_does_not_fully_decode_keeps_the_order(kind: str) -> None:
    body = {"action": "success", **ORDER, "items": "garbled"}
    with Api(kind, answer(200, body)) as api:
        action = api.send(START)
    assert isinstance(action, SuccessAction) and action.receipt.order == ORDER["order"]
    assert action.receipt.undecoded == {"items": "garbled"}


@KINDS
def test_an_order_nested_under_order_is_the_order(kind: str) -> None:
    with Api(kind, answer(200, {"token": "t-1", "order": ORDER})) as api:
        receipt = api.send(MONEY)
    assert isinstance(receipt, Receipt) and receipt.order == ORDER["order"]


# --- declines and refusals -------------------------------------------------------------------

DECLINE = {"errors": {"paymentMethod": "failed"}, "messages": ["Always Fail! ..."]}
MISMATCH = {
    "code": "COUNTRY_MISMATCH",
    "message": "the country does not match",
    "messages": ["the country does not match"],
    "errors": {"paymentMethod": "COUNTRY_MISMATCH"},
}


@KINDS
@pytest.mark.parametrize("call", [START, MONEY], ids=["start_payment", "payment_result"])
@pytest.mark.parametrize("status", [200, 400, 402, 406, 412, 422])
def test_the_shop_apis_decline_body_is_a_failed_action(kind: str, call: Any, status: int) -> None:
    with Api(kind, answer(status, DECLINE)) as api:
        declined = api.send(call)
    assert declined == FailedAction({"paymentMethod": "failed"}, ("Always Fail! ...",))
    assert declined.reason == "Always Fail! ... (paymentMethod failed)"


@KINDS
def test_a_decline_with_a_code_keeps_it(kind: str) -> None:
    with Api(kind, answer(400, MISMATCH)) as api:
        declined = api.send(MONEY)
    assert isinstance(declined, FailedAction)
    assert declined.errors == {"paymentMethod": "COUNTRY_MISMATCH"}
    assert declined.code == "COUNTRY_MISMATCH"
    assert declined.message == "the country does not match"
    assert declined.reason == (
        "the country does not match (paymentMethod COUNTRY_MISMATCH, code COUNTRY_MISMATCH)"
    )


@KINDS
def test_a_refusal_of_other_fields_at_payment_is_a_centra_error(kind: str) -> None:
    body = {"errors": {"termsAndConditions": "must be true"}}
    for status in (400, 200):
        with Api(kind, answer(status, body)) as api, pytest.raises(CentraError) as raised:
            api.send(START)
        assert raised.value.errors == {"termsAndConditions": "must be true"}


@KINDS
def test_a_cart_call_on_a_selection_that_became_an_order_is_refused(kind: str) -> None:
    with Api(kind, answer(200, ORDER)) as api, pytest.raises(CentraError, match="became order"):
        api.send(CART)


# --- out of stock ---------------------------------------------------------------------------


@KINDS
def test_410_keeps_the_unavailable_items_the_new_cart_and_the_cancellation(kind: str) -> None:
    cancellation = {
        "grandTotalPrice": "3\u00a0600.00\u00a0SEK",
        "grandTotalPriceAsNumber": 3600,
        "currency": "SEK",
    }
    unavailable = {
        "item": SEED_ITEM,
        "product": "23",
        "originalQuantity": 1,
        "unavailable": 1,
        "available": 0,
    }
    body = {
        "errors": {"stock": "unavailable items"},
        "unavailable": [unavailable],
        "cancellation": cancellation,
        **selection_body(),
    }
    with Api(kind, answer(410, body)) as api, pytest.raises(OutOfStock) as raised:
        api.send(MONEY)
    error = raised.value
    assert [(u.item, u.available) for u in error.unavailable] == [(SEED_ITEM, 0)]
    assert isinstance(error.selection, SelectionResponse)
    assert error.cancellation == cancellation
    assert "cancellation" not in error.selection.extra


# --- the dialect's table ---------------------------------------------------------------------


@pytest.mark.parametrize("path", dialect.PAYMENT_RESULT_PATHS)
def test_every_call_has_a_request_whose_route_is_named_by_its_kind(path: Any) -> None:
    examples = {
        CallKind.CREATE_SELECTION: CreateSelection(),
        CallKind.READ_SELECTION: ReadSelection(SELECTION),
        CallKind.ADD_ITEM: CART,
        CallKind.SET_CHECKOUT_FIELDS: SetCheckoutFields(SELECTION, seed_details()),
        CallKind.START_PAYMENT: START,
        CallKind.PAYMENT_RESULT: MONEY,
    }
    for call in examples.values():
        request = dialect.request(call, payment_result_path=path)
        assert request.route.name == call.kind.value and request.route.kind is call.kind
        assert request.moves_money is call.moves_money
        assert dialect.match(request.method, request.path) is not None
    named = {route.name for route in dialect.ROUTES}
    assert {call.kind.value for call in CALLS} <= named


def test_a_call_the_shop_api_cannot_carry_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no request for"):
        dialect.request(object())  # type: ignore[arg-type]


def test_both_payment_result_routes_match_back_to_payment_result() -> None:
    for path in ("/selections/payment-result", f"/selections/{SELECTION}/payment-result"):
        found = dialect.match("POST", path)
        assert found is not None and found[0].kind is CallKind.PAYMENT_RESULT


def test_create_selection_sends_the_country_only_when_given() -> None:
    assert dialect.request(CreateSelection()).body is None
    assert dialect.request(CreateSelection("SE")).body == {"country": "SE"}


def test_the_request_of_a_payment_call_names_the_endpoint_without_ids() -> None:
    request = dialect.request(MONEY)
    assert request.label == "POST /selections/{selection}/payment-result"
    assert request.template == "/selections/{selection}/payment-result"
    assert SELECTION not in request.label and isinstance(request.headers, dict)
    assert httpx.URL(BASE_URL + request.path).path.endswith("/payment-result")
