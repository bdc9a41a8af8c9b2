"""``replay``: replaying the seed's flow from a cassette, ours against VCR.py 9.

Ours, per test: ``ReplayTransport.from_cassette(path)`` (the cassette loaded per test) under a
``ShopApiClient``, a ``MemoryStore`` and a ``CheckoutService``, then ``run_seed_flow`` to
``paid``; every recorded exchange must have been played. Peer: VCR.py loading its cassette of
the same exchanges, replayed through httpx (``_vcr``), with its fastest serializer (``json``,
the target) and its default (``yaml``, for reference).

Both cassettes are recorded once at setup, with no network: ours by ``ReplayTransport`` (mode
``all``) around an ``httpx.MockTransport`` serving ``FakeCentra.serve_shop_api``.

A reference row measures the ceiling of any replay that goes through httpx, as ours does (an
httpx transport under the same client; DESIGN.md) and VCR.py does (it patches httpx's send):
per test a bare ``httpx.Client`` over a transport that hands back the five recorded answers
and does nothing else, each answer decoded with ``json``, against VCR.py (json). No replay, of
any design, can beat VCR.py by more than that ratio while httpx sends its requests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, missing_peer, ours_alone
from benchmarks._seed import paid_ok
from benchmarks._wire import BASE_URL, HEADERS, HandBack, fake_handler, seed_answers, seed_exchanges
from benchmarks.seed_flow import vcr_answers_ok
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import run_seed_flow
from orderflow.adapters.replay.transport import REPLAY_BASE_URL, ReplayTransport
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.checkout import Checkout
from orderflow.service import CheckoutService

CASE = "replay"
MEASURED = "seed flow open→paid replayed per test"
CEILING = "ceiling of any replay through httpx: bare httpx.Client, answers handed back"
_PEERS = {
    "json": ("VCR.py 9 + httpx, json serializer (its fastest)", 8.0),
    "yaml": ("VCR.py 9 + httpx, yaml serializer (its default)", None),
}


def _flow(transport: httpx.BaseTransport) -> Checkout:
    with ShopApiClient(REPLAY_BASE_URL, None, transport=transport) as client:
        return run_seed_flow(CheckoutService(transport=client, store=MemoryStore()))


def _record(path: Path) -> None:
    inner = httpx.MockTransport(fake_handler(FakeCentra.seeded()))
    with ReplayTransport.from_cassette(path, mode="all", inner=inner) as transport:
        _flow(transport)


def _ours(path: Path) -> Callable[[], Checkout]:
    def one_test() -> Checkout:
        transport = ReplayTransport.from_cassette(path)
        checkout = _flow(transport)
        if transport.unplayed:
            raise AssertionError(f"exchanges {transport.unplayed} of the cassette were not played")
        return checkout

    return one_test


def _ceiling() -> Callable[[], list[object]]:
    answers = seed_answers()

    def one_test() -> list[object]:
        with httpx.Client(
            transport=HandBack(answers), base_url=BASE_URL, headers=HEADERS
        ) as client:
            return seed_exchanges(client)

    return one_test


def run(settings: Settings) -> list[Row]:
    """Ours (``ReplayTransport``) against VCR.py with each of its serializers."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        cassette = Path(directory) / "seed-flow.cassette"
        _record(cassette)
        ours = _ours(cassette)
        problem = paid_ok(ours())
        for serializer in _vcr.SERIALIZERS:
            peer, target = _PEERS[serializer]
            row = Row(CASE, MEASURED, peer, "µs", "faster", target)
            try:
                theirs = _vcr.replayer(_vcr.record(Path(directory), serializer), serializer)
            except ImportError as error:
                rows.append(ours_alone(row, ours, settings, missing_peer(error)))
                continue
            found = problem or vcr_answers_ok(theirs())
            if found:
                rows.append(failed(row, found))
                continue
            rows.append(row.record(compare(ours, theirs, settings), 1000))
            if serializer == "json":
                rows.append(_ceiling_row(peer, theirs, settings))
    return rows


def _ceiling_row(peer: str, theirs: Callable[[], object], settings: Settings) -> Row:
    row = Row(CASE, CEILING, peer, "µs", "faster", None)
    ceiling = _ceiling()
    found = vcr_answers_ok(ceiling())
    if found:
        return failed(row, found)
    return row.record(compare(ceiling, theirs, settings), 1000)
