"""Bounds on what callers may hand the service, so everything accepted can be stored and sent.

A value the service accepts is written to a store and read back by other processes, and sent
to Centra in a URL or a JSON body. So text must be encodable as UTF-8 (no lone surrogates) and
of bounded length, integers must fit in 64 bits (JSON readers beyond that turn them into
floats), and JSON values (the payment provider's fields, free-form request fields) must be
finite, shallow and small. Each check returns the ``Refusal`` naming the field, or ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from orderflow.errors import Refusal, describe

MAX_INT = 2**63 - 1
"""The largest integer accepted anywhere (a signed 64-bit integer)."""
MAX_ID = 200
"""The longest id accepted: checkout ids, item and line ids, voucher codes, idempotency keys."""
MAX_TEXT = 2_000
"""The longest free text accepted in the shopper's details (an address line, a URL)."""
MAX_DEPTH = 32
"""The deepest nesting of a JSON value accepted (objects and lists)."""
MAX_JSON = 64 * 1024
"""The most characters of strings and keys a JSON value may hold in all."""


def text(
    value: Any, field: str, *, longest: int = MAX_TEXT, required: bool = False
) -> Refusal | None:
    """A refusal unless ``value`` is a string (or ``None`` when not required) within bounds."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        return Refusal("not_text", field, f"expected a string, got {describe(value)}")
    if len(value) > longest:
        return Refusal("too_long", field, f"at most {longest} characters, got {len(value)}")
    if not _encodable(value):
        return Refusal("not_encodable", field, "holds a character that is not valid Unicode")
    if "\x00" in value:
        return Refusal("not_encodable", field, "holds a NUL character")
    return None


def whole(value: Any, field: str, *, least: int) -> Refusal | None:
    """A refusal unless ``value`` is an ``int`` (not a bool) from ``least`` to ``MAX_INT``."""
    if type(value) is not int or not least <= value <= MAX_INT:
        return Refusal(
            "quantity_invalid",
            field,
            f"must be a whole number from {least} to 2**63-1: {describe(value)}",
        )
    return None


def json_value(value: Any, field: str) -> Refusal | None:
    """A refusal unless ``value`` is JSON that every store and Centra can take back unchanged.

    Objects with string keys, lists, strings, booleans, ``None``, integers within 64 bits and
    finite floats; nested at most ``MAX_DEPTH`` deep, with at most ``MAX_JSON`` characters.
    """
    budget = [MAX_JSON]
    for path, problem in _walk(value, field, 0, budget):
        return Refusal("json_invalid", path, problem)
    return None


def _walk(value: Any, path: str, depth: int, budget: list[int]) -> Iterator[tuple[str, str]]:
    if depth > MAX_DEPTH:
        yield path, f"nested deeper than {MAX_DEPTH} levels"
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            yield path, "an integer beyond 64 bits"
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path, f"not a finite number: {value!r}"
        return
    if isinstance(value, str):
        budget[0] -= len(value)
        if budget[0] < 0:
            yield path, f"more than {MAX_JSON} characters in all"
        elif not _encodable(value):
            yield path, "holds a character that is not valid Unicode"
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                yield path, f"an object key is not a string: {describe(key)}"
                return
            yield from _walk(key, f"{path}.{key[:40]}", depth + 1, budget)
            yield from _walk(item, f"{path}.{key[:40]}", depth + 1, budget)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", depth + 1, budget)
        return
    yield path, f"not a JSON value: {describe(value)}"


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
