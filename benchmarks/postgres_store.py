"""``postgres_store``: the PostgreSQL store against the same JSON-document store on psycopg 3,
and the round trips one seed flow makes.

Runs only when ``ORDERFLOW_TEST_POSTGRES_DSN`` names a database; everything lives in a schema
of its own, dropped afterwards.

Timing rows, as ``sqlite_store``: ours, per operation, ``PostgresStore.load``, confirm
(``flow.check``, ``flow.fire``), ``PostgresStore.save``; the peers load the ``jsonb`` document
through a ``psycopg_pool`` pool with orjson as psycopg's JSON loader, decode it into the same
attrs types with cattrs (the target) or keep plain dicts (reference), check, and save it with
a versioned ``UPDATE`` (``_documents``). Each operation has its own checkout, stored
beforehand; ours runs on a store opened after the filling, so no decoded checkout is cached.

Round trips: the seed's flow (``run_seed_flow`` on a ``CheckoutService`` over
``FakeCentra.seeded()``) on a ``PostgresStore`` whose connection string points at a counting
proxy (``_pgwire``), after the pool's first connection and a warm-up; counted per step and per
store call, for three flows that must agree.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from benchmarks._documents import PostgresDocuments, Typed, operation
from benchmarks._harness import Row, Settings, calls_needed, compare, failed, skipped
from benchmarks._pgwire import RoundTripCounter
from benchmarks._seed import MOMENT, SEED_STEPS, paid_ok
from benchmarks.sqlite_store import (
    PEERS,
    check_used,
    checkouts,
    counter,
    fill_store,
    ours_operation,
)
from orderflow import codec
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import run_seed_flow, seed_details
from orderflow.adapters.stores.postgres import PostgresStore
from orderflow.checkout import Checkout
from orderflow.service import CheckoutService

CASE = "postgres_store"
MEASURED = "PostgresStore load, confirm, save"
MEASURED_TRIPS = "round trips to PostgreSQL per seed flow (open→paid)"
DSN_VARIABLE = "ORDERFLOW_TEST_POSTGRES_DSN"
TARGET = 1.3
MOST_ROUND_TRIPS = 10.0
WARMUP_FLOWS = 15


def _peers() -> list[tuple[str, float | None, Any]]:
    return [
        (peer.replace("sqlite3", "psycopg 3 (pool, jsonb)"), TARGET if target else None, kind)
        for peer, target, kind in PEERS
    ]


def _rows() -> list[Row]:
    return [
        *(Row(CASE, MEASURED, peer, "µs", "at_most", target) for peer, target, _ in _peers()),
        Row(CASE, MEASURED_TRIPS, "(counted; no peer)", "round trips", "count", MOST_ROUND_TRIPS),
    ]


def _fill_ours(dsn: str, schema: str, rows: list[Checkout]) -> None:
    with PostgresStore(dsn, schema=schema) as store:
        store.create_schema()
        chunks = [rows[i::4] for i in range(4)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda chunk: fill_store(store, chunk), chunks))


def _read_ours(store: PostgresStore) -> Callable[[str], tuple[str, int, int]]:
    def read(checkout_id: str) -> tuple[str, int, int]:
        checkout = store.load(checkout_id)
        return checkout.state.value, checkout.version, len(checkout.history)

    return read


def _read_documents(documents: PostgresDocuments) -> Callable[[str], tuple[str, int, int]]:
    def read(checkout_id: str) -> tuple[str, int, int]:
        document: Any = documents.load(checkout_id)
        kind = documents.kind
        history = document["history"] if isinstance(document, dict) else document.history
        return kind.state(document), kind.version(document), len(history)

    return read


def _timing_rows(dsn: str, schema: str, settings: Settings) -> list[Row]:
    most = 20 if settings.quick else 100
    per_row = calls_needed(settings, most)
    peers = _peers()
    details = seed_details()
    _fill_ours(dsn, schema, checkouts("ours", per_row * len(peers)))
    rows = []
    with PostgresStore(dsn, schema=schema) as store:  # opened afresh: nothing cached
        ours_next, ours_used = counter("ours")
        ours = ours_operation(store, ours_next)
        for index, (peer, target, kind) in enumerate(peers):
            row = Row(CASE, MEASURED, peer, "µs", "at_most", target)
            documents = PostgresDocuments(dsn, f'"{schema}".documents_{index}', kind())
            try:
                documents.fill(checkouts("doc", per_row))
                their_details = details if kind is Typed else codec.unstructure(details)
                their_next, their_used = counter("doc")
                theirs = operation(documents, their_next, their_details, MOMENT)
                pair = compare(ours, theirs, settings, most)
                problem = check_used(
                    _read_documents(documents), "doc", their_used(), per_row
                ) or check_used(_read_ours(store), "ours", ours_used(), per_row * len(peers))
            finally:
                documents.close()
            rows.append(failed(row, problem) if problem else row.record(pair, 1000))
    return rows


class _Traced:
    """A store that records the round trips of each call it forwards (diagnostics only)."""

    def __init__(self, store: PostgresStore, proxy: RoundTripCounter) -> None:
        self._store = store
        self._proxy = proxy
        self.calls: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def traced(*args: Any, **kwargs: Any) -> Any:
            before = self._proxy.round_trips
            try:
                return method(*args, **kwargs)
            finally:
                self.calls.append((name, self._proxy.round_trips - before))

        return traced


def _counted_flow(store: Any, proxy: RoundTripCounter) -> tuple[Checkout, dict[str, int]]:
    steps: dict[str, int] = {}
    last = proxy.round_trips

    def on_step(name: str, checkout: Checkout) -> None:
        nonlocal last
        now = proxy.round_trips
        steps[name] = now - last
        last = now

    checkout = run_seed_flow(CheckoutService(transport=FakeCentra.seeded(), store=store), on_step)
    return checkout, steps


def _round_trips_row(dsn: str, schema: str) -> Row:
    row = _rows()[-1]
    with RoundTripCounter(dsn) as proxy, PostgresStore(proxy.dsn, schema=schema) as store:
        store.find(limit=1)  # the pool's first connection, outside the count
        # psycopg prepares a statement on its sixth use on a connection, which costs one more
        # round trip that once: the first flows are warm-up, the steady state is counted.
        for _ in range(WARMUP_FLOWS):
            _counted_flow(store, proxy)
        flows = []
        for _ in range(3):
            traced = _Traced(store, proxy)
            checkout, steps = _counted_flow(traced, proxy)
            problem = paid_ok(checkout)
            if problem:
                return failed(row, problem)
            flows.append((steps, traced.calls))
    totals = [sum(steps.values()) for steps, _ in flows]
    steps, calls = flows[0]
    if len(set(totals)) != 1 or tuple(steps) != SEED_STEPS:
        return failed(row, f"the flows made different round trips: {[s for s, _ in flows]}")
    row.ours = float(totals[0])
    row.extra["per_step"] = steps
    row.extra["per_store_call"] = [f"{name} {trips}" for name, trips in calls]
    row.note = (
        "per step: "
        + ", ".join(f"{name} {trips}" for name, trips in steps.items())
        + "; per store call: "
        + ", ".join(f"{name} {trips}" for name, trips in calls)
    )
    return row


def _drop(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(settings: Settings) -> list[Row]:
    """Ours against the document store on psycopg (skipped without the DSN), and round trips."""
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        return [skipped(row, f"{DSN_VARIABLE} not set") for row in _rows()]
    schema = f"orderflow_bench_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        return [*_timing_rows(dsn, schema, settings), _round_trips_row(dsn, schema)]
    finally:
        _drop(dsn, schema)
