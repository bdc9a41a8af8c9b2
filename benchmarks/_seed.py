"""The seed's data every case starts from, and the checks that each case's result is right.

The receipt bytes are the repository's copy of the seed's payload; the cart after one item and
the paid checkout come from running the seed's flow against ``FakeCentra.seeded()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from orderflow import codec
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, run_seed_flow
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import AddItem, CreateSelection
from orderflow.checkout import Checkout
from orderflow.flow import State
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse
from orderflow.service import CheckoutService

RECEIPT_FILE = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "seed" / "payment-result.response.json"
)
GRAND_TOTAL = 3600
ORDER = "588"
MOMENT = datetime(2019, 6, 17, 11, 18, 58, tzinfo=UTC)
SEED_STEPS = ("open", "add_item", "confirm", "start_payment", "complete_payment")
"""The seed flow's steps, as ``run_seed_flow`` reports them to ``on_step``."""


@cache
def receipt_bytes() -> bytes:
    """The seed's receipt as Centra sent it (the repository's copy of the seed's payload)."""
    return RECEIPT_FILE.read_bytes()


@cache
def cart_after_one_item() -> SelectionResponse:
    """What Centra answers ``AddItem(selection, "23-281", 1)`` with, from the seeded fake."""
    fake = FakeCentra.seeded()
    selection = fake.send(CreateSelection()).selection_id
    return fake.send(AddItem(selection, SEED_ITEM, 1))


def checkout_with_cart(checkout_id: str = "c-1", version: int = 2) -> Checkout:
    """A checkout in ``selection`` holding the cart after one item."""
    cart = cart_after_one_item()
    return Checkout(
        id=checkout_id,
        state=State.SELECTION,
        created_at=MOMENT,
        updated_at=MOMENT,
        version=version,
        selection_id=cart.selection_id,
        cart=cart,
    )


def in_process_flow() -> Checkout:
    """One test's worth of the seed flow: a fresh fake, store and service, open to ``paid``."""
    service = CheckoutService(transport=FakeCentra.seeded(), store=MemoryStore())
    return run_seed_flow(service)


@cache
def paid_document() -> str:
    """The paid checkout the seed flow ends in, as the stores keep it (``codec.dumps``)."""
    checkout = in_process_flow()
    problem = paid_ok(checkout)
    if problem is not None:
        raise AssertionError(f"the seed flow did not end paid: {problem}")
    return codec.dumps(checkout)


def receipt_ok(receipt: Receipt | None, order: str | None = ORDER) -> str | None:
    """``None`` when ``receipt`` is the seed's order (588, unless ``order`` says otherwise or
    is ``None``, and 3600 SEK); else what is wrong."""
    if receipt is None:
        return "no receipt"
    if order is not None and receipt.order != order:
        return f"order {receipt.order!r}, expected {ORDER}"
    if receipt.totals is None:
        return f"the receipt's totals did not decode ({sorted(receipt.undecoded or {})})"
    total = receipt.totals.grand_total_price.amount
    if total != GRAND_TOTAL:
        return f"grand total {total}, expected {GRAND_TOTAL}"
    return None


def paid_ok(checkout: Checkout, order: str | None = ORDER) -> str | None:
    """``None`` when ``checkout`` is the seed's paid order after the seed's five steps (see
    ``receipt_ok`` for ``order``)."""
    if checkout.state is not State.PAID:
        return f"ended in {checkout.state}"
    steps = tuple(record.event.value for record in checkout.history)
    if steps != SEED_STEPS:
        return f"history {steps}, expected {SEED_STEPS}"
    return receipt_ok(checkout.receipt, order)


def wire_receipt_ok(answer: Any, order: str | None = ORDER) -> str | None:
    """``None`` when a JSON answer is a receipt of 3600 (of ``order``, unless ``None``)."""
    if not isinstance(answer, dict) or answer.get("order") is None:
        return f"the last answer is not a receipt: {str(answer)[:80]}"
    if order is not None and answer["order"] != order:
        return f"order {answer['order']!r}, expected {order}"
    if answer.get("totals", {}).get("grandTotalPriceAsNumber") != GRAND_TOTAL:
        return "the receipt's grand total is not 3600"
    return None
