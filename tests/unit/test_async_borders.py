"""The async clients' borders, as the sync clients' were fuzzed: every answer of a full seed flow
in each dialect, a node at a time given a bad value, raises only orderflow errors; and gzip
answers of several members, or with bytes after their end, are read as the whole body."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orderflow.adapters.checkout_api import AsyncCheckoutApiClient
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import create_app
from orderflow.adapters.fake.storefront.app import graphql_app
from orderflow.adapters.shop_api.client import AsyncShopApiClient
from orderflow.adapters.storefront_api import AsyncStorefrontApiClient
from orderflow.adapters.stores.memory import AsyncMemoryStore
from orderflow.calls import Call, PaymentResult, StartPayment
from orderflow.errors import OrderflowError, OutcomeUnknown, PayloadError
from orderflow.service import AsyncCheckoutService
from tests.unit.test_http_support import KINDS, MONEY, READ, Api, Stream, selection_body

# --- gzip: several members, bytes after the end -----------------------------------------------

BODY = json.dumps(selection_body()).encode()
HALF = len(BODY) // 2
SELECTION = selection_body()["selection"]["selection"]


def _answer(encoding: str, chunks: list[bytes]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-encoding": encoding, "content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=Stream(lambda: iter(chunks)))

    return handler


@KINDS
@pytest.mark.parametrize(
    "chunks",
    [
        [gzip.compress(BODY[:HALF]) + gzip.compress(BODY[HALF:])],
        [gzip.compress(BODY[:HALF]), gzip.compress(BODY[HALF:])],
        [
            (gzip.compress(BODY[:HALF]) + gzip.compress(BODY[HALF:]))[i : i + 7]
            for i in range(0, 9999, 7)
        ],
        [gzip.compress(BODY) + gzip.compress(b"") + gzip.compress(b" \n")],
        [gzip.compress(BODY) + b"\0" * 8, b"\0" * 3],  # zero padding, as gzip allows
    ],
    ids=["two-members", "a-member-a-chunk", "7-byte-chunks", "empty-members", "zero-padding"],
)
def test_a_gzip_answer_of_several_members_is_read_whole(kind: str, chunks: list[bytes]) -> None:
    with Api(kind, _answer("gzip", chunks), retries=0) as api:
        assert api.send(READ).selection.selection == SELECTION


OTHER = BODY.replace(SELECTION.encode(), b"sel-not-the-answer")


@KINDS
@pytest.mark.parametrize(
    ("encoding", "chunks"),
    [
        ("gzip", [gzip.compress(BODY) + gzip.compress(OTHER)]),
        ("gzip", [gzip.compress(BODY), gzip.compress(OTHER)]),
        ("gzip", [gzip.compress(BODY) + b"garbage!"]),
        ("gzip", [gzip.compress(BODY), b"garbage!"]),
        ("gzip", [gzip.compress(BODY) + b"\0\0", b"\0x"]),
        ("gzip", [gzip.compress(BODY) + b"\x1f\x8b"]),
        ("deflate", [zlib.compress(BODY) + b"garbage"]),
        ("deflate", [zlib.compress(BODY)[2:-4], b"garbage"]),  # raw deflate
    ],
    ids=[
        "another-answer",
        "another-answer-chunk",
        "garbage",
        "garbage-chunk",
        "garbage-after-padding",
        "a-cut-member",
        "deflate-garbage",
        "raw-deflate-garbage",
    ],
)
def test_bytes_after_a_compressed_answer_make_it_one_that_cannot_be_read(
    kind: str, encoding: str, chunks: list[bytes]
) -> None:
    # The body is everything sent: read as identity it would not be JSON either.
    with Api(kind, _answer(encoding, chunks), retries=0) as api:
        with pytest.raises(PayloadError, match="GET /selections/"):
            api.send(READ)
        with pytest.raises(OutcomeUnknown, match="payment-result"):
            api.send(MONEY)


# --- the async clients: every answer of the seed flow, a node at a time given a bad value ------

KEY = "async-borders-key"
HOST = "http://fake.test"
CLIENTS: dict[str, tuple[Any, str]] = {
    "shop": (AsyncShopApiClient, "/api/shop"),
    "checkout": (AsyncCheckoutApiClient, "/api/checkout"),
    "storefront": (AsyncStorefrontApiClient, "/graphql"),
}
BAD: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    1.5,
    -0.0,
    1e308,
    "",
    " ",
    "x",
    "\ud800",
    "\x00",
    "NaN",
    "-1",
    "2026-13-45T99:99:99Z",
    "<html>",
    "a" * 5000,
    [],
    {},
    [None],
    {"": None},
    [[[]]],
]
DELETE = object()
RAW = ["9" * 5000, "1e999", "NaN", "-Infinity", "[" * 3000 + "]" * 3000, '"\\udfff"']
"""Values no ``json.dumps`` writes, put into the answer's text as they are."""

Wire = tuple[int, list[tuple[str, str]], bytes]
Flow = list[tuple[Call[Any], list[Wire]]]


