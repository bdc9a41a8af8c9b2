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
key order does not matter; other bodies by bytes). By default exchanges replay in recorded
order; ``ordered=False`` takes any unused matching exchange; ``allow_playback_repeats=True``
lets an exchange replay more than once.

Secrets and personal data are redacted before anything is kept (see ``adapters.cassette``):
placeholders stand for the values. When replaying, a recorded placeholder matches the value
the placeholder first matched in this run (and any value the first time), so a flow that sends
the same email twice must send the same email twice again. The file is written on ``save``
or ``close`` (and when the ``with`` block ends), atomically.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self
from urllib.parse import parse_qsl

import httpx

from adapters import shop_api
from adapters.cassette import (
    PLACEHOLDER,
    VOLATILE_HEADERS,
    Body,
    CassetteError,
    CassetteFormatError,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Redaction,
    Redactor,
    ValueKey,
    cassette_redact,
    cassette_show,
    load,
    multi,
    save,
    value_key,
)

if TYPE_CHECKING:
    from adapters.http import ShopApiClient

Mode = Literal["none", "once", "new_episodes", "all"]
MODES: Final[tuple[Mode, ...]] = ("none", "once", "new_episodes", "all")

REPLAY_BASE_URL: Final = "http://centra.replay.invalid" + shop_api.BASE_PATH
"""The base URL ``replay_client`` gives ``ShopApiClient`` when replaying: the host is never
contacted, and the recorded paths start with ``shop_api.BASE_PATH``."""


class CassetteMismatch(CassetteError):
    """A request does not match the exchange the cassette expected; shows both side by side.

    ``index`` is the exchange compared against; ``differences`` lists ``(what, expected,
    actual)`` rows (``method``, ``path``, ``query``, ``body $.a.b``).
    """

    def __init__(
        self,
        path: str,
        index: int,
        request_label: str,
        differences: Sequence[tuple[str, str, str]],
        why: str,
    ):
        self.index = index
        self.differences = tuple(differences)
        rows = [("", "expected (recorded)", "actual"), *self.differences]
        widths = [min(max(len(row[i]) for row in rows), 48) for i in range(3)]
        table = "\n".join(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )
        super().__init__(
            path,
            f"{request_label} does not match exchange {index} of cassette {path} ({why}):\n{table}",
        )


class UnexpectedRequest(CassetteError):
    """A request the cassette does not hold, with nothing left to replay; lists what is there."""

    def __init__(self, path: str, request_label: str, why: str, recorded: Sequence[Exchange]):
        self.recorded = tuple(recorded)
        lines = [
            f"  {i:>3}  {e.request.label}  -> {e.response.status}"
            for i, e in enumerate(self.recorded)
        ]
        listing = "\n".join(lines) if lines else "  (no exchanges)"
        super().__init__(
            path,
            f"unexpected request {request_label}: {why} in cassette {path}; to record it, use "
            f'mode="new_episodes" (or "all" to record afresh). Recorded:\n{listing}',
        )


# --- the request as matched -----------------------------------------------------------------


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


def _response_of(response: httpx.Response) -> RecordedResponse:
    headers = multi(
        ((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw),
        skip=VOLATILE_HEADERS,
    )
    content_type = response.headers.get("content-type", "")
    return RecordedResponse(
        response.status_code, headers, Body.of_bytes(response.content, content_type)
    )


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, _Hidden) else str(value)
    return text if len(text) <= 48 else text[:47] + "…"


class _Hidden:
    """A secret value of the actual request, shown as what it is not, never as itself."""

    def __init__(self, placeholder: str | None):
        self.placeholder = placeholder

    def __str__(self) -> str:
        return self.placeholder or "(a value the cassette does not know)"


