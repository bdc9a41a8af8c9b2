"""The transports the contract suite runs on: one factory each, all giving a ``Rig``.

A ``Rig`` is what a contract test drives: a ``CheckoutService`` (for the async transport, a
blocking facade over ``AsyncCheckoutService``), the Centra behind it (``fake``: tests assert on
``fake.calls`` and ``fake.orders``, and sell out with ``fake.stock``), and ``losing(call)``: a
second service on the same store whose ``call`` reaches Centra but whose answer never comes back.

The ``replay`` transport runs ``ShopApiClient`` over ``ReplayTransport`` on the test's own
cassette, ``tests/cassettes/contract/<test>[<params>].json``, with no server and no fake: its
``fake`` is a ``Ledger`` of the answers played. Record the cassettes again (from a live
``FakeCentra``, whose clock is fixed) with ``RECORD_COMMAND``.

To add a transport, write a factory ``(Setup) -> Rig`` and append a ``TransportKind`` to
``TRANSPORTS``; every contract test then runs on it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, cast

import attrs
import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.server import ASGIApp, Receive, Scope, Send, create_app
from orderflow.adapters.replay.cassette import CassetteError
from orderflow.adapters.replay.transport import REPLAY_BASE_URL, ReplayTransport
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import CallKind
from orderflow.clock import ManualClock
from orderflow.service import AsyncCheckoutService, CheckoutService
from tests.cassettes import CONTRACT_CASSETTES, RECORDED_AT
from tests.support import AwaitedStore, LosesAnswers

API_KEY = "contract-key"
LOST_READ_TIMEOUT = 0.3
"""The read timeout of a ``losing`` HTTP client: the server holds the lost answer past it."""

RECORD_ENV = "ORDERFLOW_RECORD_CASSETTES"
RECORD_COMMAND = f"{RECORD_ENV}=1 .venv/bin/python -m pytest tests/contract -k replay"
"""How to (re)record the contract cassettes from a live ``FakeCentra``."""


class Centra(Protocol):
    """What a contract test asks of the Centra behind a rig: calls, orders, stock."""

    calls: Counter[str]
    orders: dict[str, dict[str, Any]]
    stock: dict[str, int]


def _never_fails() -> None:
    pass


@attrs.define
class Rig:
    """One transport wired up for a test: the service, the Centra behind it, a lossy twin.

    ``check`` runs after a test that passed: it fails when the transport saw something amiss.
    """

    name: str
    fake: Centra
    store: MemoryStore
    service: CheckoutService
    losing: Callable[[CallKind], CheckoutService]
    check: Callable[[], None] = _never_fails


@attrs.define
class Setup:
    """What a factory gets: a fresh fake and store, cleanup, the HTTP server if needed, and
    the test's cassette if the transport replays."""

    fake: FakeCentra
    store: MemoryStore
    stack: ExitStack
    server: Switchboard | None = None
    base_url: str = ""
    cassette: Path | None = None


def _seeded(**options: Any) -> FakeCentra:
    return FakeCentra.seeded(api_key=API_KEY, **options)


def _recordable(**options: Any) -> FakeCentra:
    # A fixed clock: the receipt's date, so recording again gives the same bytes.
    return FakeCentra.seeded(api_key=API_KEY, clock=ManualClock(RECORDED_AT), **options)


@attrs.frozen
class TransportKind:
    """A transport of the suite: its test id, its factory, whether it needs the server, its
    fake, and whether it replays a cassette per test."""

    name: str
    build: Callable[[Setup], Rig]
    over_http: bool = False
    fake: Callable[..., FakeCentra] = _seeded
    replays: bool = False


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
        found = dialect.match(scope["method"], scope["path"].removeprefix(dialect.BASE_PATH))
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


def in_process(setup: Setup) -> Rig:
    """``FakeCentra`` itself as the transport, the sync service."""

    def losing(call: CallKind) -> CheckoutService:
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

    def losing(call: CallKind) -> CheckoutService:
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
        store = AwaitedStore(setup.store)
        facade = Blocking(AsyncCheckoutService(transport=clients[-1], store=store), loop)
        return cast(CheckoutService, facade)

    def losing(call: CallKind) -> CheckoutService:
        assert setup.server is not None
        setup.server.lose_next(call)
        return service(_lossy_timeout())

    return Rig("http_async", setup.fake, setup.store, service(), losing)


# --- replay: the test's cassette, and a ledger of what it played ------------------------------

_ORDER_CALLS = frozenset({"start_payment", "payment_result", "read_selection"})


