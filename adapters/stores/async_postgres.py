"""The PostgreSQL store for asyncio services: psycopg's ``AsyncConnection`` in a bounded
``psycopg_pool.AsyncConnectionPool``, with the same statements, timeouts and errors as
``PostgresStore`` (see ``_postgres``); no call ever blocks the event loop."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import psycopg
import psycopg_pool

from orderflow.adapters.stores._postgres import PostgresSettings
from orderflow.adapters.stores._shared import Filters
from orderflow.adapters.stores._sql import Fetch, Steps, Work
from orderflow.checkout import Checkout
from orderflow.errors import StoreError
from orderflow.flow import State
from orderflow.ports import AsyncGateStore, Claim, ClaimedSave, IdempotencyRecord

__all__ = ["AsyncPostgresStore"]

T = TypeVar("T")
_Pool = psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[Any]]


class AsyncPostgresStore:
    """An ``AsyncGateStore`` in PostgreSQL tables prefixed ``orderflow_``; ``create_schema()``
    once.

    Takes the arguments of ``PostgresStore``, with the same meaning. The pool opens on first
    use (or ``open()``) inside the running event loop, and the store is used from that loop
    only. The first call connects, and raises ``StoreError`` within the connect timeout if it
    cannot. Use it with ``async with`` (which opens it), or ``aclose()``. Raises only core
    errors: ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``; ``ValueError`` for
    bad arguments (also from the constructor, as ``PostgresStore``'s).
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
        self._queries = self._settings.queries(cache_size)
        self._pool: _Pool | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    async def open(self) -> None:
        """Connect and open the pool, if not done yet. Raises ``StoreError``."""
        await self._the_pool()

    async def create_schema(self) -> None:
        """Create the schema, tables and indexes, or upgrade those of an earlier version (safe
        to call again and concurrently; see ``PostgresStore.create_schema``). Raises
        ``StoreError``."""
        await self._run(self._settings.schema_work())

    async def aclose(self) -> None:
        """Close the pool and its connections; the store cannot be used afterwards."""
        async with self._opening:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the AsyncStore port ------------------------------------------------------------------

    async def load(self, checkout_id: str) -> Checkout:
        """See ``Store.load``."""
        return await self._run(self._queries.load(checkout_id))

    async def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """See ``Store.save``."""
        return await self._run(self._queries.save(checkout, expected_version))

    async def find(
        self,
        *,
        state: State | str | None = None,
        outcome_unknown: bool | None = None,
        updated_before: datetime | None = None,
        order: str | None = None,
        selection: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Checkout]:
        """See ``Store.find``."""
        filters = Filters.of(
            state=state,
            outcome_unknown=outcome_unknown,
            updated_before=updated_before,
            order=order,
            selection=selection,
            limit=limit,
            after=after,
        )
        return await self._run(self._queries.find(filters))

    async def acquire_claim(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        """See ``Store.acquire_claim``."""
        return await self._run(self._queries.acquire_claim(checkout_id, owner, now, lease))

    async def release_claim(self, checkout_id: str, owner: str) -> None:
        """See ``Store.release_claim``."""
        await self._run(self._queries.release_claim(checkout_id, owner))

    async def recent(self, checkout_id: str) -> Checkout | None:
        """See ``GateStore.recent``."""
        return self._queries.recent(checkout_id)

    async def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """See ``GateStore.claim_and_save``."""
        work = self._queries.claim_and_save(checkout, expected_version, owner, now, lease)
        return await self._run(work)

    async def save_and_release(
        self, checkout: Checkout, expected_version: int, owner: str
    ) -> Checkout:
        """See ``GateStore.save_and_release``."""
        return await self._run(self._queries.save_and_release(checkout, expected_version, owner))

    async def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """See ``Store.reserve``."""
        return await self._run(self._queries.reserve(record, now))

    async def complete(self, key: str, owner: str, result: str) -> bool:
        """See ``Store.complete``."""
        return await self._run(self._queries.complete(key, owner, result))

    async def abandon(self, key: str, owner: str) -> None:
        """See ``Store.abandon``."""
        await self._run(self._queries.abandon(key, owner))

    async def forget(self, checkout_id: str) -> int:
        """See ``Store.forget``."""
        return await self._run(self._queries.forget(checkout_id))

    async def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """See ``Store.purge``."""
        return await self._run(self._queries.purge(now, finished_before))

    # --- internals ----------------------------------------------------------------------------

    async def _run(self, work: Work[T]) -> T:
        pool = await self._the_pool()
        with self._settings.translated():
            async with pool.connection() as connection:
                if work.atomic:
                    async with connection.transaction():
                        result = await _perform(connection, work.steps)
                else:
                    result = await _perform(connection, work.steps)
        return result

    async def _the_pool(self) -> _Pool:
        pool = self._pool
        if pool is not None:
            return pool
        async with self._opening:
            if self._closed:
                raise StoreError("the PostgreSQL store is closed")
            if self._pool is None:
                self._pool = await self._open_pool()
            return self._pool

    async def _open_pool(self) -> _Pool:
        settings = self._settings
        try:
            connection = await psycopg.AsyncConnection.connect(
                settings.dsn, **settings.connect_kwargs
            )
        except psycopg.Error as error:
            raise settings.unreachable(error) from None
        await connection.close()
        pool: _Pool = psycopg_pool.AsyncConnectionPool(
            settings.dsn,
            min_size=1,
            max_size=settings.max_connections,
            timeout=settings.pool_timeout,
            kwargs=settings.connect_kwargs,
            open=False,
            name="orderflow",
        )
        await pool.open()
        return pool


async def _perform(connection: psycopg.AsyncConnection[Any], steps: Steps[T]) -> T:
    """Drive ``steps`` on ``connection``: await each query, send back what it answers."""
    answer: Any = None
    while True:
        try:
            query = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        cursor = await connection.execute(query.sql, query.params)
        if query.fetch is Fetch.ONE:
            answer = await cursor.fetchone()
        elif query.fetch is Fetch.ALL:
            answer = await cursor.fetchall()
        else:
            answer = cursor.rowcount if query.fetch is Fetch.COUNT else None


if TYPE_CHECKING:

    def _conforms(store: AsyncPostgresStore) -> AsyncGateStore:
        return store
