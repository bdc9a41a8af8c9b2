"""How the Storefront API answers, decoded into the core's types. Pure (no httpx).

An answer is a GraphQL envelope ``{data, errors?, extensions: {token, traceId}}``. Its statuses
have been through the error table already (``orderflow.adapters.http.table``); then:

- A status the table leaves to the dialect (4xx): 401 and 403 are ``AuthenticationFailed``
  (the token was refused), any other a ``CentraError`` with the errors' messages, unless its
  GraphQL errors show that execution had started (``data``, or a ``path``): those are read as
  a 200's, below, since a status is no proof that a payment did not happen.
- ``errors`` and no ``data`` key at all, none with a ``path`` and none saying the server failed
  (``extensions.code`` ``INTERNAL_SERVER_ERROR``, ``extensions.category`` ``internal``): a
  request error, in the GraphQL spec's words (the document, the operation or the variables
  were refused before anything ran): ``CentraError`` 400 naming ``query``. Nothing was done,
  so this is a refusal for a money call too.
- ``errors`` next to ``data`` (even ``null``), or with a ``path``: execution started and
  something failed while running (Centra may have acted): the table's ``FAILING`` outcome,
  ``OutcomeUnknown`` for a call that moves money and ``CentraUnavailable`` for another (a read
  is retried), unless the answer shows an order anyway (then it is the order).
- ``errors`` that are not a list of objects: a malformed answer (``PayloadError``, which the
  table makes ``OutcomeUnknown`` for a call that moves money).
- ``userErrors`` in the payload, when it shows no order (an order shown is the order, as above):
  the refusal a REST dialect gives (``wire.refusal``), decoded as every dialect decodes it: a
  decline naming ``paymentMethod`` is a ``FailedAction``, out of stock an ``OutOfStock`` with
  the cart as it is now, any other a ``CentraError`` 400 with ``{path: message}``.
- The data: the payload's object in the REST shape (``wire``), decoded by the shared decoders.

Every decoded answer carries ``extensions.token`` (``token``), and so does every ``CentraError``
and ``CentraUnavailable`` raised from an answer (``error.token``): the service keeps the newest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from orderflow.adapters.http import answers, table
from orderflow.adapters.http.table import Outcome
from orderflow.adapters.storefront_api import wire
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    FieldProblem,
    OrderflowError,
    PayloadError,
)
from orderflow.payment import PaymentAction
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

__all__ = [
    "AUTH_HINT",
    "decode_action",
    "decode_cart",
    "decode_created",
    "decode_payment_result",
    "decode_read",
]

T = TypeVar("T")

AUTH_HINT: Final = (
    "the Storefront API refused the token (Authorization: Bearer): check the shared "
    "session-mode token, or start a new session"
)
_Data = Mapping[str, Any]
_SUCCEEDED: Final = "PaymentResultSuccessPayload"
_FAILED: Final = "PaymentResultFailedPayload"


class _Envelope:
    """An answer's ``data``, ``token`` and the messages of the fields that failed."""

    def __init__(self, data: _Data, token: str | None, failed: list[str]):
        self.data = data
        self.token = token
        self.failed = failed

    def field(self, name: str) -> _Data:
        value = self.data.get(name)
        if not isinstance(value, Mapping):
            raise _malformed(f"no `{name}` in the answer's data")
        return value


def _malformed(problem: str) -> PayloadError:
    return PayloadError("answer", [FieldProblem("$.data", problem)])


def _messages(errors: Any) -> list[str]:
    if not isinstance(errors, list):
        return []
    return [str(e.get("message")) if isinstance(e, Mapping) else str(e) for e in errors]


def _opened(label: str, status: int, body: Any) -> _Envelope:
    """The envelope of an answer, or the refusal its status or request errors say."""
    if not isinstance(body, Mapping):
        raise PayloadError("answer", [FieldProblem("$", "not a GraphQL answer (a JSON object)")])
    token = _token_of(body)
    errors = body.get("errors")
    said = "; ".join(_messages(errors)) or table.message_of(body)
    graphql = isinstance(errors, list) and all(isinstance(e, Mapping) for e in errors)
    if not 200 <= status < 300:
        if isinstance(body.get("errors"), Mapping):  # a REST error body (a proxy, a gateway)
            answers.raise_refusal(label, status, body, auth_hint=AUTH_HINT)
        if status in (401, 403):
            hint = f"{AUTH_HINT} ({said})" if said else AUTH_HINT
            raise AuthenticationFailed(status, {"token": "refused"}, hint, endpoint=label)
        if not (graphql and errors and _ran(body, errors)):
            raise CentraError(status, {"request": said or "refused"}, said, endpoint=label)
        # A refusing status over an answer whose execution had started proves nothing was
        # done no more than a 200 would: the errors decide, as below.
    if errors is not None and not graphql:
        raise PayloadError("answer", [FieldProblem("$.errors", "not a list of GraphQL errors")])
    errors = errors or []
    ran = errors if _ran(body, errors) else []
    if errors and not ran:
        raise CentraError(400, {"query": said or "refused"}, said, endpoint=label)
    data = body.get("data")
    if not isinstance(data, Mapping):
        if ran:
            return _Envelope({}, token, _messages(ran))
        raise _malformed("no data")
    return _Envelope(data, token, _messages(ran))


