"""Centra's Shop API dialect, without I/O: the request each call makes, and how each answer
(status code and parsed JSON body) becomes a core type or a core error.

The in-process ``FakeCentra`` and the HTTP clients both build their requests here and decode
their answers here, so they speak exactly the same dialect; statuses go through the shared
error table first (``orderflow.adapters.http.table``), so a 5xx, a 404 after a payment or an
answer that does not decode means the same in process and over HTTP; the answers themselves
decode as every Centra REST dialect's do (``orderflow.adapters.http.answers``). Paths are
relative to the Shop API's base (``BASE_PATH`` on the shop's host); the key goes in
``API_KEY_HEADER``.

As Centra documents it (``centra-api.md``, "Where the documentation goes past the seed"):

- The payment result is v1's ``POST selections/{selection}/payment-result`` with only
  ``paymentMethodFields`` (any JSON values); the seed's older ``POST selections/payment-result``
  with ``selection`` in the body is ``payment_result_path="seed"``.
- A declined payment is an error body ``{"errors": {"paymentMethod": ...}, "messages": [...]}``
  (any status below 500, and not a 401, 403 or 410): a ``FailedAction``, at start-payment and
  at payment-result alike; so is the Checkout API's ``"action": "failed"``.
- Every action kind (``form``, ``redirect``, ``javascript``, ``external``, ``success``,
  ``failed``) decodes to its own ``PaymentAction``; ``javascript``'s ``script`` is its ``code``.
  An answer that shows an order is the order, kept whole even when parts do not decode.
- A 410 is ``OutOfStock`` with the unavailable items and the reduced selection; the
  ``cancellation`` of a payment result's 410 is kept on the ``OutOfStock`` error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeVar
from urllib.parse import unquote

import attrs

from orderflow import codec
from orderflow.adapters.http import answers
from orderflow.adapters.http.rest import Request as Request
from orderflow.adapters.http.rest import Route as Route
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
from orderflow.payment import PaymentAction
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

T = TypeVar("T")

BASE_PATH = "/api/shop"
API_KEY_HEADER = "API-Authorization"

SELECTIONS = "/selections"
SELECTION = "/selections/{selection}"
ITEM = "/selections/{selection}/items/{item}"
LINE = "/selections/{selection}/lines/{line}"
LINE_QUANTITY = "/selections/{selection}/lines/{line}/quantity/{quantity}"
VOUCHERS = "/selections/{selection}/vouchers"
VOUCHER = "/selections/{selection}/vouchers/{code}"
COUNTRY = "/selections/{selection}/countries/{country}"
CHECKOUT_FIELDS = "/selections/{selection}/checkout-fields"
PAYMENT = "/selections/{selection}/payment"
PAYMENT_RESULT = "/selections/payment-result"
"""The seed's (older) form of the payment result: ``selection`` goes in the body."""
SELECTION_PAYMENT_RESULT = "/selections/{selection}/payment-result"
"""The payment result as Shop API v1 documents it: what the clients send by default."""
RECEIPT = "/selections/{selection}/receipt"

PaymentResultPath = Literal["v1", "seed"]
PAYMENT_RESULT_PATHS: Final[tuple[PaymentResultPath, ...]] = ("v1", "seed")
"""The forms of the payment result a client can send (``payment_result_path=``)."""

_AUTH_HINT = (
    f"the API key ({API_KEY_HEADER}) or this client's origin is not accepted; "
    "check the key and the shop's allowed origins"
)


def _route(kind: CallKind, method: str, template: str) -> Route:
    return Route(kind.value, method, template)


