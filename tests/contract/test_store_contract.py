"""The ``Store`` contract: one suite, run over every store (see the ``store`` fixture)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import attrs
import pytest

from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.address import Address
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict, StoreError
from orderflow.flow import Event, State, TransitionRecord
from orderflow.money import Money
from orderflow.payment import PaymentRequest
from orderflow.ports import IdempotencyRecord, Store
from orderflow.receipt import Item, Totals
from orderflow.selection import PaymentMethod, Selection, SelectionResponse

T = TypeVar("T")

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
RACERS = 16


def sek(amount: int) -> Money:
    return Money(Decimal(amount), "SEK", f"{amount}.00\u00a0SEK")


def new_checkout(checkout_id: str = "co-1") -> Checkout:
    return Checkout(id=checkout_id, state=State.SELECTION, created_at=NOW, updated_at=NOW)


def full_checkout(checkout_id: str = "co-full") -> Checkout:
    """A confirmed checkout with a cart, the shopper's details and a history."""
    item = Item(
        item="23-281",
        quantity=1,
        line="0f1e2d",
        price_each=sek(3600),
        total_price=sek(3600),
        product_name="CQP Chocolate",
        size="40",
        tax_percent=Decimal("25"),
    )
    cart = SelectionResponse(
        selection=Selection(
            selection="sel-abc",
            currency="SEK",
            items=(item,),
            totals=Totals(
                items_total_price=sek(3600), grand_total_price=sek(3600), total_quantity=1
            ),
            country="SE",
        ),
        payment_methods=(PaymentMethod("klarna", name="Klarna"),),
    )
    details = PaymentRequest(
        payment_method="klarna",
        address=Address(
            email="shopper@example.com",
            first_name="Åsa",
            last_name="Lind",
            address1="Storgatan 1",
            zip_code="11122",
            city="Stockholm",
            country="SE",
        ),
        payment_return_page="https://shop.example/return",
        payment_failed_page="https://shop.example/failed",
        terms_and_conditions=True,
    )
    later = NOW + timedelta(minutes=3)
    return Checkout(
        id=checkout_id,
        state=State.CONFIRMED,
        created_at=NOW,
        updated_at=later,
        selection_id="sel-abc",
        cart=cart,
        details=details,
        history=(
            TransitionRecord(Event.OPEN, None, State.SELECTION, NOW),
            TransitionRecord(Event.ADD_ITEM, State.SELECTION, State.SELECTION, NOW),
            TransitionRecord(Event.CONFIRM, State.SELECTION, State.CONFIRMED, later, "ok"),
        ),
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


# --- checkouts --------------------------------------------------------------------------------


def test_a_saved_checkout_loads_back_equal_with_its_cart_details_and_history(store: Store) -> None:
    saved = store.save(full_checkout(), expected_version=0)

    loaded = store.load("co-full")

    assert loaded == saved
    assert loaded.version == 1
    assert loaded.cart is not None
    assert loaded.cart.selection.items[0].price_each.display == "3600.00\u00a0SEK"
    assert loaded.details is not None
    assert loaded.details.address.first_name == "Åsa"
    assert [record.event for record in loaded.history] == [
        Event.OPEN,
        Event.ADD_ITEM,
        Event.CONFIRM,
    ]


def test_save_returns_the_checkout_with_the_next_version(store: Store) -> None:
    first = store.save(new_checkout(), expected_version=0)
    second = store.save(attrs.evolve(first, state=State.CANCELLED), expected_version=1)

    assert (first.version, second.version) == (1, 2)
    assert store.load("co-1") == second


def test_creating_an_existing_checkout_is_a_concurrency_conflict(store: Store) -> None:
    store.save(new_checkout(), expected_version=0)

    with pytest.raises(ConcurrencyConflict) as raised:
        store.save(attrs.evolve(new_checkout(), state=State.CANCELLED), expected_version=0)

    assert raised.value.actual_version == 1
    assert store.load("co-1").state is State.SELECTION


def test_a_stale_save_is_a_concurrency_conflict_and_changes_nothing(store: Store) -> None:
    first = store.save(new_checkout(), expected_version=0)
    current = store.save(attrs.evolve(first, state=State.CONFIRMED), expected_version=1)

    with pytest.raises(ConcurrencyConflict) as raised:
        store.save(attrs.evolve(first, state=State.CANCELLED), expected_version=1)

    assert (raised.value.expected_version, raised.value.actual_version) == (1, 2)
    assert store.load("co-1") == current


def test_saving_a_version_of_a_checkout_that_was_never_created_is_a_conflict(
    store: Store,
) -> None:
    with pytest.raises(ConcurrencyConflict) as raised:
        store.save(new_checkout("ghost"), expected_version=3)

    assert raised.value.actual_version is None
    with pytest.raises(CheckoutNotFound):
        store.load("ghost")


def test_loading_an_unknown_checkout_raises_checkout_not_found(store: Store) -> None:
    with pytest.raises(CheckoutNotFound) as raised:
        store.load("nope")

    assert raised.value.checkout_id == "nope"


def test_only_one_of_sixteen_threads_saving_the_same_version_wins(store: Store) -> None:
    first = store.save(new_checkout(), expected_version=0)

    def save(i: int) -> Checkout:
        return store.save(attrs.evolve(first, last_error=f"thread {i}"), expected_version=1)

    results = race(RACERS, save)

    winners = [r for r in results if isinstance(r, Checkout)]
    losers = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(winners) == 1
    assert len(losers) == RACERS - 1
    assert store.load("co-1") == winners[0]
    assert winners[0].version == 2


# --- claims -----------------------------------------------------------------------------------


def test_the_first_owner_gets_a_free_claim(store: Store) -> None:
    claim = store.acquire_claim("co-1", "alice", NOW, LEASE)

    assert (claim.checkout_id, claim.owner, claim.expires_at) == ("co-1", "alice", NOW + LEASE)


def test_a_second_owner_sees_the_first_owners_claim(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    claim = store.acquire_claim("co-1", "bob", NOW + timedelta(seconds=10), LEASE)

    assert (claim.owner, claim.expires_at) == ("alice", NOW + LEASE)


def test_an_expired_claim_can_be_taken_by_another_owner(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    claim = store.acquire_claim("co-1", "bob", NOW + LEASE, LEASE)

    assert (claim.owner, claim.expires_at) == ("bob", NOW + 2 * LEASE)


def test_the_owner_renews_its_claim(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    claim = store.acquire_claim("co-1", "alice", NOW + timedelta(seconds=20), LEASE)

    assert (claim.owner, claim.expires_at) == ("alice", NOW + timedelta(seconds=50))


def test_a_released_claim_is_free_for_another_owner(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    store.release_claim("co-1", "alice")

    assert store.acquire_claim("co-1", "bob", NOW, LEASE).owner == "bob"


def test_releasing_someone_elses_claim_does_nothing(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    store.release_claim("co-1", "bob")
    store.release_claim("co-2", "alice")

    assert store.acquire_claim("co-1", "bob", NOW, LEASE).owner == "alice"


def test_claims_on_different_checkouts_are_independent(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    assert store.acquire_claim("co-2", "bob", NOW, LEASE).owner == "bob"


def test_only_one_of_sixteen_threads_gets_a_free_claim(store: Store) -> None:
    results = race(RACERS, lambda i: store.acquire_claim("co-1", f"owner-{i}", NOW, LEASE))

    claims = [r for r in results if not isinstance(r, Exception)]
    assert len(claims) == RACERS, results
    holders = {claim.owner for claim in claims}
    assert len(holders) == 1
    winners = [i for i, claim in enumerate(claims) if claim.owner == f"owner-{i}"]
    assert len(winners) == 1


# --- idempotency records ----------------------------------------------------------------------


def record(fingerprint: str = "fp-1", result: str = '{"order": "1"}') -> IdempotencyRecord:
    return IdempotencyRecord("key-1", fingerprint, result, NOW + timedelta(hours=24))


def test_a_remembered_record_is_recalled(store: Store) -> None:
    remembered = store.remember(record(), NOW)

    assert remembered == record()
    assert store.recall("key-1", NOW + timedelta(hours=1)) == record()


def test_recalling_an_unknown_key_gives_none(store: Store) -> None:
    assert store.recall("missing", NOW) is None


def test_the_first_record_under_a_key_stays_in_force(store: Store) -> None:
    store.remember(record(), NOW)

    in_force = store.remember(record("fp-2", '{"order": "2"}'), NOW + timedelta(minutes=1))

    assert in_force == record()
    assert store.recall("key-1", NOW) == record()


def test_an_expired_record_is_not_recalled_and_is_replaced(store: Store) -> None:
    store.remember(record(), NOW)
    later = NOW + timedelta(hours=24)
    newer = IdempotencyRecord("key-1", "fp-2", '{"order": "2"}', later + timedelta(hours=24))

    assert store.recall("key-1", later) is None
    assert store.remember(newer, later) == newer
    assert store.recall("key-1", later) == newer


# --- purging expired claims and records -------------------------------------------------------


def expiring(key: str, expires_at: datetime) -> IdempotencyRecord:
    return IdempotencyRecord(key, f"fp-{key}", f'{{"key": "{key}"}}', expires_at)


def test_purge_removes_claims_and_records_expired_at_or_before_now_and_counts_them(
    store: Store,
) -> None:
    store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)  # expires exactly at NOW
    store.acquire_claim("co-2", "alice", NOW - 2 * LEASE, LEASE)
    store.remember(expiring("key-1", NOW), NOW - LEASE)
    store.remember(expiring("key-2", NOW - LEASE), NOW - LEASE)

    removed = store.purge(NOW)

    assert removed == 4
    # Gone, not just expired: asked about an earlier moment, when they were live, the store
    # no longer knows them.
    earlier = NOW - 2 * LEASE
    assert store.acquire_claim("co-1", "bob", earlier, LEASE).owner == "bob"
    assert store.acquire_claim("co-2", "bob", earlier, LEASE).owner == "bob"
    assert store.recall("key-1", earlier) is None
    assert store.recall("key-2", earlier) is None


def test_purge_keeps_a_live_claim_which_still_blocks_another_owner(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)
    store.acquire_claim("co-2", "alice", NOW - LEASE, LEASE)

    assert store.purge(NOW) == 1

    claim = store.acquire_claim("co-1", "bob", NOW + timedelta(seconds=10), LEASE)
    assert (claim.owner, claim.expires_at) == ("alice", NOW + LEASE)


def test_purge_keeps_a_live_record_which_is_still_recalled(store: Store) -> None:
    live = expiring("key-1", NOW + timedelta(microseconds=1))
    store.remember(live, NOW - LEASE)
    store.remember(expiring("key-2", NOW), NOW - LEASE)

    assert store.purge(NOW) == 1

    assert store.recall("key-1", NOW) == live
    assert store.remember(expiring("key-1", NOW + LEASE), NOW) == live


def test_purging_twice_removes_nothing_the_second_time(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)
    store.acquire_claim("co-2", "alice", NOW, LEASE)
    store.remember(expiring("key-1", NOW), NOW - LEASE)

    assert store.purge(NOW) == 2
    assert store.purge(NOW) == 0
    assert store.acquire_claim("co-2", "bob", NOW, LEASE).owner == "alice"


def test_purging_an_empty_store_removes_nothing(store: Store) -> None:
    assert store.purge(NOW) == 0


def test_purge_never_removes_checkouts(store: Store) -> None:
    saved = store.save(new_checkout(), expected_version=0)

    assert store.purge(NOW + timedelta(days=365)) == 0

    assert store.load("co-1") == saved


def test_a_failed_sqlite_purge_raises_store_error_and_removes_nothing(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "orderflow.db") as sqlite_store:
        sqlite_store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)
        with contextlib.closing(sqlite3.connect(sqlite_store.path)) as connection:
            connection.execute("DROP TABLE idempotency")

        with pytest.raises(StoreError):
            sqlite_store.purge(NOW)

        # The claims delete was rolled back with the failed one: the claim is still there.
        assert sqlite_store.acquire_claim("co-1", "bob", NOW - LEASE, LEASE).owner == "alice"
