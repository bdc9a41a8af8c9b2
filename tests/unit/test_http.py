"""The HTTP adapter on ``httpx.MockTransport``: requests, the error mapping, retries. No network."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import (
    DEFAULT_TIMEOUT,
    AsyncShopApiClient,
    ShopApiClient,
    _environment_proxy,
)
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
)
from orderflow.receipt import Receipt

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"

BASE_URL = "https://shop.example.test/api/shop"
KEY = "s3cret-shop-key"
Handler = Callable[[httpx.Request], httpx.Response]

# One call per kind: (Transport method, its arguments).
READ = ("read_selection", ("sel1",))
CART = ("add_item", ("sel1", SEED_ITEM, 1))
IDEMPOTENT = ("set_country", ("sel1", "SE"))
START = ("start_payment", ("sel1", seed_details()))
RESULT = ("payment_result", ("sel1", SEED_PAYMENT_FIELDS))


@attrs.define
class Api:
    """A client (sync or async) on a mock transport, called the same way, counting attempts."""

    kind: str
    handler: Handler
    requests: list[httpx.Request] = attrs.field(factory=list)
    sleeps: list[float] = attrs.field(factory=list)
    client: Any = None

    def __attrs_post_init__(self) -> None:
        def recording(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.handler(request)

        mock = httpx.MockTransport(recording)
        if self.kind == "sync":
            self.client = ShopApiClient(BASE_URL, KEY, transport=mock, sleep=self.sleeps.append)
        else:

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            self.client = AsyncShopApiClient(BASE_URL, KEY, transport=mock, sleep=sleep)

    def call(self, name: str, *args: Any) -> Any:
        method = getattr(self.client, name)
        if self.kind == "sync":
            return method(*args)
        return asyncio.run(method(*args))


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Callable[[Handler], Api]:
    """Build an ``Api`` of each kind around a handler."""
    return lambda handler: Api(request.param, handler)


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    return lambda request: httpx.Response(status, json=body, **kwargs)


def fails(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


def chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def fake_handler(fake: FakeCentra) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        body = json.loads(request.content) if request.content else None
        status, data = fake.serve_shop_api(request.method, path, body, dict(request.headers))
        return httpx.Response(status, json=data)

    return handler


# --- requests ---------------------------------------------------------------------------------


def test_requests_go_under_the_base_with_the_key_and_a_json_body(
    api: Callable[[Handler], Api],
) -> None:
    client = api(fake_handler(FakeCentra.seeded(api_key=KEY)))
    selection = client.call("create_selection").selection_id
    client.call("add_item", selection, SEED_ITEM, 2)
    create, add = client.requests
    assert create.url == f"{BASE_URL}/selections"
    assert add.method == "POST"
    assert add.url.path == f"/api/shop/selections/{selection}/items/{SEED_ITEM}"
    assert add.headers[dialect.API_KEY_HEADER] == KEY
    assert add.headers["content-type"] == "application/json"
    assert json.loads(add.content) == {"quantity": 2}
    assert "content-type" not in create.headers


def test_the_seed_flow_decodes_to_the_seeds_receipt(api: Callable[[Handler], Api]) -> None:
    client = api(fake_handler(FakeCentra.seeded(api_key=KEY)))
    selection = client.call("create_selection").selection_id
    client.call("add_item", selection, SEED_ITEM, 1)
    client.call("set_checkout_fields", selection, seed_details())
    client.call("start_payment", selection, seed_details())
    receipt = client.call("payment_result", selection, SEED_PAYMENT_FIELDS)
    assert isinstance(receipt, Receipt) and receipt.totals.grand_total_price.amount == 3600
    assert client.call("read_receipt", selection) == receipt


def test_requests_carry_host_content_length_user_agent_and_accept_encoding(
    api: Callable[[Handler], Api],
) -> None:
    client = api(fake_handler(FakeCentra.seeded(api_key=KEY)))
    selection = client.call("create_selection").selection_id
    client.call("add_item", selection, SEED_ITEM, 2)
    client.call("read_selection", selection)
    create, add, read = client.requests
    for request in client.requests:
        assert request.headers["host"] == "shop.example.test"
        assert request.headers["user-agent"].startswith("centra-orderflow python-httpx/")
        assert request.headers["accept-encoding"] == "gzip, deflate"
        assert request.headers["accept"] == "application/json"
    assert create.headers["content-length"] == "0"  # a bodiless POST, as httpx sends it
    assert add.headers["content-length"] == str(len(add.content)) != "0"
    assert "content-length" not in read.headers


def test_a_body_keeps_non_ascii_text_as_utf8(api: Callable[[Handler], Api]) -> None:
    client = api(answer(400, {"errors": {"voucher": "unknown"}}))
    with pytest.raises(CentraError):
        client.call("apply_voucher", "sel1", "SOMMAR-Å")
    assert "SOMMAR-Å".encode() in client.requests[0].content


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_a_compressed_answer_is_decoded(
    api: Callable[[Handler], Api], encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = json.dumps({"errors": {"receipt": "none"}}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, as the network gives it: nothing decoded before the client reads it.
        headers = {"content-encoding": encoding, "content-type": "application/json"}
        return httpx.Response(404, headers=headers, stream=httpx.ByteStream(compress(body)))

    assert api(handler).call("read_receipt", "sel1") is None


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (2.5, dict.fromkeys(("connect", "read", "write", "pool"), 2.5)),
        (None, {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}),
    ],
)
def test_the_timeout_reaches_the_transport_on_every_request(
    timeout: float | None, expected: dict[str, float]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"errors": {"receipt": "none"}})

    mock = httpx.MockTransport(handler)
    chosen = DEFAULT_TIMEOUT if timeout is None else timeout
    client = ShopApiClient(BASE_URL, KEY, timeout=chosen, transport=mock)
    assert client.read_receipt("sel1") is None
    assert client.read_receipt("sel2") is None
    assert [r.extensions["timeout"] for r in seen] == [expected, expected]


def test_credentials_in_the_base_url_become_basic_auth_and_are_shown_nowhere() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={})

    url = "https://staging:pa%40ss@shop.example.test/api/shop"
    client = ShopApiClient(url, KEY, transport=httpx.MockTransport(handler))
    assert client.read_receipt("sel1") is None
    assert seen[0].headers["authorization"] == httpx.BasicAuth("staging", "pa@ss")._auth_header
    assert client.base_url == BASE_URL and "pa" not in repr(client)


def test_the_key_is_in_no_repr_and_no_error(api: Callable[[Handler], Api]) -> None:
    client = api(answer(401, {"errors": {dialect.API_KEY_HEADER: "not valid"}}))
    assert KEY not in repr(client.client) and KEY not in str(client.client)
    assert repr(client.client) == f"{type(client.client).__name__}(base_url={BASE_URL!r})"
    for handler in (answer(401, {}), fails(httpx.ConnectError), fails(httpx.ReadTimeout)):
        client.handler = handler
        for name, args in (READ, RESULT):
            with pytest.raises(Exception) as raised:
                client.call(name, *args)
            assert all(KEY not in f"{e!s} {e!r}" for e in chain(raised.value))


@pytest.mark.parametrize("base_url", ["not a url", "ftp://shop.example/api/shop", "/api/shop"])
def test_a_base_url_that_is_not_http_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        ShopApiClient(base_url, KEY, transport=httpx.MockTransport(answer(200)))


# --- the error mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "failure", "error"),
    [
        (READ, httpx.ConnectError, CentraUnavailable),
        (READ, httpx.ReadTimeout, CentraUnavailable),
        (CART, httpx.ReadTimeout, CentraUnavailable),
        (IDEMPOTENT, httpx.ConnectTimeout, CentraUnavailable),
        (START, httpx.ConnectError, CentraUnavailable),
        (START, httpx.ReadTimeout, OutcomeUnknown),
        (START, httpx.WriteTimeout, OutcomeUnknown),
        (RESULT, httpx.ConnectError, CentraUnavailable),
        (RESULT, httpx.ConnectTimeout, CentraUnavailable),
        (RESULT, httpx.PoolTimeout, CentraUnavailable),
        (RESULT, httpx.ReadTimeout, OutcomeUnknown),
        (RESULT, httpx.RemoteProtocolError, OutcomeUnknown),
        (RESULT, httpx.ReadError, OutcomeUnknown),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else getattr(value, "__name__", None),
)
def test_a_network_failure_maps_to_a_core_error_and_no_httpx_error_escapes(
    api: Callable[[Handler], Api],
    call: tuple[str, tuple[Any, ...]],
    failure: type[httpx.TransportError],
    error: type[Exception],
) -> None:
    client = api(fails(failure))
    with pytest.raises(error) as raised:
        client.call(call[0], *call[1])
    assert type(raised.value) is error
    assert not any(isinstance(e, httpx.HTTPError) for e in chain(raised.value))
    assert failure.__name__ in str(raised.value)


def test_a_connect_error_names_the_base_url(api: Callable[[Handler], Api]) -> None:
    with pytest.raises(
        CentraUnavailable, match=r"could not connect to https://shop\.example\.test"
    ):
        api(fails(httpx.ConnectError)).call(CART[0], *CART[1])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_centra_unavailable_with_its_status(
    api: Callable[[Handler], Api], status: int
) -> None:
    with pytest.raises(CentraUnavailable) as raised:
        api(answer(status, {"message": "maintenance"})).call(RESULT[0], *RESULT[1])
    assert raised.value.status == status and "maintenance" in str(raised.value)


def test_a_5xx_with_an_html_body_is_still_centra_unavailable(
    api: Callable[[Handler], Api],
) -> None:
    html = answer(502, None, content=b"<html>Bad Gateway</html>")
    with pytest.raises(CentraUnavailable) as raised:
        api(html).call(CART[0], *CART[1])
    assert raised.value.status == 502


@pytest.mark.parametrize("status", [200, 400, 404])
def test_a_body_that_is_not_json_is_a_payload_error_naming_the_endpoint(
    api: Callable[[Handler], Api], status: int
) -> None:
    html = answer(
        status, None, content=b"<!doctype html><p>hi</p>", headers={"content-type": "text/html"}
    )
    with pytest.raises(PayloadError) as raised:
        api(html).call(READ[0], *READ[1])
    message = str(raised.value)
    assert "GET /selections/{selection}" in message
    assert "not JSON" in message and "text/html" in message


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_say_the_key_or_the_origin_is_wrong(
    api: Callable[[Handler], Api], status: int
) -> None:
    with pytest.raises(AuthenticationFailed) as raised:
        api(answer(status, {"errors": {"accessRight": "denied"}})).call(CART[0], *CART[1])
    assert raised.value.status == status
    assert raised.value.errors == {"accessRight": "denied"}
    assert "API key" in str(raised.value) and "origin" in str(raised.value)


def test_a_401_with_an_html_body_is_still_an_authentication_failure(
    api: Callable[[Handler], Api],
) -> None:
    with pytest.raises(AuthenticationFailed, match="API key"):
        api(answer(401, None, content=b"<h1>Unauthorized</h1>")).call(READ[0], *READ[1])


def test_field_errors_are_kept_as_field_to_message(api: Callable[[Handler], Api]) -> None:
    body = {"errors": {"item": "product item not found"}, "code": "X1"}
    with pytest.raises(CentraError) as raised:
        api(answer(400, body)).call(CART[0], *CART[1])
    assert type(raised.value) is CentraError
    assert raised.value.errors == {"item": "product item not found"}
    assert raised.value.code == "X1"


def test_410_carries_the_unavailable_items(api: Callable[[Handler], Api]) -> None:
    fake = FakeCentra.seeded()
    selection = fake.create_selection().selection_id
    fake.add_item(selection, SEED_ITEM, 1)
    fake.stock[SEED_ITEM] = 0
    with pytest.raises(OutOfStock) as raised:
        api(fake_handler(fake)).call("start_payment", selection, seed_details())
    assert [u.item for u in raised.value.unavailable] == [SEED_ITEM]
    assert raised.value.selection is not None and raised.value.selection.selection.items == ()


# --- retries ----------------------------------------------------------------------------------


def flaky(failures: int, failure: Handler, then: Handler) -> Handler:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return failure(request) if count <= failures else then(request)

    return handler


@pytest.mark.parametrize(
    "failure", [fails(httpx.ConnectError), fails(httpx.ReadTimeout), answer(503, {})]
)
def test_a_read_is_retried_with_exponential_backoff(
    api: Callable[[Handler], Api], failure: Handler
) -> None:
    client = api(flaky(2, failure, answer(404, {"errors": {"receipt": "none"}})))
    assert client.call("read_receipt", "sel1") is None
    assert len(client.requests) == 3
    assert client.sleeps == [0.1, 0.2]


def test_a_read_gives_up_after_its_retries(api: Callable[[Handler], Api]) -> None:
    client = api(fails(httpx.ConnectError))
    with pytest.raises(CentraUnavailable):
        client.call(READ[0], *READ[1])
    assert len(client.requests) == 3 and client.sleeps == [0.1, 0.2]


def test_a_refusal_is_not_retried(api: Callable[[Handler], Api]) -> None:
    client = api(answer(400, {"errors": {"selection": "not found"}}))
    with pytest.raises(CentraError):
        client.call(READ[0], *READ[1])
    assert len(client.requests) == 1 and client.sleeps == []


@pytest.mark.parametrize("call", [START, RESULT, CART, IDEMPOTENT], ids=lambda c: c[0])
@pytest.mark.parametrize(
    "failure",
    [fails(httpx.ReadTimeout), fails(httpx.ConnectError), answer(503, {})],
    ids=["timeout", "connect", "503"],
)
def test_only_reads_are_retried_payment_calls_never(
    api: Callable[[Handler], Api], call: tuple[str, tuple[Any, ...]], failure: Handler
) -> None:
    client = api(failure)
    with pytest.raises((CentraUnavailable, OutcomeUnknown)):
        client.call(call[0], *call[1])
    assert len(client.requests) == 1 and client.sleeps == []


# --- the transport and its life cycle -----------------------------------------------------


class Closing(httpx.MockTransport):
    """A mock transport counting how often it is closed."""

    closed = 0

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


class CutOff(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer's body that breaks after its first bytes, remembering that it was closed."""

    closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"selection":'
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"selection":'
        raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def test_the_transport_is_closed_once_by_the_context_and_a_closed_client_refuses() -> None:
    mock = Closing(answer(404, {}))
    with ShopApiClient(BASE_URL, KEY, transport=mock) as client:
        assert client.read_receipt("a") is None
        assert client.read_receipt("b") is None
        assert mock.closed == 0
    client.close()
    assert mock.closed == 1
    with pytest.raises(RuntimeError, match="closed"):
        client.read_receipt("c")


