"""Centra's Checkout API dialect, without I/O: the request(s) each call makes, and how each
answer (status code and parsed JSON body) becomes a core type or a core error.

Paths are relative to the API's base (``BASE_PATH``, or ``/api/checkout/<pluginId>``). There is
no selection in a path: the session token (``call.token``) is sent as ``TOKEN_HEADER`` and
stands for it. A request without one starts a new session, so only ``CreateSelection`` is sent
without; any other call without a token is refused before it is sent (a read of a new,
empty session would say "no order" of a paid selection). Statuses go through the shared
error table first (``orderflow.adapters.http.table``); the answers are put in the shape every
Centra REST dialect decodes and decoded there (``answers`` in this package).

=================== ========================================================================
call                request(s)
=================== ========================================================================
CreateSelection     ``GET selection`` without a token (an empty selection and a new token);
                    with a country, ``PUT countries/{country}`` without a token instead
ReadSelection       ``GET selection``: the selection, or ``{token, order}`` once it is an order
AddItem             ``POST items/{item}/quantity/{quantity}``
SetQuantity         ``PUT lines/{line}/quantity/{quantity}``; quantity 0: ``DELETE lines/{line}``
RemoveLine          ``DELETE lines/{line}``
ApplyVoucher        ``POST vouchers`` with ``{"voucher": code}``
RemoveVoucher       ``DELETE vouchers/{code}``
SetCountry          ``PUT countries/{country}``
SetCheckoutFields   ``PUT payment-fields`` (addresses, ``newsletter``, ``cartAbandonmentEmail``),
                    then ``PUT payment-methods/{id}`` and ``PUT shipping-methods/{id}`` (from
                    ``extra["shippingMethod"]``) when the answer has not selected them yet
StartPayment        ``POST payment`` with the payment request (no ``selection``: the token is it)
PaymentResult       ``POST payment-result`` with ``{"paymentMethodFields": fields}``
=================== ========================================================================

``SetCheckoutFields`` is the one call carried by several requests: each is a ``PUT`` that sets a
value, so repeating them all is safe, and the next one carries the token the last answer
gave. When an answer is lost mid-way, the call raises that request's error
(``CentraUnavailable``, a change may have reached Centra; ``PayloadError``): the service keeps
the checkout as it was and the shopper confirms again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs

from orderflow import codec
from orderflow.adapters.checkout_api import answers
from orderflow.adapters.http.rest import Decoder, Follow, Request, Route
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    Call,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    RemoveLine,
    RemoveVoucher,
    SetCheckoutFields,
    SetCountry,
    SetQuantity,
    StartPayment,
)
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

__all__ = [
    "BASE_PATH",
    "CORRELATION_HEADER",
    "PAYMENT_FIELD_KEYS",
    "ROUTES",
    "TOKEN_HEADER",
    "Request",
    "Route",
    "request",
]

T = TypeVar("T")

BASE_PATH: Final = "/api/checkout"
TOKEN_HEADER: Final = "API-token"
"""The session token, sent back from each answer's ``token``."""
CORRELATION_HEADER: Final = "X-Correlation-ID"
"""Sent on every request; Centra echoes it."""

PAYMENT_FIELD_KEYS: Final = ("address", "shippingAddress", "newsletter", "cartAbandonmentEmail")
"""What ``PUT payment-fields`` is sent of the details (camelCase); the pages name these."""


def _route(name: CallKind | str, method: str, template: str) -> Route:
    return Route(str(name), method, template)


_CREATE = _route(CallKind.CREATE_SELECTION, "GET", "/selection")
_CREATE_IN = _route(CallKind.CREATE_SELECTION, "PUT", "/countries/{country}")
_READ = _route(CallKind.READ_SELECTION, "GET", "/selection")
_ADD_ITEM = _route(CallKind.ADD_ITEM, "POST", "/items/{item}/quantity/{quantity}")
_SET_QUANTITY = _route(CallKind.SET_QUANTITY, "PUT", "/lines/{line}/quantity/{quantity}")
_REMOVE_LINE = _route(CallKind.REMOVE_LINE, "DELETE", "/lines/{line}")
_APPLY_VOUCHER = _route(CallKind.APPLY_VOUCHER, "POST", "/vouchers")
_REMOVE_VOUCHER = _route(CallKind.REMOVE_VOUCHER, "DELETE", "/vouchers/{code}")
_SET_COUNTRY = _route(CallKind.SET_COUNTRY, "PUT", "/countries/{country}")
_PAYMENT_FIELDS = _route(CallKind.SET_CHECKOUT_FIELDS, "PUT", "/payment-fields")
_PAYMENT_METHOD = _route("set_payment_method", "PUT", "/payment-methods/{method}")
_SHIPPING_METHOD = _route("set_shipping_method", "PUT", "/shipping-methods/{method}")
_PAYMENT = _route(CallKind.START_PAYMENT, "POST", "/payment")
_PAYMENT_RESULT = _route(CallKind.PAYMENT_RESULT, "POST", "/payment-result")

