"""FakeCentra in process: the seed's receipt, prices, vouchers, errors, stock, payments, counts."""

from __future__ import annotations

import json
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import codec
from orderflow.adapters.fake.cart import Cart
from orderflow.adapters.fake.catalog import Catalog
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.pricing import price_cart
from orderflow.adapters.fake.rendering import ShopRenderer
from orderflow.adapters.fake.state import HANDLERS, CentraState
from orderflow.adapters.shop_api import dialect
from orderflow.calls import (
    AddItem,
    ApplyVoucher,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    RemoveVoucher,
    SetCheckoutFields,
    SetCountry,
    StartPayment,
)
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    OutOfStock,
    PayloadError,
)
from orderflow.payment import (
    FailedAction,
    FormAction,
    PaymentRequest,
    RedirectAction,
    SuccessAction,
)
from orderflow.receipt import Receipt
from orderflow.selection import Selection, SelectionResponse

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
NBSP = "\u00a0"
IDS_AND_DATES = ("order", "line", "date")


def _load(name: str) -> Any:
    return json.loads((SEED / name).read_text(encoding="utf-8"))


def _without(data: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        return {k: _without(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [_without(v, keys) for v in data]
    return data


def _details(**changes: Any) -> PaymentRequest:
    wire = {**_load("payment.request.json"), **changes}
    return codec.structure(wire, PaymentRequest, source="seed payment.request.json")


SEED_FIELDS: dict[str, str] = _load("payment-result.request.json")["paymentMethodFields"]


def _paid_seed_flow(fake: FakeCentra) -> tuple[str, Receipt]:
    selection = fake.send(CreateSelection()).selection_id
    fake.send(AddItem(selection, "23-281", 1))
    fake.send(SetCheckoutFields(selection, _details()))
    action = fake.send(StartPayment(selection, _details()))
    assert isinstance(action, FormAction)
    receipt = fake.send(PaymentResult(selection, SEED_FIELDS))
    assert isinstance(receipt, Receipt)
    return selection, receipt


def _cart(fake: FakeCentra, *items: tuple[str, int]) -> str:
    selection = fake.send(CreateSelection()).selection_id
    for item, quantity in items:
        fake.send(AddItem(selection, item, quantity))
    return selection


def _read(fake: FakeCentra, selection: str) -> Selection:
    """The selection as Centra reads it back (not an order yet)."""
    answer = fake.send(ReadSelection(selection))
    assert isinstance(answer, SelectionResponse)
    return answer.selection


def _receipt(fake: FakeCentra, selection: str) -> Receipt | None:
    """The order the selection became, if it did (reading the selection answers the order)."""
    answer = fake.send(ReadSelection(selection))
    return answer if isinstance(answer, Receipt) else None


# --- the seed ----------------------------------------------------------------------------------


def test_the_seed_flow_gives_the_seed_receipt() -> None:
    fake = FakeCentra.seeded()
    selection, receipt = _paid_seed_flow(fake)

    expected = _without(_load("payment-result.response.json"), IDS_AND_DATES)
    assert _without(codec.unstructure(receipt), IDS_AND_DATES) == expected
    assert _without(fake.orders[selection], IDS_AND_DATES) == expected
    assert receipt.order == "588"


def test_the_seed_receipts_display_strings_are_byte_for_byte_centras() -> None:
    fake = FakeCentra.seeded()
    selection, _ = _paid_seed_flow(fake)
    seed_text = json.dumps(_without(_load("payment-result.response.json"), IDS_AND_DATES))
    fake_text = json.dumps(_without(fake.orders[selection], IDS_AND_DATES))
    assert fake_text.encode() == seed_text.encode()
    assert fake.orders[selection]["items"][0]["priceEach"] == f"3{NBSP}600.00{NBSP}SEK"


def test_klarna_returns_the_address_as_it_verified_it() -> None:
    _, receipt = _paid_seed_flow(FakeCentra.seeded())
    assert receipt.address is not None and receipt.shipping_address is not None
    assert (receipt.address.city, receipt.address.phone_number) == ("Bromma", "+46734444782")
    assert receipt.shipping_address.city == "Bromma"


# --- prices, tax, vouchers, countries --------------------------------------------------------


def test_two_items_are_taxed_and_totalled() -> None:
    fake = FakeCentra.seeded()
    cart = _read(fake, _cart(fake, ("23-281", 1), ("31-101", 2)))
    totals = cart.totals

    assert [line.total_price.amount for line in cart.items] == [Decimal(3600), Decimal(998)]
    assert totals.items_total_price.amount == sum(line.total_price.amount for line in cart.items)
    assert totals.total_quantity == 3
    assert totals.grand_total_price.amount == Decimal(4598)
    assert totals.grand_total_price.display == f"4{NBSP}598.00{NBSP}SEK"
    assert totals.grand_total_price_tax is not None
    assert totals.grand_total_price_tax.amount == Decimal("919.60")
    tee = cart.items[1].price_each_without_tax
    assert tee is not None and tee.amount == Decimal("399.2")
    assert totals.total_discount_price is None and totals.tax_added is None


@given(
    st.lists(
        st.tuples(st.sampled_from(["23-281", "23-282", "31-101"]), st.integers(1, 4)),
        max_size=3,
    ),
    st.lists(st.sampled_from(["WELCOME10", "SAVE100"]), unique=True),
    st.sampled_from(["list", "object"]),
)
def test_a_cart_like_one_priced_before_gets_its_prices_with_its_own_line_ids(
    contents: list[tuple[str, int]], vouchers: list[str], shape: Any
) -> None:
    catalog = Catalog.seeded()
    renderer = ShopRenderer(catalog)
    for cart_number in range(2):  # the second is priced from the first's (other line ids)
        lines = {f"line-{cart_number}-{i}": [item, n] for i, (item, n) in enumerate(contents)}
        cart = Cart(f"s{cart_number}", "SE", "klarna-playground", "sek", lines, vouchers)
        rows = [(line, item, n) for line, (item, n) in lines.items()]
        alone = price_cart(catalog, "SE", rows, vouchers, "sek", "klarna-playground", shape)
        assert renderer.priced(cart, shape) == alone


def test_the_same_item_added_twice_is_one_line() -> None:
    fake = FakeCentra.seeded()
    cart = _read(fake, _cart(fake, ("23-281", 1), ("23-281", 2)))
    assert [(line.item, line.quantity) for line in cart.items] == [("23-281", 3)]


def test_a_percentage_voucher_lowers_each_item_and_comes_off_again() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))

    cart = fake.send(ApplyVoucher(selection, "WELCOME10")).selection
    line = cart.items[0]
    assert line.price_each.amount == Decimal(3240) and line.any_discount
    assert line.price_each_reduction is not None
    assert line.price_each_reduction.amount == Decimal(360)
    assert cart.totals.grand_total_price.amount == Decimal(3240)
    assert cart.discounts is not None and cart.discounts.discount.amount == Decimal(-360)
    assert cart.discounts.codes == ("WELCOME10",)

    cart = fake.send(RemoveVoucher(selection, "WELCOME10")).selection
    assert cart.totals.grand_total_price.amount == Decimal(3600)


def test_a_fixed_amount_voucher_comes_off_the_order() -> None:
    fake = FakeCentra.seeded()
    cart = fake.send(ApplyVoucher(_cart(fake, ("23-281", 1)), "SAVE100")).selection
    assert cart.totals.items_total_price.amount == Decimal(3600)
    assert cart.totals.total_discount_price is not None
    assert cart.totals.total_discount_price.display == f"-100.00{NBSP}SEK"
    assert cart.totals.grand_total_price.amount == Decimal(3500)
    assert cart.totals.grand_total_price_tax is not None
    assert cart.totals.grand_total_price_tax.amount == Decimal(700)


def test_an_unknown_voucher_is_a_field_error() -> None:
    fake = FakeCentra.seeded()
    with pytest.raises(CentraError) as raised:
        fake.send(ApplyVoucher(_cart(fake), "NOPE"))
    assert raised.value.errors == {"voucher": "not valid"}


def test_another_country_has_its_own_prices_and_ship_to() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    norway = fake.send(SetCountry(selection, "NO"))
    assert norway.selection.totals.grand_total_price.display == f"3{NBSP}900.00{NBSP}NOK"
    assert norway.location is not None and norway.location.ship_to

    usa = fake.send(SetCountry(selection, "US"))
    assert usa.location is not None and not usa.location.ship_to
    with pytest.raises(CentraError) as raised:
        address = {**_load("payment.request.json")["address"], "country": "US"}
        fake.send(StartPayment(selection, _details(address=address)))
    assert raised.value.errors == {"country": "not shipped to"}


# --- errors ----------------------------------------------------------------------------------


def test_an_unknown_item_is_centras_field_error() -> None:
    fake = FakeCentra.seeded()
    with pytest.raises(CentraError) as raised:
        fake.send(AddItem(_cart(fake), "99-999", 1))
    assert (raised.value.status, raised.value.errors) == (400, {"item": "product item not found"})


def test_terms_must_be_accepted() -> None:
    fake = FakeCentra.seeded()
    with pytest.raises(CentraError) as raised:
        fake.send(StartPayment(_cart(fake, ("23-281", 1)), _details(termsAndConditions=False)))
    assert raised.value.errors == {"termsAndConditions": "must be true"}


def test_unknown_request_fields_are_refused_like_shop_api_v1() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    body = {**_load("payment.request.json"), "selection": selection, "hello": "world"}
    status, answer = fake.serve_shop_api("POST", f"/selections/{selection}/payment", body)
    assert (status, answer) == (400, {"errors": {"hello": "unknown"}})


def test_an_unknown_selection_is_not_found() -> None:
    fake = FakeCentra.seeded()
    with pytest.raises(CentraError) as raised:
        fake.send(ReadSelection("no-such-selection"))
    assert raised.value.status == 404
    assert fake.serve_shop_api("GET", "/nowhere", None)[0] == 404


def test_a_wrong_api_key_is_authentication_failed() -> None:
    with pytest.raises(AuthenticationFailed) as raised:
        FakeCentra.seeded(api_key="right", client_api_key="wrong").send(CreateSelection())
    assert raised.value.status == 401

    fake = FakeCentra.seeded(api_key="right")
    assert fake.send(CreateSelection()).selection.items == ()
    assert (
        fake.serve_shop_api("POST", "/selections", None, {"api-authorization": "right"})[0] == 201
    )
    assert fake.serve_shop_api("POST", "/selections", None)[0] == 401


# --- stock -------------------------------------------------------------------------------------


def test_out_of_stock_at_payment_removes_the_items_and_says_which() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 3), ("31-101", 1))
    fake.stock["23-281"] = 1

    with pytest.raises(OutOfStock) as raised:
        fake.send(StartPayment(selection, _details()))
    (gone,) = raised.value.unavailable
    assert (gone.item, gone.original_quantity, gone.unavailable, gone.available) == (
        "23-281",
        3,
        2,
        1,
    )
    assert raised.value.selection is not None
    left = raised.value.selection.selection.items
    assert [(line.item, line.quantity) for line in left] == [("23-281", 1), ("31-101", 1)]
    now = _read(fake, selection)
    assert now.totals.grand_total_price.amount == Decimal(3600 + 499)
    assert isinstance(fake.send(StartPayment(selection, _details())), FormAction)


