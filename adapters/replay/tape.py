"""A cassette being played: which recorded exchange answers a request, and the errors when
none does.

A request matches a recorded one by method, path, query and body (JSON compared as values, so
key order does not matter; other bodies by bytes). A GraphQL request (a JSON body with a
``query`` text and an ``operationName``) matches on its operation name and variables, not on
the text of its document: a storefront that reformats a document replays the same answers.

The common case costs one comparison of bytes: the body the client sent against the recorded
one (both compact JSON), or against the recorded one with its placeholders filled in with the
values they stood for earlier in this run. Only when neither matches (another key order, a
placeholder seen for the first time) is the JSON walked value by value. A recorded placeholder
matches the value it first matched in this run (and any value the first time), so a flow that
sends the same email twice must send the same email twice again.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from orderflow.adapters.replay.cassette import (
    PLACEHOLDER,
    Body,
    CassetteError,
    Exchange,
    Multi,
    RecordedRequest,
    RecordedResponse,
    load,
    save,
)
from orderflow.adapters.replay.redaction import (
    Redaction,
    Redactor,
    ValueKey,
    encodings,
    value_key,
)

Mode = Literal["none", "once", "new_episodes", "all"]
MODES: Final[tuple[Mode, ...]] = ("none", "once", "new_episodes", "all")


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


_QUOTED_PLACEHOLDER = re.compile(rb'"(' + PLACEHOLDER.pattern.encode() + rb')"')


def _filled(content: bytes, values: Mapping[str, Any]) -> bytes | None:
    """A recorded body with each placeholder replaced by the value it stood for in this run
    (as the client encodes it); ``None`` when one has stood for nothing yet."""
    unknown = False

    def value(found: re.Match[bytes]) -> bytes:
        nonlocal unknown
        placeholder = found.group(1).decode()
        if placeholder not in values:
            unknown = True
            return found.group(0)
        return json.dumps(values[placeholder], ensure_ascii=False).encode()

    filled = _QUOTED_PLACEHOLDER.sub(value, content)
    return None if unknown else filled


# --- the request as matched -----------------------------------------------------------------


class Asked:
    """A request as the tape matches it; its body is parsed only if the bytes do not match."""

    __slots__ = ("_body", "content", "content_type", "method", "path", "query")

    def __init__(self, method: str, path: str, query: Multi, content: bytes, content_type: str):
        self.method = method
        self.path = path
        self.query = query
        self.content = content
        self.content_type = content_type
        self._body: Body | None = None

    @property
    def body(self) -> Body:
        """The body, parsed (JSON when it is JSON)."""
        if self._body is None:
            self._body = Body.of_bytes(self.content, self.content_type)
        return self._body

    @property
    def label(self) -> str:
        """How errors name the request: ``"POST /api/shop/selections"``."""
        return RecordedRequest(self.method, self.path, self.query, {}, self.body).label


def _same(recorded: RecordedRequest, asked: Asked) -> bool:
    # Equal bytes are equal values, and need no placeholder bound: the walk would agree.
    return (
        recorded.body.content == asked.content
        and recorded.path == asked.path
        and recorded.method == asked.method
        and recorded.query == asked.query
    )


def _show(value: Any) -> str:
    if isinstance(value, _Hidden | _Missing):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 48 else text[:47] + "…"


class _Hidden:
    """A secret value of the actual request, shown as what it is not, never as itself."""

    def __init__(self, placeholder: str | None):
        self.placeholder = placeholder

    def __str__(self) -> str:
        return self.placeholder or "(a value the cassette does not know)"


class Comparison:
    """One value-by-value attempt to match a request against a recorded one; ``bindings`` are the
    placeholders it would learn (committed only if this exchange is the one replayed)."""

    def __init__(self, redactor: Redactor):
        self.redactor = redactor
        self.secret = redactor.redaction.is_secret_field
        self.bindings: dict[ValueKey, str] = {}
        self.differences: list[tuple[str, str, str]] = []
        self._inside: list[tuple[tuple[str, ...], str, str]] = []
        """Strings with placeholders inside, compared once the whole request is walked (so
        that the placeholders bound anywhere in it are known)."""

    def run(self, recorded: RecordedRequest, actual: Asked) -> bool:
        """Compare; ``differences`` says what differs, ``bindings`` what a match would learn."""
        if recorded.method != actual.method:
            self.differences.append(("method", recorded.method, actual.method))
        if recorded.path != actual.path:
            if "<redacted:" in recorded.path:
                self._inside.append((("path",), recorded.path, actual.path))
            else:
                self.differences.append(("path", recorded.path, actual.path))
        if recorded.query or actual.query:
            self._query(recorded.query, actual.query)
        expected, got = recorded.body, actual.body
        if expected.kind == "json" and got.kind == "json":
            self._value(*_as_matched(expected.value, got.value), ("body $",), None)
        elif expected.content != got.content:
            if expected.kind == "text" == got.kind and "<redacted:" in expected.value:
                self._inside.append((("body",), expected.value, got.value))
            else:
                self.differences.append(("body", summary_of(expected), summary_of(got)))
        for where, recorded_text, actual_text in self._inside:
            if not self._inside_matches(recorded_text, actual_text):
                shown = self.redactor.text(actual_text, learn=False)
                if where[0] in ("path", "body"):
                    self.differences.append((where[0], recorded_text, shown))
                else:
                    self._differ(where, recorded_text, shown)
        return not self.differences

    def _query(self, expected: Multi, actual: Multi) -> None:
        secret = self.redactor.redaction.is_secret_parameter
        for key in [*expected, *(k for k in actual if k not in expected)]:
            label = key if secret(key) else None
            if key not in actual:
                self._differ(("query", key), expected[key], _Missing())
            elif key not in expected:
                self._differ(("query", key), _Missing(), self._visible(actual[key], label))
            else:
                self._value(expected[key], actual[key], ("query", key), label)

    def _inside_matches(self, expected: str, actual: str) -> bool:
        """Whether ``actual`` is ``expected`` with each placeholder inside it replaced by the
        value it stands for (as is or URL-encoded; any text for one not bound yet)."""
        values = self.redactor.values
        bound = {placeholder: key[1] for key, placeholder in self.bindings.items()}
        pattern: list[str] = []
        position = 0
        for found in PLACEHOLDER.finditer(expected):
            pattern.append(re.escape(expected[position : found.start()]))
            placeholder = found.group(0)
            value = values[placeholder] if placeholder in values else bound.get(placeholder)
            if value is None:
                pattern.append(".+?")
            else:
                forms = sorted({placeholder, *encodings(str(value))}, key=len, reverse=True)
                pattern.append("(?:" + "|".join(map(re.escape, forms)) + ")")
            position = found.end()
        pattern.append(re.escape(expected[position:]))
        return re.fullmatch("".join(pattern), actual, re.DOTALL) is not None

    def _differ(self, where: tuple[str, ...], expected: Any, actual: Any) -> None:
        if where[0] == "query":
            name = "query " + ".".join(where[1:])
        else:
            name = where[0] + "".join(p if p[0] == "[" else f".{p}" for p in where[1:])
        self.differences.append((name, _show(expected), _show(actual)))

    def _value(self, expected: Any, actual: Any, where: tuple[str, ...], label: str | None) -> None:
        if label is None and expected == actual and _exactly(expected, actual):
            return  # the common case, compared at C speed
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in [*expected, *(k for k in actual if k not in expected)]:
                sub = key if self.secret(key) else label
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
        elif _equal(expected, actual):
            pass
        elif isinstance(expected, str) and isinstance(actual, str) and "<redacted:" in expected:
            self._inside.append((where, expected, actual))
        else:
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


def _as_matched(expected: Any, actual: Any) -> tuple[Any, Any]:
    """The parts of two JSON bodies that must match: GraphQL requests without their documents."""
    if (
        isinstance(expected, dict)
        and isinstance(actual, dict)
        and isinstance(expected.get("operationName"), str)
        and isinstance(expected.get("query"), str)
        and isinstance(actual.get("query"), str)
    ):
        return _without_document(expected), _without_document(actual)
    return expected, actual


def _without_document(request: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in request.items() if key != "query"}


class _Missing:
    def __str__(self) -> str:
        return "(absent)"


def _exactly(expected: Any, actual: Any) -> bool:
    """Whether two values that are ``==`` are also the same JSON: Python has ``1 == True`` and
    ``{"n": 1} == {"n": True}``, JSON does not. Scalars compare by type; containers by their
    canonical JSON text (at C speed), which also tells ``1`` from ``1.0`` (the walk, which
    follows when this says no, takes those as equal)."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, dict | list):
        return _canonical(expected) == _canonical(actual)
    return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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


