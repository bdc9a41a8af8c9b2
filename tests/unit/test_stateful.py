"""Random event sequences against the service: the flow's invariants hold whatever happens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from orderflow import flow
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraError, EventNotAllowed, GuardRefused
from orderflow.flow import FLOW, State
from orderflow.service import CheckoutService

TABLE = {(s, rule.event, d) for rule in FLOW for s in rule.sources for d in rule.dests_from(s)}
REFUSALS = (EventNotAllowed, GuardRefused, CentraError)
METHODS = ["klarna-playground", "redirect-test", "instant-success", "always-decline"]
DECLINED = {"centraPaymentMethod": "klarna-playground"}


class CheckoutMachine(RuleBasedStateMachine):
    """Drives many checkouts through random events; every refusal leaves the store unchanged."""

    checkouts = Bundle("checkouts")

    def __init__(self) -> None:
        super().__init__()
        self.fake = FakeCentra.seeded()
        self.store = MemoryStore()
        self.service = CheckoutService(
            transport=self.fake,
            store=self.store,
            clock=ManualClock(),
            settings=ServiceSettings(claim_wait=timedelta(seconds=1)),
        )
        self.items = sorted(self.fake.catalog.items)
        self.vouchers = sorted(self.fake.catalog.vouchers)
        self.opened: list[str] = []

    def all(self) -> list[Checkout]:
        return [self.store.load(checkout_id) for checkout_id in self.opened]

    def attempt(self, checkout_id: str, event: Callable[[], Checkout]) -> None:
        before = self.store.load(checkout_id)
        try:
            after = event()
        except REFUSALS:
            assert self.store.load(checkout_id) == before
            return
        assert after.version > before.version or after == before
        note_event(f"reached {after.state.value}")
        for record in after.history[len(before.history) :]:
            assert (record.source, record.event, record.dest) in TABLE

    @precondition(lambda self: len(self.opened) < 3)
    @rule(target=checkouts)
    def open(self) -> str:
        checkout = self.service.open()
        self.opened.append(checkout.id)
        return checkout.id

    @rule(checkout=checkouts, index=st.integers(0, 50), quantity=st.sampled_from([1, 1, 2, 0, -1]))
    def add_item(self, checkout: str, index: int, quantity: int) -> None:
        item = self.items[index % len(self.items)] if index < 45 else "999-999"
        self.attempt(checkout, lambda: self.service.add_item(checkout, item, quantity))

    @rule(checkout=checkouts, quantity=st.integers(-1, 3), which=st.integers(0, 3))
    def set_quantity(self, checkout: str, quantity: int, which: int) -> None:
        lines = self.store.load(checkout).items
        line = lines[which % len(lines)].line if lines else "no-line"
        self.attempt(checkout, lambda: self.service.set_quantity(checkout, line, quantity))

    @rule(checkout=checkouts, which=st.integers(0, 3))
    def remove_line(self, checkout: str, which: int) -> None:
        lines = self.store.load(checkout).items
        line = lines[which % len(lines)].line if lines else "no-line"
        self.attempt(checkout, lambda: self.service.remove_line(checkout, line))

    @rule(checkout=checkouts, which=st.integers(0, 5), remove=st.booleans())
    def voucher(self, checkout: str, which: int, remove: bool) -> None:
        code = self.vouchers[which] if which < len(self.vouchers) else "NO-SUCH-CODE"
        call = self.service.remove_voucher if remove else self.service.apply_voucher
        self.attempt(checkout, lambda: call(checkout, code))

    @rule(checkout=checkouts, country=st.sampled_from(["SE", "NO", "DE", "US", "sweden"]))
    def set_country(self, checkout: str, country: str) -> None:
        self.attempt(checkout, lambda: self.service.set_country(checkout, country))

    @rule(
        checkout=checkouts,
        method=st.sampled_from(METHODS),
        terms=st.sampled_from([True, True, True, False]),
    )
    def confirm(self, checkout: str, method: str, terms: bool) -> None:
        details = attrs.evolve(seed_details(), payment_method=method, terms_and_conditions=terms)
        self.attempt(checkout, lambda: self.service.confirm(checkout, details))

    @rule(checkout=checkouts)
    def start_payment(self, checkout: str) -> None:
        self.attempt(checkout, lambda: self.service.start_payment(checkout))

    @rule(checkout=checkouts, pays=st.booleans())
    def complete_payment(self, checkout: str, pays: bool) -> None:
        fields = SEED_PAYMENT_FIELDS if pays else DECLINED
        self.attempt(checkout, lambda: self.service.complete_payment(checkout, fields))

    @rule(
        checkout=checkouts,
        event=st.sampled_from(["reopen", "fail_payment", "retry_payment", "reconcile"]),
    )
    def without_payment_call(self, checkout: str, event: str) -> None:
        self.attempt(checkout, lambda: getattr(self.service, event)(checkout))

    @rule(checkout=checkouts, event=st.sampled_from(["cancel", "expire"]), dice=st.integers(0, 5))
    def give_up(self, checkout: str, event: str, dice: int) -> None:
        if dice == 0:  # rarely: a final state ends the checkout's story
            self.attempt(checkout, lambda: getattr(self.service, event)(checkout))

    @rule(checkout=checkouts, method=st.sampled_from(METHODS))
    def the_shoppers_way(self, checkout: str, method: str) -> None:
        """The steps a shopper takes, in order, from wherever the checkout is."""
        details = attrs.evolve(seed_details(), payment_method=method)
        self.attempt(checkout, lambda: self.service.add_item(checkout, self.items[0], 1))
        self.attempt(checkout, lambda: self.service.confirm(checkout, details))
        self.attempt(checkout, lambda: self.service.start_payment(checkout))
        self.attempt(checkout, lambda: self.service.complete_payment(checkout, SEED_PAYMENT_FIELDS))

    @invariant()
    def every_history_follows_the_table(self) -> None:
        for checkout in self.all():
            assert checkout.history[0].event is flow.Event.OPEN
            for record in checkout.history[1:]:
                assert (record.source, record.event, record.dest) in TABLE
            states = [r.dest for r in checkout.history]
            assert states[-1] is checkout.state

    @invariant()
    def totals_equal_the_sum_of_the_lines(self) -> None:
        for checkout in self.all():
            if checkout.cart is None:
                continue
            selection = checkout.cart.selection
            assert selection.totals.items_total_price.amount == sum(
                item.total_price.amount for item in selection.items
            )
            assert selection.totals.total_quantity == sum(i.quantity for i in selection.items)

    @invariant()
    def a_paid_checkout_has_exactly_one_order(self) -> None:
        for checkout in self.all():
            orders = [o for o in self.fake.orders.values() if o["order"] == checkout.order]
            if checkout.state is State.PAID:
                assert checkout.receipt is not None and len(orders) == 1
                assert checkout.selection_id in self.fake.orders
            elif checkout.selection_id is not None:
                # Only a paid checkout's selection became an order.
                assert checkout.selection_id not in self.fake.orders


TestCheckoutFlow = CheckoutMachine.TestCase
TestCheckoutFlow.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
