"""Bounds on what callers may hand the service, so everything accepted can be stored and sent.

A value the service accepts is written to a store and read back by other processes, and sent
to Centra in a URL or a JSON body. So text must be encodable as UTF-8 (no lone surrogates) and
of bounded length, integers must fit in 64 bits (JSON readers beyond that turn them into
floats), and JSON values (the payment provider's fields, free-form request fields) must be
finite, shallow and small. Each check returns the ``Refusal`` naming the field, or ``None``.
"""

from __future__ import annotations

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
    if type(value) is str and len(value) <= longest and value.isascii() and "\x00" not in value:
        return None  # the common case at once: every check below passes
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


def texts_fit(values: tuple[Any, ...]) -> bool:
    """Whether ``text`` accepts every one of ``values`` (with its defaults), tested at once.

    ``False`` may also mean only that the quick test cannot tell (their lengths add up beyond
    ``MAX_TEXT``): test each with ``text`` then, which names the field.
    """
    if not _TEXT_TYPES.issuperset(map(type, values)):
        return False
    joined = "\n".join(filter(None, values))  # a lone surrogate stays one across the join
    if len(joined) > MAX_TEXT or "\x00" in joined:
        return False
    if not joined.isascii():
        try:  # Latin-1 holds no surrogate, and encoding to it is a copy (UTF-8 is ~10x that)
            joined.encode("latin-1")
        except UnicodeEncodeError:
            return _encodable(joined)
    return True


_TEXT_TYPES = frozenset({str, type(None)})


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
    if json_fits(value):
        return None
    budget = [MAX_JSON]
    for path, problem in _walk(value, field, 0, budget):
        return Refusal("json_invalid", path, problem)
    return None


def json_fits(value: Any, spent: int = 0) -> bool:
    """Whether ``json_value`` accepts ``value`` (a quick test that names nothing), with
    ``spent`` of its ``MAX_JSON`` characters already used."""
    return 0 <= _size(value, 0) <= MAX_JSON - spent


def _size(value: Any, depth: int) -> int:
    # The characters of the strings and keys in ``value``, or -1 where ``_walk`` might find a
    # problem (it then names it): a plain recursion on exact types, with a container's strings,
    # constants and empty containers tested in place. The generator walk, with a path per
    # value, costs ~5 µs on the seed's details; this ~1 µs (timeit).
    if depth > MAX_DEPTH:
        return -1
    kind = type(value)
    if kind is dict:
        if value and depth == MAX_DEPTH:
            return -1
        total = 0
        for key in value:
            if type(key) is not str or not (key.isascii() or _encodable(key)):
                return -1
            total += len(key)
        items: Any = value.values()
    elif kind is list or kind is tuple:
        if value and depth == MAX_DEPTH:
            return -1
        total = 0
        items = value
    elif kind is str:
        return len(value) if value.isascii() or _encodable(value) else -1
    elif value is None or kind is bool:
        return 0
    elif kind is int:
        return 0 if -MAX_INT <= value <= MAX_INT else -1
    elif kind is float:
        return 0 if value - value == 0.0 else -1  # inf - inf and nan - nan are nan
    else:
        return -1
    for item in items:
        if item is None or item is True or item is False or item is _NO_ITEMS:
            continue
        kind = type(item)
        if kind is str:
            if not (item.isascii() or _encodable(item)):
                return -1
            total += len(item)
        elif kind in _CONTAINERS and not item:
            continue
        elif (size := _size(item, depth + 1)) < 0:
            return -1
        else:
            total += size
    return total


_CONTAINERS = frozenset({dict, list, tuple})
_NO_ITEMS = ()  # the one empty tuple: found by identity, the commonest free-form part


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
        import math  # here, not at import: only walked when the quick size check refused

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
