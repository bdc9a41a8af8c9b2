"""The ``Store`` contract, one suite run over every store, sync and async (the ``store``
fixture): checkouts, ``find``, claims and the arguments a store refuses. Idempotency records and
purging are in ``test_store_records``; what the SQL stores do under the port in
``test_store_sql``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from orderflow.address import Address
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict, OrderflowError
from orderflow.flow import Event, State, TransitionRecord
from orderflow.money import Money
from orderflow.payment import PaymentRequest
from orderflow.ports import Store
from orderflow.receipt import Item, Receipt, Totals
from orderflow.selection import PaymentMethod, Selection, SelectionResponse
from tests.contract.conftest import (
    LEASE,
    NOW,
    RACERS,
    ids,
    new_checkout,
    race,
    reservation,
    stored,
)


def sek(amount: int) -> Money:
    return Money(Decimal(amount), "SEK", f"{amount}.00\u00a0SEK")


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


def test_an_unsettled_payment_call_loads_back_as_its_call_kind(store: Store) -> None:
    store.save(attrs.evolve(new_checkout(), outcome_unknown=CallKind.PAYMENT_RESULT), 0)

    assert store.load("co-1").outcome_unknown is CallKind.PAYMENT_RESULT


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


# --- finding checkouts ------------------------------------------------------------------------


def a_shop(store: Store) -> None:
    """Six checkouts, saved out of order, each told apart by some filter."""
    unknown = {"outcome_unknown": CallKind.PAYMENT_RESULT}
    stored(store, "pending-unknown", 4, State.PAYMENT_PENDING, selection_id="sel-4", **unknown)
    stored(store, "open", 1, selection_id="sel-1")
    stored(store, "paid", 5, State.PAID, selection_id="sel-5", receipt=Receipt("1005"))
    unknown = {"outcome_unknown": CallKind.START_PAYMENT}
    stored(store, "confirmed-unknown", 2, State.CONFIRMED, selection_id="sel-2", **unknown)
    stored(store, "cancelled", 0, State.CANCELLED)
    stored(store, "pending", 3, State.PAYMENT_PENDING, selection_id="sel-3")


def test_find_returns_every_checkout_least_recently_updated_first(store: Store) -> None:
    a_shop(store)

    found = store.find()

    assert ids(found) == [
        "cancelled",
        "open",
        "confirmed-unknown",
        "pending",
        "pending-unknown",
        "paid",
    ]
    assert found[-1] == store.load("paid")


@pytest.mark.parametrize("state", [State.PAYMENT_PENDING, "payment_pending"], ids=["enum", "str"])
def test_find_by_state_takes_the_state_or_its_value(store: Store, state: State | str) -> None:
    a_shop(store)

    assert ids(store.find(state=state)) == ["pending", "pending-unknown"]


def test_find_by_outcome_unknown_tells_unsettled_payment_calls_apart(store: Store) -> None:
    a_shop(store)

    unknown = store.find(outcome_unknown=True)

    assert ids(unknown) == ["confirmed-unknown", "pending-unknown"]
    assert [c.outcome_unknown for c in unknown] == [CallKind.START_PAYMENT, CallKind.PAYMENT_RESULT]
    assert ids(store.find(outcome_unknown=False)) == ["cancelled", "open", "pending", "paid"]


def test_find_updated_before_keeps_only_checkouts_saved_strictly_before(store: Store) -> None:
    a_shop(store)

    assert ids(store.find(updated_before=NOW + timedelta(minutes=2))) == ["cancelled", "open"]
    assert store.find(updated_before=NOW) == []


def test_find_by_order_and_by_selection_finds_the_one_checkout(store: Store) -> None:
    a_shop(store)

    assert ids(store.find(order="1005")) == ["paid"]
    assert ids(store.find(selection="sel-3")) == ["pending"]
    assert store.find(order="9999") == []
    assert store.find(selection="sel-9") == []


def test_find_combines_every_filter_given(store: Store) -> None:
    a_shop(store)
    before = NOW + timedelta(minutes=5)

    assert ids(store.find(state="payment_pending", outcome_unknown=True)) == ["pending-unknown"]
    assert ids(store.find(state=State.PAYMENT_PENDING, outcome_unknown=False)) == ["pending"]
    assert ids(store.find(outcome_unknown=True, updated_before=NOW + timedelta(minutes=3))) == [
        "confirmed-unknown"
    ]
    assert ids(
        store.find(
            state=State.PAYMENT_PENDING,
            outcome_unknown=True,
            updated_before=before,
            selection="sel-4",
            limit=1,
        )
    ) == ["pending-unknown"]
    assert store.find(state=State.PAID, order="1005", updated_before=NOW) == []
    assert store.find(state=State.SELECTION, selection="sel-3") == []


def test_find_returns_at_most_limit_checkouts_the_least_recently_updated(store: Store) -> None:
    a_shop(store)

    assert ids(store.find(limit=2)) == ["cancelled", "open"]
    assert ids(store.find(outcome_unknown=False, limit=3)) == ["cancelled", "open", "pending"]
    assert len(store.find(limit=10_000)) == 6


def a_crowd(store: Store) -> list[str]:
    """``a_shop`` and five more saved at one moment (minute 3, with ``pending``), told apart
    only by their ids; every id, in ``find``'s order."""
    a_shop(store)
    for name in ("a", "B", "_z", "Z", "\u00e4"):
        stored(store, name, 3, State.CONFIRMED)
    tied = sorted(["a", "B", "_z", "Z", "\u00e4", "pending"])  # by code point: B Z _z a ...
    return ["cancelled", "open", "confirmed-unknown", *tied, "pending-unknown", "paid"]


