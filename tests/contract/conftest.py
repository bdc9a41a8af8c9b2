"""Fixtures of the contract suite: ``store``, one per ``Store`` implementation (each async one
driven through ``Awaited``); ``sql_home``, one per SQL store, for tests that reach under the
port; ``rig``, one per transport (``transports.TRANSPORTS``), its ``check`` run after each test
that passed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

from orderflow.adapters.fake.server import FakeServer
from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.adapters.stores.sqlite import AsyncSQLiteStore, SQLiteStore
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.ports import AsyncStore, IdempotencyRecord, Store
from tests.contract.transports import (
    SHOP,
    TRANSPORTS,
    Rig,
    Setup,
    Switchboard,
    TransportKind,
)

T = TypeVar("T")

POSTGRES_DSN = os.environ.get("ORDERFLOW_TEST_POSTGRES_DSN")
_NO_POSTGRES = "set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL store tests"
NEEDS_POSTGRES = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_DSN is None, reason=_NO_POSTGRES),
]


@attrs.frozen
class StoreKind:
    """A store implementation: its database (memory, sqlite, postgres), sync or async."""

    database: str
    awaited: bool = False

    @property
    def name(self) -> str:
        return f"async-{self.database}" if self.awaited else self.database


def _kinds(*databases: str) -> list[Any]:
    return [
        pytest.param(
            StoreKind(database, awaited),
            id=StoreKind(database, awaited).name,
            marks=NEEDS_POSTGRES if database == "postgres" else [],
        )
        for awaited in (False, True)
        for database in databases
    ]


STORE_KINDS = _kinds("memory", "sqlite", "postgres")
SQL_STORE_KINDS = _kinds("sqlite", "postgres")


class Awaited:
    """An ``AsyncStore`` driven from sync test code: each call runs on one event loop in a
    thread of its own, so every test body (thread races too) runs unchanged over it."""

    def __init__(self, store: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if asyncio.iscoroutine(result):
                return asyncio.run_coroutine_threadsafe(result, self._loop).result()
            return result

        return call


class StoreHome:
    """Where a test's stores keep their data (memory, a SQLite file, a PostgreSQL schema
    dropped afterwards), and how to open one of ``kind`` there or reach the database under it.
    """

    def __init__(self, kind: StoreKind, tmp_path: Path, stack: ExitStack) -> None:
        self.kind = kind
        self.path = tmp_path / "orderflow.db"
        self.schema = f"orderflow_test_{uuid.uuid4().hex[:12]}"
        self._stack = stack
        self._loop: asyncio.AbstractEventLoop | None = None
        if kind.database == "postgres":
            stack.callback(self._drop_schema)
            self.sql(f'CREATE SCHEMA "{self.schema}"')

    def open(self, **options: Any) -> Store:
        """A store of this kind here (PostgreSQL's tables created or upgraded), closed after
        the test; ``options`` go to its constructor."""
        database, stack = self.kind.database, self._stack
        if not self.kind.awaited:
            sync: Store
            if database == "memory":
                sync = MemoryStore()
            elif database == "sqlite":
                sync = stack.enter_context(SQLiteStore(self.path, **options))
            else:
                from orderflow.adapters.stores.postgres import PostgresStore

                assert POSTGRES_DSN is not None
                postgres = stack.enter_context(
                    PostgresStore(POSTGRES_DSN, schema=self.schema, **options)
                )
                postgres.create_schema()
                sync = postgres
            return sync
        awaited: AsyncStore
        if database == "memory":
            awaited = AsyncMemoryStore()
        elif database == "sqlite":
            awaited = AsyncSQLiteStore(self.path, **options)
        else:
            from orderflow.adapters.stores.async_postgres import AsyncPostgresStore

            assert POSTGRES_DSN is not None
            awaited = AsyncPostgresStore(POSTGRES_DSN, schema=self.schema, **options)
        store = Awaited(awaited, self.loop())
        stack.callback(store.aclose)
        if database == "postgres":
            store.create_schema()
        elif database == "sqlite":
            store.open()
        return store  # type: ignore[return-value]

    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the test's async stores run on, in a thread; closed after the test."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="store-loop", daemon=True)
            thread.start()

            def close() -> None:
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

            self._stack.callback(close)
            self._loop = loop
        return self._loop

    def table(self, name: str) -> str:
        """How the database names one of the store's tables (``checkouts``, ``claims``, ...)."""
        return f"orderflow_{name}" if self.kind.database == "postgres" else name

    def sql(self, statement: str, params: Sequence[Any] = (), **settings: str) -> list[Any]:
        """Run one statement directly on the database (``?`` placeholders); its rows.
        ``settings`` are PostgreSQL's, for the connection that runs it."""
        if self.kind.database == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path)) as connection, connection:
                return connection.execute(statement, params).fetchall()
        import psycopg

        assert POSTGRES_DSN is not None
        settings = {"search_path": self.schema, **settings}
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        with psycopg.connect(POSTGRES_DSN, autocommit=True, options=options) as connection:
            cursor = connection.execute(statement.replace("?", "%s"), params or None)
            return cursor.fetchall() if cursor.description is not None else []

    def _drop_schema(self) -> None:
        self.sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def _home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreHome]:
    with ExitStack() as stack:
        yield StoreHome(request.param, tmp_path, stack)


