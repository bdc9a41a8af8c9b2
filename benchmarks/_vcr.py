"""VCR.py, the peer of the in-process and replay cases: a cassette of the seed's exchanges.

VCR.py offers two serializers, ``yaml`` (its default; PyYAML's libyaml loader where it is
built, as here) and ``json``; both are measured. The cassette is recorded once, with no
network: ``FakeCentra.serve_shop_api`` is served through ``httpx.MockTransport`` (vcrpy
patches httpx's send, so it records and replays clients whatever their transport). Each
replay loads the cassette (``VCR(...).use_cassette``, as a test's decorator or ``with``
block does) and makes the same requests with one ``httpx.Client``, decoding each answer with
``json``. Requests match on VCR.py's defaults (method, scheme, host, port, path, query).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks._wire import BASE_URL, HEADERS, fake_handler, seed_exchanges
from orderflow.adapters.fake.centra import FakeCentra

SERIALIZERS = ("json", "yaml")
"""VCR.py's own serializers: ``json`` measured fastest here, ``yaml`` is the default."""


def _vcr(serializer: str, record_mode: str) -> Any:
    import vcr  # type: ignore[import-untyped, unused-ignore]

    return vcr.VCR(serializer=serializer, record_mode=record_mode)


def record(directory: Path, serializer: str) -> Path:
    """Record the seed's exchanges into a VCR.py cassette in ``directory``.

    Raises ``ImportError`` when vcrpy is not installed.
    """
    path = directory / f"seed-flow.vcr.{serializer}"
    transport = httpx.MockTransport(fake_handler(FakeCentra.seeded()))
    with (
        _vcr(serializer, "all").use_cassette(str(path)),
        httpx.Client(transport=transport, base_url=BASE_URL, headers=HEADERS) as client,
    ):
        seed_exchanges(client)
    return path


def replayer(path: Path, serializer: str) -> Callable[[], list[Any]]:
    """One test's worth of VCR.py: a client, the cassette loaded, the exchanges replayed and
    decoded (ours makes its client per test too).

    The client's own transport fails every request, so an answer can only come from the
    cassette; ``allow_playback_repeats=False`` makes each recorded exchange play once.
    """
    config = _vcr(serializer, "none")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"VCR.py did not replay {request.method} {request.url}")

    transport = httpx.MockTransport(refuse)

    def replay() -> list[Any]:
        with (
            config.use_cassette(str(path), allow_playback_repeats=False),
            httpx.Client(transport=transport, base_url=BASE_URL, headers=HEADERS) as client,
        ):
            return seed_exchanges(client)

    return replay
