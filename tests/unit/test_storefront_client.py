"""The Storefront API clients on the fake's GraphQL server: the typed calls over the project's
own documents, the seed's flow through ``CheckoutService`` ending paid, refusals, tokens on
every answer, GraphQL errors and faults through the error table, and replay. No network."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from graphql import parse, validate

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import (
    SEED_ITEM,
    SEED_PAYMENT_FIELDS,
    run_seed_flow,
    seed_details,
)
from orderflow.adapters.fake.storefront import storefront_schema
from orderflow.adapters.replay.tape import CassetteMismatch
from orderflow.adapters.replay.transport import ReplayTransport
from orderflow.adapters.storefront_api.client import StorefrontApiClient
from orderflow.adapters.storefront_api.documents import DOCUMENTS
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    CallKind,
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
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
)
from orderflow.flow import State
from orderflow.payment import FailedAction, FormAction, RedirectAction, SuccessAction
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse
from tests.unit.test_storefront_support import KINDS, SHARED, URL, api, mock, service

DECLINED = {"centraPaymentMethod": "klarna-playground"}


def _fields(action: Any) -> dict[str, str]:
    """What the shopper's browser posts back after this action."""
    if isinstance(action, RedirectAction):
        return dict(re.findall(r"([A-Za-z]+)=([^&]+)", action.url.partition("?")[2]))
    assert isinstance(action, FormAction)
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', action.form_html))


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_of_ours_validates_against_the_published_schema(name: str) -> None:
    assert validate(storefront_schema(), parse(DOCUMENTS[name])) == []


@KINDS
def test_the_seed_flow_ends_paid_with_the_seeds_totals(kind: str) -> None:
    fake = FakeCentra.seeded()
    with service(kind, fake) as shop:
        paid = run_seed_flow(shop)
    assert paid.state is State.PAID and paid.receipt is not None
    totals = paid.receipt.totals
    assert totals is not None and totals.grand_total_price.amount == 3600
    assert totals.grand_total_price.display == "3\u00a0600.00\u00a0SEK"
    assert totals.grand_total_price_tax is not None and totals.grand_total_price_tax.amount == 720
    assert fake.orders[paid.selection_id or ""]["order"] == paid.order == "588"
    assert paid.receipt.payment_method == "klarna-playground"
    assert paid.receipt.address is not None and paid.receipt.address.city == "Bromma"
    assert paid.token is not None and paid.token != SHARED
    assert fake.calls == {
        CallKind.CREATE_SELECTION: 1,
        CallKind.ADD_ITEM: 1,
        CallKind.SET_CHECKOUT_FIELDS: 1,  # klarna-playground is chosen already
        CallKind.START_PAYMENT: 1,
        CallKind.PAYMENT_RESULT: 1,
    }


@KINDS
@pytest.mark.parametrize(
    ("method", "kind_of", "state"),
    [
        ("klarna-playground", FormAction, State.PAYMENT_PENDING),
        ("redirect-test", RedirectAction, State.PAYMENT_PENDING),
        ("instant-success", SuccessAction, State.PAID),
        ("always-decline", FailedAction, State.PAYMENT_FAILED),
    ],
)
def test_each_payment_action_leads_to_its_state(
    kind: str, method: str, kind_of: type, state: State
) -> None:
    fake = FakeCentra.seeded()
    with service(kind, fake) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        shop.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))
        started = shop.start_payment(checkout.id)
        assert isinstance(started.payment_action, kind_of) and started.state is state
        if state is State.PAYMENT_PENDING:
            paid = shop.complete_payment(checkout.id, _fields(started.payment_action))
            assert paid.state is State.PAID
    assert len(fake.orders) == (0 if state is State.PAYMENT_FAILED else 1)


@KINDS
def test_a_declined_payment_result_fails_and_a_retry_pays(kind: str) -> None:
    fake = FakeCentra.seeded()
    with service(kind, fake) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        shop.confirm(checkout.id, seed_details())
        shop.start_payment(checkout.id)
        failed = shop.complete_payment(checkout.id, DECLINED)
        assert failed.state is State.PAYMENT_FAILED and "paymentMethod" in (failed.last_error or "")
        shop.retry_payment(checkout.id)
        shop.start_payment(checkout.id)
        paid = shop.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID and len(fake.orders) == 1
    assert fake.calls[CallKind.PAYMENT_RESULT] == 2


@KINDS
def test_out_of_stock_at_payment_goes_back_to_the_cart_without_the_items(kind: str) -> None:
    fake = FakeCentra.seeded()
    with service(kind, fake) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        shop.confirm(checkout.id, seed_details())
        fake.stock[SEED_ITEM] = 0
        back = shop.start_payment(checkout.id)
    assert back.state is State.SELECTION and back.items == ()
    assert back.unavailable[0].item == SEED_ITEM and back.unavailable[0].available == 0
    assert fake.orders == {}


