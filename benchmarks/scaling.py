"""``python -m benchmarks.scaling [--quick] [--json]``: how the SQL stores scale (no peers).

Two tables for ``benchmarks/README.md``:

- per-operation cost of ``SQLiteStore`` and ``PostgresStore`` with 1,000, 10,000 and 100,000
  checkouts stored (half paid, with receipts and order numbers; half after one item in
  ``selection``). Operations: ``create`` (save at version 0), ``load`` by id, ``update`` (load,
  confirm, save), ``find`` the 10 least recently updated in ``selection``, ``find`` by order
  number and by selection id, and ``claim`` (acquire and release). Each operation acts on ids
  no other operation of the run touched, so the stores' cache of decoded checkouts never hits:
  this is the cost of checkouts another process saved.
- seed flows per second on PostgreSQL (``run_seed_flow`` on ``FakeCentra.seeded()``), with 1,
  2 and 4 processes at once, each with its own store; the figure is the flows all processes
  completed divided by the time.

PostgreSQL needs ``ORDERFLOW_TEST_POSTGRES_DSN`` (skipped without it); everything lives in a
schema of its own, dropped afterwards. ``--quick`` (a smoke run) uses 200 and 500 stored
checkouts and 1 and 2 processes for a second each. Not part of the test suite: filling 100,000
checkouts takes minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from benchmarks._harness import machine
from benchmarks._seed import MOMENT, checkout_with_cart, paid_document, paid_ok
from orderflow import codec, flow
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, run_seed_flow, seed_details
from orderflow.adapters.stores.postgres import PostgresStore
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.checkout import Checkout
from orderflow.flow import Event, State
from orderflow.ports import Store
from orderflow.service import CheckoutService

DSN_VARIABLE = "ORDERFLOW_TEST_POSTGRES_DSN"
SIZES = (1_000, 10_000, 100_000)
PROCESSES = (1, 2, 4)
OPERATIONS = ("create", "load", "update", "find oldest", "find order", "find selection", "claim")


# --- what is stored ------------------------------------------------------------------------


def _checkout(index: int) -> Checkout:
    """The ``index``-th stored checkout: even ones paid (order ``10000+index``), odd ones in
    ``selection`` after one item; each with its own id, selection and time."""
    at = MOMENT + timedelta(seconds=index)
    if index % 2:
        template = checkout_with_cart(version=0)
        return attrs.evolve(
            template, id=f"c-{index}", selection_id=f"s-{index}", created_at=at, updated_at=at
        )
    paid = _paid()
    assert paid.receipt is not None
    return attrs.evolve(
        paid,
        id=f"c-{index}",
        selection_id=f"s-{index}",
        version=0,
        created_at=at,
        updated_at=at,
        receipt=attrs.evolve(paid.receipt, order=str(10_000 + index)),
    )


_PAID: list[Checkout] = []


def _paid() -> Checkout:
    if not _PAID:
        _PAID.append(codec.loads(paid_document(), Checkout))
    return _PAID[0]


def _fill(store: Store, indexes: range, threads: int) -> None:
    def save(chunk: range) -> None:
        for index in chunk:
            store.save(_checkout(index), 0)

    chunks = [indexes[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(save, chunks))


# --- the operations --------------------------------------------------------------------------


def _operations(store: Store, stored: int, fresh: Iterator[int]) -> dict[str, Callable[[], Any]]:
    """One callable per operation; each call acts on checkouts no other call touched."""
    selection_ids = iter(range(1, stored, 2))  # odd: in selection
    loads = iter(range(0, stored, 2))
    orders = iter(range(0, stored, 2))
    selections = iter(range(1, stored, 2))
    claims = itertools.count()
    params = {"details": seed_details()}

    def create() -> Any:
        return store.save(_checkout(next(fresh)), 0)

    def load() -> Any:
        return store.load(f"c-{next(loads)}")

    def update() -> Any:
        checkout = store.load(f"c-{next(selection_ids)}")
        flow.check(checkout, Event.CONFIRM, params)
        moved = flow.fire(checkout, Event.CONFIRM, State.CONFIRMED, MOMENT)
        return store.save(moved, checkout.version)

    def find_oldest() -> Any:
        found = store.find(state=State.SELECTION, limit=10)
        assert len(found) == 10
        return found

    def find_order() -> Any:
        found = store.find(order=str(10_000 + next(orders)))
        assert len(found) == 1
        return found

    def find_selection() -> Any:
        found = store.find(selection=f"s-{next(selections)}")
        assert len(found) == 1
        return found

    def claim() -> Any:
        checkout_id = f"c-{next(claims) * 2}"
        taken = store.acquire_claim(checkout_id, "bench", MOMENT, timedelta(seconds=30))
        store.release_claim(checkout_id, "bench")
        return taken

    return dict(
        zip(
            OPERATIONS,
            (create, load, update, find_oldest, find_order, find_selection, claim),
            strict=True,
        )
    )


def _cost(operation: Callable[[], Any], calls: int, rounds: int = 3) -> float:
    """Median over ``rounds`` of the mean µs per call, ``calls`` per round."""
    means = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(calls):
            operation()
        means.append((time.perf_counter_ns() - start) / calls / 1000)
    return statistics.median(means)


def per_operation(
    open_store: Callable[[], Any], sizes: Sequence[int], calls: int, threads: int
) -> dict[int, dict[str, float]]:
    """µs per operation at each size; the store grows between sizes."""
    costs: dict[int, dict[str, float]] = {}
    stored = 0
    fresh = itertools.count(10 * max(sizes))  # ids of created checkouts, past every filled one
    for size in sizes:
        with open_store() as store:
            _fill(store, range(stored, size), threads)
        stored = size
        with open_store() as store:  # opened afresh: nothing cached
            operations = _operations(store, stored, fresh)
            costs[size] = {name: _cost(op, calls) for name, op in operations.items()}
        # Put back what update confirmed, so at the next size update finds them in selection
        # again (what create added stays: a few hundred more rows).
        with open_store() as store:
            _restore(store)
    return costs


def _restore(store: Store) -> None:
    for checkout in store.find(state=State.CONFIRMED, limit=10_000):
        store.save(attrs.evolve(checkout, state=State.SELECTION, history=()), checkout.version)


# --- seed flows per second ----------------------------------------------------------------


def _flows_worker(dsn: str, schema: str, seconds: float, start: Any, results: Any) -> None:
    with PostgresStore(dsn, schema=schema) as store:
        service = CheckoutService(
            transport=FakeCentra.seeded(stock={SEED_ITEM: 10**9}), store=store
        )
        run_seed_flow(service)  # connect and warm up before the clock starts
        start.wait()
        flows = 0
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            problem = paid_ok(run_seed_flow(service), order=None)
            if problem:
                results.put(("failed", problem))
                return
            flows += 1
        results.put(("ok", flows))


def flows_per_second(dsn: str, schema: str, processes: int, seconds: float) -> float:
    """Seed flows per second with ``processes`` processes on one PostgreSQL schema."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_flows_worker, args=(dsn, schema, seconds, start, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    outcomes = [results.get(timeout=seconds + 120) for _ in workers]
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    problems = [value for status, value in outcomes if status != "ok"]
    if problems:
        raise AssertionError(f"a seed flow failed: {problems[0]}")
    return sum(value for _, value in outcomes) / elapsed


