"""Redaction: what in a recorded exchange is secret, and the stable placeholders that replace it.

``Redaction`` says what counts as secret (JSON body keys and query parameters at any depth,
headers by name or by a word in the name); ``Redactor`` replaces each secret value by a
placeholder such as ``<redacted:email:1>`` (the same value always gets the same placeholder
within a cassette, so replayed requests still match) before anything is written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from orderflow.adapters.replay.cassette import (
    WHOLE_PLACEHOLDER,
    Body,
    Cassette,
    Exchange,
    Multi,
    values_of,
)

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
        if not value or WHOLE_PLACEHOLDER.match(value):
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
        self.values: dict[str, Any] = {}
        """Each placeholder of ``known`` to the value it stands for."""
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
                self.values[found] = value
            return found

    def bind(self, key: ValueKey, placeholder: str) -> None:
        """Remember that ``placeholder`` stands for the value ``key`` (learnt while replaying)."""
        with self._lock:
            if self.known.setdefault(key, placeholder) == placeholder:
                self.values.setdefault(placeholder, key[1])

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
                [self.placeholder(name, v) for v in values_of(value)]
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


__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_HEADERS",
    "SECRET_HEADER_WORDS",
    "Redaction",
    "Redactor",
    "ValueKey",
    "value_key",
]