@KINDS
def test_a_voucher_takes_ten_percent_off_the_cart_and_the_order(kind: str) -> None:
    fake = FakeCentra.seeded()
    with service(kind, fake) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        discounted = shop.apply_voucher(checkout.id, "WELCOME10")
        assert discounted.voucher_codes == ("WELCOME10",)
        assert discounted.cart.selection.totals.grand_total_price.amount == 3240
        shop.confirm(checkout.id, seed_details())
        shop.start_payment(checkout.id)
        paid = shop.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.receipt.totals.grand_total_price.amount == 3240


@KINDS
def test_a_user_error_is_a_refusal_with_its_path_as_the_field_and_the_token(kind: str) -> None:
    fake = FakeCentra.seeded()
    with api(kind, fake) as shop:
        cart = shop.send(CreateSelection())
        with pytest.raises(CentraError) as refused:
            shop.send(AddItem(cart.selection_id, "99-999", 1, token=cart.token))
    assert refused.value.status == 400
    assert refused.value.errors == {"item": "product item not found"}
    assert refused.value.token == cart.token


@KINDS
def test_every_answer_carries_its_session_token(kind: str) -> None:
    fake = FakeCentra.seeded()
    with api(kind, fake) as shop:
        cart = shop.send(CreateSelection())
        token, selection = cart.token, cart.selection_id
        assert token is not None and token != SHARED
        answers = [
            shop.send(AddItem(selection, SEED_ITEM, 2, token=token)),
            shop.send(ApplyVoucher(selection, "SAVE100", token=token)),
            shop.send(RemoveVoucher(selection, "SAVE100", token=token)),
            shop.send(SetCountry(selection, "SE", token=token)),
            shop.send(ReadSelection(selection, token=token)),
            shop.send(SetCheckoutFields(selection, seed_details(), token=token)),
        ]
        line = answers[0].selection.items[0].line
        answers.append(shop.send(SetQuantity(selection, line, 1, token=token)))
        action = shop.send(StartPayment(selection, seed_details(), token=token))
        receipt = shop.send(PaymentResult(selection, SEED_PAYMENT_FIELDS, token=token))
        read = shop.send(ReadSelection(selection, token=token))
    assert all(isinstance(a, SelectionResponse) and a.token == token for a in answers)
    assert answers[1].selection.totals.grand_total_price.amount == 7100
    assert isinstance(action, FormAction) and action.token == token
    assert isinstance(receipt, Receipt) and receipt.token == token and receipt.order == "588"
    assert isinstance(read, Receipt) and read.order == "588"  # the session's latest order


@KINDS
def test_a_selection_created_in_a_country_is_priced_there(kind: str) -> None:
    fake = FakeCentra.seeded()
    with api(kind, fake) as shop:
        cart = shop.send(CreateSelection(country="NO"))
        added = shop.send(AddItem(cart.selection_id, SEED_ITEM, 1, token=cart.token))
        with pytest.raises(CentraError) as refused:
            shop.send(CreateSelection(country="XX"))
    assert cart.selection.currency == "NOK" and cart.location is not None
    assert cart.location.country == "NO" and cart.token is not None
    assert added.selection.totals.grand_total_price.display == "3\u00a0900.00\u00a0NOK"
    assert refused.value.errors == {"country": "not found"}
    assert fake.calls[CallKind.CREATE_SELECTION] == 2 and fake.calls[CallKind.SET_COUNTRY] == 0


@KINDS
def test_checkout_fields_choose_the_methods_by_their_id(kind: str) -> None:
    fake = FakeCentra.seeded()
    details = attrs.evolve(
        seed_details(), payment_method="redirect-test", extra={"shippingMethod": "Express"}
    )
    with api(kind, fake) as shop:
        cart = shop.send(CreateSelection())
        chosen = shop.send(SetCheckoutFields(cart.selection_id, details, token=cart.token))
        again = shop.send(SetCheckoutFields(cart.selection_id, details, token=cart.token))
        unknown = attrs.evolve(details, payment_method="cash-on-delivery")
        with pytest.raises(CentraError) as refused:
            shop.send(SetCheckoutFields(cart.selection_id, unknown, token=cart.token))
    assert chosen.selection.payment_method == "redirect-test"
    express = next(m for m in chosen.shipping_methods if m.name == "Express")
    assert chosen.selection.shipping_method == express.shipping_method == str(express.extra["id"])
    assert chosen.selection.totals.shipping_price.amount == 99
    _, shop_answer = fake.serve_shop_api("GET", f"/selections/{cart.selection_id}")
    assert shop_answer["selection"]["shippingMethod"] == "express"
    assert again == chosen
    assert refused.value.errors == {"paymentMethod": "not available"}
    assert fake.calls[CallKind.SET_CHECKOUT_FIELDS] == 3 + 1 + 1  # address, payment, shipping