def _route(request: httpx.Request) -> tuple[dialect.Route, dict[str, str]] | None:
    return dialect.match(request.method, request.url.path.removeprefix(dialect.BASE_PATH))


class Ledger(httpx.BaseTransport):
    """The replay rig's ``fake``: what Centra did, as told by the answers ``inner`` played.

    ``calls`` counts requests per endpoint; ``orders`` holds each selection's receipt from a
    played 200 answer (payment result, a ``success`` payment, the receipt read back);
    ``stock`` takes writes and ignores them (the cassette holds Centra's answer to them).
    """

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        self.stock: dict[str, int] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on; note what its answer says Centra did."""
        try:
            response = self.inner.handle_request(request)
        except CassetteError as error:
            error.add_note(f"if the test changed on purpose, record again: {RECORD_COMMAND}")
            raise
        found = _route(request)
        if found is not None:
            self._note(found, request, response)
        return response

    def _note(
        self,
        found: tuple[dialect.Route, dict[str, str]],
        request: httpx.Request,
        response: httpx.Response,
    ) -> None:
        route, params = found
        self.calls[route.name] += 1
        if route.name not in _ORDER_CALLS or response.status_code != 200:
            return
        answer = json.loads(response.read() or b"null")
        if not isinstance(answer, dict) or "order" not in answer or "selection" in answer:
            return  # an action to take, a cart, or no receipt yet
        sent = json.loads(request.content or b"{}")
        selection = params.get("selection") or sent.get("selection")
        self.orders[selection] = {k: v for k, v in answer.items() if k != "action"}

    def close(self) -> None:
        """Close ``inner``: a recording is written."""
        self.inner.close()


class DropsAnswers(httpx.BaseTransport):
    """Passes every request on, then drops the answers of the ``lose`` calls: a read timeout."""

    def __init__(self, inner: httpx.BaseTransport, lose: set[str]):
        self.inner = inner
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The answer, or ``httpx.ReadTimeout`` once Centra answered a lost call."""
        response = self.inner.handle_request(request)
        found = _route(request)
        if found is not None and found[0].name in self.lose:
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def close(self) -> None:
        """Nothing: ``inner`` is the rig's, closed with it."""


def _serving(fake: FakeCentra) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        status, answer = fake.serve_shop_api(request.method, path, body, request.headers)
        return httpx.Response(status, json=answer)

    return httpx.MockTransport(handler)


def replay(setup: Setup) -> Rig:
    """``ShopApiClient`` replaying the test's cassette, the sync service; with ``RECORD_ENV``
    set, recording it from ``setup.fake`` instead (then the rig's ``fake`` is that fake)."""
    cassette = setup.cassette
    assert cassette is not None
    recording = bool(os.environ.get(RECORD_ENV))
    if recording:
        tape = ReplayTransport(cassette, mode="all", inner=_serving(setup.fake))
    elif not cassette.is_file():
        where = cassette.relative_to(CONTRACT_CASSETTES.parents[2])
        pytest.fail(f"no cassette {where}; record it with: {RECORD_COMMAND}", pytrace=False)
    else:
        tape = ReplayTransport(cassette)
    ledger = Ledger(tape)
    setup.stack.callback(ledger.close)

    def client(transport: httpx.BaseTransport) -> ShopApiClient:
        return setup.stack.enter_context(
            ShopApiClient(REPLAY_BASE_URL, API_KEY, transport=transport)
        )

    def losing(call: CallKind) -> CheckoutService:
        return CheckoutService(transport=client(DropsAnswers(ledger, {call})), store=setup.store)

    def check() -> None:
        if recording:  # the ledger must tell what the live fake knows
            assert ledger.calls == setup.fake.calls, (ledger.calls, setup.fake.calls)
            assert ledger.orders.keys() == setup.fake.orders.keys()
        elif tape.unplayed:
            pytest.fail(
                f"exchanges {tape.unplayed} of {cassette.name} were not played: the test makes "
                f"fewer calls than it recorded; record again with: {RECORD_COMMAND}",
                pytrace=False,
            )

    service = CheckoutService(transport=client(ledger), store=setup.store)
    centra: Centra = setup.fake if recording else ledger
    return Rig("replay", centra, setup.store, service, losing, check)


TRANSPORTS: list[TransportKind] = [
    TransportKind("in_process", in_process),
    TransportKind("http", http_sync, over_http=True),
    TransportKind("http_async", http_async, over_http=True),
    TransportKind("replay", replay, fake=_recordable, replays=True),
]
"""Every transport the contract suite runs on; append one to run the suite on it."""
