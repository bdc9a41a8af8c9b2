"""Centra's webhooks: signatures verified (``signature``) and order updates routed to their
checkouts through the service's locked paths (``receiver``, with an ASGI app to mount)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.webhooks.receiver import (
        AsyncWebhookReceiver,
        WebhookReceiver,
        asgi_app,
    )
    from orderflow.adapters.webhooks.signature import WebhookRejected, sign, verify_signature

_HOMES = {
    "AsyncWebhookReceiver": "orderflow.adapters.webhooks.receiver",
    "WebhookReceiver": "orderflow.adapters.webhooks.receiver",
    "WebhookRejected": "orderflow.adapters.webhooks.signature",
    "asgi_app": "orderflow.adapters.webhooks.receiver",
    "sign": "orderflow.adapters.webhooks.signature",
    "verify_signature": "orderflow.adapters.webhooks.signature",
}

__all__ = [
    "AsyncWebhookReceiver",
    "WebhookReceiver",
    "WebhookRejected",
    "asgi_app",
    "sign",
    "verify_signature",
]

__getattr__ = lazy_exports(__name__, _HOMES)
