"""Centra's Storefront API (GraphQL) over HTTP: ``StorefrontApiClient`` (``Transport``) and
``AsyncStorefrontApiClient`` (``AsyncTransport``).

Each is the shared HTTP client (``orderflow.adapters.http``: one long-lived httpx client, the
error table, the deadline and size limits, retries of reads, logging) speaking the Storefront
API dialect (``dialect``): every call is a ``POST`` of the project's own operation document to
the API's one endpoint, with ``Authorization: Bearer`` the session's token (``call.token``) or,
to start a session (``CreateSelection``), the shop's shared session-mode token. Every answer
carries the token it came with (``extensions.token``: ``SelectionResponse.token``, each
``PaymentAction``'s, ``Receipt.token``; a core error raised from an answer has it as
``error.token``): the service keeps the newest. A call carried by several requests
(``SetCheckoutFields``) sends each with the token the last answer gave; when a later request
fails (a 502, a refusal without a token, a lost answer), its ``CentraError`` or
``CentraUnavailable`` carries the newest token the call was handed, unless it has one of its
own. The HTTP log line shows the operation's name, never a token or a variable.

What each outcome raises is the table in ``orderflow.adapters.http.table``, with GraphQL's own
errors read as ``answers`` says: for a payment call (``StartPayment``, ``PaymentResult``) a
field that failed while running is ``OutcomeUnknown``, a document or variables refused before
anything ran a ``CentraError``, and whatever proves Centra did not act ``CentraUnavailable``.
The client needs httpx only; no GraphQL library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar, Unpack

import httpx

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
from orderflow.adapters.storefront_api import dialect
from orderflow.calls import Call

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "MAX_DECODED_BYTES",
    "AsyncStorefrontApiClient",
    "StorefrontApiClient",
]

T = TypeVar("T")


def _dialect(shared_token: str) -> Callable[[Call[Any]], WireRequest[Any]]:
    dialect.bearer(shared_token)  # refused now, not at the first call

    def request(call: Call[Any]) -> WireRequest[Any]:
        return dialect.request(call, shared_token=shared_token)

    return request


def _bearer_of(request: httpx.Request) -> str | None:
    scheme, _, token = request.headers.get(dialect.AUTHORIZATION, "").partition(" ")
    return token if scheme == "Bearer" and token else None


class StorefrontApiClient(HttpClient):
    """Centra's Storefront API over HTTP, blocking: implements ``Transport``.

    ``base_url`` is the API's endpoint (``https://shop.centra.com/graphql``); ``shared_token``
    is the plugin's session-mode token, with which a new session starts, shown nowhere;
    ``transport`` an ``httpx.BaseTransport`` to inject (tests, replay); ``event_hooks`` go to
    the ``httpx.Client``; ``sleep`` waits between attempts of a read. The other options
    (``timeout``, ``deadline``, ``max_answer_bytes``, ``max_decoded_bytes``, ``retries``,
    ``backoff``, ``limits``) are ``HttpOptions``. Raises ``ValueError`` for a base URL that is
    not http(s), a shared token that is not printable ASCII, or an option out of range; every
    call raises only core errors.
    """

    def __init__(
        self,
        base_url: str,
        shared_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(shared_token),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )

    def _exchange(
        self, call: Call[T], build_request: Callable[..., httpx.Request]
    ) -> Generator[Step, Reply, T]:
        return keeping_newest_token(super()._exchange(call, build_request), _bearer_of)


class AsyncStorefrontApiClient(AsyncHttpClient):
    """Centra's Storefront API over HTTP for asyncio: implements ``AsyncTransport``.

    The same arguments, answers and errors as ``StorefrontApiClient``; ``transport`` is an
    ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to call an ASGI app in process),
    ``event_hooks`` are async and ``sleep`` is awaited. Use it from one event loop; close it
    with ``aclose``.
    """

    def __init__(
        self,
        base_url: str,
        shared_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(shared_token),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )

    def _exchange(
        self, call: Call[T], build_request: Callable[..., httpx.Request]
    ) -> Generator[Step, Reply, T]:
        return keeping_newest_token(super()._exchange(call, build_request), _bearer_of)
