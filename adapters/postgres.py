"""A PostgreSQL store (psycopg 3) for many service instances sharing checkouts.

Each call borrows an autocommit connection from a small pool of idle ones (psycopg_pool is
not needed). ``save`` is one conditional ``UPDATE`` (or
an ``INSERT ... ON CONFLICT DO NOTHING`` to create); claims and idempotency records are one
``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` in a short transaction, which locks the
conflicting row whether or not it was updated, so reading it back sees the row in force.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import attrs
import psycopg
from psycopg import errors as pg_errors

from adapters.bodies import CheckoutBodies
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict, StoreError
from orderflow.ports import Claim, IdempotencyRecord

__all__ = ["PostgresStore"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_IDLE = psycopg.pq.TransactionStatus.IDLE  # not broken, closed, or inside a transaction
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


class PostgresStore:
    """A ``Store`` in PostgreSQL tables prefixed ``orderflow_``; run ``create_schema()`` once.

    ``schema`` puts the tables in that PostgreSQL schema instead of the connection's default.
    ``cache_size`` decoded checkouts are kept and reused while their stored text is unchanged.
    Use it as a context manager, or ``close()``. Raises only core errors:
    ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``.
    """

    def __init__(self, dsn: str, *, schema: str | None = None, cache_size: int = 256) -> None:
        self._bodies = CheckoutBodies(cache_size)
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ValueError(f"not a plain PostgreSQL identifier: {schema!r}")
        self._dsn = dsn
        self._schema = schema
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
        # Idle connections, reused last-in first-out: as many as calls ever ran at once.
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        # Connections inherited through fork() belong to the parent: never used nor closed
        # here (closing would end the parent's session), only kept from garbage collection.
        self._inherited: list[psycopg.Connection[Any]] = []

    def create_schema(self) -> None:
        """Create the schema and tables if they do not exist (safe to call concurrently)."""
        with self._transaction() as connection:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if self._schema:
                connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            connection.execute(self._sql["schema"])

    def close(self) -> None:
        """Close every connection this store opened; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the Store port -----------------------------------------------------------------------

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        with self._connection() as connection:
            row = connection.execute(self._sql["load"], (checkout_id,)).fetchone()
        if row is None:
            raise CheckoutNotFound(checkout_id)
        version, body = row
        checkout = self._bodies.decode(checkout_id, body)
        return checkout if checkout.version == version else attrs.evolve(checkout, version=version)

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version``.

        Returns it with ``version`` set to ``expected_version + 1``. Raises
        ``ConcurrencyConflict`` when the stored version differs (or, on create, the id exists).
        """
        saved = (
            checkout
            if checkout.version == expected_version + 1
            else attrs.evolve(checkout, version=expected_version + 1)
        )
        body = self._bodies.encode(saved)
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

    def _connection(self) -> _Borrowed:
        """Borrow an idle connection (or open one) for one call; psycopg errors translated."""
        return _Borrowed(self)

    def _open(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError("the PostgreSQL store is closed")
        return psycopg.connect(self._dsn, autocommit=True)

    def _forked(self) -> None:
        with self._lock:
            self._pid = os.getpid()
            self._inherited.extend(self._idle)
            self._idle = []

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        # A broken connection (server restart, network) is dropped, not reused.
        with self._lock:
            keep = not self._closed and connection.info.transaction_status is _IDLE
            if keep:
                self._idle.append(connection)
        if not keep:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as connection, connection.transaction():
            yield connection


class _Borrowed:
    """One connection lent for one call; turns psycopg's exceptions into core errors."""

    __slots__ = ("_connection", "_store")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def __enter__(self) -> psycopg.Connection[Any]:
        if self._store._pid != os.getpid():
            self._store._forked()
        try:
            self._connection = self._store._idle.pop()
        except IndexError:
            try:
                self._connection = self._store._open()
            except psycopg.Error as error:
                raise _store_error(error) from error
        return self._connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store._give_back(self._connection)
        if isinstance(exc, psycopg.Error):
            raise _store_error(exc) from exc


def _store_error(error: psycopg.Error) -> StoreError:
    if isinstance(error, pg_errors.UndefinedTable):
        return StoreError(
            f"PostgreSQL store tables are missing ({error}); call create_schema() first"
        )
    return StoreError(f"PostgreSQL store failed: {error}")


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment!r}")
