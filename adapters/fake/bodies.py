"""What the fake Centra accepts in a request body: JSON it can keep and send back, and for each
endpoint the fields Shop API v1 takes, each of its type.

``problems(body)`` finds what no endpoint accepts (nesting past ``MAX_DEPTH``, numbers that are
not finite, strings that are not Unicode); ``field_problems(kind, body)`` what this endpoint does
not: unknown fields (``"unknown"``, as Shop API v1 answers) and fields of the wrong type. Both
return Centra's ``{field: message}``, empty when the body is fine. ``None`` is accepted for
every field and means "not given", as Centra's own examples send ``"shippingAddress": null``.

The fields are the dialect's (``CHECKOUT_FIELD_KEYS``, ``PAYMENT_KEYS``) plus those Centra's
documentation uses that our dialect does not send: ``country`` on create, ``subscriptionPlan``
(a plan id: a whole number, or one written as text) and ``comment`` on add-item,
``cartAbandonmentEmail`` and ``email`` on checkout fields (the cart-abandonment page),
``giftMessage``, ``newsletter`` and ``paymentInitiateOnly`` on payment (``docs/fidelity.md``
names the pages). ``termsAndConditions`` is ``true``, ``"true"`` or ``"1"`` (the Checkout API's
examples); the address's ``newsletter``, ``loggedIn`` and ``register`` are true or false.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from orderflow.adapters.fake.answer import RequestKind
from orderflow.adapters.shop_api import dialect
from orderflow.calls import CallKind
from orderflow.limits import MAX_INT

MAX_DEPTH = 64
"""The deepest nesting of a body the fake accepts. Centra documents none; every documented body
(Adyen's nested return fields) is a few levels deep, and nothing the fake does with a body
recurses past the stack at this depth."""

Check = Callable[[Any], str | dict[str, str] | None]
"""A field's check: ``None`` when fine, else its message (or its sub-fields' messages)."""


def problems(body: Any) -> dict[str, str]:
    """What makes ``body`` JSON that the fake cannot keep and send back, by JSON path."""
    if _fits(body, 0):
        return {}
    return _located(body)


def _fits(value: Any, depth: int) -> bool:
    """Whether ``value`` (at ``depth``) certainly has none of ``problems``' problems: plain
    JSON of the exact built-in types within ``MAX_DEPTH``. ``False`` only means "ask
    ``_located``", which finds the problem and its path.

    The fast path of every request body: it builds no path and encodes only the strings that
    are not ASCII (measured on the seed's payment body: ~4 µs, where ``_located`` takes ~40).
    """
    kind = type(value)
    if kind is dict:
        if value and depth >= MAX_DEPTH:
            return False
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _unicode(key)):
                return False
            kind = type(item)
            if kind is str:
                if not (item.isascii() or _unicode(item)):
                    return False
            elif kind not in _SCALARS and not _fits(item, depth + 1):
                return False
        return True
    if kind is str:
        return value.isascii() or _unicode(value)
    if kind is list or kind is tuple:
        if value and depth >= MAX_DEPTH:
            return False
        return all(type(item) in _SCALARS or _fits(item, depth + 1) for item in value)
    if kind is float:
        return math.isfinite(value)
    return kind in _SCALARS


_SCALARS = frozenset({int, bool, type(None)})
"""The exact types that are always fine where they may be (``_fits`` looks at the others)."""


def _located(body: Any) -> dict[str, str]:
    """``problems``, walked with each value's JSON path (only when ``_fits`` said no)."""
    stack: list[tuple[str, Any, int]] = [("body", body, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return {path: f"nested deeper than {MAX_DEPTH} levels"}
        if isinstance(value, float) and not math.isfinite(value):
            return {path: "not a finite number"}
        if isinstance(value, str) and not _unicode(value):
            return {path: "not valid Unicode"}
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str) or not _unicode(key):
                    return {path: "an object key that is not valid Unicode text"}
                stack.append((f"{path}.{key[:40]}", item, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
        elif not (value is None or isinstance(value, str | int | float)):
            return {path: "not a JSON value"}
    return {}


def field_problems(kind: RequestKind, body: Mapping[str, Any] | None) -> dict[str, str]:
    """Centra's field errors for ``body`` at an endpoint: unknown fields, wrong types."""
    if body is None:
        return {}
    fields = _FIELDS.get(kind, {})
    found: dict[str, str] = {}
    for key, value in body.items():
        check = fields.get(key)
        if check is None:
            found[key] = "unknown"
        elif value is not None:
            problem = check(value)
            if problem is not None:
                found.update(_named(key, problem))
    return found


def _named(key: str, problem: str | dict[str, str] | None) -> dict[str, str]:
    if problem is None:
        return {}
    if isinstance(problem, dict):
        return {f"{key}.{k}": v for k, v in problem.items()}
    return {key: problem}


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be text"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _whole(value: Any) -> str | None:
    if type(value) is int and 1 <= value <= MAX_INT:
        return None
    return "must be a whole number of at least 1"


def _object(value: Any) -> str | None:
    return None if type(value) is dict or isinstance(value, Mapping) else "must be an object"


def _any(value: Any) -> str | None:
    return None


def _plan(value: Any) -> str | None:
    if type(value) is int and 1 <= value <= MAX_INT:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return None
    return "must be a plan id"


def _terms(value: Any) -> str | None:
    # The value is checked by the payment ("must be true"); here only its type.
    return None if isinstance(value, bool | str) else 'must be true, "true" or "1"'


_ADDRESS_FLAGS = ("newsletter", "loggedIn", "register")
_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Exact types that are neither a ``Mapping`` nor a ``list`` (skips the ABC check)."""


def _address(value: Any) -> str | dict[str, str] | None:
    if type(value) is not dict and not isinstance(value, Mapping):
        return "must be an object"
    found: dict[str, str] = {
        key: "must be text, a number or true or false"
        for key, item in value.items()
        if type(item) not in _PLAIN and isinstance(item, Mapping | list)
    }
    country = value.get("country")
    if country is not None and not isinstance(country, str):
        found["country"] = "must be text"
    for flag in _ADDRESS_FLAGS:
        if value.get(flag) is not None and not isinstance(value[flag], bool):
            found[flag] = "must be true or false"
    return found or None


_TYPES: dict[str, Check] = {
    "paymentMethod": _text,
    "shippingMethod": _text,
    "address": _address,
    "shippingAddress": _address,
    "termsAndConditions": _terms,
    "consents": _any,
    "additionalFields": _any,
    "customerClubFields": _any,
    "internalOrder": _flag,
    "ipAddress": _text,
    "cartAbandonmentEmail": _flag,
    "selection": _text,
    "paymentReturnPage": _text,
    "paymentFailedPage": _text,
    "paymentMethodCallbackPage": _text,
    "paymentMethodSpecificFields": _any,
    "giftMessage": _text,
    "paymentInitiateOnly": _flag,
    "newsletter": _flag,
    "email": _text,
}


def _spec(*keys: str) -> dict[str, Check]:
    return {key: _TYPES.get(key, _any) for key in keys}


_FIELDS: dict[RequestKind, dict[str, Check]] = {
    CallKind.CREATE_SELECTION: {"country": _text},
    CallKind.ADD_ITEM: {"quantity": _whole, "comment": _text, "subscriptionPlan": _plan},
    CallKind.APPLY_VOUCHER: {"voucher": _text},
    CallKind.SET_CHECKOUT_FIELDS: _spec(
        *dialect.CHECKOUT_FIELD_KEYS, "cartAbandonmentEmail", "email"
    ),
    CallKind.START_PAYMENT: _spec(
        *dialect.PAYMENT_KEYS, "giftMessage", "paymentInitiateOnly", "newsletter"
    ),
    CallKind.PAYMENT_RESULT: {"selection": _text, "paymentMethodFields": _object},
}
"""The fields each endpoint takes; an endpoint not named here takes none."""