@pytest.fixture(params=STORE_KINDS)
def store_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreHome]:
    """Where each store implementation keeps its data in a test."""
    yield from _home(request, tmp_path)


@pytest.fixture(params=SQL_STORE_KINDS)
def sql_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreHome]:
    """Where each SQL store implementation keeps its data in a test."""
    yield from _home(request, tmp_path)


@pytest.fixture
def store(store_home: StoreHome) -> Store:
    """Each ``Store`` implementation, empty; the async ones driven through ``Awaited``."""
    return store_home.open()


# --- what the store tests build ---------------------------------------------------------------

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
TTL = timedelta(hours=24)
RACERS = 16


def new_checkout(checkout_id: str = "co-1") -> Checkout:
    return Checkout(id=checkout_id, state=State.SELECTION, created_at=NOW, updated_at=NOW)


def stored(
    store: Store,
    checkout_id: str,
    minutes: int,
    state: State = State.SELECTION,
    **fields: Any,
) -> Checkout:
    """A checkout saved as last updated ``minutes`` after ``NOW``."""
    checkout = Checkout(
        id=checkout_id,
        state=state,
        created_at=NOW,
        updated_at=NOW + timedelta(minutes=minutes),
        **fields,
    )
    return store.save(checkout, expected_version=0)


def ids(checkouts: list[Checkout]) -> list[str]:
    return [checkout.id for checkout in checkouts]


def reservation(
    owner: str = "alice",
    at: datetime = NOW,
    *,
    key: str = "key-1",
    fingerprint: str = "fp-1",
    checkout_id: str | None = "co-1",
    ttl: timedelta = TTL,
) -> IdempotencyRecord:
    """What ``owner`` asks to reserve at ``at``: the key for a lease, kept for ``ttl``."""
    return IdempotencyRecord(
        key,
        fingerprint,
        owner,
        lease_until=at + LEASE,
        expires_at=at + ttl,
        checkout_id=checkout_id,
    )


def race(count: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    """Run ``attempt(i)`` in ``count`` threads released together; each result or error."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T | Exception:
        barrier.wait()
        try:
            return attempt(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


TICK = 0.01
"""How often ``while_ticking``'s heartbeat ticks, in seconds."""


async def while_ticking(work: Awaitable[T]) -> tuple[T | BaseException, float, int]:
    """Await ``work`` beside a task ticking every 10 ms: its outcome, seconds and ticks."""
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(TICK)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    started = time.monotonic()
    outcome: T | BaseException
    try:
        outcome = await work
    except Exception as error:
        outcome = error
    elapsed = time.monotonic() - started
    beating.cancel()
    return outcome, elapsed, ticks


def assert_free_loop(elapsed: float, ticks: int) -> None:
    """The loop ticked for most of ``elapsed``: nothing blocked it."""
    assert ticks >= elapsed / TICK / 4, (ticks, elapsed)


# --- transports: ``rig``, one per entry of ``transports.TRANSPORTS`` ---------------------------


@pytest.fixture(scope="session")
def shop_server() -> Iterator[tuple[Switchboard, str]]:
    """One uvicorn server on a free loopback port for the session; each test swaps its fake in."""
    switchboard = Switchboard()
    with FakeServer(switchboard) as server:  # start() waits at most 10 s, then raises
        yield switchboard, server.base_url


_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether the test itself passed, for the rig's ``check`` after it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_PASSED] = report.passed


def cassette_of(request: pytest.FixtureRequest, kind: TransportKind) -> Path:
    """The test's own cassette: ``[<dialect>/]<test>[<its parameters but the transport>].json``."""
    node = request.node
    ids = [part for part in node.callspec.id.split("-") if part != kind.name]
    name = node.originalname + (f"[{'-'.join(ids)}]" if ids else "")
    return kind.dialect.cassettes / f"{name}.json"


@pytest.fixture(params=[pytest.param(kind, id=kind.name) for kind in TRANSPORTS])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Each transport, over a fresh seeded ``FakeCentra`` and an empty memory store.

    ``@pytest.mark.fake(**options)`` gives the fake options (``stock_mode``, ``vouchers_as``,
    ``autoconfirm``, ...), the same for every transport.
    """
    kind: TransportKind = request.param
    marker = request.node.get_closest_marker("fake")
    fake = kind.fake(**(marker.kwargs if marker else {}))
    with ExitStack() as stack:
        setup = Setup(fake, MemoryStore(), stack, kind.dialect)
        if kind.over_http:
            setup.server, url = request.getfixturevalue("shop_server")
            setup.host = url.removesuffix(SHOP.base_path)
            setup.server.serve(fake)
        if kind.replays:
            setup.cassette = cassette_of(request, kind)
        built = kind.build(setup)
        yield built
        if request.node.stash.get(_PASSED, False):
            built.check()
