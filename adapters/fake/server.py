"""``FakeCentra`` served over HTTP as Centra's Shop API, so any client can develop against it.

``create_app(fake)`` is a plain ASGI application (no framework): every request under
``dialect.BASE_PATH`` goes to ``fake.serve_shop_api`` and its answer goes back as JSON with the
fake's status code. A plain callable is enough for one catch-all route; it keeps the server
side of the ``http_adapter`` benchmark close to the bare minimum and needs no framework.
``FakeServer`` runs an app with uvicorn on a loopback port in a background thread (tests);
``serve`` runs it in the foreground until interrupted (``orderflow fake-server``).

When the fake's ``faults`` lose an answer (``LostAnswer``), the app writes nothing and holds
the request until the client gives up (its read timeout), as a lost answer looks to a client;
with faults set, ``serve_shop_api`` runs in a worker thread so injected latency does not
stall the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any, Self

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import LostAnswer
from orderflow.adapters.shop_api import dialect

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PREFIX = dialect.BASE_PATH.rstrip("/")
_JSON = [(b"content-type", b"application/json")]


def create_app(fake: FakeCentra, *, lost_answer_hold: float = 60.0) -> ASGIApp:
    """An ASGI app serving ``fake.serve_shop_api`` under ``/api/shop``, answering JSON.

    A path outside the base answers 404, a body that is not valid JSON 400, each with Centra's
    error shape ``{"errors": {field: message}}``. A lost answer holds the request until the
    client disconnects, at most ``lost_answer_hold`` seconds (keep it short under
    ``httpx.ASGITransport``, which never disconnects). The app itself never raises.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        try:
            if fake.faults is None:
                status, answer = _respond(fake, scope, body)
            else:
                status, answer = await asyncio.to_thread(_respond, fake, scope, body)
        except LostAnswer:
            await _until_disconnected(receive, lost_answer_hold)
            return
        content = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        headers = [*_JSON, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def _respond(fake: FakeCentra, scope: Scope, body: bytes) -> tuple[int, Any]:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    path = path.partition("?")[0]
    if path != _PREFIX and not path.startswith(_PREFIX + "/"):
        return 404, {"errors": {"path": f"not under {_PREFIX}"}}
    data: Any = None
    if body:
        try:
            data = json.loads(body)
        except ValueError as error:
            return 400, {"errors": {"body": f"not valid JSON: {error}"}}
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    return fake.serve_shop_api(scope["method"], path[len(_PREFIX) :] or "/", data, headers)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


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
    """A listening TCP socket on ``host``:``port`` (0: a free port). Raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
) -> None:
    """Serve ``fake`` with uvicorn until interrupted; ``on_ready`` gets the base URL first.

    The socket is listening before ``on_ready`` runs, so the URL is usable at once. Raises
    ``OSError`` when the address cannot be bound (port in use, unknown host).
    """
    sock = bind(host, port)
    with sock:
        if on_ready is not None:
            on_ready(base_url(sock))
        _server(create_app(fake), log_level).run(sockets=[sock])


class FakeServer:
    """An ASGI app served by uvicorn in a background thread on a loopback port.

    ``app`` is a ``FakeCentra`` (served with ``create_app``) or any ASGI app. ``start`` waits
    at most ``timeout`` seconds for the server and raises ``RuntimeError`` if it did not come
    up; ``OSError`` if the address cannot be bound. ``stop`` shuts it down.
    """

    def __init__(
        self,
        app: FakeCentra | ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
    ):
        self.app: ASGIApp = create_app(app) if isinstance(app, FakeCentra) else app
        self.host = host
        self.port = port
        self.log_level = log_level
        self.base_url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL once the server accepts requests."""
        sock = bind(self.host, self.port)
        self.base_url = base_url(sock)
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


__all__ = ["FakeServer", "base_url", "bind", "create_app", "serve"]
