"""Centra's Shop API dialect, without I/O: the request each ``Transport`` call makes, and how
each answer (status code and parsed JSON body) becomes a core type or a core error.

The in-process ``FakeCentra`` and the HTTP adapter both build their requests here and decode
their answers here, so they speak exactly the same dialect. Paths are relative to the Shop
API's base (``BASE_PATH`` on the shop's host); the key goes in the ``API_KEY_HEADER`` header.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote

import attrs

from orderflow import codec
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    FieldProblem,
    OutOfStock,
    PayloadError,
)
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse, UnavailableItem

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
SELECTION_PAYMENT_RESULT = "/selections/{selection}/payment-result"
"""Newer documentation's form of the payment result; served by the fake, not sent by us."""
RECEIPT = "/selections/{selection}/receipt"


@attrs.frozen
class Route:
    """One Shop API endpoint: its stable ``name`` (a ``Transport`` method), method and path."""

    name: str
    method: str
    template: str

    @property
    def label(self) -> str:
        """How errors name the endpoint: ``"POST /selections/{selection}/payment"``."""
        return f"{self.method} {self.template}"


ROUTES: tuple[Route, ...] = (
    Route("create_selection", "POST", SELECTIONS),
    Route("read_selection", "GET", SELECTION),
    Route("add_item", "POST", ITEM),
    Route("set_quantity", "PUT", LINE_QUANTITY),
    Route("remove_line", "DELETE", LINE),
    Route("apply_voucher", "POST", VOUCHERS),
    Route("remove_voucher", "DELETE", VOUCHER),
    Route("set_country", "PUT", COUNTRY),
    Route("set_checkout_fields", "PUT", CHECKOUT_FIELDS),
    Route("start_payment", "POST", PAYMENT),
    Route("payment_result", "POST", PAYMENT_RESULT),
    Route("payment_result", "POST", SELECTION_PAYMENT_RESULT),
    Route("read_receipt", "GET", RECEIPT),
)
"""Every endpoint the dialect knows; ``match`` finds a request's route in it."""

_BY_NAME: dict[str, Route] = {}
for _route in ROUTES:
    _BY_NAME.setdefault(_route.name, _route)

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


@attrs.frozen
class Request(Generic[T]):
    """One HTTP request of the dialect and the decoder for its answer.

    ``decode(status, body)`` returns the core type or raises the core error (see ``decode_*``).
    """

    route: Route
    path: str
    decode: Callable[[int, Any], T] = attrs.field(repr=False)
    body: dict[str, Any] | None = None

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self.route.method

    @property
    def endpoint(self) -> str:
        """The endpoint's stable name, e.g. ``"payment_result"``."""
        return self.route.name


def _seg(value: object) -> str:
    return quote(str(value), safe="")


def _request(
    name: str, decoder: Callable[..., T], body: Any = None, **params: object
) -> Request[T]:
    route = _BY_NAME[name]
    path = route.template.format_map({k: _seg(v) for k, v in params.items()})
    return Request(route, path, functools.partial(decoder, route.label), body)


# --- requests, one per Transport method ------------------------------------------------------


def create_selection() -> Request[SelectionResponse]:
    """``POST /selections``: a new, empty selection (Centra answers 201)."""
    return _request("create_selection", decode_selection)


def add_item(selection: str, item: str, quantity: int) -> Request[SelectionResponse]:
    """``POST /selections/{selection}/items/{item}`` with ``{"quantity": n}``."""
    return _request(
        "add_item", decode_selection, {"quantity": quantity}, selection=selection, item=item
    )


def set_quantity(selection: str, line: str, quantity: int) -> Request[SelectionResponse]:
    """``PUT /selections/{selection}/lines/{line}/quantity/{quantity}``; 0 removes the line."""
    return _request(
        "set_quantity", decode_selection, selection=selection, line=line, quantity=quantity
    )


def remove_line(selection: str, line: str) -> Request[SelectionResponse]:
    """``DELETE /selections/{selection}/lines/{line}``."""
    return _request("remove_line", decode_selection, selection=selection, line=line)


