"""The transports the contract suite runs on: every dialect over every carrier, one ``Rig`` each.

A ``Rig`` is what a contract test drives: a ``CheckoutService`` (for the async carrier, a
blocking facade over ``AsyncCheckoutService``), the Centra behind it (``fake``: tests assert on
``fake.calls`` and ``fake.orders``, and sell out with ``fake.stock``), and ``losing(kind)``: a
second service on the same store whose call of that kind reaches Centra but whose answer never
comes back.

A dialect (``DIALECTS``: Centra's Shop API, its Checkout API, its Storefront API over GraphQL)
says how its clients are built,
where it is served, and which call a request is. A carrier says how the client reaches the
fake: ``in_process`` (the Shop API: ``FakeCentra`` itself; another dialect: its client over an
``httpx.MockTransport`` into the fake's front), ``http`` and ``http_async`` (the client against
the fake served on a loopback port), and ``replay`` (the client over ``ReplayTransport`` on
the test's own cassette, ``tests/cassettes/contract/[<dialect>/]<test>[<params>].json``, with
no server and no fake: its ``fake`` is a ``Ledger`` of the answers played). Record the
cassettes again (from a live ``FakeCentra``, whose clock is fixed) with ``RECORD_COMMAND``.

To add a dialect, append a ``Dialect`` to ``DIALECTS``; every contract test then runs on it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, cast

import attrs
import httpx
import pytest

from orderflow.adapters.checkout_api import AsyncCheckoutApiClient, CheckoutApiClient
from orderflow.adapters.checkout_api import dialect as checkout_dialect
from orderflow.adapters.fake.answer import LostAnswer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.server import ASGIApp, Receive, Scope, Send, create_app
from orderflow.adapters.replay.cassette import CassetteError
from orderflow.adapters.replay.transport import ReplayTransport
from orderflow.adapters.shop_api import dialect as shop_dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.adapters.storefront_api import AsyncStorefrontApiClient, StorefrontApiClient
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import CallKind
from orderflow.clock import ManualClock
from orderflow.ports import Transport
from orderflow.service import AsyncCheckoutService, CheckoutService
from tests.cassettes import CONTRACT_CASSETTES, RECORDED_AT
from tests.support import AwaitedStore, LosesAnswers

API_KEY = "contract-key"
LOST_READ_TIMEOUT = 0.3
"""The read timeout of a ``losing`` HTTP client: the server holds the lost answer past it."""

RECORD_ENV = "ORDERFLOW_RECORD_CASSETTES"
RECORD_COMMAND = f"{RECORD_ENV}=1 .venv/bin/python -m pytest tests/contract -k replay"
"""How to (re)record the contract cassettes from a live ``FakeCentra``."""

REPLAY_HOST = "http://centra.replay.invalid"
"""The host replaying clients are given: never contacted; the paths are the recorded ones."""


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

    def order_numbers(self) -> list[str]:
        """The numbers of the orders Centra holds (one per selection that became an order)."""
        return [str(order["order"]) for order in self.fake.orders.values()]


# --- the dialects ---------------------------------------------------------------------------

Headers = Mapping[str, str]


def _shop_kind(method: str, path: str, headers: Headers, body: bytes) -> CallKind | None:
    found = shop_dialect.match(method, path)
    return found[0].kind if found is not None else None


_CHECKOUT_KINDS = {route.name: route for route in checkout_dialect.ROUTES}


def _checkout_kind(method: str, path: str, headers: Headers, body: bytes) -> CallKind | None:
    if method == "GET" and path.rstrip("/") == "/selection":
        token = {k.lower(): v for k, v in headers.items()}.get("api-token")
        return CallKind.READ_SELECTION if token else CallKind.CREATE_SELECTION
    parts = path.strip("/").split("/")
    for route in checkout_dialect.ROUTES:
        pattern = route.template.strip("/").split("/")
        if (
            route.method == method
            and len(pattern) == len(parts)
            and all(want[0] == "{" or want == got for want, got in zip(pattern, parts, strict=True))
        ):
            return CallKind(route.name) if route.name in CallKind._value2member_map_ else None
    return None


_GRAPHQL_KINDS = {
    "Selection": CallKind.CREATE_SELECTION,
    "ReadSelection": CallKind.READ_SELECTION,
    "SetCountry": CallKind.SET_COUNTRY,
    "AddItem": CallKind.ADD_ITEM,
    "UpdateLine": CallKind.SET_QUANTITY,
    "DeleteLine": CallKind.REMOVE_LINE,
    "AddVoucher": CallKind.APPLY_VOUCHER,
    "RemoveVoucher": CallKind.REMOVE_VOUCHER,
    "SetAddress": CallKind.SET_CHECKOUT_FIELDS,
    "PaymentInstructions": CallKind.START_PAYMENT,
    "PaymentResult": CallKind.PAYMENT_RESULT,
}


def _graphql_kind(method: str, path: str, headers: Headers, body: bytes) -> CallKind | None:
    try:
        operation = json.loads(body or b"{}").get("operationName")
    except ValueError:
        return None
    return _GRAPHQL_KINDS.get(operation) if isinstance(operation, str) else None


def _graphql_serve(fake: FakeCentra, method: str, path: str, body: Any, headers: Headers) -> Any:
    from orderflow.adapters.fake.storefront.app import answer_graphql

    return answer_graphql(fake, json.dumps(body).encode(), headers)


@attrs.frozen
class Dialect:
    """One of Centra's dialects as the suite drives it."""

    name: str
    base_path: str
    sync_client: Callable[..., Any]
    async_client: Callable[..., Any]
    kind_of: Callable[[str, str, Headers, bytes], CallKind | None]
    serve: Callable[[FakeCentra, str, str, Any, Headers], Any]
    cassettes: Path

    def client(self, base_url: str, **options: Any) -> Any:
        return self.sync_client(base_url, API_KEY, **options)

    def aclient(self, base_url: str, **options: Any) -> Any:
        return self.async_client(base_url, API_KEY, **options)


