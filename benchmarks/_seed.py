"""The seed's data every case starts from: the receipt bytes, a cart after one item."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from adapters.fake import FakeCentra
from adapters.memory import MemoryStore
from adapters.seed import SEED_ITEM, run_seed_flow
from orderflow import codec
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse
from orderflow.service import CheckoutService

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RECEIPT_FILE = SHARED / "seed" / "payloads" / "payment-result.response.json"
GRAND_TOTAL = 3600
ORDER = "588"
MOMENT = datetime(2019, 6, 17, 11, 18, 58, tzinfo=UTC)


@cache
def receipt_bytes() -> bytes:
    """The seed's receipt as Centra sent it; a fake-made one when the seed is not around."""
    if RECEIPT_FILE.is_file():
        return RECEIPT_FILE.read_bytes()
    service = CheckoutService(transport=FakeCentra.seeded(), store=MemoryStore())
    receipt = run_seed_flow(service).receipt
    assert receipt is not None
    return codec.dumps(receipt).encode()


@cache
def cart_after_one_item() -> SelectionResponse:
    """What Centra answers ``add_item 23-281`` with, from the seeded fake."""
    fake = FakeCentra.seeded()
    selection = fake.create_selection().selection_id
    return fake.add_item(selection, SEED_ITEM, 1)


def checkout_with_cart(checkout_id: str = "c-1") -> Checkout:
    """A checkout in ``selection`` holding the cart after one item."""
    cart = cart_after_one_item()
    return Checkout(
        id=checkout_id,
        state=State.SELECTION,
        created_at=MOMENT,
        updated_at=MOMENT,
        version=2,
        selection_id=cart.selection_id,
        cart=cart,
    )


def receipt_ok(receipt: Receipt | None) -> str | None:
    """``None`` when ``receipt`` is the seed's order (588, 3600 SEK); else what is wrong."""
    if receipt is None:
        return "no receipt"
    if receipt.order != ORDER:
        return f"order {receipt.order!r}, expected {ORDER}"
    total = receipt.totals.grand_total_price.amount
    if total != GRAND_TOTAL:
        return f"grand total {total}, expected {GRAND_TOTAL}"
    return None
