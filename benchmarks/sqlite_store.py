"""``sqlite_store``: the SQLite store's load, confirm, save against a JSON-document store on
sqlite3 + orjson doing the same (``_documents``).

Ours, per operation: ``SQLiteStore.load`` (SELECT and decode), ``flow.check`` and ``flow.fire``
(confirm), ``SQLiteStore.save`` (encode and a versioned UPDATE) on a temp file. Peers: the
document store decoding into the same attrs types with cattrs (the target), and the same
store on plain dicts (the floor, for reference).

Every operation gets its own checkout (the cart after one item), stored beforehand, so each
does the same work; ours runs on a store opened after the filling, so its cache of decoded
checkouts (which a load right after the store's own save hits) never helps: this is the cost
of a checkout another process saved. The check: the last checkout each side saved reads back
``confirmed`` at version 3 with one more history record, and an unused one is unchanged.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._documents import Dicts, SQLiteDocuments, Typed, operation
from benchmarks._harness import Row, Settings, calls_needed, compare, failed
from benchmarks._seed import MOMENT, checkout_with_cart
from orderflow import codec, flow
from orderflow.adapters.fake.seed import seed_details
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.checkout import Checkout
from orderflow.flow import Event, State
from orderflow.ports import Store

CASE = "sqlite_store"
MEASURED = "SQLiteStore load, confirm, save"
PEERS = (
    ("sqlite3 + orjson document store, into the same attrs types (cattrs)", 1.5, Typed),
    ("sqlite3 + orjson document store, plain dicts (the floor)", None, Dicts),
)


def ours_operation(store: Store, next_id: Callable[[], str]) -> Callable[[], Checkout]:
    """One load, confirm, save of the next stored checkout, with the store's own methods."""
    params = {"details": seed_details()}

    def load_confirm_save() -> Checkout:
        checkout = store.load(next_id())
        flow.check(checkout, Event.CONFIRM, params)
        moved = flow.fire(checkout, Event.CONFIRM, State.CONFIRMED, MOMENT)
        return store.save(moved, checkout.version)

    return load_confirm_save


def checkouts(prefix: str, count: int) -> list[Checkout]:
    """``count`` checkouts after one item, stored at version 2, ids ``<prefix>-<n>``."""
    template = checkout_with_cart()
    return [
        Checkout(
            id=f"{prefix}-{index}",
            state=template.state,
            created_at=template.created_at,
            updated_at=template.updated_at,
            version=2,
            selection_id=template.selection_id,
            cart=template.cart,
        )
        for index in range(count)
    ]


def counter(prefix: str) -> tuple[Callable[[], str], Callable[[], int]]:
    """The next id to use, and how many were used."""
    numbers = itertools.count()
    used = [0]

    def next_id() -> str:
        used[0] += 1
        return f"{prefix}-{next(numbers)}"

    return next_id, lambda: used[0]


def check_used(
    read: Callable[[str], tuple[str, int, int]], prefix: str, used: int, stored: int
) -> str | None:
    """Whether the last used checkout is confirmed at version 3 and the next one untouched.

    ``read(id)`` is the stored ``(state, version, history length)``.
    """
    if used > stored:
        return f"ran out of stored checkouts ({used} > {stored})"
    if read(f"{prefix}-{used - 1}") != ("confirmed", 3, 1):
        return f"{prefix}-{used - 1} is {read(f'{prefix}-{used - 1}')}, not confirmed v3"
    if used < stored and read(f"{prefix}-{used}") != ("selection", 2, 0):
        return f"{prefix}-{used}, never used, has changed"
    return None


def fill_store(store: Store, rows: list[Checkout]) -> None:
    """Save each checkout through the store (as version 2: created, then saved once)."""
    for checkout in rows:
        store.save(store.save(checkout, 0), 1)


def _read_ours(store: Store) -> Callable[[str], tuple[str, int, int]]:
    def read(checkout_id: str) -> tuple[str, int, int]:
        checkout = store.load(checkout_id)
        return checkout.state.value, checkout.version, len(checkout.history)

    return read


def _read_documents(documents: SQLiteDocuments) -> Callable[[str], tuple[str, int, int]]:
    def read(checkout_id: str) -> tuple[str, int, int]:
        document: Any = documents.load(checkout_id)
        kind = documents.kind
        history = document["history"] if isinstance(kind, Dicts) else document.history
        return kind.state(document), kind.version(document), len(history)

    return read


def run(settings: Settings) -> list[Row]:
    """Ours against the typed document store (target) and the dict one (reference)."""
    most = 50 if settings.quick else 200
    per_row = calls_needed(settings, most)
    details = seed_details()
    rows = []
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        path = Path(directory) / "orderflow.sqlite3"
        with SQLiteStore(path) as filling:
            fill_store(filling, checkouts("ours", per_row * len(PEERS)))
        with SQLiteStore(path) as store:  # opened afresh: no decoded checkout is cached
            ours_next, ours_used = counter("ours")
            ours = ours_operation(store, ours_next)
            for index, (peer, target, kind) in enumerate(PEERS):
                row = Row(CASE, MEASURED, peer, "µs", "at_most", target)
                documents = SQLiteDocuments(Path(directory) / f"documents-{index}.sqlite3", kind())
                try:
                    documents.fill(checkouts("doc", per_row))
                    their_details = details if kind is Typed else codec.unstructure(details)
                    their_next, their_used = counter("doc")
                    theirs = operation(documents, their_next, their_details, MOMENT)
                    pair = compare(ours, theirs, settings, most)
                    problem = check_used(
                        _read_documents(documents), "doc", their_used(), per_row
                    ) or check_used(_read_ours(store), "ours", ours_used(), per_row * len(PEERS))
                finally:
                    documents.close()
                rows.append(failed(row, problem) if problem else row.record(pair, 1000))
    return rows
