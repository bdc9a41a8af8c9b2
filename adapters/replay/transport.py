"""Recorded replay: httpx transports that record real exchanges into a cassette and replay them.

``ReplayTransport`` (``httpx.BaseTransport``) and ``AsyncReplayTransport``
(``httpx.AsyncBaseTransport``) wrap the transport that would really send (``inner``); nothing
is patched. Inject one into ``ShopApiClient`` and the same adapter code that talks to Centra
in production runs against the cassette::

    client = ShopApiClient(base_url, api_key, transport=ReplayTransport.from_cassette(path))

Record modes:

- ``none`` (default): replay only; a request the cassette does not hold raises.
- ``once``: record when the cassette file does not exist yet, else as ``none``.
- ``new_episodes``: replay what matches, record (and append) the rest.
- ``all``: always send and record; the file is overwritten with this run's exchanges.

A request matches a recorded one by method, path, query and body (JSON compared as values, so
key order does not matter; a GraphQL request by its operation name and variables; see
``tape``). By default exchanges replay in recorded order;
 ``ordered=False`` takes any unused matching exchange; ``allow_playback_repeats=True``
lets an exchange replay more than once.

Recording passes the real answer on as it arrives, chunk by chunk, and keeps it only once the
client has read all of it: the client's own bounds (``max_answer_bytes``,
``max_decoded_bytes``, the deadline) apply as they do live, and an answer the client stopped
reading (too large, a gzip bomb, too slow) is not recorded. Under ``HttpClient`` every
blocking socket operation of an ``inner`` ``httpx.HTTPTransport`` also ends by the call's
deadline, as the live client's do.

Secrets and personal data are redacted before anything is kept (see ``redaction``):
placeholders stand for the values. The file (``cassette``) is written on ``save`` or
``close`` (and when the ``with`` block ends), atomically.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self
from urllib.parse import parse_qsl

import httpx

from orderflow.adapters.http.body import Body as WireBody
from orderflow.adapters.http.body import BrokenBody
from orderflow.adapters.http.client import bound_transport
from orderflow.adapters.replay.cassette import (
    VOLATILE_HEADERS,
    Body,
    CassetteError,
    CassetteFormatError,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    multi,
)
from orderflow.adapters.replay.redaction import Redaction
from orderflow.adapters.replay.tape import (
    MODES,
    Asked,
    CassetteMismatch,
    Mode,
    Tape,
    UnexpectedRequest,
)
from orderflow.adapters.shop_api import dialect

REPLAY_BASE_URL: Final = "http://centra.replay.invalid" + dialect.BASE_PATH
"""The base URL ``replay_client`` gives ``ShopApiClient`` when replaying: the host is never
contacted, and the recorded paths start with ``dialect.BASE_PATH``."""


# --- httpx's request and response as the tape sees them --------------------------------------


def _asked(request: httpx.Request, content: bytes) -> Asked:
    url = request.url
    raw_query = url.query
    query = multi(parse_qsl(raw_query.decode("ascii"), keep_blank_values=True)) if raw_query else {}
    content_type = request.headers.get("content-type", "") if content else ""
    return Asked(request.method, url.path, query, content, content_type)


def _request_of(request: httpx.Request, content: bytes) -> RecordedRequest:
    """An outgoing httpx request as the cassette stores it, before redaction."""
    headers = multi(
        ((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers.raw),
        skip=VOLATILE_HEADERS,
    )
    query = multi(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
    content_type = headers.get("content-type", "")
    body = Body.of_bytes(content, content_type if isinstance(content_type, str) else "")
    return RecordedRequest(request.method.upper(), request.url.path, query, headers, body)


def _response_of(response: httpx.Response, content: bytes) -> RecordedResponse:
    headers = multi(
        ((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw),
        skip=VOLATILE_HEADERS,
    )
    content_type = response.headers.get("content-type", "")
    return RecordedResponse(response.status_code, headers, Body.of_bytes(content, content_type))


_MAX_RATIO: Final = 1032
"""deflate's largest expansion: a body the client inflated whole is never larger than this."""


def _decoded(response: httpx.Response, raw: bytes) -> bytes | None:
    """The body of ``response`` from its ``raw`` bytes on the wire, decoded as the client
    decodes it (``None`` when it cannot be: a broken or unknown encoding)."""
    try:
        body = WireBody(
            response.headers.get("content-encoding"),
            max_wire=len(raw) + 1,
            max_decoded=_MAX_RATIO * len(raw) + 1024,
        )
        body.feed(raw)
        return body.finish()
    except BrokenBody:
        return None


