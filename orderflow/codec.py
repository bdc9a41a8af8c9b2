"""The one cattrs converter of the core: Centra's camelCase JSON <-> orderflow's attrs types.

Every attrs class gets a structure plan built once, the first time the converter sees it: a
generated function (the fast path) that accepts only a payload that fits and stops at the first
thing that does not, and an interpreted checker (the slow path) that walks the same plan, lists
every bad field by its camelCase JSON path and raises one ``PayloadError``. The slow path runs
only after the fast path gave up.

Wire conventions (see ``centra-api.md``, "Money"):

- ``zip_code`` is ``zipCode`` on the wire; ``extra`` is not a wire field: it keeps every key the
  class does not know, emitted again after the known fields.
- A ``Money`` attribute ``x`` is two wire keys, ``x`` (the display string, kept as it came) and
  ``xAsNumber`` (the amount); its currency is the ``currency`` of the nearest enclosing object
  that has one (empty when there is none, e.g. an ``Item`` structured on its own).
- Amounts and other decimals are emitted as an ``int`` when integral, else a ``float``;
  ``CurrencyFormat.decimal_digits`` is a string of digits on the wire.
- A ``PaymentAction`` is tagged by ``"action"``; a ``SuccessAction`` is its receipt's fields
  flattened next to ``"action": "success"``.

How an absent optional value was spelled is kept in ``extra``: an optional field whose default
is ``None`` is omitted when ``None``, unless the payload it came from spelled it out as ``null``
(or, for money, as Centra's ``false``). Structuring records that spelling in ``extra`` under the
wire key (``{"language": None}``, ``{"taxAdded": False, "taxAddedAsNumber": False}``) and
unstructuring emits it again in the field's place. A known value always wins: once the field is
not ``None``, the recorded spelling is ignored.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, Union, cast

import attrs
import cattrs

from orderflow.errors import FieldProblem, PayloadError, describe
from orderflow.money import CurrencyFormat, Money
from orderflow.payment import ACTION_TYPES, PaymentAction, SuccessAction

try:  # an accelerator only: the core never requires orjson
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _orjson = None  # type: ignore[assignment]

__all__ = ["converter", "dumps", "loads", "structure", "structure_action", "unstructure"]

T = TypeVar("T")

_Fast = Callable[[Any, str], Any]
_Check = Callable[[Any, str, str, list[FieldProblem]], Any]
_Dump = Callable[[Any], Any]

_NoneType = type(None)
_BAD: Any = object()  # the slow path's "no value here": a problem has been reported
_MISSING: Any = object()
_ACTION_CLASSES = frozenset(ACTION_TYPES.values())
_KNOWN_ACTIONS = ", ".join(sorted(ACTION_TYPES))
# Attributes that are ints in Python but strings of digits on the wire.
_DIGIT_STRINGS = {(CurrencyFormat, "decimal_digits")}


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
        self.item = item  # the element node of a tuple[X, ...]


def _identity(value: Any) -> Any:
    return value


def _scalar(inline: str, expect: str, convert: Callable[[Any], Any], dump: _Dump) -> _Node:
    def fast(value: Any, cur: str) -> Any:
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
    int: _scalar("int", "a whole number", _typed(int), _identity),
    bool: _scalar("bool", "true or false", _typed(bool), _identity),
    Decimal: _scalar("decimal", "a number", _to_decimal, _num),
    datetime: _scalar(
        "", "an ISO 8601 date-time with a UTC offset", _to_datetime, datetime.isoformat
    ),
    Any: _scalar("any", "anything", _to_any, _identity),
    Union[str, bool]: _scalar("strbool", "a string or a boolean", _typed(str, bool), _identity),  # noqa: UP007
}
_DIGITS = _scalar("", "a string of digits", _to_digits, str)


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

    def fast(value: Any, cur: str) -> Any:
        return None if value is None else inner_fast(value, cur)

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        return None if value is None else inner_check(value, cur, path, problems)

    def dump(value: Any) -> Any:
        return None if value is None else inner_dump(value)

    return _Node(fast, check, dump)


def _sequence_node(inner: _Node, build: Callable[[list[Any]], Any]) -> _Node:
    inner_fast, inner_check, inner_dump = inner.fast, inner.check, inner.dump

    def fast(value: Any, cur: str) -> Any:
        if type(value) is not list and type(value) is not tuple:
            raise _Invalid
        return build([inner_fast(item, cur) for item in value])

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

        def fast_any(value: Any, cur: str) -> Any:
            if type(value) is not dict:
                raise _Invalid
            return value

        def check_any(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
            return value if type(value) is dict else _expected(path, "an object", value, problems)

        return _Node(fast_any, check_any, _identity, "dict")

    def fast(value: Any, cur: str) -> Any:
        if type(value) is not dict:
            raise _Invalid
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Invalid
            result[key] = inner_fast(item, cur)
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


def _money_node() -> _Node:
    # Money on its own (not as a field of a wire class): {"amount", "currency", "display"}.
    def fast(value: Any, cur: str) -> Any:
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


def _action_node() -> _Node:
    # The PaymentAction union, dispatched on the wire's "action".
    def fast(value: Any, cur: str) -> Any:
        if type(value) is not dict:
            raise _Invalid
        return _node(ACTION_TYPES[value["action"]]).fast(value, cur)

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
        return _node(ACTION_TYPES[tag]).check(value, cur, path, problems)

    def dump(action: Any) -> Any:
        return _node(type(action)).dump(action)

    return _Node(fast, check, dump)


def _success_node() -> _Node:
    # SuccessAction on the wire: the receipt's fields next to "action": "success".
    receipt = _node(typing.get_type_hints(SuccessAction)["receipt"])

    def without_action(value: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in value.items() if k != "action"} if "action" in value else value

    def fast(value: Any, cur: str) -> Any:
        if type(value) is not dict:
            raise _Invalid
        return SuccessAction(receipt.fast(without_action(value), cur))

    def check(value: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(value) is not dict:
            return _expected(path, "an object", value, problems)
        inner = receipt.check(without_action(value), cur, path, problems)
        return _BAD if inner is _BAD else SuccessAction(inner)

    def dump(action: SuccessAction) -> Any:
        return {"action": SuccessAction.kind, **receipt.dump(action.receipt)}

    return _Node(fast, check, dump)


# --- class plans ------------------------------------------------------------------------------


@attrs.frozen
class _Field:
    """One attribute of a class plan, with its wire key(s) and how absence is handled."""

    index: int
    name: str
    wire: str
    node: _Node | None  # None for a Money attribute (two wire keys, handled by the plan)
    nullable: bool
    required: bool
    default: Any

    @property
    def number(self) -> str:
        return self.wire + "AsNumber"

    @property
    def default_none(self) -> bool:
        return not self.required and self.default is None


_DUMP_IDENTITY = frozenset({"str", "int", "bool", "strbool", "dict", "any"})


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _split_optional(tp: Any) -> tuple[Any, bool]:
    if tp is Any:
        return Any, True
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not _NoneType)
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return tp, False


def _plan(cls: type) -> tuple[list[_Field], bool]:
    hints = typing.get_type_hints(cls)
    fields: list[_Field] = []
    has_extra = False
    for index, attribute in enumerate(attrs.fields(cls)):
        if not attribute.init or attribute.kw_only:
            raise TypeError(f"{cls.__name__}.{attribute.name}: only positional init fields")
        if attribute.name == "extra":
            has_extra = True
            continue
        tp, nullable = _split_optional(hints[attribute.name])
        default = attribute.default
        required = default is attrs.NOTHING
        if tp is Money:
            node = None
            if not (required and not nullable) and not (default is None and nullable):
                raise TypeError(f"{cls.__name__}.{attribute.name}: Money or Money | None = None")
        elif (cls, attribute.name) in _DIGIT_STRINGS:
            node = _DIGITS
        else:
            node = _node(tp)
        fields.append(
            _Field(
                index,
                attribute.name,
                _camel(attribute.name),
                node,
                nullable or default is None,
                required,
                default,
            )
        )
    return fields, has_extra


def _bypasses_init(cls: type) -> bool:
    # Building an instance through its slots skips attrs' __init__ frame: worth ~30% per object.
    # Only when __init__ does nothing else (no validator, converter, or init hooks).
    return (
        "__slots__" in cls.__dict__
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and all(a.validator is None and a.converter is None for a in attrs.fields(cls))
    )


def _slot_setters(cls: type) -> dict[str, Callable[[Any, Any], None]]:
    return {a.name: cls.__dict__[a.name].__set__ for a in attrs.fields(cls)}


_MONEY_SETTERS = _slot_setters(Money) if _bypasses_init(Money) else None
_MONEY_SOURCE = (
    "m = _new(_Money); _Ma(m, v); _Mc(m, cur); _Md(m, s)"
    if _MONEY_SETTERS
    else "m = _Money(v, cur, s)"
)
# A bad-type test per simple kind, on the variable {v}; the other kinds convert the value.
_TYPE_TESTS = {
    "str": "type({v}) is not str",
    "int": "type({v}) is not int",
    "bool": "type({v}) is not bool",
    "strbool": "type({v}) is not str and type({v}) is not bool",
    "dict": "type({v}) is not dict",
}


def _convert_lines(f: _Field, v: str) -> list[str]:
    assert f.node is not None
    inline = f.node.inline
    if inline in _TYPE_TESTS:
        return [f"if {_TYPE_TESTS[inline].format(v=v)}: raise _Invalid"]
    if inline == "decimal":
        return [
            f"t = type({v})",
            f"if t is int: {v} = _D({v})",
            f"elif t is float: {v} = _dfloat({v})",
            "else: raise _Invalid",
        ]
    if inline == "any":
        return []
    if inline == "tuple":  # inlined: lists are everywhere in a receipt, often empty
        assert f.node.item is not None
        lines = [f"if type({v}) is not list and type({v}) is not tuple: raise _Invalid"]
        if f.node.item.inline == "any":
            return [*lines, f"{v} = tuple({v})"]
        if f.node.item.inline == "dict":
            return [
                *lines,
                f"for x in {v}:",
                "    if type(x) is not dict: raise _Invalid",
                f"{v} = tuple({v})",
            ]
        return [*lines, f"{v} = tuple([i{f.index}(x, cur) for x in {v}]) if {v} else ()"]
    return [f"{v} = n{f.index}({v}, cur)"]


def _fast_money(f: _Field, has_extra: bool) -> list[str]:
    a, k, kn = f"a{f.index}", repr(f.wire), repr(f.number)
    build = [
        "if t is int: v = _D(v)",
        "else: v = _dfloat(v)",
        f"s = d[{k}]",
        "if s is not None and type(s) is not str: raise _Invalid",
        _MONEY_SOURCE,
        f"{a} = m",
    ]
    if f.required:
        return [
            f"v = d[{kn}]",
            "t = type(v)",
            "if t is not int and t is not float: raise _Invalid",
            *build,
        ]
    absent = [
        f"s = d.get({k})",
        "if s is not None and s is not False: raise _Invalid",
        f"{a} = None",
    ]
    if has_extra:
        absent += [f"if {kn} in d: ex[{kn}] = v", f"if {k} in d: ex[{k}] = s"]
    return [
        f"v = d.get({kn})",
        "t = type(v)",
        "if t is int or t is float:",
        *_indent(build),
        "elif v is None or v is False:",
        *_indent(absent),
        "else: raise _Invalid",
    ]


def _fast_field(f: _Field, has_extra: bool) -> list[str]:
    assert f.node is not None
    a, k = f"a{f.index}", repr(f.wire)
    simple = _TYPE_TESTS.get(f.node.inline, "").format(v=a)
    convert = _convert_lines(f, a)
    record_null = [f"if {k} in d: ex[{k}] = None"] if has_extra else []
    if f.required:
        if not f.nullable:
            return [f"{a} = d[{k}]", *convert]
        if simple:
            return [f"{a} = d[{k}]", f"if {simple} and {a} is not None: raise _Invalid"]
        return [f"{a} = d[{k}]", f"if {a} is not None:", *_indent(convert or ["pass"])]
    if f.default_none:
        if simple:
            return [
                f"{a} = d.get({k})",
                f"if {simple}:",
                *_indent([f"if {a} is not None: raise _Invalid", *record_null]),
            ]
        lines = [f"{a} = d.get({k})", f"if {a} is None:", *_indent(record_null or ["pass"])]
        return lines + (["else:", *_indent(convert)] if convert else [])
    fill = f"F{f.index}()" if isinstance(f.default, attrs.Factory) else f"D{f.index}"  # type: ignore[arg-type]
    lines = [f"{a} = d.get({k}, _MISSING)", f"if {a} is _MISSING:", f"    {a} = {fill}"]
    if f.nullable:
        return [*lines, f"elif {a} is not None:", *_indent(convert or ["pass"])]
    return lines + (["else:", *_indent(convert)] if convert else [])


def _fast_source(cls: type, fields: list[_Field], has_extra: bool, bypass: bool) -> str:
    lines = ["if type(d) is not dict: raise _Invalid", "ex = {}"]
    currency = [f for f in fields if f.name == "currency" and f.node is _SCALARS[str]]
    for f in currency:
        lines += [*_fast_field(f, has_extra), f"cur = a{f.index}"]
    for f in fields:
        if f not in currency:
            lines += _fast_money(f, has_extra) if f.node is None else _fast_field(f, has_extra)
    if has_extra:
        lines += [
            "if not KNOWN.issuperset(d):",
            "    for k in d:",
            "        if k not in KNOWN: ex[k] = d[k]",
        ]
    values = {f.name: f"a{f.index}" for f in fields} | ({"extra": "ex"} if has_extra else {})
    if bypass:
        lines.append("o = _new(C)")
        lines += [f"S_{name}(o, {value})" for name, value in values.items()]
        lines.append("return o")
    else:
        args = [values[a.name] for a in attrs.fields(cls)]
        lines.append(f"return C({', '.join(args)})")
    return "def fast(d, cur):\n" + "\n".join(_indent(lines))


def _dump_source(fields: list[_Field], has_extra: bool, tag: str | None) -> str:
    lines = [
        "ex = o.extra" if has_extra else "ex = None",
        f"r = {{'action': {tag!r}}}" if tag else "r = {}",
    ]
    for f in fields:
        i, k = f.index, repr(f.wire)
        lines.append(f"v = o.{f.name}")
        if f.node is None:
            kn = repr(f.number)
            put = [f"r[{k}] = v.display", f"r[{kn}] = _num(v.amount)"]
            if f.required:
                lines += put
            else:
                lines += ["if v is not None:", *_indent(put)]
                if has_extra:
                    lines += [
                        "else:",
                        f"    if {k} in ex: r[{k}] = ex[{k}]",
                        f"    if {kn} in ex: r[{kn}] = ex[{kn}]",
                    ]
            continue
        inline = f.node.inline
        value = (
            "v" if inline in _DUMP_IDENTITY else "_num(v)" if inline == "decimal" else f"m{i}(v)"
        )
        if f.nullable and f.default_none:
            lines.append(f"if v is not None: r[{k}] = {value}")
            if has_extra:
                lines.append(f"elif {k} in ex: r[{k}] = ex[{k}]")
        elif f.nullable:
            lines.append(f"r[{k}] = None if v is None else {value}")
        else:
            lines.append(f"r[{k}] = {value}")
    if has_extra:
        lines += ["if ex:", "    for k in ex:", "        if k not in KNOWN: r[k] = ex[k]"]
    lines.append("return r")
    return "def dump(o):\n" + "\n".join(_indent(lines))


def _class_node(cls: type) -> _Node:
    fields, has_extra = _plan(cls)
    tag: str | None = getattr(cls, "kind", None) if cls in _ACTION_CLASSES else None
    known = frozenset(
        [f.wire for f in fields]
        + [f.number for f in fields if f.node is None]
        + (["action"] if tag else [])
    )
    namespace: dict[str, Any] = {
        "_Invalid": _Invalid,
        "_D": Decimal,
        "_dfloat": _dfloat,
        "_num": _num,
        "_Money": Money,
        "_MISSING": _MISSING,
        "KNOWN": known,
        "C": cls,
        "_new": object.__new__,
    }
    if _MONEY_SETTERS:
        namespace.update(
            _Ma=_MONEY_SETTERS["amount"],
            _Mc=_MONEY_SETTERS["currency"],
            _Md=_MONEY_SETTERS["display"],
        )
    bypass = _bypasses_init(cls)
    if bypass:
        namespace.update({f"S_{name}": setter for name, setter in _slot_setters(cls).items()})
    for f in fields:
        if f.node is not None:
            namespace[f"n{f.index}"] = f.node.fast
            namespace[f"m{f.index}"] = f.node.dump
            if f.node.item is not None:
                namespace[f"i{f.index}"] = f.node.item.fast
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"F{f.index}"] = f.default.factory
        else:
            namespace[f"D{f.index}"] = f.default
    exec(_fast_source(cls, fields, has_extra, bypass), namespace)
    exec(_dump_source(fields, has_extra, tag), namespace)
    check = _class_checker(cls, fields, has_extra, known)
    return _Node(namespace["fast"], check, namespace["dump"])


def _absent(value: Any) -> bool:
    return value is _MISSING or value is None or value is False


def _check_money(
    f: _Field,
    d: dict[str, Any],
    cur: str,
    path: str,
    problems: list[FieldProblem],
    extra: dict[str, Any],
) -> Any:
    where, where_number = _at(path, f.wire), _at(path, f.number)
    number, display = d.get(f.number, _MISSING), d.get(f.wire, _MISSING)
    if not f.required and _absent(number) and _absent(display):
        if number is not _MISSING:
            extra[f.number] = number
        if display is not _MISSING:
            extra[f.wire] = display
        return None
    if number is _MISSING and display is _MISSING:
        problems.append(FieldProblem(where, "missing required field"))
        return _BAD
    if number is _MISSING:
        problems.append(FieldProblem(where_number, "missing required field"))
        amount = _BAD
    else:
        amount = _SCALARS[Decimal].check(number, cur, where_number, problems)
    if display is _MISSING:
        problems.append(FieldProblem(where, "missing required field"))
        return _BAD
    if display is not None and type(display) is not str:
        return _expected(where, "a string", display, problems)
    return _BAD if amount is _BAD else Money(amount, cur, display)


def _class_checker(
    cls: type, fields: list[_Field], has_extra: bool, known: frozenset[str]
) -> _Check:
    name_of_extra = "extra" if has_extra else None
    has_currency = any(f.name == "currency" for f in fields)

    def check(d: Any, cur: str, path: str, problems: list[FieldProblem]) -> Any:
        if type(d) is not dict:
            return _expected(path, f"an object ({cls.__name__})", d, problems)
        found = len(problems)
        currency = d.get("currency")
        if has_currency and type(currency) is str:
            cur = currency
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for f in fields:
            where = _at(path, f.wire)
            if f.node is None:
                values[f.name] = _check_money(f, d, cur, path, problems, extra)
            elif f.wire not in d:
                if f.required:
                    problems.append(FieldProblem(where, "missing required field"))
            elif d[f.wire] is None and f.nullable:
                values[f.name] = None
                if f.default_none and has_extra:
                    extra[f.wire] = None
            else:
                values[f.name] = f.node.check(d[f.wire], cur, where, problems)
        if len(problems) > found:
            return _BAD
        extra.update((k, v) for k, v in d.items() if k not in known)
        if name_of_extra:
            values[name_of_extra] = extra
        try:
            return cls(**values)
        except Exception as error:  # a validator of the type itself refused
            problems.append(FieldProblem(path, str(error)))
            return _BAD

    return check


# --- the registry and the converter -----------------------------------------------------------

_NODES: dict[Any, _Node] = dict(_SCALARS)


def _node(tp: Any) -> _Node:
    """The node for a type, built once; raises TypeError for a type the codec cannot map."""
    try:
        return _NODES[tp]
    except (KeyError, TypeError):
        pass
    inner, nullable = _split_optional(tp)
    origin, args = typing.get_origin(inner), typing.get_args(inner)
    node: _Node
    if nullable:
        node = _optional_node(_node(inner))
    elif origin in (Union, types.UnionType) and frozenset(args) == _ACTION_CLASSES:
        node = _action_node()
    elif inner is SuccessAction:
        node = _success_node()
    elif inner is Money:
        node = _money_node()
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        node = _sequence_node(_node(args[0]), tuple)
    elif origin is list and len(args) == 1:
        node = _sequence_node(_node(args[0]), _identity)
    elif origin is dict and len(args) == 2 and args[0] is str:
        node = _mapping_node(_node(args[1]))
    elif isinstance(inner, type) and issubclass(inner, Enum):
        node = _enum_node(inner)
    elif isinstance(inner, type) and attrs.has(inner):
        node = _class_node(inner)
    else:
        raise TypeError(f"orderflow.codec cannot map {tp!r}")
    _NODES[tp] = node
    return node


def _maybe_node(tp: Any) -> _Node | None:
    try:
        return _node(tp)
    except (TypeError, NameError):
        return None


def _type_name(tp: Any) -> str:
    if tp == PaymentAction:
        return "PaymentAction"
    return getattr(tp, "__name__", None) or repr(tp)


def _run(node: _Node, data: Any, tp: Any, source: str) -> Any:
    try:
        return node.fast(data, "")
    except Exception:  # the fast path only knows "does not fit"; the slow path says where
        return _slow(node, data, tp, source)


def _slow(node: _Node, data: Any, tp: Any, source: str) -> Any:
    problems: list[FieldProblem] = []
    value = node.check(data, "", "$", problems)
    if problems or value is _BAD:
        problems = problems or [FieldProblem("$", "does not fit")]
        raise PayloadError(_type_name(tp), problems, source) from None
    return value


def _handles(tp: Any) -> bool:
    if tp == PaymentAction or tp is Money or tp is Decimal or tp is datetime:
        return True
    return isinstance(tp, type) and attrs.has(tp) and _maybe_node(tp) is not None


def _structure_hook(tp: Any) -> Callable[[Any, Any], Any]:
    node = _node(tp)
    return lambda data, _: _run(node, data, tp, "")


def _unstructure_hook(tp: Any) -> Callable[[Any], Any]:
    return _node(tp).dump


converter = cattrs.Converter()
"""The one converter of the core: every orderflow type to JSON-ready data and back."""
converter.register_structure_hook_factory(_handles, _structure_hook)
converter.register_unstructure_hook_factory(_handles, _unstructure_hook)


# --- the public functions ---------------------------------------------------------------------


def structure(data: Any, cls: type[T], *, source: str = "") -> T:
    """Build ``cls`` from JSON-shaped ``data`` (camelCase keys); ``source`` names its origin.

    Raises ``PayloadError`` listing every field that does not fit, by camelCase JSON path.
    """
    node = _NODES.get(cls) or _maybe_node(cls)
    if node is not None:
        return cast(T, _run(node, data, cls, source))
    try:
        return converter.structure(data, cls)
    except PayloadError as error:
        raise PayloadError(error.type_name, error.problems, source) from None
    except Exception as error:
        problem = FieldProblem("$", f"{type(error).__name__}: {error}")
        raise PayloadError(_type_name(cls), [problem], source) from None


def structure_action(data: Any, *, source: str = "") -> PaymentAction:
    """The payment action a start-payment answer describes, chosen by its ``"action"`` key.

    Raises ``PayloadError`` (an unknown action is reported at ``$.action``, naming the known ones).
    """
    return cast(PaymentAction, _run(_ACTION, data, PaymentAction, source))


def unstructure(obj: Any) -> Any:
    """JSON-ready data (dicts, lists, str, int, float, bool, None) for an orderflow value."""
    node = _NODES.get(type(obj))
    return node.dump(obj) if node is not None else converter.unstructure(obj)


def loads(raw: str | bytes, cls: type[T], *, source: str = "") -> T:
    """Parse JSON text and structure it into ``cls``.

    Raises ``PayloadError``: at ``$`` when ``raw`` is not JSON, else as ``structure`` does.
    """
    try:
        data = _json_loads(raw)
    except (ValueError, TypeError) as error:
        problem = FieldProblem("$", f"not valid JSON ({_short(error)})")
        raise PayloadError(_type_name(cls), [problem], source) from None
    return structure(data, cls, source=source)


def dumps(obj: Any) -> str:
    """Compact JSON text for an orderflow value (UTF-8 characters kept, not escaped)."""
    data = unstructure(obj)
    if _orjson is not None:
        try:
            return _orjson.dumps(data).decode()
        except TypeError:  # e.g. an int beyond 64 bits: the standard library handles it
            pass
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _json_loads(raw: str | bytes) -> Any:
    if _orjson is not None:
        return _orjson.loads(raw)
    return json.loads(raw)


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:117] + "..."


_ACTION = _node(PaymentAction)
