"""Case 6: the HTTP adapter against the fake's ASGI app, against bare httpx calls plus ``json``.

Both sides make the seed's five Shop API calls (create selection, add item, checkout fields,
start payment, payment result) to the same ASGI app (``orderflow.adapters.fake.server``) through
``httpx.ASGITransport``, in one event loop. Ours: ``AsyncShopApiClient``'s ``Transport``
methods, answers decoded to core types. Peer: an ``httpx.AsyncClient``, each
body encoded and each answer decoded with ``json``. The fake has stock for every round.
Until the Shop API client and the fake server exist, the case is skipped.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, skipped
from benchmarks._seed import GRAND_TOTAL, ORDER, receipt_ok
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import (
    SEED_ITEM,
    SEED_PAYMENT_FIELDS,
    SEED_PAYMENT_REQUEST,
    seed_details,
)
from orderflow.adapters.shop_api import dialect
from orderflow.receipt import Receipt

CASE = "http_adapter"
MEASURED = "seed's 5 Shop API calls to the fake's ASGI app"
PEER = "bare httpx.AsyncClient + json"


def _app(fake: FakeCentra) -> Any:
    # Expected API: create_app(fake) -> an ASGI app serving fake.handle under BASE_PATH.
    fake_server = importlib.import_module("orderflow.adapters.fake.server")
    return fake_server.create_app(fake)


def _ours(app: Any) -> Callable[[], Any]:
    http = importlib.import_module("orderflow.adapters.shop_api.client")
    client = http.AsyncShopApiClient(
        base_url=_vcr.BASE_URL, api_key=_vcr.API_KEY, transport=httpx.ASGITransport(app=app)
    )
    details = seed_details()

    async def calls() -> Any:
        selection = (await client.create_selection()).selection_id
        await client.add_item(selection, SEED_ITEM, 1)
        await client.set_checkout_fields(selection, details)
        await client.start_payment(selection, details)
        return await client.payment_result(selection, SEED_PAYMENT_FIELDS)

    return calls


def _bare(app: Any) -> Callable[[], Any]:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=_vcr.BASE_URL,
        headers={dialect.API_KEY_HEADER: _vcr.API_KEY},
    )
    fields = {
        k: SEED_PAYMENT_REQUEST[k]
        for k in dialect.CHECKOUT_FIELD_KEYS
        if SEED_PAYMENT_REQUEST.get(k) is not None
    }

    async def call(method: str, path: str, body: Any = None) -> Any:
        content = json.dumps(body).encode() if body is not None else None
        response = await client.request(
            method, path, content=content, headers={"content-type": "application/json"}
        )
        response.raise_for_status()
        return json.loads(response.content)

    async def calls() -> Any:
        selection = (await call("POST", dialect.SELECTIONS))["selection"]["selection"]
        await call(
            "POST", dialect.ITEM.format(selection=selection, item=SEED_ITEM), {"quantity": 1}
        )
        await call("PUT", dialect.CHECKOUT_FIELDS.format(selection=selection), fields)
        await call(
            "POST",
            dialect.PAYMENT.format(selection=selection),
            {**SEED_PAYMENT_REQUEST, "selection": selection},
        )
        return await call(
            "POST",
            dialect.PAYMENT_RESULT,
            {"selection": selection, "paymentMethodFields": SEED_PAYMENT_FIELDS},
        )

    return calls


def run(settings: Settings) -> list[Row]:
    """Ours (the Shop API client) against bare httpx, or a skipped row until it exists."""
    for module in ("orderflow.adapters.shop_api.client", "orderflow.adapters.fake.server"):
        try:
            importlib.import_module(module)
        except ImportError:
            return [
                skipped(CASE, MEASURED, PEER, "µs", "at_most", 1.3, f"{module} not available yet")
            ]
    row = Row(CASE, MEASURED, PEER, "µs", "at_most", 1.3)
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10**9})
    loop = asyncio.new_event_loop()
    try:
        try:
            app = _app(fake)
            ours_calls, bare_calls = _ours(app), _bare(app)
            receipt = loop.run_until_complete(ours_calls())
        except Exception as error:  # the adapter is young: report, do not crash the run
            return [failed(row, f"HTTP adapter: {type(error).__name__}: {error}")]
        answer = loop.run_until_complete(bare_calls())
        problem = receipt_ok(receipt) if isinstance(receipt, Receipt) else f"got {receipt!r}"
        if problem is None and (
            answer.get("order") is None
            or answer["totals"]["grandTotalPriceAsNumber"] != GRAND_TOTAL
        ):
            problem = "bare httpx did not end in a receipt of 3600"
        if problem:
            return [failed(row, problem)]

        def ours() -> Any:
            return loop.run_until_complete(ours_calls())

        def theirs() -> Any:
            return loop.run_until_complete(bare_calls())

        ours_ns, theirs_ns = compare(ours, theirs, settings)
    finally:
        loop.close()
    row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
    row.note = f"orders {ORDER}+ from one fake"
    return [row]
