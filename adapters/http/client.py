"""The HTTP clients every Centra dialect runs on: ``HttpClient`` (blocking, a ``Transport``) and
``AsyncHttpClient`` (asyncio, an ``AsyncTransport``).

Each sends through one long-lived ``httpx.Client`` or ``httpx.AsyncClient``, so httpx's
connection pool and ``limits``, its logging, ``event_hooks``, the environment's proxies and an
injected ``transport`` (``httpx.MockTransport``, ``httpx.ASGITransport``, replay) all work.
It keeps no cookies: Centra's APIs authenticate by header (``_NoCookies`` says what it saves).
A dialect (``dialect(call) -> WireRequest``) says what each call sends and how its answer
decodes; ``exchange`` does the rest, once for both classes: bounds, the error table
(``table``), retries of reads, logging. The two ``send`` methods below only carry out its
steps, so only core errors leave them: httpx's exceptions are turned into the table's
(exceptions raised by the caller's own event hooks pass through as they are).

The hard stop at the deadline: the async client cancels the call (``asyncio.timeout_at``). A
blocking thread cannot be cancelled, and httpx's timeouts restart on every network read, so
``HttpClient`` caps each blocking socket operation instead: the network backend of its httpx
connection pools (``_BoundedBackend``; the pool it makes, an injected ``httpx.HTTPTransport``
and the environment's proxies) hands out streams whose every connect, TLS handshake, read and
write waits at most until the deadline of the call the thread is making (``_CALL``), then
raises httpx's own timeout. So a server dripping its status line and headers, or its body, one
byte at a time cannot keep a call alive past its deadline, on a new connection or a pooled one;
httpcore closes a connection whose answer timed out, so none goes back to the pool half read.
An injected transport that does no network I/O (``httpx.MockTransport``, replay) needs no stop.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import math
import ssl
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping
from typing import Any, Final, Self, TypedDict, TypeVar, Unpack, cast

import httpcore
import httpx

from orderflow.adapters.http.exchange import (
    Policy,
    Read,
    Reply,
    Send,
    Sleep,
    Step,
    WireRequest,
    exchange,
)
from orderflow.calls import Call

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "MAX_DECODED_BYTES",
    "AsyncHttpClient",
    "HttpClient",
    "HttpOptions",
]

T = TypeVar("T")

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
"""Connect within 5 s; read, write and wait for a pooled connection within 30 s (each capped by
what remains of the deadline)."""
DEFAULT_DEADLINE: Final = 30.0
"""Seconds a call may take in all, retries included: shorter than the service's default claim
lease (60 s), so a payment call ends before another caller may take over."""
MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
"""The most bytes of an answer read from the wire (8 MiB)."""
MAX_DECODED_BYTES: Final = 32 * 1024 * 1024
"""The most bytes of an answer kept after gzip or deflate (32 MiB)."""
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""httpx's 100 connections, every one kept alive (httpx keeps 20). A client shared by many
threads then reuses its connections instead of closing and reopening them past the 20th, the
path on which httpcore now and then closes a connection it has just handed to a waiting
request (encode/httpcore#1110, seen with 128 threads on httpx's defaults)."""

_SLACK: Final = 0.05  # the async hard stop lets httpx's own timeouts (which say more) fire first
_FAILURES = (httpx.HTTPError, httpx.InvalidURL)


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps none: Centra's APIs authenticate by header and set no cookie
    a call depends on, and a client that kept them would carry one call's state into the next.

    httpx extracts cookies from every response through ``urllib``'s cookie machinery (an
    ``urllib.request.Request`` and a header ``Message`` per answer), even into an empty jar:
    measured side by side, about a third of ``Client.send`` for an in-process answer.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _NoJar(http.cookiejar.CookieJar):
    """A cookie jar that takes none (so ``_NoCookies.set`` keeps nothing either)."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


_NO_COOKIES: Final = _NoCookies(_NoJar())


class _WithoutCookies:
    """``_NoCookies`` as an httpx client's (read-only) cookie store: mixed in before the client."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


class _Client(_WithoutCookies, httpx.Client):
    """``httpx.Client`` keeping no cookies."""


