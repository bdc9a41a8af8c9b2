"""The order flow: the one table of states, events, guards, calls and where answers lead.

Each ``Rule`` says from which states an event may fire, which Centra call it makes, and, for
each kind of answer (``AnswerKind``), the state it leads to. Everything else is derived from
``FLOW``: the shared ``transitions`` Machine, the lookup the service fires events through, every
command's destination, the diagrams and the README's table. Nothing restates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import attrs
from transitions import Machine

from orderflow import _slots, limits
from orderflow.address import Address
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    Call,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    RemoveLine,
    RemoveVoucher,
    SetCheckoutFields,
    SetCountry,
    SetQuantity,
    StartPayment,
)
from orderflow.errors import EventNotAllowed, GuardRefused, PaymentInFlight, Refusal, describe

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
    REFRESH_ORDER = "refresh_order"
    CANCEL = "cancel"
    EXPIRE = "expire"


class AnswerKind(StrEnum):
    """What Centra's answer to an event's call amounts to; the table says where each leads."""

    DONE = "done"
    """The event makes no call: it is done when it fires."""
    CART = "cart"
    """Centra answered with the selection (a cart change, the shopper's details)."""
    AWAITING_SHOPPER = "awaiting_shopper"
    """A form, redirect, javascript or external action: the shopper must act at the provider."""
    ORDER = "order"
    """Centra holds an order for the selection (a success action, a receipt)."""
    DECLINED = "declined"
    """The payment was declined: a failed action, or a definitive refusal of the payment result."""
    OUT_OF_STOCK = "out_of_stock"
    """Centra's 410: unavailable items were removed; the shopper reviews the cart."""
    NO_ORDER = "no_order"
    """Centra's selection is not an order (yet): nothing to settle."""


STAY: None = None
"""In ``Rule.leads``: the checkout stays in the state it is in."""


Guard = Callable[["Checkout", Mapping[str, Any]], Refusal | None]
"""A guard looks at the checkout and the event's parameters; it returns a refusal or None."""


# --- guards -----------------------------------------------------------------------------------

_ITEM = re.compile(r"^[A-Za-z0-9_.:-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUIRED_ADDRESS = ("email", "first_name", "last_name", "address1", "zip_code", "city", "country")
_ADDRESS_TEXT = tuple(f.name for f in attrs.fields(Address) if f.name != "extra")
_DETAIL_TEXT = (
    "payment_method",
    "payment_return_page",
    "payment_failed_page",
    "payment_method_callback_page",
    "ip_address",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# The guards run on every event, so the wire names of the fields they name and the getters of
# the fields they read are made once here, not per call.
_REQUIRED_WIRE = tuple(_camel(name) for name in _REQUIRED_ADDRESS)
_required_of = attrgetter(*_REQUIRED_ADDRESS)
_DETAIL_PATHS = tuple(_camel(name) for name in _DETAIL_TEXT)
_ADDRESS_PATHS = {
    part: tuple(f"{part}.{_camel(name)}" for name in _ADDRESS_TEXT)
    for part in ("address", "shippingAddress")
}
_details_texts_of = attrgetter(*_DETAIL_TEXT)
_address_texts_of = attrgetter(*_ADDRESS_TEXT)
_FREE_KEYS = (
    "paymentMethodSpecificFields",
    "consents",
    "additionalFields",
    "customerClubFields",
    "extra",
)
_STR = frozenset({str})


def item_known(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The item id is a Centra item id (``<product>-<size>``, no spaces or slashes)."""
    item = params.get("item")
    if not isinstance(item, str) or len(item) > limits.MAX_ID or not _ITEM.match(item):
        return Refusal("item_unknown", "item", f"not a Centra item id: {describe(item)}")
    return None


def quantity_positive(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """An added quantity is a whole number from 1 to 2**63-1."""
    return limits.whole(params.get("quantity"), "quantity", least=1)


def quantity_not_negative(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """A new quantity is a whole number from 0 (which removes the line) to 2**63-1."""
    return limits.whole(params.get("quantity"), "quantity", least=0)


def line_known(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The line is one of the cart's lines."""
    line = params.get("line")
    if not any(item.line == line for item in checkout.items):
        return Refusal("line_unknown", "line", f"no line {describe(line)} in the selection")
    return None


def voucher_given(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """A voucher code is a non-empty string of at most 200 characters."""
    code = params.get("code")
    if not isinstance(code, str) or not code.strip():
        return Refusal("voucher_missing", "voucher", "a voucher code is required")
    return limits.text(code, "voucher", longest=limits.MAX_ID)


def voucher_applied(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The voucher to remove is applied to the selection."""
    code = params.get("code")
    if code not in checkout.voucher_codes:
        return Refusal("voucher_not_applied", "voucher", f"voucher {describe(code)} is not applied")
    return None


def country_code(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The country is a two-letter ISO 3166 code in capitals."""
    country = params.get("country")
    if not isinstance(country, str) or not _COUNTRY.match(country):
        return Refusal(
            "country_invalid", "country", f"not a two-letter country code: {describe(country)}"
        )
    return None


def details_storable(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """Every text of the shopper's details is bounded and encodable; free-form parts are JSON."""
    details = params["details"]
    address, shipping = details.address, details.shipping_address
    texts = _details_texts_of(details)
    if address is not None:
        texts += _address_texts_of(address)
    if shipping is not None:
        texts += _address_texts_of(shipping)
    # Every text, and every free-form part, tested at once; one by one, naming the first bad
    # one, only when that fails. Together the parts sit one level deeper (the addresses'
    # ``extra``) and share one budget: stricter than each alone, never laxer. ~4 µs against
    # ~12 µs one by one (timeit on the seed's details).
    parts = (
        details.payment_method_specific_fields,
        details.consents,
        details.additional_fields,
        details.customer_club_fields,
        details.extra,
        address and address.extra,
        shipping and shipping.extra,
    )
    if limits.texts_fit(texts) and limits.json_fits(parts, _FREE_KEYS_SPENT):
        return None
    for name, part in (("address", address), ("shippingAddress", shipping)):
        if part is not None and (problem := limits.json_value(part.extra, name)) is not None:
            return problem
    paths = _DETAIL_PATHS
    paths += _ADDRESS_PATHS["address"] if address is not None else ()
    paths += _ADDRESS_PATHS["shippingAddress"] if shipping is not None else ()
    for field, value in zip(paths, texts, strict=True):
        if (problem := limits.text(value, field)) is not None:
            return problem
    free = dict(zip(_FREE_KEYS, parts[: len(_FREE_KEYS)], strict=True))
    return limits.json_value(free, "details")


_FREE_KEYS_SPENT = sum(map(len, _FREE_KEYS))
"""The characters of the keys ``json_value`` counts in ``details``' free-form parts."""


def fields_storable(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The payment provider's fields are a JSON object every store and Centra take unchanged."""
    fields = params.get("fields")
    if not isinstance(fields, Mapping):
        return Refusal(
            "fields_invalid", "paymentMethodFields", f"expected an object: {describe(fields)}"
        )
    return limits.json_value(dict(fields), "paymentMethodFields")


def has_items(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The selection has at least one line."""
    if not checkout.items:
        return Refusal("selection_empty", "items", "the selection has no items")
    return None


def address_complete(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The billing address has every field Centra requires."""
    values = _required_of(params["details"].address)
    if _STR.issuperset(map(type, values)) and all(map(str.strip, values)):
        return None  # every one a string that is not blank: what _filled tests, at once
    missing = [
        wire for wire, value in zip(_REQUIRED_WIRE, values, strict=True) if not _filled(value)
    ]
    if missing:
        return Refusal("address_incomplete", "address", "missing " + ", ".join(missing))
    return None


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def email_plausible(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The email looks like an address (something@domain.tld)."""
    email = params["details"].address.email
    if isinstance(email, str) and email.strip() and not _EMAIL.match(email):  # _filled, inline
        return Refusal(
            "email_invalid", "address.email", f"not a plausible email: {describe(email)}"
        )
    return None


def terms_accepted(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The shopper accepted the terms and conditions (Centra requires ``true``)."""
    if params["details"].terms_and_conditions is not True:
        return Refusal("terms_not_accepted", "termsAndConditions", "must be true")
    return None


def payment_method_available(checkout: Checkout, params: Mapping[str, Any]) -> Refusal | None:
    """The chosen payment method is one the selection offers."""
    method = params["details"].payment_method
    if checkout.cart is not None:  # the usual answer without the tuple of every method's id
        for offer in checkout.cart.payment_methods:
            if offer.payment_method is method or offer.payment_method == method:
                return None
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
    cart = checkout.cart
    if cart is None or cart.location is None or cart.location.ship_to:
        return None  # ships_to's answer, without calling it
    return ships_to(cart)


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
    """One row of the flow: an event, the states it may fire from, its call, where answers lead.

    ``call`` is the Centra call the event makes (``None``: it makes none, and is ``DONE`` when
    it fires); ``leads`` maps each kind of answer it can get to the state it leads to (``STAY``:
    the state it fired from). ``while_unsettled``: the event may fire while a payment call's
    outcome is unknown (the payment events themselves, which ask Centra first, and reconcile);
    every other event is refused with ``PaymentInFlight`` then.
    """

    event: Event
    sources: tuple[State, ...]
    call: type[Call[Any]] | None
    leads: Mapping[AnswerKind, State | None]
    effect: str
    guards: tuple[Guard, ...] = ()
    while_unsettled: bool = False

    @property
    def dests(self) -> tuple[State, ...]:
        """Every state the event can lead to from any of its sources, in table order."""
        found: dict[State, None] = {}
        for source in self.sources or (None,):
            found.update(dict.fromkeys(self.dests_from(source)))
        return tuple(found)

    def dests_from(self, source: State | None) -> tuple[State, ...]:
        """The states the event can lead to from ``source`` (``None``: a new checkout)."""
        found: dict[State, None] = {}
        for dest in self.leads.values():
            state = dest if dest is not None else source
            if state is not None:
                found.setdefault(state, None)
        return tuple(found)


S = State
K = AnswerKind
_CART = (S.SELECTION,)
_CHANGED = {K.CART: S.SELECTION}
_DEPARTED = (S.SELECTION, S.CONFIRMED, S.PAYMENT_FAILED)

FLOW: tuple[Rule, ...] = (
    Rule(Event.OPEN, (), CreateSelection, _CHANGED, "create selection"),
    Rule(Event.ADD_ITEM, _CART, AddItem, _CHANGED, "add item", (item_known, quantity_positive)),
    Rule(
        Event.SET_QUANTITY,
        _CART,
        SetQuantity,
        _CHANGED,
        "change line quantity",
        (line_known, quantity_not_negative),
    ),
    Rule(Event.REMOVE_LINE, _CART, RemoveLine, _CHANGED, "remove line", (line_known,)),
    Rule(Event.APPLY_VOUCHER, _CART, ApplyVoucher, _CHANGED, "add voucher", (voucher_given,)),
    Rule(
        Event.REMOVE_VOUCHER, _CART, RemoveVoucher, _CHANGED, "remove voucher", (voucher_applied,)
    ),
    Rule(Event.SET_COUNTRY, _CART, SetCountry, _CHANGED, "set country", (country_code,)),
    Rule(
        Event.CONFIRM,
        _CART,
        SetCheckoutFields,
        {K.CART: S.CONFIRMED},
        "send checkout fields",
        (
            has_items,
            address_complete,
            email_plausible,
            terms_accepted,
            payment_method_available,
            ship_to_allowed,
            details_storable,
        ),
    ),
    Rule(Event.REOPEN, (S.CONFIRMED, S.PAYMENT_FAILED), None, {K.DONE: S.SELECTION}, "none"),
    Rule(
        Event.START_PAYMENT,
        (S.CONFIRMED,),
        StartPayment,
        {
            K.AWAITING_SHOPPER: S.PAYMENT_PENDING,
            K.ORDER: S.PAID,
            K.DECLINED: S.PAYMENT_FAILED,
            K.OUT_OF_STOCK: S.SELECTION,
        },
        "start payment",
        while_unsettled=True,
    ),
    # An action answer leads back to payment_pending: Centra rarely answers a payment result
    # with a new action (a redirect), and the shopper must follow it before the order exists.
    Rule(
        Event.COMPLETE_PAYMENT,
        (S.PAYMENT_PENDING, S.PAYMENT_FAILED),
        PaymentResult,
        {
            K.ORDER: S.PAID,
            K.DECLINED: S.PAYMENT_FAILED,
            K.OUT_OF_STOCK: S.SELECTION,
            K.AWAITING_SHOPPER: S.PAYMENT_PENDING,
        },
        "payment result, at most once per order",
        (fields_storable,),
        while_unsettled=True,
    ),
    Rule(Event.FAIL_PAYMENT, (S.PAYMENT_PENDING,), None, {K.DONE: S.PAYMENT_FAILED}, "none"),
    Rule(Event.RETRY_PAYMENT, (S.PAYMENT_FAILED,), None, {K.DONE: S.CONFIRMED}, "none"),
    # Wherever a payment call's outcome can be unknown: Centra's selection tells. Also from
    # the cart and from cancelled: a payment call that outlived its claim can still make an
    # order after another caller reopened or cancelled the checkout (and a provider can
    # complete a payment the shopper left), and money taken is an order wherever it lands.
    Rule(
        Event.RECONCILE,
        (S.SELECTION, S.CONFIRMED, S.PAYMENT_PENDING, S.PAYMENT_FAILED, S.CANCELLED),
        ReadSelection,
        {K.ORDER: S.PAID, K.NO_ORDER: STAY},
        "read the selection: did it become an order?",
        while_unsettled=True,
    ),
    # A paid checkout holds its order; Centra may change the order's status later (a Hold
    # cleared, the payment confirmed), which a webhook tells: read the order again.
    Rule(
        Event.REFRESH_ORDER,
        (S.PAID,),
        ReadSelection,
        {K.ORDER: STAY},
        "read the order again: its status changed",
    ),
    Rule(Event.CANCEL, _DEPARTED, None, {K.DONE: S.CANCELLED}, "none"),
    Rule(Event.EXPIRE, _DEPARTED, None, {K.DONE: S.CANCELLED}, "none"),
)

INITIAL = State.SELECTION
FINAL = frozenset({State.PAID, State.CANCELLED})
RULES: Mapping[Event, Rule] = {rule.event: rule for rule in FLOW}


def _build_machine() -> Machine:
    return Machine(
        model=None,
        states=[state.value for state in State],
        transitions=[
            {"trigger": rule.event.value, "source": source.value, "dest": dest.value}
            for rule in FLOW
            for source in rule.sources
            for dest in rule.dests_from(source)
        ],
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
_RULE_FROM = {(state, event): RULES[event] for state, event in _ALLOWED}
"""The rule of each allowed (state, event): ``check`` looks up both at once."""
_BY_STATE: dict[State, tuple[Event, ...]] = {
    state: tuple(sorted(e for (s, e) in _ALLOWED if s is state)) for state in State
}


def allowed_events(state: State) -> tuple[Event, ...]:
    """The events a checkout in ``state`` may receive, sorted by name."""
    return _BY_STATE[state]


def destinations(state: State, event: Event) -> frozenset[State]:
    """Where ``event`` can lead from ``state``; empty when the event is not allowed there."""
    return _ALLOWED.get((state, event), frozenset())


def lead(event: Event, answer: AnswerKind, source: State) -> State:
    """The state ``answer`` leads to when ``event`` fired from ``source``.

    Raises ``EventNotAllowed`` when the table has no such answer for the event.
    """
    leads = RULES[event].leads
    if answer not in leads:
        raise EventNotAllowed(None, source, f"{event} answered {answer}", allowed_events(source))
    dest = leads[answer]
    return source if dest is None else dest


def check(checkout: Checkout, event: Event, params: Mapping[str, Any] | None = None) -> None:
    """Refuse ``event`` unless the flow allows it and every guard passes.

    Raises ``EventNotAllowed`` (naming the allowed events), ``PaymentInFlight`` (a payment
    call's outcome is unsettled and the event is not one that settles it) or ``GuardRefused``
    (every reason).
    """
    rule = _RULE_FROM.get((checkout.state, event))
    if rule is None:
        raise EventNotAllowed(checkout.id, checkout.state, event, allowed_events(checkout.state))
    if checkout.outcome_unknown is not None and not rule.while_unsettled:
        raise PaymentInFlight(checkout.id, event, checkout.outcome_unknown)
    guards = rule.guards
    if guards:
        given = params or {}
        refusals = []
        for guard in guards:  # a loop, not a list comprehension: no function made per call
            if (refusal := guard(checkout, given)) is not None:
                refusals.append(refusal)
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
    history = (*checkout.history, _record(event, source, dest, at, detail))
    kind = type(checkout)
    try:
        replace, free = _REPLACERS[kind]
    except KeyError:
        replace, free = _REPLACERS.setdefault(kind, _replacer(kind))
    if replace is None or (changes and not changes.keys() <= free):  # attrs says what is wrong
        return attrs.evolve(checkout, state=dest, history=history, **changes)
    fired: Checkout = replace(checkout, dest, history, changes)
    return fired


def _replacer(kind: type) -> tuple[Callable[..., Any] | None, frozenset[str]]:
    # The attributes ``fire``'s ``changes`` may set; ``state`` and ``history`` are its own.
    free = frozenset(a.name for a in attrs.fields(kind)) - {"state", "history"}
    return _slots.replacer(kind, "state", "history"), free


_REPLACERS: dict[type, tuple[Callable[..., Any] | None, frozenset[str]]] = {}
_record = _slots.constructor(TransitionRecord)
