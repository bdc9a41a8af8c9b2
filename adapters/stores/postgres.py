"""A PostgreSQL store (psycopg 3, psycopg_pool) for many service instances sharing checkouts.

Each call borrows an autocommit connection from a bounded ``psycopg_pool.ConnectionPool``:
at most ``max_connections`` are open, and a call that finds none free waits up to
``pool_timeout`` before ``StoreError``. Every connection has a connect timeout and a statement
timeout, so a database that hangs fails a call in bounded time instead of holding it.
``save`` is one conditional ``UPDATE`` (or an ``INSERT ... ON CONFLICT DO NOTHING`` to
create); claims and idempotency records are one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
in a short transaction, which locks the conflicting row whether or not it was updated, so
reading it back sees the row in force.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

from orderflow.adapters.stores._shared import SQLStore
from orderflow.checkout import Checkout
from orderflow.errors import ConcurrencyConflict, StoreError
from orderflow.ports import Claim, IdempotencyRecord

__all__ = ["PostgresStore"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SCHEMA_LOCK = 0x6F72646572666C6F  # "orderflo": serializes concurrent create_schema() calls

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}orderflow_checkouts (
    id text PRIMARY KEY,
    version integer NOT NULL,
    state text NOT NULL,
    updated_at timestamptz NOT NULL,
    body jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}orderflow_claims (
    checkout_id text PRIMARY KEY,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}orderflow_idempotency (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    result text NOT NULL,
    expires_at timestamptz NOT NULL
);
"""

_LOAD = "SELECT version, body::text FROM {s}orderflow_checkouts WHERE id = %s"
_VERSION = "SELECT version FROM {s}orderflow_checkouts WHERE id = %s"
_CREATE = """
INSERT INTO {s}orderflow_checkouts (id, version, state, updated_at, body)
VALUES (%s, %s, %s, %s, %s::jsonb) ON CONFLICT (id) DO NOTHING
"""
_UPDATE = """
UPDATE {s}orderflow_checkouts SET version = %s, state = %s, updated_at = %s, body = %s::jsonb
WHERE id = %s AND version = %s
"""
_CLAIM = """
INSERT INTO {s}orderflow_claims AS c (checkout_id, owner, expires_at)
VALUES (%(id)s, %(owner)s, %(expires_at)s)
ON CONFLICT (checkout_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE c.expires_at <= %(now)s OR c.owner = %(owner)s
RETURNING owner, expires_at
"""
_READ_CLAIM = "SELECT owner, expires_at FROM {s}orderflow_claims WHERE checkout_id = %s"
_RELEASE = "DELETE FROM {s}orderflow_claims WHERE checkout_id = %s AND owner = %s"
_REMEMBER = """
INSERT INTO {s}orderflow_idempotency AS i (key, fingerprint, result, expires_at)
VALUES (%(key)s, %(fingerprint)s, %(result)s, %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET
    fingerprint = excluded.fingerprint, result = excluded.result, expires_at = excluded.expires_at
WHERE i.expires_at <= %(now)s
RETURNING fingerprint, result, expires_at
"""
_RECALL = """
SELECT fingerprint, result, expires_at FROM {s}orderflow_idempotency
WHERE key = %s AND expires_at > %s
"""
_READ_RECORD = "SELECT fingerprint, result, expires_at FROM {s}orderflow_idempotency WHERE key = %s"
_PURGE_CLAIMS = "DELETE FROM {s}orderflow_claims WHERE expires_at <= %s"
_PURGE_RECORDS = "DELETE FROM {s}orderflow_idempotency WHERE expires_at <= %s"