class _Comparison:
    """One attempt to match a request against a recorded one; ``bindings`` are the
    placeholders it would learn (committed only if this exchange is the one replayed)."""

    def __init__(self, redactor: Redactor):
        self.redactor = redactor
        self.fields = redactor.redaction.fields
        self.bindings: dict[ValueKey, str] = {}
        self.differences: list[tuple[str, str, str]] = []

    def run(self, recorded: RecordedRequest, actual: RecordedRequest) -> bool:
        """Compare; ``differences`` says what differs, ``bindings`` what a match would learn."""
        if recorded.method != actual.method:
            self.differences.append(("method", recorded.method, actual.method))
        if recorded.path != actual.path:
            self.differences.append(("path", recorded.path, actual.path))
        if recorded.query or actual.query:
            self._value(recorded.query, actual.query, ("query",), None)
        expected, got = recorded.body, actual.body
        if expected.kind == "json" and got.kind == "json":
            self._value(expected.value, got.value, ("body $",), None)
        elif expected.content != got.content:
            self.differences.append(("body", summary_of(expected), summary_of(got)))
        return not self.differences

    def _differ(self, where: tuple[str, ...], expected: Any, actual: Any) -> None:
        if where[0] == "query":
            name = "query " + ".".join(where[1:])
        else:
            name = where[0] + "".join(p if p[0] == "[" else f".{p}" for p in where[1:])
        self.differences.append((name, _show(expected), _show(actual)))

    def _value(self, expected: Any, actual: Any, where: tuple[str, ...], label: str | None) -> None:
        if label is None and type(expected) is type(actual) and expected == actual:
            return  # the common case, compared at C speed (bool and int differ in type)
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in [*expected, *(k for k in actual if k not in expected)]:
                sub = key if key.lower() in self.fields else label
                if key not in actual:
                    self._differ((*where, key), expected[key], _Missing())
                elif key not in expected:
                    self._differ((*where, key), _Missing(), self._visible(actual[key], sub))
                else:
                    self._value(expected[key], actual[key], (*where, key), sub)
        elif isinstance(expected, list) and isinstance(actual, list):
            if len(expected) != len(actual):
                self._differ((*where, "length"), len(expected), len(actual))
            for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
                self._value(e, a, (*where, f"[{i}]"), label)
        elif label is not None:
            if not self._secret_matches(expected, actual):
                self._differ(where, expected, self._visible(actual, label))
        elif not _equal(expected, actual):
            self._differ(where, expected, actual)

    def _visible(self, actual: Any, label: str | None) -> Any:
        key = value_key(actual) if label is not None else None
        if key is None:
            return actual
        return _Hidden(self.redactor.known.get(key) or self.bindings.get(key))

    def _secret_matches(self, expected: Any, actual: Any) -> bool:
        if _equal(expected, actual):  # unredacted, or a placeholder sent back as it was served
            return True
        key = value_key(actual)
        if key is None:
            return False
        known = self.redactor.known.get(key) or self.bindings.get(key)
        if known is not None:
            return bool(known == expected)
        if not isinstance(expected, str) or not PLACEHOLDER.fullmatch(expected):
            return False
        if expected in self.bindings.values() or expected in self.redactor.known.values():
            return False  # stands for another value
        self.bindings[key] = expected
        return True


class _Missing:
    def __str__(self) -> str:
        return "(absent)"


