"""Centra's Checkout API over HTTP: ``CheckoutApiClient`` (``Transport``) and
``AsyncCheckoutApiClient`` (``AsyncTransport``).

Each is the shared HTTP client (``orderflow.adapters.http``: one long-lived httpx client, the
error table, the deadline and size limits, retries of reads, logging) speaking the Checkout
API dialect (``dialect``). Server side, the shared secret goes in ``Authorization: Bearer``.
Each call sends its session token (``call.token``) as ``API-token``, and every answer carries
the token it came with (``SelectionResponse.token``, each ``PaymentAction``'s, ``Receipt.token``;
a core error raised from an answer has it as ``error.token``): the service keeps the newest.
A call carried by several requests (``SetCheckoutFields``) sends each with the token the last
answer gave; when a later request fails (a 502, a refusal without a token, a lost answer), its
``CentraError`` or ``CentraUnavailable`` carries the newest token the call was handed, unless
it has one of its own. A busy or failing answer (a 429, a 5xx) has a token too: its
``CentraUnavailable`` carries it, and a read retried after it is sent with it.
Each call also sends an ``X-Correlation-ID`` (the same on its retries and on every request of
the call), fresh per call unless ``correlation_id`` makes them; the HTTP log line has it in
``centra_correlation_id`` and shows no token, secret or id of the path.

What each outcome of a request raises is the table in ``orderflow.adapters.http.table``: for a
payment call (``StartPayment``, ``PaymentResult``) anything but a definitive answer is
``OutcomeUnknown``, and whatever proves Centra did not act is ``CentraUnavailable``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, Final, TypeVar, Unpack

import httpx

from orderflow.adapters.checkout_api import answers, dialect
from orderflow.adapters.http.body import Body, BrokenBody
from orderflow.adapters.http.client import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_ANSWER_BYTES,
    MAX_DECODED_BYTES,
    AsyncHttpClient,
    HttpClient,
    HttpOptions,
)
from orderflow.adapters.http.exchange import (
    Read,
    Reply,
    Send,
    Step,
    WireRequest,
    keeping_newest_token,
)
from orderflow.calls import Call
from orderflow.errors import CentraUnavailable

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "MAX_DECODED_BYTES",
    "AsyncCheckoutApiClient",
    "CheckoutApiClient",
    "new_correlation_id",
]

T = TypeVar("T")


def new_correlation_id() -> str:
    """A fresh correlation id (a random UUID): what each call sends unless told otherwise."""
    return str(uuid.uuid4())


def _dialect(correlation_id: Callable[[], str]) -> Callable[[Call[Any]], WireRequest[Any]]:
    def request(call: Call[Any]) -> WireRequest[Any]:
        return dialect.request(call, correlation_id=correlation_id())

    return request


def _token_of(request: httpx.Request) -> str | None:
    token: str | None = request.headers.get(dialect.TOKEN_HEADER)
    return token


_TOKEN_BODY_BYTES: Final = 64 * 1024
"""The most of a failed answer's body read again for its token (an error body is small)."""


def _answered_token(response: httpx.Response, chunks: list[bytes]) -> str | None:
    """The session token an answer's body carries (``chunks``: its raw body as read), if it
    has one that can be sent back; ``None`` for any body that does not say."""
    try:
        if response.is_stream_consumed:  # built in process with content=: httpx read it
            body = Body(None, max_wire=_TOKEN_BODY_BYTES, max_decoded=_TOKEN_BODY_BYTES)
            body.feed(response.content)
        else:
            encoding = response.headers.get("content-encoding")
            body = Body(encoding, max_wire=_TOKEN_BODY_BYTES, max_decoded=_TOKEN_BODY_BYTES)
            for chunk in chunks:
                body.feed(chunk)
        parsed = json.loads(body.finish())
    except (BrokenBody, ValueError, RecursionError):
        return None
    token = parsed.get("token") if isinstance(parsed, dict) else None
    return token if isinstance(token, str) and answers.sendable(token) else None