def test_find_after_pages_through_every_checkout_once_in_updated_at_then_id_order(
    store: Store,
) -> None:
    expected = a_crowd(store)
    paged: list[str] = []
    after = None
    while page := store.find(limit=2, after=after):
        paged += ids(page)
        after = (page[-1].updated_at, page[-1].id)

    assert paged == expected
    assert ids(store.find(limit=10_000)) == expected


def test_find_after_a_tie_returns_the_ids_after_it_then_the_later_checkouts(store: Store) -> None:
    expected = a_crowd(store)
    at = NOW + timedelta(minutes=3)

    assert ids(store.find(after=(at, "Z"))) == expected[expected.index("Z") + 1 :]
    assert ids(store.find(after=(at, "Y"))) == expected[expected.index("Z") :]  # not stored
    assert ids(store.find(after=(at, "\uffff"))) == ["pending-unknown", "paid"]
    assert ids(store.find(after=(at, ""))) == expected[3:]
    assert ids(store.find(after=(NOW - timedelta(days=1), "zzz"))) == expected
    assert store.find(after=(NOW + timedelta(minutes=5), "paid")) == []


def test_find_after_is_the_same_moment_in_any_timezone(store: Store) -> None:
    a_crowd(store)
    utc = NOW + timedelta(minutes=3)
    stockholm = utc.astimezone(timezone(timedelta(hours=1)))

    assert ids(store.find(after=(stockholm, "a"))) == ids(store.find(after=(utc, "a")))
    assert ids(store.find(after=(stockholm, "a"), limit=1)) == ["pending"]


def test_find_after_combines_with_every_other_filter(store: Store) -> None:
    a_crowd(store)
    at = NOW + timedelta(minutes=3)

    assert ids(store.find(state=State.CONFIRMED, after=(at, "_z"))) == ["a", "\u00e4"]
    assert ids(store.find(outcome_unknown=False, after=(at, "_z"), limit=2)) == ["a", "pending"]
    assert ids(store.find(outcome_unknown=True, after=(NOW, ""))) == [
        "confirmed-unknown",
        "pending-unknown",
    ]
    before = NOW + timedelta(minutes=4)
    assert ids(store.find(updated_before=before, after=(at, "a"))) == ["pending", "\u00e4"]
    assert ids(store.find(selection="sel-3", after=(at, "a"))) == ["pending"]
    assert store.find(selection="sel-3", after=(at, "pending")) == []
    assert ids(store.find(order="1005", after=(at, "pending"))) == ["paid"]


def test_paging_with_a_fixed_updated_before_ends_while_every_checkout_found_is_saved(
    store: Store,
) -> None:
    # As the cron jobs walk: each checkout found is saved (moved to now) before the next page.
    expected = a_crowd(store)
    now = NOW + timedelta(minutes=10)
    seen: list[str] = []
    after = None
    while page := store.find(updated_before=now, limit=3, after=after):
        for checkout in page:
            seen.append(checkout.id)
            store.save(attrs.evolve(checkout, updated_at=now), checkout.version)
        after = (page[-1].updated_at, page[-1].id)

    assert seen == expected
    assert store.find(updated_before=now) == []


def test_find_sees_the_latest_save_of_each_checkout(store: Store) -> None:
    first = stored(store, "co-1", 0, State.CONFIRMED, outcome_unknown=CallKind.START_PAYMENT)
    paid = attrs.evolve(
        first,
        state=State.PAID,
        outcome_unknown=None,
        receipt=Receipt("1001"),
        updated_at=NOW + timedelta(minutes=1),
    )
    store.save(paid, expected_version=1)

    assert store.find(outcome_unknown=True) == []
    assert store.find(state=State.CONFIRMED) == []
    assert store.find(updated_before=NOW + timedelta(minutes=1)) == []
    [found] = store.find(state="paid", order="1001")
    assert found == store.load("co-1")
    assert found.version == 2


