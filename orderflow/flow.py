"""The order flow: the one table of states, events, outcomes and guards.

Everything else is derived from ``FLOW``: the shared ``transitions`` Machine, the lookup the
service fires events through, the diagrams and the README's table. Nothing restates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import attrs
from transitions import Machine

from orderflow.errors import EventNotAllowed, GuardRefused, Refusal

if TYPE_CHECKING:
    from orderflow.checkout import Checkout
    from orderflow.selection import SelectionResponse


class State(StrEnum):
    """Where a checkout is in the flow."""

    SELECTION = "selection"
    CONFIRMED = "confirmed"
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"


class Event(StrEnum):
    """What can happen to a checkout; each is one method of the service."""

    OPEN = "open"
    ADD_ITEM = "add_item"
    SET_QUANTITY = "set_quantity"
    REMOVE_LINE = "remove_line"
    APPLY_VOUCHER = "apply_voucher"
    REMOVE_VOUCHER = "remove_voucher"
    SET_COUNTRY = "set_country"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    START_PAYMENT = "start_payment"
    COMPLETE_PAYMENT = "complete_payment"
    FAIL_PAYMENT = "fail_payment"
    RETRY_PAYMENT = "retry_payment"
    RECONCILE = "reconcile"
    CANCEL = "cancel"
    EXPIRE = "expire"


Guard = Callable[["Checkout", Mapping[str, Any]], Refusal | None]
"""A guard looks at the checkout and the event's parameters; it returns a refusal or None."""


# --- guards -----------------------------------------------------------------------------------