@KINDS
def test_a_call_without_a_token_is_not_sent(kind: str) -> None:
    fake = FakeCentra.seeded()
    with api(kind, fake) as shop:
        with pytest.raises(PayloadError, match="needs the session's token"):
            shop.send(AddItem("s", SEED_ITEM, 1))
        with pytest.raises(CentraUnavailable, match="did not act"):
            shop.send(StartPayment("s", seed_details()))
    assert fake.calls == {}


@KINDS
def test_a_token_that_stands_for_another_selection_is_refused(kind: str) -> None:
    fake = FakeCentra.seeded()
    with api(kind, fake) as shop:
        mine, theirs = shop.send(CreateSelection()), shop.send(CreateSelection())
        with pytest.raises(AuthenticationFailed, match="no longer stands"):
            shop.send(ReadSelection(mine.selection_id, token=theirs.token))


@KINDS
def test_a_lost_payment_result_is_unknown_then_reconciled_to_its_one_order(kind: str) -> None:
    plan = FaultPlan(7).timeout_after(CallKind.PAYMENT_RESULT, on_calls=[1])
    fake = FakeCentra.seeded(faults=plan)
    with service(kind, fake, timeout=2.0) as shop:
        checkout = shop.open()
        shop.add_item(checkout.id, SEED_ITEM, 1)
        shop.confirm(checkout.id, seed_details())
        shop.start_payment(checkout.id)
        with pytest.raises(OutcomeUnknown):
            shop.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
        assert shop.get(checkout.id).outcome_unknown is CallKind.PAYMENT_RESULT
        paid = shop.reconcile(checkout.id)
    assert paid.state is State.PAID and paid.order == "588"
    assert fake.calls[CallKind.PAYMENT_RESULT] == 1 and len(fake.orders) == 1


@KINDS
def test_graphql_errors_and_fault_statuses_go_through_the_error_table(kind: str) -> None:
    plan = (
        FaultPlan(7)
        .malformed(CallKind.START_PAYMENT, "not_json")
        .malformed(CallKind.REMOVE_LINE, "elided")
        .status(CallKind.ADD_ITEM, 429, retry_after=2, on_calls=[2])
        .server_error(CallKind.PAYMENT_RESULT)
        .server_error(CallKind.READ_SELECTION, on_calls=[1])
    )
    fake = FakeCentra.seeded(faults=plan)
    with api(kind, fake, backoff=0.0) as shop:
        cart = shop.send(CreateSelection())
        selection, token = cart.selection_id, cart.token
        added = shop.send(AddItem(selection, SEED_ITEM, 1, token=token))
        with pytest.raises(CentraUnavailable) as busy:
            shop.send(AddItem(selection, SEED_ITEM, 1, token=token))
        with pytest.raises(OutcomeUnknown, match="GraphQL errors while running"):
            shop.send(StartPayment(selection, seed_details(), token=token))
        with pytest.raises(OutcomeUnknown, match="503"):
            shop.send(PaymentResult(selection, SEED_PAYMENT_FIELDS, token=token))
        read = shop.send(ReadSelection(selection, token=token))  # a 503, then a retry
        with pytest.raises(CentraUnavailable, match="may have reached Centra"):
            shop.send(RemoveLine(selection, added.selection.items[0].line, token=token))
    assert busy.value.status == 429 and busy.value.retry_after == 2
    assert isinstance(read, SelectionResponse) and fake.calls[CallKind.READ_SELECTION] == 2


def test_a_document_refused_before_running_is_a_refusal_even_for_a_money_call() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        error = {"message": 'Unknown argument "nope"', "locations": [{"line": 1, "column": 2}]}
        # A request error (GraphQL spec): raised before execution, so no `data` key at all.
        body = {"errors": [error], "extensions": {"token": "t2", "traceId": "x"}}
        return httpx.Response(200, json=body)

    client = StorefrontApiClient(URL, SHARED, transport=httpx.MockTransport(refuse))
    with client, pytest.raises(CentraError) as refused:
        client.send(PaymentResult("s", SEED_PAYMENT_FIELDS, token="t1"))
    assert refused.value.status == 400 and "nope" in refused.value.errors["query"]
    assert refused.value.token == "t2"


