"""The shipped cassettes and the scenarios they record, for replay as a third transport.

Each ``Scenario`` drives a ``Transport`` (any: ``FakeCentra`` in process, ``ShopApiClient``
over HTTP, or replay) through one flow and returns an ``outcome``: a small dict without
redacted values, the same whichever transport ran it. A scenario whose flow is a contract
test's replays that test's cassette (``contract/``, recorded by the contract suite); ``record.py``
records the others from the fake; ``replay_client(name)`` replays one::

    outcome = SCENARIOS["seed-flow"].run(replay_client("seed-flow"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, run_seed_flow, seed_details
from orderflow.adapters.replay.transport import ReplayTransport
from orderflow.adapters.replay.transport import replay_client as _replay_client
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import AddItem, CreateSelection, PaymentResult, SetCheckoutFields, StartPayment
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.errors import OrderflowError
from orderflow.payment import PaymentRequest, RedirectAction
from orderflow.ports import Transport
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService

CASSETTES = Path(__file__).resolve().parent
"""The folder of the shipped cassettes (``<scenario>.json``)."""

CONTRACT_CASSETTES = CASSETTES / "contract"
"""The contract suite's cassettes, one per test (``<test>[<params>].json``)."""

RECORDED_AT = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
"""The fake's clock while recording, so the receipt's date is the same every time."""

API_KEY = "cassette-recording-key-7c1e"
"""The key the fake requires while recording; redacted in every cassette."""

Outcome = dict[str, Any]


@attrs.frozen
class Scenario:
    """One recorded flow: the fake it runs against and what it does with a transport."""

    name: str
    run: Callable[[Transport], Outcome]
    fake: Callable[[], FakeCentra] = attrs.field(
        default=lambda: FakeCentra.seeded(clock=ManualClock(RECORDED_AT), api_key=API_KEY)
    )
    contract_test: str | None = None
    """The contract test that records the same exchanges, when one does."""

    @property
    def path(self) -> Path:
        """The scenario's cassette: its own, or its contract test's."""
        if self.contract_test is not None:
            return CONTRACT_CASSETTES / f"{self.contract_test}.json"
        return CASSETTES / f"{self.name}.json"


def replay_client(name: str, **options: Any) -> ShopApiClient:
    """A ``ShopApiClient`` replaying the shipped cassette of scenario ``name`` (no network).

    Raises ``KeyError`` for an unknown scenario, ``CassetteError`` for a missing or damaged
    cassette (run ``tests/cassettes/record.py``).
    """
    return _replay_client(SCENARIOS[name].path, **options)


def replay_transport(name: str, **options: Any) -> ReplayTransport:
    """The ``ReplayTransport`` of scenario ``name``'s cassette, for a client built elsewhere."""
    return ReplayTransport.from_cassette(SCENARIOS[name].path, **options)


# --- outcomes -------------------------------------------------------------------------------


def _service(transport: Transport) -> CheckoutService:
    return CheckoutService(transport=transport, store=MemoryStore())


def _checkout(checkout: Checkout) -> Outcome:
    action = checkout.payment_action
    return {
        "state": checkout.state.value,
        "action": getattr(action, "kind", None),
        **_receipt(checkout.receipt),
        "lines": [(item.item, item.quantity) for item in checkout.cart.selection.items]
        if checkout.cart is not None and checkout.receipt is None
        else None,
        "last_error": checkout.last_error,
    }


def _receipt(receipt: Receipt | None) -> Outcome:
    if receipt is None:
        return {"order": None}
    return {
        "order": receipt.order,
        "status": receipt.status,
        "grand_total": str(receipt.totals.grand_total_price.amount) if receipt.totals else None,
        "items": [(item.item, item.quantity) for item in receipt.items],
    }


def _error(error: OrderflowError) -> Outcome:
    return {"error": type(error).__name__, "errors": dict(getattr(error, "errors", {}) or {})}


def _details(payment_method: str) -> PaymentRequest:
    return attrs.evolve(seed_details(), payment_method=payment_method)


def _to_confirmed(service: CheckoutService, method: str, voucher: str | None = None) -> str:
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    if voucher is not None:
        service.apply_voucher(checkout.id, voucher)
    service.confirm(checkout.id, _details(method))
    return checkout.id


# --- the scenarios --------------------------------------------------------------------------


def seed_flow(transport: Transport) -> Outcome:
    """The seed's flow: open, add 23-281, confirm, start the payment (Klarna form), pay."""
    return _checkout(run_seed_flow(_service(transport)))


def action_form(transport: Transport) -> Outcome:
    """Starting a Klarna payment answers a ``form`` action; the checkout waits for the shopper."""
    service = _service(transport)
    return _checkout(service.start_payment(_to_confirmed(service, "klarna-playground")))