ROUTES: Final[tuple[Route, ...]] = (
    _CREATE,
    _CREATE_IN,
    _READ,
    _ADD_ITEM,
    _SET_QUANTITY,
    _REMOVE_LINE,
    _APPLY_VOUCHER,
    _REMOVE_VOUCHER,
    _SET_COUNTRY,
    _PAYMENT_FIELDS,
    _PAYMENT_METHOD,
    _SHIPPING_METHOD,
    _PAYMENT,
    _PAYMENT_RESULT,
)
"""Every route the dialect sends: ``GET selection`` and ``PUT countries/{country}`` are there
twice, each carrying a new session's first call as well as its own."""


def _header_value(value: object, name: str) -> str:
    if not isinstance(value, str):  # a UUID, bytes: refused before sending, as a bad text is
        raise TypeError(f"{name} must be text, not {type(value).__name__}")
    if not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"{name} must be printable ASCII")
    return value


def _count(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ValueError(f"a quantity is a whole number, not {quantity!r}")
    return quantity


def _make(
    route: Route,
    decoder: Decoder[T],
    headers: Mapping[str, str],
    body: dict[str, Any] | None = None,
    *,
    moves_money: bool = False,
    follow: Follow[T] | None = None,
    **params: object,
) -> Request[T]:
    carried = None if follow is None else _carrying_token(follow)
    return route.request(
        decoder, body, params=params, moves_money=moves_money, headers=headers, follow=carried
    )


def _carrying_token(follow: Follow[T]) -> Follow[T]:
    """``follow``, its next request sent with the token the answer carries (each answer may
    hand out a new one)."""

    def carrying(answer: T, sent: Mapping[str, str]) -> Request[T] | None:
        token = getattr(answer, "token", None)
        headers = dict(sent)
        if isinstance(token, str):
            headers[TOKEN_HEADER] = _header_value(token, TOKEN_HEADER)
        return follow(answer, headers)

    return carrying


def _of(selection: str | None, decode: Callable[[str | None, str, int, Any], T]) -> Decoder[T]:
    return lambda label, status, body: decode(selection, label, status, body)


# --- requests: one builder per call class ------------------------------------------------------

_Built = Request[Any]


def _create_selection(call: CreateSelection, headers: Mapping[str, str]) -> _Built:
    # No token: a request without one starts a new session.
    if call.country is None:
        return _make(_CREATE, answers.decode_created, headers)
    return _make(_CREATE_IN, answers.decode_created, headers, country=call.country)


def _read_selection(call: ReadSelection, headers: Mapping[str, str]) -> _Built:
    return _make(_READ, _of(call.selection, answers.decode_selection_or_order), headers)


def _cart(call: Any) -> Decoder[SelectionResponse]:
    return _of(call.selection, answers.decode_selection)


def _add_item(call: AddItem, headers: Mapping[str, str]) -> _Built:
    quantity = _count(call.quantity)
    return _make(_ADD_ITEM, _cart(call), headers, item=call.item, quantity=quantity)


def _set_quantity(call: SetQuantity, headers: Mapping[str, str]) -> _Built:
    if _count(call.quantity) == 0:
        return _make(_REMOVE_LINE, _cart(call), headers, line=call.line)
    return _make(_SET_QUANTITY, _cart(call), headers, line=call.line, quantity=call.quantity)


def _remove_line(call: RemoveLine, headers: Mapping[str, str]) -> _Built:
    return _make(_REMOVE_LINE, _cart(call), headers, line=call.line)


def _apply_voucher(call: ApplyVoucher, headers: Mapping[str, str]) -> _Built:
    return _make(_APPLY_VOUCHER, _cart(call), headers, {"voucher": call.code})


def _remove_voucher(call: RemoveVoucher, headers: Mapping[str, str]) -> _Built:
    return _make(_REMOVE_VOUCHER, _cart(call), headers, code=call.code)


def _set_country(call: SetCountry, headers: Mapping[str, str]) -> _Built:
    return _make(_SET_COUNTRY, _cart(call), headers, country=call.country)


def _set_checkout_fields(call: SetCheckoutFields, headers: Mapping[str, str]) -> _Built:
    decode = _cart(call)
    details: PaymentRequest = call.details
    wire = codec.unstructure(details)
    body = {k: wire[k] for k in PAYMENT_FIELD_KEYS if wire.get(k) is not None}
    shipping = details.extra.get("shippingMethod")
    wanted = [(_PAYMENT_METHOD, "paymentMethod", details.payment_method)]
    if isinstance(shipping, str) and shipping:
        wanted.append((_SHIPPING_METHOD, "shippingMethod", shipping))

    def after(done: int) -> Callable[[SelectionResponse, Mapping[str, str]], _Built | None]:
        # Each method is set at most once, and only when the last answer has not chosen it.
        def follow(answer: SelectionResponse, sent: Mapping[str, str]) -> _Built | None:
            chosen = answer.selection
            for index in range(done, len(wanted)):
                route, key, method = wanted[index]
                now = chosen.payment_method if key == "paymentMethod" else chosen.shipping_method
                if now != method:
                    return _make(route, decode, sent, follow=after(index + 1), method=method)
            return None

        return follow

    return _make(_PAYMENT_FIELDS, decode, headers, body, follow=after(0))


def _start_payment(call: StartPayment, headers: Mapping[str, str]) -> _Built:
    body = codec.unstructure(attrs.evolve(call.request, selection=None))
    body.pop("selection", None)
    decode: Decoder[PaymentAction] = _of(call.selection, answers.decode_action)
    return _make(_PAYMENT, decode, headers, body, moves_money=True)


def _payment_result(call: PaymentResult, headers: Mapping[str, str]) -> _Built:
    body = {"paymentMethodFields": dict(call.fields)}
    decode: Decoder[Receipt | PaymentAction] = _of(call.selection, answers.decode_payment_result)
    return _make(_PAYMENT_RESULT, decode, headers, body, moves_money=True)


_BUILDERS: Final[Mapping[type[Call[Any]], Callable[[Any, Mapping[str, str]], _Built]]] = {
    CreateSelection: _create_selection,
    ReadSelection: _read_selection,
    AddItem: _add_item,
    SetQuantity: _set_quantity,
    RemoveLine: _remove_line,
    ApplyVoucher: _apply_voucher,
    RemoveVoucher: _remove_voucher,
    SetCountry: _set_country,
    SetCheckoutFields: _set_checkout_fields,
    StartPayment: _start_payment,
    PaymentResult: _payment_result,
}
"""The one table of the dialect: each call class's builder."""


def request(call: Call[T], *, correlation_id: str | None = None) -> Request[T]:
    """The Checkout API request ``call`` makes (the first, for a call carried by several),
    with the decoder of its answer; sent with ``call.token`` and ``correlation_id``.

    Raises ``TypeError`` for a call the Checkout API has no request for, and ``ValueError``
    for what cannot be sent: a call without a token (but ``CreateSelection``, which starts the
    session), a token or correlation id that is not printable ASCII, a negative quantity
    (``TypeError`` for a token or correlation id that is not text).
    """
    headers: dict[str, str] = {}
    if not isinstance(call, CreateSelection):
        token = getattr(call, "token", None)
        if token is None:
            # Centra would start a new, empty session: a read would say "no order" of it.
            raise ValueError(f"{call.kind} needs the session's token (call.token)")
        headers[TOKEN_HEADER] = _header_value(token, TOKEN_HEADER)
    if correlation_id is not None:
        headers[CORRELATION_HEADER] = _header_value(correlation_id, CORRELATION_HEADER)
    for cls in type(call).__mro__:
        build = _BUILDERS.get(cls)
        if build is not None:
            built: Request[T] = build(call, headers)
            return built
    raise TypeError(f"the Checkout API has no request for {type(call).__name__}")