def test_out_of_stock_at_payment_result_makes_no_order() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    fake.send(StartPayment(selection, _details()))
    fake.stock["23-281"] = 0

    with pytest.raises(OutOfStock) as raised:
        fake.send(PaymentResult(selection, SEED_FIELDS))
    assert raised.value.selection is not None
    assert raised.value.selection.selection.items == ()
    assert fake.orders == {} and _receipt(fake, selection) is None


def test_an_order_takes_its_stock() -> None:
    fake = FakeCentra.seeded(stock={"23-281": 5})
    _paid_seed_flow(fake)
    assert fake.stock["23-281"] == 4


# --- payments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("klarna-playground", FormAction),
        ("redirect-test", RedirectAction),
        ("instant-success", SuccessAction),
        ("always-decline", FailedAction),
    ],
)
def test_each_payment_method_answers_its_action(method: str, kind: type) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    action = fake.send(StartPayment(selection, _details(paymentMethod=method)))
    assert isinstance(action, kind)
    if isinstance(action, FormAction):
        assert 'name="klarna_order"' in action.form_html
    if isinstance(action, RedirectAction):
        assert action.url.startswith("http://localhost:3333/payment-status/?")
        assert "orderRef=" in action.url
    if isinstance(action, SuccessAction):
        assert action.receipt.payment_method == "instant-success"
        assert list(fake.orders) == [selection]
    if isinstance(action, FailedAction):
        assert action.errors == {"paymentMethod": "failed"}
        assert fake.orders == {}


