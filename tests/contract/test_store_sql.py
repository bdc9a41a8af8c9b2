"""What the SQL stores do under the port, run over each of them, sync and async (the
``sql_home`` fixture): a database of the previous version is upgraded in place, each ``find``
filter is indexed, and a purge that fails removes nothing."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from orderflow import codec
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import StoreError
from orderflow.flow import State
from orderflow.receipt import Receipt
from tests.contract.conftest import (
    LEASE,
    NOW,
    TTL,
    StoreHome,
    ids,
    new_checkout,
    reservation,
    stored,
)

# The tables the previous version created, exactly, and a row of each kind it wrote.
PREVIOUS_SCHEMA = {
    "sqlite": [
        """CREATE TABLE checkouts (id TEXT PRIMARY KEY, version INTEGER NOT NULL,
            state TEXT NOT NULL, updated_at INTEGER NOT NULL, body TEXT NOT NULL)""",
        """CREATE TABLE claims (checkout_id TEXT PRIMARY KEY, owner TEXT NOT NULL,
            expires_at INTEGER NOT NULL)""",
        """CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
            result TEXT NOT NULL, expires_at INTEGER NOT NULL)""",
    ],
    "postgres": [
        """CREATE TABLE orderflow_checkouts (id text PRIMARY KEY, version integer NOT NULL,
            state text NOT NULL, updated_at timestamptz NOT NULL, body jsonb NOT NULL)""",
        """CREATE TABLE orderflow_claims (checkout_id text PRIMARY KEY, owner text NOT NULL,
            expires_at timestamptz NOT NULL)""",
        """CREATE TABLE orderflow_idempotency (key text PRIMARY KEY,
            fingerprint text NOT NULL, result text NOT NULL, expires_at timestamptz NOT NULL)""",
    ],
}


def _moment(home: StoreHome, moment: datetime) -> object:
    if home.kind.database == "sqlite":  # microseconds since the epoch, as it stored them
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return moment


def a_previous_version_database(home: StoreHome) -> list[Checkout]:
    """The previous version's tables in ``home``, holding checkouts, a claim and a record."""
    for statement in PREVIOUS_SCHEMA[home.kind.database]:
        home.sql(statement)
    checkouts = [
        Checkout(
            id="co-unknown",
            state=State.PAYMENT_PENDING,
            created_at=NOW,
            updated_at=NOW,
            version=3,
            selection_id="sel-1",
            outcome_unknown=CallKind.PAYMENT_RESULT,
        ),
        Checkout(
            id="co-paid",
            state=State.PAID,
            created_at=NOW,
            updated_at=NOW + timedelta(minutes=1),
            version=5,
            selection_id="sel-2",
            receipt=Receipt("1001"),
        ),
    ]
    for checkout in checkouts:
        home.sql(
            f"INSERT INTO {home.table('checkouts')} VALUES (?, ?, ?, ?, ?)",
            [
                checkout.id,
                checkout.version,
                checkout.state.value,
                _moment(home, checkout.updated_at),
                codec.dumps(checkout),
            ],
        )
    home.sql(
        f"INSERT INTO {home.table('claims')} VALUES (?, ?, ?)",
        ["co-unknown", "alice", _moment(home, NOW + LEASE)],
    )
    home.sql(
        f"INSERT INTO {home.table('idempotency')} VALUES (?, ?, ?, ?)",
        ["key-old", "fp-old", '{"id": "co-paid"}', _moment(home, NOW + TTL)],
    )
    return checkouts


