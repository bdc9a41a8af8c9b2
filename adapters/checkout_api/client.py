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
it has one of its own.
Each call also sends an ``X-Correlation-ID`` (the same on its retries and on every request of
the call), fresh per call unless ``correlation_id`` makes them; the HTTP log line has it in
``centra_correlation_id`` and shows no token, secret or id of the path.

What each outcome of a request raises is the table in ``orderflow.adapters.http.table``: for a
payment call (``StartPayment``, ``PaymentResult``) anything but a definitive answer is
``OutcomeUnknown``, and whatever proves Centra did not act is ``CentraUnavailable``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar, Unpack

import httpx

from orderflow.adapters.checkout_api import dialect
from orderflow.adapters.http.client import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_ANSWER_BYTES,
    MAX_DECODED_BYTES,
    AsyncHttpClient,
    HttpClient,
    HttpOptions,
)
from orderflow.adapters.http.exchange import Reply, Step, WireRequest, keeping_newest_token
from orderflow.calls import Call

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
        return keeping_newest_token(super()._exchange(call, build_request), _token_of)


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
        return keeping_newest_token(super()._exchange(call, build_request), _token_of)
