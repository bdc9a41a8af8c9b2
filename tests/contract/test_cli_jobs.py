"""``orderflow checkouts list|reconcile|expire`` and ``db purge``: the cron jobs, as run.

Checkouts are made in a SQLite store by the service over HTTP against a ``FakeServer``; one
payment result loses its answer after Centra acted (a seeded ``FaultPlan``), so its checkout is
left unsettled for the reconcile job. Each job runs as ``python -m orderflow`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import FakeServer
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.calls import CallKind, PaymentResult
from orderflow.checkout import Checkout
from orderflow.errors import OutcomeUnknown
from orderflow.flow import State
from orderflow.service import CheckoutService

ROOT = Path(__file__).resolve().parents[2]
KEY = "jobs-key"


def orderflow(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CENTRA_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "orderflow", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@attrs.frozen
class Shop:
    db: Path
    base_url: str
    fake: FakeCentra
    ids: dict[str, str]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """Four checkouts: in the cart, confirmed, paid, and one whose payment result was lost."""
    plan = FaultPlan(seed=7).timeout_after(CallKind.PAYMENT_RESULT, on_calls=[2])
    fake = FakeCentra.seeded(api_key=KEY, faults=plan)
    db = tmp_path / "shop.db"
    with (
        FakeServer(fake) as server,
        SQLiteStore(db) as store,
        ShopApiClient(server.base_url, KEY, timeout=0.5) as client,
    ):
        service = CheckoutService(transport=client, store=store)
        ids: dict[str, str] = {}
        ids["cart"] = service.open().id
        for name in ("confirmed", "paid", "lost"):
            checkout = service.open()
            service.add_item(checkout.id, SEED_ITEM, 1)
            service.confirm(checkout.id, seed_details())
            ids[name] = checkout.id
        service.start_payment(ids["paid"])
        service.complete_payment(ids["paid"], SEED_PAYMENT_FIELDS)
        service.start_payment(ids["lost"])
        with pytest.raises(OutcomeUnknown):
            service.complete_payment(ids["lost"], SEED_PAYMENT_FIELDS)
        yield Shop(db, server.base_url, fake, ids)


def test_list_prints_the_checkouts_a_filter_finds_as_json(shop: Shop) -> None:
    done = orderflow("checkouts", "list", "--sqlite", str(shop.db), "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["checkout"]: row for row in json.loads(done.stdout)}
    assert {rows[shop.ids[n]]["state"] for n in ("cart", "confirmed")} == {"selection", "confirmed"}
    assert rows[shop.ids["paid"]]["order"] is not None
    assert rows[shop.ids["lost"]]["unsettled"] == "payment_result"

    unsettled = orderflow("checkouts", "list", "--sqlite", str(shop.db), "--unsettled", "--json")
    assert [row["checkout"] for row in json.loads(unsettled.stdout)] == [shop.ids["lost"]]
    paid = orderflow("checkouts", "list", "--sqlite", str(shop.db), "--state", "paid")
    assert shop.ids["paid"] in paid.stdout and "1 checkout\n" in paid.stdout


def test_reconcile_settles_the_lost_payment_to_its_one_order(shop: Shop) -> None:
    done = orderflow(
        "checkouts",
        "reconcile",
        "--sqlite",
        str(shop.db),
        "--base-url",
        shop.base_url,
        "--older-than",
        "0s",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{shop.ids['lost']}: payment_pending -> paid (order" in done.stdout
    assert "1 reconciled, 0 failed" in done.stdout
    with SQLiteStore(shop.db) as store:
        settled = store.load(shop.ids["lost"])
    assert settled.outcome_unknown is None
    assert settled.order == shop.fake.orders[settled.selection_id or ""]["order"]
    assert shop.fake.calls[CallKind.PAYMENT_RESULT] == 2  # once each; the job only asked


def test_reconcile_pending_finds_the_order_a_provider_completed_after_the_shopper_left(
    shop: Shop,
) -> None:
    with SQLiteStore(shop.db) as store:
        service = CheckoutService(transport=shop.fake, store=store)
        left = service.start_payment(shop.ids["confirmed"])  # the shopper never comes back
    assert left.selection_id is not None
    shop.fake.send(PaymentResult(left.selection_id, SEED_PAYMENT_FIELDS))  # the provider did
    job = ("checkouts", "reconcile", "--sqlite", str(shop.db), "--base-url", shop.base_url)

    without = orderflow(*job, "--older-than", "0s")
    assert f"{left.id}:" not in without.stdout  # only the unsettled one, unless asked

    done = orderflow(*job, "--older-than", "0s", "--pending")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{left.id}: payment_pending -> paid (order" in done.stdout
    with SQLiteStore(shop.db) as store:
        assert store.load(left.id).order == shop.fake.orders[left.selection_id]["order"]


def test_reconcile_exits_1_when_centra_cannot_say(shop: Shop) -> None:
    done = orderflow(
        "checkouts",
        "reconcile",
        "--sqlite",
        str(shop.db),
        "--base-url",
        "http://127.0.0.1:9/api/shop",
        "--older-than",
        "0s",
    )
    assert done.returncode == 1
    assert f"{shop.ids['lost']}: failed:" in done.stdout and "0 reconciled, 1 failed" in done.stdout


def test_reconcile_gets_past_more_failing_checkouts_than_its_limit(shop: Shop) -> None:
    # Three checkouts Centra cannot answer about (their selections are gone), first in line:
    # a failed reconcile saves nothing, so they stay first on every run.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with SQLiteStore(shop.db) as store:
        for n in range(3):
            store.save(
                Checkout(
                    id=f"co-gone-{n}",
                    state=State.PAYMENT_PENDING,
                    created_at=an_hour_ago,
                    updated_at=an_hour_ago + timedelta(seconds=n),
                    selection_id=f"sel-gone-{n}",
                    outcome_unknown=CallKind.PAYMENT_RESULT,
                ),
                0,
            )
    gone = [f"co-gone-{n}" for n in range(3)]
    job = ("checkouts", "reconcile", "--sqlite", str(shop.db), "--base-url", shop.base_url)

    done = orderflow(*job, "--older-than", "0s", "--limit", "2")

    assert done.returncode == 1, done.stdout + done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()[:3]] == gone
    assert f"{shop.ids['lost']}: payment_pending -> paid (order" in done.stdout
    assert done.stdout.endswith("1 reconciled, 3 failed\n")
    with SQLiteStore(shop.db) as store:
        assert store.load(shop.ids["lost"]).outcome_unknown is None
        assert [c.id for c in store.find(outcome_unknown=True)] == gone


def test_reconcile_leaves_recent_checkouts_to_the_calls_in_flight(shop: Shop) -> None:
    done = orderflow(
        "checkouts", "reconcile", "--sqlite", str(shop.db), "--base-url", shop.base_url
    )
    assert done.returncode == 0 and "0 reconciled, 0 failed" in done.stdout


@pytest.mark.parametrize("limit", ["500", "1"])
def test_expire_cancels_abandoned_checkouts_but_not_paid_or_unsettled_ones(
    shop: Shop, limit: str
) -> None:
    # With --limit 1, each of the two is on a page (and a state) of its own: both are done.
    job = ("checkouts", "expire", "--sqlite", str(shop.db), "--older-than", "0s")
    done = orderflow(*job, "--limit", limit)
    assert done.returncode == 0, done.stderr
    assert "2 expired, 0 failed" in done.stdout
    with SQLiteStore(shop.db) as store:
        states = {name: store.load(i).state.value for name, i in shop.ids.items()}
    assert states == {
        "cart": "cancelled",
        "confirmed": "cancelled",
        "paid": "paid",
        "lost": "payment_pending",
    }


def test_purge_removes_finished_checkouts_past_the_retention(shop: Shop) -> None:
    orderflow("checkouts", "expire", "--sqlite", str(shop.db), "--older-than", "0s")
    kept = orderflow("db", "purge", "--sqlite", str(shop.db), "--finished-older-than", "1d")
    assert kept.returncode == 0, kept.stderr
    gone = orderflow("db", "purge", "--sqlite", str(shop.db), "--finished-older-than", "0s")
    assert gone.returncode == 0, gone.stderr
    listed = json.loads(orderflow("checkouts", "list", "--sqlite", str(shop.db), "--json").stdout)
    assert [row["checkout"] for row in listed] == [shop.ids["lost"]]


@pytest.mark.parametrize(
    "argv",
    [
        ("checkouts", "list"),
        ("checkouts", "expire", "--sqlite", "x.db"),
        ("checkouts", "expire", "--sqlite", "x.db", "--older-than", "soon"),
        ("checkouts", "list", "--sqlite", "no-such.db"),
        ("checkouts", "list", "--sqlite", "x.db", "--dsn", "postgresql://"),
    ],
)
def test_a_bad_job_argument_is_one_error_line_and_exit_2(argv: tuple[str, ...]) -> None:
    done = orderflow(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 or "usage:" in done.stderr
