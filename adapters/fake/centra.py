"""``FakeCentra``: an in-memory Centra that speaks the Shop API dialect of ``shop_api``.

Its whole behaviour is one method,
``serve_shop_api(method, path, body, headers) -> (status, body)``, answering with Centra's
status codes and JSON bodies (plain dicts), so it can be served over HTTP unchanged. It also
implements the ``Transport`` port in process: each call builds its request with the dialect,
passes it to ``serve_shop_api`` and decodes the answer with the dialect, exactly as
the HTTP adapter does, without a JSON round trip.

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
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from orderflow.adapters.fake.catalog import Catalog
from orderflow.adapters.fake.faults import LostAnswer
from orderflow.adapters.fake.rendering import Cart, ShopRenderer
from orderflow.adapters.shop_api import dialect
from orderflow.clock import SystemClock
from orderflow.ports import Clock

T = TypeVar("T")
Answer = tuple[int, Any]

_REQUIRED_ADDRESS = ("email", "firstName", "lastName", "address1", "zipCode", "city", "country")
_KLARNA_NAMESPACE = uuid.UUID("5c1b4a34-6f0e-4d3b-9a8e-4b4c7a0f6d21")


class Faults(Protocol):
    """Where fault injection plugs in (latency, 5xx, timeouts, 410), for ``serve_shop_api``.

    ``before`` runs before the fake acts (outside its lock) and may answer instead, sleep, or
    raise ``LostAnswer``; ``after`` sees the answer after the fake acted and may replace it or
    raise ``LostAnswer``. ``orderflow.adapters.fake.faults.FaultPlan`` is the seeded implementation.
    """

    def before(self, endpoint: str, method: str, path: str, body: Any) -> Answer | None:
        """An answer to give instead of acting, or ``None`` to act normally."""
        ...

    def after(self, endpoint: str, status: int, body: Any) -> Answer | None:
        """An answer to give instead of the real one (the fake has acted), or ``None``."""
        ...


class _Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        self.answer = (status, body)


def _refuse(status: int, **errors: str) -> _Refused:
    return _Refused(status, {"errors": errors})


class FakeCentra(dialect.ShopApiCalls):
    """An in-memory Centra (Shop API): catalog, stock, prices, tax, vouchers, shipping, payments.

    ``calls`` counts requests per endpoint name (``dialect.ROUTES``); ``orders`` maps each
    selection that became an order to its receipt. Thread-safe. Its ``Transport`` methods raise
    the core errors that ``shop_api`` decodes from its answers.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        stock: Mapping[str, int] | None = None,
        *,
        api_key: str | None = None,
        client_api_key: str | None = None,
        clock: Clock | None = None,
        first_order: int = 588,
        faults: Faults | None = None,
    ):
        """``stock`` defaults to 100 of every item; ``api_key`` makes ``serve_shop_api`` require it
        in ``API-Authorization``; ``client_api_key`` is what the in-process ``Transport`` sends
        (default: ``api_key``)."""
        self.catalog = catalog or Catalog.seeded()
        self.stock: dict[str, int] = (
            dict(stock) if stock is not None else dict.fromkeys(self.catalog.items, 100)
        )
        self.api_key = api_key
        self.clock: Clock = clock or SystemClock()
        self.faults = faults
        self.calls: Counter[str] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        key = client_api_key if client_api_key is not None else api_key
        self._headers = {dialect.API_KEY_HEADER: key} if key is not None else None
        self._render = ShopRenderer.shared(self.catalog)
        self._selections: dict[str, Cart] = {}
        self._next_order = first_order
        self._next_id = 0
        self._lock = threading.RLock()
        self._handlers: dict[str, Callable[[dict[str, str], Any], Answer]] = {
            route.name: getattr(self, f"_{route.name}") for route in dialect.ROUTES
        }

    @classmethod
    def seeded(cls, **kwargs: Any) -> FakeCentra:
        """The seed's shop (``Catalog.seeded()``): its flow gives the seed's receipt."""
        return cls(Catalog.seeded(), **kwargs)

    # --- the server side ---------------------------------------------------------------------

    def serve_shop_api(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Answer one Shop API request (``path`` under the base) with Centra's status and body.

        The body is JSON-ready data that shares parts with the fake's state (stored orders,
        recently priced carts): read it, serialise it, or deep-copy it before changing it.
        Never raises for a bad request; that is an error answer, as Centra gives. Raises
        ``faults.LostAnswer`` only when the ``faults`` say the answer is lost (a timeout); a
        carrier turns that into what its client would see (see ``faults``).
        """
        found = dialect.match(method, path)
        if found is None:
            return 404, {"errors": {"path": f"no endpoint {method} {path}"}}
        route, params = found
        if body is not None and not isinstance(body, Mapping):
            return 400, {"errors": {"body": "must be a JSON object"}}
        with self._lock:
            self.calls[route.name] += 1
        # Outside the lock: injected latency must not hold up other requests.
        if self.faults is not None:
            injected = self.faults.before(route.name, method, path, body)
            if injected is not None:
                return injected
        with self._lock:
            if self.api_key is not None and not self._authorized(headers):
                return 401, {"errors": {dialect.API_KEY_HEADER: "not valid"}}
            try:
                answer = self._handlers[route.name](params, body)
            except _Refused as refused:
                answer = refused.answer
        if self.faults is not None:
            return self.faults.after(route.name, *answer) or answer
        return answer

    def _authorized(self, headers: Mapping[str, str] | None) -> bool:
        wanted = dialect.API_KEY_HEADER.lower()
        given = {k.lower(): v for k, v in (headers or {}).items()}.get(wanted)
        return given == self.api_key

    def _create_selection(self, params: dict[str, str], body: Any) -> Answer:
        _check_fields(body, ())
        country = self.catalog.default_country
        options = self.catalog.shipping_options(country)
        sel = Cart(
            id=self._new_id("selection"),
            country=country,
            payment_method=next(iter(self.catalog.payment_methods), None),
            shipping_method=options[0].shipping_method if options else None,
        )
        self._selections[sel.id] = sel
        return 201, self._render.selection(sel)

    def _add_item(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        _check_fields(body, ("quantity", "comment"))
        quantity = body.get("quantity", 1) if isinstance(body, Mapping) else 1
        if type(quantity) is not int or quantity < 1:
            raise _refuse(400, quantity="must be a whole number of at least 1")
        item = self.catalog.items.get(params["item"])
        if item is None:
            raise _refuse(400, item="product item not found")
        if item.product not in self.catalog.pricelist(sel.country).prices:
            raise _refuse(400, item="not for sale in this country")
        for entry in sel.lines.values():
            if entry[0] == item.item:
                entry[1] += quantity
                break
        else:
            sel.lines[self._new_id("line")] = [item.item, quantity]
        sel.payment = None
        return 200, self._render.selection(sel)

    def _set_quantity(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        entry = self._line(sel, params["line"])
        try:
            quantity = int(params["quantity"])
        except ValueError:
            raise _refuse(400, quantity="not a number") from None
        if quantity < 0:
            raise _refuse(400, quantity="must not be negative")
        if quantity == 0:
            del sel.lines[params["line"]]
        else:
            entry[1] = quantity
        sel.payment = None
        return 200, self._render.selection(sel)

    def _remove_line(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._line(sel, params["line"])
        del sel.lines[params["line"]]
        sel.payment = None
        return 200, self._render.selection(sel)

    def _apply_voucher(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        _check_fields(body, ("voucher",))
        code = body.get("voucher") if isinstance(body, Mapping) else None
        rule = self.catalog.vouchers.get(code) if isinstance(code, str) else None
        currency = self.catalog.pricelist(sel.country).currency_format.currency
        if rule is None or (rule.percent is None and currency not in rule.amounts):
            raise _refuse(400, voucher="not valid")
        if rule.code not in sel.vouchers:
            sel.vouchers.append(rule.code)
        sel.payment = None
        return 200, self._render.selection(sel)

    def _remove_voucher(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        if params["code"] not in sel.vouchers:
            raise _refuse(400, voucher="not applied")
        sel.vouchers.remove(params["code"])
        sel.payment = None
        return 200, self._render.selection(sel)

    def _set_country(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._move(sel, params["country"])
        sel.payment = None
        return 200, self._render.selection(sel)

    def _set_checkout_fields(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        _check_fields(body, dialect.CHECKOUT_FIELD_KEYS)
        self._take_details(sel, body or {})
        sel.payment = None
        return 200, self._render.selection(sel)

    def _start_payment(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        _check_fields(body, dialect.PAYMENT_KEYS)
        if not isinstance(body, Mapping):
            raise _refuse(400, paymentMethod="required")
        if body.get("selection") not in (None, sel.id):
            raise _refuse(400, selection="does not match the path")
        if body.get("termsAndConditions") is not True:
            raise _refuse(400, termsAndConditions="must be true")
        self._take_details(sel, body)
        address = sel.address
        missing = {f"address.{k}": "required" for k in _REQUIRED_ADDRESS if not address.get(k)}
        if missing:
            raise _Refused(400, {"errors": missing})
        if not sel.lines:
            raise _refuse(400, selection="no items")
        if not self.catalog.countries[sel.country].ship_to:
            raise _refuse(400, country="not shipped to")
        self._check_stock(sel)
        sel.payment = dict(body)
        option = self.catalog.payment_methods[sel.payment_method or ""]
        if option.kind == "success":
            return 200, {"action": "success", **self._place_order(sel, verified=False)}
        if option.kind == "decline":
            sel.payment = None
            return 200, {"action": "failed", "errors": {"paymentMethod": "failed"}}
        return_page = str(body.get("paymentReturnPage") or "")
        reference = str(uuid.uuid5(_KLARNA_NAMESPACE, f"{sel.id}:{self.calls['start_payment']}"))
        if option.kind == "redirect":
            joiner = "&" if "?" in return_page else "?"
            query = f"centraPaymentMethod={option.payment_method}&orderRef={reference}"
            url = f"{return_page}{joiner}{query}"
            return 200, {"action": "redirect", "url": url}
        return 200, {
            "action": "form",
            "formHtml": _klarna_form(return_page, option.payment_method, reference),
        }

    def _payment_result(self, params: dict[str, str], body: Any) -> Answer:
        _check_fields(body, ("selection", "paymentMethodFields"))
        data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        sel = self._selection(params.get("selection") or str(data.get("selection") or ""))
        if sel.order is not None:
            raise _Refused(
                400,
                {
                    "errors": {"selection": "already completed"},
                    "message": f"the selection is order {sel.order['order']}",
                },
            )
        if sel.payment is None:
            raise _refuse(400, selection="no payment started")
        fields = data.get("paymentMethodFields")
        if not isinstance(fields, Mapping):
            raise _refuse(400, paymentMethodFields="required")
        option = self.catalog.payment_methods[sel.payment_method or ""]
        proof = {"klarna": "klarna_order", "redirect": "orderRef"}.get(option.kind)
        if fields.get("centraPaymentMethod", option.payment_method) != option.payment_method or (
            proof is not None and not fields.get(proof)
        ):
            raise _refuse(400, paymentMethod="failed")
        self._check_stock(sel)
        return 200, dict(self._place_order(sel, verified=option.kind == "klarna"))

    def _read_selection(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is not None:
            return 200, dict(sel.order)
        return 200, self._render.selection(sel)

    def _read_receipt(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._selection(params["selection"])
        if sel.order is None:
            raise _refuse(404, receipt="the selection is not an order")
        return 200, dict(sel.order)

    # --- state changes -----------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        self._next_id += 1
        text = f"{kind}:{self._next_id}".encode()
        return hashlib.md5(text, usedforsecurity=False).hexdigest()

    def _selection(self, selection: str) -> Cart:
        sel = self._selections.get(selection)
        if sel is None:
            raise _refuse(404, selection="not found")
        return sel

    def _open(self, params: dict[str, str]) -> Cart:
        sel = self._selection(params["selection"])
        if sel.order is not None:
            raise _refuse(400, selection="already completed")
        return sel

    @staticmethod
    def _line(sel: Cart, line: str) -> list[Any]:
        entry = sel.lines.get(line)
        if entry is None:
            raise _refuse(400, line="not found")
        return entry

    def _move(self, sel: Cart, country: str) -> None:
        if country not in self.catalog.countries:
            raise _refuse(400, country="not found")
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
        method = body.get("paymentMethod")
        if method is not None and (
            not isinstance(method, str) or method not in self.catalog.payment_methods
        ):
            raise _refuse(400, paymentMethod="not available")
        shipping = body.get("shippingMethod")
        offered = {o.shipping_method for o in self.catalog.shipping_options(sel.country)}
        if shipping is not None and (not isinstance(shipping, str) or shipping not in offered):
            raise _refuse(400, shippingMethod="not available")
        address = body.get("address")
        if isinstance(address, Mapping):
            country = address.get("country")
            if country and country != sel.country:
                self._move(sel, country)
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
            raise _Refused(
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

    # --- the Transport port, in process --------------------------------------------------------

    def _call(self, request: dialect.Request[T]) -> T:
        try:
            status, body = self.serve_shop_api(
                request.method, request.path, request.body, self._headers
            )
        except LostAnswer as lost:  # what a client whose read timed out sees
            raise lost.to_error(request.route.label) from None
        return request.decode(status, body)


def _check_fields(body: Any, allowed: tuple[str, ...]) -> None:
    if isinstance(body, Mapping):
        unknown = {key: "unknown" for key in body if key not in allowed}
        if unknown:
            raise _Refused(400, {"errors": unknown})


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
