"""Embedded in a service: a free event loop, personal data, webhooks, logs, finding checkouts.

What a service author relies on beyond the flow, on the real stores (SQLite, and PostgreSQL
when ``ORDERFLOW_TEST_POSTGRES_DSN`` is set): an async service keeps its loop ticking while
PostgreSQL hangs; no stored byte holds a password, and after ``erase`` none holds the shopper;
Centra's signed webhooks settle their checkouts through the ASGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import (
    SEED_ITEM,
    SEED_PAYMENT_FIELDS,
    run_seed_flow,
    seed_details,
)
from orderflow.adapters.stores import AsyncPostgresStore, PostgresStore
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.adapters.webhooks import WebhookReceiver, asgi_app, sign
from orderflow.calls import CallKind, PaymentResult
from orderflow.errors import OutcomeUnknown, StoreError
from orderflow.flow import Event, State
from orderflow.service import AsyncCheckoutService, CheckoutService
from tests.contract.conftest import NEEDS_POSTGRES, POSTGRES_DSN
from tests.support import Awaited, LosesAnswers

# The seed's shopper, as the seed's request sends them: none may stay after erase.
SHOPPER = ("hhh@maximilliangeorge.com", "Maximillian", "George", "734444782", "Dybecksv")


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a PostgreSQL that hangs)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


async def test_an_async_service_keeps_its_loop_ticking_while_postgresql_hangs() -> None:
    with silent_server() as port:
        store = AsyncPostgresStore(
            f"postgresql://postgres@127.0.0.1:{port}/test", connect_timeout=2, pool_timeout=2
        )
        service = AsyncCheckoutService(transport=Awaited(FakeCentra.seeded()), store=store)
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beating = asyncio.create_task(heartbeat())
        started = time.monotonic()
        try:
            with pytest.raises(StoreError):
                await service.open()
        finally:
            beating.cancel()
            await store.aclose()
        elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed  # the connect timeout (libpq's floor is 2 s), not forever
    assert ticks >= elapsed / 0.01 * 0.5  # the loop kept running the whole time


# --- personal data --------------------------------------------------------------------------


def _stored_bytes(store: SQLiteStore | PostgresStore, where: str) -> bytes:
    """Every byte the store's tables hold, as text (``where``: the SQLite file or the
    PostgreSQL schema)."""
    if isinstance(store, SQLiteStore):
        with contextlib.closing(sqlite3.connect(where)) as connection:
            rows = [
                row
                for table in ("checkouts", "claims", "idempotency")
                for row in connection.execute(f"SELECT * FROM {table}")
            ]
        return repr(rows).encode()
    import psycopg

    assert POSTGRES_DSN is not None
    with psycopg.connect(POSTGRES_DSN) as connection:
        schema = where
        rows = [
            row
            for table in ("orderflow_checkouts", "orderflow_claims", "orderflow_idempotency")
            for row in connection.execute(f'SELECT * FROM "{schema}".{table}')
        ]
    return repr(rows).encode()


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=NEEDS_POSTGRES)])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[object, str]]:
    if request.param == "sqlite":
        where = str(tmp_path / "shop.db")
        with SQLiteStore(where) as store:
            yield store, where
        return
    import psycopg

    assert POSTGRES_DSN is not None
    schema = f"orderflow_embed_{uuid.uuid4().hex[:10]}"
    try:
        with PostgresStore(POSTGRES_DSN, schema=schema) as store:
            store.create_schema()
            yield store, schema
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_no_stored_byte_holds_the_password_and_erase_leaves_none_of_the_shopper(
    sql_store: tuple[SQLiteStore | PostgresStore, str],
) -> None:
    store, where = sql_store
    fake = FakeCentra.seeded()
    service = CheckoutService(transport=fake, store=store)
    checkout = service.open(idempotency_key="open-1")
    service.add_item(checkout.id, SEED_ITEM, 1, idempotency_key="add-1")
    details = seed_details()
    assert details.address.extra.get("password") == "???"  # the seed's shopper typed one
    service.confirm(checkout.id, details, idempotency_key="confirm-1")
    service.start_payment(checkout.id)
    paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS, idempotency_key="pay-1")
    assert paid.state is State.PAID

    before = _stored_bytes(store, where)
    assert b"password" not in before and b"???" not in before
    assert all(text.encode() in before for text in SHOPPER)  # it was there to erase

    erased = service.erase(checkout.id)

    after = _stored_bytes(store, where)
    for text in SHOPPER:
        assert text.encode() not in after, text
    assert erased.state is State.PAID and erased.order == paid.order
    assert erased.receipt is not None and erased.receipt.totals == paid.receipt.totals  # type: ignore[union-attr]
    assert [r.event for r in erased.history] == [r.event for r in paid.history]
    assert service.get(checkout.id) == erased


# --- webhooks ----------------------------------------------------------------------------------

SECRET = "whsec-test"


def webhook(*events: dict[str, object]) -> tuple[bytes, str]:
    import json
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps({"events": list(events)})}).encode()
    return body, sign(body, SECRET, int(time.time()))


@pytest.fixture
def shop() -> tuple[FakeCentra, MemoryStore, CheckoutService]:
    fake = FakeCentra.seeded()
    store = MemoryStore()
    return fake, store, CheckoutService(transport=fake, store=store)


def _post(app: object, body: bytes, signature: str | None, method: str = "POST") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            headers = {"X-Centra-Signature": signature} if signature else {}
            return await client.request(method, "/centra/webhooks", content=body, headers=headers)

    return asyncio.run(go())


def test_a_webhook_for_a_lost_payment_settles_its_checkout_to_the_order(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService],
) -> None:
    fake, store, service = shop
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    lossy = CheckoutService(transport=LosesAnswers(fake, {CallKind.PAYMENT_RESULT}), store=store)
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert checkout.selection_id is not None
    order = fake.orders[checkout.selection_id]["order"]
    app = asgi_app(WebhookReceiver(service, SECRET))

    answer = _post(
        app,
        *webhook(
            {
                "type": "order",
                "action": "insert",
                "id": int(order),
                "selection": checkout.selection_id,
            }
        ),
    )

    assert answer.status_code == 200 and answer.json() == {"settled": [checkout.id]}
    settled = service.get(checkout.id)
    assert settled.state is State.PAID and settled.order == order
    assert fake.calls[CallKind.PAYMENT_RESULT] == 1


def test_a_webhook_for_the_order_of_a_cancelled_checkout_stores_the_order(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService],
) -> None:
    fake, _store, service = shop
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    service.fail_payment(checkout.id)
    assert service.cancel(checkout.id).state is State.CANCELLED
    # The provider completes the payment the shopper left: Centra makes the order anyway.
    assert checkout.selection_id is not None
    fake.send(PaymentResult(checkout.selection_id, SEED_PAYMENT_FIELDS))
    order = fake.orders[checkout.selection_id]["order"]

    event = {"type": "order", "action": "insert", "id": int(order)}
    answer = _post(
        asgi_app(WebhookReceiver(service, SECRET)),
        *webhook({**event, "selection": checkout.selection_id}),
    )

    assert answer.status_code == 200 and answer.json() == {"settled": [checkout.id]}
    settled = service.get(checkout.id)
    assert settled.state is State.PAID and settled.order == order


def test_a_webhook_for_a_paid_order_reads_it_again_and_records_only_a_change(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService],
) -> None:
    fake, _, service = shop
    paid = run_seed_flow(service)
    app = asgi_app(WebhookReceiver(service, SECRET))
    event = {"type": "order", "action": "update", "id": paid.order}

    assert _post(app, *webhook(event)).status_code == 200
    assert service.get(paid.id).history == paid.history  # nothing changed at Centra

    assert paid.selection_id is not None
    fake.orders[paid.selection_id]["status"] = "progress"  # the provider confirmed the payment
    fake.orders[paid.selection_id]["statusDescription"] = "Confirmed"
    assert _post(app, *webhook(event)).status_code == 200
    refreshed = service.get(paid.id)
    assert refreshed.receipt is not None and refreshed.receipt.status == "progress"
    assert refreshed.history[-1].event is Event.REFRESH_ORDER
    assert refreshed.history[-1].detail == f"order {paid.order}: Confirmed"


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        (lambda body, sig: (body + b"x", sig), 401),
        (lambda body, sig: (body, None), 401),
        (lambda body, sig: (body, sign(body, SECRET, int(time.time()) - 86_400)), 401),
        (lambda body, sig: (body, sign(body, "other-secret", int(time.time()))), 401),
    ],
)
def test_a_tampered_missing_or_day_old_webhook_is_refused_and_changes_nothing(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService], tamper: object, status: int
) -> None:
    _, store, service = shop
    paid = run_seed_flow(service)
    body, signature = webhook({"type": "order", "action": "update", "id": paid.order})
    body, signature = tamper(body, signature)  # type: ignore[operator]
    answer = _post(asgi_app(WebhookReceiver(service, SECRET)), body, signature)
    assert answer.status_code == status
    assert store.load(paid.id) == paid


def test_the_webhook_app_answers_503_so_centra_sends_again_when_centra_cannot_say(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService],
) -> None:
    fake, store, service = shop
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    lossy = CheckoutService(transport=LosesAnswers(fake, {CallKind.PAYMENT_RESULT}), store=store)
    with pytest.raises(OutcomeUnknown):
        lossy.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    blind = CheckoutService(transport=LosesAnswers(fake, {CallKind.READ_SELECTION}), store=store)
    app = asgi_app(WebhookReceiver(blind, SECRET))
    event = {"type": "selection", "action": "update", "id": checkout.selection_id}
    assert _post(app, *webhook(event)).status_code == 503
    assert store.load(checkout.id).outcome_unknown is CallKind.PAYMENT_RESULT


def test_the_webhook_app_takes_only_posts_and_ignores_orders_it_does_not_know(
    shop: tuple[FakeCentra, MemoryStore, CheckoutService], caplog: pytest.LogCaptureFixture
) -> None:
    _, _, service = shop
    app = asgi_app(WebhookReceiver(service, SECRET))
    assert _post(app, b"", None, method="GET").status_code == 405
    with caplog.at_level(logging.INFO, logger="orderflow"):
        answer = _post(app, *webhook({"type": "order", "action": "update", "id": 99999}))
    assert answer.status_code == 200 and answer.json() == {"settled": []}
    assert any("no checkout knows" in r.getMessage() for r in caplog.records)


def test_the_fake_servers_signed_webhooks_reach_a_services_receiver_end_to_end() -> None:
    from orderflow.adapters.fake.server import FakeServer
    from orderflow.adapters.shop_api import ShopApiClient

    store = MemoryStore()
    holder: list[CheckoutService] = []

    class Late:  # the receiver's service exists once the fake's URL is known
        def receive(self, body: bytes, signature: str | None) -> list[object]:
            return WebhookReceiver(holder[0], SECRET).receive(body, signature)  # type: ignore[return-value]

    with FakeServer(asgi_app(Late())) as receiver:  # type: ignore[arg-type]
        fake = FakeCentra.seeded(
            webhook_url=receiver.base_url.replace("/api/shop", "/hooks"), webhook_secret=SECRET
        )
        with FakeServer(fake) as centra, ShopApiClient(centra.base_url, None) as client:
            service = CheckoutService(transport=client, store=store)
            holder.append(service)
            checkout = service.open()
            service.add_item(checkout.id, SEED_ITEM, 1)
            service.confirm(checkout.id, seed_details())
            service.start_payment(checkout.id)
            lossy = CheckoutService(
                transport=LosesAnswers(client, {CallKind.PAYMENT_RESULT}), store=store
            )
            with pytest.raises(OutcomeUnknown):
                lossy.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
            deadline = time.monotonic() + 15
            while store.load(checkout.id).state is not State.PAID:
                assert time.monotonic() < deadline, "the webhook never settled the checkout"
                time.sleep(0.05)
    settled = store.load(checkout.id)
    assert settled.order == fake.orders[checkout.selection_id or ""]["order"]
    assert settled.history[-1].event is Event.RECONCILE
