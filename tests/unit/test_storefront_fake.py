"""The fake's Storefront API (GraphQL): sessions and tokens, the shared state, refusals as
``userErrors``, GraphQL itself (fragments, aliases, variables, ``__typename``, several
operations, introspection), faults, and every payment action. No network."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from orderflow.adapters.fake.answer import LostAnswer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.adapters.fake.storefront import graphql_app
from orderflow.calls import CallKind
from tests.unit.test_storefront_support import SHARED, URL, Shopper

ADDRESS = {
    "firstName": "Maximillian",
    "lastName": "George",
    "email": "hhh@example.com",
    "address1": "Dybecksvägen 51",
    "zipCode": "16855",
    "city": "Stockholm",
    "country": "SE",
    "phoneNumber": "734444782",
}
PAGES = {"paymentReturnPage": "https://shop.test/ok", "paymentFailedPage": "https://shop.test/no"}
CART = "{ selection { id lines { id quantity item { id } } } }"
ADD = "mutation($item: String!) { addItem(item: $item) { selection { id lines { id } } %s } }"
PROBLEMS = "userErrors { __typename message path }"


@pytest.fixture
def fake() -> FakeCentra:
    return FakeCentra.seeded()


def _ready(shopper: Shopper, method: str = "klarna-playground") -> str:
    """A cart with the seed's item, the address and ``method`` set; its selection id."""
    shopper.run("add-item.graphql", {"item": SEED_ITEM})
    shopper.run("set-address.graphql", {"shipping": ADDRESS})
    methods = shopper.run("checkout.graphql")["data"]["selection"]["checkout"]["paymentMethods"]
    ident = next(m["id"] for m in methods if m["uri"] == method)
    chosen = shopper.run("set-payment-method.graphql", {"id": ident})["data"]["setPaymentMethod"]
    assert chosen["selection"]["checkout"]["paymentMethod"]["uri"] == method
    return str(shopper.ask("{ selection { id } }")["data"]["selection"]["id"])


def _pay(shopper: Shopper, **more: Any) -> Any:
    given = {**PAGES, "termsAndConditions": True, "shippingAddress": ADDRESS, **more}
    answer = shopper.run("payment-instructions.graphql", {"input": given})
    return answer["data"]["paymentInstructions"]


# --- sessions ----------------------------------------------------------------------------------


