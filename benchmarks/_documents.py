"""The peer of the store cases: a JSON-document store of checkouts, as a competent user writes one.

One table ``(id, version, body)``. An operation loads the row by id, decodes the body with
orjson, checks and fires the event, encodes the checkout and saves it with a versioned
``UPDATE ... WHERE id = ? AND version = ?`` (optimistic concurrency, as ours), checking that
one row changed. Two decoders, two rows of each case:

- ``typed``: into the very same attrs types (``Checkout``) with a cattrs converter
  (``cattrs.preconf.orjson``, with the hooks cattrs needs for our types: ``Decimal``, the
  payment action as a tagged union, the three unions of the wire, and pass-through hooks for
  optional JSON scalars). It is the comparable peer: the check is the same ``flow.check`` and
  ``flow.fire`` on the same objects, so the two sides differ only in how they store.
- ``dicts``: the document as plain dicts, checked by hand (the same confirm guards, written
  on dicts) and changed in place: what a store that keeps no types costs, the floor.

The SQLite side uses sqlite3 with ours' settings (WAL, synchronous NORMAL, autocommit); the
PostgreSQL side psycopg 3 with a ``psycopg_pool`` pool like ours, a ``jsonb`` body like ours,
and orjson registered as psycopg's JSON loader and dumper.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cattrs
import orjson
from cattrs.preconf.orjson import make_converter
from cattrs.strategies import configure_tagged_union

from orderflow import codec, flow
from orderflow.checkout import Checkout
from orderflow.flow import Event, State
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Voucher

Decode = Callable[[Any], Any]
Encode = Callable[[Any], Any]


def converter() -> cattrs.Converter:
    """The cattrs converter of the typed peer: ``Checkout`` to JSON-ready data and back."""
    conv = make_converter(detailed_validation=False)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda value, _: Decimal(value))
    configure_tagged_union(PaymentAction, conv)
    conv.register_unstructure_hook(
        PaymentAction | None, lambda v: None if v is None else conv.unstructure(v, PaymentAction)
    )
    conv.register_structure_hook(
        PaymentAction | None,
        lambda v, _: None if v is None else conv.structure(v, PaymentAction),
    )
    vouchers = tuple[Voucher, ...] | dict[str, Voucher]
    conv.register_structure_hook(
        vouchers,
        lambda v, _: conv.structure(
            v, dict[str, Voucher] if isinstance(v, dict) else tuple[Voucher, ...]
        ),
    )
    conv.register_structure_hook(
        tuple[dict[str, Any], ...] | dict[str, dict[str, Any]],
        lambda v, _: v if isinstance(v, dict) else tuple(v),
    )
    for scalar in (str | None, bool | None, int | None, str | bool | None, dict[str, Any] | None):
        conv.register_structure_hook(scalar, lambda value, _: value)
    return conv


# --- the two kinds of document: typed and dicts ---------------------------------------------


class Typed:
    """Documents decoded into ``Checkout`` by cattrs; the event is ours, ``flow.check``/``fire``."""

    def __init__(self) -> None:
        conv = converter()
        self.unstructure = conv.unstructure
        self._structure = conv.structure

    def structure(self, data: Any) -> Checkout:
        """A checkout from its document's data."""
        return self._structure(data, Checkout)

    @staticmethod
    def confirm(checkout: Checkout, details: PaymentRequest, at: datetime) -> Checkout:
        """The checkout confirmed (raises ``GuardRefused`` like ours)."""
        flow.check(checkout, Event.CONFIRM, {"details": details})
        return flow.fire(checkout, Event.CONFIRM, State.CONFIRMED, at)

    @staticmethod
    def state(checkout: Checkout) -> str:
        """The checkout's state."""
        return checkout.state.value

    @staticmethod
    def version(checkout: Checkout) -> int:
        """The checkout's version."""
        return checkout.version


class Dicts:
    """Documents as plain dicts (ours' stored JSON), checked by hand."""

    @staticmethod
    def unstructure(checkout: Checkout) -> Any:
        """The document of a checkout (as ours stores it)."""
        return codec.unstructure(checkout)

    @staticmethod
    def structure(data: Any) -> Any:
        """The document itself."""
        return data

    @staticmethod
    def confirm(document: dict[str, Any], details: dict[str, Any], at: datetime) -> Any:
        """The document confirmed in place: confirm's guards, on dicts. Raises ``ValueError``."""
        cart = document["cart"]
        address = details.get("address") or {}
        missing = [
            k
            for k in ("email", "firstName", "lastName", "address1", "zipCode", "city", "country")
            if not address.get(k)
        ]
        offered = {m["paymentMethod"] for m in cart.get("paymentMethods", ())}
        problems = [
            document["state"] != "selection" and "state",
            not cart["selection"]["items"] and "items",
            missing and "address",
            "@" not in address.get("email", "") and "email",
            details.get("termsAndConditions") is not True and "terms",
            details.get("paymentMethod") not in offered and "paymentMethod",
            not (cart.get("location") or {}).get("shipTo", True) and "shipTo",
        ]
        refused = [p for p in problems if p]
        if refused:
            raise ValueError(f"confirm refused: {refused}")
        document["state"] = "confirmed"
        document["history"].append(
            {"event": "confirm", "source": "selection", "dest": "confirmed", "at": at.isoformat()}
        )
        return document

    @staticmethod
    def state(document: dict[str, Any]) -> str:
        """The document's state."""
        return str(document["state"])

    @staticmethod
    def version(document: dict[str, Any]) -> int:
        """The document's version."""
        return int(document["version"])


