"""The flow table: every transition it allows, every one it refuses, every guard."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

from orderflow import flow
from orderflow.address import Address
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import EventNotAllowed, GuardRefused, PaymentInFlight
from orderflow.flow import FLOW, AnswerKind, Event, State
from orderflow.money import Money
from orderflow.payment import PaymentRequest
from orderflow.receipt import Discounts, Item, Totals, Voucher
from orderflow.selection import Location, PaymentMethod, Selection, SelectionResponse

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def sek(amount: int) -> Money:
    return Money(Decimal(amount), "SEK")


def cart(
    *, items: int = 1, ship_to: bool = True, vouchers: tuple[str, ...] = ()
) -> SelectionResponse:
    lines = tuple(
        Item(
            item=f"23-28{n}",
            quantity=1,
            line=f"line{n}",
            price_each=sek(3600),
            total_price=sek(3600),
        )
        for n in range(items)
    )
    return SelectionResponse(
        selection=Selection(
            selection="sel1",
            currency="SEK",
            items=lines,
            totals=Totals(
                items_total_price=sek(3600 * items),
                grand_total_price=sek(3600 * items),
                total_quantity=items,
            ),
            discounts=Discounts(
                any_discount=bool(vouchers),
                discount=sek(0),
                vouchers=tuple(Voucher(v) for v in vouchers),
            ),
        ),
        payment_methods=(PaymentMethod("klarna-playground"),),
        location=Location(country="SE", ship_to=ship_to),
    )


def checkout(state: State = State.SELECTION, **changes: object) -> Checkout:
    base = Checkout(
        id="c1", state=state, created_at=NOW, updated_at=NOW, selection_id="sel1", cart=cart()
    )
    return attrs.evolve(base, **changes)


def details(**changes: object) -> PaymentRequest:
    address = Address(
        email="shopper@example.com",
        first_name="Ada",
        last_name="Lovelace",
        address1="Dybecksvägen 51",
        zip_code="16855",
        city="Bromma",
        country="SE",
    )
    request = PaymentRequest(
        payment_method="klarna-playground",
        address=address,
        payment_return_page="https://shop.test/ok",
        payment_failed_page="https://shop.test/fail",
        terms_and_conditions=True,
    )
    return attrs.evolve(request, **changes)


# Every (source, event, dest) of DESIGN.md's event table, written out independently of FLOW so
# a change to the table that the design does not make fails here.
DESIGNED = {
    (State.SELECTION, Event.ADD_ITEM, State.SELECTION),
    (State.SELECTION, Event.SET_QUANTITY, State.SELECTION),
    (State.SELECTION, Event.REMOVE_LINE, State.SELECTION),
    (State.SELECTION, Event.APPLY_VOUCHER, State.SELECTION),
    (State.SELECTION, Event.REMOVE_VOUCHER, State.SELECTION),
    (State.SELECTION, Event.SET_COUNTRY, State.SELECTION),
    (State.SELECTION, Event.CONFIRM, State.CONFIRMED),
    (State.CONFIRMED, Event.REOPEN, State.SELECTION),
    (State.PAYMENT_FAILED, Event.REOPEN, State.SELECTION),
    (State.CONFIRMED, Event.START_PAYMENT, State.PAYMENT_PENDING),
    (State.CONFIRMED, Event.START_PAYMENT, State.PAID),
    (State.CONFIRMED, Event.START_PAYMENT, State.PAYMENT_FAILED),
    (State.CONFIRMED, Event.START_PAYMENT, State.SELECTION),
    (State.PAYMENT_PENDING, Event.COMPLETE_PAYMENT, State.PAID),
    (State.PAYMENT_PENDING, Event.COMPLETE_PAYMENT, State.PAYMENT_FAILED),
    (State.PAYMENT_PENDING, Event.COMPLETE_PAYMENT, State.SELECTION),
    (State.PAYMENT_PENDING, Event.COMPLETE_PAYMENT, State.PAYMENT_PENDING),
    (State.PAYMENT_FAILED, Event.COMPLETE_PAYMENT, State.PAID),
    (State.PAYMENT_FAILED, Event.COMPLETE_PAYMENT, State.PAYMENT_FAILED),
    (State.PAYMENT_FAILED, Event.COMPLETE_PAYMENT, State.SELECTION),
    (State.PAYMENT_FAILED, Event.COMPLETE_PAYMENT, State.PAYMENT_PENDING),
    (State.PAYMENT_PENDING, Event.FAIL_PAYMENT, State.PAYMENT_FAILED),
    (State.PAYMENT_FAILED, Event.RETRY_PAYMENT, State.CONFIRMED),
    (State.CONFIRMED, Event.RECONCILE, State.PAID),
    (State.CONFIRMED, Event.RECONCILE, State.CONFIRMED),
    (State.PAYMENT_PENDING, Event.RECONCILE, State.PAID),
    (State.PAYMENT_PENDING, Event.RECONCILE, State.PAYMENT_PENDING),
    (State.PAYMENT_FAILED, Event.RECONCILE, State.PAID),
    (State.PAYMENT_FAILED, Event.RECONCILE, State.PAYMENT_FAILED),
    # A late order lands wherever another caller left the checkout (and a provider can
    # complete a payment the shopper left after the checkout was cancelled).
    (State.SELECTION, Event.RECONCILE, State.PAID),
    (State.SELECTION, Event.RECONCILE, State.SELECTION),
    (State.CANCELLED, Event.RECONCILE, State.PAID),
    (State.CANCELLED, Event.RECONCILE, State.CANCELLED),
    (State.PAID, Event.REFRESH_ORDER, State.PAID),
    *(
        (s, e, State.CANCELLED)
        for s in (State.SELECTION, State.CONFIRMED, State.PAYMENT_FAILED)
        for e in (Event.CANCEL, Event.EXPIRE)
    ),
}


def test_the_table_holds_exactly_the_designed_transitions() -> None:
    table = {(s, rule.event, d) for rule in FLOW for s in rule.sources for d in rule.dests_from(s)}
    assert table == DESIGNED


# Where each kind of answer leads, written out independently of FLOW: the same answer kind
# leads to the same state whichever payment command got it.
K = AnswerKind
DESIGNED_LEADS = {
    (Event.START_PAYMENT, K.AWAITING_SHOPPER): State.PAYMENT_PENDING,
    (Event.START_PAYMENT, K.ORDER): State.PAID,
    (Event.START_PAYMENT, K.DECLINED): State.PAYMENT_FAILED,
    (Event.START_PAYMENT, K.OUT_OF_STOCK): State.SELECTION,
    (Event.COMPLETE_PAYMENT, K.AWAITING_SHOPPER): State.PAYMENT_PENDING,
    (Event.COMPLETE_PAYMENT, K.ORDER): State.PAID,
    (Event.COMPLETE_PAYMENT, K.DECLINED): State.PAYMENT_FAILED,
    (Event.COMPLETE_PAYMENT, K.OUT_OF_STOCK): State.SELECTION,
    (Event.RECONCILE, K.ORDER): State.PAID,
}


@pytest.mark.parametrize(("key", "dest"), sorted(DESIGNED_LEADS.items()))
def test_each_answer_of_a_payment_event_leads_where_the_design_says(
    key: tuple[Event, AnswerKind], dest: State
) -> None:
    event, answer = key
    for source in flow.RULES[event].sources:
        assert flow.lead(event, answer, source) is dest


def test_an_answer_with_no_order_leaves_reconcile_where_it_was() -> None:
    for source in flow.RULES[Event.RECONCILE].sources:
        assert flow.lead(Event.RECONCILE, AnswerKind.NO_ORDER, source) is source


def test_an_answer_the_table_does_not_list_is_refused() -> None:
    with pytest.raises(EventNotAllowed):
        flow.lead(Event.ADD_ITEM, AnswerKind.ORDER, State.SELECTION)


def test_only_the_payment_events_and_reconcile_may_fire_while_a_payment_is_in_flight() -> None:
    unsettled = {rule.event for rule in FLOW if rule.while_unsettled}
    assert unsettled == {Event.START_PAYMENT, Event.COMPLETE_PAYMENT, Event.RECONCILE}
    assert all(
        rule.call is not None and rule.call.moves_money
        for rule in FLOW
        if rule.event in (Event.START_PAYMENT, Event.COMPLETE_PAYMENT)
    )


@pytest.mark.parametrize("event", [Event.CANCEL, Event.EXPIRE, Event.REOPEN, Event.RETRY_PAYMENT])
def test_an_event_on_a_checkout_with_a_payment_in_flight_is_refused_naming_the_call(
    event: Event,
) -> None:
    source = State.PAYMENT_FAILED if event is Event.RETRY_PAYMENT else State.CONFIRMED
    marked = checkout(source, outcome_unknown=CallKind.PAYMENT_RESULT)
    with pytest.raises(PaymentInFlight, match="payment_result") as refused:
        flow.check(marked, event)
    assert refused.value.call == "payment_result" and refused.value.event == event.value


def test_the_shared_machine_is_built_from_the_table() -> None:
    machine_edges = {
        (State(source), Event(name), State(t.dest))
        for name, event in flow.MACHINE.events.items()
        for source, transitions in event.transitions.items()
        for t in transitions
    }
    assert machine_edges == DESIGNED


@pytest.mark.parametrize(("source", "event", "dest"), sorted(DESIGNED))
def test_each_designed_transition_fires_and_is_recorded(
    source: State, event: Event, dest: State
) -> None:
    before = checkout(source)
    after = flow.fire(before, event, dest, NOW, "why")
    assert after.state is dest
    assert after.history[-1] == flow.TransitionRecord(event, source, dest, NOW, "why")
    assert before.state is source  # plain data: the original is untouched


# Every (state, event) pair DESIGNED does not allow: derived from the independent table above,
# so a pair the flow wrongly allows fails here instead of being skipped.
REFUSED = sorted(
    (s, e)
    for s in State
    for e in Event
    if e is not Event.OPEN and not any(d[:2] == (s, e) for d in DESIGNED)
)


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_an_event_outside_the_table_names_state_event_and_the_allowed_ones(
    state: State, event: Event
) -> None:
    with pytest.raises(EventNotAllowed) as refused:
        flow.check(checkout(state), event, {"item": "23-281", "quantity": 1})
    message = str(refused.value)
    assert repr(event.value) in message and repr(state.value) in message
    for allowed in flow.allowed_events(state):
        assert allowed.value in message
    assert refused.value.allowed == tuple(flow.allowed_events(state))


def test_only_an_order_leaves_a_final_state_and_a_cancelled_one_allows_only_reconcile() -> None:
    for state in flow.FINAL:
        for event in flow.allowed_events(state):
            rule = flow.RULES[event]
            assert set(rule.dests_from(state)) <= {state, State.PAID}
            if State.PAID in rule.dests_from(state) and state is not State.PAID:
                assert flow.lead(event, AnswerKind.ORDER, state) is State.PAID
                assert flow.lead(event, AnswerKind.NO_ORDER, state) is state
    assert flow.allowed_events(State.PAID) == (Event.REFRESH_ORDER,)
    assert flow.allowed_events(State.CANCELLED) == (Event.RECONCILE,)
    with pytest.raises(EventNotAllowed, match="allowed there: reconcile"):
        flow.check(checkout(State.CANCELLED), Event.CANCEL)


def test_firing_to_a_destination_the_table_does_not_list_is_refused() -> None:
    with pytest.raises(EventNotAllowed):
        flow.fire(checkout(State.CONFIRMED), Event.REOPEN, State.PAID, NOW)


def refusal_of(
    event: Event, params: dict[str, object], ck: Checkout | None = None
) -> tuple[str, str]:
    with pytest.raises(GuardRefused) as refused:
        flow.check(ck or checkout(), event, params)
    (only,) = refused.value.refusals
    return only.code, only.field


@pytest.mark.parametrize(
    ("event", "params", "code", "field"),
    [
        (Event.ADD_ITEM, {"item": "no such/item", "quantity": 1}, "item_unknown", "item"),
        (Event.ADD_ITEM, {"item": "", "quantity": 1}, "item_unknown", "item"),
        (Event.ADD_ITEM, {"item": "23-281", "quantity": 0}, "quantity_invalid", "quantity"),
        (Event.ADD_ITEM, {"item": "23-281", "quantity": True}, "quantity_invalid", "quantity"),
        (Event.SET_QUANTITY, {"line": "line0", "quantity": -1}, "quantity_invalid", "quantity"),
        (Event.SET_QUANTITY, {"line": "nope", "quantity": 2}, "line_unknown", "line"),
        (Event.REMOVE_LINE, {"line": "nope"}, "line_unknown", "line"),
        (Event.APPLY_VOUCHER, {"code": "  "}, "voucher_missing", "voucher"),
        (Event.REMOVE_VOUCHER, {"code": "SUMMER"}, "voucher_not_applied", "voucher"),
        (Event.SET_COUNTRY, {"country": "Sweden"}, "country_invalid", "country"),
    ],
)
def test_cart_guards_refuse_with_a_code_and_a_field(
    event: Event, params: dict[str, object], code: str, field: str
) -> None:
    assert refusal_of(event, params) == (code, field)


@pytest.mark.parametrize(
    ("event", "params"),
    [
        (Event.ADD_ITEM, {"item": "23-281", "quantity": 2}),
        (Event.SET_QUANTITY, {"line": "line0", "quantity": 0}),
        (Event.REMOVE_LINE, {"line": "line0"}),
        (Event.APPLY_VOUCHER, {"code": "SUMMER"}),
        (Event.SET_COUNTRY, {"country": "NO"}),
    ],
)
def test_cart_guards_pass_good_parameters(event: Event, params: dict[str, object]) -> None:
    flow.check(checkout(), event, params)


def test_removing_an_applied_voucher_passes() -> None:
    flow.check(checkout(cart=cart(vouchers=("SUMMER",))), Event.REMOVE_VOUCHER, {"code": "SUMMER"})


def test_confirm_passes_with_complete_details() -> None:
    flow.check(checkout(), Event.CONFIRM, {"details": details()})


@pytest.mark.parametrize(
    ("ck", "request_", "code", "field"),
    [
        (checkout(cart=cart(items=0)), details(), "selection_empty", "items"),
        (checkout(), details(address=Address(email="a@b.se")), "address_incomplete", "address"),
        (
            checkout(),
            details(address=attrs.evolve(details().address, email="not-an-email")),
            "email_invalid",
            "address.email",
        ),
        (
            checkout(),
            details(terms_and_conditions=False),
            "terms_not_accepted",
            "termsAndConditions",
        ),
        (
            checkout(),
            details(payment_method="bitcoin"),
            "payment_method_unavailable",
            "paymentMethod",
        ),
        (checkout(cart=cart(ship_to=False)), details(), "ship_to_not_allowed", "country"),
    ],
)
def test_confirm_guards_refuse_with_a_code_and_a_field(
    ck: Checkout, request_: PaymentRequest, code: str, field: str
) -> None:
    assert refusal_of(Event.CONFIRM, {"details": request_}, ck) == (code, field)


def test_an_incomplete_address_names_every_missing_field() -> None:
    with pytest.raises(GuardRefused) as refused:
        flow.check(checkout(), Event.CONFIRM, {"details": details(address=Address(email="a@b.se"))})
    message = refused.value.refusals[0].message
    for field in ("firstName", "lastName", "address1", "zipCode", "city", "country"):
        assert field in message


def test_every_failing_guard_is_reported_at_once() -> None:
    bad = details(terms_and_conditions=False, payment_method="bitcoin")
    with pytest.raises(GuardRefused) as refused:
        flow.check(checkout(cart=cart(items=0)), Event.CONFIRM, {"details": bad})
    codes = {r.code for r in refused.value.refusals}
    assert codes == {"selection_empty", "terms_not_accepted", "payment_method_unavailable"}
