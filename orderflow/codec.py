"""The one cattrs converter of the core: Centra's camelCase JSON <-> orderflow's attrs types.

Every attrs class gets a structure plan built once, the first time the converter sees it
(``orderflow._codec_plans``): a generated function (the fast path) that accepts only a payload
that fits and stops at the first thing that does not, and an interpreted checker (the slow path)
that walks the same plan, lists every bad field by its camelCase JSON path and raises one
``PayloadError``. The slow path runs only after the fast path gave up. Every other type has a
value node (``orderflow._codec_nodes``). This module keeps the registry that maps each type to
its node (built once), the converter, and the public functions.

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

import threading
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, Union, cast

import attrs

from orderflow.errors import FieldProblem, PayloadError
from orderflow.money import Money
from orderflow.payment import PaymentAction, SuccessAction
from orderflow.receipt import Receipt

if TYPE_CHECKING:
    import cattrs

    from orderflow._codec_nodes import _Node

__all__ = [
    "converter",
    "dumps",
    "loads",
    "structure",
    "structure_action",
    "structure_receipt",
    "unstructure",
]

T = TypeVar("T")

# What is not needed to import the codec is made on first use: the value nodes and class plans
# (each type's on its first decode), the cattrs converter (only types without a node need it:
# none of orderflow's), orjson and the standard json module. Together they were ~20 ms of
# ``import orderflow`` (python -X importtime: cattrs 15 ms, the action plans, orjson, json).

# --- the registry and the converter -----------------------------------------------------------

_NODES: dict[Any, _Node] = {}


def _node(tp: Any) -> _Node:
    """The node for a type, built once; raises TypeError for a type the codec cannot map."""
    try:
        return _NODES[tp]
    except (KeyError, TypeError):
        pass
    from datetime import datetime
    from decimal import Decimal
    from enum import Enum

    from orderflow import _codec_nodes as nodes
    from orderflow._codec_plans import _class_node

    if not _NODES:
        _NODES.update(nodes._SCALARS)
        if tp in nodes._SCALARS:
            return _NODES[tp]
    inner, nullable = nodes._split_optional(tp)
    origin, args = typing.get_origin(inner), typing.get_args(inner)
    node: _Node
    if nullable:
        node = nodes._optional_node(_node(inner))
    elif origin in (Union, types.UnionType) and _is_list_or_map(args):
        listed = next(a for a in args if typing.get_origin(a) is tuple)
        keyed = next(a for a in args if a is not listed)
        node = nodes._list_or_map_node(_node(listed), _node(keyed))
    elif origin in (Union, types.UnionType) and frozenset(args) == nodes._ACTION_CLASSES:
        node = nodes._action_node(_node)
    elif inner is SuccessAction:
        node = nodes._success_node(_node)
    elif inner is Money:
        node = nodes._money_node()
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        node = nodes._sequence_node(_node(args[0]), tuple)
    elif origin is list and len(args) == 1:
        node = nodes._sequence_node(_node(args[0]), nodes._identity)
    elif origin is dict and len(args) == 2 and args[0] is str:
        node = nodes._mapping_node(_node(args[1]))
    elif isinstance(inner, type) and issubclass(inner, Enum):
        node = nodes._enum_node(inner)
    elif isinstance(inner, type) and attrs.has(inner):
        node = _class_node(inner, _node)
    elif tp is Decimal or tp is datetime:  # pragma: no cover - among the scalars
        node = nodes._SCALARS[tp]
    else:
        raise TypeError(f"orderflow.codec cannot map {tp!r}")
    _NODES[tp] = node
    return node


def _is_list_or_map(args: tuple[Any, ...]) -> bool:
    # ``tuple[X, ...] | dict[str, X]``: a list, or an object keyed by id, of the same X.
    if len(args) != 2:
        return False
    origins = {typing.get_origin(a): typing.get_args(a) for a in args}
    listed, keyed = origins.get(tuple), origins.get(dict)
    return (
        listed is not None
        and keyed is not None
        and len(listed) == 2
        and listed[1] is Ellipsis
        and keyed == (str, listed[0])
    )


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
        return node.fast(data, "", {})
    except Exception:  # the fast path only knows "does not fit"; the slow path says where
        return _slow(node, data, tp, source)


def _slow(node: _Node, data: Any, tp: Any, source: str) -> Any:
    from orderflow._codec_nodes import _BAD

    problems: list[FieldProblem] = []
    value = node.check(data, "", "$", problems)
    if problems or value is _BAD:
        problems = problems or [FieldProblem("$", "does not fit")]
        raise PayloadError(_type_name(tp), problems, source) from None
    return value


def _handles(tp: Any) -> bool:
    from datetime import datetime
    from decimal import Decimal

    if tp == PaymentAction or tp is Money or tp is Decimal or tp is datetime:
        return True
    return isinstance(tp, type) and attrs.has(tp) and _maybe_node(tp) is not None


def _structure_hook(tp: Any) -> Callable[[Any, Any], Any]:
    node = _node(tp)
    return lambda data, _: _run(node, data, tp, "")


def _unstructure_hook(tp: Any) -> Callable[[Any], Any]:
    return _node(tp).dump


def _converter() -> cattrs.Converter:
    with _LOCK:
        made = globals().get("converter")
        if made is None:
            import cattrs

            made = cattrs.Converter()
            made.register_structure_hook_factory(_handles, _structure_hook)
            made.register_unstructure_hook_factory(_handles, _unstructure_hook)
            globals()["converter"] = made
    return made


if TYPE_CHECKING:
    converter: cattrs.Converter
    """The one converter of the core: every orderflow type to JSON-ready data and back (made on
    first use)."""


def __getattr__(name: str) -> Any:
    if name == "converter":
        return _converter()
    if name == "_orjson":
        return _accelerator()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_LOCK = threading.Lock()
_UNSET: Any = object()
_ORJSON: Any = _UNSET


def _accelerator() -> Any:
    """orjson, or None where it is not installed: an accelerator only, the core never needs it."""
    global _ORJSON
    if _ORJSON is _UNSET:
        try:
            import orjson
        except ImportError:  # pragma: no cover - exercised where orjson is absent
            orjson = None  # type: ignore[assignment]
        _ORJSON = orjson
    return _ORJSON


# --- the public functions ---------------------------------------------------------------------


def structure(data: Any, cls: type[T], *, source: str = "") -> T:
    """Build ``cls`` from JSON-shaped ``data`` (camelCase keys); ``source`` names its origin.

    Raises ``PayloadError`` listing every field that does not fit, by camelCase JSON path.
    """
    node = _NODES.get(cls) or _maybe_node(cls)
    if node is not None:
        return cast(T, _run(node, data, cls, source))
    try:
        return _converter().structure(data, cls)
    except PayloadError as error:
        raise PayloadError(error.type_name, error.problems, source) from None
    except Exception as error:
        problem = FieldProblem("$", f"{type(error).__name__}: {error}")
        raise PayloadError(_type_name(cls), [problem], source) from None


def structure_action(data: Any, *, source: str = "") -> PaymentAction:
    """The payment action a start-payment answer describes, chosen by its ``"action"`` key.

    Raises ``PayloadError`` (an unknown action is reported at ``$.action``, naming the known ones).
    """
    return cast(PaymentAction, _run(_node(PaymentAction), data, PaymentAction, source))


def structure_receipt(data: Any, *, source: str = "") -> tuple[Receipt, tuple[FieldProblem, ...]]:
    """The receipt in an answer that shows an order, and what of it did not decode.

    Money taken must become an order, so a receipt is never dropped for its details: the
    top-level fields that do not fit are left out of the typed receipt and kept, as they came,
    in ``Receipt.undecoded``; their problems are returned. Raises ``PayloadError`` only when
    the answer is not an object or its ``order`` itself is unusable.
    """
    try:
        return structure(data, Receipt, source=source), ()
    except PayloadError as error:
        if not isinstance(data, dict):
            raise
        bad = {_top_key(problem.path) for problem in error.problems}
        if "" in bad or "order" in bad:
            raise
        kept = {key: value for key, value in data.items() if key not in bad}
        kept["undecoded"] = {key: data[key] for key in sorted(bad) if key in data}
        return structure(kept, Receipt, source=source), error.problems


def _top_key(path: str) -> str:
    """The top-level wire key a JSON path starts with (``$.totals.x`` -> ``totals``); ``""``
    for the whole value."""
    rest = path[1:] if path.startswith("$") else path
    if rest.startswith("."):
        end = len(rest)
        for mark in (".", "["):
            found = rest.find(mark, 1)
            if found != -1:
                end = min(end, found)
        return rest[1:end]
    if rest.startswith('["'):
        import json

        try:
            key, _ = json.JSONDecoder().raw_decode(rest[1:])
        except ValueError:
            return ""
        return str(key)
    return ""


def unstructure(obj: Any) -> Any:
    """JSON-ready data (dicts, lists, str, int, float, bool, None) for an orderflow value."""
    node = _NODES.get(type(obj))
    return node.dump(obj) if node is not None else _converter().unstructure(obj)


def loads(raw: str | bytes, cls: type[T], *, source: str = "") -> T:
    """Parse JSON text and structure it into ``cls``.

    Raises ``PayloadError``: at ``$`` when ``raw`` is not JSON, else as ``structure`` does.
    """
    try:
        data = _json_loads(raw)
    except (ValueError, TypeError) as error:
        problem = FieldProblem("$", f"not valid JSON ({_short(error)})")
        raise PayloadError(_type_name(cls), [problem], source) from None
    node = _NODES.get(cls)
    if node is None:
        return structure(data, cls, source=source)
    try:  # what structure and _run do, without their two calls (~0.1 µs a decode)
        value: T = node.fast(data, "", {})
    except Exception:
        value = _slow(node, data, cls, source)
    return value


def dumps(obj: Any) -> str:
    """Compact JSON text for an orderflow value (UTF-8 characters kept, not escaped)."""
    data = unstructure(obj)
    orjson = _ORJSON if _ORJSON is not _UNSET else _accelerator()
    if orjson is not None:
        try:
            text: str = orjson.dumps(data).decode()
        except TypeError:  # e.g. an int beyond 64 bits: the standard library handles it
            pass
        else:
            return text
    import json

    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _json_loads(raw: str | bytes) -> Any:
    orjson = _ORJSON if _ORJSON is not _UNSET else _accelerator()
    if orjson is not None:
        return orjson.loads(raw)
    import json

    return json.loads(raw)


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:117] + "..."
