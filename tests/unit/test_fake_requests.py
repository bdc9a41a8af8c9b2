"""What FakeCentra takes in a request: every field Centra's documentation uses, each of its type,
and nothing else (Shop API v1's ``400 {"errors": {"<field>": "unknown"}}``); and the names its
answers use (payment methods, ``location``, vouchers as a list or as objects)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.adapters.fake.server import create_app
from orderflow.adapters.fake.storefront import graphql_app
from orderflow.calls import AddItem, ApplyVoucher, CreateSelection

DATA = Path(__file__).resolve().parents[1] / "data"


def _wire(**changes: Any) -> dict[str, Any]:
    path = DATA / "seed" / "payment.request.json"
    seed = {k: v for k, v in json.loads(path.read_text()).items() if k != "selection"}
    return {**seed, **changes}


def _cart(fake: FakeCentra, *items: tuple[str, int]) -> str:
    selection: str = fake.serve_shop_api("POST", "/selections").body["selection"]["selection"]
    for item, quantity in items or (("23-281", 1),):
        fake.serve_shop_api("POST", f"/selections/{selection}/items/{item}", {"quantity": quantity})
    return selection


# --- fields as documented -----------------------------------------------------------------------


def test_create_takes_a_country_in_any_case_and_refuses_one_it_does_not_know() -> None:
    fake = FakeCentra.seeded()
    status, answer = fake.serve_shop_api("POST", "/selections", {"country": "no"})
    assert status == 201 and answer["selection"]["country"] == "NO"
    assert fake.serve_shop_api("POST", "/selections", {"country": "XX"}) == (
        400,
        {"errors": {"country": "not found"}},
    )


@pytest.mark.parametrize("terms", [True, "true", "1"])
def test_terms_are_accepted_as_the_documentation_sends_them(terms: Any) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = _wire(termsAndConditions=terms)
    assert fake.serve_shop_api("POST", f"/selections/{selection}/payment", body)[0] == 200


@pytest.mark.parametrize(
    ("terms", "errors"),
    [
        (False, {"termsAndConditions": "must be true"}),
        ("yes", {"termsAndConditions": "must be true"}),
        (None, {"termsAndConditions": "must be true"}),
        (1, {"termsAndConditions": 'must be true, "true" or "1"'}),
    ],
)
def test_terms_not_accepted_are_refused(terms: Any, errors: dict[str, str]) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = _wire(termsAndConditions=terms)
    assert fake.serve_shop_api("POST", f"/selections/{selection}/payment", body) == (
        400,
        {"errors": errors},
    )


def test_a_gift_message_on_the_payment_is_the_orders() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = _wire(paymentMethod="redirect-test", giftMessage="Happy birthday!", newsletter=True)
    assert fake.serve_shop_api("POST", f"/selections/{selection}/payment", body)[0] == 200
    result = {"paymentMethodFields": {"orderRef": "r"}}
    order = fake.serve_shop_api("POST", f"/selections/{selection}/payment-result", result).body
    assert order["giftMessage"] == "Happy birthday!"


def test_checkout_fields_take_the_cart_abandonment_email() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = {"email": "test@example.com", "cartAbandonmentEmail": True}
    status, answer = fake.serve_shop_api("PUT", f"/selections/{selection}/checkout-fields", body)
    assert status == 200 and answer["selection"]["address"]["email"] == "test@example.com"
    wrong = fake.serve_shop_api(
        "PUT", f"/selections/{selection}/checkout-fields", {"cartAbandonmentEmail": "yes"}
    )
    assert wrong == (400, {"errors": {"cartAbandonmentEmail": "must be true or false"}})


@pytest.mark.parametrize(
    ("plan", "status"), [(2, 200), ("2", 200), (0, 400), (True, 400), ("x", 400)]
)
def test_add_item_takes_a_subscription_plan_id(plan: Any, status: int) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = {"subscriptionPlan": plan}
    assert fake.serve_shop_api("POST", f"/selections/{selection}/items/23-282", body)[0] == status


@pytest.mark.parametrize(
    ("field", "value"),
    [("newsletter", "yes"), ("loggedIn", 1), ("register", "false")],
)
def test_the_addresss_flags_are_true_or_false(field: str, value: Any) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = {"address": {"country": "SE", field: value}}
    assert fake.serve_shop_api("PUT", f"/selections/{selection}/checkout-fields", body) == (
        400,
        {"errors": {f"address.{field}": "must be true or false"}},
    )


def test_payment_initiate_only_is_true_or_false() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = _wire(paymentMethod="adyen-dropin", paymentInitiateOnly="yes")
    assert fake.serve_shop_api("POST", f"/selections/{selection}/payment", body) == (
        400,
        {"errors": {"paymentInitiateOnly": "must be true or false"}},
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/selections", {"hello": 1}),
        ("POST", "/selections/{s}/items/23-281", {"hello": 1}),
        ("POST", "/selections/{s}/vouchers", {"voucher": "WELCOME10", "hello": 1}),
        ("PUT", "/selections/{s}/checkout-fields", {"hello": 1}),
        ("POST", "/selections/{s}/payment", {**_wire(), "hello": 1}),
        ("POST", "/selections/{s}/payment-result", {"paymentMethodFields": {}, "hello": 1}),
        ("PUT", "/selections/{s}/lines/x/quantity/2", {"hello": 1}),
    ],
)
def test_an_unknown_field_is_refused_on_every_endpoint(method: str, path: str, body: Any) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    answer = fake.serve_shop_api(method, path.format(s=selection), body)
    assert answer == (400, {"errors": {"hello": "unknown"}})


def test_a_provider_that_returns_the_address_needs_only_the_country() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    only_country = {"termsAndConditions": True, "address": {"country": "se"}}
    answer = fake.serve_shop_api("POST", f"/selections/{selection}/payment", only_country)
    assert answer[0] == 200 and answer[1]["action"] == "form"  # Klarna Checkout
    body = {**only_country, "paymentMethod": "redirect-test"}
    status, refused = fake.serve_shop_api("POST", f"/selections/{selection}/payment", body)
    assert status == 400 and "address.email" in refused["errors"]


# --- names as documented ------------------------------------------------------------------------


def test_payment_methods_carry_the_documented_names() -> None:
    fake = FakeCentra.seeded()
    answer = fake.serve_shop_api("GET", f"/selections/{_cart(fake)}").body
    for method in answer["paymentMethods"]:
        assert {"supportsInitiateOnly", "handlingCost", "handlingCostAsNumber"} <= set(method)
        assert "supportsInitialize" not in method
    assert answer["location"] == {
        "country": "SE",
        "name": "Sweden",
        "state": None,
        "stateName": "",
        "eu": True,
        "shipTo": True,
        "language": "sv",
    }


def test_vouchers_come_as_the_seeds_list_or_as_newer_instances_objects() -> None:
    answers = {}
    for shape in ("list", "object"):
        fake = FakeCentra.seeded(vouchers_as=shape)
        selection = _cart(fake, ("31-101", 3))
        fake.serve_shop_api("POST", f"/selections/{selection}/vouchers", {"voucher": "WELCOME10"})
        answers[shape] = fake.serve_shop_api("GET", f"/selections/{selection}").body["selection"]
    listed = answers["list"]["discounts"]
    assert [v["voucher"] for v in listed["vouchers"]] == ["WELCOME10"]
    assert [a["automaticDiscount"] for a in listed["automaticDiscounts"]] == ["506"]
    keyed = answers["object"]["discounts"]
    voucher = keyed["vouchers"]["WELCOME10"]
    assert voucher["type"] == "code" and voucher["lines"] and voucher["expiryDate"]
    assert keyed["automaticDiscounts"]["506"]["automaticDiscount"] == "506"
    assert voucher["priceOffAsNumber"] == listed["vouchers"][0]["priceOffAsNumber"] == -149.7
    line = answers["object"]["items"][0]["discounts"]
    assert line["automaticDiscounts"][0]["automaticDiscount"] == 506  # a number at line level
    assert "discounts" not in answers["list"]["items"][0]


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="stock_mode"):
        FakeCentra(stock_mode="eager")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vouchers_as"):
        FakeCentra(vouchers_as="dict")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="webhook_url"):
        FakeCentra.seeded(webhook_secret="s")


def test_both_voucher_shapes_decode_to_the_same_codes() -> None:
    for shape in ("list", "object"):
        fake = FakeCentra.seeded(vouchers_as=shape)
        selection = fake.send(CreateSelection()).selection_id
        fake.send(AddItem(selection, "31-101", 3))
        cart = fake.send(ApplyVoucher(selection, "SAVE100")).selection
        assert cart.discounts is not None and cart.discounts.codes == ("SAVE100",)
        assert cart.totals.grand_total_price.amount == 3 * Decimal("449.1") - 100


# --- what no endpoint accepts: the quick check agrees with the walk that names the path --------

_ODD_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # nan and the infinities too
    st.text(),  # lone surrogates too
    st.sampled_from(["\ud800", "Dybecksv\u00e4gen", b"bytes", Decimal("1.5"), object()]),
)
_ODD_BODIES = st.recursive(
    _ODD_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


def _nested(depth: int, leaf: Any) -> Any:
    for level in range(depth):
        leaf = {"a": leaf} if level % 2 else [leaf]
    return leaf


@given(_ODD_BODIES)
def test_the_quick_body_check_finds_the_same_problem_as_the_walk(body: Any) -> None:
    assert bodies.problems(body) == bodies._located(body)


@pytest.mark.parametrize("depth", range(bodies.MAX_DEPTH - 2, bodies.MAX_DEPTH + 3))
@pytest.mark.parametrize("leaf", [1, "x", [], {}, float("inf")])
def test_the_quick_body_check_stops_at_the_same_depth_as_the_walk(depth: int, leaf: Any) -> None:
    body = _nested(depth, leaf)
    assert bodies.problems(body) == bodies._located(body)
    assert bool(bodies.problems(body)) == (depth > bodies.MAX_DEPTH or leaf == float("inf"))


@pytest.mark.parametrize("served", ["shop api", "storefront api"])
def test_a_request_cut_short_by_a_disconnect_is_not_answered_or_acted_on(served: str) -> None:
    fake = FakeCentra.seeded()
    selection = fake.send(CreateSelection()).selection_id
    if served == "shop api":
        app = create_app(fake)
        path, first = f"/api/shop/selections/{selection}/items/{SEED_ITEM}", b'{"quan'
    else:
        app = graphql_app(fake)
        path, first = "/graphql", b'{"query": "mutation { addItem'
    messages = [
        {"type": "http.request", "body": first, "more_body": True},
        {"type": "http.disconnect"},  # the client died mid-body
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }
    asyncio.run(app(scope, receive, send))
    assert sent == []
    assert sum(fake.calls.values()) == 1  # the CreateSelection above, nothing since
