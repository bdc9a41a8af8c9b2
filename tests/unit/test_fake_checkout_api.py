"""The fake's Checkout API front: sessions and their tokens (rotation on and off), the headers
Centra documents, the server side's secret, errors, what ``calls`` counts, faults, and the one
shared state that the Shop API sees too; and both dialects served over HTTP.
"""

from __future__ import annotations

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.checkout_api import ROUTES, match
from orderflow.adapters.fake.faults import FaultPlan, LostAnswer
from orderflow.adapters.fake.server import Mount, Receive, Scope, Send, base_urls, bind, create_app
from orderflow.adapters.fake.sessions import Sessions
from orderflow.calls import CallKind
from tests.unit.test_fake_checkout_api_support import Shopper, doc, shape_problems

# --- sessions and tokens ---------------------------------------------------------------------


def test_a_request_without_a_token_starts_a_session_and_every_answer_carries_its_token() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    categories = shopper("GET", "/categories")
    assert isinstance(categories.body["token"], str) and shopper.selection is None
    shopper.cart()
    shopper("PUT", "/countries/NO")
    shopper("GET", "/products/23")
    refused = shopper("POST", "/items/99-1")
    assert refused.status == 400 and refused.body["token"] == shopper.tokens[0]
    assert set(shopper.tokens) == {shopper.tokens[0]}  # no rotation: one token throughout
    assert fake.calls[CallKind.CREATE_SELECTION] == 1


def test_the_token_may_come_in_the_accept_header_of_a_get() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    shopper.cart()
    answer = fake.serve_checkout_api(
        "GET", "/selection", None, {"Accept": f"*/*; api-token={shopper.token}"}
    )
    assert answer.body["token"] == shopper.token
    assert len(answer.body["selection"]["items"]) == 1
    wrong = fake.serve_checkout_api(
        "GET", "/selection", None, {"Accept": f"*/*; api-token: {shopper.token}"}
    )
    assert wrong.body["token"] != shopper.token  # ":" is not "=": a new session
    assert wrong.body["selection"]["items"] == []


def test_an_unknown_token_starts_a_new_empty_session() -> None:
    fake = FakeCentra.seeded()
    answer = Shopper(fake, token="no-such-token")("GET", "/selection")
    assert answer.status == 200 and answer.body["token"] != "no-such-token"
    assert answer.body["selection"]["items"] == []


def test_api_token_none_keeps_no_state_and_answers_no_token() -> None:
    fake = FakeCentra.seeded()
    stateless = Shopper(fake, token="none")
    listed = stateless("POST", "/products", {})
    assert listed.status == 200 and "token" not in listed.body and listed.body["productCount"] == 2
    refused = stateless("POST", "/items/23-281")
    assert refused.status == 400 and "API-token" in refused.body["errors"]
    assert "token" not in refused.body and fake.calls[CallKind.CREATE_SELECTION] == 0


def test_without_rotation_a_token_stands_for_its_selection_through_the_order() -> None:
    fake = FakeCentra.seeded(rotate_tokens=False)
    shopper = Shopper(fake)
    shopper.paid()
    assert len(set(shopper.tokens)) == 1
    assert fake.sessions.selection_of(shopper.token) in fake.orders


def test_with_rotation_every_answer_has_a_new_token_and_the_old_one_lasts_one_more_use() -> None:
    fake = FakeCentra.seeded(rotate_tokens=True)
    shopper = Shopper(fake)
    first = shopper.cart()
    line = first["selection"]["items"][0]["line"]
    second = shopper("PUT", f"/lines/{line}/quantity/2").body
    assert second["token"] != first["token"]
    late = Shopper(fake, token=first["token"])  # a client that missed the rotation
    once_more = late("GET", "/selection").body
    assert once_more["token"] == second["token"]  # told the newest, not given another one
    assert once_more["selection"]["totals"]["totalQuantity"] == 2
    expired = Shopper(fake, token=first["token"])("GET", "/selection").body
    assert expired["selection"]["items"] == [] and expired["token"] not in shopper.tokens


def test_with_rotation_a_client_that_follows_the_tokens_pays_as_usual() -> None:
    fake = FakeCentra.seeded(rotate_tokens=True)
    shopper = Shopper(fake)
    paid = shopper.paid()
    assert paid["order"]["order"] == "588" and len(fake.orders) == 1
    assert len(set(shopper.tokens)) == len(shopper.tokens)  # a new token on every answer
    receipt = shopper("GET", "/receipt")
    assert receipt.status == 200 and receipt.body["order"]["order"] == "588"


