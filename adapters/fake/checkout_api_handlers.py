"""What each Checkout API endpoint does to a selection of the fake's one shared state
(``CheckoutApiState``; the catalog's and the settings' endpoints are ``checkout_api_catalog``'s).

A selection made over the Checkout API is a selection of the fake: each endpoint runs the Shop
API's handler of the same change (``state.HANDLERS``), so stock, vouchers, payments, orders,
webhooks and their refusals are the same in both dialects, and renders the answer in the
Checkout API's form (``checkout_api_rendering``). A handler gets the request's session
(``Visit``), the path's parameters and the body, and returns the answer without its token (the
front, ``checkout_api``, adds it) or raises ``Refused``.

As documented: a session's selection is made by its first request that needs one (the
order-flow page makes it with ``POST items/{item}``); ``POST``/``DELETE
lines/{line}/quantity/{n}`` raise and lower a line's quantity by ``n``; ``PUT countries/{cc}``
takes an optional ``language``; ``PUT selection/{selection}`` ties the session to an existing
selection (the cart-abandonment page's recovery link). The fake's choices
(``docs/fidelity.md``): fields no page names are ignored (the Shop API refuses them); ``PUT
selection`` sets a market or price list only as the country has it (the fake's price list
follows the country); a line lowered to 0 is removed; a country change resets the language
chosen to the country's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.answer import Answer
from orderflow.adapters.fake.carts import Refused, refuse
from orderflow.adapters.fake.checkout_api_catalog import CatalogEndpoints, Visit
from orderflow.adapters.fake.checkout_api_rendering import Place
from orderflow.adapters.fake.sessions import Sessions
from orderflow.adapters.fake.state import CentraState
from orderflow.calls import CallKind
from orderflow.limits import MAX_INT

__all__ = ["CheckoutApiState"]

_COUNT = re.compile(r"[0-9]{1,19}")


@attrs.define
class _Chosen:
    language: str | None = None
    state: str | None = None


class CheckoutApiState(CatalogEndpoints):
    """Every Checkout API endpoint over a fake's state and its sessions. Not locked: the
    front holds the fake's lock around each handler."""

    def __init__(self, state: CentraState, sessions: Sessions):
        super().__init__(state, sessions)
        self._chosen: dict[str, _Chosen] = {}

    # --- the selection -------------------------------------------------------------------------

    def read_selection(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET selection``: the selection (made now for a new session), or its order."""
        selection = self._cart(visit)
        return self._shown(selection, self.shop(CallKind.READ_SELECTION, selection))

    def recover_selection(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT selection/{selection}``: the session stands for that selection from now on."""
        if visit.token is None:
            raise _stateless()
        found = self.shop(CallKind.READ_SELECTION, params["selection"])  # 404 when unknown
        self.sessions.bind(visit.token, params["selection"])
        visit.selection = params["selection"]
        return self._shown(params["selection"], found)

    def set_selection(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT selection`` (server side): the country, market, price list and language."""
        data: Mapping[str, Any] = body or {}
        selection = self._cart(visit)
        catalog = self.state.catalog
        country = str(data.get("country") or self.country(selection)).upper()
        if country not in catalog.countries:
            raise refuse(400, country="not found")
        own = catalog.pricelist(country)
        pricelist, market = data.get("pricelist"), data.get("market")
        if pricelist is not None and str(pricelist) != own.pricelist:
            known = str(pricelist) in catalog.pricelists
            raise refuse(
                400, pricelist=f"not the price list of {country}" if known else "not found"
            )
        if market is not None and str(market) != own.market:
            known = any(p.market == str(market) for p in catalog.pricelists.values())
            raise refuse(400, market=f"not the market of {country}" if known else "not found")
        language = self.language(data.get("language"))
        if country != self.country(selection):
            self.shop(CallKind.SET_COUNTRY, selection, country=country)
            self._chosen[selection] = _Chosen()
        if language is not None:
            self._chosen.setdefault(selection, _Chosen()).language = language
        return self._shown(selection, self.shop(CallKind.READ_SELECTION, selection))

    # --- the cart ------------------------------------------------------------------------------

    def add_item(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST items/{item}[/quantity/{n}]``: one (or ``n``) more of an item."""
        data = _shop_body(CallKind.ADD_ITEM, body)
        if "quantity" in params:
            data["quantity"] = _count(params["quantity"])
        selection = self._cart(visit)
        return self._change(selection, CallKind.ADD_ITEM, data, item=params["item"])

    def set_quantity(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT lines/{line}/quantity/{n}``: the line's quantity (0 removes it)."""
        selection = self._cart(visit)
        shown = {"line": params["line"], "quantity": params["quantity"]}
        return self._change(selection, CallKind.SET_QUANTITY, None, **shown)

    def increase_line(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST lines/{line}/quantity/{n}``: ``n`` more on the line."""
        return self._move_line(visit, params["line"], _count(params["quantity"]))

    def decrease_line(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``DELETE lines/{line}/quantity/{n}``: ``n`` fewer on the line."""
        return self._move_line(visit, params["line"], -_count(params["quantity"]))

    def remove_line(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``DELETE lines/{line}``: the line removed."""
        selection = self._cart(visit)
        return self._change(selection, CallKind.REMOVE_LINE, None, line=params["line"])

    def apply_voucher(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST vouchers`` with ``{voucher}``, or ``POST vouchers/{code}``."""
        code = params.get("code", (body or {}).get("voucher"))
        if code is not None and not isinstance(code, str):
            raise refuse(400, voucher="must be text")
        selection = self._cart(visit)
        return self._change(selection, CallKind.APPLY_VOUCHER, {"voucher": code})

    def remove_voucher(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``DELETE vouchers/{code}``, or ``DELETE vouchers`` with ``{voucher}``."""
        code = params.get("code", (body or {}).get("voucher"))
        if not isinstance(code, str):
            raise refuse(400, voucher="required")
        selection = self._cart(visit)
        return self._change(selection, CallKind.REMOVE_VOUCHER, None, code=code)

    # --- where the shopper is ------------------------------------------------------------------

    def set_country(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT countries/{cc}[/states/{state}]``, optionally with ``{language}``."""
        catalog = self.state.catalog
        country = params["country"].upper()
        if country not in catalog.countries:
            raise refuse(400, country="not found")
        state = params.get("state", "").upper() or None
        if state is not None and state not in catalog.countries[country].states:
            raise refuse(400, state="not found")
        language = self.language((body or {}).get("language"))
        selection = self._cart(visit)
        answer = self.shop(CallKind.SET_COUNTRY, selection, country=country)
        self._chosen[selection] = _Chosen(language, state)
        return self._shown(selection, answer)

    def set_language(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT languages/{language}``: the selection's language."""
        language = self.language(params["language"])
        selection = self._cart(visit)
        self._chosen.setdefault(selection, _Chosen()).language = language
        return self._shown(selection, self.shop(CallKind.READ_SELECTION, selection))

    # --- the checkout --------------------------------------------------------------------------

    def set_payment_method(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT payment-methods/{method}``."""
        selection = self._cart(visit)
        fields = {"paymentMethod": params["method"]}
        return self._change(selection, CallKind.SET_CHECKOUT_FIELDS, fields)

    def set_shipping_method(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT shipping-methods/{method}``."""
        selection = self._cart(visit)
        fields = {"shippingMethod": params["method"]}
        return self._change(selection, CallKind.SET_CHECKOUT_FIELDS, fields)

    def set_payment_fields(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``PUT payment-fields``: the addresses and the other details, before paying."""
        fields = _shop_body(CallKind.SET_CHECKOUT_FIELDS, body)
        selection = self._cart(visit)
        return self._change(selection, CallKind.SET_CHECKOUT_FIELDS, fields)

    def start_payment(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST payment``: the provider's action (a ``success`` is the order, flat)."""
        request = _shop_body(CallKind.START_PAYMENT, body)
        request.pop("selection", None)  # the token is the selection
        selection = self._cart(visit)
        answer = self.shop(CallKind.START_PAYMENT, selection, body=request)
        if isinstance(answer.body, Mapping) and answer.body.get("action") == "success":
            place = self._place(selection, answer.body)
            return Answer(answer.status, self.render.success(answer.body, place, self.state.stock))
        return answer

    def payment_result(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST payment-result``: the order, nested under ``order``."""
        fields = _shop_body(CallKind.PAYMENT_RESULT, body)
        fields.pop("selection", None)
        if visit.selection is None:
            raise refuse(400, selection="no payment started")
        answer = self.shop(CallKind.PAYMENT_RESULT, visit.selection, body=fields)
        place = self._place(visit.selection, answer.body)
        order = self.render.order(answer.body, place, self.state.stock, paid_now=True)
        return Answer(answer.status, order)

    def read_receipt(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET receipt``: the order, as a read of the selection answers it afterwards."""
        if visit.selection is None:  # no page gives this answer: as the Shop API's fake
            raise refuse(404, receipt="the selection is not an order")
        return self._shown(visit.selection, self.shop("read_receipt", visit.selection))

    # --- internals -----------------------------------------------------------------------------

    def reshaped(self, visit: Visit, answer: Answer) -> Answer:
        """A refusal of the Shop API's handlers in the Checkout API's form (a 410 carries the
        reduced selection)."""
        body = answer.body
        if visit.selection is None or not isinstance(body, Mapping):
            return answer
        if isinstance(body.get("selection"), Mapping):
            return self._shown(visit.selection, answer)
        return answer

    def _cart(self, visit: Visit) -> str:
        """The session's selection, made now if it has none yet."""
        if visit.token is None:
            raise _stateless()
        if visit.selection is None:
            self.state.calls[CallKind.CREATE_SELECTION] += 1
            created = self.shop(CallKind.CREATE_SELECTION, "")
            visit.selection = str(created.body["selection"]["selection"])
            self.sessions.bind(visit.token, visit.selection)
        return visit.selection

    def _change(
        self, selection: str, kind: CallKind, body: dict[str, Any] | None, **params: str
    ) -> Answer:
        return self._shown(selection, self.shop(kind, selection, body, **params))

    def _move_line(self, visit: Visit, line: str, by: int) -> Answer:
        selection = self._cart(visit)
        cart = self.shop(CallKind.READ_SELECTION, selection).body.get("selection")
        if not isinstance(cart, Mapping):  # it is an order
            raise refuse(400, selection="already completed")
        lines = {entry["line"]: entry["quantity"] for entry in cart["items"]}
        if line not in lines:
            raise refuse(400, line="not found")
        quantity = str(max(lines[line] + by, 0))
        return self._change(selection, CallKind.SET_QUANTITY, None, line=line, quantity=quantity)

    def _shown(self, selection: str, answer: Answer) -> Answer:
        """A Shop API answer about ``selection`` (a selection or its order) as the Checkout
        API's."""
        body = answer.body
        place = self._place(selection, body)
        stock = self.state.stock
        if isinstance(body.get("selection"), Mapping):
            return Answer(answer.status, self.render.selection(body, place, stock))
        if "order" in body and "items" in body:
            return Answer(answer.status, self.render.order(body, place, stock))
        return answer

    def _place(self, selection: str, body: Mapping[str, Any]) -> Place:
        chosen = self._chosen.get(selection, _Chosen())
        return Place(self.country_in(body), chosen.language, chosen.state)


def _shop_body(kind: CallKind, body: Mapping[str, Any] | None) -> dict[str, Any]:
    """``body`` without the fields the Shop API's handler does not know (the Checkout API's
    pages send more: a provider's callback data, ``newsletter``); the rest type-checked."""
    if body is None:
        return {}
    found = bodies.field_problems(kind, body)
    wrong = {field: problem for field, problem in found.items() if problem != "unknown"}
    if wrong:
        raise Refused(400, {"errors": wrong})
    return {k: v for k, v in body.items() if found.get(k) != "unknown"}


def _count(text: str) -> int:
    if not _COUNT.fullmatch(text) or not 1 <= int(text) <= MAX_INT:
        raise refuse(400, quantity="must be a whole number of at least 1")
    return int(text)


def _stateless() -> Refused:
    return refuse(400, **{"API-token": "none keeps no selection: send the session's token"})
