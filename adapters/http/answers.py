"""How Centra's REST dialects (the Shop API, the Checkout API) answer, beyond the status: the
decoders of a cart, a read selection, a payment's action and a payment result, over error
bodies, declines, out of stock, and an order flat or nested. Pure (no httpx). Each decoder is
``decode_x(endpoint, status, body)``; a dialect runs it behind the error table
(``table.decoded``), which has already decided every status that decides on its own.

An error body is ``{"errors": {"<field>": "<message>"}}``, sometimes with ``message``,
``messages`` (a list) and ``code``. A declined payment is such a body naming
``paymentMethod`` (the Shop API), or an action ``"failed"`` (the Checkout API): both are a
``FailedAction``. A 410 lists the ``unavailable`` items next to the reduced selection (and,
after a payment result, a ``cancellation``, kept on the ``OutOfStock`` error). An
answer showing an order has ``order`` flat next to the receipt's fields (the Shop API) or an
object under ``order`` (as some pages and the Checkout API show it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderflow import codec
from orderflow.adapters.http.table import message_of
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    FieldProblem,
    OutOfStock,
    PayloadError,
)
from orderflow.payment import FailedAction, PaymentAction, SuccessAction
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse, UnavailableItem

__all__ = [
    "declined",
    "decode_action",
    "decode_payment_result",
    "decode_selection",
    "decode_selection_or_order",
    "failed_action",
    "field_errors",
    "order_in",
    "raise_errors_only",
    "raise_refusal",
]


def decode_selection(
    endpoint: str, status: int, body: Any, *, auth_hint: str = ""
) -> SelectionResponse:
    """A cart call's answer: ``{"selection": ..., "paymentMethods": ...}``.

    A selection that became an order answers with the order; that is a ``CentraError`` naming
    it, since the cart cannot change any more.
    """
    raise_refusal(endpoint, status, body, auth_hint=auth_hint)
    order = order_in(body)
    if order is not None:
        raise CentraError(
            status,
            {"selection": "already an order"},
            f"the selection became order {order.get('order')}; read its receipt",
            endpoint=endpoint,
        )
    return codec.structure(body, SelectionResponse, source=endpoint)


def decode_selection_or_order(
    endpoint: str, status: int, body: Any, *, auth_hint: str = ""
) -> SelectionResponse | Receipt:
    """Reading a selection: the selection, or (once it became one) the order's receipt."""
    raise_refusal(endpoint, status, body, auth_hint=auth_hint)
    order = order_in(body)
    if order is not None:
        return codec.structure_receipt(order, source=endpoint)[0]
    return codec.structure(body, SelectionResponse, source=endpoint)


def decode_action(endpoint: str, status: int, body: Any, *, auth_hint: str = "") -> PaymentAction:
    """Starting a payment's answer: one action, a decline (``FailedAction``), or a refusal."""
    decline = declined(status, body)
    if decline is not None:
        return decline
    raise_refusal(endpoint, status, body, auth_hint=auth_hint)
    return _action(endpoint, status, body)


def decode_payment_result(
    endpoint: str, status: int, body: Any, *, auth_hint: str = ""
) -> Receipt | PaymentAction:
    """The payment result's answer: the receipt (``order`` in the body), a decline, a new
    action (rarely), or a refusal."""
    decline = declined(status, body)
    if decline is not None:
        return decline
    raise_refusal(endpoint, status, body, auth_hint=auth_hint)
    order = order_in(body)
    if order is not None:
        return codec.structure_receipt(order, source=endpoint)[0]
    if isinstance(body, Mapping) and "action" in body:
        return _action(endpoint, status, body)
    raise_errors_only(endpoint, status, body)
    problem = FieldProblem("$", "neither an order (`order`) nor an action (`action`)")
    raise PayloadError("Receipt", [problem], source=endpoint)


def _action(endpoint: str, status: int, body: Any) -> PaymentAction:
    if not isinstance(body, Mapping) or "action" not in body:
        raise_errors_only(endpoint, status, body)
        return codec.structure_action(body, source=endpoint)  # raises, saying what is missing
    kind = body.get("action")
    if kind == "failed":
        return failed_action(body)
    if kind == "success":
        order = order_in({k: v for k, v in body.items() if k != "action"})
        if order is not None:
            return SuccessAction(codec.structure_receipt(order, source=endpoint)[0])
    if kind == "javascript" and "code" not in body and isinstance(body.get("script"), str):
        body = {**body, "code": body["script"]}  # the script to run, by its other name
    return codec.structure_action(dict(body), source=endpoint)