def test_find_on_an_empty_store_finds_nothing(store: Store) -> None:
    assert store.find() == []
    assert store.find(state=State.PAID, outcome_unknown=True) == []


@pytest.mark.parametrize(
    "filters",
    [
        {"state": "shipped"},
        {"state": "PAID"},
        {"limit": 0},
        {"limit": -1},
        {"limit": 10_001},
        {"updated_before": datetime(2026, 1, 1)},
    ],
    ids=["unknown-state", "state-by-name", "limit-0", "limit-negative", "limit-10001", "naive"],
)
def test_find_refuses_bad_filters_with_value_error(store: Store, filters: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        store.find(**filters)


BAD_AFTER: dict[str, object] = {
    "naive": (datetime(2026, 1, 1), "co-1"),
    "a-datetime-alone": NOW,
    "an-id-alone": "co-1",
    "swapped": ("co-1", NOW),
    "id-not-text": (NOW, 7),
    "three": (NOW, "co-1", "co-2"),
    "a-list": [NOW, "co-1"],
    "a-date": (NOW.date(), "co-1"),
}


@pytest.mark.parametrize("after", BAD_AFTER.values(), ids=BAD_AFTER.keys())
def test_find_refuses_an_after_that_is_no_aware_position_with_value_error_naming_it(
    store: Store, after: object
) -> None:
    stored(store, "co-1", 0)

    with pytest.raises(ValueError, match=r"^after "):
        store.find(after=after)  # type: ignore[arg-type]


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


# --- bad arguments and values the database cannot hold ----------------------------------------

NAIVE = datetime(2026, 1, 1, 12, 0)

BAD_TIMES: dict[str, Callable[[Store], object]] = {
    "save": lambda s: s.save(attrs.evolve(new_checkout(), updated_at=NAIVE), 0),
    "claim": lambda s: s.acquire_claim("co-1", "alice", NAIVE, LEASE),
    "reserve-now": lambda s: s.reserve(reservation(), NAIVE),
    "reserve-lease": lambda s: s.reserve(attrs.evolve(reservation(), lease_until=NAIVE), NOW),
    "purge": lambda s: s.purge(NAIVE),
    "purge-finished": lambda s: s.purge(NOW, finished_before=NAIVE),
}


@pytest.mark.parametrize("call", BAD_TIMES.values(), ids=BAD_TIMES.keys())
def test_a_naive_time_is_refused_with_value_error_and_stores_nothing(
    store: Store, call: Callable[[Store], object]
) -> None:
    with pytest.raises(ValueError):
        call(store)

    assert store.find() == []
    assert store.reserve(reservation("bob"), NOW).owner == "bob"
    assert store.acquire_claim("co-1", "bob", NOW, LEASE).owner == "bob"


UNHOLDABLE: dict[str, Callable[[Store], object]] = {
    "load-surrogate": lambda s: s.load("co-\ud800"),
    "load-nul": lambda s: s.load("co-\x00"),
    "save-surrogate": lambda s: s.save(new_checkout("co-\ud800"), 0),
    "save-huge-version": lambda s: s.save(new_checkout(), 2**70),
    "claim-surrogate": lambda s: s.acquire_claim("co-\ud800", "alice", NOW, LEASE),
    "reserve-surrogate": lambda s: s.reserve(reservation(key="key-\ud800"), NOW),
    "reserve-huge-attempt": lambda s: s.reserve(attrs.evolve(reservation(), attempt=2**70), NOW),
    "complete-surrogate": lambda s: s.complete("key-1", "alice", "\ud800"),
    "find-selection-nul": lambda s: s.find(selection="sel-\x00"),
    "find-after-nul": lambda s: s.find(after=(NOW, "co-\x00")),
    "find-after-surrogate": lambda s: s.find(after=(NOW, "co-\ud800")),
    "find-after-year-1": lambda s: s.find(after=(datetime.min.replace(tzinfo=UTC), "co-1")),
}


@pytest.mark.parametrize("call", UNHOLDABLE.values(), ids=UNHOLDABLE.keys())
def test_a_value_the_database_cannot_hold_raises_a_core_error_never_the_drivers(
    store: Store, call: Callable[[Store], object]
) -> None:
    store.reserve(reservation(), NOW)
    # The store may take it, or refuse it with a core error; anything else fails the test.
    with contextlib.suppress(OrderflowError):
        call(store)

    assert store.reserve(reservation("bob"), NOW).owner == "alice"  # still usable
