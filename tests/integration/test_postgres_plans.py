"""``find`` by order number or selection on a large PostgreSQL table the planner has no
statistics for yet: a table grown since its last ANALYZE, as after a bulk import or in the
first minute of a busy day, before autovacuum gets to it.

With one-column indexes on ``order_number`` and ``selection_id``, the planner walked the whole
``updated_at`` index instead (``find`` sorts by it), filtering 100k rows: ~50 ms a lookup in
``python -m benchmarks.scaling``. The indexes now end in ``updated_at``, so each lookup is
one index range that comes out already sorted.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from benchmarks.scaling import _checkout as scaling_checkout
from orderflow.adapters.stores.postgres import PostgresStore
from tests.integration.support import NO_POSTGRES, POSTGRES_DSN, StoreSpec, postgres_schema

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_DSN is None, reason=NO_POSTGRES),
]

ROWS = 100_000


@pytest.fixture(scope="module")
def grown() -> Iterator[StoreSpec]:
    """A store's tables holding ``ROWS`` checkouts (half with an order), never analyzed."""
    import psycopg

    assert POSTGRES_DSN is not None
    with postgres_schema(POSTGRES_DSN) as spec:
        # Documents of real sizes (a paid checkout with its receipt, a cart after one item),
        # as the scaling benchmark stores them: the planner's guess, and so its mistake,
        # depends on how many pages the table has.
        with PostgresStore(spec.where, schema=spec.schema) as store:
            store.save(attrs.evolve(scaling_checkout(1), id="seed-0"), 0)
            store.save(attrs.evolve(scaling_checkout(0), id="seed-1"), 0)
        with psycopg.connect(spec.where, autocommit=True) as connection:
            connection.execute(  # copies of the two rows, each with its own ids and time
                f"""INSERT INTO "{spec.schema}".orderflow_checkouts
                SELECT id || '-' || i, version, state, updated_at + i * interval '1 second',
                    NULL, 'sel-' || id || '-' || i,
                    CASE WHEN order_number IS NULL THEN NULL ELSE 'o-' || i END, body
                FROM "{spec.schema}".orderflow_checkouts, generate_series(1, %s) AS i""",
                [ROWS // 2],
            )
            (analyzed,) = connection.execute(
                "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM"
                " pg_stat_user_tables WHERE schemaname = %s AND relname = 'orderflow_checkouts'",
                [spec.schema],
            ).fetchone() or (False,)
            if not analyzed:  # pragma: no cover - autovacuum was quicker than the insert
                pytest.skip("autovacuum analyzed the table before the plans could be read")
        yield spec


@pytest.mark.parametrize(
    ("condition", "index"),
    [
        ("order_number = 'o-777'", "orderflow_checkouts_order_updated"),
        ("selection_id = 'sel-seed-0-777'", "orderflow_checkouts_selection_updated"),
    ],
)
def test_a_lookup_uses_its_own_index_before_any_statistics(
    grown: StoreSpec, condition: str, index: str
) -> None:
    import psycopg

    query = (
        f'SELECT id FROM "{grown.schema}".orderflow_checkouts WHERE {condition}'
        " ORDER BY updated_at, id LIMIT 100"
    )
    with psycopg.connect(grown.where, autocommit=True) as connection:
        plan = " ".join(row[0] for row in connection.execute(f"EXPLAIN {query}"))

    assert index in plan, plan
    assert "orderflow_checkouts_updated " not in plan, plan


def test_find_by_order_and_by_selection_finds_the_one_row(grown: StoreSpec) -> None:
    with PostgresStore(grown.where, schema=grown.schema) as store:  # (copies share a body)
        assert [c.id for c in store.find(order="o-777")] == ["seed-1"]
        assert [c.id for c in store.find(selection="sel-seed-0-777")] == ["seed-0"]