# --- the tape ------------------------------------------------------------------------------


class Tape:
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

    def replay(self, request: Asked) -> RecordedResponse | None:
        """The recorded response for a request, ``None`` if it is to be recorded; else raises."""
        if self.mode == "all":
            return None
        with self.lock:
            index, comparison = self._find(request)
            if index is not None:
                if comparison is not None:
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
        if self.ordered:
            unused = [self.position] if self.position < len(self.recorded) else []
        else:
            unused = [i for i, n in enumerate(self.played) if n == 0]
        if self.repeats:
            used = [i for i, n in enumerate(self.played) if n > 0]
            unused += reversed(used) if self.ordered else used
        return unused

    def _find(self, request: Asked) -> tuple[int | None, Comparison | None]:
        comparison = None
        for index in self._candidates():
            recorded = self.recorded[index].request
            if _same(recorded, request) or self._same_once_filled(recorded, request):
                return index, None
            comparison = Comparison(self.redactor)
            if comparison.run(recorded, request):
                return index, comparison
        return None, comparison

    def _same_once_filled(self, recorded: RecordedRequest, request: Asked) -> bool:
        # The placeholders all stand for known values: compare bytes again, no walk needed.
        content = recorded.body.content
        if b"<redacted:" not in content or (recorded.method, recorded.path, recorded.query) != (
            request.method,
            request.path,
            request.query,
        ):
            return False
        return _filled(content, self.redactor.values) == request.content

    def _failure(self, request: Asked) -> CassetteError:
        label = request.label
        unused = [i for i, n in enumerate(self.played) if n == 0]
        if self.ordered and self.position < len(self.recorded):
            shown, why = self.position, "the next in recorded order"
        elif not self.ordered and unused:
            ranked = []
            for index in unused:
                comparison = Comparison(self.redactor)
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
        comparison = Comparison(self.redactor)
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
            # A value redacted in a later exchange may show inside a string of an earlier one.
            save(self.path, [self.redactor.inside(exchange) for exchange in exchanges])
            self.saved = True

    def unplayed(self) -> list[int]:
        with self.lock:
            return [i for i, n in enumerate(self.played) if n == 0]


def _rank(comparison: Comparison) -> tuple[int, int]:
    structural = sum(1 for d in comparison.differences if d[0] in ("method", "path"))
    return (structural, len(comparison.differences))


__all__ = [
    "MODES",
    "Asked",
    "CassetteMismatch",
    "Comparison",
    "Mode",
    "Tape",
    "UnexpectedRequest",
    "summary_of",
]
