"""The embedded default store: one SQLite file, shared safely by threads and processes.

Each call borrows a connection from a small pool of idle ones, so threads never share one
mid-call and WAL mode lets readers run beside the one writer.
Conditional writes are single statements (``UPDATE ... WHERE version = ?``, ``INSERT`` on a
primary key); a write that must read its own result back (claims, idempotency records)
runs in ``BEGIN IMMEDIATE``, which takes the file's write lock before reading, as does
``purge``'s pair of deletes.
Times are stored as integer microseconds since the Unix epoch, UTC: exact and comparable.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TypeVar

from orderflow.adapters.stores._shared import SQLStore
from orderflow.checkout import Checkout
from orderflow.errors import ConcurrencyConflict, StoreError
from orderflow.ports import Claim, IdempotencyRecord

__all__ = ["SQLiteStore"]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkouts (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    checkout_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
"""

_LOAD = "SELECT version, body FROM checkouts WHERE id = ?"
_VERSION = "SELECT version FROM checkouts WHERE id = ?"
_CREATE = "INSERT INTO checkouts (id, version, state, updated_at, body) VALUES (?, ?, ?, ?, ?)"
_UPDATE = (
    "UPDATE checkouts SET version = ?, state = ?, updated_at = ?, body = ? "
    "WHERE id = ? AND version = ?"
)
_CLAIM = """
INSERT INTO claims (checkout_id, owner, expires_at) VALUES (:id, :owner, :expires_at)
ON CONFLICT (checkout_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE claims.expires_at <= :now OR claims.owner = :owner
"""
_READ_CLAIM = "SELECT owner, expires_at FROM claims WHERE checkout_id = ?"
_RELEASE = "DELETE FROM claims WHERE checkout_id = ? AND owner = ?"
_REMEMBER = """
INSERT INTO idempotency (key, fingerprint, result, expires_at)
VALUES (:key, :fingerprint, :result, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    fingerprint = excluded.fingerprint, result = excluded.result, expires_at = excluded.expires_at
WHERE idempotency.expires_at <= :now
"""
_RECALL = "SELECT fingerprint, result, expires_at FROM idempotency WHERE key = ? AND expires_at > ?"
_READ_RECORD = "SELECT fingerprint, result, expires_at FROM idempotency WHERE key = ?"
_PURGE_CLAIMS = "DELETE FROM claims WHERE expires_at <= ?"
_PURGE_RECORDS = "DELETE FROM idempotency WHERE expires_at <= ?"


class SQLiteStore(SQLStore):
    """A ``Store`` in one SQLite file; the schema is created on first use.

    ``timeout`` is how long a write waits for another thread or process holding the file's
    write lock before failing with ``StoreError``. ``cache_size`` decoded checkouts are kept and
    reused while their stored text is unchanged. Use it as a context manager, or ``close()``.
    Raises only core errors: ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, cache_size: int = 256
    ) -> None:
        super().__init__(cache_size)
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

    # --- the Store port -----------------------------------------------------------------------

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        with self._connection() as connection:
            row = connection.execute(_LOAD, (checkout_id,)).fetchone()
        return self._loaded(checkout_id, row)

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version``.

        Returns it with ``version`` set to ``expected_version + 1``. Raises
        ``ConcurrencyConflict`` when the stored version differs (or, on create, the id exists).
        """
        saved, body = self._to_save(checkout, expected_version)
        updated_at = _micros(saved.updated_at)
        with self._connection() as connection:
            if expected_version == 0:
                try:
                    connection.execute(
                        _CREATE, (saved.id, saved.version, saved.state.value, updated_at, body)
                    )
                except sqlite3.IntegrityError:
                    raise _conflict(connection, saved.id, expected_version) from None
            else:
                cursor = connection.execute(
                    _UPDATE,
                    (
                        saved.version,
                        saved.state.value,
                        updated_at,
                        body,
                        saved.id,
                        expected_version,
                    ),
                )
                if cursor.rowcount != 1:
                    raise _conflict(connection, saved.id, expected_version)
        return saved

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically across threads and processes.

        Returns the claim in force afterwards: the caller holds it exactly when
        ``claim.owner == owner``.
        """
        params = {
            "id": checkout_id,
            "owner": owner,
            "expires_at": _micros(now + lease),
            "now": _micros(now),
        }

        def claim(connection: sqlite3.Connection) -> Claim:
            connection.execute(_CLAIM, params)
            holder, expires_at = connection.execute(_READ_CLAIM, (checkout_id,)).fetchone()
            return Claim(checkout_id, holder, _datetime(expires_at))

        return self._write(claim)

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        with self._connection() as connection:
            connection.execute(_RELEASE, (checkout_id, owner))

    def recall(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The record stored under an idempotency key, unless absent or expired."""
        with self._connection() as connection:
            row = connection.execute(_RECALL, (key, _micros(now))).fetchone()
        if row is None:
            return None
        fingerprint, result, expires_at = row
        return IdempotencyRecord(key, fingerprint, result, _datetime(expires_at))

    def remember(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Store ``record`` unless an unexpired one has the key; return the one in force."""
        params = {
            "key": record.key,
            "fingerprint": record.fingerprint,
            "result": record.result,
            "expires_at": _micros(record.expires_at),
            "now": _micros(now),
        }

        def remember(connection: sqlite3.Connection) -> IdempotencyRecord:
            connection.execute(_REMEMBER, params)
            fingerprint, result, expires_at = connection.execute(
                _READ_RECORD, (record.key,)
            ).fetchone()
            return IdempotencyRecord(record.key, fingerprint, result, _datetime(expires_at))

        return self._write(remember)

    def purge(self, now: datetime) -> int:
        """Remove claims and idempotency records expired at or before ``now``; how many.

        Both deletes run in one transaction. Raises ``StoreError`` when the database fails.
        """
        cutoff = (_micros(now),)

        def purge(connection: sqlite3.Connection) -> int:
            claims = connection.execute(_PURGE_CLAIMS, cutoff).rowcount
            records = connection.execute(_PURGE_RECORDS, cutoff).rowcount
            return claims + records

        return self._write(purge)

    # --- internals ----------------------------------------------------------------------------

    def _connection(self) -> _Borrowed:
        """Borrow an idle connection (or open one) for one call; sqlite3 errors translated."""
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
                connection.executescript(_SCHEMA)
                self._schema_ready = True
            # In WAL mode a commit survives a crash of the process; only a power loss can
            # undo the last commits, and the database stays consistent either way.
            connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in a transaction holding the write lock from its first statement."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        return result


def _conflict(
    connection: sqlite3.Connection, checkout_id: str, expected_version: int
) -> ConcurrencyConflict:
    row = connection.execute(_VERSION, (checkout_id,)).fetchone()
    return ConcurrencyConflict(checkout_id, expected_version, row[0] if row else None)


class _Borrowed:
    """One connection lent for one call; turns sqlite3's exceptions into ``StoreError``.

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
            except sqlite3.Error as error:
                raise StoreError(f"SQLite store failed: {error}") from error
        return self._connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store._give_back(self._connection)
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"SQLite store failed: {exc}") from exc


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment!r}")
    return (moment - _EPOCH) // _MICROSECOND


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
