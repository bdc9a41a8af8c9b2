"""Cassettes: the file format of recorded HTTP exchanges, read, written and shown.

One cassette is one readable JSON file (UTF-8, indented, keys in a stable order)::

    {"version": 1,
     "exchanges": [
       {"request": {"method": "POST", "path": "/api/shop/selections/s1/items/23-281",
                    "query": {}, "headers": {"api-authorization": "<redacted:api-authorization:1>"},
                    "body": {"quantity": 1}},
        "response": {"status": 200, "headers": {"content-type": "application/json"},
                     "body": {"selection": {...}}}}]}

A body is stored under ``"body"`` as a JSON value when it is JSON (``null`` when empty), else
under ``"bodyText"`` (UTF-8 text) or ``"bodyBase64"``. Query parameters and headers map a name
to a string, or to a list of strings when the name repeats; header names are lower case.

A secret value is stored as a placeholder, ``<redacted:LABEL:N>`` (``PLACEHOLDER``); which
values are secret is ``redaction``'s business. ``transport`` records and replays
cassettes; ``orderflow.adapters.cli.cassette`` shows and redacts them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from orderflow.errors import OrderflowError

FORMAT_VERSION = 1
"""The cassette format this module reads and writes."""

VOLATILE_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "date",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "accept-encoding",
        "connection",
        "keep-alive",
    }
)
"""Headers never recorded: they change between runs or describe the bytes on the wire, not the
stored body (which is decoded)."""

PLACEHOLDER = re.compile(r"<redacted:[^:<>]+:\d+>")
"""A placeholder standing for a redacted value: ``<redacted:email:1>``."""
WHOLE_PLACEHOLDER = re.compile(rf"^{PLACEHOLDER.pattern}$")
"""A string that is a placeholder and nothing else."""

MAX_DEPTH = 200
"""How deeply a cassette's bodies may nest; deeper ones are refused as damaged (replaying them
would overflow the stack)."""

Multi = dict[str, str | list[str]]
"""Query parameters or headers: a name to its value, or to its values when it repeats."""


class CassetteError(OrderflowError):
    """A cassette cannot be used: missing, damaged, of an unknown version, or not matching."""

    def __init__(self, path: str | os.PathLike[str], message: str):
        self.path = str(path)
        super().__init__(message)


class CassetteFormatError(CassetteError):
    """A cassette file is damaged or of an unknown version; names the file and the problem.

    ``index`` is the exchange concerned (``None`` for the whole file).
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, index: int | None = None):
        self.problem = problem
        self.index = index
        where = f", exchange {index}" if index is not None else ""
        super().__init__(path, f"cassette {path}{where}: {problem}")


# --- the model ------------------------------------------------------------------------------


@attrs.frozen
class Body:
    """A request or response body: ``kind`` says how it is stored, ``content`` its bytes."""

    kind: Literal["json", "text", "base64"]
    value: Any
    content: bytes = attrs.field(eq=False, repr=False)

    @classmethod
    def of_json(cls, value: Any) -> Body:
        """A JSON body (``None``: no body at all)."""
        content = b"" if value is None else _dumps(value)
        return cls("json", value, content)

    @classmethod
    def of_bytes(cls, content: bytes, content_type: str = "") -> Body:
        """A body as it came over the wire: JSON when it parses as JSON, else text or base64."""
        if not content:
            return cls("json", None, b"")
        if "json" in content_type or content.lstrip()[:1] in (b"{", b"["):
            try:
                value = json.loads(content)
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to keep as it
                pass
            else:
                if value is not None:
                    return cls("json", value, content)
        try:
            return cls("text", content.decode("utf-8"), content)
        except UnicodeDecodeError:
            return cls("base64", base64.b64encode(content).decode("ascii"), content)

    def to_wire(self) -> dict[str, Any]:
        """The body's keys in a cassette's request or response object."""
        if self.kind == "json":
            return {"body": self.value}
        return {"bodyText" if self.kind == "text" else "bodyBase64": self.value}


@attrs.frozen
class RecordedRequest:
    """A request as stored: path and query decoded, headers without the volatile ones."""

    method: str
    path: str
    query: Multi
    headers: Multi
    body: Body

    @property
    def label(self) -> str:
        """``"POST /api/shop/selections?a=1"``, how tables and errors name the request."""
        query = "&".join(f"{k}={v}" for k, vs in self.query.items() for v in values_of(vs))
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@attrs.frozen
class RecordedResponse:
    """A response as stored; ``content`` is what replay serves."""

    status: int
    headers: Multi
    body: Body

    def header_list(self) -> list[tuple[str, str]]:
        """The headers as pairs, repeats kept, for building a response."""
        return [(k, v) for k, vs in self.headers.items() for v in values_of(vs)]


@attrs.frozen
class Exchange:
    """One request and the response it got."""

    request: RecordedRequest
    response: RecordedResponse


