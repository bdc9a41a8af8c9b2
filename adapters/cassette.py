"""Cassettes: the file format of recorded HTTP exchanges, and the redaction applied to them.

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

``Redactor`` replaces secrets and personal data by stable placeholders (``<redacted:email:1>``:
the same value always gets the same placeholder within a cassette) before anything is written;
``Redaction`` says what counts as secret. ``adapters.replay`` records and replays cassettes;
``cassette_show`` and ``cassette_redact`` are the ``orderflow cassette`` commands.
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
from typing import Any, Literal, TextIO

import attrs

from orderflow.errors import OrderflowError

FORMAT_VERSION = 1
"""The cassette format this module reads and writes."""

DEFAULT_FIELDS = frozenset(
    {"password", "email", "phoneNumber", "firstName", "lastName", "address1", "address2", "token"}
)
"""JSON keys whose values are redacted, at any depth of a request or response body."""

DEFAULT_HEADERS = frozenset(
    {"api-authorization", "authorization", "api-token", "cookie", "set-cookie"}
)
"""Headers that are always redacted (any case)."""

SECRET_HEADER_WORDS = ("token", "auth", "key", "secret", "cookie", "session", "password")
"""A header whose name contains one of these is redacted too (``X-Session-Token``, ...)."""

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
_WHOLE_PLACEHOLDER = re.compile(rf"^{PLACEHOLDER.pattern}$")

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
            except ValueError:
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
        query = "&".join(f"{k}={v}" for k, vs in self.query.items() for v in _values(vs))
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@attrs.frozen
class RecordedResponse:
    """A response as stored; ``content`` is what replay serves."""

    status: int
    headers: Multi
    body: Body

    def header_list(self) -> list[tuple[str, str]]:
        """The headers as pairs, repeats kept, for building a response."""
        return [(k, v) for k, vs in self.headers.items() for v in _values(vs)]


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

    @classmethod
    def of(cls, exchanges: Sequence[Exchange]) -> Cassette:
        """A cassette of these exchanges, their placeholders counted."""
        return cls(tuple(exchanges), placeholder_numbers(to_json(exchanges).decode()))


def placeholder_numbers(text: str) -> dict[str, int]:
    """The highest number of each placeholder label found in ``text``."""
    numbers: dict[str, int] = {}
    for found in PLACEHOLDER.findall(text):
        label, _, number = found[len("<redacted:") : -1].rpartition(":")
        numbers[label] = max(numbers.get(label, 0), int(number))
    return numbers


def _values(value: str | list[str]) -> list[str]:
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


# --- redaction ------------------------------------------------------------------------------


def _lower_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


@attrs.frozen
class Redaction:
    """What is redacted: JSON body keys and query parameters named in ``fields`` (at any depth,
    any case), headers named in ``headers`` (any case) or containing ``SECRET_HEADER_WORDS``.

    Extend the defaults with ``Redaction(fields=DEFAULT_FIELDS | {"ssn"})`` or ``extended``.
    """

    fields: frozenset[str] = attrs.field(default=DEFAULT_FIELDS, converter=_lower_set)
    headers: frozenset[str] = attrs.field(default=DEFAULT_HEADERS, converter=_lower_set)

    def extended(self, fields: Iterable[str] = (), headers: Iterable[str] = ()) -> Redaction:
        """These rules plus more fields and headers."""
        return Redaction(self.fields | set(fields), self.headers | set(headers))

    def is_secret_header(self, name: str) -> bool:
        """Whether the header ``name`` is redacted."""
        name = name.lower()
        return name in self.headers or any(word in name for word in SECRET_HEADER_WORDS)


ValueKey = tuple[str, Any]


def value_key(value: Any) -> ValueKey | None:
    """How the redactor knows a value again; ``None`` for values never redacted (``null``,
    booleans, empty strings, placeholders, containers)."""
    if isinstance(value, str):
        if not value or _WHOLE_PLACEHOLDER.match(value):
            return None
        return ("s", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("n", value)
    return None


class Redactor:
    """Replaces secret values by placeholders, the same value by the same placeholder.

    One redactor serves one cassette: ``known`` maps each value seen to its placeholder.
    Thread-safe.
    """

    def __init__(self, redaction: Redaction | None = None):
        self.redaction = redaction or Redaction()
        self.known: dict[ValueKey, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def notice(self, cassette: Cassette) -> None:
        """Continue the numbering of a cassette's placeholders: new ones get new numbers."""
        with self._lock:
            for label, number in cassette.numbers.items():
                self._counts[label] = max(self._counts.get(label, 0), number)

    def placeholder(self, label: str, value: Any) -> Any:
        """The placeholder of ``value`` (a new one the first time); unredactable values as is."""
        key = value_key(value)
        if key is None:
            return value
        with self._lock:
            found = self.known.get(key)
            if found is None:
                number = self._counts.get(label, 0) + 1
                self._counts[label] = number
                found = self.known[key] = f"<redacted:{label}:{number}>"
            return found

    def bind(self, key: ValueKey, placeholder: str) -> None:
        """Remember that ``placeholder`` stands for the value ``key`` (learnt while replaying)."""
        with self._lock:
            self.known.setdefault(key, placeholder)

    def json(self, value: Any, label: str | None = None) -> Any:
        """A copy of a JSON value with the secret fields' values replaced."""
        if isinstance(value, Mapping):
            fields = self.redaction.fields
            return {k: self.json(v, k if k.lower() in fields else label) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v, label) for v in value]
        return value if label is None else self.placeholder(label, value)

    def headers(self, headers: Multi) -> Multi:
        """A copy of the headers with the secret ones' values replaced."""
        return {
            name: (
                [self.placeholder(name, v) for v in _values(value)]
                if isinstance(value, list)
                else self.placeholder(name, value)
            )
            if self.redaction.is_secret_header(name)
            else value
            for name, value in headers.items()
        }

    def body(self, body: Body) -> Body:
        """The body with its secret fields replaced (JSON bodies; others are kept)."""
        if body.kind != "json" or body.value is None:
            return body
        return Body.of_json(self.json(body.value))

    def exchange(self, exchange: Exchange) -> Exchange:
        """The exchange with every secret replaced, request first."""
        request, response = exchange.request, exchange.response
        request = attrs.evolve(
            request,
            query=self.json(request.query),
            headers=self.headers(request.headers),
            body=self.body(request.body),
        )
        response = attrs.evolve(
            response, headers=self.headers(response.headers), body=self.body(response.body)
        )
        return Exchange(request, response)


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
        return value

    def parts(obj: Mapping[str, Any], where: str, key: str) -> Multi:
        value = field(obj, where, key, dict, missing=True) or {}
        for name, got in value.items():
            if not isinstance(got, str) and not (
                isinstance(got, list) and all(isinstance(v, str) for v in got)
            ):
                raise fail(f"{where}.{key}.{name}", "expected a string or a list of strings")
        return dict(value)

    def body(obj: Mapping[str, Any], where: str) -> Body:
        if "bodyText" in obj:
            return Body.of_bytes(field(obj, where, "bodyText", str).encode(), "text/plain")
        if "bodyBase64" in obj:
            text = field(obj, where, "bodyBase64", str)
            try:
                return Body("base64", text, base64.b64decode(text, validate=True))
            except ValueError:
                raise fail(f"{where}.bodyBase64", "not valid base64") from None
        return Body.of_json(obj.get("body"))

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
            status, parts(response, "response", "headers"), body(response, "response")
        ),
    )


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
        # mkstemp makes the file private; a cassette is meant to be shared (and committed).
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    with _cache_lock:
        _cache.pop(os.fspath(path), None)