def _ran(body: Mapping[str, Any], errors: list[Mapping[str, Any]]) -> bool:
    """Whether execution may have started (GraphQL spec, "Response"): a request error, raised
    before execution, comes without a ``data`` key; with ``data`` (even null), an error naming a
    field's ``path``, or one that says the server failed (``_INTERNAL``: it may have come after
    the operation ran), it may have."""
    return "data" in body or any(e.get("path") or _internal(e) for e in errors)


_INTERNAL: Final = (("code", "INTERNAL_SERVER_ERROR"), ("category", "internal"))
"""How an error says the server failed: Apollo's ``extensions.code``, graphql-php's
``extensions.category``."""


def _internal(error: Mapping[str, Any]) -> bool:
    extensions = error.get("extensions")
    if not isinstance(extensions, Mapping):
        return False
    return any(extensions.get(key) == value for key, value in _INTERNAL)


def _failing(label: str, moves_money: bool, envelope: _Envelope) -> OrderflowError:
    reason = "GraphQL errors while running: " + "; ".join(envelope.failed)
    failure = table.error(Outcome.FAILING, endpoint=label, moves_money=moves_money, reason=reason)
    assert failure is not None
    return failure


def _kept_token(decode: Callable[..., T]) -> Callable[..., T]:
    """``decode``, with the answer's token (``extensions.token``) set on the ``CentraError`` or
    ``CentraUnavailable`` (errors raised while running) it raises, unless it has one."""

    @functools.wraps(decode)
    def decoded(*args: Any, **kwargs: Any) -> T:
        try:
            return decode(*args, **kwargs)
        except (CentraError, CentraUnavailable) as error:
            body = args[2] if len(args) > 2 else kwargs.get("body")
            token = _token_of(body) if isinstance(body, Mapping) else None
            if token is not None and getattr(error, "token", None) is None:
                error.token = token
            raise

    return decoded


def sendable(token: str) -> bool:
    """Whether ``token`` can be sent back (``Authorization: Bearer``): printable ASCII without
    spaces."""
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


def _token_of(body: Mapping[str, Any]) -> str | None:
    """The answer's ``extensions.token``; ``None`` when it has none, or one that could not be
    sent back (then the checkout keeps the last token it had instead of one that no later
    request could carry)."""
    extensions = body.get("extensions")
    token = extensions.get("token") if isinstance(extensions, Mapping) else None
    return token if isinstance(token, str) and sendable(token) else None


def _problems(payload: _Data) -> list[Mapping[str, Any]]:
    found = payload.get("userErrors")
    return [e for e in found if isinstance(e, Mapping)] if isinstance(found, list) else []


def _cart_of(payload: _Data, token: str | None) -> dict[str, Any] | None:
    shown = payload.get("selection")
    return wire.cart(shown, token) if isinstance(shown, Mapping) else None


def _same(label: str, selection: str | None, shown: Mapping[str, Any]) -> None:
    got = shown.get("id")
    if selection is not None and got != selection:
        raise AuthenticationFailed(
            401,
            {"token": f"stands for selection {got}, not {selection}"},
            "the session token no longer stands for this selection (it expired or was replaced)",
            endpoint=label,
        )


# --- the decoders: (label, status, body), each through the shared REST decoders ---------------


@_kept_token
def decode_created(label: str, status: int, body: Any, *, field: str) -> SelectionResponse:
    """A new session's selection (``selection``, or a ``setCountryState`` payload); no token,
    or one it cannot be sent back with, is a ``PayloadError`` (a later answer's is no token)."""
    envelope = _opened(label, status, body)
    extensions = body.get("extensions")
    said = extensions.get("token") if isinstance(extensions, Mapping) else None
    if said is not None and envelope.token is None:
        problem = "not a session token that can be sent back (printable ASCII, no spaces)"
        raise PayloadError("answer", [FieldProblem("$.extensions.token", problem)])
    if envelope.failed:
        raise _failing(label, False, envelope)
    if field == "selection":
        shown: Any = envelope.data.get("selection")
    else:
        payload = envelope.field(field)
        problems = _problems(payload)
        if problems:
            code, rest = wire.refusal(problems, _cart_of(payload, envelope.token), envelope.token)
            return answers.decode_selection(label, code, rest, auth_hint=AUTH_HINT)
        shown = payload.get("selection")
    if not isinstance(shown, Mapping) or not isinstance(shown.get("id"), str):
        raise _malformed("no selection with an id")
    if envelope.token is None:  # no later request of the session could be sent
        problem = "no session token: a new session's answer carries the one to send next"
        raise PayloadError("answer", [FieldProblem("$.extensions.token", problem)])
    return answers.decode_selection(label, 200, wire.cart(shown, envelope.token))


