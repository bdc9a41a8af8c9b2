"""Storefront API answers that are malformed, ambiguous or failing, classified as the error table
says: no decline is made up from an answer that does not say so, GraphQL errors raised while
running are never a definite refusal of a money call, and a call carried by several requests
keeps the newest token in its error. No network: ``httpx.MockTransport`` (and the fake)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.storefront import answer_graphql
from orderflow.adapters.storefront_api.client import AsyncStorefrontApiClient, StorefrontApiClient
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import (
    AddItem,
    Call,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    SetCheckoutFields,
    StartPayment,
)
from orderflow.checkout import Checkout
from orderflow.errors import (
    CentraError,
    CentraUnavailable,
    OrderflowError,
    OutcomeUnknown,
    PayloadError,
)
from orderflow.flow import State
from orderflow.payment import FailedAction
from orderflow.service import CheckoutService
from tests.unit.test_storefront_support import KINDS, SHARED, URL

Handler = Callable[[httpx.Request], httpx.Response]
ROTATED = "r0tat3d-session-token"
EXT = {"extensions": {"token": "t2", "traceId": "x"}}


@contextmanager
def _client(kind: str, handler: Handler, **options: Any) -> Iterator[Callable[[Call[Any]], Any]]:
    """``send(call)`` of a Storefront API client of ``kind`` on ``handler``."""
    transport = httpx.MockTransport(handler)
    if kind == "sync":
        with StorefrontApiClient(URL, SHARED, transport=transport, **options) as client:
            yield client.send
        return
    runner = asyncio.Runner()
    aclient = AsyncStorefrontApiClient(URL, SHARED, transport=transport, **options)
    try:
        yield lambda call: runner.run(aclient.send(call))
    finally:
        runner.run(aclient.aclose())
        runner.close()


def _answering(body: Any, status: int = 200, seen: list[Any] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body)

    return handler


def _outcome(kind: str, call: Call[Any], body: Any, status: int = 200) -> Any:
    """What ``call`` answers (or raises) when Centra answers ``body``."""
    with _client(kind, _answering(body, status), retries=0) as send:
        try:
            return send(call)
        except OrderflowError as error:
            return error


def _result(payload: Any) -> dict[str, Any]:
    return {"data": {"paymentResult": payload}, **EXT}


PAY_RESULT = PaymentResult("sel1", {"klarna_order": "x"}, token="tok")
START = StartPayment("sel1", seed_details(), token="tok")


# --- paymentResult: only an explicit failure is a decline ------------------------------------


@KINDS
@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"type": None},
        {"type": None, "userErrors": []},
        {"type": "PENDING", "userErrors": []},
        {"__typename": "PaymentResultSuccessPayload"},
        {"__typename": "PaymentResultSuccessPayload", "type": None},
        {"__typename": "PaymentResultSuccessPayload", "order": {"id": 7}},
        {"__typename": "PaymentResultSuccessPayload", "type": "FAILED", "userErrors": []},
        {"type": "SUCCESS", "order": {"id": 7}, "userErrors": []},
        {"type": "SUCCESS", "userErrors": []},
    ],
    ids=[
        "empty",
        "type-null",
        "type-null-no-user-errors",
        "unknown-type",
        "success-typename-only",
        "success-typename-type-null",
        "success-order-without-number",
        "success-typename-but-failed",
        "success-order-without-number-typed",
        "success-without-order",
    ],
)
def test_a_payment_result_that_says_neither_order_nor_failure_is_an_unknown_outcome(
    kind: str, payload: Any
) -> None:
    assert isinstance(_outcome(kind, PAY_RESULT, _result(payload)), OutcomeUnknown)


@KINDS
@pytest.mark.parametrize(
    "payload",
    [
        {"type": "FAILED", "userErrors": []},
        {"type": "FAILED"},
        {"__typename": "PaymentResultFailedPayload", "userErrors": []},
        {"__typename": "PaymentResultFailedPayload", "type": "FAILED", "userErrors": []},
        {"type": "FAILED", "userErrors": [{"message": "declined", "path": ["paymentMethod"]}]},
    ],
    ids=["failed", "failed-bare", "failed-typename", "failed-both", "user-error"],
)
def test_an_explicit_failure_is_still_a_decline(kind: str, payload: Any) -> None:
    assert isinstance(_outcome(kind, PAY_RESULT, _result(payload)), FailedAction)


@KINDS
def test_a_payment_result_that_does_not_decode_keeps_the_payment_unsettled(kind: str) -> None:
    fake = FakeCentra.seeded()

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answer_graphql(fake, request.content, request.headers)
        body = json.loads(json.dumps(answer.body))
        if json.loads(request.content).get("operationName") == "PaymentResult":
            body["data"] = {"paymentResult": {"type": None, "userErrors": []}}
        return httpx.Response(answer.status, json=body)

    with StorefrontApiClient(URL, SHARED, transport=httpx.MockTransport(handler)) as client:
        shop = CheckoutService(transport=client, store=MemoryStore())
        checkout = _payment_result_unknown(shop)
        now = shop.get(checkout.id)
    assert now.outcome_unknown is CallKind.PAYMENT_RESULT  # asked again, never declined
    assert now.state is State.PAYMENT_PENDING


# --- GraphQL errors: a request error is a refusal, an error while running is not ------------


FAILING_ANSWERS = pytest.mark.parametrize(
    "body",
    [
        {"data": None, "errors": [{"message": "Internal server error"}], **EXT},
        {"data": None, "errors": [{"message": "Upstream timeout", "path": []}], **EXT},
        {"data": {"paymentResult": None}, "errors": [{"message": "timeout"}], **EXT},
        {"data": {"paymentInstructions": None}, "errors": [{"message": "x", "path": []}], **EXT},
    ],
    ids=["data-null", "empty-path", "field-null", "field-null-empty-path"],
)
MALFORMED_ERRORS = pytest.mark.parametrize(
    "body",
    [
        {"data": None, "errors": ["boom"], **EXT},
        {"data": None, "errors": {"message": "gateway timeout"}, **EXT},
        {"errors": "boom", **EXT},
        {"errors": [{"message": "x"}, "boom"], **EXT},
    ],
    ids=["strings", "an-object", "no-data-a-string", "mixed"],
)


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
@FAILING_ANSWERS
def test_errors_while_running_are_an_unknown_outcome_for_a_money_call(
    kind: str, call: Call[Any], body: Any
) -> None:
    assert isinstance(_outcome(kind, call, body), OutcomeUnknown)


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
@MALFORMED_ERRORS
def test_malformed_errors_are_an_unknown_outcome_for_a_money_call(
    kind: str, call: Call[Any], body: Any
) -> None:
    assert isinstance(_outcome(kind, call, body), OutcomeUnknown)


@KINDS
@MALFORMED_ERRORS
def test_malformed_errors_are_a_malformed_answer_for_a_cart_change(kind: str, body: Any) -> None:
    got = _outcome(kind, AddItem("sel1", SEED_ITEM, 1, token="tok"), body)
    assert isinstance(got, PayloadError)


@KINDS
@FAILING_ANSWERS
def test_errors_while_running_are_centra_unavailable_for_a_cart_change(
    kind: str, body: Any
) -> None:
    got = _outcome(kind, AddItem("sel1", SEED_ITEM, 1, token="tok"), body)
    assert isinstance(got, CentraUnavailable) and not isinstance(got, CentraError)


@KINDS
def test_a_read_whose_errors_came_while_running_is_retried(kind: str) -> None:
    seen: list[httpx.Request] = []
    body = {"data": None, "errors": [{"message": "Internal server error"}], **EXT}
    with (
        _client(kind, _answering(body, seen=seen), retries=2, backoff=0.0) as send,
        pytest.raises(CentraUnavailable),
    ):
        send(ReadSelection("sel1", token="tok"))
    assert len(seen) == 3


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
def test_a_request_error_without_data_is_still_a_refusal_of_a_money_call(
    kind: str, call: Call[Any]
) -> None:
    body = {"errors": [{"message": 'Unknown argument "nope"'}], **EXT}
    got = _outcome(kind, call, body)
    assert isinstance(got, CentraError) and got.status == 400 and got.token == "t2"


# --- a call of several requests: the newest token is kept in its error -----------------------


def _rotating_then_failing(fake: FakeCentra, fail: Handler) -> Handler:
    """The fake, whose ``SetAddress`` answer hands out a new token (``ROTATED``); the next
    request (``SetPaymentMethod``) is answered by ``fail``."""

    def handler(request: httpx.Request) -> httpx.Response:
        operation = json.loads(request.content).get("operationName")
        if operation == "SetPaymentMethod":
            return fail(request)
        answer = answer_graphql(fake, request.content, request.headers)
        body = json.loads(json.dumps(answer.body))
        if operation == "SetAddress":
            body["extensions"]["token"] = ROTATED
        return httpx.Response(answer.status, json=body)

    return handler


@KINDS
@pytest.mark.parametrize(
    ("status", "body", "raised", "token"),
    [
        (502, {"message": "bad gateway"}, CentraUnavailable, ROTATED),
        (429, None, CentraUnavailable, ROTATED),
        (400, {"errors": [{"message": "bad request"}]}, CentraError, ROTATED),
        (200, {"errors": [{"message": "refused"}]}, CentraError, ROTATED),
        (200, {"errors": [{"message": "refused"}], **EXT}, CentraError, "t2"),
    ],
    ids=["502", "429", "400-without-token", "request-error-without-token", "own-token"],
)
def test_a_later_request_failing_carries_the_newest_token(
    kind: str, status: int, body: Any, raised: type[OrderflowError], token: str
) -> None:
    fake = FakeCentra.seeded()
    details = attrs.evolve(seed_details(), payment_method="redirect-test")  # two requests
    seen: list[httpx.Request] = []
    fail = _answering(body, status, seen)
    with _client(kind, _rotating_then_failing(fake, fail), retries=0) as send:
        cart = send(CreateSelection())
        send(AddItem(cart.selection_id, SEED_ITEM, 1, token=cart.token))
        with pytest.raises(OrderflowError) as failed:
            send(SetCheckoutFields(cart.selection_id, details, token=cart.token))
    assert type(failed.value) is raised and getattr(failed.value, "token", None) == token
    assert [r.headers["authorization"] for r in seen] == [f"Bearer {ROTATED}"]


# --- an answer that shows an order is the order, whatever else it says -----------------------


def _editing(fake: FakeCentra, edit: Callable[[str, Any], Any]) -> httpx.MockTransport:
    """The fake, each answer's body passed through ``edit(operation, body)`` first."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answer_graphql(fake, request.content, request.headers)
        body = json.loads(json.dumps(answer.body))
        operation = json.loads(request.content).get("operationName")
        return httpx.Response(answer.status, json=edit(operation, body))

    return httpx.MockTransport(handler)


