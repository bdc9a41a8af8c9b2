"""What the async stores add to the contract: a call never blocks the event loop, even while
the database makes it wait; the memory one can share a sync store's checkouts."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.adapters.stores.sqlite import AsyncSQLiteStore
from orderflow.errors import StoreError
from tests.contract.conftest import (
    NOW,
    assert_free_loop,
    new_checkout,
    reservation,
    while_ticking,
)

LOCK_TIMEOUT = 0.5


async def test_an_async_sqlite_store_waiting_for_the_write_lock_never_blocks_the_loop(
    tmp_path: Path,
) -> None:
    async with AsyncSQLiteStore(tmp_path / "orderflow.db", timeout=LOCK_TIMEOUT) as store:
        with contextlib.closing(sqlite3.connect(store.path, isolation_level=None)) as holder:
            holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than we wait
            outcome, elapsed, ticks = await while_ticking(store.reserve(reservation(), NOW))
            holder.execute("ROLLBACK")

        assert isinstance(outcome, StoreError), outcome
        assert "locked" in str(outcome)
        assert LOCK_TIMEOUT * 0.9 <= elapsed < 3 * LOCK_TIMEOUT
        assert_free_loop(elapsed, ticks)
        assert await store.reserve(reservation(), NOW) == reservation()


async def test_an_async_sqlite_store_opens_on_first_use_and_refuses_calls_once_closed(
    tmp_path: Path,
) -> None:
    store = AsyncSQLiteStore(tmp_path / "orderflow.db")
    assert not Path(store.path).exists()  # nothing done on the loop's thread yet

    saved = await store.save(new_checkout(), expected_version=0)
    assert await store.load("co-1") == saved
    await store.aclose()

    with pytest.raises(StoreError, match="closed"):
        await store.load("co-1")


async def test_an_async_memory_store_can_share_a_sync_ones_checkouts() -> None:
    shared = MemoryStore()
    saved = shared.save(new_checkout(), expected_version=0)

    async with AsyncMemoryStore(shared) as store:
        assert await store.load("co-1") == saved
        assert await store.find() == [saved]