def test_a_database_of_the_previous_version_is_upgraded_in_place_and_keeps_its_data(
    sql_home: StoreHome,
) -> None:
    unknown, paid = a_previous_version_database(sql_home)

    store = sql_home.open()

    assert store.load("co-paid") == paid
    assert ids(store.find(outcome_unknown=True)) == ["co-unknown"]
    assert ids(store.find(outcome_unknown=False)) == ["co-paid"]
    assert ids(store.find(order="1001")) == ["co-paid"]
    assert ids(store.find(selection="sel-1")) == ["co-unknown"]
    assert store.acquire_claim("co-unknown", "bob", NOW, LEASE).owner == "alice"
    old = store.reserve(reservation("bob", key="key-old", fingerprint="fp-old"), NOW)
    assert (old.fingerprint, old.result, old.expires_at) == (
        "fp-old",
        '{"id": "co-paid"}',
        NOW + TTL,
    )
    assert store.reserve(reservation(key="key-new"), NOW) == reservation(key="key-new")
    assert store.complete("key-new", "alice", "done") is True
    settled = attrs.evolve(unknown, outcome_unknown=None, state=State.PAYMENT_FAILED)
    store.save(settled, expected_version=3)
    assert store.find(outcome_unknown=True) == []
    assert_find_is_indexed(sql_home)

    again = sql_home.open()  # upgrading again changes nothing
    assert ids(again.find(state=State.PAYMENT_FAILED)) == ["co-unknown"]
    assert again.reserve(reservation("bob", key="key-new"), NOW).result == "done"
    if sql_home.kind.database == "postgres":  # jsonb became json, the text kept from then on
        (kind,) = sql_home.sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = ?"
            " AND table_name = 'orderflow_checkouts' AND column_name = 'body'",
            [sql_home.schema],
        )
        assert kind == ("json",)


def test_find_by_each_filter_and_purge_use_an_index(sql_home: StoreHome) -> None:
    sql_home.open()

    assert_find_is_indexed(sql_home)


INDEXED = {
    "outcome_unknown IS NOT NULL": "checkouts_unknown_updated",
    "state = 'paid'": "checkouts_state_updated",
    "order_number = '1001'": "checkouts_order_updated",
    "selection_id = 'sel-1'": "checkouts_selection_updated",
    "updated_at < {now}": "checkouts_updated",
}


def assert_find_is_indexed(home: StoreHome) -> None:
    """Each ``find`` filter, as the store writes it, is answered through its own index."""
    checkouts = home.table("checkouts")
    now = _moment(home, NOW)
    now = f"'{now.isoformat()}'" if isinstance(now, datetime) else now
    for condition, index in INDEXED.items():
        where = condition.format(now=now)
        query = f"SELECT id FROM {checkouts} WHERE {where} ORDER BY updated_at, id LIMIT 100"
        if home.kind.database == "sqlite":
            plan = " ".join(row[-1] for row in home.sql(f"EXPLAIN QUERY PLAN {query}"))
        else:  # tables this small PostgreSQL would rather scan
            rows = home.sql(f"EXPLAIN {query}", enable_seqscan="off")
            plan = " ".join(row[0] for row in rows)
        assert home.table(index) in plan, (condition, plan)


def test_a_failed_purge_raises_store_error_and_removes_nothing(sql_home: StoreHome) -> None:
    store = sql_home.open()
    store.acquire_claim("co-1", "alice", NOW - LEASE, LEASE)  # expired
    paid = stored(store, "paid-old", -3 * 24 * 60, State.PAID)
    store.reserve(reservation(key="key-paid", checkout_id="paid-old"), NOW)
    store.acquire_claim("paid-old", "alice", NOW, LEASE)
    records = sql_home.table("idempotency")
    # The last delete (expired records) fails, after every other one succeeded.
    sql_home.sql(f"ALTER TABLE {records} RENAME COLUMN expires_at TO expiry")
    try:
        with pytest.raises(StoreError):
            store.purge(NOW, finished_before=NOW - timedelta(days=1))
    finally:
        sql_home.sql(f"ALTER TABLE {records} RENAME COLUMN expiry TO expires_at")

    assert store.acquire_claim("co-1", "bob", NOW - LEASE, LEASE).owner == "alice"
    assert store.acquire_claim("paid-old", "bob", NOW, LEASE).owner == "alice"
    assert store.load("paid-old") == paid
    assert store.reserve(reservation("bob", key="key-paid"), NOW).owner == "alice"


def test_a_closed_store_refuses_every_call_with_store_error(sql_home: StoreHome) -> None:
    store = sql_home.open()
    store.save(new_checkout(), expected_version=0)
    close = getattr(store, "close", None) or store.aclose  # type: ignore[attr-defined]

    close()

    for call in (lambda: store.load("co-1"), store.find, lambda: store.purge(NOW)):
        with pytest.raises(StoreError, match="closed"):
            call()


