"""Case 5: replaying the seed's flow from a cassette, ours against VCR.py 9.

Ours, per test: ``ReplayTransport.from_cassette(path)`` (the cassette loaded per test) under
``ShopApiClient``, a ``MemoryStore`` and a ``CheckoutService``, then ``run_seed_flow`` to
``paid``. Peer: VCR.py loading its cassette of the same exchanges, replayed through httpx.

The cassette is recorded once at setup by ``ReplayTransport`` (mode ``all``) around an
``httpx.MockTransport`` that serves ``FakeCentra.serve_shop_api`` (no network); each replay checks
that every recorded exchange was played. Skipped while ``orderflow.adapters.replay.transport`` or
``orderflow.adapters.shop_api.client`` is missing.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, skipped
from benchmarks.seed_flow import check_paid, check_vcr
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import run_seed_flow
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.checkout import Checkout
from orderflow.service import CheckoutService

CASE = "replay"
MEASURED = "seed flow open→paid replayed per test"
PEER = "VCR.py 9 + httpx (cassette loaded per test)"


def _service(transport: httpx.BaseTransport) -> CheckoutService:
    from orderflow.adapters.shop_api.client import ShopApiClient  # type: ignore[import-not-found, unused-ignore]

    client = ShopApiClient(base_url=_vcr.BASE_URL, api_key=_vcr.API_KEY, transport=transport)
    return CheckoutService(transport=client, store=MemoryStore())


def _record(path: Path) -> None:
    from orderflow.adapters.replay.transport import ReplayTransport  # type: ignore[import-not-found, unused-ignore]

    inner = httpx.MockTransport(_vcr.fake_app(FakeCentra.seeded()))
    with ReplayTransport.from_cassette(path, mode="all", inner=inner) as transport:
        run_seed_flow(_service(transport))


def _ours(path: Path) -> Callable[[], Checkout]:
    from orderflow.adapters.replay.transport import ReplayTransport  # type: ignore[import-not-found, unused-ignore]

    def one_test() -> Checkout:
        transport = ReplayTransport.from_cassette(path)
        checkout = run_seed_flow(_service(transport))
        if transport.unplayed:
            raise AssertionError(f"exchanges {transport.unplayed} of the cassette were not played")
        return checkout

    return one_test


def run(settings: Settings) -> list[Row]:
    """Ours (``ReplayTransport``) against VCR.py, or a skipped row until it exists."""
    for module in ("orderflow.adapters.replay.transport", "orderflow.adapters.shop_api.client"):
        try:
            importlib.import_module(module)
        except ImportError:
            return [
                skipped(CASE, MEASURED, PEER, "µs", "faster", 5.0, f"{module} not available yet")
            ]
    row = Row(CASE, MEASURED, PEER, "µs", "faster", 5.0)
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        cassette = Path(directory) / "seed-flow.cassette"
        try:
            _record(cassette)
            ours = _ours(cassette)
            problem = check_paid(ours())
        except Exception as error:  # the adapter is young: report, do not crash the run
            return [failed(row, f"replay transport: {type(error).__name__}: {error}")]
        try:
            theirs: Callable[[], Any] = _vcr.replayer(_vcr.record(Path(directory)))
        except ImportError:
            return [skipped(CASE, MEASURED, PEER, "µs", "faster", 5.0, "peer not installed")]
        problem = problem or check_vcr(theirs())
        if problem:
            return [failed(row, problem)]
        ours_ns, theirs_ns = compare(ours, theirs, settings)
    row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
    return [row]
