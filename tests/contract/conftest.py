"""Fixtures of the contract suite. Stores: ``store``, one per ``Store`` implementation."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.memory import MemoryStore
from adapters.sqlite import SQLiteStore
from orderflow.ports import Store

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

    from adapters.postgres import PostgresStore

    assert POSTGRES_DSN is not None
    schema = f"orderflow_test_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresStore(POSTGRES_DSN, schema=schema) as postgres_store:
            postgres_store.create_schema()
            yield postgres_store
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
