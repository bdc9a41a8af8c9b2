"""Case 2: memory of live checkouts after one item each (tracemalloc, after ``gc.collect``).

Every side holds the same data per checkout: its id, timestamps, version, selection id, the
history (open, add_item) and the cart; the cart (one realistic ``SelectionResponse`` from the
fake) is shared, so what is compared is what each checkout costs on top of its cart.
Ours: a frozen ``Checkout``. Peers: a model with its own ``transitions.Machine``; a model
driven by its own python-statemachine instance.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from benchmarks._harness import Row, Settings, failed, skipped
from benchmarks._machines import CheckoutModel, statemachine_class, transitions_config
from benchmarks._seed import MOMENT, cart_after_one_item
from orderflow.checkout import Checkout
from orderflow.flow import Event, State, TransitionRecord

CASE = "memory"


def _history(index: int) -> tuple[TransitionRecord, TransitionRecord]:
    at = MOMENT + timedelta(seconds=index)
    return (
        TransitionRecord(Event.OPEN, None, State.SELECTION, at),
        TransitionRecord(Event.ADD_ITEM, State.SELECTION, State.SELECTION, at),
    )


def _ours(count: int) -> list[Any]:
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
            created_at=at,
            updated_at=at,
            version=2,
            selection_id=cart.selection_id,
            cart=cart,
            history=_history(index),
        )
        live.append((model, attach(model)))
    return live


def _transitions(count: int) -> list[Any]:
    from transitions import Machine

    config = transitions_config()
    return _models(count, lambda model: Machine(model=model, **config))


def _statemachine(count: int) -> list[Any]:
    machine_class = statemachine_class()
    return _models(count, lambda model: machine_class(model=model, state_field="state"))


def _bytes_per_checkout(build: Callable[[int], list[Any]], count: int) -> tuple[float, list[Any]]:
    build(1)  # import and build the shared parts (classes, the cart) outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        live = build(count)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / count, live


def _state(entry: Any) -> Any:
    return entry.state if isinstance(entry, Checkout) else entry[0].state


def run(settings: Settings) -> list[Row]:
    """Ours against a Machine per checkout and a python-statemachine instance per checkout."""
    count = settings.live_checkouts
    measured = f"per checkout, {count:,} live after one item"
    ours, live = _bytes_per_checkout(_ours, count)
    ours_ok = len(live) == count and all(_state(c) is State.SELECTION for c in live)
    del live
    rows = []
    for peer, build in (
        ("transitions 0.9 (Machine per checkout)", _transitions),
        ("python-statemachine 3", _statemachine),
    ):
        row = Row(CASE, measured, peer, "B", "at_most", 0.5)
        try:
            theirs, live = _bytes_per_checkout(build, count)
        except ImportError:
            row = skipped(CASE, measured, peer, "B", "at_most", 0.5, "peer not installed")
            row.ours = ours
            rows.append(row)
            continue
        states = {_state(entry) for entry in live}
        del live
        row.ours, row.theirs = ours, theirs
        if not ours_ok:
            failed(row, "ours did not build every checkout in selection")
        elif states != {State.SELECTION.value}:
            failed(row, f"{peer} checkouts are in {sorted(map(str, states))}")
        rows.append(row)
    return rows
