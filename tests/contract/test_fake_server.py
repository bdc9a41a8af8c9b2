"""The fake served over HTTP: Centra's status codes, headers and JSON errors, in process (httpx's
ASGI transport) and on a loopback port (``FakeServer``), with plain httpx as the client.

A request the server cannot read is a 4xx in Centra's error shape, never a 500; keep-alive
answers do not wait for delayed ACKs.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.answer import LostAnswer, RequestKind
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import MAX_BODY, FakeServer, bind, create_app
from orderflow.adapters.shop_api import dialect
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
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

BASE = "http://fake.test" + dialect.BASE_PATH


def asgi_client(fake: FakeCentra, **kwargs: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(fake, **kwargs))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


def _request(call: Call[Any]) -> dict[str, Any]:
    """The arguments of ``httpx.Client.request`` for ``call``, as the dialect builds it."""
    request = dialect.request(call)
    return {"method": request.method, "url": request.path, "json": request.body}


def _decoded(call: Call[Any], response: httpx.Response) -> Any:
    return dialect.request(call).decode(response.status_code, response.json())


async def test_the_seed_flow_over_asgi_transport_gives_the_seeds_receipt() -> None:
    fake = FakeCentra.seeded(api_key="k")
    headers = {dialect.API_KEY_HEADER: "k"}
    async with asgi_client(fake) as client:
        created = await client.request(**_request(CreateSelection()), headers=headers)
        selection = _decoded(CreateSelection(), created).selection_id
        calls: list[Call[Any]] = [
            AddItem(selection, SEED_ITEM, 1),
            SetCheckoutFields(selection, seed_details()),
            StartPayment(selection, seed_details()),
            PaymentResult(selection, SEED_PAYMENT_FIELDS),
        ]
        for call in calls:
            response = await client.request(**_request(call), headers=headers)
    receipt = _decoded(calls[-1], response)
    assert isinstance(receipt, Receipt) and receipt.totals is not None
    assert receipt.totals.grand_total_price.amount == 3600


async def test_a_malformed_json_body_is_a_400_json_error() -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.post("/selections", content=b"{not json")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "body" in response.json()["errors"]


async def test_a_body_that_is_not_an_object_is_a_400() -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.post("/selections", json=[1, 2])
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": "must be a JSON object"}}


@pytest.mark.parametrize("url", ["http://fake.test/elsewhere", BASE + "/no/such/endpoint"])
async def test_an_unknown_path_is_a_404_json_error(url: str) -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.get(url)
    assert response.status_code == 404
    assert "path" in response.json()["errors"]


async def test_centras_status_and_error_body_pass_through() -> None:
    async with asgi_client(FakeCentra.seeded(api_key="k")) as client:
        refused = await client.post("/selections")
        created = await client.post("/selections", headers={dialect.API_KEY_HEADER: "k"})
    assert refused.status_code == 401
    assert refused.json() == {"errors": {dialect.API_KEY_HEADER: "not valid"}}
    assert created.status_code == 201 and "selection" in created.json()


async def test_an_injected_status_carries_its_retry_after_header() -> None:
    fake = FakeCentra.seeded(faults=FaultPlan(1).status(CallKind.CREATE_SELECTION, 429, 3))
    async with asgi_client(fake) as client:
        response = await client.post("/selections")
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
    assert response.json()["errors"] == {"request": "too many requests"}


class _Answering:
    """Faults that answer every request with ``body`` instead of the fake."""

    def __init__(self, body: Any):
        self.body = body

    def before(self, kind: RequestKind, method: str, path: str, body: Any) -> tuple[int, Any]:
        return 200, self.body

    def after(self, kind: RequestKind, status: int, body: Any) -> None:
        return None


async def test_an_answer_orjson_cannot_encode_goes_out_as_the_standard_librarys_json() -> None:
    body = {"big": 2**70, "text": "Dybecksvägen", "values": [1.5, None, True], 3: "a key"}
    async with asgi_client(FakeCentra.seeded(faults=_Answering(body))) as client:
        response = await client.post("/selections")
    assert response.status_code == 200
    assert response.json() == {
        "big": 2**70,
        "text": "Dybecksvägen",
        "values": [1.5, None, True],
        "3": "a key",
    }


async def test_malformed_answers_go_on_the_wire_as_they_are() -> None:
    plan = FaultPlan(1).malformed(CallKind.CREATE_SELECTION, "not_json", on_calls={1})
    plan.malformed(CallKind.CREATE_SELECTION, "truncated", on_calls={2})
    async with asgi_client(FakeCentra.seeded(faults=plan)) as client:
        html = await client.post("/selections")
        cut = await client.post("/selections")
    assert html.status_code == 201 and html.headers["content-type"].startswith("text/html")
    assert html.content.startswith(b"<!DOCTYPE html>")
    assert cut.status_code == 201 and int(cut.headers["content-length"]) == len(cut.content)
    with pytest.raises(ValueError):
        json.loads(cut.content)


class LoseAfter:
    """A ``Faults`` hook: the answers of ``kind`` are lost after the fake acted."""

    def __init__(self, kind: CallKind):
        self.kind = kind

    def before(self, kind: RequestKind, method: str, path: str, body: Any) -> None:
        return None

    def after(self, kind: RequestKind, status: int, body: Any) -> None:
        if kind is self.kind:
            raise LostAnswer(kind, acted=True)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeCentra, str]]:
    """One ``FakeServer`` on a loopback port for the module, over one seeded fake."""
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10**6})
    with FakeServer(fake) as served:
        yield fake, served.base_url


@pytest.fixture(scope="module")
def http(server: tuple[FakeCentra, str]) -> Iterator[httpx.Client]:
    """A plain httpx client of ``server`` for the module (a client a test is cheap to reuse)."""
    with httpx.Client(base_url=server[1]) as client:
        yield client


def test_a_lost_answer_is_held_until_the_client_times_out(
    server: tuple[FakeCentra, str],
) -> None:
    fake, base_url = server
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(5.0, read=0.3)) as client:
        selection = _decoded(CreateSelection(), client.request(**_request(CreateSelection())))
        selection_id = selection.selection_id
        client.request(**_request(AddItem(selection_id, SEED_ITEM, 1)))
        client.request(**_request(StartPayment(selection_id, seed_details())))
        before = fake.calls[CallKind.PAYMENT_RESULT]
        fake.faults = LoseAfter(CallKind.PAYMENT_RESULT)
        try:
            with pytest.raises(httpx.ReadTimeout):
                client.request(**_request(PaymentResult(selection_id, SEED_PAYMENT_FIELDS)))
        finally:
            fake.faults = None
        read = client.request(**_request(ReadSelection(selection_id)))
    assert isinstance(_decoded(ReadSelection(selection_id), read), Receipt)
    assert fake.calls[CallKind.PAYMENT_RESULT] == before + 1 and selection_id in fake.orders


# --- what the fake accepts in a body, in process ------------------------------------------------


def _fresh_cart(fake: FakeCentra) -> str:
    selection: str = fake.serve_shop_api("POST", "/selections").body["selection"]["selection"]
    fake.serve_shop_api("POST", f"/selections/{selection}/items/{SEED_ITEM}", {"quantity": 1})
    return selection


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (["a", "list"], {"body": "must be a JSON object"}),
        ({"paymentMethod": ["not", "a", "string"]}, {"paymentMethod": "must be text"}),
        ({"address": {"country": ["SE"]}}, {"address.country": "must be text"}),
        ({"shippingAddress": "Main Street 1"}, {"shippingAddress": "must be an object"}),
        ({"internalOrder": "yes"}, {"internalOrder": "must be true or false"}),
        ({"address": {"city": float("nan")}}, {"body.address.city": "not a finite number"}),
        ({"address": {"city": "\ud800"}}, {"body.address.city": "not valid Unicode"}),
    ],
)
def test_badly_typed_bodies_are_field_errors_and_change_nothing(body: Any, errors: Any) -> None:
    fake = FakeCentra.seeded()
    selection = _fresh_cart(fake)
    before = json.dumps(fake.serve_shop_api("GET", f"/selections/{selection}").body)
    status, answer = fake.serve_shop_api("PUT", f"/selections/{selection}/checkout-fields", body)
    assert (status, answer) == (400, {"errors": errors})
    assert json.dumps(fake.serve_shop_api("GET", f"/selections/{selection}").body) == before


def test_a_body_nested_too_deeply_is_refused() -> None:
    deep: Any = "x"
    for _ in range(bodies.MAX_DEPTH + 1):
        deep = [deep]
    body = {"paymentMethodFields": {"details": deep}}
    status, answer = FakeCentra.seeded().serve_shop_api("POST", "/selections/payment-result", body)
    assert status == 400 and "nested deeper" in next(iter(answer["errors"].values()))


def test_the_fields_centras_documentation_uses_are_accepted() -> None:
    fake = FakeCentra.seeded()
    status, answer = fake.serve_shop_api("POST", "/selections", {"country": "NO"})
    assert status == 201 and answer["selection"]["country"] == "NO"
    unknown = fake.serve_shop_api("POST", "/selections", {"country": "XX"})
    assert unknown == (400, {"errors": {"country": "not found"}})
    selection = answer["selection"]["selection"]
    item = f"/selections/{selection}/items/{SEED_ITEM}"
    assert fake.serve_shop_api("POST", item, {"subscriptionPlan": 2})[0] == 200
    fields = {"cartAbandonmentEmail": True, "address": {"email": "a@example.com"}}
    assert fake.serve_shop_api("PUT", f"/selections/{selection}/checkout-fields", fields)[0] == 200


# --- what the server cannot read: a 4xx in Centra's shape, never a 500 ------------------------


def _cart(client: httpx.Client) -> str:
    created = client.post("/selections")
    selection: str = created.json()["selection"]["selection"]
    client.post(f"/selections/{selection}/items/{SEED_ITEM}", json={"quantity": 1})
    return selection


def _centra_error(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = response.json()["errors"]
    assert isinstance(errors, dict) and any(key.startswith(field) for key in errors), errors


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "body", id="nested-past-the-parser"),
        pytest.param(b'{"address": ' * 100 + b"{}" + b"}" * 100, "body.address", id="nested-100"),
        pytest.param(b'{"address": {"city": "\xff\xfe"}}', "body", id="not-utf-8"),
        pytest.param(b'{"ipAddress": "\\ud800"}', "body.ipAddress", id="lone-surrogate"),
        pytest.param(b'{"internalOrder": NaN}', "body.internalOrder", id="nan"),
        pytest.param(b'{"internalOrder": 1e400}', "body.internalOrder", id="infinite"),
        pytest.param(b'{"internalOrder": ' + b"9" * 5000 + b"}", "body", id="5000-digits"),
        pytest.param(b'{"address": {"country": {"code": "SE"}}}', "address.country", id="typed"),
        pytest.param(b'{"shippingAddress": [1, 2]}', "shippingAddress", id="list-address"),
        pytest.param(b'{"\xc3\xa4": 1}', "\u00e4", id="unknown-field"),
    ],
)
def test_a_body_the_fake_cannot_take_is_a_400(
    server: tuple[FakeCentra, str], content: bytes, field: str
) -> None:
    _, base_url = server
    with httpx.Client(base_url=base_url) as client:
        selection = _cart(client)
        url = f"/selections/{selection}/checkout-fields"
        response = client.put(url, content=content, headers={"content-type": "application/json"})
    _centra_error(response, 400, field)


def test_a_body_larger_than_the_limit_is_a_413(server: tuple[FakeCentra, str]) -> None:
    _, base_url = server
    body = json.dumps({"paymentMethodFields": {"blob": "x" * MAX_BODY}}).encode()
    with httpx.Client(base_url=base_url) as client:
        response = client.post("/selections/payment-result", content=body)
        _centra_error(response, 413, "body")
        assert client.post("/selections").status_code == 201  # and the server is fine


@pytest.mark.parametrize(
    "path",
    ["/selections/%ZZ", "/selections/%", "/selections/abc%2", "/selections/%C3%28/items/1"],
)
def test_a_path_with_broken_percent_encoding_is_a_400(
    server: tuple[FakeCentra, str], path: str
) -> None:
    _, base_url = server
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    target = (dialect.BASE_PATH + path).encode()
    # Raw bytes on the socket: httpx would repair the encoding before sending it.
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert "path" in json.loads(body)["errors"]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=16,
)
FIELDS = sorted({*dialect.PAYMENT_KEYS, "quantity", "voucher", "country", "paymentMethodFields"})
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), JSON, max_size=5) | JSON


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(route=st.sampled_from(dialect.ROUTES), body=BODIES)
def test_no_json_body_to_any_endpoint_is_answered_with_a_500(
    http: httpx.Client, route: dialect.Route, body: Any
) -> None:
    selection = _cart(http)
    line = http.get(f"/selections/{selection}").json()["selection"]["items"][0]["line"]
    http.request(**_request(StartPayment(selection, seed_details())))
    params = {"selection": selection, "item": SEED_ITEM, "line": line, "quantity": "2"}
    params |= {"code": "WELCOME10", "country": "NO"}
    response = http.request(route.method, route.template.format(**params), json=body)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.status_code < 300 or "errors" in response.json()


# --- the socket: every dialect's base URL, and no delayed-ACK stalls ---------------------------


def test_the_listening_socket_is_tcp_with_nodelay_and_names_each_dialects_base_url() -> None:
    with bind() as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    with FakeServer(FakeCentra.seeded()) as served:
        checkout = served.base_url.removesuffix(dialect.BASE_PATH) + "/api/checkout"
        graphql = served.base_url.removesuffix(dialect.BASE_PATH) + "/graphql"
        assert served.base_urls == {
            "Shop API": served.base_url,
            "Checkout API": checkout,
            "Storefront API": graphql,
        }
        assert served.base_url.endswith(dialect.BASE_PATH)


def test_keep_alive_answers_do_not_wait_for_delayed_acks(server: tuple[FakeCentra, str]) -> None:
    fake, base_url = server
    with httpx.Client(base_url=base_url) as client:
        selection = _cart(client)
        first = client.get(f"/selections/{selection}")
        stream = first.extensions["network_stream"]
        started = time.perf_counter()
        for _ in range(50):
            response = client.get(f"/selections/{selection}")
            assert response.status_code == 200
            assert response.extensions["network_stream"] is stream  # one connection
        average = (time.perf_counter() - started) / 50
    assert average < 0.015, f"{average * 1000:.1f} ms a request: delayed ACKs (TCP_NODELAY)?"
    assert (
        isinstance(_decoded(ReadSelection(selection), response), SelectionResponse)
        and fake.calls[CallKind.READ_SELECTION] >= 51
    )
