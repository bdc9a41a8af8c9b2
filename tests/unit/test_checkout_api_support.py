"""What the Checkout API tests share (no tests here): documented payloads, a mock Centra that
answers them, a client of either kind on it, and a checkout service of either kind over it.

The answers are the payloads of Centra's documentation (``tests/data/checkout-api``, and
``tests/data/centra-docs`` for what several pages share), so the dialect is tested against
Centra as documented, not against our fake.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from orderflow import codec
from orderflow.adapters.checkout_api.client import AsyncCheckoutApiClient, CheckoutApiClient
from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.calls import Call
from orderflow.payment import PaymentRequest
from orderflow.service import AsyncCheckoutService, CheckoutService

DATA = Path(__file__).resolve().parents[1] / "data"
BASE_URL = "https://shop.example.test/api/checkout"
SECRET = "s3cret-plugin-secret"
TOKEN = "0ft2kmhg80tlkgq26fq4840vkp"
"""The session token of the documentation's order flow."""
ROTATED = "r0tat3dt0k3n0000000000000a"
"""A token Centra answers once the first one expired."""
SELECTION = "ca-selection-held-by-the-service"

KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
"""Run a test with the blocking and with the asyncio client (or service)."""

Handler = Callable[[httpx.Request], httpx.Response]
Reply = tuple[int, Any] | Handler


def doc(name: str) -> Any:
    """A documented payload: ``tests/data/checkout-api/<name>``, or ``centra-docs/<name>``."""
    folder, _, file = name.rpartition("/")
    path = DATA / (folder or "checkout-api") / file
    return json.loads(path.read_text(encoding="utf-8"))


def details() -> PaymentRequest:
    """The order flow page's payment request (``termsAndConditions`` as the boolean the
    service requires; the page sends the string ``"true"``)."""
    wire = {**doc("payment.request.json"), "termsAndConditions": True}
    return codec.structure(wire, PaymentRequest, source="payment.request.json")


class Centra:
    """A mock Checkout API: answers each ``(method, path)`` (under the base) with a documented
    payload, whose ``token`` it sets to the session's current one (``token``; change it to
    rotate), as every Checkout API answer has one; records each request. An unknown route
    answers 404."""

    def __init__(self, routes: dict[tuple[str, str], Reply], token: str = TOKEN):
        self.routes = routes
        self.token = token
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().removeprefix("/api/checkout")
        reply = self.routes.get((request.method, path))
        if reply is None:
            return httpx.Response(404, json={"token": self.token, "errors": {"uri": "not found"}})
        if callable(reply):
            return reply(request)
        status, body = reply
        body = copy.deepcopy(body)
        if isinstance(body, dict):
            body["token"] = self.token
        return httpx.Response(status, json=body)

    def sent(self) -> list[tuple[str, str]]:
        """Each request's method and path (as sent, quoted)."""
        return [
            (r.method, r.url.raw_path.decode().removeprefix("/api/checkout")) for r in self.requests
        ]


def chosen(body: Any, method: str) -> Any:
    """``body`` with ``method`` as the selection's payment method (what ``PUT
    payment-methods/{id}`` does to the documented selection)."""
    body = copy.deepcopy(body)
    body["selection"]["paymentMethod"] = method
    return body


def flow_routes() -> dict[tuple[str, str], Reply]:
    """The order flow page's calls, each answering as the page shows."""
    us = doc("countries.put-US.response.json")
    return {
        ("GET", "/selection"): (200, doc("selection.response.json")),
        ("POST", "/items/1-1/quantity/1"): (200, doc("items.add.second.response.json")),
        ("PUT", "/countries/US"): (200, us),
        ("PUT", "/payment-fields"): (200, us),
        ("PUT", "/payment-methods/dummy"): (200, chosen(us, "dummy")),
        ("POST", "/payment"): (200, doc("payment.form-action.response.json")),
        ("POST", "/payment-result"): (200, doc("payment-result.response.json")),
    }


def _awaited(run: asyncio.Runner, value: Any) -> Any:
    return run.run(value) if inspect.iscoroutine(value) else value


class Api:
    """A Checkout API client of one ``kind`` on a mock transport, sent calls the same way for
    both; records each sleep. Close it (a ``with`` block)."""

    def __init__(self, kind: str, handler: Handler, secret: str | None = SECRET, **options: Any):
        self.kind = kind
        self.sleeps: list[float] = []
        self._runner = asyncio.Runner()
        mock = httpx.MockTransport(handler)
        self.client: CheckoutApiClient | AsyncCheckoutApiClient
        if kind == "sync":
            self.client = CheckoutApiClient(
                BASE_URL, secret, transport=mock, sleep=self.sleeps.append, **options
            )
        else:
            self.client = AsyncCheckoutApiClient(
                BASE_URL, secret, transport=mock, sleep=self._sleep, **options
            )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def send(self, call: Call[Any]) -> Any:
        """``client.send(call)``, awaited for the async client."""
        return _awaited(self._runner, self.client.send(call))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if isinstance(self.client, CheckoutApiClient):
            self.client.close()
        else:
            self._runner.run(self.client.aclose())
        self._runner.close()


class Shop:
    """A checkout service of one ``kind`` over a Checkout API client on ``handler``, in
    memory; its methods are called the same way for both. Close it (a ``with`` block)."""

    def __init__(self, kind: str, handler: Handler):
        self.api = Api(kind, handler)
        self.service: CheckoutService | AsyncCheckoutService
        if isinstance(self.api.client, CheckoutApiClient):
            self.service = CheckoutService(transport=self.api.client, store=MemoryStore())
        else:
            self.service = AsyncCheckoutService(transport=self.api.client, store=AsyncMemoryStore())

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.service, name)
        return lambda *args, **kwargs: _awaited(self.api._runner, method(*args, **kwargs))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.api.__exit__(*exc_info)