class PostgresStore(SQLStore):
    """A ``Store`` in PostgreSQL tables prefixed ``orderflow_``; run ``create_schema()`` once.

    ``schema`` puts the tables in that PostgreSQL schema instead of the connection's default.
    ``max_connections`` bounds the pool (more callers wait, up to ``pool_timeout`` seconds);
    ``connect_timeout`` and ``statement_timeout`` (seconds) bound each connection attempt and
    each statement. ``cache_size`` decoded checkouts are kept and reused while their stored text
    is unchanged. Connections open on first use. Use it as a context manager, or ``close()``.
    Raises only core errors: ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``; the
    constructor raises ``ValueError`` for a schema that is not a plain identifier.
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
        super().__init__(cache_size)
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ValueError(f"not a plain PostgreSQL identifier: {schema!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._dsn = dsn
        self._schema = schema
        self._max = max_connections
        self._pool_timeout = pool_timeout
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
            "options": f"-c statement_timeout={round(statement_timeout * 1000)}",
        }
        prefix = f'"{schema}".' if schema else ""
        self._sql = {
            name: query.format(s=prefix)
            for name, query in {
                "schema": _SCHEMA,
                "load": _LOAD,
                "version": _VERSION,
                "create": _CREATE,
                "update": _UPDATE,
                "claim": _CLAIM,
                "read_claim": _READ_CLAIM,
                "release": _RELEASE,
                "remember": _REMEMBER,
                "recall": _RECALL,
                "read_record": _READ_RECORD,
                "purge_claims": _PURGE_CLAIMS,
                "purge_records": _PURGE_RECORDS,
            }.items()
        }
        self._lock = threading.Lock()
        self._closed = False
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = os.getpid()
        # A pool inherited through fork() belongs to the parent: never used nor closed here
        # (closing would end the parent's sessions), only kept from garbage collection.
        self._inherited: list[psycopg_pool.ConnectionPool[psycopg.Connection[Any]]] = []

    def create_schema(self) -> None:
        """Create the schema and tables if they do not exist (safe to call concurrently)."""
        with self._transaction() as connection:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if self._schema:
                connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            connection.execute(self._sql["schema"])

    def close(self) -> None:
        """Close the pool and its connections; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()

    # --- the Store port -----------------------------------------------------------------------

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        with self._connection() as connection:
            row = connection.execute(self._sql["load"], (checkout_id,)).fetchone()
        return self._loaded(checkout_id, row)

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version``.

        Returns it with ``version`` set to ``expected_version + 1``. Raises
        ``ConcurrencyConflict`` when the stored version differs (or, on create, the id exists).
        """
        saved, body = self._to_save(checkout, expected_version)
        with self._connection() as connection:
            if expected_version == 0:
                cursor = connection.execute(
                    self._sql["create"],
                    (saved.id, saved.version, saved.state.value, saved.updated_at, body),
                )
            else:
                cursor = connection.execute(
                    self._sql["update"],
                    (
                        saved.version,
                        saved.state.value,
                        saved.updated_at,
                        body,
                        saved.id,
                        expected_version,
                    ),
                )
            if cursor.rowcount != 1:
                row = connection.execute(self._sql["version"], (saved.id,)).fetchone()
                raise ConcurrencyConflict(saved.id, expected_version, row[0] if row else None)
        return saved

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically across connections.

        Returns the claim in force afterwards: the caller holds it exactly when
        ``claim.owner == owner``.
        """
        _aware(now)
        params = {"id": checkout_id, "owner": owner, "expires_at": now + lease, "now": now}
        with self._transaction() as connection:
            row = connection.execute(self._sql["claim"], params).fetchone()
            if row is None:  # held by another owner; the upsert locked the row for us
                row = connection.execute(self._sql["read_claim"], (checkout_id,)).fetchone()
        assert row is not None
        holder, expires_at = row
        return Claim(checkout_id, holder, expires_at.astimezone(UTC))

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        with self._connection() as connection:
            connection.execute(self._sql["release"], (checkout_id, owner))

    def recall(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The record stored under an idempotency key, unless absent or expired."""
        _aware(now)
        with self._connection() as connection:
            row = connection.execute(self._sql["recall"], (key, now)).fetchone()
        if row is None:
            return None
        fingerprint, result, expires_at = row
        return IdempotencyRecord(key, fingerprint, result, expires_at.astimezone(UTC))

    def remember(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Store ``record`` unless an unexpired one has the key; return the one in force."""
        _aware(now)
        _aware(record.expires_at)
        params = {
            "key": record.key,
            "fingerprint": record.fingerprint,
            "result": record.result,
            "expires_at": record.expires_at,
            "now": now,
        }
        with self._transaction() as connection:
            row = connection.execute(self._sql["remember"], params).fetchone()
            if row is None:  # an unexpired record has the key; the upsert locked its row
                row = connection.execute(self._sql["read_record"], (record.key,)).fetchone()
        assert row is not None
        fingerprint, result, expires_at = row
        return IdempotencyRecord(record.key, fingerprint, result, expires_at.astimezone(UTC))

    def purge(self, now: datetime) -> int:
        """Remove claims and idempotency records expired at or before ``now``; how many.

        Both deletes run in one transaction. Raises ``StoreError`` when the database fails.
        """
        _aware(now)
        with self._transaction() as connection:
            claims = connection.execute(self._sql["purge_claims"], (now,)).rowcount
            records = connection.execute(self._sql["purge_records"], (now,)).rowcount
        return claims + records

    # --- internals ----------------------------------------------------------------------------

    def _the_pool(self) -> psycopg_pool.ConnectionPool[psycopg.Connection[Any]]:
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

    def _open_pool(self) -> psycopg_pool.ConnectionPool[psycopg.Connection[Any]]:
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = psycopg_pool.ConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._max,
            timeout=self._pool_timeout,
            kwargs=self._connect_kwargs,
            open=False,
            name="orderflow",
        )
        # The first connection is waited for, so a server that cannot be reached fails the
        # first call within the connect timeout (the pool alone would retry until its timeout).
        wait = float(self._connect_kwargs["connect_timeout"]) + 1.0
        try:
            pool.open(wait=True, timeout=wait)
        except psycopg_pool.PoolTimeout:
            pool.close()
            raise StoreError(f"PostgreSQL store: cannot connect ({self._why_not()})") from None
        return pool

    def _why_not(self) -> str:
        # The pool reports only that it timed out; one direct attempt says why.
        try:
            psycopg.connect(self._dsn, **self._connect_kwargs).close()
        except psycopg.Error as error:
            return " ".join(str(error).split())
        return "no connection within the connect timeout"

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a connection for one call; psycopg's and the pool's errors translated."""
        try:
            with self._the_pool().connection() as connection:
                yield connection
        except psycopg_pool.PoolTimeout as error:
            raise StoreError(
                f"PostgreSQL store: no free connection within {self._pool_timeout:g}s "
                f"({self._max} at most; {error})"
            ) from error
        except psycopg.Error as error:
            raise _store_error(error) from error

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as connection, connection.transaction():
            yield connection


def _store_error(error: psycopg.Error) -> StoreError:
    if isinstance(error, pg_errors.UndefinedTable):
        return StoreError(
            f"PostgreSQL store tables are missing ({error}); call create_schema() first"
        )
    return StoreError(f"PostgreSQL store failed: {error}")


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment!r}")
