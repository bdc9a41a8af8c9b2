"""Case 3: the seed's whole flow in process, as a test runs it, against VCR.py replaying it.

Ours, per test: a new ``FakeCentra.seeded()``, a ``MemoryStore`` and a ``CheckoutService``,
then ``run_seed_flow`` (open, add item, confirm, start payment, complete payment: paid).
Peer, per test: VCR.py loads the cassette of the same five Centra exchanges and replays them
through an ``httpx.Client``, each answer decoded with ``json``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks import _vcr
from benchmarks._harness import Row, Settings, compare, failed, skipped, time_one
from benchmarks._seed import GRAND_TOTAL, ORDER, receipt_ok
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import run_seed_flow
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.service import CheckoutService

CASE = "seed_flow"
MEASURED = "seed flow open→paid per test, in process"
PEER = "VCR.py 9 + httpx (cassette loaded per test)"


def ours() -> Checkout:
    """One test: a fresh fake, store and service, and the seed's flow to ``paid``."""
    service = CheckoutService(transport=FakeCentra.seeded(), store=MemoryStore())
    return run_seed_flow(service)


def check_paid(checkout: Checkout) -> str | None:
    """``None`` when ``checkout`` is the seed's paid order; else what is wrong."""
    if checkout.state is not State.PAID:
        return f"ended in {checkout.state}"
    return receipt_ok(checkout.receipt)


def check_vcr(answers: list[object]) -> str | None:
    """``None`` when the replayed exchanges end in the seed's receipt."""
    last = answers[-1] if answers else None
    if not isinstance(last, dict) or last.get("order") != ORDER:
        return "VCR.py replay did not end in order 588"
    if last["totals"]["grandTotalPriceAsNumber"] != GRAND_TOTAL:
        return "VCR.py replay's grand total is not 3600"
    return None


def vcr_peer(directory: Path) -> Callable[[], list[object]]:
    """VCR.py's replay of the seed flow (recorded now). Raises ``ImportError`` without vcrpy."""
    return _vcr.replayer(_vcr.record(directory))


def run(settings: Settings) -> list[Row]:
    """Ours against VCR.py replaying the same exchanges."""
    row = Row(CASE, MEASURED, PEER, "µs", "faster", 15.0)
    problem = check_paid(ours())
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-") as directory:
        try:
            theirs = vcr_peer(Path(directory))
        except ImportError:
            row = skipped(CASE, MEASURED, PEER, "µs", "faster", 15.0, "peer not installed")
            row.ours = time_one(ours, settings) / 1000
            return [row]
        problem = problem or check_vcr(theirs())
        if problem:
            return [failed(row, problem)]
        ours_ns, theirs_ns = compare(ours, theirs, settings)
    row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
    return [row]