def test_a_redirect_comes_back_with_its_order_reference() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    action = fake.send(StartPayment(selection, _details(paymentMethod="redirect-test")))
    assert isinstance(action, RedirectAction)
    query = dict(part.split("=", 1) for part in action.url.split("?", 1)[1].split("&"))
    receipt = fake.send(PaymentResult(selection, query))
    assert isinstance(receipt, Receipt) and receipt.address is not None
    assert receipt.address.city == "Stockholm"  # no provider verification: as posted


def test_a_payment_result_without_the_providers_answer_is_declined() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    fake.send(StartPayment(selection, _details()))
    fields = {"centraPaymentMethod": "klarna-playground"}
    status, answer = fake.serve_shop_api(
        "POST",
        "/selections/payment-result",
        {"selection": selection, "paymentMethodFields": fields},
    )
    # The payment-flows page's generic refusal: message, messages and the failed payment method.
    assert status == 400 and answer["errors"] == {"paymentMethod": "failed"}
    assert answer["messages"] == [answer["message"]]
    declined = fake.send(PaymentResult(selection, fields))
    assert isinstance(declined, FailedAction) and declined.errors == {"paymentMethod": "failed"}
    assert fake.orders == {}


def test_the_newer_payment_result_path_is_served_too() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    fake.send(StartPayment(selection, _details()))
    body = {"paymentMethodFields": SEED_FIELDS}
    status, answer = fake.serve_shop_api("POST", f"/selections/{selection}/payment-result", body)
    assert status == 200 and answer["order"] == "588"


