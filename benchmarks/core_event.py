"""Case 1: one event (``confirm``) on a checkout created fresh, as a storefront does per request.

Ours: build a plain ``Checkout`` (the cart after one item), ``flow.check`` (the allowed check
and confirm's six guards) and ``flow.fire`` (the transition and its history record).
Peers: a model holding the same data, a new ``transitions.Machine`` for it (FLOW's states
and transitions) and one event; a python-statemachine 3 instance and one ``send``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._harness import Row, Settings, compare, failed, skipped, time_one
from benchmarks._machines import CheckoutModel, statemachine_class, transitions_config
from benchmarks._seed import MOMENT, cart_after_one_item
from orderflow import flow
from orderflow.adapters.fake.seed import seed_details
from orderflow.checkout import Checkout
from orderflow.flow import Event, State

CASE = "core_event"
MEASURED = "confirm on a fresh checkout (build, check, 6 guards, fire)"


def _ours() -> Callable[[], Checkout]:
    cart = cart_after_one_item()
    params = {"details": seed_details()}
    check, fire = flow.check, flow.fire

    def one_event() -> Checkout:
        checkout = Checkout(
            id="c-1",
            state=State.SELECTION,
            created_at=MOMENT,
            updated_at=MOMENT,
            version=2,
            selection_id=cart.selection_id,
            cart=cart,
        )
        check(checkout, Event.CONFIRM, params)
        return fire(checkout, Event.CONFIRM, State.CONFIRMED, MOMENT)

    return one_event


def _model(cart: Any, details: Any) -> Any:
    """The same checkout data as a peer's model: a new one per event, as per request."""
    return CheckoutModel(
        "c-1",
        created_at=MOMENT,
        updated_at=MOMENT,
        version=2,
        selection_id=cart.selection_id,
        cart=cart,
        details=details,
    )


def _transitions() -> Callable[[], Any]:
    from transitions import Machine

    config = transitions_config()
    cart = cart_after_one_item()
    details = seed_details()

    def one_event() -> Any:
        model: Any = _model(cart, details)
        Machine(model=model, **config)
        model.trigger(Event.CONFIRM.value)
        return model

    return one_event


def _statemachine() -> Callable[[], Any]:
    machine_class = statemachine_class()
    cart = cart_after_one_item()
    details = seed_details()

    def one_event() -> Any:
        model: Any = _model(cart, details)
        machine_class(model=model, state_field="state").send(Event.CONFIRM.value)
        return model

    return one_event


def _peer_row(
    peer: str, target: float, build: Callable[[], Callable[[], Any]], settings: Settings
) -> Row:
    row = Row(CASE, MEASURED, peer, "µs", "faster", target)
    ours = _ours()
    result = ours()
    try:
        theirs = build()
    except ImportError:
        skip = skipped(CASE, MEASURED, peer, "µs", "faster", target, "peer not installed")
        skip.ours = time_one(ours, settings) / 1000
        return skip
    model = theirs()
    if result.state is not State.CONFIRMED or len(result.history) != 1:
        return failed(row, f"ours ended in {result.state} with {len(result.history)} records")
    if model.state != State.CONFIRMED.value:
        return failed(row, f"{peer} ended in {model.state!r}")
    ours_ns, theirs_ns = compare(ours, theirs, settings)
    row.ours, row.theirs = ours_ns / 1000, theirs_ns / 1000
    return row


def run(settings: Settings) -> list[Row]:
    """Ours against a new ``transitions`` Machine per checkout and python-statemachine 3."""
    return [
        _peer_row("transitions 0.9 (new Machine per checkout)", 8.0, _transitions, settings),
        _peer_row("python-statemachine 3", 20.0, _statemachine, settings),
    ]