class _Recording(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The real answer's raw stream, passed on chunk by chunk; ``done(raw)`` is called with
    every byte once the reader has read to the end (never for an answer it stopped reading)."""

    def __init__(self, real: httpx.Response, done: Callable[[bytes], None]):
        self._real = real
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        kept = bytearray()
        for chunk in self._real.stream:  # type: ignore[union-attr]
            kept += chunk
            yield chunk
        self._done(bytes(kept))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        kept = bytearray()
        async for chunk in self._real.stream:  # type: ignore[union-attr]
            kept += chunk
            yield chunk
        self._done(bytes(kept))

    def close(self) -> None:
        self._real.close()

    async def aclose(self) -> None:
        await self._real.aclose()


def _recording(
    tape: Tape, sent: httpx.Request, recorded: RecordedRequest, real: httpx.Response
) -> httpx.Response:
    """``real``, the answer to ``sent``, passed on as it arrives and recorded onto ``tape`` (as
    the answer to ``recorded``) once it was read whole."""

    def done(raw: bytes) -> None:
        content = _decoded(real, raw)
        if content is not None:
            tape.record(recorded, _response_of(real, content))

    return httpx.Response(
        real.status_code,
        headers=real.headers.raw,
        stream=_Recording(real, done),
        extensions=real.extensions,
        request=sent,
    )


def _served(response: RecordedResponse, request: httpx.Request) -> httpx.Response:
    # A stream, not ``content=``: httpx reads it once, in the client, as it reads the network.
    # Header bytes are latin-1, as recorded (``cassette`` refuses other text when loading).
    content = response.body.content
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.header_list()]
    headers.append((b"content-length", str(len(content)).encode()))
    return httpx.Response(
        response.status, headers=headers, stream=httpx.ByteStream(content), request=request
    )


class _ReplayBase:
    """What both transports share: the tape and its life cycle."""

    @classmethod
    def from_cassette(cls, path: str | os.PathLike[str], **options: Any) -> Self:
        """A transport over the cassette at ``path``, ready for ``ShopApiClient(transport=)``
        (or ``AsyncShopApiClient``); ``options`` are the constructor's."""
        return cls(path, **options)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ):
        self._tape = Tape(
            path,
            mode,
            ordered=ordered,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
        )

    @property
    def path(self) -> str:
        """The cassette's file."""
        return self._tape.path

    @property
    def mode(self) -> Mode:
        """The record mode in effect (``once`` has become ``none`` or ``all``)."""
        return self._tape.mode

    @property
    def unplayed(self) -> list[int]:
        """Indexes of recorded exchanges not replayed yet (to assert a flow used them all)."""
        return self._tape.unplayed()

    @property
    def recorded(self) -> tuple[Exchange, ...]:
        """The exchanges read from the cassette, then those recorded in this run (redacted)."""
        return (*self._tape.recorded, *self._tape.new)

    def save(self) -> None:
        """Write the cassette now if anything was recorded. Raises ``CassetteError``."""
        self._tape.save()


class ReplayTransport(_ReplayBase, httpx.BaseTransport):
    """An httpx transport that replays a cassette and, by ``mode``, records into it.

    ``inner`` sends what is recorded (default: a new ``httpx.HTTPTransport``, made only when
    needed). Raises ``CassetteError`` when the cassette is needed but missing,
    ``CassetteFormatError`` when it is damaged or of an unknown version (both at
    construction), ``CassetteMismatch`` or ``UnexpectedRequest`` for a request it cannot
    replay, and ``ValueError`` for an unknown mode.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        inner: httpx.BaseTransport | None = None,
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ):
        super().__init__(
            path,
            mode=mode,
            ordered=ordered,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
        )
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Replay the request's recorded response, or send it with ``inner`` and record it."""
        content = request.read()
        response = self._tape.replay(_asked(request, content))
        if response is not None:
            return _served(response, request)
        recorded = _request_of(request, content)
        if self._inner is None:
            self._inner = httpx.HTTPTransport()
        bound_transport(self._inner)
        return _recording(self._tape, request, recorded, self._inner.handle_request(request))

    def close(self) -> None:
        """Write the cassette if anything was recorded, then close ``inner``."""
        try:
            self._tape.save()
        finally:
            if self._inner is not None:
                self._inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None = None,
        error: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()


class AsyncReplayTransport(_ReplayBase, httpx.AsyncBaseTransport):
    """``ReplayTransport`` for ``httpx.AsyncClient``: the same arguments, modes and errors;
    ``inner`` is an ``httpx.AsyncBaseTransport`` (default: ``httpx.AsyncHTTPTransport``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        inner: httpx.AsyncBaseTransport | None = None,
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ):
        super().__init__(
            path,
            mode=mode,
            ordered=ordered,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
        )
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Replay the request's recorded response, or send it with ``inner`` and record it."""
        content = await request.aread()
        response = self._tape.replay(_asked(request, content))
        if response is not None:
            return _served(response, request)
        recorded = _request_of(request, content)
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport()
        real = await self._inner.handle_async_request(request)
        return _recording(self._tape, request, recorded, real)

    async def aclose(self) -> None:
        """Write the cassette if anything was recorded, then close ``inner``."""
        try:
            self._tape.save()
        finally:
            if self._inner is not None:
                await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None = None,
        error: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


