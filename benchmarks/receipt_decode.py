"""Case 4: the seed receipt, bytes to typed objects.

Ours: ``orderflow.codec.loads(raw, Receipt)`` (``Money`` built from the ``...AsNumber``
fields, Centra's ``false`` recorded, unknown keys kept). Peers: pydantic v2
``model_validate_json`` of the same shape; msgspec ``json.decode`` with Structs (the floor,
no target); cattrs' own generated hooks on plain attrs classes (reference, no target: the
lower bound of a cattrs-native codec, which is why the core generates its own plans).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._harness import Goal, Row, Settings, compare, failed, skipped, time_one
from benchmarks._seed import GRAND_TOTAL, ORDER, receipt_bytes, receipt_ok
from orderflow import codec
from orderflow.receipt import Receipt

CASE = "receipt_decode"
MEASURED = "seed receipt, bytes → typed objects"


def _pydantic(raw: bytes) -> Callable[[], Any]:
    from benchmarks._receipt_models import PydanticReceipt

    validate = PydanticReceipt.model_validate_json
    return lambda: validate(raw)


def _msgspec(raw: bytes) -> Callable[[], Any]:
    import msgspec

    from benchmarks._receipt_structs import StructReceipt

    decoder = msgspec.json.Decoder(StructReceipt)
    return lambda: decoder.decode(raw)


def _cattrs(raw: bytes) -> Callable[[], Any]:
    from benchmarks._receipt_cattrs import decoder

    decode = decoder()
    return lambda: decode(raw)


def _row(
    peer: str,
    goal: Goal,
    target: float | None,
    build: Callable[[bytes], Callable[[], Any]],
    settings: Settings,
) -> Row:
    raw = receipt_bytes()

    def ours() -> Receipt:
        return codec.loads(raw, Receipt)

    row = Row(CASE, MEASURED, peer, "µs", goal, target)
    try:
        theirs = build(raw)
    except ImportError:
        row = skipped(CASE, MEASURED, peer, "µs", goal, target, "peer not installed")
        row.ours = time_one(ours, settings) / 1000
        return row
    problem = receipt_ok(ours())
    decoded = theirs()
    if problem is None and (
        decoded.order != ORDER or decoded.totals.grand_total_price_as_number != GRAND_TOTAL
    ):
        problem = f"{peer} decoded order {decoded.order!r}"
    if problem:
        return failed(row, problem)
    ours_ns, theirs_ns = compare(ours, theirs, settings)
    row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
    return row


def run(settings: Settings) -> list[Row]:
    """Ours against pydantic v2 (target) and msgspec (the floor, for reference)."""
    return [
        _row("pydantic v2 model_validate_json", "at_most", 1.5, _pydantic, settings),
        _row("msgspec Structs (the floor)", "none", None, _msgspec, settings),
        _row(
            "cattrs generated hooks, renames only (no Money pairs, no extras)",
            "none",
            None,
            _cattrs,
            settings,
        ),
    ]
