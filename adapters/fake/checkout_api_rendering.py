"""The fake's answers in the Checkout API's form: the Shop API's answers of the one shared
state (``rendering``), reshaped as the Checkout API's pages show them
(``tests/data/checkout-api/INDEX.md``).

What differs from the Shop API's answers:

- **No selection id**: the session token stands for it; ``selection`` has no ``selection`` or
  ``country`` key, its addresses no ``countryName`` (an order's do).
- **Each line nests its product object** (``browse``), priced in the selection's price list;
  a line has ``productUrl`` and ``category`` (``null``, as the order-flow page shows them) and
  no ``productName``, ``brandName``, ``silkProduct``, ``silkVariant`` or ``comment``; an
  order's lines keep ``storePickup``.
- **Localization** (the selections-and-orders page's form): ``language`` is the selected
  language ``{language, name}``, ``languages`` every language by name, ``countries`` the
  countries shipped to, ``location`` the country (with the ``state`` chosen) whose
  ``language`` is the country's default.
- **The order is nested** under ``order`` with the localization around it, as the payment
  result answers (with ``affiliateHtml`` and ``paymentMethodData``) and as reading the
  selection or the receipt afterwards answers (without them); ``market``, ``pricelist`` and
  ``warehouse`` are not on any Checkout API order. The ``success`` action keeps the order
  flat next to ``action``, as the payment-flows page shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from orderflow.adapters.fake.browse import Browse
from orderflow.adapters.fake.catalog import Catalog, PriceList

__all__ = ["CheckoutRenderer", "Place"]

_NOT_IN_SELECTION = frozenset({"selection", "country"})
_NOT_IN_ORDER = frozenset({"market", "pricelist", "warehouse"})
_ONLY_WHEN_PAID = frozenset({"affiliateHtml", "paymentMethodData"})
"""What the payment result's order has and a later read of it has not (the order-flow page)."""
_LINE_HEAD = ("item", "productUrl", "category", "size", "sku", "ean", "quantity")
_NOT_IN_LINE = frozenset(
    {"product", "productName", "brandName", "silkProduct", "silkVariant", "comment", "storePickup"}
)
_SELECTION_PARTS = ("selection", "paymentMethods", "paymentFields", "shippingMethods", "location")


@attrs.frozen
class Place:
    """Where a session shops: its country, the language chosen (``None``: the country's) and
    the state chosen in the country (if any)."""

    country: str
    language: str | None = None
    state: str | None = None


class CheckoutRenderer:
    """Reshapes the Shop API's answers of the shared state into the Checkout API's."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.browse = Browse(catalog)

    def language_of(self, place: Place) -> str:
        """The language a session in ``place`` gets."""
        return place.language or self.browse.country_language(place.country)

    def localization(self, place: Place) -> dict[str, Any]:
        """``location``, ``language``, ``languages`` and ``countries`` of a session."""
        country = self.catalog.countries[place.country]
        state = country.states.get(place.state or "")
        location = {
            "country": country.code,
            "name": country.name,
            "state": place.state if state is not None else None,
            "stateName": state or "",
            "eu": country.eu,
            "shipTo": country.ship_to,
            "language": self.browse.country_language(country.code),
        }
        return {
            "location": location,
            "language": self.browse.language(self.language_of(place)),
            "languages": self.browse.languages(),
            "countries": self.browse.countries(),
        }

    def selection(
        self, shop: Mapping[str, Any], place: Place, stock: Mapping[str, int]
    ) -> dict[str, Any]:
        """A Shop API selection answer (and whatever goes with it: ``errors``, ``unavailable``)
        as the Checkout API's."""
        cart = shop["selection"]
        pricelist = self.catalog.pricelist(place.country)
        reshaped = {k: v for k, v in cart.items() if k not in _NOT_IN_SELECTION}
        reshaped["items"] = [self._line(line, pricelist, stock) for line in cart["items"]]
        for key in ("address", "shippingAddress"):
            address = {k: v for k, v in cart[key].items() if k != "countryName"}
            reshaped[key] = {**address, "vatNumber": address.get("vatNumber", "")}
        rest = {k: v for k, v in shop.items() if k not in _SELECTION_PARTS}
        return {
            **rest,
            "selection": reshaped,
            "paymentMethods": shop["paymentMethods"],
            "paymentFields": shop["paymentFields"],
            "shippingMethods": shop["shippingMethods"],
            **self.localization(place),
        }

    def order(
        self,
        receipt: Mapping[str, Any],
        place: Place,
        stock: Mapping[str, int],
        *,
        paid_now: bool = False,
    ) -> dict[str, Any]:
        """A Shop API receipt as the Checkout API's nested order answer; ``paid_now``: the
        payment result's (with ``affiliateHtml`` and ``paymentMethodData``)."""
        dropped = _NOT_IN_ORDER if paid_now else _NOT_IN_ORDER | _ONLY_WHEN_PAID
        return {"order": self._order(receipt, place, stock, dropped), **self.localization(place)}

    def success(
        self, action: Mapping[str, Any], place: Place, stock: Mapping[str, int]
    ) -> dict[str, Any]:
        """The ``success`` action: the order flat next to ``action`` (payment-flows)."""
        return self._order(action, place, stock, _NOT_IN_ORDER)

    def _order(
        self,
        receipt: Mapping[str, Any],
        place: Place,
        stock: Mapping[str, int],
        dropped: frozenset[str],
    ) -> dict[str, Any]:
        pricelist = self.catalog.pricelists.get(str(receipt.get("pricelist")))
        pricelist = pricelist or self.catalog.pricelist(place.country)
        order = {k: v for k, v in receipt.items() if k not in dropped}
        order["items"] = [
            self._line(line, pricelist, stock, in_order=True) for line in receipt["items"]
        ]
        return order

    def _line(
        self,
        line: Mapping[str, Any],
        pricelist: PriceList,
        stock: Mapping[str, int],
        *,
        in_order: bool = False,
    ) -> dict[str, Any]:
        head = {key: line.get(key) for key in _LINE_HEAD}  # productUrl, category: null (of)
        if in_order:
            head["storePickup"] = line.get("storePickup", False)
        rest = {k: v for k, v in line.items() if k not in _NOT_IN_LINE and k not in head}
        product = str(line.get("product"))
        nested = (
            self.browse.product(product, pricelist, stock, in_line=True)
            if self.browse.has_product(product)
            else {"product": product, "name": line.get("productName", "")}
        )
        return {**head, **rest, "product": nested}
