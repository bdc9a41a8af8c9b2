"""``receipt_decode``: the seed receipt, bytes to typed objects.

Ours: ``orderflow.codec.loads(raw, Receipt)`` (``Money`` built from the ``...AsNumber``
fields, Centra's ``false`` recorded, unknown keys kept). Peers: pydantic v2
``model_validate_json`` of the same shape (``_receipt_models``); a ``msgspec.json.Decoder`` of
Structs (``_structs``); and, for reference, cattrs' own generated hooks on plain attrs classes
(the lower bound of a cattrs-native codec, which is why the core generates its own plans).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._harness import Row, Settings, compare, failed, missing_peer, ours_alone
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

    from benchmarks._structs import StructReceipt, lost_keys

    decoder = msgspec.json.Decoder(StructReceipt)
    lost = lost_keys(decoder.decode(raw), raw)
    if lost:  # a decoder that drops keys would look faster than one that keeps them
        raise ValueError(f"msgspec's Structs drop {', '.join(lost[:5])}: not the same data")
    return lambda: decoder.decode(raw)


def _cattrs(raw: bytes) -> Callable[[], Any]:
    from benchmarks._receipt_cattrs import decoder

    decode = decoder()
    return lambda: decode(raw)


def _row(
    peer: str,
    target: float | None,
    build: Callable[[bytes], Callable[[], Any]],
    settings: Settings,
) -> Row:
    raw = receipt_bytes()

    def ours() -> Receipt:
        return codec.loads(raw, Receipt)

    row = Row(CASE, MEASURED, peer, "µs", "at_most", target)
    try:
        theirs = build(raw)
    except ImportError as error:
        return ours_alone(row, ours, settings, missing_peer(error))
    except ValueError as error:
        return failed(row, str(error))
    problem = receipt_ok(ours())
    decoded = theirs()
    if problem is None and (
        decoded.order != ORDER or decoded.totals.grand_total_price_as_number != GRAND_TOTAL
    ):
        problem = f"{peer} decoded order {decoded.order!r}"
    if problem:
        return failed(row, problem)
    return row.record(compare(ours, theirs, settings), 1000)


def run(settings: Settings) -> list[Row]:
    """Ours against pydantic v2 and msgspec (targets) and cattrs' own hooks (reference)."""
    return [
        _row("pydantic v2 model_validate_json", 1.2, _pydantic, settings),
        _row("msgspec Structs, json.Decoder", 2.5, _msgspec, settings),
        _row(
            "cattrs generated hooks, renames only (no Money pairs, no extras)",
            None,
            _cattrs,
            settings,
        ),
    ]
