"""The fake Centra's carts: its selections, their stock, and the endpoints that change them
(``CartState``), with the refusal every handler raises (``Refused``).

``state.CentraState`` adds paying and the orders. A handler gets the path's parameters and a
body whose fields ``bodies`` has checked; it returns Centra's answer or raises ``Refused``.
A cart change after the payment started is not blocked (Centra does not block it; what it
leads to is decided when the payment result comes, see ``state``). In aggressive stock mode an
added item or a changed quantity is checked at once (``stock``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderflow.adapters.fake import stock as stocks
from orderflow.adapters.fake.answer import Answer, RequestKind
from orderflow.adapters.fake.cart import Cart, PaymentSession
from orderflow.adapters.fake.catalog import Catalog
from orderflow.adapters.fake.payments import Provider
from orderflow.adapters.fake.pricing import VouchersAs, number
from orderflow.adapters.fake.providers import PROVIDERS
from orderflow.adapters.fake.rendering import ShopRenderer
from orderflow.adapters.fake.stock import OUT_OF_STOCK, StockMode
from orderflow.limits import MAX_INT
from orderflow.ports import Clock

_QUANTITY = re.compile(r"-?[0-9]{1,19}")


class Refused(Exception):
    """A handler's refusal: Centra's error answer ``(status, body)``."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status, body)
        self.answer = Answer(status, body)


def refuse(status: int, **errors: str) -> Refused:
    """A refusal with Centra's error body ``{"errors": {field: message}}``."""
    return Refused(status, {"errors": errors})


