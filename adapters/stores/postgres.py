"""A PostgreSQL store (psycopg 3, psycopg_pool) for many service instances sharing checkouts.

Each call borrows an autocommit connection from a bounded ``psycopg_pool.ConnectionPool``:
at most ``max_connections`` are open, and a call that finds none free waits up to
``pool_timeout`` before ``StoreError``. Connect and statement timeouts bound everything else
(see ``_postgres``), so a database that hangs fails a call in bounded time instead of holding
it. The statements are the SQL stores' own (``_sql``); ``AsyncPostgresStore`` runs the same.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import psycopg_pool

from orderflow.adapters.stores._postgres import PostgresSettings
from orderflow.adapters.stores._queries import SQLStore
from orderflow.adapters.stores._sql import Work, run
from orderflow.errors import StoreError
from orderflow.ports import GateStore

__all__ = ["PostgresStore"]

T = TypeVar("T")
_Pool = psycopg_pool.ConnectionPool[psycopg.Connection[Any]]


class PostgresStore(SQLStore):
    """A ``GateStore`` in PostgreSQL tables prefixed ``orderflow_``; run ``create_schema()`` once.

    ``schema`` puts the tables in that PostgreSQL schema instead of the connection's default.
    ``max_connections`` bounds the pool (more callers wait, up to ``pool_timeout`` seconds);
    ``connect_timeout`` bounds each connection attempt (libpq counts whole seconds, at least 2)
    and ``statement_timeout`` each statement, waits for locks included. ``cache_size`` decoded
    checkouts are kept and reused while their stored text is unchanged. The first call
    connects, and raises ``StoreError`` within the connect timeout if it cannot. Use it as a
    context manager, or ``close()``. Raises only core errors: ``CheckoutNotFound``,
    ``ConcurrencyConflict``, ``StoreError``; ``ValueError`` for bad arguments (also from the
    constructor, for a schema that is not a plain identifier or a bound that is not positive).
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        max_connections: int = 10,
        pool_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        statement_timeout: float = 10.0,
        cache_size: int = 256,
    ) -> None:
        self._settings = PostgresSettings.of(
            dsn,
            schema=schema,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        super().__init__(self._settings.queries(cache_size))
        self._lock = threading.Lock()
        self._closed = False
        self._pool: _Pool | None = None
        self._pid = os.getpid()
        # A pool inherited through fork() belongs to the parent: never used nor closed here
        # (closing would end the parent's sessions), only kept from garbage collection.
        self._inherited: list[_Pool] = []

    def create_schema(self) -> None:
        """Create the schema, tables and indexes, or upgrade those of an earlier version (safe
        to call again and concurrently), in one transaction. Raises ``StoreError``.

        An upgrade fills the new columns from each stored checkout in one statement, bounded by
        ``statement_timeout`` like any other: upgrade a large table with a longer one.
        """
        self._run(self._settings.schema_work())

    def close(self) -> None:
        """Close the pool and its connections; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()

    # --- internals ----------------------------------------------------------------------------

    def _run(self, work: Work[T]) -> T:
        pool = self._the_pool()
        with self._settings.translated(), pool.connection() as connection:
            if work.atomic:
                with connection.transaction():
                    result = run(connection, work.steps)
            else:
                result = run(connection, work.steps)
        return result

    def _the_pool(self) -> _Pool:
        with self._lock:
            if self._closed:
                raise StoreError("the PostgreSQL store is closed")
            if self._pid != os.getpid():
                self._pid = os.getpid()
                if self._pool is not None:
                    self._inherited.append(self._pool)
                self._pool = None
            if self._pool is None:
                self._pool = self._open_pool()
            return self._pool

    def _open_pool(self) -> _Pool:
        settings = self._settings
        try:
            psycopg.connect(settings.dsn, **settings.connect_kwargs).close()
        except psycopg.Error as error:
            raise settings.unreachable(error) from None
        pool: _Pool = psycopg_pool.ConnectionPool(
            settings.dsn,
            min_size=1,
            max_size=settings.max_connections,
            timeout=settings.pool_timeout,
            kwargs=settings.connect_kwargs,
            open=False,
            name="orderflow",
        )
        pool.open()
        return pool


if TYPE_CHECKING:

    def _conforms(store: PostgresStore) -> GateStore:
        return store
