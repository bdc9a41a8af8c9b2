"""Fixtures of the integration tests: ``store_spec``, a SQLite file or a PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import NO_POSTGRES, POSTGRES_DSN, StoreSpec, postgres_schema

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
