"""A PostgreSQL that hangs: both PostgreSQL stores fail with ``StoreError`` within their
timeouts, and the async one leaves its event loop free while it waits.

A local listener that accepts connections and never answers stands for a server that hangs
before it speaks; a row locked by another transaction stands for a statement that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from orderflow.adapters.stores.async_postgres import AsyncPostgresStore
from orderflow.adapters.stores.postgres import PostgresStore
from orderflow.errors import StoreError
from tests.contract.conftest import POSTGRES_DSN, assert_free_loop, new_checkout, while_ticking

CONNECT_TIMEOUT = 2.0  # the least libpq waits for a connection
STATEMENT_TIMEOUT = 0.5

needs_postgres = pytest.mark.skipif(
    POSTGRES_DSN is None, reason="set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL tests"
)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The connection string of a local server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # how often the accepting thread looks for the end
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, name="silent-server")
    thread.start()
    try:
        yield f"postgresql://orderflow@127.0.0.1:{listener.getsockname()[1]}/orderflow"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


@pytest.fixture
def closed_port() -> str:
    """The connection string of a local port nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"postgresql://orderflow@127.0.0.1:{port}/orderflow"


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for the store's tables, dropped afterwards."""
    import psycopg

    assert POSTGRES_DSN is not None
    name = f"orderflow_test_{uuid.uuid4().hex[:12]}"
    with PostgresStore(POSTGRES_DSN, schema=name) as store:
        store.create_schema()
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """What ``call`` raised (or returned) and how long it took."""
    started = time.monotonic()
    try:
        outcome = call()
    except Exception as error:
        outcome = error
    return outcome, time.monotonic() - started


# --- a server that never answers --------------------------------------------------------------


def test_a_postgres_store_whose_server_never_answers_fails_within_the_connect_timeout(
    silent_server: str,
) -> None:
    with PostgresStore(silent_server, connect_timeout=CONNECT_TIMEOUT) as store:
        first, elapsed = timed(lambda: store.load("co-1"))
        again, elapsed_again = timed(store.find)

    for outcome in (first, again):
        assert isinstance(outcome, StoreError), outcome
        assert "cannot connect" in str(outcome)
    assert CONNECT_TIMEOUT * 0.9 <= elapsed < 3 * CONNECT_TIMEOUT
    # A later call tries again (the server may be back), within the same bound.
    assert CONNECT_TIMEOUT * 0.9 <= elapsed_again < 3 * CONNECT_TIMEOUT


async def test_an_async_postgres_store_whose_server_never_answers_fails_in_time_and_never_blocks(
    silent_server: str,
) -> None:
    async with contextlib.aclosing(
        AsyncPostgresStore(silent_server, connect_timeout=CONNECT_TIMEOUT)
    ) as store:
        outcome, elapsed, ticks = await while_ticking(store.load("co-1"))

    assert isinstance(outcome, StoreError), outcome
    assert "cannot connect" in str(outcome)
    assert CONNECT_TIMEOUT * 0.9 <= elapsed < 3 * CONNECT_TIMEOUT
    assert_free_loop(elapsed, ticks)


def test_both_postgres_stores_say_why_they_cannot_connect_to_a_closed_port(
    closed_port: str,
) -> None:
    with PostgresStore(closed_port, connect_timeout=CONNECT_TIMEOUT) as store:
        refused, elapsed = timed(lambda: store.load("co-1"))

    async def first_call() -> BaseException | None:
        async with contextlib.aclosing(AsyncPostgresStore(closed_port)) as store:
            outcome, _, _ = await while_ticking(store.open())
        return outcome

    for outcome in (refused, asyncio.run(first_call())):
        assert isinstance(outcome, StoreError), outcome
        assert "refused" in str(outcome).lower()
    assert elapsed < CONNECT_TIMEOUT


# --- a statement that never ends ---------------------------------------------------------------


@pytest.fixture
def locked(schema: str) -> Iterator[Callable[[], None]]:
    """Lock the checkout ``co-1`` from another connection, in a transaction left open."""
    import psycopg

    assert POSTGRES_DSN is not None
    with psycopg.connect(POSTGRES_DSN, options=f"-c search_path={schema}") as holder:

        def lock() -> None:
            holder.execute("SELECT 1 FROM orderflow_checkouts WHERE id = 'co-1' FOR UPDATE")

        yield lock
        holder.rollback()


@pytest.mark.postgres
@needs_postgres
def test_a_save_of_a_row_locked_elsewhere_fails_within_the_statement_timeout(
    schema: str, locked: Callable[[], None]
) -> None:
    assert POSTGRES_DSN is not None
    with PostgresStore(POSTGRES_DSN, schema=schema, statement_timeout=STATEMENT_TIMEOUT) as store:
        saved = store.save(new_checkout(), expected_version=0)
        locked()

        outcome, elapsed = timed(lambda: store.save(attrs.evolve(saved, last_error="x"), 1))

        assert isinstance(outcome, StoreError), outcome
        assert "longer than" in str(outcome)
        assert STATEMENT_TIMEOUT * 0.9 <= elapsed < 3 * STATEMENT_TIMEOUT
        assert store.load("co-1") == saved  # the store still works, and nothing changed


@pytest.mark.postgres
@needs_postgres
async def test_an_async_save_of_a_locked_row_fails_in_time_and_never_blocks(
    schema: str, locked: Callable[[], None]
) -> None:
    assert POSTGRES_DSN is not None
    store = AsyncPostgresStore(POSTGRES_DSN, schema=schema, statement_timeout=STATEMENT_TIMEOUT)
    async with store:
        saved = await store.save(new_checkout(), expected_version=0)
        locked()

        outcome, elapsed, ticks = await while_ticking(
            store.save(attrs.evolve(saved, last_error="x"), 1)
        )

        assert isinstance(outcome, StoreError), outcome
        assert "longer than" in str(outcome)
        assert STATEMENT_TIMEOUT * 0.9 <= elapsed < 3 * STATEMENT_TIMEOUT
        assert_free_loop(elapsed, ticks)
        assert await store.load("co-1") == saved
