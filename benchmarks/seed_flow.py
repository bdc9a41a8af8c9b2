"""``seed_flow``: the seed's whole flow in process, as a test runs it, against VCR.py replaying it.

Ours, per test: a new ``FakeCentra.seeded()``, a ``MemoryStore`` and a ``CheckoutService``,
then ``run_seed_flow`` (open, add item, confirm, start payment, complete payment: paid).
Peer, per test: VCR.py loads its cassette of the same five Centra exchanges and replays them
through an ``httpx.Client``, each answer decoded with ``json`` (``_vcr``), once with each of
its serializers: ``json`` (its fastest) and ``yaml`` (its default).

Two reference rows split ours, each against VCR.py (json): the same service and store with
each call answered by the core object the fake answered it with, handed back (no fake, no
decoding); and the decoding alone of the five answers the fake gave (``WireRequest.decode`` of
each, Centra's JSON to core types, as ``FakeCentra.send`` and the HTTP clients do). What ours
spends beyond the two is the fake's own work.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, missing_peer, ours_alone
from benchmarks._seed import in_process_flow, paid_ok, wire_receipt_ok
from benchmarks._wire import HEADERS
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import run_seed_flow
from orderflow.adapters.http.exchange import WireRequest
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import Call
from orderflow.checkout import Checkout
from orderflow.service import CheckoutService

CASE = "seed_flow"
MEASURED = "seed flow open→paid per test, in process"
_PEERS = {
    "json": "VCR.py 9 + httpx, json serializer (its fastest; cassette loaded per test)",
    "yaml": "VCR.py 9 + httpx, yaml serializer (its default, libyaml)",
}


SERVICE_ONLY = "ours without the fake: the service, each answer handed back already decoded"
DECODING_ONLY = "ours' decoding alone: the fake's five answers, Centra's JSON to core types"


class _Given:
    """A ``Transport`` answering each call with the next of ``answers``, doing nothing else."""

    def __init__(self, answers: tuple[object, ...]):
        self._answers = iter(answers)

    def send(self, call: Call[Any]) -> Any:
        return next(self._answers)


def _recorded() -> list[tuple[WireRequest[Any], int, Any, object]]:
    """Each request of the seed flow against ``FakeCentra.seeded()`` (through the Shop API
    dialect, as ``FakeCentra.send`` makes it), the fake's status and JSON, and the answer."""
    fake = FakeCentra.seeded()
    exchanges: list[tuple[WireRequest[Any], int, Any, object]] = []

    class Recording:
        def send(self, call: Call[Any]) -> Any:
            request = dialect.request(call)
            status, body = fake.serve_shop_api(request.method, request.path, request.body, HEADERS)
            answer = request.decode(status, body)
            exchanges.append((request, status, body, answer))
            return answer

    run_seed_flow(CheckoutService(transport=Recording(), store=MemoryStore()))
    return exchanges


def _service_only() -> Callable[[], Checkout]:
    given = tuple(answer for *_, answer in _recorded())

    def one_test() -> Checkout:
        return run_seed_flow(CheckoutService(transport=_Given(given), store=MemoryStore()))

    return one_test


def _decoding_only() -> tuple[Callable[[], list[object]], list[object]]:
    """The decoding of the fake's five answers, and the answers the flow decoded from them."""
    exchanges = _recorded()

    def decoding() -> list[object]:
        return [request.decode(status, body) for request, status, body, _ in exchanges]

    return decoding, [answer for *_, answer in exchanges]


def vcr_answers_ok(answers: list[object]) -> str | None:
    """``None`` when the replayed exchanges are five and end in the seed's receipt."""
    if len(answers) != 5:
        return f"VCR.py replayed {len(answers)} exchanges, expected 5"
    return wire_receipt_ok(answers[-1])


def run(settings: Settings) -> list[Row]:
    """Ours against VCR.py replaying the same exchanges, with each of its serializers."""
    rows = []
    problem = paid_ok(in_process_flow())
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        for serializer in _vcr.SERIALIZERS:
            row = Row(CASE, MEASURED, _PEERS[serializer], "µs", "faster", 15.0)
            try:
                theirs = _vcr.replayer(_vcr.record(Path(directory), serializer), serializer)
            except ImportError as error:
                rows.append(ours_alone(row, in_process_flow, settings, missing_peer(error)))
                continue
            found = problem or vcr_answers_ok(theirs())
            if found:
                rows.append(failed(row, found))
                continue
            rows.append(row.record(compare(in_process_flow, theirs, settings), 1000))
            if serializer == "json":
                rows.append(_service_row(_PEERS[serializer], theirs, settings))
                rows.append(_decoding_row(_PEERS[serializer], theirs, settings))
    return rows


def _service_row(peer: str, theirs: Callable[[], object], settings: Settings) -> Row:
    row = Row(CASE, SERVICE_ONLY, peer, "µs", "faster", None)
    service_only = _service_only()
    found = paid_ok(service_only())
    if found:
        return failed(row, found)
    return row.record(compare(service_only, theirs, settings), 1000)


def _decoding_row(peer: str, theirs: Callable[[], object], settings: Settings) -> Row:
    row = Row(CASE, DECODING_ONLY, peer, "µs", "faster", None)
    decoding, expected = _decoding_only()
    if decoding() != expected:  # the very answers the flow was given
        return failed(row, "decoding the fake's answers gave other answers than the flow's")
    return row.record(compare(decoding, theirs, settings), 1000)
