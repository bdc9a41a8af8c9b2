"""Centra's Storefront API (GraphQL) dialect, without I/O: the request(s) each call makes with
the project's own operation documents (``documents``), and how each answer becomes a core type
or a core error (``answers``).

Every request is a ``POST`` to the API's one endpoint (the client's base URL) with the JSON body
``{query, variables, operationName}`` and ``Authorization: Bearer <token>``: the session's
token (``call.token``), or for ``CreateSelection`` the shop's shared session-mode token, with
which a first request starts a session. Any other call without a token is refused before it is
sent: a new session's read would say "no order" of a paid selection.

=================== ==========================================================================
call                operation (root field)
=================== ==========================================================================
CreateSelection     ``Selection`` (query ``selection``: a new session's first read makes it);
                    with a country, ``SetCountry`` (``setCountryState``)
ReadSelection       ``ReadSelection`` (query ``order`` and ``selection``): the receipt once the
                    selection became the session's latest order, else the selection
AddItem             ``AddItem`` (``addItem(item, quantity)``)
SetQuantity         ``UpdateLine`` (``updateLine(lineId, quantity)``; 0 removes the line)
RemoveLine          ``DeleteLine`` (``deleteLine(lineId)``)
ApplyVoucher        ``AddVoucher`` (``addVoucher(code)``)
RemoveVoucher       ``RemoveVoucher`` (``removeVoucher(code)``)
SetCountry          ``SetCountry`` (``setCountryState(countryCode)``)
SetCheckoutFields   ``SetAddress`` (``setAddress``: the shipping address, and the billing address
                    apart when the details have a shipping address of their own), then
                    ``SetPaymentMethod`` and ``SetShippingMethod`` (from
                    ``extra["shippingMethod"]``: a method's id or name) when the answer has not
                    selected them yet; a method is set by its ``id``, looked up by its ``uri``
                    (a payment method) among the methods the answer offers
StartPayment        ``PaymentInstructions`` (``paymentInstructions(input)``), paying with the
                    methods the selection has (``paymentMethod: 0``): ``SetCheckoutFields`` set
                    them from the same details
PaymentResult       ``PaymentResult`` (``paymentResult(paymentMethodFields)``)
=================== ==========================================================================

``Selection`` and ``ReadSelection`` only read; they are retried as reads are (``reads``). The
payment request's ``paymentMethodCallbackPage``, ``additionalFields`` and
``customerClubFields`` have no place in ``PaymentInstructionsInput`` and are not sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, TypeVar

import attrs

from orderflow.adapters.http import table
from orderflow.adapters.storefront_api import answers
from orderflow.adapters.storefront_api.documents import DOCUMENTS, ROOT_FIELDS
from orderflow.address import Address
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    Call,
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
from orderflow.errors import CentraError
from orderflow.payment import PaymentRequest
from orderflow.selection import SelectionResponse

__all__ = ["AUTHORIZATION", "Request", "request"]

T = TypeVar("T")

AUTHORIZATION: Final = "Authorization"
"""The header of the bearer token (the shared token, or the session's)."""

Decoder = Callable[[str, int, Any], T]


@attrs.frozen
class Request(Generic[T]):
    """One GraphQL request of the dialect and the decoder of its answer (a ``WireRequest``).

    ``operation`` names the document (``documents.DOCUMENTS``) and is sent as
    ``operationName``; ``follow``, when set, builds the call's next request from this one's
    answer (``then``).
    """

    operation: str
    variables: Mapping[str, Any]
    decoder: Decoder[T] = attrs.field(repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    moves_money: bool = False
    reads: bool = False
    follow: Callable[[T, Mapping[str, str]], Request[T] | None] | None = attrs.field(
        default=None, repr=False
    )

    @property
    def method(self) -> str:
        """Always ``POST``."""
        return "POST"

    @property
    def path(self) -> str:
        """Empty: the client's base URL is the API's one endpoint."""
        return ""

    @property
    def template(self) -> str:
        """What logs show: ``graphql AddItem``."""
        return f"graphql {self.operation}"

    @property
    def label(self) -> str:
        """How errors name the operation: ``GraphQL AddItem``."""
        return f"GraphQL {self.operation}"

    @property
    def body(self) -> dict[str, Any]:
        """The GraphQL request: the document, its variables and its operation's name."""
        query = DOCUMENTS[self.operation]
        return {"query": query, "variables": dict(self.variables), "operationName": self.operation}

    def decode(self, status: int, body: Any) -> T:
        """The answer, or the core error (see ``answers`` and ``orderflow.adapters.http.table``)."""
        label = self.label
        return table.decoded(
            status,
            body,
            lambda s, b: self.decoder(label, s, b),
            endpoint=label,
            moves_money=self.moves_money,
            read=self.reads,
        )

    def then(self, answer: T) -> Request[T] | None:
        """The call's next request, sent with the token ``answer`` carries; ``None`` when done."""
        if self.follow is None:
            return None
        token = getattr(answer, "token", None)
        headers = dict(self.headers)
        if isinstance(token, str):
            headers.update(bearer(token))
        return self.follow(answer, headers)


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of ``token``. Raises ``ValueError`` for one that is not
    printable ASCII."""
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError("a token is printable ASCII without spaces")
    return {AUTHORIZATION: f"Bearer {token}"}


def _count(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ValueError(f"a quantity is a whole number, not {quantity!r}")
    return quantity


def _kept(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _address(address: Address, country: str | None = None) -> dict[str, Any]:
    """An ``AddressInput``; its ``country`` (required) is the address's, else ``country``."""
    code = address.country or country
    if not code:
        raise ValueError("the Storefront API needs the address's country (AddressInput.country)")
    return _kept(
        firstName=address.first_name,
        lastName=address.last_name,
        companyName=address.company,
        address1=address.address1,
        address2=address.address2,
        zipCode=address.zip_code,
        city=address.city,
        stateOrProvince=address.state,
        country=code,
        email=address.email,
        phoneNumber=address.phone_number,
        vatNumber=address.vat_number,
    )


def _addresses(details: PaymentRequest) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The shipping address, and the billing address when it is not the same."""
    billing = _address(details.address)
    if details.shipping_address is None:
        return billing, None
    return _address(details.shipping_address, details.address.country), billing


def _cart(
    operation: str,
    call: Any,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
    follow: Callable[[SelectionResponse, Mapping[str, str]], Request[Any] | None] | None = None,
) -> Request[SelectionResponse]:
    decode = functools.partial(
        answers.decode_cart, field=ROOT_FIELDS[operation], selection=call.selection
    )
    return Request(operation, variables, decode, headers, follow=follow)


# --- requests: one builder per call class ------------------------------------------------------

_Built = Request[Any]


def _create_selection(call: CreateSelection, headers: Mapping[str, str]) -> _Built:
    if call.country is None:
        decode = functools.partial(answers.decode_created, field="selection")
        return Request("Selection", {}, decode, headers, reads=True)
    decode = functools.partial(answers.decode_created, field="setCountryState")
    return Request("SetCountry", {"country": call.country}, decode, headers)


def _read_selection(call: ReadSelection, headers: Mapping[str, str]) -> _Built:
    decode = functools.partial(answers.decode_read, selection=call.selection)
    return Request("ReadSelection", {}, decode, headers, reads=True)


def _add_item(call: AddItem, headers: Mapping[str, str]) -> _Built:
    variables = {"item": call.item, "quantity": _count(call.quantity)}
    return _cart("AddItem", call, variables, headers)


def _set_quantity(call: SetQuantity, headers: Mapping[str, str]) -> _Built:
    variables = {"line": call.line, "quantity": _count(call.quantity)}
    return _cart("UpdateLine", call, variables, headers)


def _remove_line(call: RemoveLine, headers: Mapping[str, str]) -> _Built:
    return _cart("DeleteLine", call, {"line": call.line}, headers)


def _apply_voucher(call: ApplyVoucher, headers: Mapping[str, str]) -> _Built:
    return _cart("AddVoucher", call, {"code": call.code}, headers)


def _remove_voucher(call: RemoveVoucher, headers: Mapping[str, str]) -> _Built:
    return _cart("RemoveVoucher", call, {"code": call.code}, headers)


def _set_country(call: SetCountry, headers: Mapping[str, str]) -> _Built:
    return _cart("SetCountry", call, {"country": call.country}, headers)


def _method_id(answer: SelectionResponse, kind: str, wanted: str) -> int | None:
    """The ``id`` of the payment method ``wanted`` (a uri) or the shipping method (an id, or a
    name) among those the answer offers."""
    if kind == "payment":
        for method in answer.payment_methods:
            if method.payment_method == wanted:
                found = method.extra.get("id")
                return found if isinstance(found, int) else None
        return None
    for shipping in answer.shipping_methods:
        name = (shipping.name or "").casefold()
        if shipping.shipping_method == wanted or name == wanted.casefold():
            found = shipping.extra.get("id")
            return found if isinstance(found, int) else None
    return None


def _set_checkout_fields(call: SetCheckoutFields, headers: Mapping[str, str]) -> _Built:
    details: PaymentRequest = call.details
    shipping, billing = _addresses(details)
    variables: dict[str, Any] = {"shipping": shipping, "billing": billing}
    abandonment = details.extra.get("cartAbandonmentEmail")
    if isinstance(abandonment, bool):
        variables["abandonment"] = abandonment
    wanted = [("payment", details.payment_method)]
    chosen_shipping = details.extra.get("shippingMethod")
    if isinstance(chosen_shipping, str) and chosen_shipping:
        wanted.append(("shipping", chosen_shipping))

    def after(done: int) -> Callable[[SelectionResponse, Mapping[str, str]], _Built | None]:
        # Each method is set at most once, and only when the last answer has not chosen it.
        def follow(answer: SelectionResponse, sent: Mapping[str, str]) -> _Built | None:
            for index in range(done, len(wanted)):
                kind, method = wanted[index]
                ident = _method_id(answer, kind, method)
                now = answer.selection
                if kind == "payment" and now.payment_method == method:
                    continue
                if kind == "shipping" and ident is not None and now.shipping_method == str(ident):
                    continue
                field = f"{kind}Method"
                if ident is None:
                    refusal = CentraError(
                        400,
                        {field: "not available"},
                        f"the selection offers no {kind} method {method!r}",
                        endpoint=f"GraphQL Set{kind.title()}Method",
                    )
                    refusal.token = answer.token
                    raise refusal
                operation = f"Set{kind.title()}Method"
                return _cart(operation, call, {"id": ident}, sent, after(index + 1))
            return None

        return follow

    return _cart("SetAddress", call, variables, headers, after(0))


def _payment_input(payment: PaymentRequest) -> dict[str, Any]:
    shipping, billing = _addresses(payment)
    specific = payment.payment_method_specific_fields
    initiate_only = payment.extra.get("paymentInitiateOnly")
    return _kept(
        paymentReturnPage=payment.payment_return_page,
        paymentFailedPage=payment.payment_failed_page,
        termsAndConditions=payment.terms_and_conditions is True,
        shippingAddress=shipping,
        separateBillingAddress=billing,
        ipAddress=payment.ip_address,
        paymentMethodSpecificFields=specific if specific else None,  # [] and {} say nothing
        consents=list(payment.consents) if payment.consents else None,
        internal=payment.internal_order,
        paymentInitiateOnly=initiate_only if isinstance(initiate_only, bool) else None,
    )


def _start_payment(call: StartPayment, headers: Mapping[str, str]) -> _Built:
    variables = {"input": _payment_input(call.request)}
    return Request(
        "PaymentInstructions", variables, answers.decode_action, headers, moves_money=True
    )


def _payment_result(call: PaymentResult, headers: Mapping[str, str]) -> _Built:
    variables = {"fields": dict(call.fields)}
    decode = answers.decode_payment_result
    return Request("PaymentResult", variables, decode, headers, moves_money=True)


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


def request(call: Call[T], *, shared_token: str) -> Request[T]:
    """The Storefront API request ``call`` makes (the first, for a call carried by several),
    with the decoder of its answer.

    Raises ``TypeError`` for a call the dialect has no request for, and ``ValueError`` for what
    cannot be sent: a call without a token (but ``CreateSelection``, sent with
    ``shared_token``), a token that is not printable ASCII, a negative quantity, an address
    without a country.
    """
    if isinstance(call, CreateSelection):
        headers = bearer(shared_token)
    else:
        token = getattr(call, "token", None)
        if token is None:
            # Centra would start a new, empty session: a read would say "no order" of it.
            raise ValueError(f"{call.kind} needs the session's token (call.token)")
        headers = bearer(token)
    for cls in type(call).__mro__:
        build = _BUILDERS.get(cls)
        if build is not None:
            built: Request[T] = build(call, headers)
            return built
    raise TypeError(f"the Storefront API has no request for {type(call).__name__}")