SHOP = Dialect(
    "shop",
    shop_dialect.BASE_PATH,
    ShopApiClient,
    AsyncShopApiClient,
    _shop_kind,
    lambda fake, method, path, body, headers: fake.serve_shop_api(method, path, body, headers),
    CONTRACT_CASSETTES,
)
CHECKOUT = Dialect(
    "checkout",
    checkout_dialect.BASE_PATH,
    CheckoutApiClient,
    AsyncCheckoutApiClient,
    _checkout_kind,
    lambda fake, method, path, body, headers: fake.serve_checkout_api(method, path, body, headers),
    CONTRACT_CASSETTES / "checkout",
)
STOREFRONT = Dialect(
    "storefront",
    "/graphql",
    StorefrontApiClient,
    AsyncStorefrontApiClient,
    _graphql_kind,
    _graphql_serve,
    CONTRACT_CASSETTES / "storefront",
)
DIALECTS = (SHOP, CHECKOUT, STOREFRONT)


# --- what a factory gets ----------------------------------------------------------------------


@attrs.define
class Setup:
    """What a factory gets: a fresh fake and store, cleanup, the HTTP server if needed, and
    the test's cassette if the transport replays."""

    fake: FakeCentra
    store: MemoryStore
    stack: ExitStack
    dialect: Dialect = SHOP
    server: Switchboard | None = None
    host: str = ""
    cassette: Path | None = None

    @property
    def base_url(self) -> str:
        return self.host + self.dialect.base_path


def _seeded(**options: Any) -> FakeCentra:
    return FakeCentra.seeded(api_key=API_KEY, **options)


def _recordable(**options: Any) -> FakeCentra:
    # A fixed clock: the receipt's date, so recording again gives the same bytes.
    return FakeCentra.seeded(api_key=API_KEY, clock=ManualClock(RECORDED_AT), **options)


@attrs.frozen
class TransportKind:
    """A transport of the suite: its test id, its dialect, its factory, whether it needs the
    server, its fake, and whether it replays a cassette per test."""

    name: str
    dialect: Dialect
    build: Callable[[Setup], Rig]
    over_http: bool = False
    fake: Callable[..., FakeCentra] = _seeded
    replays: bool = False


# --- the server side: one uvicorn server per session, a fresh fake per test -------------------


