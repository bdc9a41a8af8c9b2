"""The fake Centra's state and what each Shop API endpoint does to it.

``CentraState`` holds the selections, the stock and the order ledger; ``HANDLERS`` maps each
route of ``dialect.ROUTES`` to the handler that answers it. A handler gets the path's parameters
and a body whose fields ``bodies`` has checked, and returns Centra's answer; a refusal is
raised as ``Refused`` and becomes Centra's error answer. ``FakeCentra`` (``centra``) is the
front door: routing, the API key, counting, faults, and the in-process ``Transport``.

Modelling choices where Centra's documentation is silent:

- Stock is checked when the payment starts and again at the payment result (Centra's final
  check), not when items are added; the order takes the stock.
- A cart change after the payment started voids that payment (start it again).
- A selection that became an order refuses cart changes and a second payment result with
  400 ``{"errors": {"selection": "already completed"}}``; reading the selection answers the
  order (as Centra documents), and ``GET .../receipt`` answers it too.
- ``klarna-playground`` returns the shopper's address as the provider verified it: the city of
  the postal code (``Catalog.postal_directory``) and the phone number in E.164.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from orderflow.adapters.fake.answer import Answer, RequestKind
from orderflow.adapters.fake.catalog import Catalog
from orderflow.adapters.fake.rendering import Cart, ShopRenderer
from orderflow.adapters.shop_api import dialect
from orderflow.calls import CallKind
from orderflow.limits import MAX_INT
from orderflow.ports import Clock

_REQUIRED_ADDRESS = ("email", "firstName", "lastName", "address1", "zipCode", "city", "country")
_KLARNA_NAMESPACE = uuid.UUID("5c1b4a34-6f0e-4d3b-9a8e-4b4c7a0f6d21")
_QUANTITY = re.compile(r"-?[0-9]{1,19}")


class Refused(Exception):
    """A handler's refusal: Centra's error answer ``(status, body)``."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status, body)
        self.answer = Answer(status, body)


def refuse(status: int, **errors: str) -> Refused:
    """A refusal with Centra's error body ``{"errors": {field: message}}``."""
    return Refused(status, {"errors": errors})