Kind = Typed | Dicts


def _versioned(kind: Kind, checkout: Checkout, version: int) -> Any:
    data = kind.unstructure(checkout)
    data["version"] = version
    return data


# --- the stores ------------------------------------------------------------------------------

_SQLITE_TABLE = "CREATE TABLE documents (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT)"


class SQLiteDocuments:
    """A JSON-document store on one sqlite3 connection (ours' settings)."""

    def __init__(self, path: Path, kind: Kind) -> None:
        self.kind = kind
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = NORMAL")
        self._connection.execute(_SQLITE_TABLE)

    def fill(self, checkouts: Iterable[Checkout]) -> None:
        """Store every checkout (at its version)."""
        rows = [
            (c.id, c.version, orjson.dumps(_versioned(self.kind, c, c.version)).decode())
            for c in checkouts
        ]
        self._connection.executemany("INSERT INTO documents VALUES (?, ?, ?)", rows)

    def load(self, checkout_id: str) -> Any:
        """The stored document, decoded."""
        row = self._connection.execute(
            "SELECT body FROM documents WHERE id = ?", (checkout_id,)
        ).fetchone()
        if row is None:
            raise KeyError(checkout_id)
        return self.kind.structure(orjson.loads(row[0]))

    def save(self, checkout_id: str, document: Any, expected_version: int) -> None:
        """Store ``document`` if the stored version is still ``expected_version``."""
        data = document if isinstance(self.kind, Dicts) else self.kind.unstructure(document)
        data["version"] = expected_version + 1
        changed = self._connection.execute(
            "UPDATE documents SET body = ?, version = ? WHERE id = ? AND version = ?",
            (orjson.dumps(data).decode(), expected_version + 1, checkout_id, expected_version),
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"conflict saving {checkout_id} at version {expected_version}")

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class PostgresDocuments:
    """A JSON-document store on psycopg 3: a pool like ours, a ``jsonb`` body, orjson."""

    def __init__(self, dsn: str, table: str, kind: Kind) -> None:
        import psycopg_pool
        from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads

        def configure(connection: Any) -> None:
            set_json_loads(orjson.loads, connection)
            set_json_dumps(orjson.dumps, connection)

        self.kind = kind
        self._table = table
        self._jsonb = Jsonb
        self._pool = psycopg_pool.ConnectionPool(
            dsn,
            min_size=1,
            max_size=10,
            kwargs={"autocommit": True},
            configure=configure,
            open=False,
            name="bench-documents",
        )
        self._pool.open(wait=True)
        with self._pool.connection() as connection:
            connection.execute(
                f"CREATE TABLE {table} (id text PRIMARY KEY, version integer NOT NULL, "
                "body jsonb NOT NULL)"
            )

    def fill(self, checkouts: Iterable[Checkout]) -> None:
        """Store every checkout (at its version)."""
        rows = [
            (c.id, c.version, self._jsonb(_versioned(self.kind, c, c.version))) for c in checkouts
        ]
        with self._pool.connection() as connection, connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {self._table} VALUES (%s, %s, %s)", rows)

    def load(self, checkout_id: str) -> Any:
        """The stored document, decoded."""
        with self._pool.connection() as connection:
            row = connection.execute(
                f"SELECT body FROM {self._table} WHERE id = %s", (checkout_id,)
            ).fetchone()
        if row is None:
            raise KeyError(checkout_id)
        return self.kind.structure(row[0])

    def save(self, checkout_id: str, document: Any, expected_version: int) -> None:
        """Store ``document`` if the stored version is still ``expected_version``."""
        data = document if isinstance(self.kind, Dicts) else self.kind.unstructure(document)
        data["version"] = expected_version + 1
        with self._pool.connection() as connection:
            changed = connection.execute(
                f"UPDATE {self._table} SET body = %s, version = %s WHERE id = %s AND version = %s",
                (self._jsonb(data), expected_version + 1, checkout_id, expected_version),
            ).rowcount
        if changed != 1:
            raise RuntimeError(f"conflict saving {checkout_id} at version {expected_version}")

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()


Documents = SQLiteDocuments | PostgresDocuments


def operation(
    documents: Documents, next_id: Callable[[], str], details: Any, at: datetime
) -> Callable[[], None]:
    """One load, confirm, save of the next stored checkout."""
    kind = documents.kind

    def load_confirm_save() -> None:
        checkout_id = next_id()
        document = documents.load(checkout_id)
        version = kind.version(document)
        confirmed = kind.confirm(document, details, at)
        documents.save(checkout_id, confirmed, version)

    return load_confirm_save
