"""orderflow's adapters: everything that does I/O, plugged into the core's ports.

One package per concept: ``shop_api``, ``checkout_api`` and ``storefront_api`` (Centra's Shop
API, Checkout API and Storefront API (GraphQL) dialects and their HTTP clients),
``fake`` (an in-memory Centra, its faults and its HTTP server), ``replay`` (recorded
cassettes), ``stores`` (memory, SQLite, PostgreSQL), ``webhooks`` (Centra's signed order
updates), ``cli`` (the ``orderflow`` command, the one composition root) and ``pytest_plugin``.
Every public name is importable from here or from its package; each is loaded on first use,
so ``from orderflow.adapters import FakeCentra`` pulls in neither httpx nor psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.checkout_api.client import AsyncCheckoutApiClient, CheckoutApiClient
    from orderflow.adapters.fake.centra import FakeCentra
    from orderflow.adapters.fake.faults import FaultPlan, LostAnswer
    from orderflow.adapters.fake.server import FakeServer, create_app
    from orderflow.adapters.replay.cassette import CassetteError, CassetteFormatError
    from orderflow.adapters.replay.redaction import Redaction
    from orderflow.adapters.replay.tape import CassetteMismatch, UnexpectedRequest
    from orderflow.adapters.replay.transport import (
        AsyncReplayTransport,
        ReplayTransport,
        replay_client,
    )
    from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
    from orderflow.adapters.storefront_api.client import (
        AsyncStorefrontApiClient,
        StorefrontApiClient,
    )
    from orderflow.adapters.stores.async_postgres import AsyncPostgresStore
    from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
    from orderflow.adapters.stores.postgres import PostgresStore
    from orderflow.adapters.stores.sqlite import AsyncSQLiteStore, SQLiteStore
    from orderflow.adapters.webhooks.receiver import AsyncWebhookReceiver, WebhookReceiver
    from orderflow.adapters.webhooks.signature import WebhookRejected, verify_signature

_HOMES = {
    "AsyncCheckoutApiClient": "orderflow.adapters.checkout_api.client",
    "AsyncReplayTransport": "orderflow.adapters.replay.transport",
    "AsyncShopApiClient": "orderflow.adapters.shop_api.client",
    "CassetteError": "orderflow.adapters.replay.cassette",
    "CassetteFormatError": "orderflow.adapters.replay.cassette",
    "CassetteMismatch": "orderflow.adapters.replay.tape",
    "CheckoutApiClient": "orderflow.adapters.checkout_api.client",
    "FakeCentra": "orderflow.adapters.fake.centra",
    "FakeServer": "orderflow.adapters.fake.server",
    "FaultPlan": "orderflow.adapters.fake.faults",
    "LostAnswer": "orderflow.adapters.fake.faults",
    "MemoryStore": "orderflow.adapters.stores.memory",
    "AsyncMemoryStore": "orderflow.adapters.stores.memory",
    "AsyncPostgresStore": "orderflow.adapters.stores.async_postgres",
    "AsyncSQLiteStore": "orderflow.adapters.stores.sqlite",
    "AsyncStorefrontApiClient": "orderflow.adapters.storefront_api.client",
    "PostgresStore": "orderflow.adapters.stores.postgres",
    "Redaction": "orderflow.adapters.replay.redaction",
    "ReplayTransport": "orderflow.adapters.replay.transport",
    "SQLiteStore": "orderflow.adapters.stores.sqlite",
    "ShopApiClient": "orderflow.adapters.shop_api.client",
    "StorefrontApiClient": "orderflow.adapters.storefront_api.client",
    "UnexpectedRequest": "orderflow.adapters.replay.tape",
    "AsyncWebhookReceiver": "orderflow.adapters.webhooks.receiver",
    "WebhookReceiver": "orderflow.adapters.webhooks.receiver",
    "WebhookRejected": "orderflow.adapters.webhooks.signature",
    "verify_signature": "orderflow.adapters.webhooks.signature",
    "create_app": "orderflow.adapters.fake.server",
    "replay_client": "orderflow.adapters.replay.transport",
}

__all__ = [
    "AsyncCheckoutApiClient",
    "AsyncMemoryStore",
    "AsyncPostgresStore",
    "AsyncReplayTransport",
    "AsyncSQLiteStore",
    "AsyncShopApiClient",
    "AsyncStorefrontApiClient",
    "AsyncWebhookReceiver",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMismatch",
    "CheckoutApiClient",
    "FakeCentra",
    "FakeServer",
    "FaultPlan",
    "LostAnswer",
    "MemoryStore",
    "PostgresStore",
    "Redaction",
    "ReplayTransport",
    "SQLiteStore",
    "ShopApiClient",
    "StorefrontApiClient",
    "UnexpectedRequest",
    "WebhookReceiver",
    "WebhookRejected",
    "create_app",
    "replay_client",
    "verify_signature",
]

__getattr__ = lazy_exports(__name__, _HOMES)
