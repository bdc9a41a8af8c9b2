"""``memory``: what live checkouts cost in memory (tracemalloc, after ``gc.collect``).

The target row: paid checkouts, each with its own cart, details, payment action, five history
records and receipt, as a store decodes them. Both sides decode the same stored documents (the
seed flow's paid checkout, one id per checkout): ours with ``codec.loads(raw, Checkout)``,
the peer with a ``msgspec.json.Decoder`` of Structs declaring every key the documents hold
(``_structs``), so both keep the same data (the check fails if the Structs lose a key of the
document). The documents themselves are made beforehand and not counted.

Reference rows: checkouts after one item sharing one cart, ours (a frozen ``Checkout``)
against a model with its own ``transitions.Machine`` and one driven by its own
python-statemachine instance.

Rounds alternate sides; each round builds its checkouts, measures, and frees them (the
figures barely move between rounds: the spread shows it).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from benchmarks._harness import (
    Row,
    Settings,
    alternate,
    failed,
    missing_peer,
    skipped,
)
from benchmarks._machines import CheckoutModel, statemachine_class, transitions_config
from benchmarks._seed import (
    GRAND_TOTAL,
    MOMENT,
    ORDER,
    cart_after_one_item,
    paid_document,
    paid_ok,
)
from orderflow import codec
from orderflow.checkout import Checkout
from orderflow.flow import Event, State, TransitionRecord

CASE = "memory"

Build = Callable[[int], list[Any]]


def _measure(build: Build, count: int, check: Callable[[list[Any]], str | None]) -> float:
    """Bytes per checkout of ``count`` built by ``build``; raises when ``check`` fails."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        live = build(count)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    problem = check(live) if len(live) == count else f"built {len(live)} of {count}"
    del live
    if problem:
        raise AssertionError(problem)
    return (after - before) / count


# --- paid checkouts with their receipts ---------------------------------------------------


def _documents(count: int) -> list[bytes]:
    template = paid_document()
    marker = '"id":"'
    start = template.index(marker) + len(marker)
    end = template.index('"', start)
    return [
        (template[:start] + f"checkout-{index:06d}" + template[end:]).encode()
        for index in range(count)
    ]


def _paid_ours(documents: list[bytes]) -> Build:
    return lambda count: [codec.loads(raw, Checkout) for raw in documents[:count]]


def _paid_msgspec(documents: list[bytes]) -> Build:
    import msgspec

    from benchmarks._structs import StructCheckout

    decode = msgspec.json.Decoder(StructCheckout).decode
    return lambda count: [decode(raw) for raw in documents[:count]]


def _ours_paid(live: list[Any]) -> str | None:
    return paid_ok(live[0]) or _distinct(live)


def _struct_paid(documents: list[bytes]) -> Callable[[list[Any]], str | None]:
    def check(live: list[Any]) -> str | None:
        from benchmarks._structs import lost_keys

        lost = lost_keys(live[0], documents[0])
        if lost:
            return f"msgspec's Structs drop {', '.join(lost[:5])}: not the same data"
        return _struct_paid_values(live)

    return check


def _struct_paid_values(live: list[Any]) -> str | None:
    first = live[0]
    receipt = first.receipt
    if first.state is not State.PAID or len(first.history) != 5:
        return f"msgspec's checkout is {first.state} with {len(first.history)} records"
    if receipt.order != ORDER or receipt.totals.grand_total_price_as_number != GRAND_TOTAL:
        return f"msgspec's receipt is order {receipt.order}"
    return _distinct(live)


def _distinct(live: list[Any]) -> str | None:
    if len({c.id for c in live}) != len(live) or live[0].receipt is live[-1].receipt:
        return "the checkouts share their data"
    return None


