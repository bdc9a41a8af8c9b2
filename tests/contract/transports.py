"""The transports the contract suite runs on: one factory each, all giving a ``Rig``.

A ``Rig`` is what a contract test drives: a ``CheckoutService`` (for the async transport, a
blocking facade over ``AsyncCheckoutService``), the ``FakeCentra`` behind it (so tests assert on
``fake.calls`` and ``fake.orders``), and ``losing(call)``: a second service on the same store
whose ``call`` reaches Centra but whose answer never comes back.

To add a transport (e.g. replay of cassettes), write a factory ``(Setup) -> Rig`` and append a
``TransportKind`` to ``TRANSPORTS``; every contract test then runs on it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, cast

import attrs
import httpx

from adapters import shop_api
from adapters.fake import FakeCentra
from adapters.fake_server import ASGIApp, Receive, Scope, Send, create_app
from adapters.http import AsyncShopApiClient, ShopApiClient
from adapters.memory import MemoryStore
from orderflow.errors import OutcomeUnknown
from orderflow.service import AsyncCheckoutService, CheckoutService

API_KEY = "contract-key"
LOST_READ_TIMEOUT = 0.3
"""The read timeout of a ``losing`` HTTP client: the server holds the lost answer past it."""


@attrs.define
class Rig:
    """One transport wired up for a test: the service, the fake behind it, a lossy twin."""

    name: str
    fake: FakeCentra
    store: MemoryStore
    service: CheckoutService
    losing: Callable[[str], CheckoutService]


@attrs.define
class Setup:
    """What a factory gets: a fresh fake and store, cleanup, and the HTTP server if needed."""

    fake: FakeCentra
    store: MemoryStore
    stack: ExitStack
    server: Switchboard | None = None
    base_url: str = ""


@attrs.frozen
class TransportKind:
    """A transport of the suite: its test id, its factory, and whether it needs the server."""

    name: str
    build: Callable[[Setup], Rig]
    over_http: bool = False


# --- the server side: one uvicorn server per session, a fresh fake per test -------------------


class Switchboard:
    """The session server's ASGI app: serves the current test's fake; can lose an answer.

    ``lose_next(endpoint)`` makes the next request to ``endpoint`` reach the fake, then holds
    its answer back until the client disconnects (its read timeout), as a lost answer does.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self._lose: set[str] = set()

    def serve(self, fake: FakeCentra) -> None:
        """Serve ``fake`` from now on."""
        self.app = create_app(fake)
        self._lose.clear()

    def lose_next(self, endpoint: str) -> None:
        """Lose the answer of the next ``endpoint`` request (after the fake acted)."""
        self._lose.add(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "no fake is served"
        found = shop_api.match(scope["method"], scope["path"].removeprefix(shop_api.BASE_PATH))
        if found is None or found[0].name not in self._lose:
            await self.app(scope, receive, send)
            return
        self._lose.discard(found[0].name)

        async def held(message: Any) -> None:
            pass  # the answer never leaves the server

        await self.app(scope, receive, held)
        await asyncio.wait_for(_disconnected(receive), 10)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# --- the factories ----------------------------------------------------------------------------


@attrs.define
class LosesAnswers:
    """A transport whose named calls reach the fake, but whose answers never come back."""

    inner: FakeCentra
    lose: set[str]

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name not in self.lose:
            return call

        def lost(*args: Any) -> Any:
            call(*args)
            raise OutcomeUnknown(name, "read timed out")

        return lost


def in_process(setup: Setup) -> Rig:
    """``FakeCentra`` itself as the transport, the sync service."""

    def losing(call: str) -> CheckoutService:
        lossy = LosesAnswers(setup.fake, {call})
        return CheckoutService(transport=lossy, store=setup.store)

    service = CheckoutService(transport=setup.fake, store=setup.store)
    return Rig("in_process", setup.fake, setup.store, service, losing)


def _lossy_timeout() -> httpx.Timeout:
    return httpx.Timeout(5.0, read=LOST_READ_TIMEOUT)


def http_sync(setup: Setup) -> Rig:
    """``ShopApiClient`` against the fake on a loopback port, the sync service."""
    assert setup.server is not None

    def client(timeout: httpx.Timeout | float = 10.0) -> ShopApiClient:
        return setup.stack.enter_context(ShopApiClient(setup.base_url, API_KEY, timeout=timeout))

    def losing(call: str) -> CheckoutService:
        assert setup.server is not None
        setup.server.lose_next(call)
        return CheckoutService(transport=client(_lossy_timeout()), store=setup.store)

    service = CheckoutService(transport=client(), store=setup.store)
    return Rig("http", setup.fake, setup.store, service, losing)


class Blocking:
    """An ``AsyncCheckoutService`` called like a ``CheckoutService``, on one event loop."""

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


def http_async(setup: Setup) -> Rig:
    """``AsyncShopApiClient`` against the fake on a loopback port, ``AsyncCheckoutService``."""
    assert setup.server is not None
    loop = asyncio.new_event_loop()
    clients: list[AsyncShopApiClient] = []

    def close() -> None:
        for each in clients:
            loop.run_until_complete(each.aclose())
        loop.close()

    setup.stack.callback(close)

    def service(timeout: httpx.Timeout | float = 10.0) -> CheckoutService:
        clients.append(AsyncShopApiClient(setup.base_url, API_KEY, timeout=timeout))
        facade = Blocking(AsyncCheckoutService(transport=clients[-1], store=setup.store), loop)
        return cast(CheckoutService, facade)

    def losing(call: str) -> CheckoutService:
        assert setup.server is not None
        setup.server.lose_next(call)
        return service(_lossy_timeout())

    return Rig("http_async", setup.fake, setup.store, service(), losing)


TRANSPORTS: list[TransportKind] = [
    TransportKind("in_process", in_process),
    TransportKind("http", http_sync, over_http=True),
    TransportKind("http_async", http_async, over_http=True),
]
"""Every transport the contract suite runs on; append one to run the suite on it."""