if TYPE_CHECKING:
    from orderflow.adapters.http.client import AsyncHttpClient, HttpClient

Dialect = Literal["shop", "checkout", "storefront"]
DIALECTS: Final[tuple[Dialect, ...]] = ("shop", "checkout", "storefront")

_REPLAY_HOST: Final = "http://centra.replay.invalid"
_PATHS: Final[dict[Dialect, str]] = {
    "shop": "/api/shop",
    "checkout": "/api/checkout",
    "storefront": "/graphql",
}


def _client_of(dialect: Dialect, asynchronous: bool) -> Any:
    if dialect == "shop":
        from orderflow.adapters.shop_api import client as shop

        return shop.AsyncShopApiClient if asynchronous else shop.ShopApiClient
    if dialect == "checkout":
        from orderflow.adapters.checkout_api import client as checkout

        return checkout.AsyncCheckoutApiClient if asynchronous else checkout.CheckoutApiClient
    if dialect == "storefront":
        from orderflow.adapters.storefront_api import client as storefront

        return (
            storefront.AsyncStorefrontApiClient if asynchronous else storefront.StorefrontApiClient
        )
    raise ValueError(f"dialect is one of {DIALECTS}, not {dialect!r}")


def _base_url(path: Any, mode: Mode, dialect: Dialect, base_url: str | None) -> str:
    if base_url is not None:
        return base_url
    if mode not in ("none",):
        raise ValueError(f"recording {path} (mode {mode!r}) needs the server's base_url")
    return _REPLAY_HOST + _PATHS[dialect]


def replay_client(
    path: str | os.PathLike[str],
    *,
    dialect: Dialect = "shop",
    mode: Mode = "none",
    base_url: str | None = None,
    api_key: str | None = None,
    inner: httpx.BaseTransport | None = None,
    ordered: bool = True,
    allow_playback_repeats: bool = False,
    redaction: Redaction | None = None,
) -> HttpClient:
    """A client of ``dialect`` (``ShopApiClient``, ``CheckoutApiClient`` or
    ``StorefrontApiClient``) over ``ReplayTransport`` for the cassette at ``path``.

    ``api_key`` is the dialect's credential (the Shop API's key, the Checkout API's secret, the
    Storefront API's shared token). Replaying needs no ``base_url`` (the host is never
    contacted); recording needs the real server's. ``close()`` the client to write what was
    recorded. Raises what ``ReplayTransport`` raises, and ``ValueError`` for an unknown dialect
    or when recording without ``base_url``.
    """
    client = _client_of(dialect, asynchronous=False)
    transport = ReplayTransport(
        path,
        mode=mode,
        inner=inner,
        ordered=ordered,
        allow_playback_repeats=allow_playback_repeats,
        redaction=redaction,
    )
    url = _base_url(path, transport.mode, dialect, base_url)
    built: HttpClient = client(url, api_key or "replay", transport=transport)
    return built


def async_replay_client(
    path: str | os.PathLike[str],
    *,
    dialect: Dialect = "shop",
    mode: Mode = "none",
    base_url: str | None = None,
    api_key: str | None = None,
    inner: httpx.AsyncBaseTransport | None = None,
    ordered: bool = True,
    allow_playback_repeats: bool = False,
    redaction: Redaction | None = None,
) -> AsyncHttpClient:
    """``replay_client`` for asyncio: the dialect's async client over ``AsyncReplayTransport``;
    ``aclose()`` it to write what was recorded. Raises what ``replay_client`` raises."""
    client = _client_of(dialect, asynchronous=True)
    transport = AsyncReplayTransport(
        path,
        mode=mode,
        inner=inner,
        ordered=ordered,
        allow_playback_repeats=allow_playback_repeats,
        redaction=redaction,
    )
    url = _base_url(path, transport.mode, dialect, base_url)
    built: AsyncHttpClient = client(url, api_key or "replay", transport=transport)
    return built


__all__ = [
    "DIALECTS",
    "MODES",
    "REPLAY_BASE_URL",
    "AsyncReplayTransport",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMismatch",
    "Dialect",
    "Mode",
    "Redaction",
    "ReplayTransport",
    "UnexpectedRequest",
    "async_replay_client",
    "replay_client",
]