def _paid_row(settings: Settings) -> Row:
    count = settings.paid_checkouts
    row = Row(
        CASE,
        f"per paid checkout with its receipt, {count:,} live, each decoded from its document",
        "msgspec Structs of the same data",
        "B",
        "at_most",
        1.0,
    )
    documents = _documents(count)
    ours = _paid_ours(documents)
    try:
        theirs = _paid_msgspec(documents)
    except ImportError as error:
        row.ours = _measure(ours, count, _ours_paid)
        return skipped(row, missing_peer(error))
    ours(1), theirs(1)  # the decoders' plans are built on first use, outside the measurement
    try:
        pair = alternate(
            lambda: _measure(ours, count, _ours_paid),
            lambda: _measure(theirs, count, _struct_paid(documents)),
            settings.memory_rounds,
            warmup=False,
        )
    except AssertionError as error:
        return failed(row, str(error))
    return row.record(pair)


# --- checkouts after one item, against a machine per checkout -------------------------------


def _history(index: int) -> tuple[TransitionRecord, TransitionRecord]:
    at = MOMENT + timedelta(seconds=index)
    return (
        TransitionRecord(Event.OPEN, None, State.SELECTION, at),
        TransitionRecord(Event.ADD_ITEM, State.SELECTION, State.SELECTION, at),
    )


def _after_one_item_ours(count: int) -> list[Any]:
    cart = cart_after_one_item()
    checkouts = []
    for index in range(count):
        at = MOMENT + timedelta(seconds=index)
        checkouts.append(
            Checkout(
                id=f"checkout-{index:06d}",
                state=State.SELECTION,
                created_at=at,
                updated_at=at,
                version=2,
                selection_id=cart.selection_id,
                cart=cart,
                history=_history(index),
            )
        )
    return checkouts


def _models(count: int, attach: Callable[[CheckoutModel], Any]) -> list[Any]:
    cart = cart_after_one_item()
    live = []
    for index in range(count):
        at = MOMENT + timedelta(seconds=index)
        model = CheckoutModel(
            f"checkout-{index:06d}",
            State.SELECTION.value,
            created_at=at,
            updated_at=at,
            version=2,
            selection_id=cart.selection_id,
            cart=cart,
            history=_history(index),
        )
        live.append((model, attach(model)))
    return live


def _after_one_item_transitions() -> Build:
    from transitions import Machine

    config = transitions_config()
    return lambda count: _models(count, lambda model: Machine(model=model, **config))


def _after_one_item_statemachine() -> Build:
    machine_class = statemachine_class()
    return lambda count: _models(count, lambda model: machine_class(model=model))


def _in_selection(live: list[Any]) -> str | None:
    states = {State(e.state if isinstance(e, Checkout) else e[0].state) for e in live}
    return None if states == {State.SELECTION} else f"checkouts in {sorted(states)}"


def _reference_rows(settings: Settings) -> list[Row]:
    count = settings.live_checkouts
    measured = f"per checkout after one item (cart shared), {count:,} live"
    _after_one_item_ours(1)  # import and build the shared parts outside the measurement
    rows = []
    for peer, build in (
        ("transitions 0.9, a Machine per checkout", _after_one_item_transitions),
        ("python-statemachine 3, an instance per checkout", _after_one_item_statemachine),
    ):
        row = Row(CASE, measured, peer, "B", "at_most", None)
        try:
            theirs = build()
            theirs(1)
        except ImportError as error:
            rows.append(skipped(row, missing_peer(error)))
            continue
        try:
            pair = alternate(
                lambda: _measure(_after_one_item_ours, count, _in_selection),
                lambda theirs=theirs: _measure(theirs, count, _in_selection),
                settings.memory_rounds,
                warmup=False,
            )
        except AssertionError as error:
            rows.append(failed(row, str(error)))
            continue
        rows.append(row.record(pair))
    return rows


def run(settings: Settings) -> list[Row]:
    """Paid checkouts against msgspec Structs; checkouts after one item against machines."""
    return [_paid_row(settings), *_reference_rows(settings)]
