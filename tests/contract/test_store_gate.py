"""The ``GateStore`` steps, one suite over every store, sync and async (the ``store`` fixture):
``recent``, ``claim_and_save`` and ``save_and_release``; and the money gate on them, with a
service in front (the round trips they save are ``benchmarks/postgres_store.py``'s to count).
What only two store instances over one database can show (a copy another one made stale) is at
the end, over the SQL stores (``sql_home``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, run_seed_flow, seed_details
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import takes_gate_steps
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict, OutcomeUnknown
from orderflow.flow import State
from orderflow.ports import GateStore
from orderflow.service import CheckoutService
from tests.contract.conftest import LEASE, NOW, RACERS, StoreHome, new_checkout, race
from tests.support import Script


def marked(checkout: Checkout) -> Checkout:
    """``checkout`` with a payment call's marker, as the gate writes it: one version on."""
    return attrs.evolve(
        checkout, outcome_unknown=CallKind.START_PAYMENT, version=checkout.version + 1
    )


# --- recent -----------------------------------------------------------------------------------


def test_recent_is_the_checkout_the_store_last_saved_and_none_for_one_it_never_saw(
    store: GateStore,
) -> None:
    saved = store.save(new_checkout(), 0)

    assert store.recent(saved.id) == saved
    assert store.recent("co-unknown") is None


# --- claim_and_save ---------------------------------------------------------------------------


def test_claim_and_save_takes_a_free_claim_and_saves_the_checkout(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)

    taken = store.claim_and_save(marked(stored), stored.version, "alice", NOW, LEASE)

    assert (taken.claim.owner, taken.claim.expires_at) == ("alice", NOW + LEASE)
    assert taken.saved == marked(stored) and taken.saved.version == 2
    assert store.load(stored.id) == marked(stored)
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "alice"


def test_claim_and_save_saves_nothing_while_another_owner_holds_the_claim(
    store: GateStore,
) -> None:
    stored = store.save(new_checkout(), 0)
    store.acquire_claim(stored.id, "alice", NOW, LEASE)

    taken = store.claim_and_save(marked(stored), stored.version, "bob", NOW, LEASE)

    assert (taken.claim.owner, taken.saved) == ("alice", None)
    assert store.load(stored.id) == stored


def test_claim_and_save_on_a_changed_checkout_saves_nothing_and_keeps_the_claim(
    store: GateStore,
) -> None:
    base = store.save(new_checkout(), 0)
    moved = store.save(attrs.evolve(base, state=State.CONFIRMED, version=2), base.version)

    taken = store.claim_and_save(marked(base), base.version, "alice", NOW, LEASE)

    assert (taken.claim.owner, taken.saved) == ("alice", None)
    assert store.load(base.id) == moved
    assert store.acquire_claim(base.id, "bob", NOW, LEASE).owner == "alice"


def test_claim_and_save_takes_an_expired_claim(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)
    store.acquire_claim(stored.id, "alice", NOW - LEASE, LEASE)

    taken = store.claim_and_save(marked(stored), stored.version, "bob", NOW, LEASE)

    assert taken.claim.owner == "bob" and taken.saved == marked(stored)


def test_only_one_of_sixteen_threads_claims_and_saves_the_same_checkout(
    store: GateStore,
) -> None:
    stored = store.save(new_checkout(), 0)

    def attempt(i: int) -> Any:
        base = attrs.evolve(marked(stored), last_error=f"racer {i}")
        return store.claim_and_save(base, stored.version, f"owner-{i}", NOW, LEASE)

    results = race(RACERS, attempt)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.claim.owner for r in results}) == 1
    (winner,) = [r for r in results if r.saved is not None]
    assert winner.claim.owner == f"owner-{winner.saved.last_error.split()[-1]}"
    assert store.load(stored.id) == winner.saved


def test_claim_and_save_refuses_a_naive_time_and_stores_nothing(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)

    with pytest.raises(ValueError):
        store.claim_and_save(marked(stored), 1, "alice", NOW.replace(tzinfo=None), LEASE)

    assert store.load(stored.id) == stored
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "bob"


