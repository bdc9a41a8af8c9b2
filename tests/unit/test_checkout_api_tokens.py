"""The Checkout API's session token across a call carried by several requests
(``SetCheckoutFields``: ``PUT payment-fields``, then ``PUT payment-methods/{id}``): when a later
request fails, the error carries the newest token the call was handed, so the service can keep
it instead of an outdated one. A busy or failing answer's token is kept too (on the error, and
for the retry of a read): with rotating tokens, the old one may be spent by then."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan, LostAnswer
from orderflow.adapters.fake.seed import SEED_ITEM, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import CallKind, ReadSelection, SetCheckoutFields, SetCountry
from orderflow.errors import CentraError, CentraUnavailable, OrderflowError, OutcomeUnknown
from orderflow.flow import State
from orderflow.payment import RedirectAction
from orderflow.service import CheckoutService
from tests.unit.test_checkout_api_support import (
    KINDS,
    ROTATED,
    SELECTION,
    TOKEN,
    Api,
    Centra,
    Handler,
    Shop,
    details,
    flow_routes,
)

NEWER = "n3w3rt0k3nfr0mth3r3fusal000"


def _rotated_then(centra: Centra, status: int, body: Any) -> Handler:
    """``centra``, answering ``PUT payment-fields`` with a new token (``ROTATED``), then ``PUT
    payment-methods/dummy`` with ``status`` and ``body`` as they are."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/payment-fields"):
            centra.token = ROTATED
        elif request.url.path.endswith("/payment-methods/dummy"):
            centra.requests.append(request)
            return httpx.Response(status, json=body)
        return centra(request)

    return handler


def _fails(api: Api, call: SetCheckoutFields) -> OrderflowError:
    with pytest.raises(OrderflowError) as failed:
        api.send(call)
    return failed.value


@KINDS
@pytest.mark.parametrize(
    ("status", "body", "raised"),
    [
        (502, {"message": "bad gateway"}, CentraUnavailable),
        (503, None, CentraUnavailable),
        (429, {"message": "slow down"}, CentraUnavailable),
        (400, {"errors": {"paymentMethod": "unknown"}}, CentraError),
    ],
    ids=["502", "503-empty", "429", "400-without-token"],
)
def test_a_later_request_failing_carries_the_token_the_first_answer_gave(
    kind: str, status: int, body: Any, raised: type[OrderflowError]
) -> None:
    centra = Centra(flow_routes(), token=TOKEN)
    call = SetCheckoutFields(SELECTION, details(), token=TOKEN)
    with Api(kind, _rotated_then(centra, status, body)) as api:
        error = _fails(api, call)
    assert type(error) is raised
    assert getattr(error, "token", None) == ROTATED
    assert [r.headers.get("api-token") for r in centra.requests] == [TOKEN, ROTATED]


@KINDS
def test_a_lost_later_answer_carries_the_token_the_first_answer_gave(kind: str) -> None:
    centra = Centra(flow_routes(), token=TOKEN)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/payment-methods/dummy"):
            raise httpx.ReadTimeout("lost", request=request)
        if request.url.path.endswith("/payment-fields"):
            centra.token = ROTATED
        return centra(request)

    with Api(kind, handler) as api:
        error = _fails(api, SetCheckoutFields(SELECTION, details(), token=TOKEN))
    assert isinstance(error, CentraUnavailable) and error.token == ROTATED


@KINDS
def test_a_later_refusal_with_its_own_token_keeps_its_own(kind: str) -> None:
    centra = Centra(flow_routes(), token=TOKEN)
    refusal = {"token": NEWER, "errors": {"paymentMethod": "unknown"}}
    with Api(kind, _rotated_then(centra, 400, refusal)) as api:
        error = _fails(api, SetCheckoutFields(SELECTION, details(), token=TOKEN))
    assert isinstance(error, CentraError) and error.token == NEWER


@KINDS
def test_a_first_request_failing_claims_no_token_it_was_not_handed(kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, json={"message": "bad gateway"})

    with Api(kind, handler) as api:
        error = _fails(api, SetCheckoutFields(SELECTION, details(), token=TOKEN))
    assert isinstance(error, CentraUnavailable) and error.token is None


@KINDS
@pytest.mark.parametrize(
    ("status", "body", "raised"),
    [
        (400, {"errors": {"paymentMethod": "unknown"}}, CentraError),  # no token in the body
        (502, {"message": "bad gateway"}, CentraUnavailable),
    ],
)
def test_the_service_keeps_the_rotated_token_when_setting_the_method_fails(
    kind: str, status: int, body: Any, raised: type[OrderflowError]
) -> None:
    centra = Centra(flow_routes(), token=TOKEN)
    with Shop(kind, _rotated_then(centra, status, body)) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, "1-1", 1)
        shop.set_country(checkout.id, "US")
        with pytest.raises(raised):
            shop.confirm(checkout.id, details())
        assert shop.get(checkout.id).token == ROTATED


