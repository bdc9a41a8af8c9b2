"""The checkout service over the Checkout API clients, on a mock answering the documented order
flow: the whole flow ending paid with the token rotated on the way, a money call whose answer is
lost (``OutcomeUnknown``, then reconciled from ``GET selection``), and replay recording and
replaying the dialect with its token and secret redacted. No network.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from orderflow import codec
from orderflow.adapters.checkout_api.answers import PRODUCT_KEY, SESSION_KEY, selection_id
from orderflow.adapters.checkout_api.client import AsyncCheckoutApiClient, CheckoutApiClient
from orderflow.adapters.replay.transport import AsyncReplayTransport, ReplayTransport
from orderflow.calls import Call, CreateSelection, PaymentResult, StartPayment
from orderflow.checkout import Checkout
from orderflow.errors import CentraUnavailable, OutcomeUnknown
from orderflow.flow import State
from orderflow.payment import FormAction
from orderflow.receipt import Receipt
from tests.unit.test_checkout_api_support import (
    BASE_URL,
    KINDS,
    ROTATED,
    SECRET,
    SELECTION,
    TOKEN,
    Api,
    Centra,
    Handler,
    Shop,
    details,
    doc,
    flow_routes,
)

FIELDS = doc("payment-result.request.json")["paymentMethodFields"]
MONEY: list[StartPayment | PaymentResult] = [
    StartPayment(SELECTION, details(), token=TOKEN),
    PaymentResult(SELECTION, FIELDS, token=TOKEN),
]
"""The calls that move money."""


def _rotating_after(centra: Centra, method: str, path: str) -> Handler:
    """``centra``, whose token expires at the request ``method path``: it answers a new one."""

    def handler(request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) == (method, "/api/checkout" + path):
            centra.token = ROTATED
        return centra(request)

    return handler


def _lost(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("simulated", request=request)


@KINDS
def test_the_documented_order_flow_ends_paid_and_the_rotated_token_is_sent_next(
    kind: str,
) -> None:
    centra = Centra(flow_routes())
    with Shop(kind, _rotating_after(centra, "POST", "/items/1-1/quantity/1")) as shop:
        checkout = shop.open()
        assert checkout.selection_id == selection_id(TOKEN) and checkout.token == TOKEN
        shop.add_item(checkout.id, "1-1", 1)
        shop.set_country(checkout.id, "US")
        confirmed = shop.confirm(checkout.id, details())
        assert confirmed.cart.selection.payment_method == "dummy"
        pending = shop.start_payment(checkout.id)
        assert pending.state is State.PAYMENT_PENDING
        assert isinstance(pending.payment_action, FormAction)
        paid = shop.complete_payment(checkout.id, FIELDS)
    assert paid.state is State.PAID and paid.order == "61"
    assert paid.receipt is not None and paid.receipt.totals is not None
    assert paid.receipt.totals.grand_total_price.amount == 350
    assert paid.token == ROTATED and paid.selection_id == selection_id(TOKEN)
    assert centra.sent() == [
        ("GET", "/selection"),
        ("POST", "/items/1-1/quantity/1"),
        ("PUT", "/countries/US"),
        ("PUT", "/payment-fields"),
        ("PUT", "/payment-methods/dummy"),
        ("POST", "/payment"),
        ("POST", "/payment-result"),
    ]
    tokens = [r.headers.get("api-token") for r in centra.requests]
    assert tokens == [None, TOKEN] + [ROTATED] * 5  # the new token from the answer on
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in centra.requests)
    # What a store keeps of it: the nested product objects and the session's parts too.
    kept = codec.loads(codec.dumps(paid), Checkout)
    assert kept == paid and kept.token == ROTATED
    assert (
        kept.receipt is not None and kept.receipt.extra[SESSION_KEY]["location"]["country"] == "SE"
    )
    assert kept.receipt.items[0].extra[PRODUCT_KEY]["centraVariant"] == "1445"


@KINDS
@pytest.mark.parametrize(
    "call",
    MONEY,
    ids=["payment", "payment-result"],
)
@pytest.mark.parametrize(
    "lost",
    [_lost, lambda request: httpx.Response(502, json={"token": TOKEN})],
    ids=["timeout", "502"],
)
def test_a_money_calls_lost_answer_is_outcome_unknown_and_not_sent_again(
    kind: str, call: Call[Any], lost: Handler
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return lost(request)

    with Api(kind, handler) as api, pytest.raises(OutcomeUnknown):
        api.send(call)
    assert len(sent) == 1


@KINDS
def test_a_lost_payment_result_is_reconciled_from_the_order_get_selection_answers(
    kind: str,
) -> None:
    routes = flow_routes()
    centra = Centra(routes)
    with Shop(kind, centra) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, "1-1", 1)
        shop.set_country(checkout.id, "US")
        shop.confirm(checkout.id, details())
        shop.start_payment(checkout.id)
        routes["POST", "/payment-result"] = _lost
        with pytest.raises(OutcomeUnknown):
            shop.complete_payment(checkout.id, FIELDS)
        assert shop.get(checkout.id).outcome_unknown is not None
        routes["GET", "/selection"] = (200, doc("selection.after-order.response.json"))
        paid = shop.reconcile(checkout.id)
    assert paid.state is State.PAID and paid.order == "61" and paid.outcome_unknown is None
    assert centra.sent()[-2:] == [("POST", "/payment-result"), ("GET", "/selection")]
    assert centra.requests[-1].headers["api-token"] == TOKEN


# --- replay ------------------------------------------------------------------------------------


def _replayed(kind: str, transport: Any, calls: list[Call[Any]]) -> list[Any]:
    if kind == "sync":
        with CheckoutApiClient(BASE_URL, SECRET, transport=transport) as client:
            return [client.send(call) for call in calls]

    async def run() -> list[Any]:
        async with AsyncCheckoutApiClient(BASE_URL, SECRET, transport=transport) as client:
            return [await client.send(call) for call in calls]

    return asyncio.run(run())


@KINDS
def test_replay_records_the_dialect_redacted_and_replays_it(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "checkout-api.json"
    centra = Centra(flow_routes(), token=TOKEN)
    calls: list[Call[Any]] = [
        CreateSelection(),
        StartPayment(SELECTION, details(), token=TOKEN),
        PaymentResult(SELECTION, FIELDS, token=TOKEN),
    ]
    replay = ReplayTransport if kind == "sync" else AsyncReplayTransport
    recorded = _replayed(kind, replay(path, mode="all", inner=httpx.MockTransport(centra)), calls)
    text = path.read_text(encoding="utf-8")
    for secret in (TOKEN, SECRET, "abc123@example.com"):
        assert secret not in text
    assert "<redacted:token:1>" in text
    replayed = _replayed(kind, replay(path), calls)
    assert len(centra.requests) == len(calls)  # replaying sent nothing
    assert [type(a) for a in replayed] == [type(a) for a in recorded]
    assert isinstance(replayed[2], Receipt) and replayed[2].order == recorded[2].order == "61"
    # The dummy form's hidden signature is a secret: the cassette keeps it redacted.
    signature = "bfc8414d462c7f1e6c13683f819fb559b89ad868"
    assert signature in recorded[1].form_html and signature not in text
    redacted = recorded[1].form_html.replace(signature, "<redacted:signature:1>")
    assert replayed[1].form_html == redacted
    assert replayed[0].token == "<redacted:token:1>" != recorded[0].token


@KINDS
@pytest.mark.parametrize("call", MONEY, ids=["payment", "payment-result"])
def test_a_money_call_without_a_token_is_not_sent_and_centra_did_not_act(
    kind: str, call: StartPayment | PaymentResult
) -> None:
    centra = Centra({})
    untokened = attrs.evolve(call, token=None)
    with Api(kind, centra) as api, pytest.raises(CentraUnavailable, match="did not act"):
        api.send(untokened)
    assert centra.requests == []