_ITEM = re.compile(r"^[A-Za-z0-9_.:-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUIRED_ADDRESS = ("email", "first_name", "last_name", "address1", "zip_code", "city", "country")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def item_known(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The item id is a Centra item id (``<product>-<size>``, no spaces or slashes)."""
    item = params.get("item")
    if not isinstance(item, str) or not _ITEM.match(item):
        return Refusal("item_unknown", "item", f"not a Centra item id: {item!r}")
    return None


def quantity_positive(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """An added quantity is a whole number of at least 1."""
    quantity = params.get("quantity")
    if type(quantity) is not int or quantity < 1:
        return Refusal("quantity_invalid", "quantity", f"must be a whole number ≥ 1: {quantity!r}")
    return None


def quantity_not_negative(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """A new quantity is a whole number of at least 0 (0 removes the line)."""
    quantity = params.get("quantity")
    if type(quantity) is not int or quantity < 0:
        return Refusal("quantity_invalid", "quantity", f"must be a whole number ≥ 0: {quantity!r}")
    return None


def line_known(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The line is one of the cart's lines."""
    line = params.get("line")
    if not any(item.line == line for item in checkout.items):
        return Refusal("line_unknown", "line", f"no line {line!r} in the selection")
    return None


def voucher_given(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """A voucher code is a non-empty string."""
    code = params.get("code")
    if not isinstance(code, str) or not code.strip():
        return Refusal("voucher_missing", "voucher", "a voucher code is required")
    return None


def voucher_applied(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The voucher to remove is applied to the selection."""
    code = params.get("code")
    if code not in checkout.voucher_codes:
        return Refusal("voucher_not_applied", "voucher", f"voucher {code!r} is not applied")
    return None


def country_code(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The country is a two-letter ISO 3166 code in capitals."""
    country = params.get("country")
    if not isinstance(country, str) or not _COUNTRY.match(country):
        return Refusal("country_invalid", "country", f"not a two-letter country code: {country!r}")
    return None


def has_items(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The selection has at least one line."""
    if not checkout.items:
        return Refusal("selection_empty", "items", "the selection has no items")
    return None


def address_complete(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The billing address has every field Centra requires."""
    address = params["details"].address
    missing = [_camel(f) for f in _REQUIRED_ADDRESS if not (getattr(address, f) or "").strip()]
    if missing:
        return Refusal("address_incomplete", "address", "missing " + ", ".join(missing))
    return None


def email_plausible(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The email looks like an address (something@domain.tld)."""
    email = params["details"].address.email or ""
    if email and not _EMAIL.match(email):
        return Refusal("email_invalid", "address.email", f"not a plausible email: {email!r}")
    return None


def terms_accepted(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The shopper accepted the terms and conditions (Centra requires ``true``)."""
    if params["details"].terms_and_conditions is not True:
        return Refusal("terms_not_accepted", "termsAndConditions", "must be true")
    return None


def payment_method_available(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The chosen payment method is one the selection offers."""
    method = params["details"].payment_method
    offered = checkout.payment_methods
    if method not in offered:
        return Refusal(
            "payment_method_unavailable",
            "paymentMethod",
            f"{method!r} is not offered; available: {', '.join(offered) or 'none'}",
        )
    return None


def ship_to_allowed(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """Centra can ship to the shopper's location (``location.shipTo``)."""
    return ships_to(checkout.cart)


def ships_to(cart: SelectionResponse | None) -> Refusal | None:
    """The refusal when Centra says this cart cannot be shipped to its location, else None."""
    if cart is not None and cart.location is not None and not cart.location.ship_to:
        country = cart.location.country or "this country"
        return Refusal("ship_to_not_allowed", "country", f"cannot ship to {country}")
    return None


@attrs.frozen
class TransitionRecord:
    """One entry of a checkout's history: ``event`` took it from ``source`` to ``dest``."""

    event: Event
    source: State | None
    dest: State
    at: datetime
    detail: str = ""


# --- the table --------------------------------------------------------------------------------


@attrs.frozen
class Rule:
    """One row of the flow: an event, the states it may fire from, where it can lead."""

    event: Event
    sources: tuple[State, ...]
    dests: tuple[State, ...]
    effect: str
    guards: tuple[Guard, ...] = ()


S = State
_CART = (S.SELECTION,)

FLOW: tuple[Rule, ...] = (
    Rule(Event.OPEN, (), (S.SELECTION,), "create selection"),
    Rule(Event.ADD_ITEM, _CART, _CART, "add item", (item_known, quantity_positive)),
    Rule(
        Event.SET_QUANTITY,
        _CART,
        _CART,
        "change line quantity",
        (line_known, quantity_not_negative),
    ),
    Rule(Event.REMOVE_LINE, _CART, _CART, "remove line", (line_known,)),
    Rule(Event.APPLY_VOUCHER, _CART, _CART, "add voucher", (voucher_given,)),
    Rule(Event.REMOVE_VOUCHER, _CART, _CART, "remove voucher", (voucher_applied,)),
    Rule(Event.SET_COUNTRY, _CART, _CART, "set country", (country_code,)),
    Rule(
        Event.CONFIRM,
        _CART,
        (S.CONFIRMED,),
        "send checkout fields",
        (
            has_items,
            address_complete,
            email_plausible,
            terms_accepted,
            payment_method_available,
            ship_to_allowed,
        ),
    ),
    Rule(Event.REOPEN, (S.CONFIRMED, S.PAYMENT_FAILED), _CART, "none"),
    Rule(
        Event.START_PAYMENT,
        (S.CONFIRMED,),
        (S.PAYMENT_PENDING, S.PAID, S.PAYMENT_FAILED, S.SELECTION),
        "start payment",
    ),
    # payment_pending is a destination too: Centra rarely answers a payment result with a new
    # action (a redirect), and the shopper must follow it before the order exists.
    Rule(
        Event.COMPLETE_PAYMENT,
        (S.PAYMENT_PENDING, S.PAYMENT_FAILED),
        (S.PAID, S.PAYMENT_FAILED, S.SELECTION, S.PAYMENT_PENDING),
        "payment result, at most once per order",
    ),
    Rule(Event.FAIL_PAYMENT, (S.PAYMENT_PENDING,), (S.PAYMENT_FAILED,), "none"),
    Rule(Event.RETRY_PAYMENT, (S.PAYMENT_FAILED,), (S.CONFIRMED,), "none"),
    Rule(
        Event.RECONCILE,
        (S.PAYMENT_PENDING,),
        (S.PAID, S.PAYMENT_PENDING),
        "read the receipt: did it become an order?",
    ),
    Rule(Event.CANCEL, (S.SELECTION, S.CONFIRMED, S.PAYMENT_FAILED), (S.CANCELLED,), "none"),
    Rule(Event.EXPIRE, (S.SELECTION, S.CONFIRMED, S.PAYMENT_FAILED), (S.CANCELLED,), "none"),
)

INITIAL = State.SELECTION
FINAL = frozenset({State.PAID, State.CANCELLED})
RULES: Mapping[Event, Rule] = {rule.event: rule for rule in FLOW}


def _build_machine() -> Machine:
    transitions = [
        {"trigger": rule.event.value, "source": source.value, "dest": dest.value}
        for rule in FLOW
        for source in rule.sources
        for dest in rule.dests
    ]
    return Machine(
        model=None,
        states=[state.value for state in State],
        transitions=transitions,
        initial=INITIAL.value,
        auto_transitions=False,
    )


MACHINE: Machine = _build_machine()
"""The shared ``transitions`` Machine, built once per process from ``FLOW``."""


def _compile(machine: Machine) -> dict[tuple[State, Event], frozenset[State]]:
    # The hot path is a dict lookup compiled from the Machine's own transitions, so firing an
    # event on plain data costs no model binding (see DESIGN.md, "Performance").
    table: dict[tuple[State, Event], set[State]] = {}
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                assert transition.dest is not None  # the table has no internal transitions
                table.setdefault((State(source), Event(name)), set()).add(State(transition.dest))
    return {key: frozenset(dests) for key, dests in table.items()}


_ALLOWED = _compile(MACHINE)
_BY_STATE: dict[State, tuple[Event, ...]] = {
    state: tuple(sorted(e for (s, e) in _ALLOWED if s is state)) for state in State
}


def allowed_events(state: State) -> tuple[Event, ...]:
    """The events a checkout in ``state`` may receive, sorted by name."""
    return _BY_STATE[state]


def destinations(state: State, event: Event) -> frozenset[State]:
    """Where ``event`` can lead from ``state``; empty when the event is not allowed there."""
    return _ALLOWED.get((state, event), frozenset())


def check(checkout: Checkout, event: Event, params: Mapping[str, Any] | None = None) -> None:
    """Refuse ``event`` unless the flow allows it and every guard passes.

    Raises ``EventNotAllowed`` (naming the allowed events) or ``GuardRefused`` (every reason).
    """
    if (checkout.state, event) not in _ALLOWED:
        raise EventNotAllowed(checkout.id, checkout.state, event, allowed_events(checkout.state))
    guards = RULES[event].guards
    if guards:
        given = params or {}
        refusals = [r for guard in guards if (r := guard(checkout, given)) is not None]
        if refusals:
            raise GuardRefused(event, refusals)


def fire(
    checkout: Checkout,
    event: Event,
    dest: State,
    at: datetime,
    detail: str = "",
    **changes: Any,
) -> Checkout:
    """The checkout after ``event`` took it to ``dest``, with the transition in its history.

    ``changes`` are other fields to set in the same step (one copy of the checkout, not two).
    Raises ``EventNotAllowed`` if the table has no such transition.
    """
    source = checkout.state
    if dest not in _ALLOWED.get((source, event), ()):
        raise EventNotAllowed(checkout.id, source, event, allowed_events(source))
    record = TransitionRecord(event, source, dest, at, detail)
    return attrs.evolve(checkout, state=dest, history=(*checkout.history, record), **changes)
