"""Case 7: the SQLite store's load, transition, save against bare ``sqlite3`` on the same JSON.

Ours, per operation: ``SQLiteStore.load`` (SELECT and decode), ``flow.check`` and
``flow.fire`` (confirm), ``SQLiteStore.save`` (encode and a versioned UPDATE) on a temp file.
Peer: a bare ``sqlite3`` connection with the same settings (WAL, synchronous NORMAL,
autocommit) that reads the same JSON text by id and writes it back by id.
A second row, with no target, adds ``json.loads`` and ``json.dumps`` to the bare side: the
floor for any store that keeps a checkout as a JSON document.
Every operation gets its own checkout, stored beforehand, so each one does the same work.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Row, Settings, calls_needed, compare, failed
from benchmarks._seed import MOMENT, checkout_with_cart
from orderflow import flow
from orderflow.adapters.fake.seed import seed_details
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.checkout import Checkout
from orderflow.codec import dumps
from orderflow.flow import Event, State

CASE = "sqlite_store"
MEASURED = "SQLiteStore load, confirm, save"
PEER = "bare sqlite3: SELECT body, UPDATE body"
PEER_JSON = "bare sqlite3 + json.loads/json.dumps (reference)"

_SCHEMA = "CREATE TABLE checkouts (id TEXT PRIMARY KEY, body TEXT NOT NULL)"


def _ours(store: SQLiteStore, ids: itertools.count[int]) -> Callable[[], Checkout]:
    params = {"details": seed_details()}

    def load_transition_save() -> Checkout:
        checkout = store.load(f"c-{next(ids)}")
        flow.check(checkout, Event.CONFIRM, params)
        moved = flow.fire(checkout, Event.CONFIRM, State.CONFIRMED, MOMENT)
        return store.save(moved, checkout.version)

    return load_transition_save


def _bare(
    connection: sqlite3.Connection, ids: itertools.count[int], with_json: bool
) -> Callable[[], None]:
    def read_write() -> None:
        key = f"c-{next(ids)}"
        (body,) = connection.execute("SELECT body FROM checkouts WHERE id = ?", (key,)).fetchone()
        connection.execute("UPDATE checkouts SET body = ? WHERE id = ?", (body, key))

    def read_write_json() -> None:
        key = f"c-{next(ids)}"
        (body,) = connection.execute("SELECT body FROM checkouts WHERE id = ?", (key,)).fetchone()
        data = json.loads(body)
        data["state"] = "confirmed"
        connection.execute("UPDATE checkouts SET body = ? WHERE id = ?", (json.dumps(data), key))

    return read_write_json if with_json else read_write


def _fill(store: SQLiteStore, bare: sqlite3.Connection, count: int) -> None:
    template = checkout_with_cart()
    body = dumps(template)
    rows = []
    for index in range(count):
        checkout = Checkout(
            id=f"c-{index}",
            state=template.state,
            created_at=template.created_at,
            updated_at=template.updated_at,
            selection_id=template.selection_id,
            cart=template.cart,
        )
        store.save(checkout, 0)
        rows.append((checkout.id, body))
    bare.executemany("INSERT INTO checkouts (id, body) VALUES (?, ?)", rows)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(_SCHEMA)
    return connection


def run(settings: Settings) -> list[Row]:
    """Ours against a bare read and write of the same JSON text (and, for reference, with json)."""
    most = 200 if not settings.quick else 50
    per_row = calls_needed(settings, most)
    rows = [
        Row(CASE, MEASURED, PEER, "µs", "at_most", 1.5),
        Row(CASE, MEASURED, PEER_JSON, "µs", "none", None),
    ]
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        store = SQLiteStore(Path(directory) / "orderflow.sqlite3")
        bare = _connect(Path(directory) / "bare.sqlite3")
        try:
            _fill(store, bare, per_row * len(rows))
            ours_ids, bare_ids = itertools.count(), itertools.count()
            ours = _ours(store, ours_ids)
            for row in rows:
                theirs = _bare(bare, bare_ids, with_json=row.peer == PEER_JSON)
                ours_ns, theirs_ns = compare(ours, theirs, settings, most)
                row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
            problem = _check(store, next(ours_ids), per_row * len(rows))
        finally:
            store.close()
            bare.close()
    if problem:
        for row in rows:
            failed(row, problem)
    return rows


def _check(store: SQLiteStore, used: int, stored: int) -> str | None:
    if used > stored:
        return f"ran out of stored checkouts ({used} > {stored})"
    last = store.load(f"c-{used - 1}")
    if last.state is not State.CONFIRMED or last.version != 2 or len(last.history) != 1:
        return f"the last checkout saved is {last.state} v{last.version}"
    if used < stored and store.load(f"c-{used}").state is not State.SELECTION:
        return "a checkout that was not used has changed"
    return None
