"""``http_adapter``: our Shop API clients against bare httpx plus ``json``, making the same calls.

Both sides make the seed's five Shop API calls (create selection, add item, checkout fields,
start payment, payment result) to the same fake, in process, so what differs is the client:

- sync: ``ShopApiClient.send`` of the typed calls (answers decoded to core types) against one
  ``httpx.Client`` sending the same requests (``_wire``, built by our own dialect) and
  decoding each answer with ``json``; both over one ``httpx.MockTransport`` serving
  ``FakeCentra.serve_shop_api``;
- async: ``AsyncShopApiClient`` against one ``httpx.AsyncClient``, both over
  ``httpx.ASGITransport`` to the fake's own ASGI app (``orderflow.adapters.fake.server``), in
  one event loop.

Each side checks every status (the bare one with ``raise_for_status``) and must end in a
receipt of 3600. The fake has stock for every round; its order numbers count up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from benchmarks._harness import Row, Settings, compare, failed, first_problem
from benchmarks._seed import receipt_ok, wire_receipt_ok
from benchmarks._wire import API_KEY, BASE_URL, HEADERS, fake_handler, seed_calls, selection_of
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import create_app
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.calls import AddItem, CreateSelection, PaymentResult, SetCheckoutFields, StartPayment
from orderflow.receipt import Receipt

CASE = "http_adapter"
MEASURED_SYNC = "seed's 5 Shop API calls, sync, to the fake over httpx.MockTransport"
MEASURED_ASYNC = "seed's 5 Shop API calls, async, to the fake's ASGI app over ASGITransport"
TARGET = 1.1


def _fake() -> FakeCentra:
    return FakeCentra.seeded(stock={SEED_ITEM: 10**9})


def _ours_sync(client: ShopApiClient) -> Callable[[], Any]:
    details = seed_details()

    def calls() -> Any:
        selection = client.send(CreateSelection()).selection_id
        client.send(AddItem(selection, SEED_ITEM, 1))
        client.send(SetCheckoutFields(selection, details))
        client.send(StartPayment(selection, details))
        return client.send(PaymentResult(selection, SEED_PAYMENT_FIELDS))

    return calls


def _bare_sync(client: httpx.Client) -> Callable[[], Any]:
    first, *rest = seed_calls()
    dumps, loads = json.dumps, json.loads
    json_headers = {"content-type": "application/json"}

    def call(method: str, path: str, body: Any) -> Any:
        content = dumps(body).encode() if body is not None else None
        response = client.request(method, path, content=content, headers=json_headers)
        response.raise_for_status()
        return loads(response.content)

    def calls() -> Any:
        selection = selection_of(call(first.method, first.path, first.body))
        answer = None
        for wire in rest:
            answer = call(wire.method, wire.path_for(selection), wire.body_for(selection))
        return answer

    return calls


def _ours_async(client: AsyncShopApiClient) -> Callable[[], Coroutine[Any, Any, Any]]:
    details = seed_details()

    async def calls() -> Any:
        selection = (await client.send(CreateSelection())).selection_id
        await client.send(AddItem(selection, SEED_ITEM, 1))
        await client.send(SetCheckoutFields(selection, details))
        await client.send(StartPayment(selection, details))
        return await client.send(PaymentResult(selection, SEED_PAYMENT_FIELDS))

    return calls


def _bare_async(client: httpx.AsyncClient) -> Callable[[], Coroutine[Any, Any, Any]]:
    first, *rest = seed_calls()
    dumps, loads = json.dumps, json.loads
    json_headers = {"content-type": "application/json"}

    async def call(method: str, path: str, body: Any) -> Any:
        content = dumps(body).encode() if body is not None else None
        response = await client.request(method, path, content=content, headers=json_headers)
        response.raise_for_status()
        return loads(response.content)

    async def calls() -> Any:
        selection = selection_of(await call(first.method, first.path, first.body))
        answer = None
        for wire in rest:
            answer = await call(wire.method, wire.path_for(selection), wire.body_for(selection))
        return answer

    return calls


def _problem(receipt: Any, answer: Any) -> str | None:
    ours = receipt_ok(receipt) if isinstance(receipt, Receipt) else f"ours got {receipt!r}"
    return first_problem(ours, wire_receipt_ok(answer, order=None))


def _sync_row(settings: Settings) -> Row:
    row = Row(CASE, MEASURED_SYNC, "bare httpx.Client + json", "µs", "at_most", TARGET)
    transport = httpx.MockTransport(fake_handler(_fake()))
    with (
        ShopApiClient(BASE_URL, API_KEY, transport=transport) as ours_client,
        httpx.Client(transport=transport, base_url=BASE_URL, headers=HEADERS) as bare_client,
    ):
        ours, theirs = _ours_sync(ours_client), _bare_sync(bare_client)
        problem = _problem(ours(), theirs())
        if problem:
            return failed(row, problem)
        return row.record(compare(ours, theirs, settings), 1000)


def _async_row(settings: Settings) -> Row:
    row = Row(CASE, MEASURED_ASYNC, "bare httpx.AsyncClient + json", "µs", "at_most", TARGET)
    transport = httpx.ASGITransport(app=create_app(_fake()))
    loop = asyncio.new_event_loop()
    try:
        ours_client = AsyncShopApiClient(BASE_URL, API_KEY, transport=transport)
        bare_client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=HEADERS)
        try:
            ours_calls, bare_calls = _ours_async(ours_client), _bare_async(bare_client)
            problem = _problem(
                loop.run_until_complete(ours_calls()), loop.run_until_complete(bare_calls())
            )
            if problem:
                return failed(row, problem)
            pair = compare(
                lambda: loop.run_until_complete(ours_calls()),
                lambda: loop.run_until_complete(bare_calls()),
                settings,
            )
        finally:
            loop.run_until_complete(ours_client.aclose())
            loop.run_until_complete(bare_client.aclose())
    finally:
        loop.close()
    return row.record(pair, 1000)


def run(settings: Settings) -> list[Row]:
    """Ours against bare httpx, sync and async."""
    return [_sync_row(settings), _async_row(settings)]
