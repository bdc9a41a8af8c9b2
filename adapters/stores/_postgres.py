"""What the sync and the async PostgreSQL stores share: their checked settings (connection
options and timeouts), their statements, the schema's steps and the translation of errors.

A connection attempt is bounded by ``connect_timeout`` (libpq counts whole seconds, at least
2) and every statement by ``statement_timeout`` (sent as a connection option, so it also bounds
waiting for a row another transaction locked); a call waits at most ``pool_timeout`` for a free
connection. Each store makes one direct connection before it opens its pool: the pool alone
would keep retrying a server that cannot be reached until its timeout, and only the direct
attempt tells why it failed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import attrs
import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from orderflow.adapters.stores._queries import Queries
from orderflow.adapters.stores._shared import aware
from orderflow.adapters.stores._sql import INDEXES, SEARCHED, Fetch, Query, Statements, Steps, Work
from orderflow.errors import StoreError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SCHEMA_LOCK = 0x6F72646572666C6F  # "orderflo": serializes concurrent create_schema() calls
_DRIVER_ERRORS = (psycopg.Error, UnicodeEncodeError, OverflowError)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS {checkouts} (
        id text PRIMARY KEY,
        version integer NOT NULL,
        state text NOT NULL,
        updated_at timestamptz NOT NULL,
        outcome_unknown text,
        selection_id text,
        order_number text,
        body json NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {claims} (
        checkout_id text PRIMARY KEY,
        owner text NOT NULL,
        expires_at timestamptz NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {idempotency} (
        key text PRIMARY KEY,
        fingerprint text NOT NULL,
        owner text NOT NULL,
        lease_until timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        result text,
        checkout_id text,
        attempt integer NOT NULL DEFAULT 1
    )""",
)
_WHERE = "coalesce(%(schema)s::text, current_schema())"
_COLUMNS = f"""
    SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = {_WHERE}
    AND table_name IN ('orderflow_checkouts', 'orderflow_idempotency')"""
_INDEXES = f"SELECT indexname FROM pg_indexes WHERE schemaname = {_WHERE}"
# Added since the first version: what find() looks for as columns (see _sql.SEARCHED), and
# reservations: records that are running have an owner and a lease, and no result yet.
_RESERVATIONS = """
    ALTER TABLE {idempotency}
        ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS lease_until timestamptz NOT NULL DEFAULT 'epoch',
        ADD COLUMN IF NOT EXISTS checkout_id text,
        ADD COLUMN IF NOT EXISTS attempt integer NOT NULL DEFAULT 1,
        ALTER COLUMN result DROP NOT NULL"""
_NO_DEFAULTS = """
    ALTER TABLE {idempotency} ALTER COLUMN owner DROP DEFAULT,
        ALTER COLUMN lease_until DROP DEFAULT"""


