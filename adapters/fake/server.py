"""``FakeCentra`` served over HTTP as Centra's Shop API and Checkout API, so any client can
develop against it.

``create_app(fake)`` is a plain ASGI application (no framework): every request under
``dialect.BASE_PATH`` (``/api/shop``) goes to ``fake.serve_shop_api``, every request under
``checkout_api.BASE_PATH`` (``/api/checkout``) to ``fake.serve_checkout_api``, over the fake's
one shared state, and the answer goes back as JSON with the fake's status code and headers.
Another dialect's own ASGI app (the GraphQL Storefront API) is served beside them as a
``Mount`` at its path. A plain callable is enough for a few catch-all routes; it keeps the
server side of the ``http_adapter`` benchmark close to the bare minimum and needs no framework.
``FakeServer`` runs an app with uvicorn on a loopback port in a background thread (tests);
``serve`` runs it in the foreground until interrupted (``orderflow fake-server``).

A request the fake cannot read never gets a 500: a body past ``MAX_BODY`` answers 413; a body
that is not UTF-8 JSON, or nests too deeply for a parser, and a path with broken
percent-encoding answer 400, each in Centra's error shape ``{"errors": {field: message}}``.

The wire faults of ``faults`` happen here (``answer.Wire``): a ``Drip`` writes one byte per
interval until the client goes away, a ``Huge`` answer is padded with spaces to its size, a
``GzipBomb`` is sent gzipped. When the fake's ``faults`` lose an answer (``LostAnswer``), the app
writes nothing and holds the request until the client gives up (its read timeout), as a lost
answer looks to a client; with faults set, ``serve_shop_api`` runs in a worker thread so
injected latency does not stall the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

import attrs

from orderflow.adapters.fake import checkout_api
from orderflow.adapters.fake.answer import Answer, Drip, GzipBomb, Huge, LostAnswer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.shop_api import dialect

try:  # an accelerator only, as in the codec
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _orjson = None  # type: ignore[assignment]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1024 * 1024
"""The largest request body the server reads (1 MiB); a larger one answers 413."""

_PREFIX = dialect.BASE_PATH.rstrip("/")
_CHECKOUT_PREFIX = checkout_api.BASE_PATH.rstrip("/")
GRAPHQL_PATH = "/graphql"
"""Where the Storefront API (GraphQL) is served."""
_JSON = "application/json"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CHUNK = 256 * 1024
_SPACES = b" " * _CHUNK


@attrs.frozen
class Mount:
    """Another dialect's ASGI app, served beside the fake's at ``path`` (and under it): the
    requests there go to ``app`` unchanged. ``name`` is how ``base_urls`` names it."""

    name: str
    path: str
    app: ASGIApp = attrs.field(repr=False)

    def serves(self, path: str) -> bool:
        """Whether a request's path is this mount's."""
        base = self.path.rstrip("/")
        return path == base or path.startswith(base + "/")


def create_app(
    fake: FakeCentra, *, lost_answer_hold: float = 60.0, mounts: Sequence[Mount] = ()
) -> ASGIApp:
    """An ASGI app serving ``fake.serve_shop_api`` under ``/api/shop`` and
    ``fake.serve_checkout_api`` under ``/api/checkout``, answering JSON; each of ``mounts``
    serves its own path.

    A path outside them answers 404; a request the fake cannot read 400 or 413, each with
    Centra's error shape ``{"errors": {field: message}}``. A lost answer holds the request until
    the client disconnects, at most ``lost_answer_hold`` seconds (keep it short under
    ``httpx.ASGITransport``, which never disconnects). The app itself never raises.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        mount = next((m for m in mounts if m.serves(scope["path"])), None)
        if mount is not None:
            await mount.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except _ClientGone:
            return  # a request cut short is not a request without a body: nothing was asked
        try:
            if fake.faults is None:
                answer = _respond(fake, scope, body)
            else:
                answer = await asyncio.to_thread(_respond, fake, scope, body)
        except LostAnswer:
            await _until_disconnected(receive, lost_answer_hold)
            return
        await _write(answer, send, receive)

    return app


