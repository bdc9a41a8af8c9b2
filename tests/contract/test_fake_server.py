"""The fake served over HTTP: Centra's status codes and JSON errors, in process and on a port."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import LostAnswer
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import FakeServer, create_app
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.errors import OutcomeUnknown
from orderflow.receipt import Receipt

BASE = "http://fake.test" + dialect.BASE_PATH


def asgi_client(fake: FakeCentra, **kwargs: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(fake, **kwargs))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


async def test_the_seed_flow_over_asgi_transport_gives_the_seeds_receipt() -> None:
    fake = FakeCentra.seeded(api_key="k")
    transport = httpx.ASGITransport(app=create_app(fake))
    async with AsyncShopApiClient(BASE, "k", transport=transport) as client:
        selection = (await client.create_selection()).selection_id
        await client.add_item(selection, SEED_ITEM, 1)
        await client.set_checkout_fields(selection, seed_details())
        await client.start_payment(selection, seed_details())
        receipt = await client.payment_result(selection, SEED_PAYMENT_FIELDS)
    assert isinstance(receipt, Receipt) and receipt.totals.grand_total_price.amount == 3600


async def test_a_malformed_json_body_is_a_400_json_error() -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.post("/selections", content=b"{not json")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "body" in response.json()["errors"]


async def test_a_body_that_is_not_an_object_is_a_400() -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.post("/selections", json=[1, 2])
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": "must be a JSON object"}}


@pytest.mark.parametrize("url", ["http://fake.test/elsewhere", BASE + "/no/such/endpoint"])
async def test_an_unknown_path_is_a_404_json_error(url: str) -> None:
    async with asgi_client(FakeCentra.seeded()) as client:
        response = await client.get(url)
    assert response.status_code == 404
    assert "path" in response.json()["errors"]


async def test_centras_status_and_error_body_pass_through() -> None:
    async with asgi_client(FakeCentra.seeded(api_key="k")) as client:
        refused = await client.post("/selections")
        created = await client.post("/selections", headers={dialect.API_KEY_HEADER: "k"})
    assert refused.status_code == 401
    assert refused.json() == {"errors": {dialect.API_KEY_HEADER: "not valid"}}
    assert created.status_code == 201 and "selection" in created.json()


class LoseAfter:
    """A ``Faults`` hook: the named endpoint's answer is lost after the fake acted."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def before(self, endpoint: str, method: str, path: str, body: Any) -> None:
        return None

    def after(self, endpoint: str, status: int, body: Any) -> None:
        if endpoint == self.endpoint:
            raise LostAnswer(endpoint, acted=True)


def test_a_lost_answer_is_held_until_the_client_times_out_and_is_outcome_unknown() -> None:
    fake = FakeCentra.seeded()
    with FakeServer(fake) as server:
        client = ShopApiClient(server.base_url, None, timeout=httpx.Timeout(5.0, read=0.3))
        with client:
            selection = client.create_selection().selection_id
            client.add_item(selection, SEED_ITEM, 1)
            client.start_payment(selection, seed_details())
            fake.faults = LoseAfter("payment_result")
            with pytest.raises(OutcomeUnknown):
                client.payment_result(selection, SEED_PAYMENT_FIELDS)
            fake.faults = None
            assert client.read_receipt(selection) is not None
    assert fake.calls["payment_result"] == 1 and len(fake.orders) == 1
