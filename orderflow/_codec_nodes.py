"""The codec's value nodes: how one type is structured (fast and checked) and unstructured.

A node is built once per type by the registry in ``orderflow.codec``; the wire conventions
it follows are described there. Nodes of types that contain other types (the action union,
``SuccessAction``) are given the registry's ``resolve`` instead of importing it, so this module
depends on no other part of the codec.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union

from orderflow.errors import FieldProblem, describe
from orderflow.money import Money
from orderflow.payment import ACTION_TYPES, SuccessAction

_Fast = Callable[[Any, str, dict[Any, Any]], Any]
"""A fast path: (value, the enclosing currency, the memo of this decode's shared values)."""
_Check = Callable[[Any, str, str, list[FieldProblem]], Any]
_Dump = Callable[[Any], Any]

_NoneType = type(None)
_BAD: Any = object()  # the slow path's "no value here": a problem has been reported
_MISSING: Any = object()
_ACTION_CLASSES = frozenset(ACTION_TYPES.values())
_KNOWN_ACTIONS = ", ".join(sorted(ACTION_TYPES))


class _Invalid(Exception):
    """The fast path met something it does not accept; the slow path says what and where."""


# --- values -----------------------------------------------------------------------------------


def _dfloat(value: float) -> Decimal:
    number = Decimal(repr(value))
    if not number.is_finite():
        raise _Invalid
    return number


def _num(value: Decimal) -> int | float:
    try:
        whole = int(value)
    except (ValueError, OverflowError):
        return float(value)
    return whole if whole == value else float(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _at(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if _IDENTIFIER.match(text):
        return f"{path}.{text}"
    import json  # here, not at import: only the slow path names such a key

    return f"{path}[{json.dumps(text, ensure_ascii=False)}]"


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return f"the string {describe(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return describe(value)


def _expected(path: str, expect: str, value: Any, problems: list[FieldProblem]) -> Any:
    problems.append(FieldProblem(path, f"expected {expect}, got {_got(value)}"))
    return _BAD


def _split_optional(tp: Any) -> tuple[Any, bool]:
    if tp is Any:
        return Any, True
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not _NoneType)
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return tp, False


# --- nodes: how one type is structured (fast and checked) and unstructured ------------------


class _Node:
    """Everything the codec knows about one type; ``inline`` names a template for class plans."""

    __slots__ = ("check", "dump", "fast", "inline", "item")

    def __init__(
        self, fast: _Fast, check: _Check, dump: _Dump, inline: str = "", item: _Node | None = None
    ) -> None:
        self.fast = fast
        self.check = check
        self.dump = dump
        self.inline = inline
        self.item = item  # the element node of a tuple[X, ...] (or of a list-or-map's list)


def _identity(value: Any) -> Any:
    return value


def _scalar(inline: str, expect: str, convert: Callable[[Any], Any], dump: _Dump) -> _Node:
    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        return convert(value)

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        try:
            return convert(value)
        except _Invalid:
            return _expected(path, expect, value, problems)

    return _Node(fast, check, dump, inline)


def _typed(*kinds: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if type(value) not in kinds:
            raise _Invalid
        return value

    return convert


def _to_int(value: Any) -> int:
    # Within 64 bits: beyond that, JSON readers (orjson among them) give floats back.
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise _Invalid
    return value


def _to_decimal(value: Any) -> Decimal:
    kind = type(value)
    if kind is int:
        return Decimal(value)
    if kind is float:
        return _dfloat(value)
    raise _Invalid


def _to_digits(value: Any) -> int:
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is int:
        return value
    raise _Invalid


def _to_datetime(value: Any) -> datetime:
    if type(value) is not str:
        raise _Invalid
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid from None
    if moment.tzinfo is None:
        raise _Invalid
    return moment


def _to_any(value: Any) -> Any:
    return value


_SCALARS: dict[Any, _Node] = {
    str: _scalar("str", "a string", _typed(str), _identity),
    int: _scalar("int", "a whole number within 64 bits", _to_int, _identity),
    bool: _scalar("bool", "true or false", _typed(bool), _identity),
    Decimal: _scalar("decimal", "a number", _to_decimal, _num),
    datetime: _scalar(
        "", "an ISO 8601 date-time with a UTC offset", _to_datetime, datetime.isoformat
    ),
    Any: _scalar("any", "anything", _to_any, _identity),
    Union[str, bool]: _scalar("strbool", "a string or a boolean", _typed(str, bool), _identity),  # noqa: UP007
}
_DIGITS = _scalar("digits", "a string of digits", _to_digits, str)


def _enum_node(cls: type[Enum]) -> _Node:
    by_value = {member.value: member for member in cls}
    expect = "one of " + ", ".join(repr(v) for v in by_value)

    def convert(value: Any) -> Any:
        try:
            return by_value[value]
        except (KeyError, TypeError):
            raise _Invalid from None

    return _scalar("", expect, convert, lambda member: member.value)


def _optional_node(inner: _Node) -> _Node:
    inner_fast, inner_check, inner_dump = inner.fast, inner.check, inner.dump

    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        return None if value is None else inner_fast(value, cur, memo)

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        return None if value is None else inner_check(value, cur, path, problems)

    def dump(value: Any) -> Any:
        return None if value is None else inner_dump(value)

    return _Node(fast, check, dump)


def _sequence_node(inner: _Node, build: Callable[[list[Any]], Any]) -> _Node:
    inner_fast, inner_check, inner_dump = inner.fast, inner.check, inner.dump

    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        if type(value) is not list and type(value) is not tuple:
            raise _Invalid
        return build([inner_fast(item, cur, memo) for item in value])

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not list and type(value) is not tuple:
            return _expected(path, "a list", value, problems)
        items = [inner_check(item, cur, _at(path, i), problems) for i, item in enumerate(value)]
        return _BAD if any(item is _BAD for item in items) else build(items)

    inline, item = ("tuple", inner) if build is tuple else ("", None)
    if inner_dump is _identity:
        return _Node(fast, check, list, inline, item)
    return _Node(fast, check, lambda value: [inner_dump(x) for x in value], inline, item)


def _mapping_node(inner: _Node) -> _Node:
    inner_fast, inner_check, inner_dump = inner.fast, inner.check, inner.dump

    if inner.inline == "any":

        def fast_any(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
            if type(value) is not dict:
                raise _Invalid
            return value

        def check_any(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
            return value if type(value) is dict else _expected(path, "an object", value, problems)

        return _Node(fast_any, check_any, _identity, "dict")

    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        if type(value) is not dict:
            raise _Invalid
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Invalid
            result[key] = inner_fast(item, cur, memo)
        return result

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not dict:
            return _expected(path, "an object", value, problems)
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                _expected(path, "an object with string keys", value, problems)
                return _BAD
            result[key] = inner_check(item, cur, _at(path, key), problems)
        return _BAD if any(item is _BAD for item in result.values()) else result

    return _Node(fast, check, lambda value: {k: inner_dump(v) for k, v in value.items()})


def _list_or_map_node(listed: _Node, keyed: _Node) -> _Node:
    """Centra's ``a list or an object keyed by id`` (vouchers, automatic discounts): whichever
    came is kept, so it goes out again the same way."""

    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        return (
            keyed.fast(value, cur, memo) if type(value) is dict else listed.fast(value, cur, memo)
        )

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is dict:
            return keyed.check(value, cur, path, problems)
        if type(value) is list or type(value) is tuple:
            return listed.check(value, cur, path, problems)
        return _expected(path, "a list or an object", value, problems)

    def dump(value: Any) -> Any:
        return keyed.dump(value) if type(value) is dict else listed.dump(value)

    if listed.inline == "tuple":  # a class plan inlines the list (usually there, often empty)
        return _Node(fast, check, dump, "listmap", listed.item)
    return _Node(fast, check, dump)


def _money_node() -> _Node:
    # Money on its own (not as a field of a wire class): {"amount", "currency", "display"}.
    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        if type(value) is not dict:
            raise _Invalid
        display = value.get("display")
        if display is not None and type(display) is not str:
            raise _Invalid
        return Money(_to_decimal(value["amount"]), _typed(str)(value["currency"]), display)

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not dict:
            return _expected(path, "an object", value, problems)
        parts = []
        for key, node in (("amount", _SCALARS[Decimal]), ("currency", _SCALARS[str])):
            if key not in value:
                problems.append(FieldProblem(_at(path, key), "missing required field"))
                parts.append(_BAD)
            else:
                parts.append(node.check(value[key], cur, _at(path, key), problems))
        display = value.get("display")
        if display is not None and type(display) is not str:
            parts.append(_expected(_at(path, "display"), "a string", display, problems))
        if _BAD in parts:
            return _BAD
        return Money(parts[0], parts[1], display)

    def dump(money: Money) -> Any:
        out: dict[str, Any] = {"amount": _num(money.amount), "currency": money.currency}
        if money.display is not None:
            out["display"] = money.display
        return out

    return _Node(fast, check, dump)


def _action_node(resolve: Callable[[Any], _Node]) -> _Node:
    # The PaymentAction union, dispatched on the wire's "action".
    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        if type(value) is not dict:
            raise _Invalid
        return resolve(ACTION_TYPES[value["action"]]).fast(value, cur, memo)

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not dict:
            return _expected(path, "an object", value, problems)
        where = _at(path, "action")
        if "action" not in value:
            problems.append(
                FieldProblem(where, f"missing required field (one of {_KNOWN_ACTIONS})")
            )
            return _BAD
        tag = value["action"]
        if type(tag) is not str or tag not in ACTION_TYPES:
            problems.append(
                FieldProblem(where, f"unknown action {_got(tag)}; known: {_KNOWN_ACTIONS}")
            )
            return _BAD
        return resolve(ACTION_TYPES[tag]).check(value, cur, path, problems)

    def dump(action: Any) -> Any:
        return resolve(type(action)).dump(action)

    return _Node(fast, check, dump)


def _success_node(resolve: Callable[[Any], _Node]) -> _Node:
    # SuccessAction on the wire: the receipt's fields next to "action": "success".
    receipt = resolve(typing.get_type_hints(SuccessAction)["receipt"])

    def without_action(value: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in value.items() if k != "action"} if "action" in value else value

    def fast(value: Any, cur: str, memo: dict[Any, Any]) -> Any:
        if type(value) is not dict:
            raise _Invalid
        return SuccessAction(receipt.fast(without_action(value), cur, memo))

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not dict:
            return _expected(path, "an object", value, problems)
        inner = receipt.check(without_action(value), cur, path, problems)
        return _BAD if inner is _BAD else SuccessAction(inner)

    def dump(action: SuccessAction) -> Any:
        return {"action": SuccessAction.kind, **receipt.dump(action.receipt)}

    return _Node(fast, check, dump)