def _respond(fake: FakeCentra, scope: Scope, body: bytes | None) -> Answer:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    path = path.partition("?")[0]
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    if path.rstrip("/") == GRAPHQL_PATH:
        if body is None:
            return Answer(413, {"errors": [{"message": f"larger than {MAX_BODY} bytes"}]})
        # Imported on first use: graphql-core costs ~100 ms to import.
        from orderflow.adapters.fake.storefront.app import answer_graphql

        return answer_graphql(fake, body, headers)
    base = next(
        (b for b in (_PREFIX, _CHECKOUT_PREFIX) if path == b or path.startswith(b + "/")), None
    )
    if base is None:
        under = f"{_PREFIX}, {_CHECKOUT_PREFIX} or {GRAPHQL_PATH}"
        return Answer(404, {"errors": {"path": f"not under {under}"}})
    problem = _path_problem(path)
    if problem is not None:
        return Answer(400, {"errors": {"path": problem}})
    if body is None:
        return Answer(413, {"errors": {"body": f"larger than {MAX_BODY} bytes"}})
    data: Any = None
    if body:
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return Answer(400, {"errors": {"body": "not valid UTF-8"}})
        except RecursionError:
            return Answer(400, {"errors": {"body": "nested too deeply"}})
        except ValueError as error:
            return Answer(400, {"errors": {"body": f"not valid JSON: {error}"}})
    serve = fake.serve_shop_api if base == _PREFIX else fake.serve_checkout_api
    return Answer.of(serve(scope["method"], path[len(base) :] or "/", data, headers))


def _path_problem(path: str) -> str | None:
    if not path.isascii():
        return "not ASCII: percent-encode it"
    if "%" not in path:  # nothing percent-encoded: nothing to check
        return None
    if _BAD_PERCENT.search(path):
        return "a '%' not followed by two hex digits"
    try:
        unquote(path, errors="strict")
    except UnicodeDecodeError:
        return "percent-encodes bytes that are not UTF-8"
    return None


class _ClientGone(Exception):
    """The client disconnected before its request's body ended."""


async def _read_body(receive: Receive) -> bytes | None:
    """The request's body, or ``None`` when it is larger than ``MAX_BODY`` (then drained, so
    the client, still sending, reads the 413 instead of a reset connection). Raises
    ``_ClientGone`` when the client disconnected before the body ended: as a real HTTP server
    does, the fake then acts on nothing."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if size <= MAX_BODY else None


async def _write(answer: Answer, send: Send, receive: Receive) -> None:
    wire = answer.wire
    content = answer.content
    if content is None:
        content = _encoded(answer.body)
    headers = {"content-type": _JSON}
    headers.update((name.lower(), value) for name, value in answer.headers.items())
    if isinstance(wire, GzipBomb):
        content = await asyncio.to_thread(_gzip_bomb, content, wire.size)
        headers["content-encoding"] = "gzip"
    size = max(len(content), wire.size) if isinstance(wire, Huge) else len(content)
    headers["content-length"] = str(size)
    start = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": start})
    if isinstance(wire, Drip) and content:
        await _drip(content, wire.interval, send, receive)
    elif isinstance(wire, Huge):
        for chunk in _padded(content, size):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.body", "body": content})


def _encoded(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON: orjson's when installed (an accelerator only: the seed
    flow's five answers, 23 KB, take ~17 µs instead of ~240 µs with ``json``), else the
    standard library's, which also takes what orjson refuses (an int past 64 bits, a key that
    is not text)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(body)
        except TypeError:
            pass
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _padded(content: bytes, size: int) -> Iterator[bytes]:
    yield content
    left = size - len(content)
    while left > 0:
        yield _SPACES[: min(left, _CHUNK)]
        left -= _CHUNK


@functools.lru_cache(maxsize=8)
def _gzip_bomb(content: bytes, size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip stream
    parts = [packer.compress(chunk) for chunk in _padded(content, max(size, len(content)))]
    return b"".join([*parts, packer.flush()])


async def _drip(content: bytes, interval: float, send: Send, receive: Receive) -> None:
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        for index in range(len(content)):
            last = index == len(content) - 1
            byte = content[index : index + 1]
            await send({"type": "http.response.body", "body": byte, "more_body": not last})
            if not last:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), interval)
                if gone.is_set():
                    return
    finally:
        watcher.cancel()


async def _until_disconnected(receive: Receive, most: float) -> None:
    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gone(), most)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port). Raises ``OSError``.

    Made with ``IPPROTO_TCP`` and ``TCP_NODELAY``: asyncio sets ``TCP_NODELAY`` only on sockets
    whose protocol is ``IPPROTO_TCP``, and without it each keep-alive answer (headers and body
    written apart) waits ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    """The Shop API base URL served on a bound socket: ``http://127.0.0.1:PORT/api/shop``."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{dialect.BASE_PATH}"