@attrs.frozen
class Cassette:
    """A cassette's content: its exchanges, and the highest placeholder number per label
    (``{"email": 2}``) so that values redacted later get new numbers."""

    exchanges: tuple[Exchange, ...]
    numbers: Mapping[str, int] = attrs.field(factory=dict)


def placeholder_numbers(text: str) -> dict[str, int]:
    """The highest number of each placeholder label found in ``text``."""
    numbers: dict[str, int] = {}
    for found in PLACEHOLDER.findall(text):
        label, _, number = found[len("<redacted:") : -1].rpartition(":")
        numbers[label] = max(numbers.get(label, 0), int(number))
    return numbers


def values_of(value: str | list[str]) -> list[str]:
    """A ``Multi`` value as a list."""
    return value if isinstance(value, list) else [value]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def multi(pairs: Iterable[tuple[str, str]], *, skip: frozenset[str] = frozenset()) -> Multi:
    """Name-value pairs as a ``Multi``, repeated names collected in a list, in order."""
    found: Multi = {}
    for name, value in pairs:
        if name in skip:
            continue
        had = found.get(name)
        if had is None:
            found[name] = value
        elif isinstance(had, list):
            had.append(value)
        else:
            found[name] = [had, value]
    return found


# --- reading and writing --------------------------------------------------------------------

_cache: dict[str, tuple[tuple[int, int, int], Cassette]] = {}
_cache_lock = threading.Lock()


def load(path: str | os.PathLike[str]) -> Cassette:
    """The cassette at ``path``.

    A file read before and unchanged since (same size, modification time and inode) is not
    parsed again: a test suite loading one cassette per test pays for it once.
    Raises ``CassetteError`` when there is no such file, ``CassetteFormatError`` when it is
    damaged or of an unknown version.
    """
    name = os.fspath(path)
    try:
        stat = os.stat(name)
    except FileNotFoundError:
        raise CassetteError(name, f"no cassette at {name}") from None
    except OSError as error:
        raise CassetteError(name, f"cassette {name}: {error.strerror}") from None
    signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    cached = _cache.get(name)
    if cached is not None and cached[0] == signature:
        return cached[1]
    try:
        with open(name, "rb") as file:
            raw = file.read()
    except OSError as error:
        raise CassetteError(name, f"cassette {name}: {error.strerror}") from None
    cassette = parse(raw, name)
    with _cache_lock:
        _cache[name] = (signature, cassette)
    return cassette


