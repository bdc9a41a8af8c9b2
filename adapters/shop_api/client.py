"""Centra's Shop API over HTTP: ``ShopApiClient`` (``Transport``) and ``AsyncShopApiClient``
(``AsyncTransport``).

Each is the shared HTTP client (``orderflow.adapters.http``: one long-lived httpx client, the
error table, the deadline and size limits, retries of reads, logging) speaking the Shop API
dialect (``dialect``) with the shop's key in ``API-Authorization``. What each outcome of a
request raises is the table in ``orderflow.adapters.http.table``; in short, for a payment call
(``StartPayment``, ``PaymentResult``) anything but a definitive answer is ``OutcomeUnknown``,
and whatever proves Centra did not act (408, 425, 429, no connection, a request that cannot be
built) is ``CentraUnavailable``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Unpack

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
from orderflow.adapters.http.exchange import WireRequest
from orderflow.adapters.shop_api import dialect
from orderflow.calls import Call

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "MAX_DECODED_BYTES",
    "AsyncShopApiClient",
    "ShopApiClient",
]


def _dialect(
    payment_result_path: dialect.PaymentResultPath,
) -> Callable[[Call[Any]], WireRequest[Any]]:
    if payment_result_path not in dialect.PAYMENT_RESULT_PATHS:
        raise ValueError(
            f"payment_result_path is one of {dialect.PAYMENT_RESULT_PATHS}, "
            f"not {payment_result_path!r}"
        )

    def request(call: Call[Any]) -> WireRequest[Any]:
        return dialect.request(call, payment_result_path=payment_result_path)

    return request


def _key(api_key: str | None) -> list[tuple[str, str]]:
    return [(dialect.API_KEY_HEADER, api_key)] if api_key is not None else []


class ShopApiClient(HttpClient):
    """Centra's Shop API over HTTP, blocking: implements ``Transport``.

    ``base_url`` is the API's base (``https://shop.example/api/shop``; credentials in it become
    Basic auth); ``api_key`` is sent as ``API-Authorization`` and shown nowhere;
    ``payment_result_path`` is ``"v1"`` (``POST selections/{selection}/payment-result``, the
    default) or ``"seed"`` (``POST selections/payment-result`` with ``selection`` in the body);
    ``transport`` an ``httpx.BaseTransport`` to inject (tests, replay); ``event_hooks`` go to
    the ``httpx.Client``; ``sleep`` waits between attempts of a read. The other options
    (``timeout``, ``deadline``, ``max_answer_bytes``, ``max_decoded_bytes``, ``retries``,
    ``backoff``, ``limits``) are ``HttpOptions``. Raises ``ValueError`` for a base URL that
    is not http(s) or an option out of range; every call raises only core errors.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        payment_result_path: dialect.PaymentResultPath = "v1",
        transport: httpx.BaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(payment_result_path),
            headers=_key(api_key),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )
        self.payment_result_path = payment_result_path


class AsyncShopApiClient(AsyncHttpClient):
    """Centra's Shop API over HTTP for asyncio: implements ``AsyncTransport``.

    The same arguments, answers and errors as ``ShopApiClient``; ``transport`` is an
    ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to call an ASGI app in process),
    ``event_hooks`` are async and ``sleep`` is awaited. Use it from one event loop; close it
    with ``aclose``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        payment_result_path: dialect.PaymentResultPath = "v1",
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[HttpOptions],
    ):
        super().__init__(
            base_url,
            _dialect(payment_result_path),
            headers=_key(api_key),
            transport=transport,
            event_hooks=event_hooks,
            sleep=sleep,
            **options,
        )
        self.payment_result_path = payment_result_path
