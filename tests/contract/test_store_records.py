"""The ``Store`` contract for idempotency records (reserve, complete, abandon, take over,
forget) and for purging what expired or finished; run over every store, sync and async."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from orderflow.errors import CheckoutNotFound
from orderflow.flow import State
from orderflow.ports import IdempotencyRecord, Store
from orderflow.receipt import Receipt
from tests.contract.conftest import (
    LEASE,
    NOW,
    RACERS,
    TTL,
    ids,
    new_checkout,
    race,
    reservation,
    stored,
)

# --- idempotency records: reserve, complete, abandon, take over -------------------------------


def test_a_free_key_is_reserved_for_its_owner(store: Store) -> None:
    assert store.reserve(reservation(), NOW) == reservation()


def test_a_second_caller_gets_the_running_reservation_unchanged(store: Store) -> None:
    store.reserve(reservation(), NOW)

    in_force = store.reserve(reservation("bob", NOW + timedelta(seconds=10)), NOW)

    assert in_force == reservation()


def test_a_completed_key_answers_every_later_caller_with_its_result(store: Store) -> None:
    store.reserve(reservation(), NOW)

    assert store.complete("key-1", "alice", '{"order": "1"}') is True

    later = NOW + timedelta(hours=1)
    in_force = store.reserve(reservation("bob", later, fingerprint="fp-2"), later)
    assert in_force == attrs.evolve(reservation(), result='{"order": "1"}')


def test_only_the_owner_completes_a_reservation_and_only_once(store: Store) -> None:
    store.reserve(reservation(), NOW)

    assert store.complete("key-1", "bob", "bob's") is False
    assert store.complete("key-1", "alice", "first") is True
    assert store.complete("key-1", "alice", "second") is False
    assert store.complete("key-2", "alice", "unknown key") is False

    assert store.reserve(reservation("bob"), NOW).result == "first"


def test_an_abandoned_reservation_frees_the_key(store: Store) -> None:
    store.reserve(reservation(), NOW)

    store.abandon("key-1", "alice")

    assert store.reserve(reservation("bob"), NOW) == reservation("bob")


def test_abandon_leaves_another_owners_reservation_and_any_result(store: Store) -> None:
    store.reserve(reservation(), NOW)

    store.abandon("key-1", "bob")
    store.abandon("key-2", "alice")
    assert store.reserve(reservation("bob"), NOW).owner == "alice"

    store.complete("key-1", "alice", "done")
    store.abandon("key-1", "alice")
    assert store.reserve(reservation("bob"), NOW).result == "done"


def test_a_reservation_whose_lease_lapsed_is_taken_over_keeping_what_was_asked(
    store: Store,
) -> None:
    store.reserve(reservation(), NOW)
    lapsed = NOW + LEASE  # the lease ends exactly now

    taken = store.reserve(reservation("bob", lapsed, checkout_id="co-2", ttl=2 * TTL), lapsed)

    assert taken == attrs.evolve(reservation(), owner="bob", lease_until=lapsed + LEASE, attempt=2)
    again = lapsed + 2 * LEASE
    assert store.reserve(reservation("carol", again), again) == attrs.evolve(
        reservation(), owner="carol", lease_until=again + LEASE, attempt=3
    )


def test_a_lapsed_reservation_is_not_taken_over_by_another_request(store: Store) -> None:
    store.reserve(reservation(), NOW)
    lapsed = NOW + LEASE

    other = store.reserve(reservation("bob", lapsed, fingerprint="fp-2"), lapsed)

    assert other == reservation()  # its caller refuses the key; the real retry still can
    assert store.reserve(reservation("carol", lapsed), lapsed).owner == "carol"


def test_a_lease_that_has_not_lapsed_is_not_taken_over(store: Store) -> None:
    store.reserve(reservation(), NOW)
    almost = NOW + LEASE - timedelta(microseconds=1)

    assert store.reserve(reservation("bob", almost), almost) == reservation()


def test_the_dead_owner_can_neither_complete_nor_abandon_after_a_takeover(store: Store) -> None:
    store.reserve(reservation(), NOW)
    lapsed = NOW + LEASE
    store.reserve(reservation("bob", lapsed), lapsed)

    assert store.complete("key-1", "alice", "late") is False
    store.abandon("key-1", "alice")

    assert store.complete("key-1", "bob", "bob's") is True
    assert store.reserve(reservation("carol"), lapsed).result == "bob's"


def test_a_completed_record_is_never_taken_over(store: Store) -> None:
    store.reserve(reservation(), NOW)
    store.complete("key-1", "alice", "done")
    later = NOW + TTL - timedelta(seconds=1)  # long after the lease, before it expires

    in_force = store.reserve(reservation("bob", later), later)

    assert (in_force.owner, in_force.result, in_force.attempt) == ("alice", "done", 1)


@pytest.mark.parametrize("completed", [False, True], ids=["running", "completed"])
def test_an_expired_record_is_replaced_by_a_new_reservation(store: Store, completed: bool) -> None:
    store.reserve(reservation(), NOW)
    if completed:
        store.complete("key-1", "alice", "done")
    expired = NOW + TTL  # expires exactly now
    newer = reservation("bob", expired, fingerprint="fp-2", checkout_id=None)

    assert store.reserve(newer, expired) == newer
    assert store.reserve(reservation("carol", expired), expired) == newer


def test_reserving_a_record_that_already_has_a_result_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.reserve(attrs.evolve(reservation(), result="done"), NOW)


def test_only_one_of_sixteen_threads_reserving_a_key_holds_it(store: Store) -> None:
    results = race(RACERS, lambda i: store.reserve(reservation(f"owner-{i}"), NOW))

    records = [r for r in results if isinstance(r, IdempotencyRecord)]
    assert len(records) == RACERS, results
    assert len({record.owner for record in records}) == 1
    holders = [i for i, record in enumerate(records) if record.owner == f"owner-{i}"]
    assert len(holders) == 1
    assert {record.attempt for record in records} == {1}


def test_only_one_of_sixteen_threads_takes_over_a_dead_reservation(store: Store) -> None:
    store.reserve(reservation("dead"), NOW)
    lapsed = NOW + LEASE

    results = race(RACERS, lambda i: store.reserve(reservation(f"owner-{i}", lapsed), lapsed))

    records = [r for r in results if isinstance(r, IdempotencyRecord)]
    assert len(records) == RACERS, results
    holders = [i for i, record in enumerate(records) if record.owner == f"owner-{i}"]
    assert len(holders) == 1
    assert {(record.owner, record.attempt) for record in records} == {(f"owner-{holders[0]}", 2)}


# --- forgetting a checkout's records ----------------------------------------------------------


def test_forget_removes_every_record_of_a_checkout_and_counts_them(store: Store) -> None:
    store.reserve(reservation(key="key-1"), NOW)
    store.reserve(reservation(key="key-2"), NOW)
    store.complete("key-2", "alice", "copy of co-1")
    store.reserve(reservation(key="key-3", checkout_id="co-2"), NOW)
    store.reserve(reservation(key="key-4", checkout_id=None), NOW)
    saved = store.save(new_checkout("co-1"), expected_version=0)
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    assert store.forget("co-1") == 2
    assert store.forget("co-1") == 0

    assert store.reserve(reservation("bob", key="key-1"), NOW).owner == "bob"
    assert store.reserve(reservation("bob", key="key-2"), NOW).owner == "bob"
    assert store.reserve(reservation("bob", key="key-3"), NOW).owner == "alice"
    assert store.reserve(reservation("bob", key="key-4"), NOW).owner == "alice"
    assert store.load("co-1") == saved
    assert store.acquire_claim("co-1", "bob", NOW, LEASE).owner == "alice"


# --- purging ----------------------------------------------------------------------------------


def expiring(key: str, expires_at: datetime) -> IdempotencyRecord:
    """A reservation of ``key``, reserved long ago, that expires at ``expires_at``."""
    at = expires_at - TTL
    return reservation(key=key, at=at)


def test_purge_removes_claims_and_records_expired_at_or_before_now_and_counts_them(
    store: Store,
) -> None:
    store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)  # expires exactly at NOW
    store.acquire_claim("co-2", "alice", NOW - 2 * LEASE, LEASE)
    store.reserve(expiring("key-1", NOW), NOW - TTL)
    store.reserve(expiring("key-2", NOW - LEASE), NOW - TTL)
    store.complete("key-2", "alice", "done")

    removed = store.purge(NOW)

    assert removed == 4
    # Gone, not just expired: asked about an earlier moment, when they were live, the store
    # no longer knows them.
    earlier = NOW - 2 * LEASE
    assert store.acquire_claim("co-1", "bob", earlier, LEASE).owner == "bob"
    assert store.acquire_claim("co-2", "bob", earlier, LEASE).owner == "bob"
    assert store.reserve(reservation("bob", earlier, key="key-1"), earlier).owner == "bob"
    assert store.reserve(reservation("bob", earlier, key="key-2"), earlier).owner == "bob"


def test_purge_keeps_a_live_claim_which_still_blocks_another_owner(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW, LEASE)
    store.acquire_claim("co-2", "alice", NOW - LEASE, LEASE)

    assert store.purge(NOW) == 1

    claim = store.acquire_claim("co-1", "bob", NOW + timedelta(seconds=10), LEASE)
    assert (claim.owner, claim.expires_at) == ("alice", NOW + LEASE)


def test_purge_keeps_a_live_record_which_is_still_in_force(store: Store) -> None:
    live = expiring("key-1", NOW + timedelta(microseconds=1))
    store.reserve(live, NOW - TTL)
    store.complete("key-1", "alice", "done")
    store.reserve(expiring("key-2", NOW), NOW - TTL)

    assert store.purge(NOW) == 1

    assert store.reserve(reservation("bob", key="key-1"), NOW) == attrs.evolve(live, result="done")


def test_purging_twice_removes_nothing_the_second_time(store: Store) -> None:
    store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)
    store.acquire_claim("co-2", "alice", NOW, LEASE)
    store.reserve(expiring("key-1", NOW), NOW - TTL)

    assert store.purge(NOW) == 2
    assert store.purge(NOW) == 0
    assert store.acquire_claim("co-2", "bob", NOW, LEASE).owner == "alice"


def test_purging_an_empty_store_removes_nothing(store: Store) -> None:
    assert store.purge(NOW) == 0
    assert store.purge(NOW, finished_before=NOW) == 0


def test_purge_without_finished_before_never_removes_checkouts(store: Store) -> None:
    saved = stored(store, "co-1", -60 * 24 * 365, State.PAID, receipt=Receipt("1001"))

    assert store.purge(NOW + timedelta(days=365)) == 0

    assert store.load("co-1") == saved


def test_purge_with_finished_before_removes_final_checkouts_saved_before_it_with_theirs(
    store: Store,
) -> None:
    cutoff = NOW - timedelta(days=1)
    old = -2 * 24 * 60  # minutes: two days before NOW
    stored(store, "paid-old", old, State.PAID, receipt=Receipt("1001"))
    stored(store, "cancelled-old", old, State.CANCELLED)
    paid_at_cutoff = stored(store, "paid-at-cutoff", -24 * 60, State.PAID)
    pending_old = stored(store, "pending-old", old, State.PAYMENT_PENDING)
    store.reserve(reservation(key="key-paid", checkout_id="paid-old"), NOW)  # live
    store.reserve(reservation(key="key-cancelled", checkout_id="cancelled-old"), NOW)
    store.complete("key-cancelled", "alice", "done")
    store.reserve(reservation(key="key-pending", checkout_id="pending-old"), NOW)
    store.reserve(reservation(key="key-at-cutoff", checkout_id="paid-at-cutoff"), NOW)
    store.acquire_claim("paid-old", "alice", NOW, LEASE)  # live
    store.acquire_claim("pending-old", "alice", NOW, LEASE)
    store.acquire_claim("paid-at-cutoff", "alice", NOW, LEASE)

    removed = store.purge(NOW, finished_before=cutoff)

    assert removed == 2 + 2 + 1  # checkouts, their records, their claim
    for gone in ("paid-old", "cancelled-old"):
        with pytest.raises(CheckoutNotFound):
            store.load(gone)
    assert ids(store.find()) == ["pending-old", "paid-at-cutoff"]
    assert store.load("paid-at-cutoff") == paid_at_cutoff
    assert store.load("pending-old") == pending_old
    assert store.reserve(reservation("bob", key="key-paid"), NOW).owner == "bob"
    assert store.reserve(reservation("bob", key="key-cancelled"), NOW).owner == "bob"
    assert store.reserve(reservation("bob", key="key-pending"), NOW).owner == "alice"
    assert store.reserve(reservation("bob", key="key-at-cutoff"), NOW).owner == "alice"
    assert store.acquire_claim("paid-old", "bob", NOW, LEASE).owner == "bob"
    assert store.acquire_claim("pending-old", "bob", NOW, LEASE).owner == "alice"
    assert store.acquire_claim("paid-at-cutoff", "bob", NOW, LEASE).owner == "alice"
