"""The Shop API clients on ``httpx.MockTransport``: what they send, one long-lived httpx client
with its hooks, logging without secrets, compression, the life cycle. No network.

The error table is in ``test_http_table``, the bounds in ``test_http_bounds``, the dialect in
``test_http_dialect``; what they share in ``test_http_support``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.adapters.http.client import HttpClient
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.calls import AddItem, ApplyVoucher, CreateSelection, ReadSelection
from orderflow.errors import CentraError, CentraUnavailable, OrderflowError, OutcomeUnknown
from tests.unit.test_http_support import (
    BASE_URL,
    CART,
    KEY,
    KINDS,
    MONEY,
    READ,
    SELECTION,
    Api,
    Stream,
    answer,
    chain,
    fails,
    fake_handler,
    selection_body,
    streamed,
)

NOT_FOUND = {"errors": {"selection": "not found"}}

# --- what is sent ------------------------------------------------------------------------------


@KINDS
def test_requests_go_under_the_base_with_the_key_and_a_json_body(kind: str) -> None:
    with Api(kind, fake_handler(FakeCentra.seeded(api_key=KEY))) as api:
        selection = api.send(CreateSelection()).selection_id
        api.send(AddItem(selection, SEED_ITEM, 2))
    create, add = api.requests
    assert create.url == f"{BASE_URL}/selections"
    assert add.method == "POST"
    assert add.url.path == f"/api/shop/selections/{selection}/items/{SEED_ITEM}"
    assert add.headers[dialect.API_KEY_HEADER] == KEY
    assert add.headers["content-type"] == "application/json"
    assert json.loads(add.content) == {"quantity": 2}
    assert "content-type" not in create.headers


@KINDS
def test_requests_carry_host_content_length_user_agent_and_accept_encoding(kind: str) -> None:
    with Api(kind, fake_handler(FakeCentra.seeded(api_key=KEY))) as api:
        selection = api.send(CreateSelection()).selection_id
        api.send(AddItem(selection, SEED_ITEM, 2))
        api.send(ReadSelection(selection))
    create, add, read = api.requests
    for request in api.requests:
        assert request.headers["host"] == "shop.example.test"
        assert request.headers["user-agent"].startswith("centra-orderflow python-httpx/")
        assert request.headers["accept-encoding"] == "gzip, deflate"
        assert request.headers["accept"] == "application/json"
    assert create.headers["content-length"] == "0"  # a bodiless POST, as httpx sends it
    assert add.headers["content-length"] == str(len(add.content)) != "0"
    assert "content-length" not in read.headers


@KINDS
def test_path_segments_are_quoted(kind: str) -> None:
    with (
        Api(kind, answer(400, {"errors": {"voucher": "unknown"}})) as api,
        pytest.raises(CentraError),
    ):
        api.send(ApplyVoucher("a/b c", "SOMMAR-Å"))
    sent = api.requests[0]
    assert sent.url.raw_path == b"/api/shop/selections/a%2Fb%20c/vouchers"
    assert "SOMMAR-Å".encode() in sent.content  # a body keeps non-ASCII text as UTF-8


@KINDS
@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib wrapper
        ("identity", lambda data: data),
    ],
    ids=["gzip", "deflate", "raw-deflate", "identity"],
)
def test_a_compressed_answer_is_decoded(
    kind: str, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    packed = compress(json.dumps(selection_body()).encode())
    chunks = [packed[i : i + 7] for i in range(0, len(packed), 7)]  # as the network splits it
    stream = Stream(lambda: iter(chunks))
    with Api(kind, streamed(200, stream, **{"content-encoding": encoding})) as api:
        assert api.send(CART).selection.currency == "SEK"
    assert stream.closed


def test_credentials_in_the_base_url_become_basic_auth_and_are_shown_nowhere() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json=NOT_FOUND)

    url = "https://staging:pa%40ss@shop.example.test/api/shop"
    with ShopApiClient(url, KEY, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(CentraError):
            client.send(READ)
        assert client.base_url == BASE_URL and "pa" not in repr(client)
    assert seen[0].headers["authorization"] == httpx.BasicAuth("staging", "pa@ss")._auth_header


# --- one long-lived httpx client --------------------------------------------------------------


@KINDS
def test_a_cookie_an_answer_sets_is_never_sent_back(kind: str) -> None:
    cookie = {"set-cookie": "session=abc; Path=/"}
    with Api(kind, answer(200, selection_body(), headers=cookie)) as api:
        api.send(READ)
        api.send(READ)
        assert not api.client._client.cookies
    assert all("cookie" not in request.headers for request in api.requests)


@KINDS
def test_event_hooks_see_every_request_and_response(kind: str) -> None:
    requests: list[httpx.Request] = []
    responses: list[int] = []
    hooks = {
        "request": [requests.append],
        "response": [lambda response: responses.append(response.status_code)],
    }
    with Api(kind, answer(404, NOT_FOUND), event_hooks=hooks) as api:
        for _ in range(2):
            with pytest.raises(CentraError):
                api.send(READ)
    assert [r.url.path for r in requests] == [f"/api/shop/selections/{SELECTION}"] * 2
    assert responses == [404, 404]


def test_each_client_sends_through_one_httpx_client_with_httpxs_own_defaults() -> None:
    limits = httpx.Limits(max_connections=3)
    with ShopApiClient(BASE_URL, KEY, limits=limits) as client:
        assert isinstance(client._client, httpx.Client)
        assert client._client.trust_env  # proxies come from the environment, as httpx does
        assert not client._client.follow_redirects
    asynchronous = AsyncShopApiClient(BASE_URL, KEY)
    assert isinstance(asynchronous._client, httpx.AsyncClient)
    asyncio.run(asynchronous.aclose())


def test_every_connection_of_the_pool_is_kept_alive_unless_limits_say_otherwise() -> None:
    def pool_of(client: ShopApiClient) -> tuple[int, int]:
        pool = client._client._transport._pool  # type: ignore[attr-defined]
        return pool._max_connections, pool._max_keepalive_connections

    with ShopApiClient(BASE_URL, KEY) as client:
        assert pool_of(client) == (100, 100)  # httpx would keep 20 of its 100
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=2)
    with ShopApiClient(BASE_URL, KEY, limits=limits) as client:
        assert pool_of(client) == (8, 2)


def test_the_shop_api_clients_are_the_shared_http_client() -> None:
    assert issubclass(ShopApiClient, HttpClient)


# --- secrets and logs -------------------------------------------------------------------------


@KINDS
def test_the_key_is_in_no_repr_and_no_error(kind: str) -> None:
    with Api(kind, answer(401, {"errors": {dialect.API_KEY_HEADER: "not valid"}})) as api:
        client = api.client
        assert KEY not in repr(client) and KEY not in str(client)
        assert repr(client) == f"{type(client).__name__}(base_url={BASE_URL!r})"
        for handler in (answer(401, {}), fails(httpx.ConnectError), fails(httpx.ReadTimeout)):
            api.handler = handler
            for call in (READ, MONEY):
                with pytest.raises(OrderflowError) as raised:
                    api.send(call)
                assert all(KEY not in f"{e!s} {e!r}" for e in chain(raised.value))


@KINDS
def test_each_attempt_is_logged_at_debug_without_the_key_or_the_ids(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orderflow.adapters.http")
    failures = iter([fails(httpx.ConnectError), answer(404, NOT_FOUND)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(failures)(request)

    with Api(kind, handler) as api:
        with pytest.raises(CentraError):
            api.send(READ)
        api.handler = answer(200, selection_body())
        api.send(AddItem(SELECTION, "item-of-a-shopper", 1))
    lines = [r for r in caplog.records if r.name == "orderflow.adapters.http"]
    shown = [r.getMessage() for r in lines]
    assert [m.rsplit(" in ", 1)[0] for m in shown] == [
        "GET /selections/{selection} -> ConnectError",
        "GET /selections/{selection} -> 404",
        "POST /selections/{selection}/items/{item} -> 200",
    ]
    assert all(r.levelno == logging.DEBUG and r.getMessage().endswith(" ms") for r in lines)
    for text in shown:
        assert KEY not in text and SELECTION not in text and "item-of-a-shopper" not in text


# --- validation and the life cycle ------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["not a url", "ftp://shop.example/api/shop", "/api/shop"])
def test_a_base_url_that_is_not_http_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        ShopApiClient(base_url, KEY, transport=httpx.MockTransport(answer(200)))


@pytest.mark.parametrize(
    "option",
    [
        {"deadline": 0},
        {"deadline": float("inf")},
        {"retries": -1},
        {"backoff": -0.1},
        {"max_answer_bytes": 0},
        {"max_decoded_bytes": 0},
    ],
    ids=lambda option: next(iter(option)),
)
def test_an_option_out_of_range_is_refused(option: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ShopApiClient(BASE_URL, KEY, **option)  # type: ignore[arg-type]


class Closing(httpx.MockTransport):
    """A mock transport counting how often it is closed."""

    closed = 0

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


def test_the_transport_is_closed_once_by_the_context_and_a_closed_client_refuses() -> None:
    mock = Closing(answer(404, NOT_FOUND))
    with ShopApiClient(BASE_URL, KEY, transport=mock) as client:
        for _ in range(2):
            with pytest.raises(CentraError):
                client.send(READ)
        assert mock.closed == 0
    client.close()
    assert mock.closed == 1
    with pytest.raises(RuntimeError, match="closed"):
        client.send(READ)


async def test_the_async_transport_is_closed_once_by_the_context() -> None:
    mock = Closing(answer(404, NOT_FOUND))
    async with AsyncShopApiClient(BASE_URL, KEY, transport=mock) as client:
        with pytest.raises(CentraError):
            await client.send(READ)
    await client.aclose()
    assert mock.closed == 1
    with pytest.raises(RuntimeError, match="closed"):
        await client.send(READ)


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


@KINDS
def test_an_answer_cut_off_mid_body_is_unknown_and_its_stream_is_closed(kind: str) -> None:
    streams: list[CutOff] = []

    def handler(request: httpx.Request) -> httpx.Response:
        streams.append(CutOff())
        return httpx.Response(200, stream=streams[-1])

    with Api(kind, handler) as api:
        with pytest.raises(OutcomeUnknown, match="ReadError"):
            api.send(MONEY)
        with pytest.raises(CentraUnavailable, match="ReadError"):
            api.send(READ)
    assert len(streams) == 4 and all(stream.closed for stream in streams)  # the read: 3 tries
