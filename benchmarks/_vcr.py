"""VCR.py, the peer of the in-process and replay cases: a cassette of the seed's exchanges.

The cassette is recorded once, with no network: ``FakeCentra.handle`` is served through
``httpx.MockTransport`` (vcrpy patches ``httpx.Client``'s send, so it records and replays
clients whatever their transport). Each replay loads the cassette, as a test does, and makes
the same requests with an ``httpx.Client``, decoding every answer with ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, SEED_PAYMENT_REQUEST
from orderflow.adapters.shop_api import dialect

BASE_URL = "https://shop.example.test" + dialect.BASE_PATH
API_KEY = "bench-key"

Exchange = tuple[str, str, dict[str, Any] | None]


def fake_app(fake: FakeCentra) -> Callable[[httpx.Request], httpx.Response]:
    """An httpx ``MockTransport`` handler answering with ``fake.handle``."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        status, answer = fake.serve_shop_api(request.method, path, body, request.headers)
        return httpx.Response(status, json=answer)

    return handler


def seed_exchanges(client: httpx.Client) -> list[Any]:
    """Send the seed's requests (open, add item, checkout fields, payment, payment result)."""
    answers = []

    def call(method: str, path: str, body: Any = None) -> Any:
        response = client.request(method, path, json=body)
        response.raise_for_status()
        answer = json.loads(response.content)
        answers.append(answer)
        return answer

    selection = call("POST", dialect.SELECTIONS)["selection"]["selection"]
    call("POST", dialect.ITEM.format(selection=selection, item=SEED_ITEM), {"quantity": 1})
    fields = {
        k: SEED_PAYMENT_REQUEST[k]
        for k in dialect.CHECKOUT_FIELD_KEYS
        if SEED_PAYMENT_REQUEST.get(k) is not None
    }
    call("PUT", dialect.CHECKOUT_FIELDS.format(selection=selection), fields)
    call(
        "POST",
        dialect.PAYMENT.format(selection=selection),
        {**SEED_PAYMENT_REQUEST, "selection": selection},
    )
    call(
        "POST",
        dialect.PAYMENT_RESULT,
        {"selection": selection, "paymentMethodFields": SEED_PAYMENT_FIELDS},
    )
    return answers


def record(directory: Path) -> Path:
    """Record the seed's exchanges into a VCR.py cassette in ``directory``.

    Raises ``ImportError`` when vcrpy is not installed.
    """
    import vcr  # type: ignore[import-untyped, unused-ignore]

    path = directory / "seed-flow.vcr.yaml"
    transport = httpx.MockTransport(fake_app(FakeCentra.seeded()))
    with (
        vcr.use_cassette(str(path), record_mode="all"),
        httpx.Client(
            transport=transport, base_url=BASE_URL, headers={dialect.API_KEY_HEADER: API_KEY}
        ) as client,
    ):
        seed_exchanges(client)
    return path


def replayer(path: Path) -> Callable[[], list[Any]]:
    """One test's worth of VCR.py: load the cassette, replay the exchanges, decode them.

    The client's own transport would fail every request, so an answer can only come from the
    cassette. The selection id in the paths is the recorded one, read back from the cassette.
    """
    import vcr  # type: ignore[import-untyped, unused-ignore]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"VCR.py did not replay {request.method} {request.url}")

    client = httpx.Client(
        transport=httpx.MockTransport(refuse),
        base_url=BASE_URL,
        headers={dialect.API_KEY_HEADER: API_KEY},
    )

    def replay() -> list[Any]:
        with vcr.use_cassette(str(path), record_mode="none", allow_playback_repeats=False):
            return seed_exchanges(client)

    return replay
