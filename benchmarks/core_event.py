"""``core_event``: one event (``confirm``) on a checkout loaded fresh, as a storefront does per
request.

Ours: build a plain ``Checkout`` (the cart after one item), ``flow.check`` (the allowed check
and confirm's seven guards) and ``flow.fire`` (the transition and its history record).
Peers, on a model holding the same data, with the same guards as conditions and the same
history record (``_machines``):

- transitions, one shared ``Machine`` built once: ``add_model`` (in the stored state), the
  trigger, ``remove_model`` per checkout; what a competent transitions user writes for many
  short-lived models;
- transitions, a ``Machine`` per checkout, as its README's first example does;
- python-statemachine 3, an instance per checkout bound to the model, and ``send``.

Every side must end in ``confirmed`` with one history record, and must refuse the event when a
guard fails (terms not accepted), so the guards really run.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import attrs

from benchmarks._harness import Row, Settings, compare, failed, missing_peer, ours_alone
from benchmarks._machines import CheckoutModel, statemachine_class, transitions_config
from benchmarks._seed import MOMENT, cart_after_one_item
from orderflow import flow
from orderflow.adapters.fake.seed import seed_details
from orderflow.checkout import Checkout
from orderflow.errors import GuardRefused
from orderflow.flow import Event, State
from orderflow.payment import PaymentRequest

CASE = "core_event"
MEASURED = "confirm on a fresh checkout (build, check, 7 guards, fire)"
SELECTION = State.SELECTION.value

Side = Callable[[PaymentRequest], Any]
"""One event on a fresh checkout with these details; the checkout (or model) after it."""


def _ours() -> Side:
    cart = cart_after_one_item()
    check, fire = flow.check, flow.fire

    def one_event(details: PaymentRequest) -> Checkout:
        checkout = Checkout(
            id="c-1",
            state=State.SELECTION,
            created_at=MOMENT,
            updated_at=MOMENT,
            version=2,
            selection_id=cart.selection_id,
            cart=cart,
        )
        check(checkout, Event.CONFIRM, {"details": details})
        return fire(checkout, Event.CONFIRM, State.CONFIRMED, MOMENT)

    return one_event


def _model() -> Callable[[], CheckoutModel]:
    cart = cart_after_one_item()

    def model() -> CheckoutModel:
        return CheckoutModel(
            "c-1",
            SELECTION,
            created_at=MOMENT,
            updated_at=MOMENT,
            version=2,
            selection_id=cart.selection_id,
            cart=cart,
        )

    return model


def _shared_machine() -> Side:
    from transitions import Machine

    machine = Machine(model=None, **transitions_config())
    model = _model()

    def one_event(details: PaymentRequest) -> CheckoutModel:
        checkout = model()
        machine.add_model(checkout, initial=checkout.state)
        try:
            checkout.trigger(Event.CONFIRM.value, details=details, at=MOMENT)
        finally:
            machine.remove_model(checkout)
        return checkout

    return one_event


def _machine_per_checkout() -> Side:
    from transitions import Machine

    config = transitions_config()
    model = _model()

    def one_event(details: PaymentRequest) -> CheckoutModel:
        checkout = model()
        Machine(model=checkout, **{**config, "initial": checkout.state})
        checkout.trigger(Event.CONFIRM.value, details=details, at=MOMENT)
        return checkout

    return one_event


def _statemachine() -> Side:
    from statemachine.exceptions import TransitionNotAllowed

    machine_class = statemachine_class()
    model = _model()

    def one_event(details: PaymentRequest) -> CheckoutModel:
        checkout = model()
        with suppress(TransitionNotAllowed):  # refused: the model stays where it was
            machine_class(model=checkout).send(Event.CONFIRM.value, details=details, at=MOMENT)
        return checkout

    return one_event


def _problem(name: str, side: Side, details: PaymentRequest) -> str | None:
    result = side(details)
    state = State(result.state)
    if state is not State.CONFIRMED or len(result.history) != 1:
        return f"{name} ended in {state} with {len(result.history)} records"
    refused = attrs.evolve(details, terms_and_conditions=False)
    try:
        result = side(refused)
    except GuardRefused:
        return None
    if State(result.state) is not State.SELECTION or result.history:
        return f"{name} confirmed a checkout whose terms were not accepted"
    return None


def _row(peer: str, target: float, build: Callable[[], Side], settings: Settings) -> Row:
    row = Row(CASE, MEASURED, peer, "µs", "faster", target)
    details = seed_details()
    ours = _ours()
    try:
        theirs = build()
    except ImportError as error:
        return ours_alone(row, lambda: ours(details), settings, missing_peer(error))
    problem = _problem("ours", ours, details) or _problem(peer, theirs, details)
    if problem:
        return failed(row, problem)
    pair = compare(lambda: ours(details), lambda: theirs(details), settings)
    return row.record(pair, 1000)


def run(settings: Settings) -> list[Row]:
    """Ours against a shared transitions Machine, a Machine per checkout, python-statemachine."""
    return [
        _row(
            "transitions 0.9, one shared Machine (add_model/remove_model per checkout)",
            8.0,
            _shared_machine,
            settings,
        ),
        _row("transitions 0.9, a Machine per checkout", 15.0, _machine_per_checkout, settings),
        _row("python-statemachine 3, an instance per checkout", 20.0, _statemachine, settings),
    ]