# --- save_and_release -------------------------------------------------------------------------


def test_save_and_release_saves_and_gives_up_the_owners_claim(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)
    store.acquire_claim(stored.id, "alice", NOW, LEASE)

    saved = store.save_and_release(marked(stored), stored.version, "alice")

    assert saved == marked(stored) and store.load(stored.id) == saved
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "bob"


def test_a_stale_save_and_release_is_a_conflict_and_keeps_the_claim(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)
    current = store.save(marked(stored), stored.version)
    store.acquire_claim(stored.id, "alice", NOW, LEASE)

    with pytest.raises(ConcurrencyConflict) as conflict:
        store.save_and_release(marked(stored), stored.version, "alice")

    assert conflict.value.actual_version == current.version
    assert store.load(stored.id) == current
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "alice"


def test_save_and_release_at_version_zero_creates_the_checkout_as_save_does(
    store: GateStore,
) -> None:
    # ``save_and_release`` is ``save`` and a release: ``save``'s version 0 creates.
    store.acquire_claim("co-1", "alice", NOW, LEASE)

    saved = store.save_and_release(new_checkout(), 0, "alice")

    assert saved.version == 1 and store.load("co-1") == saved
    assert store.acquire_claim("co-1", "bob", NOW, LEASE).owner == "bob"


def test_claim_and_save_never_creates_a_checkout(store: GateStore) -> None:
    # A claim guards a stored checkout: at version 0 nothing is saved, and the claim is taken.
    claimed = store.claim_and_save(new_checkout(), 0, "alice", NOW, LEASE)

    assert claimed.saved is None and claimed.claim.owner == "alice"
    with pytest.raises(CheckoutNotFound):
        store.load("co-1")


def test_save_and_release_at_version_zero_of_an_existing_id_conflicts_and_keeps_the_claim(
    store: GateStore,
) -> None:
    stored = store.save(new_checkout(), 0)
    store.acquire_claim(stored.id, "alice", NOW, LEASE)

    with pytest.raises(ConcurrencyConflict) as conflict:
        store.save_and_release(attrs.evolve(new_checkout(), last_error="again"), 0, "alice")

    assert (conflict.value.expected_version, conflict.value.actual_version) == (0, 1)
    assert store.load(stored.id) == stored
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "alice"


def test_save_and_release_of_an_unknown_id_at_a_later_version_conflicts_with_no_version(
    store: GateStore,
) -> None:
    with pytest.raises(ConcurrencyConflict) as conflict:
        store.save_and_release(attrs.evolve(new_checkout(), version=3), 2, "alice")

    assert conflict.value.actual_version is None
    with pytest.raises(CheckoutNotFound):
        store.load("co-1")


def test_save_and_release_leaves_another_owners_claim(store: GateStore) -> None:
    stored = store.save(new_checkout(), 0)
    store.acquire_claim(stored.id, "alice", NOW, LEASE)

    store.save_and_release(marked(stored), stored.version, "bob")

    assert store.load(stored.id) == marked(stored)
    assert store.acquire_claim(stored.id, "bob", NOW, LEASE).owner == "alice"


# --- the money gate on these steps ------------------------------------------------------------


