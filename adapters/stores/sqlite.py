"""The embedded default store: one SQLite file, shared safely by threads and processes.

Each call borrows a connection from a small pool of idle ones, so threads never share one
mid-call and WAL mode lets readers run beside the one writer. A call that writes more than one
row (the money gate's combined steps, ``purge``) runs in ``BEGIN IMMEDIATE``, which takes the
file's write lock before reading. Times are stored as
integer microseconds since the Unix epoch, UTC: exact and comparable. The schema is created on
first use, and a file of an earlier version is brought up to date then (``_schema``).
``AsyncSQLiteStore`` runs the same store's calls in worker threads. Needs SQLite 3.35
(``RETURNING``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

from orderflow.adapters.stores._queries import Queries, SQLStore
from orderflow.adapters.stores._shared import AsyncFacade, aware
from orderflow.adapters.stores._sql import (
    INDEXES,
    SEARCHED,
    Fetch,
    Query,
    Statements,
    Steps,
    Work,
    run,
)
from orderflow.checkout import Checkout
from orderflow.errors import StoreError
from orderflow.ports import AsyncGateStore, GateStore

__all__ = ["AsyncSQLiteStore", "SQLiteStore"]

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DRIVER_ERRORS = (sqlite3.Error, UnicodeEncodeError, OverflowError)

_CHECKOUTS = """
CREATE TABLE IF NOT EXISTS checkouts (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    outcome_unknown TEXT,
    selection_id TEXT,
    order_number TEXT,
    body TEXT NOT NULL
)"""
_CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    checkout_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
)"""
_IDEMPOTENCY = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    result TEXT,
    checkout_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 1
)"""
_RECORDS_OF_BEFORE = """
INSERT INTO idempotency (key, fingerprint, owner, lease_until, expires_at, result)
SELECT key, fingerprint, '', 0, expires_at, result FROM idempotency_before"""

_STATEMENTS = Statements.render(
    {"checkouts": "checkouts", "claims": "claims", "idempotency": "idempotency"},
    postgres=False,
    named=True,
)


def _schema() -> Steps[None]:
    """Create the tables and indexes; bring those of an earlier version up to date."""
    for table in (_CHECKOUTS, _CLAIMS, _IDEMPOTENCY):
        yield Query(table, fetch=Fetch.NOTHING)
    found = yield Query("PRAGMA table_info(checkouts)", fetch=Fetch.ALL)
    missing = [c for c in SEARCHED if c.name not in {column[1] for column in found}]
    for column in missing:
        yield Query(f"ALTER TABLE checkouts ADD COLUMN {column.name} TEXT", fetch=Fetch.NOTHING)
    if missing:
        filled = ", ".join(
            f"{c.name} = json_extract(body, '$.{'.'.join(c.path)}')" for c in missing
        )
        yield Query(f"UPDATE checkouts SET {filled} WHERE json_valid(body)", fetch=Fetch.NOTHING)
    records = yield Query("PRAGMA table_info(idempotency)", fetch=Fetch.ALL)
    if "owner" not in {column[1] for column in records}:
        # Records were results only (``result NOT NULL``), a constraint SQLite cannot drop:
        # the table is rebuilt, its finished records kept.
        yield Query("ALTER TABLE idempotency RENAME TO idempotency_before", fetch=Fetch.NOTHING)
        yield Query(_IDEMPOTENCY, fetch=Fetch.NOTHING)
        yield Query(_RECORDS_OF_BEFORE, fetch=Fetch.NOTHING)
        yield Query("DROP TABLE idempotency_before", fetch=Fetch.NOTHING)
    for index in INDEXES:
        yield Query(index.create(index.name, index.table), fetch=Fetch.NOTHING)


class SQLiteStore(SQLStore):
    """A ``GateStore`` in one SQLite file; the schema is created (or upgraded) on first use.

    ``timeout`` is how long a write waits for another thread or process holding the file's
    write lock before failing with ``StoreError``. ``cache_size`` decoded checkouts are kept and
    reused while their stored text is unchanged. Use it as a context manager, or ``close()``.
    Raises only core errors: ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``
    (also when the file cannot be opened); ``ValueError`` for bad arguments.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, cache_size: int = 256
    ) -> None:
        super().__init__(Queries(_STATEMENTS, at=_micros, time=_datetime, cache_size=cache_size))
        if sqlite3.sqlite_version_info < (3, 35):
            raise StoreError(
                f"the SQLite store needs SQLite 3.35 or later, not {sqlite3.sqlite_version}"
            )
        self._path = os.fspath(path)
        self._timeout = timeout
        # Idle connections, reused last-in first-out: as many as calls ever ran at once.
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        # Connections inherited through fork() belong to the parent: never used nor closed
        # here (closing would end the parent's session), only kept from garbage collection.
        self._inherited: list[sqlite3.Connection] = []
        self._schema_ready = False
        with self._connection():
            pass

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close every connection this store opened; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # --- internals ----------------------------------------------------------------------------

    def _run(self, work: Work[T]) -> T:
        with self._connection() as connection:
            return _perform(connection, work)

    def _connection(self) -> _Borrowed:
        """Borrow an idle connection (or open one) for one call; driver errors translated."""
        return _Borrowed(self)

    def _forked(self) -> None:
        with self._lock:
            self._pid = os.getpid()
            self._inherited.extend(self._idle)
            self._idle = []

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            keep = not self._closed and not connection.in_transaction
            if keep:
                self._idle.append(connection)
        if not keep:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the SQLite store {self._path} is closed")
        # isolation_level=None: statements autocommit unless we BEGIN ourselves;
        # timeout is SQLite's busy_timeout, how long a write waits for the lock.
        connection = sqlite3.connect(
            self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            if not self._schema_ready:
                connection.execute("PRAGMA journal_mode = WAL")
                _perform(connection, Work(_schema(), atomic=True))
                self._schema_ready = True
            # In WAL mode a commit survives a crash of the process; only a power loss can
            # undo the last commits, and the database stays consistent either way.
            connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection


class AsyncSQLiteStore(AsyncFacade):
    """An ``AsyncGateStore`` in one SQLite file: a ``SQLiteStore`` whose calls run in threads.

    Each call runs in a worker thread (``asyncio.to_thread``), so the event loop never waits
    for the file's lock or the disk. The file is opened, and its schema created or upgraded, on
    first use (in a worker thread too) or by ``open()``. Use it with ``async with`` (which
    opens it), or ``aclose()``. Raises what ``SQLiteStore`` raises.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, cache_size: int = 256
    ) -> None:
        self._path = os.fspath(path)
        self._timeout = timeout
        self._cache_size = cache_size
        self._store: SQLiteStore | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    async def open(self) -> None:
        """Open the file and create or upgrade its schema, once. Raises ``StoreError``."""
        await asyncio.to_thread(self._opened)

    async def aclose(self) -> None:
        """Close the file's connections; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            await asyncio.to_thread(store.close)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    def _call(self, work: Callable[[GateStore], T]) -> Awaitable[T]:
        return asyncio.to_thread(lambda: work(self._opened()))

    async def recent(self, checkout_id: str) -> Checkout | None:
        """See ``GateStore.recent``: no thread needed, nothing is read (``None`` before the
        file is opened)."""
        store = self._store
        return store.recent(checkout_id) if store is not None else None

    def _opened(self) -> SQLiteStore:
        with self._lock:
            if self._closed:
                raise StoreError(f"the SQLite store {self._path} is closed")
            if self._store is None:
                self._store = SQLiteStore(
                    self._path, timeout=self._timeout, cache_size=self._cache_size
                )
            return self._store


def _perform(connection: sqlite3.Connection, work: Work[T]) -> T:
    """Run ``work`` on ``connection``; an atomic one holding the write lock from the start."""
    if not work.atomic:
        return run(connection, work.steps)
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = run(connection, work.steps)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return result


class _Borrowed:
    """One connection lent for one call; turns the driver's exceptions into ``StoreError``.

    A plain class rather than ``@contextmanager``: it is on every call's path, and costs a
    fraction of a generator-based one.
    """

    __slots__ = ("_connection", "_store")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        if self._store._pid != os.getpid():
            self._store._forked()
        try:
            self._connection = self._store._idle.pop()
        except IndexError:
            try:
                self._connection = self._store._open()
            except _DRIVER_ERRORS as error:
                raise _store_error(error) from error
        return self._connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store._give_back(self._connection)
        if isinstance(exc, _DRIVER_ERRORS):
            raise _store_error(exc) from exc


def _store_error(error: BaseException) -> StoreError:
    return StoreError(f"SQLite store failed: {error}")


def _micros(moment: datetime) -> int:
    return (aware(moment) - _EPOCH) // _MICROSECOND


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


if TYPE_CHECKING:

    def _conforms(sync: SQLiteStore, awaited: AsyncSQLiteStore) -> tuple[GateStore, AsyncGateStore]:
        return sync, awaited
