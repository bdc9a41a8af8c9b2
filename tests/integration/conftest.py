"""Fixtures of the integration tests: ``store_spec``, a SQLite file or a PostgreSQL schema; and
the session's table of numbers (``tally``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import NO_POSTGRES, POSTGRES_DSN, StoreSpec, postgres_schema
from tests.integration.tally import TALLIES, merged, table
from tests.integration.wire import stop_serving

STORE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(POSTGRES_DSN is None, reason=NO_POSTGRES)],
    ),
]


@pytest.fixture(params=STORE_KINDS)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    """An empty store every process can open: a SQLite file, or a PostgreSQL schema that is
    dropped afterwards."""
    if request.param == "sqlite":
        yield StoreSpec("sqlite", str(tmp_path / "orderflow.db"))
    else:
        assert POSTGRES_DSN is not None
        with postgres_schema(POSTGRES_DSN) as spec:
            yield spec


@pytest.fixture(scope="session", autouse=True)
def _one_fake_server() -> Iterator[None]:
    """The session's shared ``FakeServer`` (``wire.serving``) stops with the session."""
    yield
    stop_serving()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Every scenario's numbers: runs, orders lost, orders doubled, wall time."""
    if not TALLIES:
        return
    terminalreporter.section("orderflow integration: orders lost and doubled")
    for line in table(TALLIES):
        terminalreporter.write_line(line)
    for t in merged(TALLIES):
        if t.notes:
            terminalreporter.write_line(str(t))