# --- the ``orderflow cassette`` commands ----------------------------------------------------


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _middle(text: str, width: int) -> str:
    # Paths differ at both ends (the base, the endpoint): keep both, drop the long id between.
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def summary(body: Body, width: int = 60) -> str:
    """A one-line description of a body for tables: errors, action, order, or its keys."""
    value = body.value
    if body.kind != "json":
        return _short(f"{body.kind}, {len(body.content)} bytes", width)
    if value is None:
        return "-"
    if isinstance(value, dict):
        errors = value.get("errors")
        if isinstance(errors, dict) and errors:
            return _short("errors: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), width)
        if "action" in value:
            return _short(f"action {value['action']}", width)
        if "order" in value and "selection" not in value:
            return _short(f"order {value['order']} ({value.get('status', '?')})", width)
        if isinstance(value.get("selection"), dict):
            sel = value["selection"]
            items = sel.get("items")
            count = len(items) if isinstance(items, list) else 0
            total = (sel.get("totals") or {}).get("grandTotalPrice", "")
            text = f"selection, {count} line{'s' * (count != 1)}"
            return _short(f"{text}, total {total}".replace("\u00a0", " ") if total else text, width)
        return _short(json.dumps(value, ensure_ascii=False, separators=(",", ":")), width)
    return _short(json.dumps(value, ensure_ascii=False), width)


def cassette_show(path: str | os.PathLike[str], out: TextIO) -> int:
    """``orderflow cassette show FILE``: print the exchanges as a table; returns 0.

    Raises ``CassetteError`` (missing, damaged or unknown version).
    """
    exchanges = load(path).exchanges
    rows = [("#", "method", "path", "status", "request", "response")]
    for index, e in enumerate(exchanges):
        request_path = e.request.label.partition(" ")[2]
        rows.append(
            (
                str(index),
                e.request.method,
                _middle(request_path, 60),
                str(e.response.status),
                summary(e.request.body, 30),
                summary(e.response.body, 50),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"{path}: format version {FORMAT_VERSION}, {len(exchanges)} exchanges", file=out)
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
    return 0


def cassette_redact(
    path: str | os.PathLike[str], out: TextIO, redaction: Redaction | None = None
) -> int:
    """``orderflow cassette redact FILE``: rewrite a cassette with its secrets redacted; 0.

    Placeholders already in the file are kept, new ones numbered after them. Raises
    ``CassetteError`` (missing, damaged, unknown version, or not writable).
    """
    cassette = load(path)
    redactor = Redactor(redaction)
    redactor.notice(cassette)
    redacted = [redactor.exchange(e) for e in cassette.exchanges]
    save(path, redacted)
    count = len(redactor.known)
    print(
        f"{path}: {len(redacted)} exchanges, {count} distinct value{'s' * (count != 1)} redacted",
        file=out,
    )
    return 0


__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_HEADERS",
    "FORMAT_VERSION",
    "PLACEHOLDER",
    "SECRET_HEADER_WORDS",
    "VOLATILE_HEADERS",
    "Body",
    "Cassette",
    "CassetteError",
    "CassetteFormatError",
    "Exchange",
    "Multi",
    "RecordedRequest",
    "RecordedResponse",
    "Redaction",
    "Redactor",
    "ValueKey",
    "cassette_redact",
    "cassette_show",
    "load",
    "multi",
    "parse",
    "placeholder_numbers",
    "save",
    "summary",
    "to_json",
    "value_key",
]
