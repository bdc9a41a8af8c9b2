"""The seed's data every case starts from: the receipt bytes, a cart after one item."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

RECEIPT_FILE = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "data"
    / "seed"
    / ("payment-result.response.json")
)
GRAND_TOTAL = 3600
ORDER = "588"
MOMENT = datetime(2019, 6, 17, 11, 18, 58, tzinfo=UTC)


@cache
def receipt_bytes() -> bytes:
    """The seed's receipt as Centra sent it (the repository's copy of the seed's payload)."""
    return RECEIPT_FILE.read_bytes()


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
