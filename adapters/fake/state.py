"""The fake Centra's state and what each Shop API endpoint does to it.

``CentraState`` holds the selections, the stock and the order ledger (``orders.OrderBook``);
``HANDLERS`` maps each route of ``dialect.ROUTES`` to the handler that answers it. A handler gets
the path's parameters and a body whose fields ``bodies`` has checked, and returns Centra's
answer; a refusal is raised as ``Refused`` and becomes Centra's error answer. How each payment
provider answers is ``payments``'; stock checks are ``stock``'s. ``FakeCentra`` (``centra``) is
the front door: routing, the API key, counting, faults, and the in-process ``Transport``.

As Centra documents it (``docs/fidelity.md`` has the pages): a cart change after the payment
started is not blocked; when the payment result comes, an order whose amount no longer matches
what the provider charged is placed on Hold as a "Payment mismatch" (providers whose session
Centra updates with the cart, Klarna and Qliro, never mismatch). A country change after the
payment started needs the payment started again: the payment result answers PayPal's
documented ``COUNTRY_MISMATCH`` refusal. ``paymentInitiateOnly`` needs only ``address.country``
and ``paymentMethod`` and never finalizes an order.

Modelling choices where Centra's documentation is silent:

- A selection that became an order refuses cart changes and a second payment result with
  400 ``{"errors": {"selection": "already completed"}}``; reading the selection answers the
  order (as Centra documents), and ``GET .../receipt`` answers it too (404 before).
- The refusals the pages show without a status (a decline at the payment result, a country
  mismatch) answer 400; a payment result with no payment started answers 400 naming
  ``selection``.
- ``klarna-playground`` returns the shopper's address as the provider verified it: the city of
  the postal code (``Catalog.postal_directory``) and the phone number in E.164.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from orderflow.adapters.fake.answer import Answer, RequestKind
from orderflow.adapters.fake.cart import (
    PAYMENT_MISMATCH,
    WAITING_FOR_PAYMENT,
    Cart,
    OrderStatus,
    PaymentSession,
)
from orderflow.adapters.fake.carts import CartState, Refused, refuse
from orderflow.adapters.fake.catalog import ADDRESS_FIELDS, Catalog
from orderflow.adapters.fake.orders import OrderBook
from orderflow.adapters.fake.payments import Provider, Result, Starting, result_declined
from orderflow.adapters.fake.pricing import VouchersAs
from orderflow.adapters.fake.providers import PROVIDERS
from orderflow.adapters.fake.stock import StockMode
from orderflow.adapters.fake.webhooks import WebhookSender
from orderflow.adapters.shop_api import dialect
from orderflow.calls import CallKind
from orderflow.ports import Clock

__all__ = ["HANDLERS", "CentraState", "Handler", "Refused", "refuse"]

_REFERENCES = uuid.UUID("5c1b4a34-6f0e-4d3b-9a8e-4b4c7a0f6d21")
_TERMS = ("true", "1")
"""``termsAndConditions`` as the Checkout API's examples send it, besides ``true``."""
_COUNTRY_MISMATCH = "The country changed after the payment started; start the payment again."


