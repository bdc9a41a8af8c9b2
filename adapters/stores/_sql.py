"""The SQL the two SQL stores share, written once for SQLite and PostgreSQL: every statement,
the indexes the queries rely on, and how a sync connection runs a store call's steps.

A store call's work is a generator that yields ``Query`` values and returns the call's answer
(as the service's commands yield Centra calls; see ``_queries``): ``run`` drives it on a sync
connection, the async PostgreSQL store awaits each query instead. The statements are written
once with psycopg's ``%(name)s`` placeholders and rendered for each database (SQLite's
``:name``, its tables' names, PostgreSQL's ``json`` casts). Writes that read their own result
back (claims, idempotency records) are one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ...
RETURNING``, atomic on its own; only when the ``WHERE`` refuses is the row in force read by a
second statement (and the write tried again if that row went meanwhile). Every read and write
of a checkout returns its *stamp* (``_shared.DecodedCheckouts``): PostgreSQL's ``xmin``; for
SQLite none, its stamp being the text itself. On PostgreSQL the money gate's combined steps
(``GateStore``) are one statement each, with data-modifying ``WITH`` clauses; SQLite, which has
none, takes them as a few statements in one ``BEGIN IMMEDIATE`` transaction, in process.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from orderflow.adapters.stores._shared import FINISHED
from orderflow.checkout import Checkout

T = TypeVar("T")


class Fetch(enum.Enum):
    """What a query answers: its first row, all rows, how many rows it changed, or nothing."""

    ONE = enum.auto()
    ALL = enum.auto()
    COUNT = enum.auto()
    NOTHING = enum.auto()


@attrs.frozen
class Query:
    """One statement to execute, with its parameters and what to send back."""

    sql: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    fetch: Fetch = Fetch.ONE


Steps = Generator[Query, Any, T]


@attrs.frozen
class Work(Generic[T]):
    """The steps of one store call; ``atomic`` ones run in one transaction."""

    steps: Steps[T]
    atomic: bool = False


class Cursor(Protocol):
    """The part of a DB-API cursor the steps need (sqlite3's and psycopg's)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The part of a sync connection the steps need (sqlite3's and psycopg's)."""

    def execute(self, sql: str, params: Mapping[str, Any], /) -> Cursor: ...


def run(connection: Connection, steps: Steps[T]) -> T:
    """Drive ``steps`` on ``connection``: execute each query, send back what it answers."""
    answer: Any = None
    while True:
        try:
            query = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        cursor = connection.execute(query.sql, query.params)
        if query.fetch is Fetch.ONE:
            answer = cursor.fetchone()
        elif query.fetch is Fetch.ALL:
            answer = cursor.fetchall()
        else:
            answer = cursor.rowcount if query.fetch is Fetch.COUNT else None


# --- the statements -----------------------------------------------------------------------------


@attrs.frozen
class Index:
    """An index the queries rely on: ``find`` by each filter, ``purge`` and ``forget``;
    ``where`` makes it partial (the few checkouts with an unsettled payment call)."""

    name: str
    table: str
    columns: str
    where: str = ""

    def create(self, name: str, table: str) -> str:
        """The statement that creates it as ``name`` on ``table``, if it does not exist."""
        where = f" WHERE {self.where}" if self.where else ""
        return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({self.columns}){where}"


@attrs.frozen
class Column:
    """A checkout's field kept in a column of its own beside the body, so ``find`` by it is
    indexed; ``path`` is where the body holds it (its JSON keys: older tables are filled from
    it when the column is added)."""

    name: str
    path: tuple[str, ...]
    value: Callable[[Checkout], str | None]


SEARCHED = (
    Column("outcome_unknown", ("outcomeUnknown",), lambda c: _value(c.outcome_unknown)),
    Column("selection_id", ("selectionId",), lambda c: c.selection_id),
    Column("order_number", ("receipt", "order"), lambda c: c.order),
)

INDEXES = (
    Index("checkouts_state_updated", "checkouts", "state, updated_at"),
    Index("checkouts_unknown_updated", "checkouts", "updated_at", "outcome_unknown IS NOT NULL"),
    Index("checkouts_updated", "checkouts", "updated_at"),
    # With ``updated_at`` second, a lookup by selection or order comes out in ``find``'s order:
    # on a table the planner has no statistics for yet (grown since the last ANALYZE), a
    # one-column index lost to walking ``checkouts_updated``, 50 ms a lookup at 100k rows.
    Index("checkouts_selection_updated", "checkouts", "selection_id, updated_at"),
    Index("checkouts_order_updated", "checkouts", "order_number, updated_at"),
    Index("claims_expires", "claims", "expires_at"),
    Index("idempotency_checkout", "idempotency", "checkout_id"),
    Index("idempotency_expires", "idempotency", "expires_at"),
)

_RECORD = "key, fingerprint, owner, lease_until, expires_at, result, checkout_id, attempt"
_EXPIRED = "i.expires_at <= %(now)s"
_CLAIM = """
    INSERT INTO {claims} AS c (checkout_id, owner, expires_at)
    VALUES (%(id)s, %(owner)s, %(expires_at)s)
    ON CONFLICT (checkout_id) DO UPDATE
        SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE c.expires_at <= %(now)s OR c.owner = %(owner)s
    RETURNING owner, expires_at"""
_SAVED = """version = %(version)s, state = %(state)s, updated_at = %(updated_at)s,
    {searched_set}, body = %(body)s{json}"""
# ``known``: the stamp of the base's stored state, when the store holds it; else the version
# alone decides, as in ``update``.
_UNCHANGED = "(%(known)s{text} IS NULL OR {stamp} = %(known)s)"
_CREATE = """
    INSERT INTO {checkouts} (id, version, state, updated_at, {searched}, body)
    VALUES (%(id)s, %(version)s, %(state)s, %(updated_at)s, {searched_values}, %(body)s{json})
    ON CONFLICT (id) DO NOTHING"""


@attrs.frozen
class Statements:
    """The SQL text of every query, for one database (see ``render``)."""

    load: str
    version: str
    create: str
    update: str
    update_unchanged: str
    find: str
    find_state: str
    find_unknown: str
    find_known: str
    find_before: str
    find_order_number: str
    find_selection: str
    find_after: str
    find_sorted: str
    claim: str
    read_claim: str
    release: str
    claim_and_save: str
    save_and_release: str
    create_and_release: str
    reserve: str
    read_record: str
    complete: str
    abandon: str
    forget: str
    purge_claims: str
    purge_finished_claims: str
    purge_finished_records: str
    purge_finished: str
    purge_records: str

    @classmethod
    def render(cls, tables: Mapping[str, str], *, postgres: bool, named: bool) -> Statements:
        """The statements over ``tables`` (each table's name as written in SQL): on
        PostgreSQL bodies cast to and from ``json`` (kept as the text saved) and stamped by
        ``xmin``; on SQLite kept as text (their own stamp), with the money gate's combined
        steps left empty (no data-modifying ``WITH``) and ``:name`` placeholders if ``named``."""
        final = ", ".join(f"'{state.value}'" for state in FINISHED)
        fields = {
            **tables,
            "json": "::json" if postgres else "",
            "text": "::text" if postgres else "",
            # What identifies the stored state, in SQL, and what a statement returns as it.
            "stamp": "xmin::text" if postgres else "body",
            "stamped": "xmin::text" if postgres else "NULL",
            # Ids compared by code point, as MemoryStore (Python) and SQLite (BINARY) do,
            # whatever the PostgreSQL database's collation (UTF-8's bytes keep that order).
            "by_code_point": ' COLLATE "C"' if postgres else "",
            # A load sends no body when it is the state the store already holds decoded.
            "loaded": "CASE WHEN xmin::text = %(known)s THEN NULL ELSE body::text END"
            if postgres
            else "body",
            "final": final,
            "finished": f"SELECT id FROM {tables['checkouts']} WHERE state IN ({final}) "
            "AND updated_at < %(before)s",
            "searched": ", ".join(column.name for column in SEARCHED),
            "searched_values": ", ".join(f"%({column.name})s" for column in SEARCHED),
            "searched_set": ", ".join(f"{c.name} = %({c.name})s" for c in SEARCHED),
        }

        def rendered(template: str) -> str:
            sql = " ".join(template.format(**fields).split())
            return re.sub(r"%\((\w+)\)s", r":\1", sql) if named else sql

        templates = attrs.asdict(_TEMPLATES)
        skipped = set() if postgres else _ONE_STATEMENT_ON_POSTGRES
        return cls(
            **{name: "" if name in skipped else rendered(text) for name, text in templates.items()}
        )


_ONE_STATEMENT_ON_POSTGRES = {"claim_and_save", "save_and_release", "create_and_release"}
"""The combined steps written as one statement, for PostgreSQL only (see ``_queries``)."""


_TEMPLATES = Statements(
    load="SELECT version, {stamped}, {loaded} FROM {checkouts} WHERE id = %(id)s",
    version="SELECT version FROM {checkouts} WHERE id = %(id)s",
    create=f"{_CREATE} RETURNING {{stamped}}",
    update=f"""
        UPDATE {{checkouts}} SET {_SAVED}
        WHERE id = %(id)s AND version = %(expected)s
        RETURNING {{stamped}}""",
    # A save on a base the store handed out: only while the stored state is still that base.
    update_unchanged=f"""
        UPDATE {{checkouts}} SET {_SAVED}
        WHERE id = %(id)s AND version = %(expected)s AND {_UNCHANGED}
        RETURNING {{stamped}}""",
    find="SELECT id, version, {stamped}, body{text} FROM {checkouts}",
    find_state="state = %(state)s",
    find_unknown="outcome_unknown IS NOT NULL",
    find_known="outcome_unknown IS NULL",
    find_before="updated_at < %(before)s",
    find_order_number="order_number = %(order)s",
    find_selection="selection_id = %(selection)s",
    # After a position in ``find_sorted``'s order; the ``>=`` lets an index on ``updated_at``
    # start at the position rather than filter everything before it.
    find_after="updated_at >= %(after_at)s AND (updated_at > %(after_at)s"
    " OR id{by_code_point} > %(after_id)s)",
    find_sorted="ORDER BY updated_at, id{by_code_point} LIMIT %(limit)s",
    claim=_CLAIM,
    read_claim="SELECT owner, expires_at FROM {claims} WHERE checkout_id = %(id)s",
    release="DELETE FROM {claims} WHERE checkout_id = %(id)s AND owner = %(owner)s",
    # The claim, and the save only if the claim became the owner's: the claim in force and
    # the saved row's stamp (NULL: nothing saved). No row when another owner's claim was
    # written after this statement's snapshot: the caller reads it with ``read_claim``.
    claim_and_save=f"""
        WITH taken AS ({_CLAIM}),
        saved AS (
            UPDATE {{checkouts}} SET {_SAVED}
            WHERE id = %(id)s AND version = %(expected)s AND {_UNCHANGED}
                AND EXISTS (SELECT FROM taken)
            RETURNING xmin::text AS stamp
        )
        SELECT owner, expires_at, (SELECT stamp FROM saved) FROM taken
        UNION ALL
        SELECT owner, expires_at, NULL FROM {{claims}}
        WHERE checkout_id = %(id)s AND NOT EXISTS (SELECT FROM taken)""",
    # The save, and the claim's release only if it saved: the saved row's stamp, or no row.
    save_and_release=f"""
        WITH saved AS (
            UPDATE {{checkouts}} SET {_SAVED}
            WHERE id = %(id)s AND version = %(expected)s
            RETURNING xmin::text AS stamp
        ),
        released AS (
            DELETE FROM {{claims}}
            WHERE checkout_id = %(id)s AND owner = %(owner)s AND EXISTS (SELECT FROM saved)
        )
        SELECT stamp FROM saved""",
    # The same at version 0, which creates the checkout (as ``create``; ``save``'s contract).
    create_and_release=f"""
        WITH saved AS ({_CREATE} RETURNING xmin::text AS stamp),
        released AS (
            DELETE FROM {{claims}}
            WHERE checkout_id = %(id)s AND owner = %(owner)s AND EXISTS (SELECT FROM saved)
        )
        SELECT stamp FROM saved""",
    # An expired record is replaced; a running one whose lease lapsed changes owner and
    # lease when the same request asks again, keeping what the first caller asked for; any
    # other stays as it is (another request with the key is refused by its caller).
    reserve=f"""
        INSERT INTO {{idempotency}} AS i ({_RECORD})
        VALUES (%(key)s, %(fingerprint)s, %(owner)s, %(lease_until)s, %(expires_at)s, NULL,
            %(checkout_id)s, %(attempt)s)
        ON CONFLICT (key) DO UPDATE SET
            fingerprint = CASE WHEN {_EXPIRED} THEN excluded.fingerprint ELSE i.fingerprint END,
            owner = excluded.owner,
            lease_until = excluded.lease_until,
            expires_at = CASE WHEN {_EXPIRED} THEN excluded.expires_at ELSE i.expires_at END,
            result = NULL,
            checkout_id = CASE WHEN {_EXPIRED} THEN excluded.checkout_id ELSE i.checkout_id END,
            attempt = CASE WHEN {_EXPIRED} THEN excluded.attempt ELSE i.attempt + 1 END
        WHERE {_EXPIRED} OR (
            i.result IS NULL AND i.lease_until <= %(now)s AND i.fingerprint = %(fingerprint)s
        )
        RETURNING {_RECORD}""",
    read_record=f"SELECT {_RECORD} FROM {{idempotency}} WHERE key = %(key)s",
    complete="""
        UPDATE {idempotency} SET result = %(result)s
        WHERE key = %(key)s AND owner = %(owner)s AND result IS NULL""",
    abandon="""
        DELETE FROM {idempotency}
        WHERE key = %(key)s AND owner = %(owner)s AND result IS NULL""",
    forget="DELETE FROM {idempotency} WHERE checkout_id = %(id)s",
    purge_claims="DELETE FROM {claims} WHERE expires_at <= %(now)s",
    purge_finished_claims="DELETE FROM {claims} WHERE checkout_id IN ({finished})",
    purge_finished_records="DELETE FROM {idempotency} WHERE checkout_id IN ({finished})",
    purge_finished="DELETE FROM {checkouts} WHERE state IN ({final}) AND updated_at < %(before)s",
    purge_records="DELETE FROM {idempotency} WHERE expires_at <= %(now)s",
)


def _value(kind: enum.Enum | None) -> Any:
    return None if kind is None else kind.value