def test_with_rotation_a_cart_made_with_an_old_token_is_the_newest_tokens_cart_too() -> None:
    fake = FakeCentra.seeded(rotate_tokens=True)
    browsing = Shopper(fake)
    browsing("GET", "/categories")  # a session that has no selection yet
    old = browsing.token
    browsing("POST", "/products", {})  # rotated: the newest token has no selection either
    late = Shopper(fake, token=old)  # another tab, still on the old token (its last use)
    added = late("POST", "/items/23-281")
    assert added.status == 200 and added.body["token"] == browsing.token  # told the newest
    cart = browsing("GET", "/selection").body["selection"]
    assert [line["item"] for line in cart["items"]] == ["23-281"]
    assert fake.calls[CallKind.CREATE_SELECTION] == 1  # one session, one selection


def test_the_sessions_grace_is_the_number_of_uses_an_old_token_keeps() -> None:
    fake = FakeCentra.seeded(rotate_tokens=True)
    fake.sessions.grace = 2
    shopper = Shopper(fake)
    old = shopper.cart()["token"]
    shopper("GET", "/selection")
    for _ in range(2):
        assert Shopper(fake, token=old)("GET", "/selection").body["selection"]["items"]
    assert Shopper(fake, token=old)("GET", "/selection").body["selection"]["items"] == []


# --- headers ---------------------------------------------------------------------------------


def test_the_correlation_id_is_echoed_on_every_answer() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake, **{"X-Correlation-ID": "corr-1"})
    assert shopper("GET", "/selection").headers["X-Correlation-ID"] == "corr-1"
    assert shopper("POST", "/items/99-1").headers["X-Correlation-ID"] == "corr-1"
    assert (
        fake.serve_checkout_api("GET", "/nowhere", None, {"x-correlation-id": "c"}).headers[
            "X-Correlation-ID"
        ]
        == "c"
    )


def test_a_browser_gets_cors_headers_and_its_preflight_without_authorization() -> None:
    fake = FakeCentra.seeded()
    origin = {"Origin": "https://shop.example.test"}
    preflight = fake.serve_checkout_api("OPTIONS", "/items/23-281", None, origin)
    assert preflight.status == 204
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "api-token" in allowed and "authorization" not in allowed
    answer = fake.serve_checkout_api("GET", "/selection", None, origin)
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example.test"


def test_the_plugin_id_may_be_in_the_path() -> None:
    answer = Shopper(FakeCentra.seeded())("POST", "/52/items/23-281")
    assert answer.status == 200 and answer.body["selection"]["items"][0]["item"] == "23-281"


# --- the server side -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/countries/all", "/markets", "/pricelists"])
def test_server_side_endpoints_need_the_bearer_and_any_works_without_an_api_key(path: str) -> None:
    fake = FakeCentra.seeded()
    denied = Shopper(fake)("GET", path)
    assert (
        denied.status == 403
        and denied.body["errors"] == doc("error.403-access-denied.response.json")["errors"]
    )
    assert Shopper(fake, Authorization="Bearer anything")("GET", path).status == 200


def test_with_an_api_key_the_bearer_must_be_it_and_the_shopper_needs_none() -> None:
    fake = FakeCentra.seeded(api_key="secret")
    wrong = Shopper(fake, Authorization="Bearer nope")("GET", "/markets")
    assert wrong.status == 401 and wrong.body["errors"] == {"Authorization": "not valid"}
    assert Shopper(fake, Authorization="Bearer secret")("GET", "/markets").status == 200
    assert Shopper(fake).cart()["selection"]["items"]  # client side needs no secret


def test_the_server_side_sets_country_language_market_and_price_list_of_the_selection() -> None:
    fake = FakeCentra.seeded()
    server = Shopper(fake, Authorization="Bearer s")
    server.cart()
    moved = server("PUT", "/selection", {"country": "DE", "language": "de", "pricelist": 21})
    assert moved.status == 200
    assert moved.body["selection"]["currency"] == "EUR"
    assert moved.body["language"] == {"language": "de", "name": "Deutsch"}
    assert moved.body["location"]["country"] == "DE"
    mismatch = server("PUT", "/selection", {"market": "1"})
    assert mismatch.status == 400 and mismatch.body["errors"] == {"market": "not the market of DE"}
    assert Shopper(fake, token=server.token)("PUT", "/selection", {"country": "SE"}).status == 403


# --- requests the fake cannot take -----------------------------------------------------------