# --- counting and the one-order ledger ---------------------------------------------------------


def test_every_request_is_counted_by_its_call_kind() -> None:
    fake = FakeCentra.seeded()
    selection, _ = _paid_seed_flow(fake)
    fake.send(ReadSelection(selection))
    assert fake.serve_shop_api("GET", f"/selections/{selection}/receipt")[0] == 200
    expected: Counter[CallKind | str] = Counter(
        {
            CallKind.CREATE_SELECTION: 1,
            CallKind.ADD_ITEM: 1,
            CallKind.SET_CHECKOUT_FIELDS: 1,
            CallKind.START_PAYMENT: 1,
            CallKind.PAYMENT_RESULT: 1,
            CallKind.READ_SELECTION: 1,
            "read_receipt": 1,  # the receipt endpoint: no call of ours, its route's name
        }
    )
    assert fake.calls == expected
    assert all(isinstance(kind, CallKind) for kind in fake.calls if kind != "read_receipt")


def test_a_second_payment_result_makes_no_second_order() -> None:
    fake = FakeCentra.seeded()
    selection, first = _paid_seed_flow(fake)

    with pytest.raises(CentraError) as raised:
        fake.send(PaymentResult(selection, SEED_FIELDS))
    assert (raised.value.status, raised.value.errors) == (400, {"selection": "already completed"})
    assert len(fake.orders) == 1 and fake.calls[CallKind.PAYMENT_RESULT] == 2
    assert _receipt(fake, selection) == first
    with pytest.raises(CentraError):
        fake.send(AddItem(selection, "23-281", 1))


def test_racing_payment_results_make_exactly_one_order() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    fake.send(StartPayment(selection, _details()))
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def pay() -> None:
        barrier.wait()
        try:
            fake.send(PaymentResult(selection, SEED_FIELDS))
            outcomes.append("order")
        except CentraError:
            outcomes.append("refused")

    threads = [threading.Thread(target=pay) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["order"] + ["refused"] * 15
    assert len(fake.orders) == 1 and fake.stock["23-281"] == 99


# --- the dialect's decoding --------------------------------------------------------------------


def test_a_5xx_is_centra_unavailable() -> None:
    with pytest.raises(CentraUnavailable) as raised:
        dialect.request(ReadSelection("s")).decode(503, {"message": "maintenance"})
    assert raised.value.status == 503 and "GET /selections/{selection}" in raised.value.endpoint


def test_an_answer_that_does_not_fit_names_the_endpoint() -> None:
    request = dialect.request(AddItem("s", "23-281", 1))
    with pytest.raises(PayloadError) as raised:
        request.decode(200, {"neither": "a selection nor an order"})
    assert raised.value.source == request.route.label == "POST /selections/{selection}/items/{item}"


def test_requests_quote_path_segments_and_match_back() -> None:
    request = dialect.request(RemoveVoucher("abc", "10% OFF/NOW"))
    assert request.path == "/selections/abc/vouchers/10%25%20OFF%2FNOW"
    route, params = dialect.match(request.method, request.path) or (None, {})
    assert route is not None and route.kind is CallKind.REMOVE_VOUCHER
    assert params == {"selection": "abc", "code": "10% OFF/NOW"}


def test_every_route_of_the_dialect_has_its_handler() -> None:
    assert set(HANDLERS) == set(dialect.ROUTES)
    assert all(handler is not CentraState._not_served for _, handler in HANDLERS.values())
    assert {kind for kind, _ in HANDLERS.values()} == {*CallKind, "read_receipt"}


def test_the_seeded_catalog_is_shared_and_read_only() -> None:
    catalog = FakeCentra.seeded().catalog
    assert FakeCentra.seeded().catalog is catalog
    with pytest.raises(TypeError):
        catalog.items["x"] = catalog.items["23-281"]  # type: ignore[index]