def test_every_answer_carries_the_session_token_and_a_trace_id(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    first = shopper.ask(CART)
    token = first["extensions"]["token"]
    assert token != SHARED and first["extensions"]["traceId"]
    second = shopper.ask(CART)
    assert second["extensions"]["token"] == token
    assert second["extensions"]["traceId"] != first["extensions"]["traceId"]
    assert second["data"]["selection"]["id"] == first["data"]["selection"]["id"]
    refused = shopper.ask("{ selection { nope } }")
    assert refused["data"] is None and refused["extensions"]["token"] == token


def test_the_shared_token_starts_a_new_session_each_time(fake: FakeCentra) -> None:
    one, two = Shopper(fake).ask(CART), Shopper(fake).ask(CART)
    assert one["extensions"]["token"] != two["extensions"]["token"]
    assert one["data"]["selection"]["id"] != two["data"]["selection"]["id"]
    assert fake.calls[CallKind.CREATE_SELECTION] == 2


def test_with_an_api_key_only_that_key_or_a_session_token_is_taken() -> None:
    fake = FakeCentra.seeded(api_key="plugin-key")
    status, answer, headers = Shopper(fake, "another-key").raw({"query": CART})
    assert status == 401 and "token" not in answer["extensions"]
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = Shopper(fake).raw({"query": CART}, {"Authorization": "Basic eA=="})
    assert status == 401
    shopper = Shopper(fake, "plugin-key")
    made = shopper.ask(CART)
    assert shopper.token != "plugin-key"
    assert shopper.ask(CART)["data"] == made["data"]
    assert fake.calls == {CallKind.CREATE_SELECTION: 1, CallKind.READ_SELECTION: 1}


def test_a_body_that_is_no_graphql_request_answers_400(fake: FakeCentra) -> None:
    for body in (
        b"{",
        json.dumps([1]).encode(),
        json.dumps({"query": CART, "variables": 1}).encode(),
    ):
        status, answer, _ = Shopper(fake).raw(body)
        assert status == 400 and answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- the one shared state -------------------------------------------------------------------


def test_a_selection_made_over_graphql_is_a_selection_of_the_fake(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    added = shopper.run("add-item.graphql", {"item": SEED_ITEM, "quantity": 2})["data"]["addItem"]
    selection = added["selection"]["id"]
    status, shop = fake.serve_shop_api("GET", f"/selections/{selection}")
    assert status == 200 and shop["selection"]["items"][0]["quantity"] == 2
    assert added["added"]["id"] == shop["selection"]["items"][0]["line"]
    assert added["selection"]["grandTotal"]["value"] == 7200.0
    assert added["selection"]["grandTotal"]["formattedValue"] == "7\u00a0200.00\u00a0SEK"
    assert fake.calls[CallKind.CREATE_SELECTION] == fake.calls[CallKind.ADD_ITEM] == 1


def test_a_refusal_is_user_errors_with_the_last_valid_state(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    shopper.ask(ADD % PROBLEMS, {"item": SEED_ITEM})
    refused = shopper.ask(ADD % PROBLEMS, {"item": "99-999"})["data"]["addItem"]
    assert refused["userErrors"] == [
        {"__typename": "UserErrorBase", "message": "product item not found", "path": ["item"]}
    ]
    assert len(refused["selection"]["lines"]) == 1


def test_out_of_stock_at_payment_lists_the_unavailable_items(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    _ready(shopper)
    fake.stock[SEED_ITEM] = 0
    query = (
        "mutation($input: PaymentInstructionsInput!) { paymentInstructions(input: $input) {"
        " action { action } selection { lines { id } } userErrors { __typename message"
        " ... on UnavailableItem { availableQuantity unavailableQuantity item { id } } } } }"
    )
    given = {**PAGES, "termsAndConditions": True, "shippingAddress": ADDRESS}
    answer = shopper.ask(query, {"input": given})["data"]["paymentInstructions"]
    assert answer["action"] is None and answer["selection"]["lines"] == []
    [problem] = answer["userErrors"]
    assert problem["__typename"] == "UnavailableItem" and problem["item"] == {"id": SEED_ITEM}
    assert (problem["availableQuantity"], problem["unavailableQuantity"]) == (0, 1)


# --- GraphQL itself ---------------------------------------------------------------------------


def test_a_malformed_query_gets_errors_and_no_data_and_runs_nothing(fake: FakeCentra) -> None:
    answer = Shopper(fake).ask("{ selection { id ")
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "path" not in answer["errors"][0] and fake.calls == {}


def test_an_invalid_query_gets_errors_and_runs_nothing(fake: FakeCentra) -> None:
    answer = Shopper(fake).ask("{ selection { id nope } products { id } }")
    assert answer["data"] is None and len(answer["errors"]) == 2
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert fake.calls == {}


def test_variables_that_do_not_fit_are_refused_before_anything_runs(fake: FakeCentra) -> None:
    answer = Shopper(fake).run("add-item.graphql", {"item": SEED_ITEM, "quantity": "two"})
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    literal = Shopper(fake).ask("mutation { paymentResult(paymentMethodFields: [1]) { type } }")
    assert "Map" in literal["errors"][0]["message"]
    variable = Shopper(fake).run("payment-result.graphql", {"fields": "klarna_order=1"})
    assert variable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert fake.calls == {}


def test_introspection_answers_the_schema(fake: FakeCentra) -> None:
    query = (
        "{ __schema { queryType { name } mutationType { name } types { name } }"
        ' action: __type(name: "PaymentAction") { kind possibleTypes { name } } }'
    )
    answer = Shopper(fake).ask(query)["data"]
    names = {t["name"] for t in answer["__schema"]["types"]}
    assert {"Selection", "MonetaryValue", "PaymentResultSuccessPayload", "Map"} <= names
    assert answer["__schema"]["mutationType"] == {"name": "Mutation"}
    assert answer["action"]["kind"] == "INTERFACE"
    assert {t["name"] for t in answer["action"]["possibleTypes"]} == {
        "FormPaymentAction",
        "JavascriptPaymentAction",
        "RedirectPaymentAction",
        "SuccessPaymentAction",
    }
    assert fake.calls == {}


def test_typename_aliases_fragments_directives_and_variables_work(fake: FakeCentra) -> None:
    query = """
        query Cart($withTotal: Boolean!) {
          __typename
          mine: selection { __typename ...Ids total: grandTotal @include(if: $withTotal) { value } }
          again: selection(voucherMode: TOTAL) { id }
        }
        fragment Ids on Selection { id lines { ... on ProductLine { lineId: id } } }
    """
    answer = Shopper(fake).ask(query, {"withTotal": True}, "Cart")["data"]
    assert answer["__typename"] == "Query"
    assert answer["mine"]["__typename"] == "Selection" and answer["mine"]["total"] == {"value": 0.0}
    assert answer["again"]["id"] == answer["mine"]["id"]
    hidden = Shopper(fake).ask(query, {"withTotal": False})["data"]
    assert "total" not in hidden["mine"]


def test_several_operations_in_one_request_run_by_operation_name(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    shopper.run("add-item.graphql", {"item": SEED_ITEM})
    added = shopper.run("vouchers.graphql", {"code": "WELCOME10"}, "AddVoucher")["data"]
    assert added["voucher"]["selection"]["grandTotal"]["value"] == 3240.0
    removed = shopper.run("vouchers.graphql", {"code": "WELCOME10"}, "RemoveVoucher")["data"]
    assert removed["voucher"]["selection"]["discounts"] == []
    unnamed = shopper.run("vouchers.graphql", {"code": "WELCOME10"})
    assert unnamed["data"] is None and "operation name" in unnamed["errors"][0]["message"]
    assert fake.calls[CallKind.APPLY_VOUCHER] == fake.calls[CallKind.REMOVE_VOUCHER] == 1


@pytest.mark.parametrize(
    ("field", "argument", "more"),
    [
        ("addItem", "item", ""),
        ("updateLine", "lineId", ", quantity: 1"),
        ("deleteLine", "lineId", ""),
        ("removeVoucher", "code", ""),
        ("setCountryState", "countryCode", ""),
    ],
)
def test_a_value_no_path_can_carry_is_refused_as_centra_refuses_it(
    fake: FakeCentra, field: str, argument: str, more: str
) -> None:
    # JSON carries a lone surrogate ("\ud800") as a String; the Shop API request the fake
    # makes of it named it in a path and failed while running (INTERNAL_SERVER_ERROR), so a
    # client took a plain refusal for Centra failing (and, for a cart change, maybe acting).
    shopper = Shopper(fake)
    shopper.run("add-item.graphql", {"item": SEED_ITEM})
    query = (
        f"mutation($v: String!) {{ {field}({argument}: $v{more})"
        f" {{ selection {{ id }} {PROBLEMS} }} }}"
    )
    answer = shopper.ask(query, {"v": "\ud800"})
    assert "errors" not in answer, answer["errors"]
    payload = answer["data"][field]
    assert payload["selection"]["id"] and payload["userErrors"]


# --- faults ------------------------------------------------------------------------------------


def test_a_failing_resolver_is_a_graphql_error_never_a_500() -> None:
    fake = FakeCentra.seeded(faults=FaultPlan(7).malformed(CallKind.ADD_ITEM, "elided"))
    status, answer, _ = Shopper(fake).raw(
        {"query": ADD % PROBLEMS, "variables": {"item": SEED_ITEM}}
    )
    assert status == 200 and answer["data"] is None
    [error] = answer["errors"]
    assert error["path"] == ["addItem"] and error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_a_faults_status_is_the_answers_and_ends_the_request() -> None:
    plan = FaultPlan(7).status(CallKind.ADD_ITEM, 429, retry_after=3, on_calls=[1])
    fake = FakeCentra.seeded(faults=plan)
    add = 'addItem(item: "23-281") { __typename }'
    twice = f"mutation {{ a: {add} b: {add} }}"
    status, answer, headers = Shopper(fake).raw({"query": twice})
    assert status == 429 and headers["Retry-After"] == "3"
    assert answer["data"] is None and "429" in answer["errors"][0]["message"]
    assert answer["extensions"]["token"]
    assert fake.calls[CallKind.ADD_ITEM] == 1  # the second mutation never ran


def test_a_lost_answer_is_no_answer_at_all() -> None:
    fake = FakeCentra.seeded(faults=FaultPlan(7).timeout_after(CallKind.PAYMENT_RESULT))
    shopper = Shopper(fake)
    selection = _ready(shopper)
    _pay(shopper)
    with pytest.raises(LostAnswer):
        shopper.run("payment-result.graphql", {"fields": SEED_PAYMENT_FIELDS})
    assert selection in fake.orders  # Centra acted


# --- paying ------------------------------------------------------------------------------------


def test_the_seeded_payment_methods_keep_their_names_as_uri(fake: FakeCentra) -> None:
    methods = Shopper(fake).run("checkout.graphql")["data"]["selection"]["checkout"]
    uris = [m["uri"] for m in methods["paymentMethods"]]
    assert uris == list(fake.catalog.payment_methods)
    assert "klarna-playground" in uris


@pytest.mark.parametrize(
    ("method", "typename", "more"),
    [
        ("klarna-playground", "FormPaymentAction", {}),
        ("redirect-test", "RedirectPaymentAction", {}),
        ("instant-success", "SuccessPaymentAction", {}),
        (
            "adyen-dropin",
            "JavascriptPaymentAction",
            {"paymentMethodSpecificFields": {"paymentMethod": {"type": "scheme"}}},
        ),
    ],
)
def test_each_payment_method_answers_its_payment_action(
    fake: FakeCentra, method: str, typename: str, more: dict[str, Any]
) -> None:
    shopper = Shopper(fake)
    selection = _ready(shopper, method)
    answer = _pay(shopper, **more)
    action = answer["action"]
    assert answer["userErrors"] == [] and action["__typename"] == typename
    assert action["action"] == typename.removesuffix("PaymentAction").upper()
    if typename == "SuccessPaymentAction":
        assert action["order"]["number"] == 588 and selection in fake.orders
    elif typename == "JavascriptPaymentAction":
        assert "centra_checkout_payment_response" in action["script"]
    else:
        assert action.get("html") or action.get("url")
    assert fake.calls[CallKind.START_PAYMENT] == 1


@pytest.mark.parametrize("method", ["always-decline", "decline-body", "external-payment"])
def test_a_declined_payment_is_user_errors_naming_the_payment_method(
    fake: FakeCentra, method: str
) -> None:
    shopper = Shopper(fake)
    _ready(shopper, method)
    answer = _pay(shopper)
    assert answer["action"] is None
    assert ["paymentMethod"] in [e["path"] for e in answer["userErrors"]]
    asked = 0 if method == "external-payment" else 1  # no type for its action: not asked
    assert fake.calls[CallKind.START_PAYMENT] == asked


def test_payment_result_answers_the_order_and_the_session_gets_a_fresh_selection(
    fake: FakeCentra,
) -> None:
    shopper = Shopper(fake)
    selection = _ready(shopper)
    _pay(shopper)
    failed = shopper.run("payment-result.graphql", {"fields": {"centraPaymentMethod": "x"}})
    result = failed["data"]["result"]
    assert result["__typename"] == "PaymentResultFailedPayload" and result["type"] == "FAILED"
    assert result["selection"]["id"] == selection and result["userErrors"]
    paid = shopper.run("payment-result.graphql", {"fields": SEED_PAYMENT_FIELDS})["data"]["result"]
    assert paid["__typename"] == "PaymentResultSuccessPayload" and paid["type"] == "SUCCESS"
    assert (
        paid["order"]["number"] == 588
        and paid["order"]["paymentMethod"]["uri"] == "klarna-playground"
    )
    assert fake.orders[selection]["order"] == "588"
    receipt = shopper.run("order.graphql", {"dateFormat": "Y"})["data"]["order"]
    assert receipt["number"] == 588 and receipt["status"] == "PENDING"
    assert receipt["placed"] == fake.orders[selection]["date"][:4]
    assert receipt["totals"][-1] == {
        "__typename": "SelectionTotalRowBase",
        "type": "GRAND_TOTAL",
        "price": {
            "value": 3600.0,
            "formattedValue": "3\u00a0600.00\u00a0SEK",
            "currency": {"code": "SEK"},
        },
    }
    fresh = shopper.ask(CART)["data"]["selection"]
    assert fresh["id"] != selection and fresh["lines"] == []
    assert shopper.run("order.graphql")["data"]["order"]["number"] == 588
    assert fake.calls[CallKind.PAYMENT_RESULT] == 2


# --- the catalog and the locale -------------------------------------------------------------


def test_the_catalog_basics_answer_from_the_fakes_shop(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    locales = shopper.run("locale.graphql", {"onlyShipTo": True}, "Locales")["data"]
    assert "US" not in {c["code"] for c in locales["countries"]}
    assert {"code": "sv", "name": "Swedish", "default": True, "__typename": "Language"} in locales[
        "languages"
    ]
    product = shopper.run("product.graphql", {"id": 23})["data"]["displayItem"]
    assert product["price"]["value"] == 3600.0
    assert [i["id"] for i in product["items"]] == ["23-281", "23-282"]
    assert shopper.run("product.graphql", {"id": 999})["data"]["displayItem"] is None
    page = (
        "{ displayItems(limit: 1, page: 2) { list { id } pagination { total lastPage nextPage } } }"
    )
    listed = shopper.ask(page)["data"]["displayItems"]
    assert listed["list"] == [{"id": 31}] and listed["pagination"]["total"] == 2
    too_many = shopper.ask("{ displayItems(limit: 41) { list { id } userErrors { path } } }")
    assert too_many["data"]["displayItems"] == {"list": [], "userErrors": [{"path": ["limit"]}]}
    markets = shopper.ask('{ markets(countryCode: ["DE"]) { id countries { code } } }')
    assert markets["data"]["markets"][0]["id"] == 2
    assert fake.calls == {}


def test_a_locale_change_moves_the_session_and_its_selection(fake: FakeCentra) -> None:
    shopper = Shopper(fake)
    shopper.run("add-item.graphql", {"item": SEED_ITEM})
    changed = shopper.run("locale.graphql", {"country": "NO", "language": "no"}, "ChangeLocale")[
        "data"
    ]
    assert changed["country"]["userErrors"] == [] and changed["language"]["userErrors"] == []
    assert changed["language"]["session"]["country"] == {"code": "NO"}
    assert changed["language"]["session"]["language"] == {"code": "no"}
    cart = shopper.run("cart.graphql")["data"]["cart"]
    assert cart["grandTotal"]["currency"]["code"] == "NOK"
    unknown = shopper.run("locale.graphql", {"country": "XX", "language": "xx"}, "ChangeLocale")
    assert unknown["data"]["country"]["userErrors"][0]["path"] == ["country"]
    assert unknown["data"]["language"]["userErrors"][0]["path"] == ["code"]


async def test_graphql_app_answers_json_over_post_only(fake: FakeCentra) -> None:
    transport = httpx.ASGITransport(app=graphql_app(fake))
    async with httpx.AsyncClient(transport=transport) as client:
        headers = {"Authorization": f"Bearer {SHARED}"}
        answer = await client.post(URL, json={"query": CART}, headers=headers)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        assert answer.json()["data"]["selection"]["lines"] == []
        wrong = await client.get(URL, headers=headers)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        huge = await client.post(URL, content=b" " * (1024 * 1024 + 1), headers=headers)
        assert huge.status_code == 413
