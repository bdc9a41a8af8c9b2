"""Redaction: what in a recorded exchange is secret, and the stable placeholders that replace it.

``Redaction`` says what counts as secret (JSON body keys and query parameters at any depth,
headers by name or by a word in the name); ``Redactor`` replaces each secret value by a
placeholder such as ``<redacted:email:1>`` (the same value always gets the same placeholder
within a cassette, so replayed requests still match) before anything is written.

Two passes: the first replaces the values of secret keys, query parameters and headers; the
second replaces, in every other string of the exchange (body values, text bodies, header and
query values, the path), the secret query parameters of URLs (``?session=...``), the values of
secret hidden inputs of an HTML form and of secret names quoted in a script or markup
(``"client_token": "..."``, as a payment action's ``formHtml`` holds them), and every value
already redacted in this cassette, as is or URL-encoded (an email inside a redirect URL).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import attrs

from orderflow.adapters.replay.cassette import (
    PLACEHOLDER,
    WHOLE_PLACEHOLDER,
    Body,
    Cassette,
    Exchange,
    Multi,
    values_of,
)

DEFAULT_FIELDS = frozenset(
    {
        "password",
        "email",
        "phoneNumber",
        "firstName",
        "lastName",
        "address1",
        "address2",
        "houseNumber",
        "zipCode",
        "city",
        "identityNumber",
        "ipAddress",
        "token",
        # Card data a provider's client-side form posts back (Adyen Drop-in's state data).
        "holderName",
        "cardNumber",
        "cvc",
        "cvv",
        "securityCode",
    }
)
"""JSON keys whose values are redacted, at any depth of a request or response body."""

SECRET_FIELD_WORDS = ("token", "secret", "encrypted")
"""A body key or query parameter whose name contains one of these is redacted too
(``authorization_token``, ``clientSecret``, Adyen's ``encryptedCardNumber``, ...)."""

DEFAULT_HEADERS = frozenset(
    {"api-authorization", "authorization", "api-token", "cookie", "set-cookie"}
)
"""Headers that are always redacted (any case)."""

SECRET_HEADER_WORDS = ("token", "auth", "key", "secret", "cookie", "session", "password")
"""A header whose name contains one of these is redacted too (``X-Session-Token``, ...)."""

SECRET_PARAMETER_WORDS = ("token", "auth", "key", "secret", "session", "password", "signature")
"""A query parameter of a URL inside a string (``"url": "https://psp/pay?session=..."``) whose
name contains one of these is redacted too."""

EMBEDDED_MIN_LENGTH = 4
"""Redacted values shorter than this are not looked for inside other strings."""


def _lower_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


@attrs.frozen
class Redaction:
    """What is redacted: JSON body keys and query parameters named in ``fields`` or containing
    ``SECRET_FIELD_WORDS`` (at any depth, any case), headers named in ``headers`` (any case) or
    containing ``SECRET_HEADER_WORDS``.

    Extend the defaults with ``Redaction(fields=DEFAULT_FIELDS | {"ssn"})`` or ``extended``.
    """

    fields: frozenset[str] = attrs.field(default=DEFAULT_FIELDS, converter=_lower_set)
    headers: frozenset[str] = attrs.field(default=DEFAULT_HEADERS, converter=_lower_set)

    def extended(self, fields: Iterable[str] = (), headers: Iterable[str] = ()) -> Redaction:
        """These rules plus more fields and headers."""
        return Redaction(self.fields | set(fields), self.headers | set(headers))

    def is_secret_field(self, name: str) -> bool:
        """Whether the values of the JSON body key ``name`` are redacted."""
        name = name.lower()
        return name in self.fields or any(word in name for word in SECRET_FIELD_WORDS)

    def is_secret_parameter(self, name: str) -> bool:
        """Whether the query parameter ``name`` (of the request, or of a URL in a string) is
        redacted."""
        return self.is_secret_field(name) or any(
            word in name.lower() for word in SECRET_PARAMETER_WORDS
        )

    def is_secret_header(self, name: str) -> bool:
        """Whether the header ``name`` is redacted."""
        name = name.lower()
        return name in self.headers or any(word in name for word in SECRET_HEADER_WORDS)


ValueKey = tuple[str, Any]


def value_key(value: Any) -> ValueKey | None:
    """How the redactor knows a value again; ``None`` for values never redacted (``null``,
    booleans, empty strings, placeholders, containers)."""
    if isinstance(value, str):
        if not value or WHOLE_PLACEHOLDER.match(value):
            return None
        return ("s", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("n", value)
    return None


def encodings(value: str) -> set[str]:
    """The forms a value takes inside another string: as is, and URL-encoded."""
    return {value, quote(value, safe=""), quote(value), quote_plus(value)}


_PARAMETER = re.compile(r"(?:(?<=[?&#])|^)([A-Za-z0-9_.\-\[\]%]+)=([^&#\s\"'<>]+)")
"""A ``name=value`` pair of a query string (or a form body, or a URL fragment)."""

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
"""An HTML form's input: a form action posts its hidden inputs to the provider."""
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
"""An HTML attribute and its value (double-quoted, single-quoted or bare)."""
_QUOTED_PAIR = re.compile(
    r"""(?<![\w$.-])(["']?)([A-Za-z_$][\w$-]*)\1\s*[:=]\s*(["'])((?:(?!\3)[^\\\n])*)\3"""
)
"""A name and its quoted value in a script or markup: ``"client_token": "..."``,
``sessionSecret: '...'``, ``data-token="..."``."""


def _outside_placeholders(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to each piece between the placeholders in it."""
    if "<redacted:" not in text:
        return change(text)
    out: list[str] = []
    position = 0
    for found in PLACEHOLDER.finditer(text):
        out.append(change(text[position : found.start()]))
        out.append(found.group(0))
        position = found.end()
    out.append(change(text[position:]))
    return "".join(out)


class Redactor:
    """Replaces secret values by placeholders, the same value by the same placeholder.

    One redactor serves one cassette: ``known`` maps each value seen to its placeholder.
    Thread-safe.
    """

    def __init__(self, redaction: Redaction | None = None):
        self.redaction = redaction or Redaction()
        self.known: dict[ValueKey, str] = {}
        self.values: dict[str, Any] = {}
        """Each placeholder of ``known`` to the value it stands for."""
        self._counts: dict[str, int] = {}
        self._embedded: dict[str, str] = {}
        """Each form of a redacted string to look for inside other strings, to its placeholder."""
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.RLock()

    def notice(self, cassette: Cassette) -> None:
        """Continue the numbering of a cassette's placeholders: new ones get new numbers."""
        with self._lock:
            for label, number in cassette.numbers.items():
                self._counts[label] = max(self._counts.get(label, 0), number)

    def placeholder(self, label: str, value: Any, *, embedded: bool = True) -> Any:
        """The placeholder of ``value`` (a new one the first time); unredactable values as is.

        ``embedded``: look for the value inside other strings too (not for values deep inside
        an object under a secret key, such as a field schema's ``"type": "string"``)."""
        key = value_key(value)
        if key is None:
            return value
        with self._lock:
            found = self.known.get(key)
            if found is None:
                number = self._counts.get(label, 0) + 1
                self._counts[label] = number
                found = self.known[key] = f"<redacted:{label}:{number}>"
                self.values[found] = value
            if embedded:
                self._embed(value, found)
            return found

    def _embed(self, value: Any, placeholder: str) -> None:
        if not isinstance(value, str) or len(value) < EMBEDDED_MIN_LENGTH:
            return
        for form in encodings(value):
            if self._embedded.setdefault(form, placeholder) == placeholder:
                self._pattern = None

    def bind(self, key: ValueKey, placeholder: str) -> None:
        """Remember that ``placeholder`` stands for the value ``key`` (learnt while replaying)."""
        with self._lock:
            if self.known.setdefault(key, placeholder) == placeholder:
                self.values.setdefault(placeholder, key[1])
                self._embed(key[1], placeholder)

    def json(self, value: Any, label: str | None = None, *, deep: bool = False) -> Any:
        """A copy of a JSON value with the secret fields' values replaced."""
        if isinstance(value, Mapping):
            secret = self.redaction.is_secret_field
            return {
                k: self.json(v, k, deep=False)
                if secret(k)
                else self.json(v, label, deep=label is not None)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json(v, label, deep=deep) for v in value]
        return value if label is None else self.placeholder(label, value, embedded=not deep)

    def query(self, query: Multi) -> Multi:
        """A copy of the query parameters with the secret ones' values replaced."""
        secret = self.redaction.is_secret_parameter
        return {
            name: (
                [self.placeholder(name, v) for v in values_of(value)]
                if isinstance(value, list)
                else self.placeholder(name, value)
            )
            if secret(name)
            else value
            for name, value in query.items()
        }

    def headers(self, headers: Multi) -> Multi:
        """A copy of the headers with the secret ones' values replaced."""
        return {
            name: (
                [self._header(name, v) for v in values_of(value)]
                if isinstance(value, list)
                else self._header(name, value)
            )
            if self.redaction.is_secret_header(name)
            else value
            for name, value in headers.items()
        }

    def _header(self, name: str, value: str) -> Any:
        placeholder = self.placeholder(name, value)
        scheme, _, credential = value.partition(" ")
        if scheme.isalpha() and credential and " " not in credential:
            # "Bearer <token>": the token alone may show elsewhere (an error naming it).
            self.placeholder(name, credential)
        return placeholder

    def body(self, body: Body) -> Body:
        """The body with its secret fields replaced (JSON bodies; others are kept)."""
        if body.kind != "json" or body.value is None:
            return body
        return Body.of_json(self.json(body.value))

    # --- the second pass: secrets inside other strings --------------------------------------

    def text(self, text: str, *, learn: bool = True) -> str:
        """``text`` with the secret query parameters of URLs in it and every value redacted so
        far (as is or URL-encoded) replaced by placeholders; placeholders already there are
        kept. ``learn=False`` redacts without remembering new values (to show a string)."""
        if len(text) < EMBEDDED_MIN_LENGTH or WHOLE_PLACEHOLDER.match(text):
            return text
        if "<input" in text or "<INPUT" in text:
            text = _outside_placeholders(
                text, lambda piece: _INPUT.sub(lambda m: self._input(m, learn), piece)
            )
        if "'" in text or '"' in text:
            text = _outside_placeholders(
                text, lambda piece: _QUOTED_PAIR.sub(lambda m: self._pair(m, learn), piece)
            )
        if "=" in text:
            text = _outside_placeholders(
                text, lambda piece: _PARAMETER.sub(lambda m: self._parameter(m, learn), piece)
            )
        pattern = self._embedded_pattern()
        if pattern is None:
            return text
        embedded = self._embedded
        return _outside_placeholders(
            text, lambda piece: pattern.sub(lambda m: embedded[m.group(0)], piece)
        )

    def _secret(self, name: str, value: str, learn: bool, label: str | None = None) -> str | None:
        """The placeholder for ``value`` when ``name`` is a secret parameter, else ``None``."""
        if not self.redaction.is_secret_parameter(name):
            return None
        key = value_key(value)
        if key is None:
            return None
        if learn:
            return str(self.placeholder((label or name).lower(), value))
        return self.known.get(key, "(hidden)")

    def _parameter(self, found: re.Match[str], learn: bool) -> str:
        name, raw = found.group(1), found.group(2)
        placeholder = self._secret(unquote_plus(name), unquote_plus(raw), learn, label=name)
        return found.group(0) if placeholder is None else f"{name}={placeholder}"

    def _input(self, found: re.Match[str], learn: bool) -> str:
        tag = found.group(0)
        attributes = {m.group(1).lower(): m for m in _ATTRIBUTE.finditer(tag)}
        name, value = attributes.get("name"), attributes.get("value")
        if name is None or value is None:
            return tag
        name_text = next(g for g in name.groups()[1:] if g is not None)
        group = next(i for i in (2, 3, 4) if value.group(i) is not None)
        placeholder = self._secret(
            html.unescape(name_text), html.unescape(value.group(group)), learn
        )
        if placeholder is None:
            return tag
        return tag[: value.start(group)] + placeholder + tag[value.end(group) :]

    def _pair(self, found: re.Match[str], learn: bool) -> str:
        placeholder = self._secret(found.group(2), found.group(4), learn)
        if placeholder is None:
            return found.group(0)
        start, end = found.span(4)
        offset = found.start(0)
        whole = found.group(0)
        return whole[: start - offset] + placeholder + whole[end - offset :]

    def _embedded_pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._embedded:
                forms = sorted(self._embedded, key=len, reverse=True)
                self._pattern = re.compile(
                    r"(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, forms)) + r")(?![0-9A-Za-z])"
                )
            return self._pattern

    def _inside(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._inside(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._inside(v) for v in value]
        return value

    def _inside_multi(self, multi: Multi) -> Multi:
        return {
            name: [self.text(v) for v in value] if isinstance(value, list) else self.text(value)
            for name, value in multi.items()
        }

    def _inside_body(self, body: Body) -> Body:
        if body.kind == "text":
            text = self.text(body.value)
            return body if text == body.value else Body("text", text, text.encode())
        if body.kind != "json" or body.value is None:
            return body
        value = self._inside(body.value)
        return body if value == body.value else Body.of_json(value)

    def inside(self, exchange: Exchange) -> Exchange:
        """The second pass alone: the exchange with the values redacted so far (and the secret
        parameters of URLs) replaced inside every string."""
        request, response = exchange.request, exchange.response
        request = attrs.evolve(
            request,
            path=self.text(request.path),
            query=self._inside_multi(request.query),
            headers=self._inside_multi(request.headers),
            body=self._inside_body(request.body),
        )
        response = attrs.evolve(
            response,
            headers=self._inside_multi(response.headers),
            body=self._inside_body(response.body),
        )
        return Exchange(request, response)

    def exchange(self, exchange: Exchange) -> Exchange:
        """The exchange with every secret replaced, request first; then the values redacted so
        far inside other strings (``inside``)."""
        request, response = exchange.request, exchange.response
        request = attrs.evolve(
            request,
            query=self.query(request.query),
            headers=self.headers(request.headers),
            body=self.body(request.body),
        )
        response = attrs.evolve(
            response, headers=self.headers(response.headers), body=self.body(response.body)
        )
        return self.inside(Exchange(request, response))


__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_HEADERS",
    "EMBEDDED_MIN_LENGTH",
    "SECRET_FIELD_WORDS",
    "SECRET_HEADER_WORDS",
    "SECRET_PARAMETER_WORDS",
    "Redaction",
    "Redactor",
    "ValueKey",
    "encodings",
    "value_key",
]