_CREATE = _route(CallKind.CREATE_SELECTION, "POST", SELECTIONS)
_READ = _route(CallKind.READ_SELECTION, "GET", SELECTION)
_ADD_ITEM = _route(CallKind.ADD_ITEM, "POST", ITEM)
_SET_QUANTITY = _route(CallKind.SET_QUANTITY, "PUT", LINE_QUANTITY)
_REMOVE_LINE = _route(CallKind.REMOVE_LINE, "DELETE", LINE)
_APPLY_VOUCHER = _route(CallKind.APPLY_VOUCHER, "POST", VOUCHERS)
_REMOVE_VOUCHER = _route(CallKind.REMOVE_VOUCHER, "DELETE", VOUCHER)
_SET_COUNTRY = _route(CallKind.SET_COUNTRY, "PUT", COUNTRY)
_CHECKOUT_FIELDS = _route(CallKind.SET_CHECKOUT_FIELDS, "PUT", CHECKOUT_FIELDS)
_PAYMENT = _route(CallKind.START_PAYMENT, "POST", PAYMENT)
_PAYMENT_RESULT_SEED = _route(CallKind.PAYMENT_RESULT, "POST", PAYMENT_RESULT)
_PAYMENT_RESULT_V1 = _route(CallKind.PAYMENT_RESULT, "POST", SELECTION_PAYMENT_RESULT)

ROUTES: tuple[Route, ...] = (
    _CREATE,
    _READ,
    _ADD_ITEM,
    _SET_QUANTITY,
    _REMOVE_LINE,
    _APPLY_VOUCHER,
    _REMOVE_VOUCHER,
    _SET_COUNTRY,
    _CHECKOUT_FIELDS,
    _PAYMENT,
    _PAYMENT_RESULT_SEED,
    _PAYMENT_RESULT_V1,
    Route("read_receipt", "GET", RECEIPT),
)
"""Every endpoint the dialect knows; ``match`` finds a request's route in it."""

CHECKOUT_FIELD_KEYS = (
    "paymentMethod",
    "shippingMethod",
    "address",
    "shippingAddress",
    "termsAndConditions",
    "consents",
    "additionalFields",
    "customerClubFields",
    "internalOrder",
    "ipAddress",
)
"""The payment request's fields that ``PUT .../checkout-fields`` takes (camelCase)."""

PAYMENT_KEYS = (
    "selection",
    "paymentReturnPage",
    "paymentFailedPage",
    "paymentMethodCallbackPage",
    "paymentMethodSpecificFields",
    *CHECKOUT_FIELD_KEYS,
)
"""The fields ``POST .../payment`` takes; Shop API v1 rejects any other as ``"unknown"``."""


def _request(
    call: Call[T],
    route: Route,
    decoder: Callable[[str, int, Any], T],
    body: dict[str, Any] | None = None,
    **params: object,
) -> Request[T]:
    return route.request(decoder, body, params=params, moves_money=call.moves_money)


# --- answers: Centra's REST answers (``answers``), with this API's hint on 401/403 ----------

_decode_selection = functools.partial(answers.decode_selection, auth_hint=_AUTH_HINT)
_decode_selection_or_order = functools.partial(
    answers.decode_selection_or_order, auth_hint=_AUTH_HINT
)
_decode_action = functools.partial(answers.decode_action, auth_hint=_AUTH_HINT)
_decode_payment_result = functools.partial(answers.decode_payment_result, auth_hint=_AUTH_HINT)


# --- requests: one builder per call class, in one table ---------------------------------------


def _create_selection(call: CreateSelection) -> Request[SelectionResponse]:
    body = {"country": call.country} if call.country is not None else None
    return _request(call, _CREATE, _decode_selection, body)


def _read_selection(call: ReadSelection) -> Request[SelectionResponse | Receipt]:
    return _request(call, _READ, _decode_selection_or_order, selection=call.selection)


def _add_item(call: AddItem) -> Request[SelectionResponse]:
    body = {"quantity": call.quantity}
    return _request(
        call, _ADD_ITEM, _decode_selection, body, selection=call.selection, item=call.item
    )


def _set_quantity(call: SetQuantity) -> Request[SelectionResponse]:
    return _request(
        call,
        _SET_QUANTITY,
        _decode_selection,
        selection=call.selection,
        line=call.line,
        quantity=call.quantity,
    )