def test_a_payment_started_with_an_order_next_to_user_errors_is_paid_not_declined() -> None:
    # paymentInstructions answers the last valid state with its userErrors: an order shown
    # there was placed, so a decline next to it must not fail the checkout (and lose it).
    fake = FakeCentra.seeded()
    declined = {"__typename": "UserErrorBase", "message": "failed", "path": ["paymentMethod"]}

    def edit(operation: str, body: Any) -> Any:
        if operation == "PaymentInstructions":
            assert body["data"]["paymentInstructions"]["action"]["order"]["number"] == 588
            body["data"]["paymentInstructions"]["userErrors"] = [declined]
        return body

    details = attrs.evolve(seed_details(), payment_method="instant-success")
    with StorefrontApiClient(URL, SHARED, transport=_editing(fake, edit)) as client:
        shop = CheckoutService(transport=client, store=MemoryStore())
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        shop.confirm(checkout.id, details)
        paid = shop.start_payment(checkout.id)
    assert paid.selection_id in fake.orders  # Centra placed it
    assert paid.state is State.PAID and paid.receipt is not None
    assert paid.receipt.order == "588"


def test_a_reconciling_read_that_shows_the_order_is_the_receipt_despite_errors_elsewhere() -> None:
    # The payment result's answer is lost (Centra acted); reading the session back shows the
    # order, and a nullable field of the session's fresh selection failed while running.
    fake = FakeCentra.seeded()

    def edit(operation: str, body: Any) -> Any:
        if operation == "PaymentResult":
            return {"errors": [{"message": "Bad gateway"}]}  # with a 502 below
        if operation == "ReadSelection" and body["data"]["order"] is not None:
            body["data"]["selection"]["checkout"] = None
            error = {"message": "timeout", "path": ["selection", "checkout"]}
            body["errors"] = [{**error, "locations": [{"line": 1, "column": 9}]}]
        return body

    inner = _editing(fake, edit)

    def handler(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if json.loads(request.content).get("operationName") == "PaymentResult":
            return httpx.Response(502, content=response.read())
        return response

    with StorefrontApiClient(
        URL, SHARED, transport=httpx.MockTransport(handler), retries=0
    ) as client:
        shop = CheckoutService(transport=client, store=MemoryStore())
        checkout = _payment_result_unknown(shop)
        settled = shop.reconcile(checkout.id)
    assert settled.state is State.PAID and settled.receipt is not None
    assert settled.receipt.order == "588"


# --- the answer's token is kept on every error raised from it --------------------------------


@KINDS
@pytest.mark.parametrize(
    ("call", "body"),
    [
        (
            AddItem("sel1", SEED_ITEM, 1, token="tok"),
            {"data": {"addItem": None}, "errors": [{"message": "x", "path": ["addItem"]}]},
        ),
        (
            ReadSelection("sel1", token="tok"),
            {"data": None, "errors": [{"message": "x", "path": ["selection"]}]},
        ),
    ],
    ids=["cart-change", "read"],
)
def test_an_answer_failing_while_running_keeps_its_session_token(
    kind: str, call: Call[Any], body: Any
) -> None:
    got = _outcome(kind, call, {**body, **EXT})
    assert isinstance(got, CentraUnavailable) and got.token == "t2"


@pytest.mark.xfail(
    strict=True,
    reason="a status that decides on its own (429, 5xx) is classified in "
    "adapters/http/exchange.py, which never hands the body to the dialect, so the token the "
    "answer carried cannot reach the error (out of this adapter's scope)",
)
@KINDS
@pytest.mark.parametrize("call", [AddItem("sel1", SEED_ITEM, 1, token="tok"), START])
def test_a_busy_answer_keeps_the_token_it_carried(kind: str, call: Call[Any]) -> None:
    # The fake's faults answer so: ``{data: null, errors, extensions: {token, traceId}}``.
    body = {"data": None, "errors": [{"message": "HTTP 429"}], **EXT}
    got = _outcome(kind, call, body, 429)
    assert isinstance(got, CentraUnavailable) and got.token == "t2"


# --- a refusing status is no refusal when the GraphQL answer shows execution began -----------


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
@pytest.mark.parametrize("status", [400, 422])
@pytest.mark.parametrize(
    "body",
    [
        {"data": None, "errors": [{"message": "Internal error", "path": ["paymentResult"]}]},
        {"data": None, "errors": [{"message": "Internal error"}]},
        {"errors": [{"message": "timeout", "path": ["paymentInstructions"]}]},
    ],
    ids=["data-and-path", "data-null", "path"],
)
def test_a_refusing_status_with_errors_raised_while_running_is_unknown_for_a_money_call(
    kind: str, call: Call[Any], status: int, body: Any
) -> None:
    assert isinstance(_outcome(kind, call, {**body, **EXT}, status), OutcomeUnknown)


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
def test_a_refusing_status_with_a_request_error_is_still_a_refusal(
    kind: str, call: Call[Any]
) -> None:
    body = {"errors": [{"message": 'Unknown argument "nope"'}], **EXT}
    got = _outcome(kind, call, body, 400)
    assert isinstance(got, CentraError) and got.status == 400 and got.token == "t2"


# --- money: the totals' rows ------------------------------------------------------------------


def test_tax_rows_of_several_rates_add_up_to_the_cart_tax() -> None:
    # A ``SelectionTotalTaxRow`` has its own ``taxPercent``: a cart of goods taxed at 25 % and
    # 12 % has a row of each type per rate. The tax is their sum, never the last row's.
    fake = FakeCentra.seeded()

    def edit(operation: str, body: Any) -> Any:
        if operation == "AddItem":
            rows = body["data"]["addItem"]["selection"]["checkout"]["totals"]
            tax = next(row for row in rows if row["type"] == "INCLUDING_TAX")
            money = tax["price"]
            parts = [(25.0, 600.0, "600.00 SEK"), (12.0, 96.43, "96.43 SEK")]
            rows[rows.index(tax) : rows.index(tax) + 1] = [
                {**tax, "taxPercent": rate, "price": {**money, "value": v, "formattedValue": f}}
                for rate, v, f in parts
            ]
        return body

    with StorefrontApiClient(URL, SHARED, transport=_editing(fake, edit)) as client:
        cart = client.send(CreateSelection())
        cart = client.send(AddItem(cart.selection_id, SEED_ITEM, 1, token=cart.token))
    totals = cart.selection.totals
    assert totals is not None and totals.grand_total_price_tax is not None
    assert totals.grand_total_price_tax.amount == Decimal("696.43")
    assert totals.tax_percent is None  # no one rate is the cart's


# --- a new session's answer must hand out its token -------------------------------------------


@pytest.mark.parametrize("country", [None, "SE"], ids=["selection", "set-country"])
def test_a_new_session_answered_without_a_token_opens_no_checkout(country: str | None) -> None:
    # Every answer carries ``extensions.token``; a first answer without one left a checkout
    # that no later request could be sent for (every call "needs the session's token").
    fake = FakeCentra.seeded()

    def edit(operation: str, body: Any) -> Any:
        if operation in ("Selection", "SetCountry"):
            del body["extensions"]["token"]
        return body

    with StorefrontApiClient(URL, SHARED, transport=_editing(fake, edit)) as client:
        with pytest.raises(PayloadError, match=r"extensions\.token"):
            client.send(CreateSelection(country=country))
        if country is None:  # the service opens a checkout so
            with pytest.raises(PayloadError):
                CheckoutService(transport=client, store=MemoryStore()).open()


# --- an error that says the server failed is no request error --------------------------------


INTERNAL_ERRORS = pytest.mark.parametrize(
    "error",
    [
        {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}},
        {"message": "Internal server error", "extensions": {"category": "internal"}},
    ],
    ids=["code", "category"],
)