class _Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport):
        self.inner = inner
        self.wire: list[Wire] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.inner.handle_async_request(request)
        body = await answer.aread()
        kept = [(k, v) for k, v in answer.headers.items() if k not in ("content-length",)]
        self.wire.append((answer.status_code, kept, body))
        return httpx.Response(answer.status_code, headers=kept, content=body)


class _Calls:
    """An ``AsyncTransport`` keeping each call the service sends with the answers it got."""

    def __init__(self, client: Any, recording: _Recording):
        self.client = client
        self.recording = recording
        self.flow: Flow = []

    async def send(self, call: Call[Any]) -> Any:
        start = len(self.recording.wire)
        try:
            return await self.client.send(call)
        finally:
            self.flow.append((call, self.recording.wire[start:]))


@functools.cache
def _flow(name: str) -> Flow:
    """The seed flow from an empty cart to paid, as the dialect's async client sent it."""

    async def run() -> Flow:
        client_type, path = CLIENTS[name]
        fake = FakeCentra.seeded(api_key=KEY)
        app = graphql_app(fake) if name == "storefront" else create_app(fake)
        recording = _Recording(httpx.ASGITransport(app=app))
        client = client_type(HOST + path, KEY, transport=recording, retries=0)
        calls = _Calls(client, recording)
        service = AsyncCheckoutService(transport=calls, store=AsyncMemoryStore())
        checkout = await service.open()
        await service.add_item(checkout.id, SEED_ITEM, 1)
        await service.apply_voucher(checkout.id, "WELCOME10")
        await service.confirm(checkout.id, seed_details())
        await service.start_payment(checkout.id)
        paid = await service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        assert paid.state.value == "paid"
        await client.aclose()
        return calls.flow

    return asyncio.run(run())


def _walks(node: Any, walk: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield walk
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walks(value, (*walk, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walks(value, (*walk, index))


def _with(answer: Any, walk: tuple[Any, ...], value: Any) -> Any:
    if not walk:
        return value
    answer = json.loads(json.dumps(answer))
    parent = answer
    for step in walk[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[walk[-1]]
    else:
        parent[walk[-1]] = value
    return answer


def _bad_bodies(raw: bytes) -> Iterator[tuple[str, bytes]]:
    """The answer with each node in turn given one of the bad values (deleted, for every
    third), and with a few of them a value no JSON writer makes: deterministic, each value met
    on nodes of every depth."""
    answer = json.loads(raw)
    for n, walk in enumerate(_walks(answer)):
        value = DELETE if walk and n % 3 == 0 else BAD[n % len(BAD)]
        yield (
            f"{walk} = {'<deleted>' if value is DELETE else repr(value)[:40]}",
            json.dumps(_with(answer, walk, value)).encode(),
        )
        if n % 10 == 0:
            text = RAW[n % len(RAW)]
            marked = json.dumps(_with(answer, walk, "@@raw@@"))
            yield f"{walk} = {text[:20]}", marked.replace('"@@raw@@"', text).encode()


async def _send_with(name: str, flow: Flow, at: int, body: bytes) -> None:
    """Send the flow's calls up to ``at`` on a fresh client, each answered as recorded, the
    one of ``at`` with ``body``."""
    client_type, path = CLIENTS[name]
    answers = [wire for _, exchanges in flow[:at] for wire in exchanges]
    status, headers, _ = flow[at][1][0]
    answers.append((status, headers, body))
    queue = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        # A request the flow never made (a client may ask again): Centra is away.
        status, headers, body = next(queue, (503, [], b'{"errors": {"centra": "away"}}'))
        return httpx.Response(status, headers=headers, content=body)

    client = client_type(HOST + path, KEY, transport=httpx.MockTransport(handler), retries=0)
    try:
        for call, _ in flow[:at]:
            await client.send(call)
        await client.send(flow[at][0])
    finally:
        await client.aclose()


@pytest.mark.parametrize("name", list(CLIENTS))
def test_no_bad_value_in_any_answer_escapes_an_async_client(name: str) -> None:
    flow = _flow(name)
    assert [type(call).__name__ for call, _ in flow][-2:] == ["StartPayment", "PaymentResult"]
    outcomes: dict[str, int] = {"read": 0, "refused": 0}
    escaped: list[str] = []

    async def sweep() -> None:
        for at, (call, exchanges) in enumerate(flow):
            assert len(exchanges) == 1, "one request a call"
            for label, body in _bad_bodies(exchanges[0][2]):
                where = f"{type(call).__name__} with {label}"
                try:
                    await _send_with(name, flow, at, body)
                except OrderflowError as error:
                    outcomes["refused"] += 1
                    if isinstance(call, (StartPayment, PaymentResult)) and not isinstance(
                        error, OutcomeUnknown
                    ):
                        escaped.append(f"{where}: a money call raised {error!r}")
                except Exception as error:  # the border let it through
                    escaped.append(f"{where}: {error!r}")
                else:
                    outcomes["read"] += 1

    asyncio.run(sweep())
    assert escaped == []
    assert outcomes["refused"] > 100  # the answers were damaged where it matters
    assert outcomes["read"] > 0  # and the client still reads what it does not need
