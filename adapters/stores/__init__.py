"""Where checkouts are kept: ``memory`` (tests, one process), ``sqlite`` (the embedded
default) and ``postgres`` (many service instances); ``_sql`` is what the two SQL stores share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.stores.memory import MemoryStore
    from orderflow.adapters.stores.postgres import PostgresStore
    from orderflow.adapters.stores.sqlite import SQLiteStore

_HOMES = {
    "MemoryStore": "orderflow.adapters.stores.memory",
    "PostgresStore": "orderflow.adapters.stores.postgres",
    "SQLiteStore": "orderflow.adapters.stores.sqlite",
}

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore"]

__getattr__ = lazy_exports(__name__, _HOMES)