def _remove_line(call: RemoveLine) -> Request[SelectionResponse]:
    return _request(call, _REMOVE_LINE, _decode_selection, selection=call.selection, line=call.line)


def _apply_voucher(call: ApplyVoucher) -> Request[SelectionResponse]:
    body = {"voucher": call.code}
    return _request(call, _APPLY_VOUCHER, _decode_selection, body, selection=call.selection)


def _remove_voucher(call: RemoveVoucher) -> Request[SelectionResponse]:
    return _request(
        call, _REMOVE_VOUCHER, _decode_selection, selection=call.selection, code=call.code
    )


def _set_country(call: SetCountry) -> Request[SelectionResponse]:
    return _request(
        call, _SET_COUNTRY, _decode_selection, selection=call.selection, country=call.country
    )


def _set_checkout_fields(call: SetCheckoutFields) -> Request[SelectionResponse]:
    wire = codec.unstructure(call.details)
    body = {k: wire[k] for k in CHECKOUT_FIELD_KEYS if wire.get(k) is not None}
    return _request(call, _CHECKOUT_FIELDS, _decode_selection, body, selection=call.selection)


def _start_payment(call: StartPayment) -> Request[PaymentAction]:
    body = codec.unstructure(attrs.evolve(call.request, selection=call.selection))
    return _request(call, _PAYMENT, _decode_action, body, selection=call.selection)


def _payment_result_v1(call: PaymentResult) -> Request[Receipt | PaymentAction]:
    body = {"paymentMethodFields": dict(call.fields)}
    return _request(
        call, _PAYMENT_RESULT_V1, _decode_payment_result, body, selection=call.selection
    )


def _payment_result_seed(call: PaymentResult) -> Request[Receipt | PaymentAction]:
    body = {"selection": call.selection, "paymentMethodFields": dict(call.fields)}
    return _request(call, _PAYMENT_RESULT_SEED, _decode_payment_result, body)


_Builders = Mapping[type[Call[Any]], Callable[[Any], Request[Any]]]

_V1: Final[_Builders] = {
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
    PaymentResult: _payment_result_v1,
}
_BUILDERS: Final[Mapping[PaymentResultPath, _Builders]] = {
    "v1": _V1,
    "seed": {**_V1, PaymentResult: _payment_result_seed},
}
"""The one table of the dialect: each call class's builder, per form of the payment result."""


def request(call: Call[T], *, payment_result_path: PaymentResultPath = "v1") -> Request[T]:
    """The Shop API request ``call`` makes, with the decoder of its answer.

    Raises ``TypeError`` for a call the Shop API has no request for, and what building the
    path raises for ids that cannot be sent (``UnicodeEncodeError``).
    """
    builders = _BUILDERS[payment_result_path]
    for cls in type(call).__mro__:
        build = builders.get(cls)
        if build is not None:
            built: Request[T] = build(call)
            return built
    raise TypeError(f"the Shop API has no request for {type(call).__name__}")


# --- routing (the server side: FakeCentra) ---------------------------------------------------

_PATTERNS: dict[tuple[str, int], list[tuple[Route, tuple[str, ...]]]] = {}
for _r in ROUTES:
    _pattern = tuple(_r.template.strip("/").split("/"))
    _PATTERNS.setdefault((_r.method, len(_pattern)), []).append((_r, _pattern))


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route a request is for and its path parameters (unquoted), or ``None``."""
    parts = path.partition("?")[0].strip("/").split("/")
    for route, pattern in _PATTERNS.get((method.upper(), len(parts)), ()):
        params: dict[str, str] = {}
        for want, got in zip(pattern, parts, strict=True):
            if want[0] == "{":
                params[want[1:-1]] = unquote(got) if "%" in got else got
            elif want != got:
                break
        else:
            return route, params
    return None
