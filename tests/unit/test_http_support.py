"""What the HTTP client tests share (no tests here): a client of either kind on an in-process
``httpx.MockTransport``, called the same way, answers, streams and calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.calls import AddItem, Call, PaymentResult, ReadSelection, StartPayment

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
BASE_URL = "https://shop.example.test/api/shop"
KEY = "s3cret-shop-key"
SELECTION = "sel-4711-private"

MONEY = PaymentResult(SELECTION, SEED_PAYMENT_FIELDS)
"""A call that moves money."""
START = StartPayment(SELECTION, seed_details())
"""The other call that moves money."""
CART = AddItem(SELECTION, SEED_ITEM, 1)
"""A cart change: not a payment, not a read."""
READ = ReadSelection(SELECTION)
"""A read (GET): the only kind of call that is retried."""

KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
"""Run a test with the blocking and with the asyncio client."""

Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """A Shop API client of one ``kind`` on a mock transport, sent calls the same way for both;
    records each request and each sleep. Close it (a ``with`` block)."""

    def __init__(self, kind: str, handler: Handler, **options: Any):
        self.kind = kind
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        mock = httpx.MockTransport(self._recording)
        self._runner: asyncio.Runner | None = None
        self.client: ShopApiClient | AsyncShopApiClient
        if kind == "sync":
            self.client = ShopApiClient(
                BASE_URL, KEY, transport=mock, sleep=self.sleeps.append, **options
            )
        else:
            self._runner = asyncio.Runner()
            hooks = options.pop("event_hooks", None)
            if hooks is not None:
                options["event_hooks"] = {k: [_awaitable(h) for h in v] for k, v in hooks.items()}
            self.client = AsyncShopApiClient(
                BASE_URL, KEY, transport=mock, sleep=self._sleep, **options
            )

    def _recording(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def send(self, call: Call[Any]) -> Any:
        """``client.send(call)``, awaited for the async client."""
        if isinstance(self.client, ShopApiClient):
            return self.client.send(call)
        assert self._runner is not None
        return self._runner.run(self.client.send(call))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if isinstance(self.client, ShopApiClient):
            self.client.close()
        else:
            assert self._runner is not None
            self._runner.run(self.client.aclose())
            self._runner.close()


def _awaitable(hook: Callable[[Any], None]) -> Callable[[Any], Any]:
    async def awaited(value: Any) -> None:
        hook(value)

    return awaited


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    """A handler answering ``status`` with ``body`` as JSON (or ``content=``, ``headers=``)."""
    if body is not None:
        kwargs["json"] = body
    return lambda request: httpx.Response(status, **kwargs)


def fails(error: type[httpx.TransportError]) -> Handler:
    """A handler whose transport raises ``error``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


def streamed(status: int, stream: Stream, **headers: str) -> Handler:
    """A handler answering with ``stream`` as the body, read as the network would give it."""
    return lambda request: httpx.Response(status, headers=headers, stream=stream)


def fake_handler(fake: FakeCentra) -> Handler:
    """A handler that is ``fake`` over HTTP."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        body = json.loads(request.content) if request.content else None
        status, data = fake.serve_shop_api(request.method, path, body, dict(request.headers))
        return httpx.Response(status, json=data)

    return handler


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or during."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def seed_json(name: str) -> Any:
    """A payload of the seed (``tests/data/seed``)."""
    return json.loads((SEED / name).read_text(encoding="utf-8"))


def selection_body() -> Any:
    """A real selection answer (the fake's, for a new selection)."""
    status, body = FakeCentra.seeded().serve_shop_api("POST", "/selections")
    assert status == 201
    return json.loads(json.dumps(body))


class Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer's body made as it is read: ``chunks()`` gives the chunks, each after ``delay``
    seconds; ``sent`` counts the bytes handed out, ``closed`` says whether it was closed."""

    def __init__(self, chunks: Callable[[], Iterator[bytes]], delay: float = 0.0):
        self.chunks = chunks
        self.delay = delay
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks():
            if self.delay:
                time.sleep(self.delay)
            self.sent += len(chunk)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            if self.delay:
                await asyncio.sleep(self.delay)
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True