def raise_refusal(endpoint: str, status: int, body: Any, *, auth_hint: str = "") -> None:
    """Raise the refusal of a non-2xx answer; return for a 2xx.

    410 ``OutOfStock`` (the unavailable items, the reduced selection), 401/403
    ``AuthenticationFailed`` (its message starts with ``auth_hint``), any other
    ``CentraError`` with the body's ``{field: message}``, message and code.
    """
    if 200 <= status < 300:
        return
    data = body if isinstance(body, Mapping) else {}
    errors = field_errors(data.get("errors"))
    message = message_of(data)
    code = data.get("code")
    code = str(code) if code is not None else None
    if status == 410:
        raise _out_of_stock(endpoint, data, errors)
    if status in (401, 403):
        hint = f"{auth_hint} ({message})" if auth_hint and message else auth_hint or message
        raise AuthenticationFailed(status, errors, hint, code, endpoint)
    raise CentraError(status, errors, message, code, endpoint)


def raise_errors_only(endpoint: str, status: int, body: Any) -> None:
    """Raise ``CentraError`` for a 2xx that carries only ``errors`` ("if errors is present, it
    failed"); return otherwise."""
    if isinstance(body, Mapping) and isinstance(body.get("errors"), Mapping | list):
        errors = field_errors(body["errors"])
        raise CentraError(status, errors, message_of(body), endpoint=endpoint)


def declined(status: int, body: Any) -> FailedAction | None:
    """The decline in an error body naming the payment method, or ``None``.

    Any status below 500 but 401, 403 and 410 (those the table and ``raise_refusal`` decide);
    a body with an ``action`` is an action, not this.
    """
    if status >= 500 or status in (401, 403, 410) or not isinstance(body, Mapping):
        return None
    errors = body.get("errors")
    if "action" in body or not isinstance(errors, Mapping) or "paymentMethod" not in errors:
        return None
    return failed_action(body)


def failed_action(body: Mapping[str, Any]) -> FailedAction:
    """A ``FailedAction`` from a decline body or a ``"failed"`` action, leniently: errors as
    text, ``messages``, ``message`` and ``code`` to show, the ``token`` it carried, everything
    else in ``extra``."""
    messages = body.get("messages")
    message = body.get("message")
    code = body.get("code")
    token = body.get("token")
    known = ("action", "errors", "messages", "message", "code", "token")
    return FailedAction(
        errors=field_errors(body.get("errors")),
        messages=tuple(map(str, messages)) if isinstance(messages, list) else None,
        message=message if isinstance(message, str) else None,
        code=str(code) if code is not None else None,
        token=token if isinstance(token, str) else None,
        extra={k: v for k, v in body.items() if k not in known},
    )


def order_in(body: Any) -> dict[str, Any] | None:
    """The order an answer shows, as the receipt's flat fields; ``None`` when it shows none
    (no ``order``, or a ``selection`` next to it: then it is a cart)."""
    if not isinstance(body, Mapping) or "order" not in body or "selection" in body:
        return None
    inner = body["order"]
    if isinstance(inner, Mapping) and "order" in inner:
        return {**{k: v for k, v in body.items() if k != "order"}, **inner}
    return dict(body)


def field_errors(errors: Any) -> dict[str, str]:
    """Centra's ``errors`` as ``{field: message}`` text (a list is keyed by position)."""
    if isinstance(errors, Mapping):
        return {str(k): v if isinstance(v, str) else str(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return {str(i): str(e) for i, e in enumerate(errors)}
    return {}


def _out_of_stock(endpoint: str, data: Mapping[str, Any], errors: dict[str, str]) -> OutOfStock:
    raw = data.get("unavailable")
    items = raw if isinstance(raw, list) else []
    unavailable = [codec.structure(u, UnavailableItem, source=endpoint) for u in items]
    selection = None
    if "selection" in data:
        rest = {k: v for k, v in data.items() if k not in ("errors", "unavailable", "cancellation")}
        selection = codec.structure(rest, SelectionResponse, source=endpoint)
    cancellation = data.get("cancellation")
    return OutOfStock(
        unavailable,
        selection,
        endpoint=endpoint,
        errors=errors or None,
        cancellation=cancellation if isinstance(cancellation, Mapping) else None,
    )
