"""The codec's class plans: how an attrs class is structured and unstructured, field by field.

Every attrs class gets a plan built once, the first time the registry (``orderflow.codec``)
sees it: a generated function (the fast path) that accepts only a payload that fits and stops at
the first thing that does not, a generated dump, and an interpreted checker (the slow path) that
walks the same plan, lists every bad field by its camelCase JSON path and reports each problem.
The slow path runs only after the fast path gave up. A plan asks the registry's ``resolve`` for
the node of each field's type, so this module imports only the value nodes.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from orderflow._codec_nodes import (
    _ACTION_CLASSES,
    _BAD,
    _DIGITS,
    _MISSING,
    _SCALARS,
    _at,
    _camel,
    _Check,
    _dfloat,
    _expected,
    _Invalid,
    _Node,
    _num,
    _split_optional,
)
from orderflow._slots import bypasses_init, slot_setters
from orderflow.errors import FieldProblem
from orderflow.money import CurrencyFormat, Money

_Resolve = Callable[[Any], _Node]

# Attributes that are ints in Python but strings of digits on the wire.
_DIGIT_STRINGS = {(CurrencyFormat, "decimal_digits")}


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


def _plan(cls: type, resolve: _Resolve) -> tuple[list[_Field], bool]:
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
            node = resolve(tp)
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


def _builder(cls: type) -> type | None:
    """A mutable stand-in for ``cls``, whose instances become ``cls`` once filled in.

    For a class that may be built through its slots (``_slots.bypasses_init``): a subclass
    adding no slot and no state, only the plain ``object`` ``__setattr__`` and ``__init__``.
    ``B()`` then makes an empty instance (~30 ns less than ``object.__new__(cls)``), each
    generated ``o.name = value`` is a specialized slot store (~4 ns, where calling the slot's
    setter is a wrapper call, ~55 ns: timeit, an ``Address``'s 14 fields took 0.19 µs against
    0.95 µs), and ``o.__class__ = cls``, which CPython allows between these two layouts, makes
    it the very object the setters would have made. None escapes half-built: the generated
    code validates everything first, and nothing from ``B()`` to the class switch can fail.
    ``None`` (the setters are used) where making or calling a subclass could run the class's
    own code: a metaclass, an ``__init_subclass__`` or a ``__new__``.
    """
    if not bypasses_init(cls) or type(cls) is not type:
        return None
    own = ("__init_subclass__", "__new__")
    if any(name in base.__dict__ for base in cls.__mro__[:-1] for name in own):
        return None
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__init__": object.__init__,
        "__module__": __name__,
        "__qualname__": f"_builder.<{cls.__qualname__}>",
    }
    return type(f"_{cls.__name__}Builder", (cls,), namespace)


_MONEY_SETTERS = slot_setters(Money) if bypasses_init(Money) else None
_MONEY_BUILDER = _builder(Money)
_MONEY_SOURCE = (
    "m = _MB(); m.amount = v; m.currency = cur; m.display = s; m.__class__ = _Money"
    if _MONEY_BUILDER
    else "m = _new(_Money); _Ma(m, v); _Mc(m, cur); _Md(m, s)"
    if _MONEY_SETTERS
    else "m = _Money(v, cur, s)"
)
# A bad-type test per simple kind, on the variable {v}; the other kinds convert the value.
_TYPE_TESTS = {
    "str": "type({v}) is not str",
    "int": "type({v}) is not int or not -0x8000000000000000 <= {v} <= 0x7FFFFFFFFFFFFFFF",
    "bool": "type({v}) is not bool",
    "strbool": "type({v}) is not str and type({v}) is not bool",
    "dict": "type({v}) is not dict",
}


def _fast_items(f: _Field, v: str) -> list[str]:
    # A loop, not a list comprehension: that makes a function and calls it, ~0.17 µs more for
    # a one-item list (timeit), and a receipt's lists are short.
    return [
        f"if {v}:",
        "    r = []",
        f"    for x in {v}: r.append(i{f.index}(x, cur, memo))",
        f"    {v} = tuple(r)",
        f"else: {v} = ()",
    ]


def _convert_lines(f: _Field, v: str) -> list[str]:
    assert f.node is not None
    inline = f.node.inline
    if inline in _TYPE_TESTS:
        return [f"if {_TYPE_TESTS[inline].format(v=v)}: raise _Invalid"]
    if inline == "decimal":  # a whole number's Decimal is shared within the decode (memo)
        return [
            f"t = type({v})",
            "if t is int:",
            f"    dx = memo.get({v})",
            f"    if dx is None: dx = memo[{v}] = _D({v})",
            f"    {v} = dx",
            f"elif t is float: {v} = _dfloat({v})",
            "else: raise _Invalid",
        ]
    if inline == "digits":  # _to_digits inlined
        return [
            f"if type({v}) is str and {v}.isascii() and {v}.isdigit(): {v} = int({v})",
            f"elif type({v}) is not int: raise _Invalid",
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
        return [*lines, *_fast_items(f, v)]
    if inline == "listmap":  # a list inlined as a tuple's is (~0.25 µs a list), an object not
        return [
            f"if type({v}) is dict: {v} = n{f.index}({v}, cur, memo)",
            f"elif type({v}) is list or type({v}) is tuple:",
            *_indent(_fast_items(f, v)),
            "else: raise _Invalid",
        ]
    return [f"{v} = n{f.index}({v}, cur, memo)"]


def _fast_money(f: _Field, has_extra: bool) -> list[str]:
    # Money is immutable, so one decode shares one Money (and its Decimal) per amount, display
    # and currency (the memo): a paid checkout's 34 amounts are 6 distinct ones. That keeps
    # ~5 KB less per decoded checkout (tracemalloc, benchmarks' memory case) and builds 28 fewer
    # objects (a hit costs a tuple and a dict lookup, ~0.1 µs, a miss ~0.3 µs).
    a, k, kn = f"a{f.index}", repr(f.wire), repr(f.number)
    share = [  # key: the amount as it came (v, an int or a float's repr), display, currency
        f"{a} = m = memo.get(key)",
        "if m is None:",
        "    v = _D(v) if t is int else _dfloat(v)",
        f"    {_MONEY_SOURCE}",
        f"    memo[key] = {a} = m",
    ]
    if f.required:
        return [
            f"s = d[{k}]",
            "if type(s) is not str and s is not None: raise _Invalid",
            f"v = d[{kn}]",
            "t = type(v)",
            "if t is int: key = (v, s, cur)",
            "elif t is float: key = (repr(v), s, cur)",
            "else: raise _Invalid",
            *share,
        ]
    build = [  # v is the amount as it came, t its type (an int or a float)
        f"s = d[{k}]",
        "if type(s) is not str and s is not None: raise _Invalid",
        "key = (v, s, cur) if t is int else (repr(v), s, cur)",
        *share,
    ]
    if not has_extra:
        return [
            f"v = d.get({kn})",
            "t = type(v)",
            "if t is int or t is float:",
            *_indent(build),
            "elif v is None or v is False:",
            f"    s = d.get({k})",
            "    if s is not None and s is not False: raise _Invalid",
            f"    {a} = None",
            "else: raise _Invalid",
        ]
    # An absent amount is kept in extra key by key as it was spelled (null, false or no key):
    # _MISSING for no key spares the two "in d" lookups of a spelled one (Totals' three false
    # amounts: ~0.2 µs, timeit).
    return [
        f"v = d.get({kn}, _MISSING)",
        "t = type(v)",
        "if t is int or t is float:",
        *_indent(build),
        "elif v is None or v is False or v is _MISSING:",
        f"    s = d.get({k}, _MISSING)",
        "    if s is not None and s is not False and s is not _MISSING: raise _Invalid",
        "    if v is _MISSING: p -= 1",
        f"    else: ex[{kn}] = v",
        "    if s is _MISSING: p -= 1",
        f"    else: ex[{k}] = s",
        f"    {a} = None",
        "else: raise _Invalid",
    ]


def _fast_field(f: _Field, has_extra: bool) -> list[str]:
    assert f.node is not None
    a, k = f"a{f.index}", repr(f.wire)
    simple = _TYPE_TESTS.get(f.node.inline, "").format(v=a)
    convert = _convert_lines(f, a)
    record_null = [f"if {k} in d: ex[{k}] = None", "else: p -= 1"] if has_extra else []
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
    if has_extra:
        lines.append("    p -= 1")
    if f.nullable:
        return [*lines, f"elif {a} is not None:", *_indent(convert or ["pass"])]
    return lines + (["else:", *_indent(convert)] if convert else [])


def _fast_source(
    cls: type,
    fields: list[_Field],
    has_extra: bool,
    bypass: bool,
    known: frozenset[str],
    builder: bool = False,
) -> str:
    # With extra, p counts the known keys present (each absent one is met on a branch a fitting
    # payload rarely takes), so d has unknown keys exactly when it has more than p keys.
    lines = ["if type(d) is not dict: raise _Invalid", "ex = {}"]
    if has_extra:
        lines.append(f"p = {len(known)}")
        if "action" in known:
            lines.append("if 'action' not in d: p -= 1")
    currency = [f for f in fields if f.name == "currency" and f.node is _SCALARS[str]]
    for f in currency:
        lines += [*_fast_field(f, has_extra), f"cur = a{f.index}"]
    for f in fields:
        if f not in currency:
            lines += _fast_money(f, has_extra) if f.node is None else _fast_field(f, has_extra)
    if has_extra:
        lines += [
            "if len(d) > p:",
            "    for k in d:",
            "        if k not in KNOWN: ex[k] = d[k]",
        ]
    values = {f.name: f"a{f.index}" for f in fields} | ({"extra": "ex"} if has_extra else {})
    if builder:
        lines.append("o = B()")
        lines += [f"o.{name} = {value}" for name, value in values.items()]
        lines += ["o.__class__ = C", "return o"]
    elif bypass:
        lines.append("o = _new(C)")
        lines += [f"S_{name}(o, {value})" for name, value in values.items()]
        lines.append("return o")
    else:
        args = [values[a.name] for a in attrs.fields(cls)]
        lines.append(f"return C({', '.join(args)})")
    return "def fast(d, cur, memo):\n" + "\n".join(_indent(lines))


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


def _class_node(cls: type, resolve: _Resolve) -> _Node:
    """The plan of an attrs class, its field types resolved by ``resolve`` (the registry)."""
    fields, has_extra = _plan(cls, resolve)
    tag: str | None = getattr(cls, "kind", None) if cls in _ACTION_CLASSES else None
    keys = (
        [f.wire for f in fields]
        + [f.number for f in fields if f.node is None]
        + (["action"] if tag else [])
    )
    known = frozenset(keys)
    if len(known) < len(keys):
        raise TypeError(f"{cls.__name__}: two attributes share a wire key")
    namespace: dict[str, Any] = {
        "_Invalid": _Invalid,
        # An int's exact Decimal, as Decimal(i) makes it, without parsing its keywords (~40 ns
        # less, timeit): from_float takes an int as well and converts it exactly.
        "_D": Decimal.from_float,
        "_dfloat": _dfloat,
        "_num": _num,
        "_Money": Money,
        "_MISSING": _MISSING,
        "KNOWN": known,
        "C": cls,
        "_new": object.__new__,
    }
    if _MONEY_BUILDER:
        namespace["_MB"] = _MONEY_BUILDER
    elif _MONEY_SETTERS:
        namespace.update(
            _Ma=_MONEY_SETTERS["amount"],
            _Mc=_MONEY_SETTERS["currency"],
            _Md=_MONEY_SETTERS["display"],
        )
    bypass = bypasses_init(cls)
    builder = _builder(cls)
    if builder:
        namespace["B"] = builder
    elif bypass:
        namespace.update({f"S_{name}": setter for name, setter in slot_setters(cls).items()})
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
    exec(_fast_source(cls, fields, has_extra, bypass, known, builder is not None), namespace)
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
