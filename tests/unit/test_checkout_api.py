"""The Checkout API clients on ``httpx.MockTransport``: what each call sends (method, path, body,
the token, the secret, the correlation id), the calls carried by several requests, logging
without secrets, the public surface. No network.

The answers are in ``test_checkout_api_answers``; the service over the client, lost answers and
replay in ``test_checkout_api_flow``; what they share in ``test_checkout_api_support``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

import orderflow.adapters
from orderflow.adapters.checkout_api import dialect
from orderflow.adapters.checkout_api.client import CheckoutApiClient
from orderflow.calls import CALLS as ALL_CALLS
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    Call,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    RemoveLine,
    RemoveVoucher,
    SetCheckoutFields,
    SetCountry,
    SetQuantity,
    StartPayment,
)
from orderflow.errors import CentraError, CentraUnavailable, PayloadError
from orderflow.selection import SelectionResponse
from tests.unit.test_checkout_api_support import (
    BASE_URL,
    KINDS,
    ROTATED,
    SECRET,
    SELECTION,
    TOKEN,
    Api,
    Centra,
    chosen,
    details,
    doc,
)

LINE = "0a6d0c85c097bffdd54ad0cac52b3435"
CART = doc("selection.response.json")
RESULT_BODY = doc("payment-result.request.json")
FIELDS = RESULT_BODY["paymentMethodFields"]
CODE = "TEST+CODE"


def _with(token: str | None = TOKEN) -> dict[str, Any]:
    return {"token": token}


# Each call, the request it makes, and the body it sends (None: no body).
CALLS: list[tuple[Call[Any], str, str, Any]] = [
    (CreateSelection(), "GET", "/selection", None),
    (CreateSelection("SE"), "PUT", "/countries/SE", None),
    (ReadSelection(SELECTION, **_with()), "GET", "/selection", None),
    (AddItem(SELECTION, "1-1", 2, **_with()), "POST", "/items/1-1/quantity/2", None),
    (SetQuantity(SELECTION, LINE, 3, **_with()), "PUT", f"/lines/{LINE}/quantity/3", None),
    (SetQuantity(SELECTION, LINE, 0, **_with()), "DELETE", f"/lines/{LINE}", None),
    (RemoveLine(SELECTION, LINE, **_with()), "DELETE", f"/lines/{LINE}", None),
    (ApplyVoucher(SELECTION, CODE, **_with()), "POST", "/vouchers", {"voucher": CODE}),
    (RemoveVoucher(SELECTION, CODE, **_with()), "DELETE", "/vouchers/TEST%2BCODE", None),
    (SetCountry(SELECTION, "US", **_with()), "PUT", "/countries/US", None),
    (PaymentResult(SELECTION, FIELDS, **_with()), "POST", "/payment-result", RESULT_BODY),
]  # fmt: skip


@KINDS
@pytest.mark.parametrize(
    ("call", "method", "path", "body"), CALLS, ids=[f"{m} {p}" for _, m, p, _ in CALLS]
)
def test_each_call_makes_its_documented_request(
    kind: str, call: Call[Any], method: str, path: str, body: Any
) -> None:
    answered = doc("payment-result.response.json") if isinstance(call, PaymentResult) else CART
    centra = Centra({(method, path): (200, answered)})
    with Api(kind, centra) as api:
        api.send(call)
    (sent,) = centra.requests
    assert (sent.method, sent.url.raw_path.decode()) == (method, "/api/checkout" + path)
    assert (json.loads(sent.content) if sent.content else None) == body
    assert (sent.headers.get("content-type") == "application/json") is (body is not None)


@KINDS
def test_every_request_carries_the_token_the_bearer_secret_and_a_correlation_id(
    kind: str,
) -> None:
    centra = Centra({("GET", "/selection"): (200, CART), ("PUT", "/countries/US"): (200, CART)})
    with Api(kind, centra) as api:
        api.send(ReadSelection(SELECTION, token=TOKEN))  # a GET sends the header too
        api.send(SetCountry(SELECTION, "US", token=ROTATED))
    read, country = centra.requests
    assert read.headers["api-token"] == TOKEN and country.headers["api-token"] == ROTATED
    for sent in centra.requests:
        assert sent.headers["authorization"] == f"Bearer {SECRET}"
        assert sent.headers["accept"] == "application/json"
    ids = [sent.headers["x-correlation-id"] for sent in centra.requests]
    assert len(set(ids)) == 2 and all(len(i) == 36 for i in ids)  # a fresh UUID per call


@KINDS
def test_a_new_session_is_asked_without_a_token_and_a_client_without_secret_sends_none(
    kind: str,
) -> None:
    centra = Centra({("GET", "/selection"): (200, CART)})
    with Api(kind, centra, secret=None) as api:
        api.send(CreateSelection())
    (sent,) = centra.requests
    assert "api-token" not in sent.headers and "authorization" not in sent.headers


@KINDS
def test_a_call_keeps_its_correlation_id_over_retries_and_a_factory_makes_them(
    kind: str,
) -> None:
    answers = iter([httpx.Response(503), httpx.Response(429), httpx.Response(200, json=CART)])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    counter = itertools.count(1)
    with Api(kind, handler, correlation_id=lambda: f"shop-{next(counter)}") as api:
        api.send(ReadSelection(SELECTION, token=TOKEN))
    assert [r.headers["x-correlation-id"] for r in seen] == ["shop-1"] * 3
    assert len(api.sleeps) == 2  # a read is retried; its id stays the call's


@KINDS
@pytest.mark.parametrize(
    ("code", "path"),
    [(CODE, "TEST%2BCODE"), ("../x", "..%2Fx"), ("..", "%2E%2E"), ("SOMMAR-Å", "SOMMAR-%C3%85")],
)
def test_path_segments_are_percent_encoded_and_cannot_escape(
    kind: str, code: str, path: str
) -> None:
    centra = Centra({("DELETE", f"/vouchers/{path}"): (200, CART)})
    with Api(kind, centra) as api:
        api.send(RemoveVoucher(SELECTION, code, token=TOKEN))
    assert centra.sent() == [("DELETE", f"/vouchers/{path}")]


@KINDS
def test_starting_a_payment_sends_the_request_without_the_selection(kind: str) -> None:
    centra = Centra({("POST", "/payment"): (200, doc("payment.form-action.response.json"))})
    request = details()
    with Api(kind, centra) as api:
        api.send(StartPayment(SELECTION, request, token=TOKEN))
    sent = json.loads(centra.requests[0].content)
    assert "selection" not in sent and SELECTION not in centra.requests[0].content.decode()
    wanted = {**doc("payment.request.json"), "termsAndConditions": True}
    assert {k: sent[k] for k in wanted} == wanted


# --- checkout fields: one call, several requests -----------------------------------------------


@KINDS
def test_checkout_fields_then_set_the_payment_method_with_the_token_just_answered(
    kind: str,
) -> None:
    us = doc("countries.put-US.response.json")
    centra = Centra(
        {
            ("PUT", "/payment-fields"): (200, us),
            ("PUT", "/payment-methods/dummy"): (200, chosen(us, "dummy")),
        }
    )

    def rotating(request: httpx.Request) -> httpx.Response:
        response = centra(request)
        centra.token = ROTATED  # the first answer already carries the new token
        return response

    centra.token = ROTATED
    with Api(kind, rotating) as api:
        cart = api.send(SetCheckoutFields(SELECTION, details(), token=TOKEN))
    fields, method = centra.requests
    assert centra.sent() == [("PUT", "/payment-fields"), ("PUT", "/payment-methods/dummy")]
    body = json.loads(fields.content)
    assert set(body) == {"address", "shippingAddress"}
    assert body["address"]["email"] == "abc123@example.com"
    assert fields.headers["api-token"] == TOKEN and method.headers["api-token"] == ROTATED
    assert fields.headers["x-correlation-id"] == method.headers["x-correlation-id"]
    assert isinstance(cart, SelectionResponse) and cart.selection.payment_method == "dummy"
    assert cart.token == ROTATED and cart.selection_id == SELECTION


@KINDS
def test_checkout_fields_set_nothing_more_when_the_methods_are_chosen_already(kind: str) -> None:
    us = chosen(doc("countries.put-US.response.json"), "dummy")
    centra = Centra({("PUT", "/payment-fields"): (200, us)})
    wanted = details()
    wanted.extra["shippingMethod"] = "usd"  # the US answer has it selected
    with Api(kind, centra) as api:
        api.send(SetCheckoutFields(SELECTION, wanted, token=TOKEN))
    assert centra.sent() == [("PUT", "/payment-fields")]


@KINDS
def test_checkout_fields_set_each_method_at_most_once(kind: str) -> None:
    us = doc("countries.put-US.response.json")  # never shows the methods asked for
    centra = Centra(
        {
            ("PUT", "/payment-fields"): (200, us),
            ("PUT", "/payment-methods/dummy"): (200, us),
            ("PUT", "/shipping-methods/express"): (200, us),
        }
    )
    wanted = details()
    wanted.extra["shippingMethod"] = "express"
    with Api(kind, centra) as api:
        api.send(SetCheckoutFields(SELECTION, wanted, token=TOKEN))
    assert centra.sent() == [
        ("PUT", "/payment-fields"),
        ("PUT", "/payment-methods/dummy"),
        ("PUT", "/shipping-methods/express"),
    ]


@KINDS
def test_a_lost_answer_mid_way_through_checkout_fields_says_the_change_may_have_reached_centra(
    kind: str,
) -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("simulated", request=request)

    us = doc("countries.put-US.response.json")
    centra = Centra(
        {("PUT", "/payment-fields"): (200, us), ("PUT", "/payment-methods/dummy"): lost}
    )
    with Api(kind, centra) as api, pytest.raises(CentraUnavailable, match="may have reached"):
        api.send(SetCheckoutFields(SELECTION, details(), token=TOKEN))
    assert len(centra.requests) == 2  # a PUT is not retried: the shopper confirms again


@KINDS
@pytest.mark.parametrize(
    "call",
    [
        AddItem(SELECTION, "1-1", -1, token=TOKEN),
        AddItem(SELECTION, "1-1", 1, token="bad\ntoken"),
        AddItem(SELECTION, "1-1", 1, token="tökén"),
        AddItem(SELECTION, "1-1", 1),
        ReadSelection(SELECTION),
    ],
    ids=["negative-quantity", "newline-in-token", "non-ascii-token", "no-token", "read-no-token"],
)
def test_a_request_that_cannot_be_sent_is_a_payload_error_and_sends_nothing(
    kind: str, call: Call[Any]
) -> None:
    centra = Centra({})
    with Api(kind, centra) as api, pytest.raises(PayloadError, match="cannot be built"):
        api.send(call)
    assert centra.requests == []


@KINDS
@pytest.mark.parametrize("token", [5, b"0ft2kmhg80tlkgq26fq4840vkp", ["x"]], ids=type)
def test_a_token_that_is_not_text_is_refused_before_sending_never_an_attribute_error(
    kind: str, token: Any
) -> None:
    centra = Centra({})
    with Api(kind, centra) as api:
        with pytest.raises(PayloadError, match="API-token must be text"):
            api.send(ReadSelection(SELECTION, token=token))
        for money in (
            StartPayment(SELECTION, details(), token=token),
            PaymentResult(SELECTION, FIELDS, token=token),
        ):
            with pytest.raises(CentraUnavailable, match="Centra did not act"):
                api.send(money)
    assert centra.requests == []


@KINDS
def test_a_correlation_id_factory_answering_no_text_is_refused_before_sending(kind: str) -> None:
    # ``correlation_id=uuid.uuid4`` is the natural slip: a UUID, not its text.
    centra = Centra({})
    with Api(kind, centra, correlation_id=lambda: uuid.UUID(int=7)) as api:
        with pytest.raises(PayloadError, match="X-Correlation-ID must be text"):
            api.send(ReadSelection(SELECTION, token=TOKEN))
        with pytest.raises(CentraUnavailable, match="Centra did not act"):
            api.send(PaymentResult(SELECTION, FIELDS, token=TOKEN))
    assert centra.requests == []


@pytest.mark.parametrize("secret", [5, b"s3cret"], ids=type)
def test_a_secret_that_is_not_text_is_a_type_error_naming_it(secret: Any) -> None:
    with pytest.raises(TypeError, match="the secret must be text"):
        CheckoutApiClient(BASE_URL, secret)


# --- the client: construction, logging ------------------------------------------------------


def test_the_secret_is_shown_nowhere_and_is_not_mixed_with_url_credentials() -> None:
    with CheckoutApiClient(BASE_URL, SECRET, transport=httpx.MockTransport(Centra({}))) as client:
        assert SECRET not in repr(client) and client.base_url == BASE_URL
    with pytest.raises(ValueError, match="not both"):
        CheckoutApiClient("https://u:p@shop.example.test/api/checkout", SECRET)
    with pytest.raises(ValueError, match="printable ASCII"):
        CheckoutApiClient(BASE_URL, "line\nbreak")


def test_a_plugin_id_base_is_kept() -> None:
    centra = Centra({})
    mock = httpx.MockTransport(centra)
    with CheckoutApiClient(BASE_URL + "/52/", transport=mock) as client, pytest.raises(CentraError):
        client.send(SetCountry(SELECTION, "US", token=TOKEN))
    assert centra.requests[0].url.path == "/api/checkout/52/countries/US"


@KINDS
def test_each_request_is_logged_with_its_correlation_id_and_no_token_secret_or_id(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orderflow.adapters.http")
    centra = Centra({("POST", "/items/1-1/quantity/1"): (200, CART)})
    with Api(kind, centra, correlation_id=lambda: "corr-1") as api:
        api.send(AddItem(SELECTION, "1-1", 1, token=TOKEN))
    (line,) = [r for r in caplog.records if r.name == "orderflow.adapters.http"]
    assert line.getMessage().startswith("POST /items/{item}/quantity/{quantity} -> 200 in ")
    assert vars(line)["centra_correlation_id"] == "corr-1"
    shown = json.dumps({k: str(v) for k, v in vars(line).items()})
    assert TOKEN not in shown and SECRET not in shown and SELECTION not in shown


def test_every_call_has_a_request_on_one_of_the_routes() -> None:
    examples = [call for call, *_ in CALLS]
    examples += [
        SetCheckoutFields(SELECTION, details(), token=TOKEN),
        StartPayment(SELECTION, details(), token=TOKEN),
    ]
    assert {type(call) for call in examples} == set(ALL_CALLS)
    for call in examples:
        assert dialect.request(call).route in dialect.ROUTES
    assert len(set(dialect.ROUTES)) == len(dialect.ROUTES)


def test_the_package_exports_lazily_and_completely() -> None:
    package = importlib.import_module("orderflow.adapters.checkout_api")
    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is getattr(orderflow.adapters, name)
    probe = "import sys, orderflow.adapters.checkout_api; print('httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