class CentraState(CartState):
    """A fake Centra's selections, stock and orders, and one handler per endpoint.

    ``orders`` maps each selection that became an order to its receipt; ``statuses`` each
    order number to its back-office ``OrderStatus`` (``book`` keeps both). See ``CartState``.
    """

    def __init__(
        self,
        catalog: Catalog,
        stock: Mapping[str, int] | None,
        clock: Clock,
        first_order: int,
        *,
        stock_mode: StockMode = "standard",
        vouchers_as: VouchersAs = "list",
        autoconfirm: bool = False,
        webhooks: WebhookSender | None = None,
    ):
        super().__init__(catalog, stock, clock, stock_mode=stock_mode, vouchers_as=vouchers_as)
        self.book = OrderBook(clock, first_order, autoconfirm=autoconfirm, webhooks=webhooks)

    @property
    def orders(self) -> dict[str, dict[str, Any]]:
        """Each selection that became an order, and its receipt."""
        return self.book.orders

    @property
    def statuses(self) -> dict[str, OrderStatus]:
        """Each order number and its back-office status (Hold, Waiting for Payment)."""
        return self.book.statuses

    # --- paying, and reading what was paid --------------------------------------------------

    def _start_payment(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        if body is None:
            raise refuse(400, paymentMethod="required")
        if body.get("selection") not in (None, sel.id):
            raise refuse(400, selection="does not match the path")
        terms = body.get("termsAndConditions")
        if terms is not True and terms not in _TERMS:
            raise refuse(400, termsAndConditions="must be true")
        initiate_only = body.get("paymentInitiateOnly") is True
        self._take_details(sel, body)
        option = self.catalog.payment_methods.get(sel.payment_method or "")
        needed = (
            ("country",) if initiate_only else option.address_fields if option else ADDRESS_FIELDS
        )
        address = {**sel.address, "country": sel.country}
        missing = {f"address.{k}": "required" for k in needed if not address.get(k)}
        if missing:
            raise Refused(400, {"errors": missing})
        if not sel.lines:
            raise refuse(400, selection="no items")
        if not self.catalog.countries[sel.country].ship_to:
            raise refuse(400, country="not shipped to")
        if option is None:
            raise refuse(400, paymentMethod="required")
        if initiate_only and not option.supports_initiate_only:
            raise refuse(400, paymentInitiateOnly=f"not supported by {option.payment_method}")
        if self.stock_mode != "off":
            self._check_stock(sel)
        provider = PROVIDERS[option.kind]
        started = self.calls[CallKind.START_PAYMENT]
        reference = str(uuid.uuid5(_REFERENCES, f"{sel.id}:{started}"))
        start = provider.start(Starting(sel, option, body, reference, sel.payment))
        if start.stage is None:  # declined: no payment started
            sel.payment = None
        else:
            session = PaymentSession(
                dict(body), option.payment_method, reference, self._amount(sel), sel.country
            )
            session.stage = start.stage
            sel.payment = session
        if start.answer is None:  # paid at once: the order itself, next to the action
            return Answer(200, {"action": "success", **self._place_order(sel, provider, Result())})
        return start.answer

    def _payment_result(self, params: dict[str, str], body: Any) -> Answer:
        data: Mapping[str, Any] = body or {}
        sel = self._selection(params.get("selection") or data.get("selection") or "")
        if sel.order is not None:
            raise Refused(
                400,
                {
                    "errors": {"selection": "already completed"},
                    "message": f"the selection is order {sel.order['order']}",
                },
            )
        session = sel.payment
        if session is None:
            raise refuse(400, selection="no payment started")
        fields: Mapping[str, Any] = data.get("paymentMethodFields") or {}
        option = self.catalog.payment_methods[session.method]
        provider = PROVIDERS[option.kind]
        if fields.get("centraPaymentMethod", option.payment_method) != option.payment_method:
            raise Refused(*result_declined())
        if session.country != sel.country:
            sel.payment = None
            raise Refused(
                400,
                {
                    "code": "COUNTRY_MISMATCH",
                    "message": _COUNTRY_MISMATCH,
                    "messages": [_COUNTRY_MISMATCH],
                    "errors": {"paymentMethod": "COUNTRY_MISMATCH"},
                },
            )
        if self.stock_mode == "standard":
            self._check_stock(sel)
        elif self.stock_mode == "aggressive" and provider.cancels_on_stock:
            self._check_stock(sel, cancelled=session)
        result = provider.result(session, fields)
        if result.refusal is not None:
            if result.keep:
                sel.failed_authorizations.append(dict(fields))
            else:
                sel.payment = None
            raise Refused(*result.refusal)
        mismatch = not provider.follows_cart and self._amount(sel) != session.amount
        receipt = self._place_order(sel, provider, result, mismatch=mismatch)
        return Answer(result.status, dict(receipt))

    def _read_selection(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is not None:
            return Answer(200, dict(sel.order))
        return Answer(200, self._selection_answer(sel))

    def _not_served(self, params: dict[str, str], body: Any) -> Answer:
        raise refuse(404, path="an endpoint the fake does not serve yet")

    def _read_receipt(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is None:  # no page gives this status: the fake's choice
            raise refuse(404, receipt="the selection is not an order")
        return Answer(200, dict(sel.order))

    def _place_order(
        self, sel: Cart, provider: Provider, result: Result, *, mismatch: bool = False
    ) -> dict[str, Any]:
        if sel.payment is not None:
            sel.payment_method = sel.payment.method  # the order is paid with the started method
        for item, quantity in sel.lines.values():
            self.stock[item] -= quantity
        holds = [PAYMENT_MISMATCH] if mismatch else []
        if result.waits_for_payment:
            holds.append(WAITING_FOR_PAYMENT)
        receipt = self._render.receipt(
            sel,
            self.book.next_number(),
            self.book.date(),
            verified=provider.verifies_address,
            status=self.book.status_for(bool(holds)),
            payment_method_data=result.payment_method_data,
            vouchers_as=self.vouchers_as,
        )
        self.book.record(
            sel, receipt, hold_reasons=holds, waiting_for_payment=result.waits_for_payment
        )
        return receipt


Handler = Callable[[CentraState, dict[str, str], Any], Answer]
"""An endpoint's handler: the state, the path's parameters and the checked body; its answer."""

_BY_KIND: dict[CallKind, Handler] = {
    CallKind.CREATE_SELECTION: CentraState._create_selection,
    CallKind.READ_SELECTION: CentraState._read_selection,
    CallKind.ADD_ITEM: CentraState._add_item,
    CallKind.SET_QUANTITY: CentraState._set_quantity,
    CallKind.REMOVE_LINE: CentraState._remove_line,
    CallKind.APPLY_VOUCHER: CentraState._apply_voucher,
    CallKind.REMOVE_VOUCHER: CentraState._remove_voucher,
    CallKind.SET_COUNTRY: CentraState._set_country,
    CallKind.SET_CHECKOUT_FIELDS: CentraState._set_checkout_fields,
    CallKind.START_PAYMENT: CentraState._start_payment,
    CallKind.PAYMENT_RESULT: CentraState._payment_result,
}
_WITHOUT_CALL: dict[str, Handler] = {"read_receipt": CentraState._read_receipt}
"""Endpoints Centra serves that no call of ours uses, by route name."""

HANDLERS: Mapping[dialect.Route, tuple[RequestKind, Handler]] = {
    route: (route.kind, _BY_KIND.get(route.kind, CentraState._not_served))
    if route.kind is not None
    else (route.name, _WITHOUT_CALL.get(route.name, CentraState._not_served))
    for route in dialect.ROUTES
}
"""Each route's ``RequestKind`` (what ``calls`` counts and faults see) and its handler; a route
the dialect gained that the fake has no handler for answers 404 (``test_fake`` checks there is
none)."""