async def test_the_async_transport_is_closed_once_by_the_context() -> None:
    mock = Closing(answer(404, {}))
    async with AsyncShopApiClient(BASE_URL, KEY, transport=mock) as client:
        assert await client.read_receipt("a") is None
    await client.aclose()
    assert mock.closed == 1
    with pytest.raises(RuntimeError, match="closed"):
        await client.read_receipt("b")


def test_an_answer_cut_off_mid_body_is_unknown_and_its_stream_is_closed(
    api: Callable[[Handler], Api],
) -> None:
    streams: list[CutOff] = []

    def handler(request: httpx.Request) -> httpx.Response:
        streams.append(CutOff())
        return httpx.Response(200, stream=streams[-1])

    client = api(handler)
    with pytest.raises(OutcomeUnknown, match="ReadError"):
        client.call(RESULT[0], *RESULT[1])
    with pytest.raises(CentraUnavailable, match="ReadError"):
        client.call(READ[0], *READ[1])
    assert len(streams) == 4 and all(stream.closed for stream in streams)


def test_without_a_transport_each_client_builds_one_pool_of_its_own() -> None:
    with ShopApiClient(BASE_URL, KEY) as client:
        assert isinstance(client._transport, httpx.HTTPTransport)
    asynchronous = AsyncShopApiClient(BASE_URL, KEY)
    assert isinstance(asynchronous._transport, httpx.AsyncHTTPTransport)
    asyncio.run(asynchronous.aclose())


def test_the_default_transport_takes_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert _environment_proxy(BASE_URL) is None
    monkeypatch.setenv("HTTPS_PROXY", "proxy.internal:3128")
    assert _environment_proxy(BASE_URL) == "http://proxy.internal:3128"
    assert _environment_proxy("http://shop.example.test/api/shop") is None
    monkeypatch.setenv("NO_PROXY", "example.test")
    assert _environment_proxy(BASE_URL) is None


def test_the_payment_result_request_is_the_seeds() -> None:
    seed = json.loads((SEED / "payment-result.request.json").read_text(encoding="utf-8"))
    request = dialect.payment_result(seed["selection"], seed["paymentMethodFields"])
    assert (request.method, request.path) == ("POST", "/selections/payment-result")
    assert request.body == seed
