"""Centra's Shop API over HTTP: ``ShopApiClient`` (``Transport``) and ``AsyncShopApiClient``
(``AsyncTransport``), on httpx.

Paths, bodies and decoding come from ``shop_api``; this module only moves bytes and turns
httpx's failures into core errors, so nothing outside it ever sees an httpx exception. The two
classes share everything except the send: ``_exchange`` is one request's whole life (build,
answer, retry) as a generator that yields what to send or how long to sleep, and each class
drives it with its own client.

Error mapping (see ``_failure`` and ``_answer``):

- no connection (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``): ``CentraUnavailable``
  for every call; nothing was sent;
- any other network failure or timeout: ``OutcomeUnknown`` for the payment calls
  (``start_payment``, ``payment_result``: Centra may have acted; never retried), else
  ``CentraUnavailable``;
- 5xx: ``CentraUnavailable``; 401/403: ``AuthenticationFailed`` saying the key or the origin is
  not accepted; 410: ``OutOfStock``; other 4xx: ``CentraError`` with ``{field: message}``;
- a body that is not JSON: ``PayloadError`` naming the endpoint (``CentraUnavailable`` on 5xx).

Reads (GET) are retried on ``CentraUnavailable`` with exponential backoff; nothing else is.

Requests go to the httpx transport (the injected one, or an ``httpx.HTTPTransport`` with its
pool, TLS and the environment's proxy) without ``httpx.Client``, whose cookies, redirects, auth
flows and hooks a server-to-server API does not use but pays for on every call. So this module
does what ``Client`` did: ``Host``, ``Content-Length`` and the fixed headers, the timeout in
``request.extensions``, reading the answer (decoding gzip or deflate) and closing it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, Final, Self, TypeVar

import httpx

from orderflow.adapters.shop_api import dialect
from orderflow.errors import (
    AuthenticationFailed,
    CentraUnavailable,
    FieldProblem,
    OrderflowError,
    OutcomeUnknown,
    PayloadError,
)
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

try:  # an accelerator only, as in the codec
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _orjson = None  # type: ignore[assignment]

T = TypeVar("T")

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
"""Connect within 5 s; read, write and wait for a pooled connection within 30 s."""

PAYMENT_CALLS: Final = frozenset({"start_payment", "payment_result"})
"""Calls that may take money: a failure after sending is ``OutcomeUnknown``, never retried."""

_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_AUTH_HINT = (
    "the API key (API-Authorization) or this client's origin is not accepted; "
    "check the key and the shop's allowed origins"
)

# What the exchange yields: a request to send, or seconds to sleep before the next attempt.
# What it is sent back: the response, or the httpx error the send raised (None after a sleep).
_Step = httpx.Request | float
_Outcome = httpx.Response | httpx.HTTPError | None


class _ShopApiBase:
    """The configuration and the request life cycle both clients share."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.1,
    ):
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as error:
            raise ValueError(f"base_url {base_url!r} is not a URL: {error}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url {base_url!r} must be an http(s) URL with a host")
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        # Credentials in the URL become Basic auth, as httpx.Client does, and are shown nowhere.
        basic = f"{url.username}:{url.password}" if url.userinfo else None
        url = url.copy_with(username=None, password=None) if basic else url
        self.base_url = str(url).rstrip("/")
        self.retries = retries
        self.backoff = backoff
        timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._extensions = {"timeout": timeout.as_dict()}  # where httpx's transports read it
        self._closed = False
        fixed = [
            ("Host", url.netloc.decode("ascii")),
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip, deflate"),
            ("User-Agent", f"centra-orderflow python-httpx/{httpx.__version__}"),
        ]
        if basic is not None:
            fixed.append(("Authorization", "Basic " + base64.b64encode(basic.encode()).decode()))
        if api_key is not None:
            fixed.append((dialect.API_KEY_HEADER, api_key))
        self._headers = httpx.Headers(fixed)  # built once; each request copies them
        # httpx sends Content-Length: 0 on a bodiless POST, PUT or PATCH; some proxies need it.
        self._empty_headers = httpx.Headers([*fixed, ("Content-Length", "0")])
        self._json_headers = httpx.Headers([*fixed, ("Content-Type", "application/json")])

    def __repr__(self) -> str:
        # The key stays out: it is a credential.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _prepare(self, request: dialect.Request[Any]) -> httpx.Request:
        # What Client.build_request would do, from the prebuilt parts: only the URL is parsed.
        if request.body is None:
            content = b""
            needs_length = request.method in ("POST", "PUT", "PATCH")
            headers = self._empty_headers if needs_length else self._headers
        else:
            content = _dumps(request.body)
            headers = httpx.Headers(self._json_headers)
            headers["Content-Length"] = str(len(content))
        url = httpx.URL(self.base_url + request.path)
        stream = httpx.ByteStream(content)
        prepared = httpx.Request(
            request.method, url, headers=headers, stream=stream, extensions=self._extensions
        )
        prepared.read()  # so ``request.content`` is there for transports that look
        return prepared

    def _exchange(self, request: dialect.Request[T]) -> Generator[_Step, _Outcome, T]:
        """One call: send, answer or map the failure, and retry reads with backoff."""
        if self._closed:  # as httpx.Client refuses
            raise RuntimeError(f"{type(self).__name__} is closed")
        prepared = self._prepare(request)
        retries = self.retries if request.method == "GET" else 0
        attempt = 0
        while True:
            outcome = yield prepared
            try:
                if isinstance(outcome, httpx.Response):
                    return _answer(request, outcome)
                assert outcome is not None
                raise self._failure(request, outcome)
            except CentraUnavailable:
                if attempt >= retries:
                    raise
            yield self.backoff * 2**attempt
            attempt += 1

    def _failure(self, request: dialect.Request[Any], error: httpx.HTTPError) -> OrderflowError:
        endpoint = request.route.label
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, _NOTHING_SENT):
            return CentraUnavailable(endpoint, f"could not connect to {self.base_url} ({reason})")
        if request.endpoint in PAYMENT_CALLS:
            return OutcomeUnknown(endpoint, reason)
        if request.method != "GET":
            reason += "; the change may have reached Centra: read the selection"
        return CentraUnavailable(endpoint, reason)


