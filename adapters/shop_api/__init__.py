"""Centra's Shop API: the dialect (``dialect``: each call's request and how its answer decodes)
and its HTTP clients (``client``: ``ShopApiClient`` and ``AsyncShopApiClient``, on httpx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient

_HOMES = {
    "AsyncShopApiClient": "orderflow.adapters.shop_api.client",
    "ShopApiClient": "orderflow.adapters.shop_api.client",
}

__all__ = ["AsyncShopApiClient", "ShopApiClient"]

__getattr__ = lazy_exports(__name__, _HOMES)