def _keeping_answered_token(life: Generator[Step, Reply, T]) -> Generator[Step, Reply, T]:
    """A call's ``life``, keeping the token of every answer that fails on its status (a 429, a
    5xx: the table decides those without the dialect, so nothing else reads their body): a
    retry is sent with it instead of the token the failed attempt was sent with, and the
    ``CentraUnavailable`` the call ends with carries it (the service keeps it). Every Checkout
    API answer has a token and any may hand out a new one; the one it replaces may expire at
    the next use, and a request with an expired token starts a new, empty session."""
    response: httpx.Response | None = None
    chunks: list[bytes] = []
    answered: str | None = None
    try:
        step = next(life)
        while True:
            if isinstance(step, Send):
                if response is not None and not response.is_success:  # a retry: its token
                    answered = _answered_token(response, chunks) or answered
                response, chunks = None, []
                if answered is not None and dialect.TOKEN_HEADER in step.request.headers:
                    step.request.headers[dialect.TOKEN_HEADER] = answered
            reply = yield step
            if isinstance(step, Send) and isinstance(reply, httpx.Response):
                response = reply
            elif isinstance(step, Read) and isinstance(reply, bytes):
                chunks.append(reply)
            step = life.send(reply)
    except StopIteration as done:
        answer: T = done.value
        return answer
    except CentraUnavailable as error:
        if response is not None and not response.is_success:
            answered = _answered_token(response, chunks) or answered
        if error.token is None and answered is not None:
            error.token = answered
        raise
    finally:
        life.close()


def _headers(base_url: str, secret: str | None) -> list[tuple[str, str]]:
    if secret is None:
        return []
    if not isinstance(secret, str):
        raise TypeError(f"the secret must be text, not {type(secret).__name__}")
    try:
        userinfo = httpx.URL(base_url).userinfo
    except httpx.InvalidURL:
        userinfo = b""  # the shared client says what is wrong with the URL
    if userinfo:
        raise ValueError("give the secret or credentials in base_url, not both: both are auth")
    if not secret or not secret.isascii() or not secret.isprintable():
        raise ValueError("the secret must be printable ASCII")
    return [("Authorization", f"Bearer {secret}")]


class CheckoutApiClient(HttpClient):
    """Centra's Checkout API over HTTP, blocking: implements ``Transport``.

    ``base_url`` is the API's base (``https://shop.example/api/checkout``, or
    ``.../api/checkout/<pluginId>``); ``secret`` is the plugin's shared secret, sent as
    ``Authorization: Bearer`` (server side only; ``None`` sends none) and shown nowhere;
    ``correlation_id`` makes each call's ``X-Correlation-ID`` (``new_correlation_id``);
    ``transport`` an ``httpx.BaseTransport`` to inject (tests, replay); ``event_hooks`` go to
    the ``httpx.Client``; ``sleep`` waits between attempts of a read. The other options
    (``timeout``, ``deadline``, ``max_answer_bytes``, ``max_decoded_bytes``, ``retries``,
    ``backoff``, ``limits``) are ``HttpOptions``. Raises ``ValueError`` for a base URL that
    is not http(s), a secret next to credentials in the URL, or an option out of range, and
    ``TypeError`` for a secret that is not text; every call raises only core errors.
    """

    def __init__(
        self,
        base_url: str,
        secret: str | None = None,
        *,
        correlation_id: Callable[[], str] = new_correlation_id,
        transport: httpx.BaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(correlation_id),
            headers=_headers(base_url, secret),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )

    def _exchange(
        self, call: Call[T], build_request: Callable[..., httpx.Request]
    ) -> Generator[Step, Reply, T]:
        life = _keeping_answered_token(super()._exchange(call, build_request))
        return keeping_newest_token(life, _token_of)


class AsyncCheckoutApiClient(AsyncHttpClient):
    """Centra's Checkout API over HTTP for asyncio: implements ``AsyncTransport``.

    The same arguments, answers and errors as ``CheckoutApiClient``; ``transport`` is an
    ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to call an ASGI app in process),
    ``event_hooks`` are async and ``sleep`` is awaited. Use it from one event loop; close it
    with ``aclose``.
    """

    def __init__(
        self,
        base_url: str,
        secret: str | None = None,
        *,
        correlation_id: Callable[[], str] = new_correlation_id,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(correlation_id),
            headers=_headers(base_url, secret),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )

    def _exchange(
        self, call: Call[T], build_request: Callable[..., httpx.Request]
    ) -> Generator[Step, Reply, T]:
        life = _keeping_answered_token(super()._exchange(call, build_request))
        return keeping_newest_token(life, _token_of)