@KINDS
def test_aggressive_stock_keeps_what_is_left_or_refuses_what_is_gone(kind: str) -> None:
    fake = FakeCentra.seeded(stock={SEED_ITEM: 1, "31-101": 0}, stock_mode="aggressive")
    with api(kind, fake) as shop:
        cart = shop.send(CreateSelection())
        kept = shop.send(AddItem(cart.selection_id, SEED_ITEM, 3, token=cart.token))
        with pytest.raises(OutOfStock) as gone:
            shop.send(AddItem(cart.selection_id, "31-101", 1, token=cart.token))
    assert kept.selection.items[0].quantity == 1
    assert (kept.unavailable[0].item, kept.unavailable[0].available) == (SEED_ITEM, 1)
    assert gone.value.unavailable[0].item == "31-101" and gone.value.selection is not None


def test_replay_records_the_storefront_dialect_redacted_and_replays_it(tmp_path: Path) -> None:
    path = tmp_path / "storefront.json"
    fake = FakeCentra.seeded()

    def flow(transport: httpx.BaseTransport, item: str | None = SEED_ITEM) -> list[Any]:
        with StorefrontApiClient(URL, SHARED, transport=transport) as client:
            cart = client.send(CreateSelection())
            selection, token = cart.selection_id, cart.token
            if item is None:  # another operation in its place
                client.send(ApplyVoucher(selection, "WELCOME10", token=token))
            added = client.send(AddItem(selection, item or SEED_ITEM, 1, token=token))
            client.send(SetCheckoutFields(selection, seed_details(), token=token))
            action = client.send(StartPayment(selection, seed_details(), token=token))
            receipt = client.send(PaymentResult(selection, SEED_PAYMENT_FIELDS, token=token))
            return [cart, added, action, receipt]

    with ReplayTransport(path, mode="all", inner=mock(fake)) as recording:
        recorded = flow(recording)
    text = path.read_text(encoding="utf-8")
    assert recorded[0].token not in text and SHARED not in text
    assert "hhh@maximilliangeorge.com" not in text and "<redacted:authorization:1>" in text
    assert '"operationName": "PaymentResult"' in text or '"operationName":"PaymentResult"' in text
    with ReplayTransport(path) as replaying:
        replayed = flow(replaying)
        assert replaying.unplayed == []
    assert [type(a) for a in replayed] == [type(a) for a in recorded]
    assert replayed[3].order == recorded[3].order == "588"
    assert replayed[0].token == "<redacted:token:1>" != recorded[0].token
    with ReplayTransport(path) as other, pytest.raises(CassetteMismatch, match="variables"):
        flow(other, item="23-282")
    with ReplayTransport(path) as another, pytest.raises(CassetteMismatch, match="operationName"):
        flow(another, item=None)
    assert fake.calls[CallKind.PAYMENT_RESULT] == 1  # replaying sent nothing


@pytest.mark.parametrize(
    ("package", "heavy"),
    [
        ("orderflow.adapters.storefront_api", ("httpx", "graphql")),
        ("orderflow.adapters.fake.storefront", ("httpx", "graphql", "uvicorn")),
    ],
)
def test_each_storefront_package_exports_lazily_and_completely(
    package: str, heavy: tuple[str, ...]
) -> None:
    loaded = importlib.import_module(package)
    assert loaded.__all__ == sorted(loaded.__all__, key=lambda n: (not n[0].isupper(), n))
    probe = f"import sys, {package}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    for name in loaded.__all__:
        assert getattr(loaded, name).__name__ == name
    import orderflow.adapters

    assert {"AsyncStorefrontApiClient", "StorefrontApiClient"} <= set(orderflow.adapters.__all__)
    assert orderflow.adapters.StorefrontApiClient is StorefrontApiClient


@KINDS
def test_the_seed_flow_follows_a_token_that_changes_with_every_answer(kind: str) -> None:
    if "rotate_tokens" not in inspect.signature(FakeCentra).parameters:
        pytest.skip("this FakeCentra does not rotate session tokens")
    fake = FakeCentra.seeded(rotate_tokens=True)
    tokens: list[str | None] = []
    details = attrs.evolve(seed_details(), payment_method="redirect-test")  # two requests
    with service(kind, fake) as shop:
        checkout = shop.open()
        tokens.append(checkout.token)
        tokens.append(shop.add_item(checkout.id, SEED_ITEM, 1).token)
        tokens.append(shop.confirm(checkout.id, details).token)
        started = shop.start_payment(checkout.id)
        tokens.append(started.token)
        paid = shop.complete_payment(checkout.id, _fields(started.payment_action))
        tokens.append(paid.token)
    assert paid.state is State.PAID and len(set(tokens)) == len(tokens)