@KINDS
@pytest.mark.parametrize("call", [PAY_RESULT, START], ids=["payment-result", "payment"])
@INTERNAL_ERRORS
def test_an_internal_error_without_data_is_an_unknown_outcome_for_a_money_call(
    kind: str, call: Call[Any], error: Any
) -> None:
    # No ``data`` key is how the GraphQL spec tells a request error, but an error that says
    # the server failed (graphql-php's category, Apollo's code) may have come after the
    # mutation ran: it does not say whether the payment happened.
    assert isinstance(_outcome(kind, call, {"errors": [error], **EXT}), OutcomeUnknown)


@KINDS
@INTERNAL_ERRORS
def test_an_internal_error_without_data_may_have_changed_the_cart(kind: str, error: Any) -> None:
    got = _outcome(kind, AddItem("sel1", SEED_ITEM, 1, token="tok"), {"errors": [error], **EXT})
    assert isinstance(got, CentraUnavailable) and got.token == "t2"


def _payment_result_unknown(shop: CheckoutService) -> Checkout:
    """A checkout taken to its payment result, whose outcome the answer left unknown."""
    checkout = shop.open()
    shop.add_item(checkout.id, SEED_ITEM, 1)
    shop.confirm(checkout.id, seed_details())
    shop.start_payment(checkout.id)
    with pytest.raises(OutcomeUnknown):
        shop.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    return checkout