def action_redirect(transport: Transport) -> Outcome:
    """A ``redirect`` action; the shopper comes back with ``orderRef``, which pays."""
    service = _service(transport)
    checkout = service.start_payment(_to_confirmed(service, "redirect-test"))
    action = checkout.payment_action
    assert isinstance(action, RedirectAction), action
    fields = dict(parse_qsl(urlsplit(action.url).query))
    return _checkout(service.complete_payment(checkout.id, fields))


def action_success(transport: Transport) -> Outcome:
    """A ``success`` action: paid when the payment starts."""
    service = _service(transport)
    return _checkout(service.start_payment(_to_confirmed(service, "instant-success")))


def action_failed(transport: Transport) -> Outcome:
    """A ``failed`` action: the payment is declined when it starts."""
    service = _service(transport)
    return _checkout(service.start_payment(_to_confirmed(service, "always-decline")))


def declined_then_retry(transport: Transport) -> Outcome:
    """Declined, back to the cart, Klarna instead, paid."""
    service = _service(transport)
    checkout_id = _to_confirmed(service, "always-decline")
    service.start_payment(checkout_id)
    service.reopen(checkout_id)
    service.confirm(checkout_id, _details("klarna-playground"))
    service.start_payment(checkout_id)
    return _checkout(service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS))


def out_of_stock_at_payment(transport: Transport) -> Outcome:
    """The item sold out before paying: 410 when the payment starts, back to the cart."""
    service = _service(transport)
    return _checkout(service.start_payment(_to_confirmed(service, "klarna-playground")))


def voucher(transport: Transport) -> Outcome:
    """WELCOME10 (10% off) applied, then the seed's payment: 3240 SEK."""
    service = _service(transport)
    checkout_id = _to_confirmed(service, "klarna-playground", voucher="WELCOME10")
    service.start_payment(checkout_id)
    return _checkout(service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS))


def unknown_item(transport: Transport) -> Outcome:
    """Adding an item Centra does not know: a field error on ``item``."""
    service = _service(transport)
    checkout = service.open()
    try:
        service.add_item(checkout.id, "99-999", 1)
    except OrderflowError as error:
        return _error(error)
    raise AssertionError("adding 99-999 did not fail")


def payment_result_twice(transport: Transport) -> Outcome:
    """The payment result posted twice for one order (what orderflow itself never does):
    the first answers the receipt, the second Centra's 400 ``already completed``."""
    selection = transport.send(CreateSelection()).selection_id
    transport.send(AddItem(selection, SEED_ITEM, 1))
    transport.send(SetCheckoutFields(selection, seed_details()))
    transport.send(StartPayment(selection, seed_details()))
    first = transport.send(PaymentResult(selection, SEED_PAYMENT_FIELDS))
    assert isinstance(first, Receipt), first
    try:
        transport.send(PaymentResult(selection, SEED_PAYMENT_FIELDS))
    except OrderflowError as error:
        return {**_receipt(first), "second": _error(error)}
    raise AssertionError("the second payment result did not fail")


def _sold_out() -> FakeCentra:
    fake = FakeCentra.seeded(clock=ManualClock(RECORDED_AT), api_key=API_KEY)
    fake.stock[SEED_ITEM] = 0
    return fake


_EACH_ACTION = "test_each_payment_action_kind_leads_to_its_state"

SCENARIOS: Mapping[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("seed-flow", seed_flow),  # its own file: tests/contract/test_cli_http.py uses it
        Scenario("action-form", action_form),
        Scenario(
            "action-redirect",
            action_redirect,
            contract_test=f"{_EACH_ACTION}[redirect-test-RedirectAction-payment_pending]",
        ),
        Scenario(
            "action-success",
            action_success,
            contract_test=f"{_EACH_ACTION}[instant-success-SuccessAction-paid]",
        ),
        Scenario(
            "action-failed",
            action_failed,
            contract_test=f"{_EACH_ACTION}[always-decline-FailedAction-payment_failed]",
        ),
        Scenario("declined-then-retry", declined_then_retry),
        Scenario(
            "out-of-stock-at-payment",
            out_of_stock_at_payment,
            _sold_out,
            contract_test="test_out_of_stock_at_payment_goes_back_to_the_cart_without_the_items",
        ),
        Scenario(
            "voucher",
            voucher,
            contract_test="test_a_voucher_takes_ten_percent_off_the_cart_and_the_order",
        ),
        Scenario(
            "unknown-item",
            unknown_item,
            contract_test="test_an_unknown_item_is_a_field_error_and_leaves_the_checkout_unchanged",
        ),
        Scenario("payment-result-twice", payment_result_twice),
    )
}
"""Every shipped scenario by name, with its cassette at ``path``."""