# --- the decoded-checkout cache -----------------------------------------------------------------


def test_a_load_of_what_the_store_saved_or_loaded_is_the_checkout_it_decoded_once(
    sql_home: StoreHome,
) -> None:
    """PostgreSQL's cache is keyed by ``xmin`` (a cache keyed by the text never hit while the
    body was ``jsonb``). The same object back means nothing was decoded."""
    store = sql_home.open()
    saved = store.save(attrs.evolve(new_checkout(), last_error='é ✓ {"a": 1}'), 0)

    loaded = store.load(saved.id)

    assert loaded is saved
    assert store.load(saved.id) is saved
    reader = sql_home.open()
    first = reader.load(saved.id)
    assert first == saved and first is not saved
    assert reader.load(saved.id) is first


def test_a_checkout_another_store_saved_is_decoded_afresh(sql_home: StoreHome) -> None:
    mine, theirs = sql_home.open(), sql_home.open()
    saved = mine.save(new_checkout(), 0)
    assert mine.load(saved.id) is saved

    changed = theirs.save(attrs.evolve(saved, state=State.CONFIRMED, version=2), 1)

    assert mine.load(saved.id) == changed


def test_a_row_rewritten_under_the_store_at_the_same_version_is_read_again(
    sql_home: StoreHome,
) -> None:
    store = sql_home.open()
    saved = store.save(new_checkout(), 0)
    assert store.load(saved.id) is saved
    rewritten = attrs.evolve(saved, last_error="written by hand")
    cast = "::json" if sql_home.kind.database == "postgres" else ""

    sql_home.sql(
        f"UPDATE {sql_home.table('checkouts')} SET body = ?{cast} WHERE id = ?",
        [codec.dumps(rewritten), saved.id],
    )

    assert store.load(saved.id) == rewritten
    assert store.find()[0] == rewritten


def test_numbers_and_text_jsonb_would_change_are_kept_as_saved(sql_home: StoreHome) -> None:
    """``jsonb`` gave 2.448889286199823e+16 back as 24488892861998230, another number, -0.0 as
    0.0, and refused U+0000: the body is kept as the text saved, so every store reads what was
    saved, and the one that saved it hands back the very object."""
    store, reader = sql_home.open(), sql_home.open()
    fields = {"big": 2.448889286199823e16, "one": 1e16, "zero": -0.0, "nul": "a\x00b"}
    saved = store.save(attrs.evolve(new_checkout(), payment_fields=fields), 0)

    assert store.load(saved.id) is saved
    read = reader.load(saved.id)
    assert read == saved
    assert read.payment_fields is not None
    assert math.copysign(1, read.payment_fields["zero"]) == -1
    assert read.payment_fields["big"] == 2.448889286199823e16


def test_find_orders_and_pages_checkouts_saved_at_one_moment_by_id_as_memory_does_in_any_collation(
    sql_home: StoreHome,
) -> None:
    # MemoryStore sorts ties by id as Python compares text (by code point); a PostgreSQL
    # database whose default collation is a language's (en_US.UTF-8, ICU) sorts otherwise.
    store = sql_home.open()
    if sql_home.kind.database == "postgres":
        if not sql_home.sql("SELECT FROM pg_collation WHERE collname = 'und-x-icu'"):
            pytest.skip("this PostgreSQL has no ICU collations")
        checkouts = sql_home.table("checkouts")
        sql_home.sql(f'ALTER TABLE {checkouts} ALTER COLUMN id TYPE text COLLATE "und-x-icu"')
    names = ["a", "B", "_z", "Z", "ä", "b"]
    for name in names:
        store.save(new_checkout(name), 0)

    assert ids(store.find()) == sorted(names)
    # ``after`` compares the ids as the order does, so paging one by one walks the same line.
    paged = []
    while page := store.find(limit=1, after=(NOW, paged[-1]) if paged else None):
        paged += ids(page)
    assert paged == sorted(names)