def _equal(expected: Any, actual: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def summary_of(body: Body) -> str:
    """A body as shown in a mismatch: JSON in full up to a width, else its kind and size."""
    if body.kind == "json":
        return _show(body.value)
    return f"{body.kind}, {len(body.content)} bytes"


# --- the state both transports share --------------------------------------------------------


class _Tape:
    """A cassette being replayed and recorded: all the logic, no I/O but the file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: Mode,
        *,
        ordered: bool,
        allow_playback_repeats: bool,
        redaction: Redaction | None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        self.path = os.fspath(path)
        exists = Path(self.path).is_file()
        if mode == "once":
            mode = "none" if exists else "all"
        self.mode: Mode = mode
        self.ordered = ordered
        self.repeats = allow_playback_repeats
        self.redactor = Redactor(redaction)
        self.recorded: tuple[Exchange, ...] = ()
        if mode == "none" and not exists:
            raise CassetteError(
                self.path,
                f'no cassette at {self.path}: record it first (mode="once" or mode="all")',
            )
        if mode == "none" or (mode == "new_episodes" and exists):
            cassette = load(self.path)
            self.recorded = cassette.exchanges
            self.redactor.notice(cassette)
        self.played = [0] * len(self.recorded)
        self.position = 0
        self.new: list[Exchange] = []
        self.saved = mode == "none"
        self.lock = threading.Lock()

    @property
    def records(self) -> bool:
        return self.mode != "none"

    def replay(self, request: RecordedRequest) -> RecordedResponse | None:
        """The recorded response for a request, ``None`` if it is to be recorded; else raises."""
        if self.mode == "all":
            return None
        with self.lock:
            index, comparison = self._find(request)
            if index is not None:
                for key, placeholder in comparison.bindings.items():
                    self.redactor.bind(key, placeholder)
                self.played[index] += 1
                if self.ordered and index == self.position:
                    self.position += 1
                return self.recorded[index].response
            if self.records:
                return None
            raise self._failure(request)

    def _candidates(self) -> list[int]:
        unused = [i for i, n in enumerate(self.played) if n == 0]
        if self.ordered:
            unused = [self.position] if self.position < len(self.recorded) else []
        if self.repeats:
            used = [i for i, n in enumerate(self.played) if n > 0]
            unused += reversed(used) if self.ordered else used
        return unused

    def _find(self, request: RecordedRequest) -> tuple[int | None, _Comparison]:
        comparison = _Comparison(self.redactor)
        for index in self._candidates():
            comparison = _Comparison(self.redactor)
            if comparison.run(self.recorded[index].request, request):
                return index, comparison
        return None, comparison

    def _failure(self, request: RecordedRequest) -> CassetteError:
        label = request.label
        unused = [i for i, n in enumerate(self.played) if n == 0]
        if self.ordered and self.position < len(self.recorded):
            shown, why = self.position, "the next in recorded order"
        elif not self.ordered and unused:
            ranked = []
            for index in unused:
                comparison = _Comparison(self.redactor)
                comparison.run(self.recorded[index].request, request)
                ranked.append((_rank(comparison), index))
            shown, why = min(ranked)[1], "the closest unused exchange"
        else:
            why = (
                f"all {len(self.recorded)} recorded exchanges were played"
                if self.recorded
                else "the cassette has no exchanges"
            )
            return UnexpectedRequest(self.path, label, why, self.recorded)
        expected = self.recorded[shown].request
        comparison = _Comparison(self.redactor)
        comparison.run(expected, request)
        differences = [
            ("method", expected.method, request.method),
            ("path", expected.path, request.path),
            *(d for d in comparison.differences if d[0] not in ("method", "path")),
        ]
        return CassetteMismatch(self.path, shown, label, differences, why)

    def record(self, request: RecordedRequest, response: RecordedResponse) -> None:
        """Keep an exchange that really happened, redacted."""
        exchange = self.redactor.exchange(Exchange(request, response))
        with self.lock:
            self.new.append(exchange)
            self.saved = False

    def save(self) -> None:
        """Write the cassette if anything was recorded (or the mode records afresh)."""
        with self.lock:
            if self.saved:
                return
            exchanges = [*self.recorded, *self.new] if self.mode != "all" else self.new
            save(self.path, exchanges)
            self.saved = True

    def unplayed(self) -> list[int]:
        with self.lock:
            return [i for i, n in enumerate(self.played) if n == 0]


def _rank(comparison: _Comparison) -> tuple[int, int]:
    structural = sum(1 for d in comparison.differences if d[0] in ("method", "path"))
    return (structural, len(comparison.differences))


def _served(response: RecordedResponse, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        response.status,
        headers=response.header_list(),
        content=response.body.content,
        request=request,
    )


def _passed_on(response: httpx.Response, recorded: RecordedResponse) -> httpx.Response:
    # The body is already decoded: drop the headers describing the bytes on the wire.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=recorded.body.content,
        extensions=response.extensions,
    )


class _ReplayBase:
    """What both transports share: the tape and its life cycle."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ):
        self._tape = _Tape(
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

    @classmethod
    def from_cassette(
        cls,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        inner: httpx.BaseTransport | None = None,
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ) -> Self:
        """A transport over the cassette at ``path``, ready for ``ShopApiClient(transport=)``."""
        return cls(
            path,
            mode=mode,
            inner=inner,
            ordered=ordered,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Replay the request's recorded response, or send it with ``inner`` and record it."""
        content = request.read()
        recorded = _request_of(request, content)
        response = self._tape.replay(recorded)
        if response is not None:
            return _served(response, request)
        if self._inner is None:
            self._inner = httpx.HTTPTransport()
        real = self._inner.handle_request(request)
        try:
            real.read()
        finally:
            real.close()
        answer = _response_of(real)
        self._tape.record(recorded, answer)
        return _passed_on(real, answer)

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

    @classmethod
    def from_cassette(
        cls,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "none",
        inner: httpx.AsyncBaseTransport | None = None,
        ordered: bool = True,
        allow_playback_repeats: bool = False,
        redaction: Redaction | None = None,
    ) -> Self:
        """A transport over the cassette at ``path``, for ``AsyncShopApiClient(transport=)``."""
        return cls(
            path,
            mode=mode,
            inner=inner,
            ordered=ordered,
            allow_playback_repeats=allow_playback_repeats,
            redaction=redaction,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Replay the request's recorded response, or send it with ``inner`` and record it."""
        content = await request.aread()
        recorded = _request_of(request, content)
        response = self._tape.replay(recorded)
        if response is not None:
            return _served(response, request)
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport()
        real = await self._inner.handle_async_request(request)
        try:
            await real.aread()
        finally:
            await real.aclose()
        answer = _response_of(real)
        self._tape.record(recorded, answer)
        return _passed_on(real, answer)

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


def replay_client(
    path: str | os.PathLike[str],
    *,
    mode: Mode = "none",
    base_url: str | None = None,
    api_key: str | None = None,
    inner: httpx.BaseTransport | None = None,
    ordered: bool = True,
    allow_playback_repeats: bool = False,
    redaction: Redaction | None = None,
) -> ShopApiClient:
    """A ``ShopApiClient`` over ``ReplayTransport`` for the cassette at ``path``.

    Replaying needs no ``base_url`` (the host is never contacted); recording needs the real
    server's. ``close()`` the client to write what was recorded. Raises what
    ``ReplayTransport`` raises, and ``ValueError`` when recording without ``base_url``.
    """
    from adapters.http import ShopApiClient

    transport = ReplayTransport(
        path,
        mode=mode,
        inner=inner,
        ordered=ordered,
        allow_playback_repeats=allow_playback_repeats,
        redaction=redaction,
    )
    if base_url is None:
        if transport.mode != "none":
            raise ValueError(f"recording {path} (mode {mode!r}) needs the server's base_url")
        base_url = REPLAY_BASE_URL
    return ShopApiClient(base_url, api_key or "replay", transport=transport)


__all__ = [
    "MODES",
    "REPLAY_BASE_URL",
    "AsyncReplayTransport",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMismatch",
    "Mode",
    "Redaction",
    "ReplayTransport",
    "UnexpectedRequest",
    "cassette_redact",
    "cassette_show",
    "replay_client",
]