def apply_voucher(selection: str, code: str) -> Request[SelectionResponse]:
    """``POST /selections/{selection}/vouchers`` with ``{"voucher": code}``."""
    return _request("apply_voucher", decode_selection, {"voucher": code}, selection=selection)


def remove_voucher(selection: str, code: str) -> Request[SelectionResponse]:
    """``DELETE /selections/{selection}/vouchers/{code}``."""
    return _request("remove_voucher", decode_selection, selection=selection, code=code)


def set_country(selection: str, country: str) -> Request[SelectionResponse]:
    """``PUT /selections/{selection}/countries/{country}``."""
    return _request("set_country", decode_selection, selection=selection, country=country)


def set_checkout_fields(selection: str, details: PaymentRequest) -> Request[SelectionResponse]:
    """``PUT /selections/{selection}/checkout-fields`` with the details' address, methods, ..."""
    wire = codec.unstructure(details)
    body = {k: wire[k] for k in CHECKOUT_FIELD_KEYS if wire.get(k) is not None}
    return _request("set_checkout_fields", decode_selection, body, selection=selection)


def start_payment(selection: str, request: PaymentRequest) -> Request[PaymentAction]:
    """``POST /selections/{selection}/payment`` with the payment request, ``selection`` set."""
    body = codec.unstructure(attrs.evolve(request, selection=selection))
    return _request("start_payment", decode_action, body, selection=selection)


def payment_result(selection: str, fields: Mapping[str, str]) -> Request[Receipt | PaymentAction]:
    """``POST /selections/payment-result`` with ``selection`` and ``paymentMethodFields``."""
    body = {"selection": selection, "paymentMethodFields": dict(fields)}
    return _request("payment_result", decode_payment_result, body)


def read_selection(selection: str) -> Request[SelectionResponse]:
    """``GET /selections/{selection}``."""
    return _request("read_selection", decode_selection, selection=selection)


def read_receipt(selection: str) -> Request[Receipt | None]:
    """``GET /selections/{selection}/receipt``; a 404 decodes to ``None``."""
    return _request("read_receipt", decode_receipt, selection=selection)


# --- routing (the server side: FakeCentra) ---------------------------------------------------

_PATTERNS: dict[tuple[str, int], list[tuple[Route, tuple[str, ...]]]] = {}
for _route in ROUTES:
    _pattern = tuple(_route.template.strip("/").split("/"))
    _PATTERNS.setdefault((_route.method, len(_pattern)), []).append((_route, _pattern))


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


# --- answers ----------------------------------------------------------------------------------


def raise_for_error(endpoint: str, status: int, body: Any) -> None:
    """Raise the core error for a non-2xx answer; return for 2xx.

    410 raises ``OutOfStock`` (unavailable items, the reduced selection), 401/403
    ``AuthenticationFailed``, 5xx ``CentraUnavailable``, any other ``CentraError`` with its
    ``{field: message}``, ``message`` and ``code``.
    """
    if 200 <= status < 300:
        return
    data = body if isinstance(body, Mapping) else {}
    errors = _field_errors(data.get("errors"))
    message = data.get("message")
    if not isinstance(message, str):
        messages = data.get("messages")
        message = "; ".join(map(str, messages)) if isinstance(messages, list) else None
    code = data.get("code")
    code = str(code) if code is not None else None
    if status == 410:
        raise _out_of_stock(endpoint, data, errors)
    if status in (401, 403):
        raise AuthenticationFailed(status, errors, message, code, endpoint)
    if status >= 500:
        reason = f"HTTP {status}" + (f": {message}" if message else "")
        raise CentraUnavailable(endpoint, reason, status)
    raise CentraError(status, errors, message, code, endpoint)


def decode_selection(endpoint: str, status: int, body: Any) -> SelectionResponse:
    """A cart-changing call's answer: ``{"selection": ..., "paymentMethods": ...}``.

    Raises the core error for the status, or ``PayloadError`` when the body does not fit. A
    selection that became an order answers with the order (Centra reads it back that way);
    that raises ``CentraError`` naming the order, since the cart cannot change any more.
    """
    raise_for_error(endpoint, status, body)
    if isinstance(body, Mapping) and "order" in body and "selection" not in body:
        raise CentraError(
            status,
            {"selection": "already an order"},
            f"the selection became order {body['order']}; read its receipt",
            endpoint=endpoint,
        )
    return codec.structure(body, SelectionResponse, source=endpoint)