class CentraState:
    """The selections, stock and orders of a fake Centra, and one handler per endpoint.

    ``stock`` maps each item to how many are left; ``orders`` each selection that became an
    order to its receipt; ``calls`` counts requests by ``RequestKind`` (kept by the front door).
    Not locked: ``FakeCentra`` holds its lock around every handler.
    """

    def __init__(
        self,
        catalog: Catalog,
        stock: Mapping[str, int] | None,
        clock: Clock,
        first_order: int,
    ):
        self.catalog = catalog
        self.stock: dict[str, int] = (
            dict(stock) if stock is not None else dict.fromkeys(self.catalog.items, 100)
        )
        self.clock = clock
        self.calls: Counter[RequestKind] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        self._render = ShopRenderer.shared(self.catalog)
        self._selections: dict[str, Cart] = {}
        self._next_order = first_order
        self._next_id = 0

    # --- the handlers, one per endpoint -------------------------------------------------------

    def _create_selection(self, params: dict[str, str], body: Any) -> Answer:
        country = (body or {}).get("country") or self.catalog.default_country
        if country not in self.catalog.countries:
            raise refuse(400, country="not found")
        options = self.catalog.shipping_options(country)
        sel = Cart(
            id=self._new_id("selection"),
            country=country,
            payment_method=next(iter(self.catalog.payment_methods), None),
            shipping_method=options[0].shipping_method if options else None,
        )
        self._selections[sel.id] = sel
        return Answer(201, self._render.selection(sel))

    def _add_item(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        quantity = (body or {}).get("quantity") or 1
        item = self.catalog.items.get(params["item"])
        if item is None:
            raise refuse(400, item="product item not found")
        if item.product not in self.catalog.pricelist(sel.country).prices:
            raise refuse(400, item="not for sale in this country")
        for entry in sel.lines.values():
            if entry[0] == item.item:
                if entry[1] + quantity > MAX_INT:
                    raise refuse(400, quantity=f"at most {MAX_INT} in a line")
                entry[1] += quantity
                break
        else:
            sel.lines[self._new_id("line")] = [item.item, quantity]
        return self._changed(sel)

    def _set_quantity(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        entry = self._line(sel, params["line"])
        text = params["quantity"]
        if not _QUANTITY.fullmatch(text) or int(text) > MAX_INT:
            raise refuse(400, quantity="not a number")
        quantity = int(text)
        if quantity < 0:
            raise refuse(400, quantity="must not be negative")
        if quantity == 0:
            del sel.lines[params["line"]]
        else:
            entry[1] = quantity
        return self._changed(sel)

    def _remove_line(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._line(sel, params["line"])
        del sel.lines[params["line"]]
        return self._changed(sel)

    def _apply_voucher(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        code = (body or {}).get("voucher")
        if code is None:
            raise refuse(400, voucher="required")
        rule = self.catalog.vouchers.get(code)
        currency = self.catalog.pricelist(sel.country).currency_format.currency
        if rule is None or (rule.percent is None and currency not in rule.amounts):
            raise refuse(400, voucher="not valid")
        if rule.code not in sel.vouchers:
            sel.vouchers.append(rule.code)
        return self._changed(sel)

    def _remove_voucher(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        if params["code"] not in sel.vouchers:
            raise refuse(400, voucher="not applied")
        sel.vouchers.remove(params["code"])
        return self._changed(sel)

    def _set_country(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._move(sel, params["country"])
        return self._changed(sel)

    def _set_checkout_fields(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._take_details(sel, body or {})
        return self._changed(sel)

    def _start_payment(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        if body is None:
            raise refuse(400, paymentMethod="required")
        if body.get("selection") not in (None, sel.id):
            raise refuse(400, selection="does not match the path")
        if body.get("termsAndConditions") is not True:
            raise refuse(400, termsAndConditions="must be true")
        self._take_details(sel, body)
        address = sel.address
        missing = {f"address.{k}": "required" for k in _REQUIRED_ADDRESS if not address.get(k)}
        if missing:
            raise Refused(400, {"errors": missing})
        if not sel.lines:
            raise refuse(400, selection="no items")
        if not self.catalog.countries[sel.country].ship_to:
            raise refuse(400, country="not shipped to")
        option = self.catalog.payment_methods.get(sel.payment_method or "")
        if option is None:
            raise refuse(400, paymentMethod="required")
        self._check_stock(sel)
        sel.payment = dict(body)
        if option.kind == "success":
            return Answer(200, {"action": "success", **self._place_order(sel, verified=False)})
        if option.kind == "decline":
            sel.payment = None
            return Answer(200, {"action": "failed", "errors": {"paymentMethod": "failed"}})
        return_page = str(body.get("paymentReturnPage") or "")
        started = self.calls[CallKind.START_PAYMENT]
        reference = str(uuid.uuid5(_KLARNA_NAMESPACE, f"{sel.id}:{started}"))
        if option.kind == "redirect":
            joiner = "&" if "?" in return_page else "?"
            query = f"centraPaymentMethod={option.payment_method}&orderRef={reference}"
            return Answer(200, {"action": "redirect", "url": f"{return_page}{joiner}{query}"})
        form = _klarna_form(return_page, option.payment_method, reference)
        return Answer(200, {"action": "form", "formHtml": form})

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
        if sel.payment is None:
            raise refuse(400, selection="no payment started")
        fields = data.get("paymentMethodFields")
        if fields is None:
            raise refuse(400, paymentMethodFields="required")
        option = self.catalog.payment_methods[sel.payment_method or ""]
        proof = {"klarna": "klarna_order", "redirect": "orderRef"}.get(option.kind)
        if fields.get("centraPaymentMethod", option.payment_method) != option.payment_method or (
            proof is not None and not fields.get(proof)
        ):
            raise refuse(400, paymentMethod="failed")
        self._check_stock(sel)
        return Answer(200, dict(self._place_order(sel, verified=option.kind == "klarna")))

    def _read_selection(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is not None:
            return Answer(200, dict(sel.order))
        return Answer(200, self._render.selection(sel))

    def _not_served(self, params: dict[str, str], body: Any) -> Answer:
        raise refuse(404, path="an endpoint the fake does not serve yet")

    def _read_receipt(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is None:
            raise refuse(404, receipt="the selection is not an order")
        return Answer(200, dict(sel.order))

    # --- state changes -----------------------------------------------------------------------

    def _changed(self, sel: Cart) -> Answer:
        sel.payment = None  # a cart change voids a started payment
        return Answer(200, self._render.selection(sel))

    def _new_id(self, kind: str) -> str:
        self._next_id += 1
        text = f"{kind}:{self._next_id}".encode()
        return hashlib.md5(text, usedforsecurity=False).hexdigest()

    def _selection(self, selection: str) -> Cart:
        sel = self._selections.get(selection)
        if sel is None:
            raise refuse(404, selection="not found")
        return sel

    def _open(self, params: dict[str, str]) -> Cart:
        sel = self._selection(params["selection"])
        if sel.order is not None:
            raise refuse(400, selection="already completed")
        return sel

    @staticmethod
    def _line(sel: Cart, line: str) -> list[Any]:
        entry = sel.lines.get(line)
        if entry is None:
            raise refuse(400, line="not found")
        return entry

    def _move(self, sel: Cart, country: str) -> None:
        if country not in self.catalog.countries:
            raise refuse(400, country="not found")
        sel.country = country
        pricelist = self.catalog.pricelist(country)
        for line, (item, _) in list(sel.lines.items()):
            if self.catalog.items[item].product not in pricelist.prices:
                del sel.lines[line]
        currency = pricelist.currency_format.currency
        sel.vouchers = [
            code
            for code in sel.vouchers
            if self.catalog.vouchers[code].percent is not None
            or currency in self.catalog.vouchers[code].amounts
        ]
        offered = [o.shipping_method for o in self.catalog.shipping_options(country)]
        if sel.shipping_method not in offered:
            sel.shipping_method = offered[0] if offered else None

    def _take_details(self, sel: Cart, body: Mapping[str, Any]) -> None:
        # Everything is checked before anything changes: a refusal leaves the cart as it was.
        method = body.get("paymentMethod")
        if method is not None and method not in self.catalog.payment_methods:
            raise refuse(400, paymentMethod="not available")
        address = body.get("address")
        country = (address or {}).get("country") or sel.country
        if country not in self.catalog.countries:
            raise refuse(400, country="not found")
        shipping = body.get("shippingMethod")
        offered = {o.shipping_method for o in self.catalog.shipping_options(country)}
        if shipping is not None and shipping not in offered:
            raise refuse(400, shippingMethod="not available")
        if country != sel.country:
            self._move(sel, country)
        if address is not None:
            sel.address = dict(address)
        if "shippingAddress" in body:
            shipping_address = body["shippingAddress"]
            sel.shipping_address = dict(shipping_address) if shipping_address else None
        sel.payment_method = method or sel.payment_method
        sel.shipping_method = shipping or sel.shipping_method

    def _check_stock(self, sel: Cart) -> None:
        unavailable = []
        for line, (item, quantity) in list(sel.lines.items()):
            available = max(self.stock.get(item, 0), 0)
            if quantity > available:
                unavailable.append(
                    {
                        "item": item,
                        "product": self.catalog.items[item].product,
                        "originalQuantity": quantity,
                        "unavailable": quantity - available,
                        "available": available,
                    }
                )
                if available:
                    sel.lines[line][1] = available
                else:
                    del sel.lines[line]
        if unavailable:
            sel.payment = None
            raise Refused(
                410,
                {
                    "errors": {"stock": "unavailable items"},
                    "unavailable": unavailable,
                    **self._render.selection(sel),
                },
            )

    def _place_order(self, sel: Cart, *, verified: bool) -> dict[str, Any]:
        for item, quantity in sel.lines.values():
            self.stock[item] -= quantity
        order = str(self._next_order)
        self._next_order += 1
        date = self.clock.now().strftime("%Y-%m-%d %H:%M:%S")
        sel.order = self._render.receipt(sel, order, date, verified=verified)
        self.orders[sel.id] = sel.order
        return sel.order


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


def _klarna_form(return_page: str, method: str, klarna_order: str) -> str:
    action = html.escape(return_page, quote=True)
    return (
        '<div id="klarna-checkout-container">'
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="centraPaymentMethod" value="{html.escape(method)}">'
        f'<input type="hidden" name="klarna_order" value="{klarna_order}">'
        "</form>"
        "<script>/* Klarna Playground: when the shopper confirms, the widget posts"
        " klarna_order back to the return page */</script>"
        "</div>"
    )
