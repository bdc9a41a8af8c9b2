"""Fixtures of the contract suite: ``store``, one per ``Store`` implementation; ``rig``, one per
transport (``transports.TRANSPORTS``), its ``check`` run after each test that passed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from orderflow.adapters.fake.server import FakeServer
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.ports import Store
from tests.cassettes import CONTRACT_CASSETTES
from tests.contract.transports import (
    TRANSPORTS,
    Rig,
    Setup,
    Switchboard,
    TransportKind,
)

POSTGRES_DSN = os.environ.get("ORDERFLOW_TEST_POSTGRES_DSN")
_NO_POSTGRES = "set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL store tests"

STORE_KINDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(POSTGRES_DSN is None, reason=_NO_POSTGRES)],
    ),
]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each ``Store`` implementation, empty; PostgreSQL in a fresh schema dropped afterwards."""
    kind: str = request.param
    if kind == "memory":
        yield MemoryStore()
    elif kind == "sqlite":
        with SQLiteStore(tmp_path / "orderflow.db") as sqlite_store:
            yield sqlite_store
    else:
        yield from _postgres_store()


def _postgres_store() -> Iterator[Store]:
    import psycopg

    from orderflow.adapters.stores.postgres import PostgresStore

    assert POSTGRES_DSN is not None
    schema = f"orderflow_test_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresStore(POSTGRES_DSN, schema=schema) as postgres_store:
            postgres_store.create_schema()
            yield postgres_store
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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


def cassette_of(request: pytest.FixtureRequest, transport: str) -> Path:
    """The test's own cassette: ``<test>[<its parameters but the transport>].json``."""
    node = request.node
    ids = [part for part in node.callspec.id.split("-") if part != transport]
    name = node.originalname + (f"[{'-'.join(ids)}]" if ids else "")
    return CONTRACT_CASSETTES / f"{name}.json"


@pytest.fixture(params=[pytest.param(kind, id=kind.name) for kind in TRANSPORTS])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Each transport, over a fresh seeded ``FakeCentra`` and an empty memory store."""
    kind: TransportKind = request.param
    fake = kind.fake()
    with ExitStack() as stack:
        setup = Setup(fake, MemoryStore(), stack)
        if kind.over_http:
            setup.server, setup.base_url = request.getfixturevalue("shop_server")
            setup.server.serve(fake)
        if kind.replays:
            setup.cassette = cassette_of(request, kind.name)
        built = kind.build(setup)
        yield built
        if request.node.stash.get(_PASSED, False):
            built.check()