def _answer(request: dialect.Request[T], response: httpx.Response) -> T:
    """Decode an answer with the dialect; a body that is not JSON is a ``PayloadError``."""
    status = response.status_code
    content = response.content
    body: Any = None
    if content:
        try:
            body = _loads(content)
        except ValueError:
            if status >= 500:
                raise CentraUnavailable(
                    request.route.label, f"HTTP {status} (the body is not JSON)", status
                ) from None
            if status not in (401, 403):
                raise _not_json(request, response) from None
    try:
        return request.decode(status, body)
    except AuthenticationFailed as error:
        message = f"{_AUTH_HINT} ({error.message})" if error.message else _AUTH_HINT
        raise AuthenticationFailed(
            error.status, error.errors, message, error.code, error.endpoint
        ) from None


def _not_json(request: dialect.Request[Any], response: httpx.Response) -> PayloadError:
    kind = response.headers.get("content-type", "no content type").partition(";")[0]
    start = response.content[:40].decode("utf-8", "replace")
    problem = FieldProblem(
        "$",
        f"not JSON (HTTP {response.status_code}, {kind}, starts {start!r}); is the base URL right?",
    )
    return PayloadError("answer", [problem], source=request.route.label)


def _dumps(body: Any) -> bytes:
    if _orjson is not None:
        return _orjson.dumps(body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _loads(content: bytes) -> Any:
    # orjson's errors are ValueErrors, as json's are.
    return _orjson.loads(content) if _orjson is not None else json.loads(content)


def _environment_proxy(base_url: str) -> str | None:
    # What httpx.Client takes from HTTP(S)_PROXY, ALL_PROXY and NO_PROXY when given no transport.
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


class ShopApiClient(_ShopApiBase, dialect.ShopApiCalls):
    """Centra's Shop API over HTTP, blocking: implements ``Transport``.

    ``base_url`` is the API's base (``https://shop.example/api/shop``); ``api_key`` is sent as
    ``API-Authorization`` and shown nowhere; ``timeout`` is an ``httpx.Timeout`` or seconds;
    ``transport`` an ``httpx.BaseTransport`` to inject (tests, replay); ``retries`` and
    ``backoff`` (seconds, doubled per attempt) apply to reads; ``sleep`` waits between them.
    The constructor raises ``ValueError`` for a base URL that is not http(s); every call
    raises only core errors (see the module's docstring for the mapping).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(base_url, api_key, timeout=timeout, retries=retries, backoff=backoff)
        self._sleep = sleep
        if transport is None:
            transport = httpx.HTTPTransport(proxy=_environment_proxy(self.base_url))
        self._transport = transport

    def _send(self, request: httpx.Request) -> httpx.Response:
        response = self._transport.handle_request(request)
        try:
            response.read()  # decodes a gzip or deflate body
        finally:
            response.close()
        return response

    def _call(self, request: dialect.Request[T]) -> T:
        exchange = self._exchange(request)
        step = next(exchange)
        while True:
            outcome: _Outcome = None
            if isinstance(step, httpx.Request):
                try:
                    outcome = self._send(step)
                except httpx.HTTPError as error:
                    outcome = error
            else:
                self._sleep(step)
            try:
                step = exchange.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result

    def close(self) -> None:
        """Close the connections and the transport (once)."""
        if not self._closed:
            self._closed = True
            self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncShopApiClient(_ShopApiBase):
    """Centra's Shop API over HTTP for asyncio: implements ``AsyncTransport``.

    The same arguments, answers and errors as ``ShopApiClient``; ``transport`` is an
    ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to call an ASGI app in process)
    and ``sleep`` is awaited. Use it from one event loop; close it with ``aclose``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.1,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        super().__init__(base_url, api_key, timeout=timeout, retries=retries, backoff=backoff)
        self._sleep = sleep
        if transport is None:
            transport = httpx.AsyncHTTPTransport(proxy=_environment_proxy(self.base_url))
        self._transport = transport

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()  # decodes a gzip or deflate body
        finally:
            await response.aclose()
        return response

    async def _call(self, request: dialect.Request[T]) -> T:
        exchange = self._exchange(request)
        step = next(exchange)
        while True:
            outcome: _Outcome = None
            if isinstance(step, httpx.Request):
                try:
                    outcome = await self._send(step)
                except httpx.HTTPError as error:
                    outcome = error
            else:
                await self._sleep(step)
            try:
                step = exchange.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result

    async def aclose(self) -> None:
        """Close the connections and the transport (once)."""
        if not self._closed:
            self._closed = True
            await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def create_selection(self) -> SelectionResponse:
        """See ``Transport.create_selection``."""
        return await self._call(dialect.create_selection())

    async def add_item(self, selection: str, item: str, quantity: int) -> SelectionResponse:
        """See ``Transport.add_item``."""
        return await self._call(dialect.add_item(selection, item, quantity))

    async def set_quantity(self, selection: str, line: str, quantity: int) -> SelectionResponse:
        """See ``Transport.set_quantity``."""
        return await self._call(dialect.set_quantity(selection, line, quantity))

    async def remove_line(self, selection: str, line: str) -> SelectionResponse:
        """See ``Transport.remove_line``."""
        return await self._call(dialect.remove_line(selection, line))

    async def apply_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.apply_voucher``."""
        return await self._call(dialect.apply_voucher(selection, code))

    async def remove_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.remove_voucher``."""
        return await self._call(dialect.remove_voucher(selection, code))

    async def set_country(self, selection: str, country: str) -> SelectionResponse:
        """See ``Transport.set_country``."""
        return await self._call(dialect.set_country(selection, country))

    async def set_checkout_fields(
        self, selection: str, details: PaymentRequest
    ) -> SelectionResponse:
        """See ``Transport.set_checkout_fields``."""
        return await self._call(dialect.set_checkout_fields(selection, details))

    async def start_payment(self, selection: str, request: PaymentRequest) -> PaymentAction:
        """See ``Transport.start_payment``."""
        return await self._call(dialect.start_payment(selection, request))

    async def payment_result(
        self, selection: str, fields: Mapping[str, str]
    ) -> Receipt | PaymentAction:
        """See ``Transport.payment_result``."""
        return await self._call(dialect.payment_result(selection, fields))

    async def read_selection(self, selection: str) -> SelectionResponse:
        """See ``Transport.read_selection``."""
        return await self._call(dialect.read_selection(selection))

    async def read_receipt(self, selection: str) -> Receipt | None:
        """See ``Transport.read_receipt``."""
        return await self._call(dialect.read_receipt(selection))


__all__ = ["DEFAULT_TIMEOUT", "PAYMENT_CALLS", "AsyncShopApiClient", "ShopApiClient"]
