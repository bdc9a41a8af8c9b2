"""What the Storefront API tests share (no tests here): the fake served as GraphQL in process,
raw GraphQL requests to it, the clients of either kind on it, and a service over them.

The sync client's transport is an ``httpx.MockTransport`` calling ``answer_graphql``; the async
client's is ``httpx.ASGITransport`` over ``graphql_app``. Both turn a lost answer into what a
client sees: a read timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.adapters.fake.answer import LostAnswer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.storefront import answer_graphql, graphql_app
from orderflow.adapters.storefront_api.client import AsyncStorefrontApiClient, StorefrontApiClient
from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.calls import Call
from orderflow.service import AsyncCheckoutService, CheckoutService

OPERATIONS = Path(__file__).resolve().parents[1] / "data" / "storefront" / "operations"
URL = "http://storefront.test/graphql"
SHARED = "shared-session-token"
"""The shop's shared session-mode token (the fake takes any unless it has an ``api_key``)."""

KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
"""Run a test with the blocking and with the asyncio client (or service)."""


def mock(fake: FakeCentra, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """A transport answering each request with ``answer_graphql``; a lost answer times out."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        try:
            answer = answer_graphql(fake, request.content, request.headers)
        except LostAnswer:
            raise httpx.ReadTimeout("the answer was lost", request=request) from None
        return httpx.Response(answer.status, json=answer.body, headers=dict(answer.headers))

    return httpx.MockTransport(handler)


class _Asgi(httpx.AsyncBaseTransport):
    def __init__(self, fake: FakeCentra):
        self.inner = httpx.ASGITransport(app=graphql_app(fake, lost_answer_hold=0.05))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except AssertionError:  # the app answered nothing: ASGITransport's assertion
            raise httpx.ReadTimeout("the answer was lost", request=request) from None


def asgi(fake: FakeCentra) -> httpx.AsyncBaseTransport:
    """``graphql_app`` in process over ``httpx.ASGITransport``. A lost answer is held for a
    moment (ASGITransport never disconnects), then the client sees no answer: a read timeout."""
    return _Asgi(fake)


class Shopper:
    """Raw GraphQL requests to the fake, carrying the session's token from answer to answer."""

    def __init__(self, fake: FakeCentra, token: str = SHARED):
        self.fake = fake
        self.token = token

    def raw(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        """Send ``body`` (JSON-ready, or bytes as they are); ``(status, answer, headers)``."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        answer = answer_graphql(self.fake, content, sent)
        token = (answer.body or {}).get("extensions", {}).get("token")
        if isinstance(token, str):
            self.token = token
        return answer.status, json.loads(json.dumps(answer.body)), answer.headers

    def ask(self, query: str, variables: Any = None, operation: str | None = None) -> Any:
        """The answer of one GraphQL request (status 200 expected)."""
        body = {"query": query, "variables": variables, "operationName": operation}
        status, answer, _ = self.raw(body)
        assert status == 200, answer
        return answer

    def run(self, document: str, variables: Any = None, operation: str | None = None) -> Any:
        """The answer of one of ``tests/data/storefront/operations``."""
        query = (OPERATIONS / document).read_text(encoding="utf-8")
        return self.ask(query, variables, operation)


class Api:
    """A Storefront API client of either kind on ``fake``, called the same way.

    ``send`` runs a call to completion; the async client gets its own event loop.
    """

    def __init__(self, kind: str, fake: FakeCentra, **options: Any):
        self.kind = kind
        self.seen: list[httpx.Request] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client: StorefrontApiClient | AsyncStorefrontApiClient
        if kind == "sync":
            self.client = StorefrontApiClient(
                URL, SHARED, transport=mock(fake, self.seen), **options
            )
        else:
            self._loop = asyncio.new_event_loop()
            self.client = AsyncStorefrontApiClient(URL, SHARED, transport=asgi(fake), **options)

    def send(self, call: Call[Any]) -> Any:
        """The answer of ``call``, or its core error."""
        result = self.client.send(call)
        if inspect.isawaitable(result):
            assert self._loop is not None
            return self._loop.run_until_complete(result)
        return result

    def close(self) -> None:
        """Close the client (and the loop)."""
        if isinstance(self.client, AsyncStorefrontApiClient):
            assert self._loop is not None
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()
        else:
            self.client.close()


@contextmanager
def api(kind: str, fake: FakeCentra, **options: Any) -> Iterator[Api]:
    """An ``Api``, closed at the end."""
    made = Api(kind, fake, **options)
    try:
        yield made
    finally:
        made.close()


class Blocking:
    """An ``AsyncCheckoutService`` called like a ``CheckoutService``, on its own loop."""

    def __init__(self, service: AsyncCheckoutService, loop: asyncio.AbstractEventLoop):
        self._service = service
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._service, name)
        if not inspect.iscoroutinefunction(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call


@contextmanager
def service(kind: str, fake: FakeCentra, **options: Any) -> Iterator[Any]:
    """A checkout service of either kind over a Storefront API client on ``fake`` (the async
    one behind a blocking facade), on a memory store."""
    if kind == "sync":
        with StorefrontApiClient(URL, SHARED, transport=mock(fake), **options) as client:
            yield CheckoutService(transport=client, store=MemoryStore())
        return
    loop = asyncio.new_event_loop()
    async_client = AsyncStorefrontApiClient(URL, SHARED, transport=asgi(fake), **options)
    try:
        store = AsyncMemoryStore()
        yield Blocking(AsyncCheckoutService(transport=async_client, store=store), loop)
    finally:
        loop.run_until_complete(async_client.aclose())
        loop.close()