class Recording:
    """Forwards to a store and lists the name of each call (a forwarder: the gate steps pass)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return recorded


class CountsClaims(Recording):
    """A wrapper that overrides ``acquire_claim``: it must see every claim."""

    def acquire_claim(self, *args: Any) -> Any:
        self.calls.append("acquire_claim")
        return self.inner.acquire_claim(*args)


def test_each_payment_step_is_two_store_calls_on_every_store(store: GateStore) -> None:
    recording = Recording(store)
    assert takes_gate_steps(recording)
    service = CheckoutService(transport=FakeCentra.seeded(), store=recording)
    steps: dict[str, list[str]] = {}

    def on_step(name: str, checkout: Checkout) -> None:
        steps[name] = list(recording.calls)
        recording.calls.clear()

    paid = run_seed_flow(service, on_step)

    assert paid.state is State.PAID and store.load(paid.id) == paid
    for step in ("start_payment", "complete_payment"):
        assert steps[step] == ["recent", "claim_and_save", "save_and_release"], steps
    assert store.acquire_claim(paid.id, "anyone", NOW, LEASE).owner == "anyone"  # released


def test_a_wrapper_that_overrides_acquire_claim_gets_the_separate_calls(
    store: GateStore,
) -> None:
    counting = CountsClaims(store)
    assert not takes_gate_steps(counting)
    service = CheckoutService(transport=FakeCentra.seeded(), store=counting)
    steps: dict[str, list[str]] = {}

    def on_step(name: str, checkout: Checkout) -> None:
        steps[name] = list(counting.calls)
        counting.calls.clear()

    paid = run_seed_flow(service, on_step)

    assert paid.state is State.PAID
    assert steps["start_payment"] == [
        "load",
        "acquire_claim",
        "load",
        "save",
        "save",
        "release_claim",
    ]


def test_a_copy_made_stale_by_another_store_is_refused_and_centra_is_asked_first(
    sql_home: StoreHome,
) -> None:
    """Two services on two store instances over one database (two processes): one's copy of a
    confirmed checkout goes stale when the other's start_payment loses its answer after Centra
    acted. The first one's start_payment must look the order up, never start a second one."""
    fake, clock = FakeCentra.seeded(), ManualClock()
    first = CheckoutService(transport=fake, store=sql_home.open(), clock=clock)
    checkout = first.open()
    first.add_item(checkout.id, SEED_ITEM, 1)
    details = attrs.evolve(seed_details(), payment_method="instant-success")
    confirmed = first.confirm(checkout.id, details)
    assert first.store.recent(checkout.id) == confirmed  # type: ignore[attr-defined]

    def acted_then_lost(call: Call[Any]) -> Any:
        fake.send(call)
        raise OutcomeUnknown("start_payment", "read timed out")

    lossy = Script(fake, {CallKind.START_PAYMENT: [acted_then_lost]})
    second = CheckoutService(transport=lossy, store=sql_home.open(), clock=clock)
    with pytest.raises(OutcomeUnknown):
        second.start_payment(checkout.id)

    paid = first.start_payment(checkout.id)

    assert paid.state is State.PAID and paid.outcome_unknown is None
    assert fake.calls[CallKind.START_PAYMENT] == 1 and len(fake.orders) == 1
    assert fake.calls[CallKind.READ_SELECTION] == 1


def test_a_recent_copy_of_a_row_replaced_at_the_same_version_saves_nothing(
    sql_home: StoreHome,
) -> None:
    """A finished checkout purged and made again under its id reaches the version a stale copy
    has: the version alone would take the copy for the stored checkout; the stamp does not."""
    first, second = sql_home.open(), sql_home.open()
    old = first.save(attrs.evolve(new_checkout(), state=State.CANCELLED), 0)
    assert second.purge(NOW, finished_before=NOW + timedelta(minutes=1)) == 1
    again = second.save(attrs.evolve(new_checkout(), last_error="made again"), 0)
    assert again.version == old.version
    assert first.recent(old.id) == old  # type: ignore[attr-defined]

    taken = first.claim_and_save(marked(old), old.version, "alice", NOW, LEASE)  # type: ignore[attr-defined]

    assert (taken.claim.owner, taken.saved) == ("alice", None)
    assert first.load(old.id) == again


def test_a_store_that_never_saw_the_checkout_saves_on_its_version_alone(
    sql_home: StoreHome,
) -> None:
    first, second = sql_home.open(), sql_home.open()
    stored = first.save(new_checkout(), 0)

    taken = second.claim_and_save(marked(stored), stored.version, "alice", NOW, LEASE)  # type: ignore[attr-defined]

    assert taken.saved == marked(stored) and first.load(stored.id) == marked(stored)