@attrs.frozen
class PostgresSettings:
    """How a PostgreSQL store connects and where its tables are, checked (see ``of``)."""

    dsn: str
    schema: str | None
    max_connections: int
    pool_timeout: float
    connect_timeout: int
    statement_timeout: float
    connect_kwargs: dict[str, Any]
    tables: dict[str, str]

    @classmethod
    def of(
        cls,
        dsn: str,
        *,
        schema: str | None,
        max_connections: int,
        pool_timeout: float,
        connect_timeout: float,
        statement_timeout: float,
    ) -> PostgresSettings:
        """The settings of a store. Raises ``ValueError`` for a connection string that does
        not parse, a schema that is not a plain identifier, or a bound that is not positive."""
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ValueError(f"not a plain PostgreSQL identifier: {schema!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        for name, value in [
            ("pool_timeout", pool_timeout),
            ("connect_timeout", connect_timeout),
            ("statement_timeout", statement_timeout),
        ]:
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        try:
            options = conninfo_to_dict(dsn).get("options")
        except psycopg.Error as error:
            raise ValueError(f"not a PostgreSQL connection string: {error}") from None
        # Ours come after the connection string's own options, so they win.
        statement = f"-c statement_timeout={max(1, round(statement_timeout * 1000))}"
        waited = max(2, math.ceil(connect_timeout))
        prefix = f'"{schema}".' if schema else ""
        return cls(
            dsn,
            schema,
            max_connections,
            pool_timeout,
            waited,
            statement_timeout,
            {
                "autocommit": True,
                "connect_timeout": waited,
                "options": f"{options} {statement}" if options else statement,
            },
            {name: f"{prefix}orderflow_{name}" for name in ("checkouts", "claims", "idempotency")},
        )

    def queries(self, cache_size: int) -> Queries:
        """The store's queries over its tables."""
        statements = Statements.render(self.tables, postgres=True, named=False)
        return Queries(statements, at=aware, time=_utc, cache_size=cache_size)

    def schema_work(self) -> Work[None]:
        """Create the schema, tables and indexes, or bring those of an earlier version up to
        date; in one transaction, serialized with any other store doing the same."""
        return Work(self._schema_steps(), atomic=True)

    def translated(self) -> _Translated:
        """A context in which the drivers' errors become ``StoreError`` (sync or async code)."""
        return _Translated(self)

    def unreachable(self, error: psycopg.Error) -> StoreError:
        """The error of a store that could not connect."""
        why = " ".join(str(error).split()) or type(error).__name__
        return StoreError(
            f"PostgreSQL store: cannot connect ({why}; connect_timeout {self.connect_timeout}s)"
        )

    def _schema_steps(self) -> Steps[None]:
        def ddl(template: str) -> Query:
            return Query(template.format(**self.tables), fetch=Fetch.NOTHING)

        where = {"schema": self.schema}
        yield Query("SELECT pg_advisory_xact_lock(%(lock)s)", {"lock": _SCHEMA_LOCK}, Fetch.NOTHING)
        if self.schema:
            yield Query(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"', fetch=Fetch.NOTHING)
        for table in _TABLES:
            yield ddl(table)
        found = yield Query(_COLUMNS, where, Fetch.ALL)
        columns = {(table, column) for table, column, _ in found}
        types = {(table, column): kind for table, column, kind in found}
        missing = [c for c in SEARCHED if ("orderflow_checkouts", c.name) not in columns]
        if missing:
            checkouts = self.tables["checkouts"]
            added = ", ".join(f"ADD COLUMN IF NOT EXISTS {c.name} text" for c in missing)
            filled = ", ".join(f"{c.name} = body #>> '{{{','.join(c.path)}}}'" for c in missing)
            yield Query(f"ALTER TABLE {checkouts} {added}", fetch=Fetch.NOTHING)
            yield Query(f"UPDATE {checkouts} SET {filled}", fetch=Fetch.NOTHING)
        if types.get(("orderflow_checkouts", "body")) == "jsonb":
            # Earlier versions kept the body as jsonb, which gives floats and -0.0 back as other
            # text and refuses U+0000; json keeps the text as saved. Rewrites the table once.
            yield Query(
                f"ALTER TABLE {self.tables['checkouts']} ALTER COLUMN body TYPE json"
                " USING body::json",
                fetch=Fetch.NOTHING,
            )
        if ("orderflow_idempotency", "owner") not in columns:
            yield ddl(_RESERVATIONS)
            yield ddl(_NO_DEFAULTS)
        # Only the missing ones: CREATE INDEX takes a lock that blocks writes, even when the
        # index exists.
        found = yield Query(_INDEXES, where, Fetch.ALL)
        existing = {name for (name,) in found}
        for index in INDEXES:
            name = f"orderflow_{index.name}"
            if name not in existing:
                yield Query(index.create(name, self.tables[index.table]), fetch=Fetch.NOTHING)


class _Translated:
    """Turns psycopg's, the pool's and the driver's exceptions into ``StoreError``.

    A plain context manager, so the async store uses it around awaited calls too.
    """

    __slots__ = ("_settings",)

    def __init__(self, settings: PostgresSettings) -> None:
        self._settings = settings

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, _DRIVER_ERRORS):
            raise _store_error(self._settings, exc) from exc


def _store_error(settings: PostgresSettings, error: BaseException) -> StoreError:
    what = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, psycopg_pool.PoolTimeout):
        return StoreError(
            f"PostgreSQL store: no free connection within {settings.pool_timeout:g}s "
            f"({settings.max_connections} at most; {what})"
        )
    if isinstance(error, pg_errors.UndefinedTable):
        return StoreError(f"PostgreSQL store tables are missing ({what}); call create_schema()")
    if isinstance(error, pg_errors.UndefinedColumn):
        return StoreError(
            f"PostgreSQL store tables are of an earlier version ({what}); "
            "call create_schema() to upgrade them"
        )
    if isinstance(error, pg_errors.QueryCanceled):
        return StoreError(
            f"PostgreSQL store: a statement took longer than {settings.statement_timeout:g}s "
            f"({what})"
        )
    return StoreError(f"PostgreSQL store failed: {what}")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
