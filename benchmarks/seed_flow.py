"""``seed_flow``: the seed's whole flow in process, as a test runs it, against VCR.py replaying it.

Ours, per test: a new ``FakeCentra.seeded()``, a ``MemoryStore`` and a ``CheckoutService``,
then ``run_seed_flow`` (open, add item, confirm, start payment, complete payment: paid).
Peer, per test: VCR.py loads its cassette of the same five Centra exchanges and replays them
through an ``httpx.Client``, each answer decoded with ``json`` (``_vcr``), once with each of
its serializers: ``json`` (its fastest) and ``yaml`` (its default).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, missing_peer, ours_alone
from benchmarks._seed import in_process_flow, paid_ok, wire_receipt_ok

CASE = "seed_flow"
MEASURED = "seed flow open→paid per test, in process"
_PEERS = {
    "json": "VCR.py 9 + httpx, json serializer (its fastest; cassette loaded per test)",
    "yaml": "VCR.py 9 + httpx, yaml serializer (its default, libyaml)",
}


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
    return rows