def _served_by(fake: FakeCentra) -> Handler:
    """``fake``'s Checkout API as an ``httpx.MockTransport`` handler; a lost answer is a read
    timeout, as a client sees it."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix("/api/checkout")
        body = json.loads(request.content) if request.content else None
        try:
            answer = fake.serve_checkout_api(request.method, path, body, dict(request.headers))
        except LostAnswer:
            raise httpx.ReadTimeout("lost", request=request) from None
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    return handler


def at_the_return_page(service: CheckoutService) -> tuple[str, dict[str, str]]:
    """A checkout paying by redirect, its shopper back from the provider: its id and the
    fields the return page posts."""
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method="redirect-test"))
    action = service.start_payment(checkout.id).payment_action
    assert isinstance(action, RedirectAction)
    return checkout.id, dict(parse_qsl(urlsplit(action.url).query))


def test_a_reconcile_whose_first_read_fails_never_reads_a_new_session_as_no_order() -> None:
    # The read is retried after the 503: with the token the 503 carried, not the one the lost
    # payment result replaced (its last use went on the 503); with that one, Centra answers a
    # new, empty session, which the look-up would read as "no order" of the paid selection.
    plan = FaultPlan(3)
    fake = FakeCentra.seeded(rotate_tokens=True, faults=plan)
    with Api("sync", _served_by(fake)) as api:
        service = CheckoutService(transport=api.client, store=MemoryStore())
        checkout_id, fields = at_the_return_page(service)
        plan.timeout_after(CallKind.PAYMENT_RESULT)  # the order is made, its answer lost
        with pytest.raises(OutcomeUnknown):
            service.complete_payment(checkout_id, fields)
        reads = fake.calls[CallKind.READ_SELECTION]  # the plan counts the same requests
        plan.clear().server_error(CallKind.READ_SELECTION, on_calls=[reads + 1])
        assert len(fake.orders) == 1
        try:
            settled = service.reconcile(checkout_id)
        except OutcomeUnknown:
            return  # Centra could not say: the marker stays, as it must
        assert settled.state is State.PAID  # never "no order at Centra"


@KINDS
@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_or_failing_answer_carries_its_token_on_the_error(kind: str, status: int) -> None:
    # Every Checkout API answer has ``token`` (selections-and-orders: errors too), and any
    # answer may hand out a new one: the service keeps it, as it keeps a refusal's.
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"token": ROTATED, "message": "slow down"})

    with Api(kind, busy, retries=0) as api:
        with pytest.raises(CentraUnavailable) as failed:
            api.send(SetCountry(SELECTION, "US", token=TOKEN))
        assert failed.value.token == ROTATED
        with pytest.raises(CentraUnavailable) as failed:
            api.send(ReadSelection(SELECTION, token=TOKEN))
        assert failed.value.token == ROTATED
    sent: list[str] = []

    def busy_once(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["API-token"])
        return busy(request) if len(sent) == 1 else Centra(flow_routes())(request)

    with Api(kind, busy_once, retries=1) as api:
        api.send(ReadSelection(SELECTION, token=TOKEN))
    assert sent == [TOKEN, ROTATED]  # the read is retried with the token the failure carried
    with Api(kind, lambda r: httpx.Response(status, json={"token": "tök\\n"})) as api:
        with pytest.raises(CentraUnavailable) as failed:
            api.send(SetCountry(SELECTION, "US", token=TOKEN))
        assert failed.value.token is None  # a token that cannot be sent back is none


def test_a_payment_result_busy_twice_keeps_the_session_and_pays_on_the_third_try() -> None:
    plan = FaultPlan(5)
    fake = FakeCentra.seeded(rotate_tokens=True, faults=plan)
    with Api("sync", _served_by(fake)) as api:
        service = CheckoutService(transport=api.client, store=MemoryStore())
        checkout_id, fields = at_the_return_page(service)
        plan.status(CallKind.PAYMENT_RESULT, 429, 1, on_calls=[1, 2])
        for _ in range(2):  # Centra did not act: the shopper's return page tries again
            with pytest.raises(CentraUnavailable, match="did not act"):
                service.complete_payment(checkout_id, fields)
        paid = service.complete_payment(checkout_id, fields)
    assert paid.state is State.PAID and len(fake.orders) == 1