class _AsyncClient(_WithoutCookies, httpx.AsyncClient):
    """``httpx.AsyncClient`` keeping no cookies."""


class _Call(threading.local):
    """The deadline (``time.monotonic``) of the call this thread is making, or infinity."""

    deadline: float = math.inf


_CALL: Final = _Call()


def _capped(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` capped by what remains of this thread's call; ``late`` raised when none."""
    deadline = _CALL.deadline
    if deadline == math.inf:  # not inside ``HttpClient.send``: httpx's timeouts as they are
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise late("the call's deadline has passed")
    return remaining if timeout is None or timeout > remaining else timeout


class _BoundedStream(httpcore.NetworkStream):
    """A network stream whose every blocking operation ends by the call's deadline."""

    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _capped(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """A network backend whose connections are ``_BoundedStream``s, connected by the deadline."""

    __slots__ = ("_backend",)

    def __init__(self, backend: httpcore.NetworkBackend):
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _capped(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _capped(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound(client: httpx.Client) -> None:
    """Give every network transport of ``client`` a ``_BoundedBackend`` (once). A connection
    an injected transport made before is not bounded; one it makes after is."""
    for transport in (client._transport, *client._mounts.values()):
        bound_transport(transport)


def bound_transport(transport: object) -> None:
    """Give ``transport``'s connection pool a ``_BoundedBackend`` (once), when it is an
    ``httpx.HTTPTransport``: then, inside ``HttpClient.send``, each of its blocking socket
    operations ends by the call's deadline (elsewhere it waits as httpx's timeouts say). A
    transport wrapping another (replay recording) bounds the one it sends with."""
    if not isinstance(transport, httpx.HTTPTransport):
        return  # no network I/O of httpx's own (a mock, ASGI, replay): nothing to stop
    pool = transport._pool
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _BoundedBackend):
        pool._network_backend = _BoundedBackend(backend)


Dialect = Callable[[Call[Any]], WireRequest[Any]]


class HttpOptions(TypedDict, total=False):
    """The options both clients take (all keywords): bounds, retries and httpx's limits.

    ``timeout``: an ``httpx.Timeout``, seconds, or ``None`` for none of httpx's own
    (``DEFAULT_TIMEOUT``); ``deadline``: seconds a call may take in all
    (``DEFAULT_DEADLINE``); ``max_answer_bytes`` and ``max_decoded_bytes``: an answer's size
    on the wire and after decompression; ``retries`` (2) and ``backoff`` (0.1 s, doubled per
    attempt; ``Retry-After`` wins) for reads; ``limits``: the connection pool's
    ``httpx.Limits`` (``DEFAULT_LIMITS``). A value of the wrong type raises ``TypeError``
    naming the option; one out of range, ``ValueError``.
    """

    timeout: httpx.Timeout | float | None
    deadline: float
    max_answer_bytes: int
    max_decoded_bytes: int
    retries: int
    backoff: float
    limits: httpx.Limits


class _HttpBase:
    """What both clients share: the base URL, the fixed headers, the policy, the life cycle."""

    def __init__(
        self,
        base_url: str,
        dialect: Dialect,
        headers: Iterable[tuple[str, str]],
        options: HttpOptions,
    ):
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as error:
            raise ValueError(f"base_url {base_url!r} is not a URL: {error}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url {base_url!r} must be an http(s) URL with a host")
        # Credentials in the URL become Basic auth, as httpx.Client does, and are shown nowhere.
        self._auth = httpx.BasicAuth(url.username, url.password) if url.userinfo else None
        url = url.copy_with(username=None, password=None) if url.userinfo else url
        shown = str(url)
        if "?" in shown or "#" in shown:  # every call's path would land in the query
            raise ValueError(
                f"base_url {shown!r} must have no query or fragment: each call's path follows it"
            )
        if url.port is not None and not 0 < url.port <= 65535:
            raise ValueError(f"base_url {shown!r}: port {url.port} is not 1 to 65535")
        self.base_url = shown.rstrip("/")
        self._policy = _policy(options)
        self._dialect = dialect
        self._limits = options.get("limits", DEFAULT_LIMITS)
        self._headers = [
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip, deflate"),  # what ``body`` inflates within its limit
            ("User-Agent", f"centra-orderflow python-httpx/{httpx.__version__}"),
            *headers,
        ]
        self._closed = False

    def __repr__(self) -> str:
        # The key stays out: it is a credential.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _httpx_options(
        self, transport: Any, event_hooks: Mapping[str, list[Callable[..., Any]]] | None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "headers": self._headers,
            "auth": self._auth,
            "timeout": self._policy.timeout,
            "event_hooks": dict(event_hooks or {}),
            "follow_redirects": False,
            "trust_env": True,
        }
        if transport is not None:
            options["transport"] = transport
        options["limits"] = self._limits
        return options

    def _exchange(
        self, call: Call[T], build_request: Callable[..., httpx.Request]
    ) -> Generator[Step, Reply, T]:
        if self._closed:  # as httpx refuses
            raise RuntimeError(f"{type(self).__name__} is closed")
        return exchange(
            call,
            self._dialect,
            build_request=build_request,
            base_url=self.base_url,
            policy=self._policy,
        )


class HttpClient(_HttpBase):
    """A blocking Centra client on one ``httpx.Client``: implements ``Transport``.

    ``dialect`` maps each call to its ``WireRequest``; ``headers`` are sent on every request;
    ``transport`` is an ``httpx.BaseTransport`` to inject; ``event_hooks`` go to httpx as they
    are; ``sleep`` waits between attempts of a read; see ``HttpOptions`` for the rest. Raises
    ``ValueError`` for a base URL that is not http(s) or an option out of range.
    """

    def __init__(
        self,
        base_url: str,
        dialect: Dialect,
        *,
        headers: Iterable[tuple[str, str]] = (),
        transport: httpx.BaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(base_url, dialect, headers, options)
        self._sleep = sleep
        self._client: httpx.Client = _Client(**self._httpx_options(transport, event_hooks))
        _bound(self._client)  # the hard stop at the deadline (see the module docstring)

    def send(self, call: Call[T]) -> T:
        """See ``Transport.send``."""
        life = self._exchange(call, self._client.build_request)
        response: httpx.Response | None = None
        chunks: Generator[bytes, None, None] | None = None
        outer = _CALL.deadline  # a call made by an event hook of another call: restored after
        try:
            step = next(life)
            # The hard stop: every I/O step's ``within`` runs to the call's deadline; the
            # network streams wait no longer than that (``_BoundedStream``).
            assert not isinstance(step, Sleep)  # a call starts with its first request
            _CALL.deadline = min(time.monotonic() + step.within, outer)
            while True:
                reply: Reply = None
                try:
                    if isinstance(step, Send):
                        if response is not None:  # a retry: the last answer is done with
                            response.close()
                            response = chunks = None
                        reply = response = self._client.send(step.request, stream=True)
                    elif isinstance(step, Read):
                        assert response is not None
                        if chunks is None:
                            chunks = cast(Generator[bytes, None, None], response.iter_raw())
                        reply = next(chunks, None)
                    else:
                        self._sleep(step.seconds)
                except _FAILURES as failure:
                    reply = failure
                step = life.send(reply)
        except StopIteration as done:
            answer: T = done.value
            return answer
        finally:
            if chunks is not None:
                chunks.close()
            if response is not None:
                response.close()
            _CALL.deadline = outer
            life.close()

    def close(self) -> None:
        """Close the connections (once)."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncHttpClient(_HttpBase):
    """``HttpClient`` for asyncio, on one ``httpx.AsyncClient``: implements ``AsyncTransport``.

    The same arguments, answers and errors; ``transport`` is an ``httpx.AsyncBaseTransport``
    (e.g. ``httpx.ASGITransport`` to call an ASGI app in process), ``event_hooks`` are async
    and ``sleep`` is awaited. A call is also cancelled when its deadline passes. Use it from
    one event loop; close it with ``aclose``.
    """

    def __init__(
        self,
        base_url: str,
        dialect: Dialect,
        *,
        headers: Iterable[tuple[str, str]] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(base_url, dialect, headers, options)
        self._sleep = sleep
        self._client: httpx.AsyncClient = _AsyncClient(
            **self._httpx_options(transport, event_hooks)
        )

    async def send(self, call: Call[T]) -> T:
        """See ``AsyncTransport.send``."""
        life = self._exchange(call, self._client.build_request)
        response: httpx.Response | None = None
        chunks: AsyncGenerator[bytes, None] | None = None
        try:
            step = next(life)
            # The hard stop: every I/O step's ``within`` runs to the call's deadline, so one
            # ``asyncio.timeout`` at the deadline (plus the slack) guards them all. One per step
            # (a send and at least two reads per answer) cost ~4.5 µs each, measured here.
            assert not isinstance(step, Sleep)  # a call starts with its first request
            end = asyncio.get_running_loop().time() + step.within + _SLACK
            while True:
                try:
                    async with asyncio.timeout_at(end):
                        while True:
                            reply: Reply = None
                            try:
                                if isinstance(step, Send):
                                    if response is not None:  # a retry: the last answer is done
                                        await response.aclose()
                                        response = chunks = None
                                    reply = response = await self._client.send(
                                        step.request, stream=True
                                    )
                                elif isinstance(step, Read):
                                    assert response is not None
                                    if chunks is None:
                                        chunks = cast(
                                            AsyncGenerator[bytes, None], response.aiter_raw()
                                        )
                                    reply = await anext(chunks, None)
                                else:
                                    await self._sleep(step.seconds)
                            except (*_FAILURES, TimeoutError) as failure:
                                reply = failure
                            step = life.send(reply)
                except TimeoutError as late:  # the hard stop: the exchange says what it means
                    step = life.send(late)
        except StopIteration as done:
            answer: T = done.value
            return answer
        finally:
            if chunks is not None:
                await chunks.aclose()
            if response is not None:
                await response.aclose()
            life.close()

    async def aclose(self) -> None:
        """Close the connections (once)."""
        if not self._closed:
            self._closed = True
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _policy(options: HttpOptions) -> Policy:
    timeout = options.get("timeout", DEFAULT_TIMEOUT)
    if timeout is None:  # as httpx takes it: no timeout of its own (the deadline still holds)
        timeout = httpx.Timeout(None)
    elif not isinstance(timeout, httpx.Timeout):
        if not (seconds := _seconds("timeout", timeout)) >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, not {seconds!r}")
        timeout = httpx.Timeout(seconds)
    for phase in ("connect", "read", "write", "pool"):
        value = getattr(timeout, phase)
        if value is not None and not (_number(value) and value >= 0):
            raise ValueError(f"timeout: {phase} must be a number of seconds, not {value!r}")
    policy = Policy(
        timeout=timeout,
        deadline=_seconds("deadline", options.get("deadline", DEFAULT_DEADLINE)),
        retries=_whole("retries", options.get("retries", 2)),
        backoff=_seconds("backoff", options.get("backoff", 0.1)),
        max_answer_bytes=_whole(
            "max_answer_bytes", options.get("max_answer_bytes", MAX_ANSWER_BYTES)
        ),
        max_decoded_bytes=_whole(
            "max_decoded_bytes", options.get("max_decoded_bytes", MAX_DECODED_BYTES)
        ),
    )
    if not (math.isfinite(policy.deadline) and policy.deadline > 0):
        raise ValueError(f"deadline must be a positive number of seconds, not {policy.deadline!r}")
    if policy.retries < 0 or not policy.backoff >= 0:
        raise ValueError("retries and backoff must not be negative")
    if policy.max_answer_bytes < 1 or policy.max_decoded_bytes < 1:
        raise ValueError("max_answer_bytes and max_decoded_bytes must be at least 1")
    if not isinstance(limits := options.get("limits", DEFAULT_LIMITS), httpx.Limits):
        raise TypeError(f"limits must be an httpx.Limits, not {type(limits).__name__}")
    return policy


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _seconds(option: str, value: object) -> float:
    """``value`` as seconds, or a ``TypeError`` naming ``option``."""
    if not _number(value):
        raise TypeError(f"{option} must be a number of seconds, not {type(value).__name__}")
    return float(cast(float, value))


def _whole(option: str, value: object) -> int:
    """``value`` as a count, or a ``TypeError`` naming ``option``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{option} must be a whole number, not {type(value).__name__}")
    return value
