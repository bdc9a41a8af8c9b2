"""Where checkouts are kept: ``memory`` (tests, one process), ``sqlite`` (the embedded
default), ``postgres`` and ``async_postgres`` (many service instances); each sync store has an
async twin. ``_sql`` and ``_queries`` are what the two SQL stores share, ``_postgres`` what the
two PostgreSQL stores share, ``_shared`` what every store does alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.stores.async_postgres import AsyncPostgresStore
    from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
    from orderflow.adapters.stores.postgres import PostgresStore
    from orderflow.adapters.stores.sqlite import AsyncSQLiteStore, SQLiteStore

_HOMES = {
    "AsyncMemoryStore": "orderflow.adapters.stores.memory",
    "AsyncPostgresStore": "orderflow.adapters.stores.async_postgres",
    "AsyncSQLiteStore": "orderflow.adapters.stores.sqlite",
    "MemoryStore": "orderflow.adapters.stores.memory",
    "PostgresStore": "orderflow.adapters.stores.postgres",
    "SQLiteStore": "orderflow.adapters.stores.sqlite",
}

__all__ = [
    "AsyncMemoryStore",
    "AsyncPostgresStore",
    "AsyncSQLiteStore",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
]

__getattr__ = lazy_exports(__name__, _HOMES)
