"""Stock in the fake Centra: Centra's overselling prevention modes and the out-of-stock answers.

The modes are the store setting the overselling-prevention page documents
(``pages/03.fe-development/10.overselling-prevention/docs.md``):

- ``"off"``: no stock checks; an order may take more than there is (backorders).
- ``"standard"`` (the fake's default): checked when the payment starts, and, as the fake's own
  choice, again at the payment result (an answer without ``cancellation``).
- ``"aggressive"``: also when an item is added or a line's quantity set (200 with an
  ``unavailable`` list when part of the request is out of stock, 410 when all of it is), and
  at the payment result of the providers the page names (Adyen Drop-in, Stripe Checkout):
  410 with a ``cancellation``; the payment is cancelled and must be started again.

Every check takes out of the cart what is missing and lists it as Centra does:
``{item, product, originalQuantity, unavailable, available}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from orderflow.adapters.fake.cart import Cart
from orderflow.adapters.fake.catalog import Catalog

StockMode = Literal["off", "standard", "aggressive"]
STOCK_MODES: tuple[StockMode, ...] = get_args(StockMode)

OUT_OF_STOCK = {"stock": "unavailable items"}
"""The ``errors`` of Centra's 410."""


def take_missing(
    catalog: Catalog, stock: Mapping[str, int], cart: Cart, lines: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Reduce the cart's ``lines`` (default: all) to the stock there is; what was missing.

    A line with nothing left is removed.
    """
    unavailable = []
    for line in list(cart.lines if lines is None else lines):
        item, quantity = cart.lines[line]
        available = max(stock.get(item, 0), 0)
        if quantity <= available:
            continue
        unavailable.append(
            {
                "item": item,
                "product": catalog.items[item].product,
                "originalQuantity": quantity,
                "unavailable": quantity - available,
                "available": available,
            }
        )
        if available:
            cart.lines[line][1] = available
        else:
            del cart.lines[line]
    return unavailable


def all_unavailable(unavailable: Iterable[Mapping[str, Any]]) -> bool:
    """Whether nothing of what the request asked for was available (a 410, not a 200)."""
    return all(entry["available"] == 0 for entry in unavailable)