@_kept_token
def decode_cart(
    label: str, status: int, body: Any, *, field: str, selection: str | None
) -> SelectionResponse:
    """A cart change's payload: the selection, or its refusal. Out of stock in Centra's
    aggressive mode, when part of the change was left out, is the cart with its
    ``unavailable`` list, as the REST dialects answer it."""
    envelope = _opened(label, status, body)
    if envelope.failed:
        raise _failing(label, False, envelope)
    payload = envelope.field(field)
    problems = _problems(payload)
    cart = _cart_of(payload, envelope.token)
    shown = payload.get("selection")
    if problems:
        left = wire.unavailable(problems)
        partly = left and any(entry.get("available") for entry in left)
        if cart is not None and partly and len(wire.stock_problems(problems)) == len(problems):
            assert isinstance(shown, Mapping)
            _same(label, selection, shown)
            return answers.decode_selection(label, 200, {**cart, "unavailable": left})
        code, rest = wire.refusal(problems, cart, envelope.token)
        return answers.decode_selection(label, code, rest, auth_hint=AUTH_HINT)
    if cart is None or not isinstance(shown, Mapping):
        raise _malformed(f"no `{field}.selection`")
    _same(label, selection, shown)
    return answers.decode_selection(label, 200, cart)


@_kept_token
def decode_read(
    label: str, status: int, body: Any, *, selection: str
) -> SelectionResponse | Receipt:
    """Reading the selection: the session's latest order once the selection became it, else
    the selection (which must still be the one the service holds). The order is the answer
    even when other fields failed while running (the session's fresh selection, say): that read
    is how an unknown payment outcome is settled."""
    envelope = _opened(label, status, body)
    order, shown = envelope.data.get("order"), envelope.data.get("selection")
    became = not isinstance(shown, Mapping) or shown.get("id") != selection
    if _order_shown(order) is not None and became:
        assert isinstance(order, Mapping)
        return answers.decode_selection_or_order(label, 200, wire.receipt(order, envelope.token))
    if envelope.failed:
        raise _failing(label, False, envelope)
    if isinstance(order, Mapping) and became:
        return answers.decode_selection_or_order(label, 200, wire.receipt(order, envelope.token))
    if not isinstance(shown, Mapping):
        raise _malformed("no `selection`")
    _same(label, selection, shown)
    return answers.decode_selection_or_order(label, 200, wire.cart(shown, envelope.token))


def _order_shown(payload: Any, *path: str) -> Mapping[str, Any] | None:
    for key in path:
        payload = payload.get(key) if isinstance(payload, Mapping) else None
    order = payload
    if isinstance(order, Mapping) and order.get("number") is not None:
        return order
    return None


@_kept_token
def decode_action(label: str, status: int, body: Any) -> PaymentAction:
    """Starting the payment (``paymentInstructions``): one action, a decline, or a refusal. An
    order shown (a ``SuccessPaymentAction``'s) is the success, next to errors or ``userErrors``
    too: the payload is the last valid state, and the order was placed."""
    envelope = _opened(label, status, body)
    payload = envelope.data.get("paymentInstructions")
    order = _order_shown(payload, "action", "order")
    if order is not None:  # placed: whatever else the answer says (errors, userErrors)
        success = {**wire.receipt(order, envelope.token), "action": "success"}
        return answers.decode_action(label, 200, success, auth_hint=AUTH_HINT)
    if envelope.failed:
        raise _failing(label, True, envelope)
    payload = envelope.field("paymentInstructions")
    problems = _problems(payload)
    if problems:
        code, rest = wire.refusal(problems, _cart_of(payload, envelope.token), envelope.token)
        return answers.decode_action(label, code, rest, auth_hint=AUTH_HINT)
    shown = payload.get("action")
    if not isinstance(shown, Mapping):
        raise _malformed("neither an action nor userErrors")
    return answers.decode_action(label, 200, wire.action(shown, envelope.token))


@_kept_token
def decode_payment_result(label: str, status: int, body: Any) -> Receipt | PaymentAction:
    """The payment result (``paymentResult``): the order, a decline, or a refusal.

    Only an explicit failure without ``userErrors`` (``type: FAILED``, or a
    ``PaymentResultFailedPayload``) is a decline; a success without its order (an order
    without a ``number``), and a payload that says neither (``{}``, ``type: null``), do not
    decode: the table makes them ``OutcomeUnknown``, never a decline made up."""
    envelope = _opened(label, status, body)
    payload = envelope.data.get("paymentResult")
    order = _order_shown(payload, "order")
    if envelope.failed and order is None:
        raise _failing(label, True, envelope)
    if order is not None:
        return answers.decode_payment_result(label, 200, wire.receipt(order, envelope.token))
    payload = envelope.field("paymentResult")
    kind, typename = payload.get("type"), payload.get("__typename")
    if kind == "SUCCESS" or typename == _SUCCEEDED:
        raise _malformed("a successful payment result without its order")
    problems = _problems(payload)
    if not problems:
        if kind != "FAILED" and typename != _FAILED:
            raise _malformed("a payment result neither with an order, FAILED nor userErrors")
        problems = [{"message": "failed", "path": ["paymentMethod"]}]
    code, rest = wire.refusal(problems, _cart_of(payload, envelope.token), envelope.token)
    return answers.decode_payment_result(label, code, rest, auth_hint=AUTH_HINT)