def base_urls(sock: socket.socket, mounts: Sequence[Mount] = ()) -> dict[str, str]:
    """Each dialect's base URL served on a bound socket, by dialect: the Shop API first, the
    Checkout API second, the Storefront API (GraphQL) third, then each of ``mounts``."""
    shop = base_url(sock)
    root = shop.removesuffix(dialect.BASE_PATH)
    urls = {
        "Shop API": shop,
        "Checkout API": root + checkout_api.BASE_PATH,
        "Storefront API": root + GRAPHQL_PATH,
    }
    urls.update((m.name, root + m.path) for m in mounts)
    return urls


def _server(app: ASGIApp, log_level: str) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        lifespan="on",
        ws="none",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


def serve(
    fake: FakeCentra,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
    mounts: Sequence[Mount] = (),
) -> None:
    """Serve ``fake`` (and ``mounts``) with uvicorn until interrupted; ``on_ready`` gets each
    dialect's base URL first (``base_urls``: the Shop API's first, the Checkout API's next).

    The socket is listening before ``on_ready`` runs, so the URLs are usable at once; when the
    server stops, the fake's queued webhooks are sent (``FakeCentra.close``). Raises
    ``OSError`` when the address cannot be bound (port in use, unknown host).
    """
    sock = bind(host, port)
    try:
        with sock:
            if on_ready is not None:
                for url in base_urls(sock, mounts).values():
                    on_ready(url)
            _server(create_app(fake, mounts=mounts), log_level).run(sockets=[sock])
    finally:
        fake.close()  # the webhooks still queued are sent


class FakeServer:
    """An ASGI app served by uvicorn in a background thread on a loopback port.

    ``app`` is a ``FakeCentra`` (served with ``create_app``, with ``mounts`` beside it) or any
    ASGI app. ``start`` waits at most ``timeout`` seconds for the server and raises
    ``RuntimeError`` if it did not come up; ``OSError`` if the address cannot be bound. ``stop``
    shuts it down. ``base_url`` is the Shop API's base URL, ``base_urls`` every dialect's.
    """

    def __init__(
        self,
        app: FakeCentra | ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        mounts: Sequence[Mount] = (),
    ):
        self.app: ASGIApp = create_app(app, mounts=mounts) if isinstance(app, FakeCentra) else app
        self.mounts = tuple(mounts)
        self.host = host
        self.port = port
        self.log_level = log_level
        self.base_url = ""
        self.base_urls: dict[str, str] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the Shop API's base URL once the server accepts requests."""
        sock = bind(self.host, self.port)
        self.base_url = base_url(sock)
        self.base_urls = base_urls(sock, self.mounts)
        self._server = server = _server(self.app, self.log_level)

        def run() -> None:
            try:
                with sock:
                    asyncio.run(server.serve(sockets=[sock]))
            except BaseException as error:  # reported by start(), not lost in the thread
                self._failure = error

        self._thread = threading.Thread(target=run, name="orderflow-fake-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                why = f": {self._failure!r}" if self._failure else f" within {timeout}s"
                raise RuntimeError(f"the fake server did not start{why}")
            time.sleep(0.005)
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait (at most ``timeout`` seconds) for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = [
    "MAX_BODY",
    "FakeServer",
    "Mount",
    "base_url",
    "base_urls",
    "bind",
    "create_app",
    "serve",
]