def decode_action(endpoint: str, status: int, body: Any) -> PaymentAction:
    """Starting a payment's answer: one action (``form``, ``redirect``, ..., ``failed``)."""
    if status < 500 and isinstance(body, Mapping) and body.get("action") == "failed":
        return codec.structure_action(body, source=endpoint)
    raise_for_error(endpoint, status, body)
    return codec.structure_action(body, source=endpoint)


def decode_payment_result(endpoint: str, status: int, body: Any) -> Receipt | PaymentAction:
    """The payment result's answer: the receipt (``order`` in the body), or a new action."""
    raise_for_error(endpoint, status, body)
    if isinstance(body, Mapping):
        if "order" in body:
            return codec.structure(body, Receipt, source=endpoint)
        if "action" in body:
            return codec.structure_action(body, source=endpoint)
    problem = FieldProblem("$", "neither an order (`order`) nor an action (`action`)")
    raise PayloadError("Receipt", [problem], source=endpoint)


def decode_receipt(endpoint: str, status: int, body: Any) -> Receipt | None:
    """The receipt read later; ``None`` when Centra has none (404: not an order, yet)."""
    if status == 404:
        return None
    raise_for_error(endpoint, status, body)
    return codec.structure(body, Receipt, source=endpoint)


def _field_errors(errors: Any) -> dict[str, str]:
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
        rest = {k: v for k, v in data.items() if k not in ("errors", "unavailable")}
        selection = codec.structure(rest, SelectionResponse, source=endpoint)
    return OutOfStock(unavailable, selection, endpoint=endpoint, errors=errors or None)


class ShopApiCalls:
    """The ``Transport`` port in terms of one ``_call(request)``: every Centra call the flow
    needs, built and decoded by this module. A carrier of Shop API requests (HTTP, or the
    fake in process) subclasses it and implements ``_call``, raising core errors only."""

    def _call(self, request: Request[T]) -> T:
        """Carry ``request`` to Centra and decode the answer with ``request.decode``."""
        raise NotImplementedError

    def create_selection(self) -> SelectionResponse:
        """See ``Transport.create_selection``."""
        return self._call(create_selection())

    def add_item(self, selection: str, item: str, quantity: int) -> SelectionResponse:
        """See ``Transport.add_item``."""
        return self._call(add_item(selection, item, quantity))

    def set_quantity(self, selection: str, line: str, quantity: int) -> SelectionResponse:
        """See ``Transport.set_quantity``."""
        return self._call(set_quantity(selection, line, quantity))

    def remove_line(self, selection: str, line: str) -> SelectionResponse:
        """See ``Transport.remove_line``."""
        return self._call(remove_line(selection, line))

    def apply_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.apply_voucher``."""
        return self._call(apply_voucher(selection, code))

    def remove_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.remove_voucher``."""
        return self._call(remove_voucher(selection, code))

    def set_country(self, selection: str, country: str) -> SelectionResponse:
        """See ``Transport.set_country``."""
        return self._call(set_country(selection, country))

    def set_checkout_fields(self, selection: str, details: PaymentRequest) -> SelectionResponse:
        """See ``Transport.set_checkout_fields``."""
        return self._call(set_checkout_fields(selection, details))

    def start_payment(self, selection: str, request: PaymentRequest) -> PaymentAction:
        """See ``Transport.start_payment``."""
        return self._call(start_payment(selection, request))

    def payment_result(self, selection: str, fields: Mapping[str, str]) -> Receipt | PaymentAction:
        """See ``Transport.payment_result``."""
        return self._call(payment_result(selection, fields))

    def read_selection(self, selection: str) -> SelectionResponse:
        """See ``Transport.read_selection``."""
        return self._call(read_selection(selection))

    def read_receipt(self, selection: str) -> Receipt | None:
        """See ``Transport.read_receipt``."""
        return self._call(read_receipt(selection))
