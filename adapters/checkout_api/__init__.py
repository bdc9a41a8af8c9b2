"""Centra's Checkout API: the dialect (``dialect``: each call's requests and how its answers
decode, with ``answers``: how they differ from the Shop API's) and its HTTP clients
(``client``: ``CheckoutApiClient`` and ``AsyncCheckoutApiClient``, on httpx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.checkout_api.client import AsyncCheckoutApiClient, CheckoutApiClient

_HOMES = {
    "AsyncCheckoutApiClient": "orderflow.adapters.checkout_api.client",
    "CheckoutApiClient": "orderflow.adapters.checkout_api.client",
}

__all__ = ["AsyncCheckoutApiClient", "CheckoutApiClient"]

__getattr__ = lazy_exports(__name__, _HOMES)