# --- the command -----------------------------------------------------------------------------


@contextmanager
def _postgres_schema(dsn: str) -> Iterator[str]:
    import psycopg

    schema = f"orderflow_scaling_{os.getpid()}_{secrets.token_hex(3)}"
    with PostgresStore(dsn, schema=schema) as store:
        store.create_schema()
    try:
        yield schema
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _markdown(costs: dict[str, dict[int, dict[str, float]]], rates: dict[int, float]) -> str:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    lines = []
    for name, by_size in costs.items():
        sizes = list(by_size)
        lines.append(row([f"{name}, µs per operation", *(f"{s:,} stored" for s in sizes)]))
        lines.append(row(["---"] * (len(sizes) + 1)))
        for operation in OPERATIONS:
            lines.append(row([operation, *(f"{by_size[s][operation]:,.0f}" for s in sizes)]))
        lines.append("")
    if rates:
        base = next(iter(rates.values()))
        counts = [f"{n} process" + ("es" if n > 1 else "") for n in rates]
        lines.append(row(["PostgreSQL, seed flows", *counts]))
        lines.append(row(["---"] * (len(rates) + 1)))
        lines.append(
            row(["flows per second, all processes", *(f"{r:,.0f}" for r in rates.values())])
        )
        lines.append(
            row(["speed-up over one process", *(f"{r / base:.2f}x" for r in rates.values())])
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print both tables (or one JSON document)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    sizes = (200, 500) if args.quick else SIZES
    processes = (1, 2) if args.quick else PROCESSES
    calls = 20 if args.quick else 100
    seconds = 1.0 if args.quick else 5.0
    dsn = os.environ.get(DSN_VARIABLE)
    started = time.perf_counter()
    costs: dict[str, dict[int, dict[str, float]]] = {}
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="orderflow-scaling-") as directory:
        path = Path(directory) / "orderflow.sqlite3"
        print("SQLite ...", file=sys.stderr, flush=True)
        costs["SQLite"] = per_operation(lambda: SQLiteStore(path), sizes, calls, threads=1)
    if dsn:
        with _postgres_schema(dsn) as schema:
            print("PostgreSQL ...", file=sys.stderr, flush=True)
            costs["PostgreSQL"] = per_operation(
                lambda: PostgresStore(dsn, schema=schema), sizes, calls, threads=4
            )
        for count in processes:
            with _postgres_schema(dsn) as schema:
                print(f"PostgreSQL, {count} processes ...", file=sys.stderr, flush=True)
                rates[count] = flows_per_second(dsn, schema, count, seconds)
    else:
        print(f"PostgreSQL skipped: {DSN_VARIABLE} not set", file=sys.stderr)
    described = machine()
    if args.json:
        document = {
            "machine": described,
            "seconds": round(time.perf_counter() - started, 1),
            "per_operation_us": costs,
            "seed_flows_per_second": rates,
        }
        print(json.dumps(document, indent=2))
    else:
        print(_markdown(costs, rates))
        print(
            f"\n{described['python']} on {described['cpu']} ({described['cores']} cores); "
            f"{time.perf_counter() - started:.0f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