class CartState:
    """The selections and stock of a fake Centra, and the handlers that change a cart.

    ``stock`` maps each item to how many are left; ``calls`` counts requests by
    ``RequestKind`` (kept by the front door). Not locked: ``FakeCentra`` holds its lock around
    every handler. Raises ``ValueError`` for an unknown ``stock_mode`` or ``vouchers_as``.
    """

    def __init__(
        self,
        catalog: Catalog,
        stock: Mapping[str, int] | None,
        clock: Clock,
        *,
        stock_mode: StockMode = "standard",
        vouchers_as: VouchersAs = "list",
    ):
        if stock_mode not in stocks.STOCK_MODES:
            raise ValueError(f"stock_mode is one of {stocks.STOCK_MODES}, not {stock_mode!r}")
        if vouchers_as not in ("list", "object"):
            raise ValueError(f"vouchers_as is 'list' or 'object', not {vouchers_as!r}")
        self.catalog = catalog
        self.stock: dict[str, int] = (
            dict(stock) if stock is not None else dict.fromkeys(self.catalog.items, 100)
        )
        self.clock = clock
        self.stock_mode: StockMode = stock_mode
        self.vouchers_as: VouchersAs = vouchers_as
        self.calls: Counter[RequestKind] = Counter()
        self._render = ShopRenderer.shared(self.catalog)
        self._selections: dict[str, Cart] = {}
        self._next_id = 0

    # --- the handlers that change a cart ----------------------------------------------------

    def _create_selection(self, params: dict[str, str], body: Any) -> Answer:
        country = str((body or {}).get("country") or self.catalog.default_country).upper()
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
        return Answer(201, self._selection_answer(sel))

    def _add_item(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        quantity = (body or {}).get("quantity") or 1
        item = self.catalog.items.get(params["item"])
        if item is None:
            raise refuse(400, item="product item not found")
        if item.product not in self.catalog.pricelist(sel.country).prices:
            raise refuse(400, item="not for sale in this country")
        line = next((k for k, entry in sel.lines.items() if entry[0] == item.item), None)
        if line is None:
            line = self._new_id("line")
            sel.lines[line] = [item.item, quantity]
        elif sel.lines[line][1] + quantity > MAX_INT:
            raise refuse(400, quantity=f"at most {MAX_INT} in a line")
        else:
            sel.lines[line][1] += quantity
        return self._changed(sel, line)

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
            return self._changed(sel)
        entry[1] = quantity
        return self._changed(sel, params["line"])

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
        self._move(sel, params["country"].upper())
        return self._changed(sel)

    def _set_checkout_fields(self, params: dict[str, str], body: Any) -> Answer:
        sel = self._open(params)
        self._take_details(sel, body or {})
        return self._changed(sel)

    # --- state changes -----------------------------------------------------------------------

    def _selection_answer(self, sel: Cart) -> dict[str, Any]:
        plugin = None
        if sel.payment is not None:
            provider = self._provider(sel.payment.method)
            plugin = provider.plugin_fields(self._render.priced(sel, self.vouchers_as), sel)
        return self._render.selection(sel, self.vouchers_as, plugin)

    def _changed(self, sel: Cart, line: str | None = None) -> Answer:
        # Centra does not block a cart change after the payment started (see the docstring).
        if line is not None and self.stock_mode == "aggressive":
            missing = stocks.take_missing(self.catalog, self.stock, sel, [line])
            if missing and stocks.all_unavailable(missing):
                raise Refused(
                    410,
                    {"errors": OUT_OF_STOCK, "unavailable": missing, **self._selection_answer(sel)},
                )
            if missing:
                return Answer(200, {**self._selection_answer(sel), "unavailable": missing})
        return Answer(200, self._selection_answer(sel))

    def _provider(self, method: str) -> Provider:
        return PROVIDERS[self.catalog.payment_methods[method].kind]

    def _amount(self, sel: Cart) -> tuple[str, Decimal]:
        totals = self._render.priced(sel, self.vouchers_as).totals
        currency = self.catalog.pricelist(sel.country).currency_format.currency
        return currency, Decimal(str(totals["grandTotalPriceAsNumber"]))

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
        posted = (address or {}).get("country")
        country = str(posted).upper() if posted else sel.country  # documented as "se" too
        if country not in self.catalog.countries:
            raise refuse(400, country="not found")
        shipping = body.get("shippingMethod")
        offered = {o.shipping_method for o in self.catalog.shipping_options(country)}
        if shipping is not None and shipping not in offered:
            raise refuse(400, shippingMethod="not available")
        if country != sel.country:
            self._move(sel, country)
        if address is not None:
            sel.address = {**address, "country": country} if posted else dict(address)
        if body.get("email") is not None:  # checkout fields: the cart-abandonment page's email
            sel.address = {**sel.address, "email": body["email"]}
        if "shippingAddress" in body:
            shipping_address = body["shippingAddress"]
            sel.shipping_address = dict(shipping_address) if shipping_address else None
        if body.get("giftMessage") is not None:
            sel.gift_message = str(body["giftMessage"])
        if body.get("cartAbandonmentEmail") is not None:
            sel.cart_abandonment_email = bool(body["cartAbandonmentEmail"])
        sel.payment_method = method or sel.payment_method
        sel.shipping_method = shipping or sel.shipping_method

    def _check_stock(self, sel: Cart, *, cancelled: PaymentSession | None = None) -> None:
        """Centra's 410 when the cart holds more than the stock (what is missing is taken out,
        the payment must be started again); ``cancelled``: the payment result's ``cancellation``
        of that payment (aggressive mode)."""
        unavailable = stocks.take_missing(self.catalog, self.stock, sel)
        if not unavailable:
            return
        sel.payment = None
        extra: dict[str, Any] = {}
        if cancelled is not None:
            currency, amount = cancelled.amount
            cf = self.catalog.pricelist(cancelled.country).currency_format
            extra["cancellation"] = {
                "grandTotalPrice": cf.format(amount),
                "grandTotalPriceAsNumber": number(amount),
                "currency": currency,
            }
        raise Refused(
            410,
            {
                "errors": OUT_OF_STOCK,
                "unavailable": unavailable,
                **extra,
                **self._selection_answer(sel),
            },
        )