class Switchboard:
    """The session server's ASGI app: serves the current test's fake; can lose an answer.

    ``lose_next(kind)`` makes the next request of that call kind (in any dialect) reach the
    fake, then holds its answer back until the client disconnects (its read timeout), as a
    lost answer does.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self._lose: set[CallKind] = set()

    def serve(self, fake: FakeCentra) -> None:
        """Serve ``fake`` from now on."""
        self.app = create_app(fake)
        self._lose.clear()

    def lose_next(self, kind: CallKind) -> None:
        """Lose the answer of the next request of ``kind`` (after the fake acted)."""
        self._lose.add(kind)

    def _kind(self, scope: Scope, body: bytes) -> CallKind | None:
        path = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        for dialect in DIALECTS:
            if path == dialect.base_path or path.startswith(dialect.base_path + "/"):
                rest = path[len(dialect.base_path) :]
                return dialect.kind_of(scope["method"], rest, headers, body)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "no fake is served"
        body, receive = await _peeked(receive)
        kind = self._kind(scope, body)
        if kind is None or kind not in self._lose:
            await self.app(scope, receive, send)
            return
        self._lose.discard(kind)

        async def held(message: Any) -> None:
            pass  # the answer never leaves the server

        await self.app(scope, receive, held)
        await asyncio.wait_for(_disconnected(receive), 10)


async def _peeked(receive: Receive) -> tuple[bytes, Receive]:
    """The request's body, and a ``receive`` that gives it again (then the real one's)."""
    messages: list[Any] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def again() -> Any:
        return messages.pop(0) if messages else await receive()

    return body, again


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# --- the carriers -------------------------------------------------------------------------------


def _front(setup: Setup) -> httpx.MockTransport:
    """The fake's front of the setup's dialect as an httpx transport, in process."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix(setup.dialect.base_path)
        try:
            answer = setup.dialect.serve(setup.fake, request.method, path, body, request.headers)
        except LostAnswer:
            raise httpx.ReadTimeout("the answer was lost", request=request) from None
        status, data = answer
        headers = dict(getattr(answer, "headers", None) or {})
        return httpx.Response(status, json=data, headers=headers)

    return httpx.MockTransport(handler)


def in_process(setup: Setup) -> Rig:
    """The Shop API: ``FakeCentra`` itself as the transport; another dialect: its client over
    the fake's front in process. The sync service."""
    transport: Transport
    if setup.dialect is SHOP:
        transport = setup.fake
    else:
        transport = setup.stack.enter_context(
            setup.dialect.client(
                "http://centra.test" + setup.dialect.base_path, transport=_front(setup)
            )
        )

    def losing(kind: CallKind) -> CheckoutService:
        return CheckoutService(transport=LosesAnswers(transport, {kind}), store=setup.store)

    service = CheckoutService(transport=transport, store=setup.store)
    return Rig(f"{setup.dialect.name}_in_process", setup.fake, setup.store, service, losing)


def _lossy_timeout() -> httpx.Timeout:
    return httpx.Timeout(5.0, read=LOST_READ_TIMEOUT)


def http_sync(setup: Setup) -> Rig:
    """The dialect's client against the fake on a loopback port, the sync service."""
    assert setup.server is not None

    def client(timeout: httpx.Timeout | float = 10.0) -> Any:
        return setup.stack.enter_context(setup.dialect.client(setup.base_url, timeout=timeout))

    def losing(kind: CallKind) -> CheckoutService:
        assert setup.server is not None
        setup.server.lose_next(kind)
        return CheckoutService(transport=client(_lossy_timeout()), store=setup.store)

    service = CheckoutService(transport=client(), store=setup.store)
    return Rig(f"{setup.dialect.name}_http", setup.fake, setup.store, service, losing)


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
    """The dialect's async client against the fake on a loopback port, ``AsyncCheckoutService``."""
    assert setup.server is not None
    loop = asyncio.new_event_loop()
    clients: list[Any] = []

    def close() -> None:
        for each in clients:
            loop.run_until_complete(each.aclose())
        loop.close()

    setup.stack.callback(close)

    def service(timeout: httpx.Timeout | float = 10.0) -> CheckoutService:
        clients.append(setup.dialect.aclient(setup.base_url, timeout=timeout))
        store = AwaitedStore(setup.store)
        facade = Blocking(AsyncCheckoutService(transport=clients[-1], store=store), loop)
        return cast(CheckoutService, facade)

    def losing(kind: CallKind) -> CheckoutService:
        assert setup.server is not None
        setup.server.lose_next(kind)
        return service(_lossy_timeout())

    return Rig(f"{setup.dialect.name}_http_async", setup.fake, setup.store, service(), losing)


# --- replay: the test's cassette, and a ledger of what it played ------------------------------

_ORDER_CALLS = frozenset({CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT, CallKind.READ_SELECTION})


def _order_of(answer: Any) -> dict[str, Any] | None:
    """The order an answer shows: flat (the Shop API), nested under ``order`` (the Checkout
    API), or in GraphQL's ``data`` (the Storefront API's ``number``)."""
    if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
        data = answer["data"]
        for found in (
            (data.get("paymentResult") or {}).get("order"),
            ((data.get("paymentInstructions") or {}).get("action") or {}).get("order"),
        ):
            if isinstance(found, dict):
                return {**found, "order": str(found.get("number", found.get("id")))}
        return None
    if not isinstance(answer, dict) or "order" not in answer or "selection" in answer:
        return None
    nested = answer["order"]
    order = nested if isinstance(nested, dict) else answer
    return {k: v for k, v in order.items() if k not in ("action", "token")}