def test_an_unknown_endpoint_is_a_404_naming_the_path() -> None:
    answer = FakeCentra.seeded().serve_checkout_api("GET", "/no/such/thing")
    assert answer.status == 404 and "path" in answer.body["errors"]


def test_a_body_that_is_not_an_object_is_a_400_with_the_token() -> None:
    answer = FakeCentra.seeded().serve_checkout_api("POST", "/vouchers", [1])
    assert answer.status == 400 and answer.body["errors"] == {"body": "must be a JSON object"}
    assert isinstance(answer.body["token"], str)


def test_every_route_matches_its_own_template_back() -> None:
    for route in ROUTES:
        path = route.template.format_map(_Filled())
        found = match(route.method, path)
        assert found is not None and found[0].template in (route.template, "/countries/all")


class _Filled(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"{key}-1"


# --- one shared state ------------------------------------------------------------------------


def test_a_checkout_api_selection_is_the_shop_apis_selection() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    shopper.cart(quantity=2)
    selection = shopper.selection
    assert selection is not None
    status, shop = fake.serve_shop_api("GET", f"/selections/{selection}")
    assert status == 200 and shop["selection"]["items"][0]["quantity"] == 2
    fake.serve_shop_api("POST", f"/selections/{selection}/vouchers", {"voucher": "WELCOME10"})
    seen = shopper("GET", "/selection").body["selection"]
    assert seen["totals"]["grandTotalPriceAsNumber"] == 6480


def test_a_shop_api_selection_is_taken_over_with_its_recovery_link() -> None:
    fake = FakeCentra.seeded()
    _, created = fake.serve_shop_api("POST", "/selections")
    selection = created["selection"]["selection"]
    fake.serve_shop_api("POST", f"/selections/{selection}/items/31-101")
    shopper = Shopper(fake)
    taken = shopper("PUT", f"/selection/{selection}")
    assert taken.status == 200 and taken.body["selection"]["items"][0]["item"] == "31-101"
    assert shopper.selection == selection
    assert Shopper(fake)("PUT", "/selection/nope").status == 404


def test_an_order_made_over_the_checkout_api_is_in_the_fakes_ledger_and_its_receipt() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    shopper.paid()
    selection = shopper.selection
    assert selection in fake.orders and fake.statuses["588"].selection == selection
    assert fake.stock["23-281"] == 99
    status, receipt = fake.serve_shop_api("GET", f"/selections/{selection}/receipt")
    assert status == 200 and receipt["order"] == "588"


def test_requests_are_counted_by_the_call_they_correspond_to() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    line = shopper.cart()["selection"]["items"][0]["line"]
    shopper("POST", f"/lines/{line}/quantity/1")
    shopper("POST", "/vouchers", {"voucher": "WELCOME10"})
    shopper("DELETE", "/vouchers/WELCOME10")
    shopper("PUT", "/payment-fields", {"address": {"email": "a@example.com"}})
    shopper("GET", "/categories")
    counted = dict(fake.calls)
    assert counted == {
        CallKind.CREATE_SELECTION: 1,
        CallKind.ADD_ITEM: 1,
        CallKind.SET_QUANTITY: 1,
        CallKind.APPLY_VOUCHER: 1,
        CallKind.REMOVE_VOUCHER: 1,
        CallKind.SET_CHECKOUT_FIELDS: 1,
        "categories": 1,
    }


def test_faults_apply_to_the_checkout_api_and_its_answers_keep_the_token() -> None:
    plan = FaultPlan(7).status(CallKind.ADD_ITEM, 429, 2)
    fake = FakeCentra.seeded(faults=plan)
    shopper = Shopper(fake)
    limited = shopper("POST", "/items/23-281")
    assert limited.status == 429 and limited.headers["Retry-After"] == "2"
    assert isinstance(limited.body["token"], str)
    plan.clear().timeout_after(CallKind.PAYMENT_RESULT)
    shopper("POST", "/items/23-281")
    shopper.pay()
    with pytest.raises(LostAnswer):
        shopper("POST", "/payment-result", {"paymentMethodFields": {"klarna_order": "K"}})
    assert len(fake.orders) == 1  # Centra acted; the answer was lost


@pytest.mark.parametrize("shape", ["elided", "no_items", "no_totals", "wrong_types"])
def test_a_malformed_payment_result_malforms_the_order_nested_under_order(shape: str) -> None:
    # The Checkout API nests the order under ``order`` (payment-result.response.json): a fault
    # that leaves that object whole injects nothing, and a test relying on it proves nothing.
    assert isinstance(doc("payment-result.response.json")["order"]["items"], list)
    plan = FaultPlan(7)
    fake = FakeCentra.seeded(faults=plan)
    shopper = Shopper(fake)
    honest = shopper.paid()["order"]
    plan.malformed(CallKind.PAYMENT_RESULT, shape)
    again = Shopper(fake)
    again.cart()
    again.pay()
    fields = {"centraPaymentMethod": "klarna-playground", "klarna_order": "K-2"}
    order = again("POST", "/payment-result", {"paymentMethodFields": fields}).body["order"]
    assert order["order"] != honest["order"] and len(fake.orders) == 2  # Centra acted
    assert isinstance(again.token, str)  # the answer still carries the session's token
    if shape == "elided":
        assert order == {"order": order["order"], "...": "..."}
    elif shape == "no_items":
        assert "items" not in order and "totals" in order
    elif shape == "no_totals":
        assert "totals" not in order and "items" in order
    else:
        assert order["order"] == str(int(honest["order"]) + 1)  # what identifies it stays
        assert isinstance(order["items"], dict) and isinstance(order["status"], list)


def test_out_of_stock_at_the_payment_is_410_with_the_reduced_checkout_api_selection() -> None:
    fake = FakeCentra.seeded(stock={"23-281": 1, "23-282": 5, "31-101": 5})
    shopper = Shopper(fake)
    shopper.cart(quantity=3)
    answer = shopper.pay()
    assert answer.status == 410
    assert answer.body["errors"] == {"stock": "unavailable items"}
    assert answer.body["unavailable"][0] == {
        "item": "23-281",
        "product": "23",
        "originalQuantity": 3,
        "unavailable": 2,
        "available": 1,
    }
    line = answer.body["selection"]["items"][0]
    assert line["quantity"] == 1 and isinstance(line["product"], dict)
    assert "selection" not in answer.body["selection"]  # no selection id in this dialect


def test_a_session_shared_by_the_sessions_of_another_dialect_is_the_same_selection() -> None:
    fake = FakeCentra.seeded()
    assert isinstance(fake.sessions, Sessions)
    shopper = Shopper(fake)
    shopper.cart()
    selection = shopper.selection
    assert selection is not None and fake.sessions.token_of(selection) == shopper.token


# --- over HTTP ---------------------------------------------------------------------------------


async def test_both_dialects_are_served_over_one_state() -> None:
    fake = FakeCentra.seeded()
    transport = httpx.ASGITransport(app=create_app(fake))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake.test") as http:
        added = await http.post(
            "/api/checkout/items/23-281/quantity/2", headers={"X-Correlation-ID": "c-9"}
        )
        token = added.json()["token"]
        assert added.headers["x-correlation-id"] == "c-9"
        selection = fake.sessions.selection_of(token)
        shop = await http.get(f"/api/shop/selections/{selection}")
        read = await http.get("/api/checkout/selection", headers={"API-token": token})
        elsewhere = await http.get("/api/elsewhere")
    assert shop.json()["selection"]["totals"]["totalQuantity"] == 2
    assert read.json()["selection"]["totals"]["totalQuantity"] == 2
    assert elsewhere.status_code == 404


async def test_another_dialects_app_is_mounted_beside_them() -> None:
    async def graphql(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    mount = Mount("Storefront API", "/graphql", graphql)
    app = create_app(FakeCentra.seeded(), mounts=[mount])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fake.test"
    ) as http:
        answered = await http.post("/graphql", json={"query": "{ session { token } }"})
        checkout = await http.get("/api/checkout/countries")
    assert answered.text == "/graphql" and checkout.status_code == 200
    with bind() as sock:
        urls = base_urls(sock, [mount])
    assert list(urls) == ["Shop API", "Checkout API", "Storefront API"]
    assert urls["Storefront API"].endswith("/graphql")


# --- the shape comparison the other tests use --------------------------------------------------


def test_the_shape_comparison_finds_missing_extra_and_mistyped_keys() -> None:
    documented = {"a": 1, "b": [{"c": "x"}], "d": None, "e": {"...": "..."}, "f": {"1": {"g": 1}}}
    ours = {"a": "1", "b": [{"c": "y", "z": 0}], "d": [], "e": {"any": 1}, "f": {"9": {}}, "h": 0}
    assert shape_problems(ours, documented, keyed=("$.f",)) == [
        "$.h: not documented",
        "$.a: text, documented number",
        "$.b[].z: not documented",
        "$.f.*.g: missing",
    ]
    assert (
        shape_problems(ours, documented, keyed=("$.f",), ignore=("$.h", "$.a", "$.b[].*", "$.f"))
        == []
    )
