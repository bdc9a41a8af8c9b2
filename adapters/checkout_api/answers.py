"""How the Checkout API's answers differ from the Shop API's, and their decoders. Pure (no httpx).

Each answer is first put in the shape every Centra REST dialect decodes
(``orderflow.adapters.http.answers``), then decoded there, so a refusal, a decline, an
action, out of stock and an order mean the same in both dialects. The differences, as the
Checkout API's pages show them (``tests/data/checkout-api/INDEX.md``):

- **No selection id.** The session token stands for the selection. The selection keeps the
  id its answer carries (``selection.selection``) or, when it carries none, the id the service
  holds (``call.selection``); a new session's id is ``selection_id(token)``: a hash of its
  first token, so a token never becomes an id nor shows in a log.
- **Each line nests its product** (``items[].product`` is an object): the line's ``product``
  becomes the product's display id, ``productName``, ``brandName``, ``silkProduct`` and
  ``silkVariant`` are filled from ``name``, ``brandName``, ``centraProduct`` and
  ``centraVariant`` when the line has none, and the whole object is kept in the line's
  ``extra`` under ``PRODUCT_KEY``.
- **The order is nested** under ``order`` (``{token, order: {...}, language, countries,
  location}``; the older form is flat, with ``order`` the order number): the receipt is the
  inner object with the answer's ``token``, and the parts around it are kept in its ``extra``
  under ``SESSION_KEY``.
- **Every answer has a token**, errors too. It is on every decoded answer (``token``); a
  ``CentraError`` raised from an answer carries it as ``token`` (the service keeps it), as
  does the reduced selection of an ``OutOfStock``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from orderflow.adapters.http import answers
from orderflow.errors import CentraError, FieldProblem, PayloadError
from orderflow.payment import PaymentAction
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

__all__ = [
    "AUTH_HINT",
    "PRODUCT_KEY",
    "SESSION_KEY",
    "decode_action",
    "decode_created",
    "decode_payment_result",
    "decode_selection",
    "decode_selection_or_order",
    "normalised",
    "selection_id",
]

T = TypeVar("T")

PRODUCT_KEY: Final = "productObject"
"""Where a line keeps the product object the Checkout API nests in it (``Item.extra``)."""
SESSION_KEY: Final = "session"
"""Where a receipt keeps the parts of the answer around a nested order (``Receipt.extra``):
``language`` (or ``languages``), ``countries``, ``location``."""
AUTH_HINT: Final = (
    "the Checkout API refused this client: check the shared secret (Authorization: Bearer) "
    "and the plugin's allowed origins"
)

_SELECTION_ID_PREFIX: Final = "ca-"
_FROM_PRODUCT: Final = (
    ("productName", "name"),
    ("brandName", "brandName"),
    ("silkProduct", "centraProduct"),
    ("silkVariant", "centraVariant"),
)


def selection_id(token: str) -> str:
    """The id of the selection a session started with ``token`` (its first token) stands for:
    stable, and telling nothing of the token."""
    digest = hashlib.sha256(b"orderflow checkout-api selection\0" + token.encode()).hexdigest()
    return _SELECTION_ID_PREFIX + digest[:32]


def normalised(body: Any, selection: str | None) -> Any:
    """``body`` in the shape the shared decoders read (see the module docstring); anything
    that is not an object is returned as it is, for them to refuse."""
    if not isinstance(body, Mapping):
        return body
    data = dict(body)
    cart = data.get("selection")
    if isinstance(cart, Mapping):
        cart = _with_lines(cart)
        if "selection" not in cart and selection is not None:
            cart = {"selection": selection, **cart}
        data["selection"] = cart
        return data
    order = data.get("order")
    if isinstance(order, Mapping) and "order" in order:
        flat = _with_lines(order)
        around = {k: v for k, v in data.items() if k not in ("order", "token", "action")}
        for key in ("action", "token"):
            if key in data:
                flat[key] = data[key]
        if around:
            flat[SESSION_KEY] = around
        return flat
    return _with_lines(data)


def _with_lines(data: Mapping[str, Any]) -> dict[str, Any]:
    flat = dict(data)
    items = flat.get("items")
    if isinstance(items, list):
        flat["items"] = [_line(line) for line in items]
    return flat


def _line(line: Any) -> Any:
    if not isinstance(line, Mapping) or not isinstance(line.get("product"), Mapping):
        return line
    product: Mapping[str, Any] = line["product"]
    flat = {k: v for k, v in line.items() if k != "product"}
    shown = _text(product.get("product"))
    if shown is not None:
        flat["product"] = shown
    for wire, key in _FROM_PRODUCT:
        value = _text(product.get(key))
        if value is not None and flat.get(wire) is None:
            flat[wire] = value
    flat[PRODUCT_KEY] = dict(product)
    return flat


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


# --- the decoders: ``(selection, label, status, body)``, each keeping the answer's token --------


def _kept_token(decode: Callable[..., T]) -> Callable[..., T]:
    """``decode`` on the normalised body; the body's token set on the error it raises (the
    shared decoders set it on the answers)."""

    @functools.wraps(decode)
    def decoded(selection: str | None, label: str, status: int, body: Any) -> T:
        body = without_unsendable_token(body)
        try:
            return decode(label, status, normalised(body, selection))
        except CentraError as error:
            token = body.get("token") if isinstance(body, Mapping) else None
            if isinstance(token, str):
                error.token = token
            raise

    return decoded


def sendable(token: str) -> bool:
    """Whether ``token`` can be sent back as the ``API-token`` header: printable ASCII."""
    return bool(token) and token.isascii() and token.isprintable()


def without_unsendable_token(body: Any) -> Any:
    """``body`` without its ``token`` when that could not be sent back (not printable ASCII,
    not text): such a token is no token, so the checkout keeps the last one it had instead of
    one that no later request could carry. A new session's answer then has no token, which
    ``decode_created`` refuses."""
    if not isinstance(body, Mapping) or "token" not in body:
        return body
    token = body["token"]
    if token is None or (isinstance(token, str) and sendable(token)):
        return body
    return {k: v for k, v in body.items() if k != "token"}


def _selection(label: str, status: int, body: Any) -> SelectionResponse:
    try:
        return answers.decode_selection(label, status, body, auth_hint=AUTH_HINT)
    except PayloadError:
        _out_of_stock_without_cart(label, status, body)
        raise


def _selection_or_order(label: str, status: int, body: Any) -> SelectionResponse | Receipt:
    return answers.decode_selection_or_order(label, status, body, auth_hint=AUTH_HINT)


def _action(label: str, status: int, body: Any) -> PaymentAction:
    try:
        return answers.decode_action(label, status, body, auth_hint=AUTH_HINT)
    except PayloadError:
        _out_of_stock_without_cart(label, status, body)
        raise


def _payment_result(label: str, status: int, body: Any) -> Receipt | PaymentAction:
    try:
        return answers.decode_payment_result(label, status, body, auth_hint=AUTH_HINT)
    except PayloadError:
        _out_of_stock_without_cart(label, status, body)
        raise


def _out_of_stock_without_cart(label: str, status: int, body: Any) -> None:
    """A 410 whose selection does not decode (the pages print it elided) is still out of
    stock: Centra removed the items. Raise ``OutOfStock`` without the cart; return otherwise."""
    if status != 410 or not isinstance(body, Mapping) or "selection" not in body:
        return
    rest = {k: v for k, v in body.items() if k != "selection"}
    answers.raise_refusal(label, status, rest, auth_hint=AUTH_HINT)


decode_selection = _kept_token(_selection)
"""A cart call's answer, ``decode_selection(selection, label, status, body)``: the selection
(``selection`` is the id it keeps when the answer carries none)."""
decode_selection_or_order = _kept_token(_selection_or_order)
"""Reading the selection: the selection, or the order's receipt once it became one."""
decode_action = _kept_token(_action)
"""Starting a payment: one action, a decline (``FailedAction``), or the refusal."""
decode_payment_result = _kept_token(_payment_result)
"""The payment result: the receipt, a decline, (rarely) a new action, or the refusal."""


def decode_created(label: str, status: int, body: Any) -> SelectionResponse:
    """A new session's first answer: its selection, whose id is ``selection_id(token)``.
    Raises ``PayloadError`` for a 2xx whose token could not be sent back."""
    kept = without_unsendable_token(body)
    if kept is not body and 200 <= status < 300:
        problem = FieldProblem(
            "$.token", "not a session token that can be sent back (printable ASCII)"
        )
        raise PayloadError("SelectionResponse", [problem], source=label)
    body = kept
    token = body.get("token") if isinstance(body, Mapping) else None
    selection = selection_id(token) if isinstance(token, str) else None
    return decode_selection(selection, label, status, body)
