"""The seed flow as a bare HTTP client sends it: five Shop API requests, and the fake serving them.

The requests are built once by our own dialect (``dialect.request`` of the seed's five calls),
so every bare peer sends exactly what ``ShopApiClient`` sends: same methods, paths and JSON
bodies; only the selection id changes per flow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.shop_api import dialect
from orderflow.calls import (
    AddItem,
    Call,
    CreateSelection,
    PaymentResult,
    SetCheckoutFields,
    StartPayment,
)

BASE_URL = "https://shop.example.test" + dialect.BASE_PATH
API_KEY = "bench-key"
HEADERS = {dialect.API_KEY_HEADER: API_KEY}
_MARK = "SELECTION-ID"


@dataclass(frozen=True)
class WireCall:
    """One request of the seed flow, with ``SELECTION-ID`` where the selection id goes."""

    method: str
    path: str
    body: dict[str, Any] | None

    def path_for(self, selection: str) -> str:
        """The path for ``selection``."""
        return self.path.replace(_MARK, selection)

    def body_for(self, selection: str) -> dict[str, Any] | None:
        """The JSON body for ``selection`` (a shallow copy where the id appears)."""
        body = self.body
        if body is None or _MARK not in body.values():
            return body
        return {k: selection if v == _MARK else v for k, v in body.items()}


@cache
def seed_calls() -> tuple[WireCall, ...]:
    """The seed's five Shop API requests: create selection, add item, checkout fields, start
    payment, payment result (Shop API v1 path, as ``ShopApiClient`` sends it)."""
    details = seed_details()
    calls: list[Call[Any]] = [
        CreateSelection(),
        AddItem(_MARK, SEED_ITEM, 1),
        SetCheckoutFields(_MARK, details),
        StartPayment(_MARK, details),
        PaymentResult(_MARK, SEED_PAYMENT_FIELDS),
    ]
    return tuple(
        WireCall(request.method, request.path, json.loads(json.dumps(request.body)))
        for request in map(dialect.request, calls)
    )


def selection_of(answer: Any) -> str:
    """The selection id in a create-selection answer."""
    selection: str = answer["selection"]["selection"]
    return selection


def seed_exchanges(client: httpx.Client) -> list[Any]:
    """Send the seed's requests with ``client`` (raising on an error status); the answers,
    each decoded with ``json``."""
    first, *rest = seed_calls()
    response = client.request(first.method, first.path, json=first.body)
    response.raise_for_status()
    answers = [json.loads(response.content)]
    selection = selection_of(answers[0])
    for call in rest:
        response = client.request(
            call.method, call.path_for(selection), json=call.body_for(selection)
        )
        response.raise_for_status()
        answers.append(json.loads(response.content))
    return answers


@cache
def seed_answers() -> tuple[tuple[int, tuple[tuple[bytes, bytes], ...], bytes], ...]:
    """The seed's five answers as the fake sent them over HTTP: status, raw headers, body."""
    handler = fake_handler(FakeCentra.seeded())
    answers = []

    def recording(request: httpx.Request) -> httpx.Response:
        response = handler(request)
        answers.append((response.status_code, tuple(response.headers.raw), response.content))
        return response

    with httpx.Client(
        transport=httpx.MockTransport(recording), base_url=BASE_URL, headers=HEADERS
    ) as client:
        seed_exchanges(client)
    return tuple(answers)


class HandBack(httpx.BaseTransport):
    """A transport handing back ``answers`` in order and doing nothing else (no matching, no
    cassette, no check of the request): the least any replay through httpx can do."""

    def __init__(self, answers: tuple[tuple[int, tuple[tuple[bytes, bytes], ...], bytes], ...]):
        self._answers = iter(answers)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, content = next(self._answers)
        return httpx.Response(status, headers=headers, content=content)


def fake_handler(fake: FakeCentra) -> Callable[[httpx.Request], httpx.Response]:
    """An ``httpx.MockTransport`` handler answering with ``fake.serve_shop_api`` (no network)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        status, answer = fake.serve_shop_api(request.method, path, body, request.headers)
        return httpx.Response(status, json=answer)

    return handler
