"""Centra's Storefront API (GraphQL): the project's own operation documents (``documents``), the
dialect (``dialect``: each call's request and how its answer decodes, through ``answers`` and
``wire``) and its HTTP clients (``client``: ``StorefrontApiClient`` and
``AsyncStorefrontApiClient``, on httpx; no GraphQL library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.storefront_api.client import (
        AsyncStorefrontApiClient,
        StorefrontApiClient,
    )

_HOMES = {
    "AsyncStorefrontApiClient": "orderflow.adapters.storefront_api.client",
    "StorefrontApiClient": "orderflow.adapters.storefront_api.client",
}

__all__ = ["AsyncStorefrontApiClient", "StorefrontApiClient"]

__getattr__ = lazy_exports(__name__, _HOMES)
