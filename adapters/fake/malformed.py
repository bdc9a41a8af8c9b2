"""Answers that are not what they should be: the shapes of ``FaultPlan.malformed``.

Each shape turns the answer Centra gave after acting (a 2xx) into another 2xx:

- ``elided``: only what identifies it (``action``, ``order``, a cart's ``selection`` id) and
  ``"..."`` for every other part, as Centra's documentation shows a success or a receipt;
- ``no_items`` / ``no_totals``: the order's (or the cart's) ``items`` / ``totals`` left out;
- ``wrong_types``: every other value of another JSON type (numbers as text, text as lists,
  lists as objects, ``true`` as ``"true"``, ``null`` as ``0``);

an order nested under ``order`` (the Checkout API's ``{token, order: {order, ...}, ...}``) is
shaped inside that object, as a cart is inside ``selection``, keeping its ``order`` number.
- ``not_json``: an HTML page (``text/html``), as a proxy in front of Centra may answer;
- ``truncated``: the answer's JSON cut off halfway (a complete HTTP answer with a short body).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from orderflow.adapters.fake.answer import Answer

Shape = Literal["elided", "no_items", "no_totals", "not_json", "truncated", "wrong_types"]
"""The shapes ``FaultPlan.malformed`` gives an answer."""

SHAPES: tuple[Shape, ...] = get_args(Shape)

_KEEP = ("action", "order")
_ELIDED = "..."
_HTML = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Please try again later</h1></body></html>"
)


def malformed(shape: Shape, status: int, body: Any) -> Answer:
    """The answer ``(status, body)`` in ``shape``. Raises ``ValueError`` for another shape."""
    if shape == "not_json":
        return Answer(status, None, {"Content-Type": "text/html; charset=utf-8"}, _HTML)
    if shape == "truncated":
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return Answer(status, None, content=raw[: len(raw) // 2])
    if shape == "elided":
        return Answer(status, _elided(body))
    if shape == "no_items":
        return Answer(status, _without(body, "items"))
    if shape == "no_totals":
        return Answer(status, _without(body, "totals"))
    if shape == "wrong_types":
        return Answer(status, _mistyped_answer(body))
    raise ValueError(f"no shape {shape!r}; one of {', '.join(SHAPES)}")


def _cart(body: Any) -> Mapping[str, Any] | None:
    """The cart of a cart answer (``{"selection": {...}, ...}``), if it is one."""
    if isinstance(body, Mapping) and "order" not in body:
        cart = body.get("selection")
        if isinstance(cart, Mapping):
            return cart
    return None


def _nested(body: Any) -> Mapping[str, Any] | None:
    """The order of an answer that nests it (``{"order": {"order": ..., ...}, ...}``), if any."""
    if isinstance(body, Mapping):
        order = body.get("order")
        if isinstance(order, Mapping) and "order" in order:
            return order
    return None


def _elided(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return body
    kept: dict[str, Any] = {key: body[key] for key in _KEEP if key in body}
    cart = _cart(body)
    if cart is not None:
        kept["selection"] = {"selection": cart.get("selection"), _ELIDED: _ELIDED}
    order = _nested(body)
    if order is not None:
        kept["order"] = {"order": order["order"], _ELIDED: _ELIDED}
    return {**kept, _ELIDED: _ELIDED}


def _without(body: Any, part: str) -> Any:
    if not isinstance(body, Mapping):
        return body
    cart = _cart(body)
    if cart is not None:
        return {**body, "selection": {k: v for k, v in cart.items() if k != part}}
    order = _nested(body)
    if order is not None:
        return {**body, "order": {k: v for k, v in order.items() if k != part}}
    return {k: v for k, v in body.items() if k != part}


def _mistyped_answer(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return _mistyped(body)
    out = {key: value if key in _KEEP else _mistyped(value) for key, value in body.items()}
    cart = _cart(body)
    if cart is not None:
        out["selection"] = {
            key: value if key == "selection" else _mistyped(value) for key, value in cart.items()
        }
    order = _nested(body)
    if order is not None:
        out["order"] = {
            key: value if key == "order" else _mistyped(value) for key, value in order.items()
        }
    return out


def _mistyped(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if value is None:
        return 0
    if isinstance(value, Mapping):
        return {key: _mistyped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return {str(index): _mistyped(item) for index, item in enumerate(value)}
    return value