def parse(raw: bytes, path: str | os.PathLike[str] = "<bytes>") -> Cassette:
    """A cassette from its bytes; ``CassetteFormatError`` names what is wrong."""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise CassetteFormatError(path, "not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise CassetteFormatError(
            path, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        index, line, column = _too_deep(text)
        raise CassetteFormatError(
            path, f"nested more than {MAX_DEPTH} levels deep at line {line} column {column}", index
        ) from None
    if not isinstance(data, dict):
        raise CassetteFormatError(path, f"expected a JSON object, found {_kind(data)}")
    if "version" not in data:
        raise CassetteFormatError(path, 'missing key "version" (is this a cassette?)')
    version = data["version"]
    if version != FORMAT_VERSION:
        raise CassetteFormatError(
            path,
            f"format version {json.dumps(version)} is not supported (this orderflow reads "
            f"version {FORMAT_VERSION}); re-record the cassette or upgrade centra-orderflow",
        )
    exchanges = data.get("exchanges")
    if not isinstance(exchanges, list):
        found = 'missing key "exchanges"' if exchanges is None else _kind(exchanges)
        raise CassetteFormatError(path, f'"exchanges" must be a list, found {found}')
    return Cassette(
        tuple(_exchange(path, index, item) for index, item in enumerate(exchanges)),
        placeholder_numbers(text),
    )


def _too_deep(text: str) -> tuple[int | None, int, int]:
    """Where a JSON text first nests deeper than ``MAX_DEPTH``: the exchange (the item of the
    list at the second level, ``None`` outside one), the line and the column."""
    depth = 0
    items = -1
    in_string = escaped = False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth == 3:
                items += 1
            if depth > MAX_DEPTH + 3:
                line = text.count("\n", 0, offset) + 1
                column = offset - (text.rfind("\n", 0, offset) + 1) + 1
                return (items if items >= 0 else None), line, column
        elif char in "]}":
            depth -= 1
    return None, 1, 1


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a JSON value nests more than ``limit`` containers deep (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _exchange(path: str | os.PathLike[str], index: int, item: Any) -> Exchange:
    def fail(where: str, problem: str) -> CassetteFormatError:
        return CassetteFormatError(path, f"{where}: {problem}", index)

    def field(
        obj: Mapping[str, Any], where: str, key: str, kind: type, missing: bool = False
    ) -> Any:
        if key not in obj:
            if missing:
                return None
            raise fail(where, f'missing key "{key}"')
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = {str: "a string", int: "an integer", dict: "an object"}[kind]
            raise fail(f"{where}.{key}", f"expected {expected}, found {_kind(value)} {value!r:.40}")
        if isinstance(value, str):
            unicode(value, f"{where}.{key}")
        return value

    def unicode(text: str, where: str) -> None:
        # A lone surrogate (JSON's \ud800) loads, but could never be sent, matched or saved.
        try:
            text.encode()
        except UnicodeEncodeError as error:
            raise fail(where, _not_unicode(error)) from None

    def parts(obj: Mapping[str, Any], where: str, key: str, latin1: bool = False) -> Multi:
        value = field(obj, where, key, dict, missing=True) or {}
        for name, got in value.items():
            if not isinstance(got, str) and not (
                isinstance(got, list) and all(isinstance(v, str) for v in got)
            ):
                raise fail(f"{where}.{key}.{name}", "expected a string or a list of strings")
            for text in (name, *values_of(got)):
                unicode(text, f"{where}.{key}.{name!a}")
            if latin1:  # sent as HTTP header bytes when replayed
                for text in (name, *values_of(got)):
                    try:
                        text.encode("latin-1")
                    except UnicodeEncodeError:
                        raise fail(
                            f"{where}.{key}.{name}",
                            f"{text!r:.40} is not a header text (latin-1 only)",
                        ) from None
        return dict(value)

    def body(obj: Mapping[str, Any], where: str) -> Body:
        if "bodyText" in obj:
            text = field(obj, where, "bodyText", str)
            try:
                content = text.encode()
            except UnicodeEncodeError as error:
                raise fail(f"{where}.bodyText", _not_unicode(error)) from None
            return Body.of_bytes(content, "text/plain")
        if "bodyBase64" in obj:
            text = field(obj, where, "bodyBase64", str)
            try:
                return Body("base64", text, base64.b64decode(text, validate=True))
            except ValueError:
                raise fail(f"{where}.bodyBase64", "not valid base64") from None
        value = obj.get("body")
        if isinstance(value, dict | list) and _depth_exceeds(value, MAX_DEPTH):
            raise fail(f"{where}.body", f"nested more than {MAX_DEPTH} levels deep")
        try:
            return Body.of_json(value)
        except UnicodeEncodeError as error:
            raise fail(f"{where}.body", _not_unicode(error)) from None

    if not isinstance(item, dict):
        raise fail("the exchange", f"expected an object, found {_kind(item)}")
    request = field(item, "the exchange", "request", dict)
    response = field(item, "the exchange", "response", dict)
    status = field(response, "response", "status", int)
    if not 100 <= status <= 599:
        raise fail("response.status", f"{status} is not an HTTP status")
    return Exchange(
        RecordedRequest(
            method=field(request, "request", "method", str).upper(),
            path=field(request, "request", "path", str),
            query=parts(request, "request", "query"),
            headers=parts(request, "request", "headers"),
            body=body(request, "request"),
        ),
        RecordedResponse(
            status, parts(response, "response", "headers", latin1=True), body(response, "response")
        ),
    )


def _not_unicode(error: UnicodeEncodeError) -> str:
    found = error.object[error.start : error.end]
    return f"holds {found!a} at position {error.start}, not valid Unicode (a lone surrogate?)"


def to_json(exchanges: Sequence[Exchange]) -> bytes:
    """A cassette's bytes: indented UTF-8 JSON, a trailing newline."""
    data = {
        "version": FORMAT_VERSION,
        "exchanges": [
            {
                "request": {
                    "method": e.request.method,
                    "path": e.request.path,
                    "query": e.request.query,
                    "headers": dict(sorted(e.request.headers.items())),
                    **e.request.body.to_wire(),
                },
                "response": {
                    "status": e.response.status,
                    "headers": dict(sorted(e.response.headers.items())),
                    **e.response.body.to_wire(),
                },
            }
            for e in exchanges
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode() + b"\n"


def save(path: str | os.PathLike[str], exchanges: Sequence[Exchange]) -> None:
    """Write a cassette atomically: a temporary file in the same folder, then a rename.

    Raises ``CassetteError`` when the folder does not exist or cannot be written.
    """
    target = Path(path)
    content = to_json(exchanges)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        raise CassetteError(target, f"cannot write cassette {target}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        # mkstemp makes the file private; a cassette is meant to be shared (and committed).
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CassetteError(
                target, f"cannot write cassette {target}: {error.strerror or error}"
            ) from None
        raise
    with _cache_lock:
        _cache.pop(os.fspath(path), None)


__all__ = [
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "PLACEHOLDER",
    "VOLATILE_HEADERS",
    "WHOLE_PLACEHOLDER",
    "Body",
    "Cassette",
    "CassetteError",
    "CassetteFormatError",
    "Exchange",
    "Multi",
    "RecordedRequest",
    "RecordedResponse",
    "load",
    "multi",
    "parse",
    "placeholder_numbers",
    "save",
    "to_json",
    "values_of",
]