class Ledger(httpx.BaseTransport):
    """The replay rig's ``fake``: what Centra did, as told by the answers ``inner`` played.

    ``calls`` counts requests per call kind; ``orders`` holds each order from a played 2xx
    answer (payment result, a ``success`` payment, the selection read back), by its number;
    ``stock`` takes writes and ignores them (the cassette holds Centra's answer to them).
    """

    def __init__(self, inner: httpx.BaseTransport, dialect: Dialect):
        self.inner = inner
        self.dialect = dialect
        self.calls: Counter[str] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        self.stock: dict[str, int] = {}

    def kind(self, request: httpx.Request) -> CallKind | None:
        path = request.url.path.removeprefix(self.dialect.base_path)
        return self.dialect.kind_of(request.method, path, request.headers, request.read())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on; note what its answer says Centra did."""
        try:
            response = self.inner.handle_request(request)
        except CassetteError as error:
            error.add_note(f"if the test changed on purpose, record again: {RECORD_COMMAND}")
            raise
        kind = self.kind(request)
        if kind is not None:
            self.calls[kind] += 1
            if kind in _ORDER_CALLS and 200 <= response.status_code < 300:
                order = _order_of(json.loads(response.read() or b"null"))
                if order is not None:
                    self.orders[str(order["order"])] = order
        return response

    def close(self) -> None:
        """Close ``inner``: a recording is written."""
        self.inner.close()


class DropsAnswers(httpx.BaseTransport):
    """Passes every request on, then drops the answers of the ``lose`` calls: a read timeout."""

    def __init__(self, ledger: Ledger, lose: set[CallKind]):
        self.ledger = ledger
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The answer, or ``httpx.ReadTimeout`` once Centra answered a lost call."""
        response = self.ledger.handle_request(request)
        if self.ledger.kind(request) in self.lose:
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def close(self) -> None:
        """Nothing: the ledger is the rig's, closed with it."""


def replay(setup: Setup) -> Rig:
    """The dialect's client replaying the test's cassette, the sync service; with
    ``RECORD_ENV`` set, recording it from ``setup.fake`` instead (then the rig's ``fake`` is
    that fake)."""
    cassette = setup.cassette
    assert cassette is not None
    recording = bool(os.environ.get(RECORD_ENV))
    if recording:
        cassette.parent.mkdir(parents=True, exist_ok=True)
        tape = ReplayTransport(cassette, mode="all", inner=_front(setup))
    elif not cassette.is_file():
        where = cassette.relative_to(CONTRACT_CASSETTES.parents[2])
        pytest.fail(f"no cassette {where}; record it with: {RECORD_COMMAND}", pytrace=False)
    else:
        tape = ReplayTransport(cassette)
    ledger = Ledger(tape, setup.dialect)
    setup.stack.callback(ledger.close)

    def client(transport: httpx.BaseTransport) -> Any:
        base = REPLAY_HOST + setup.dialect.base_path
        return setup.stack.enter_context(setup.dialect.client(base, transport=transport))

    def losing(kind: CallKind) -> CheckoutService:
        return CheckoutService(transport=client(DropsAnswers(ledger, {kind})), store=setup.store)

    def check() -> None:
        if recording:  # the ledger must tell what the live fake knows of money and orders
            for kind in (CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT):
                assert ledger.calls[kind] == setup.fake.calls[kind], (
                    ledger.calls,
                    setup.fake.calls,
                )
            assert sorted(ledger.orders) == sorted(
                str(o["order"]) for o in setup.fake.orders.values()
            )
        elif tape.unplayed:
            pytest.fail(
                f"exchanges {tape.unplayed} of {cassette.name} were not played: the test makes "
                f"fewer calls than it recorded; record again with: {RECORD_COMMAND}",
                pytrace=False,
            )

    service = CheckoutService(transport=client(ledger), store=setup.store)
    centra: Centra = setup.fake if recording else ledger
    return Rig(f"{setup.dialect.name}_replay", centra, setup.store, service, losing, check)


def _kinds(dialect: Dialect) -> list[TransportKind]:
    prefix = "" if dialect is SHOP else f"{dialect.name}_"
    return [
        TransportKind(f"{prefix}in_process", dialect, in_process),
        TransportKind(f"{prefix}http", dialect, http_sync, over_http=True),
        TransportKind(f"{prefix}http_async", dialect, http_async, over_http=True),
        TransportKind(f"{prefix}replay", dialect, replay, fake=_recordable, replays=True),
    ]


TRANSPORTS: list[TransportKind] = [kind for dialect in DIALECTS for kind in _kinds(dialect)]
"""Every transport the contract suite runs on: each dialect over each carrier."""
