"""The fake's Checkout API cart and checkout endpoints, each answer held to the shape of the
documented one (``tests/data/checkout-api``): the selection, lines, vouchers, country, state and
language, the methods and payment fields, every payment action, the payment result, the
receipt and the selection after the order, and the newsletter sign-up.
"""

from __future__ import annotations

import html.parser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

from orderflow.adapters.fake.catalog import Catalog, VoucherRule
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.calls import CallKind
from tests.unit.test_fake_checkout_api_support import (
    ADDRESS,
    LINE_PRODUCT,
    LOCALIZED,
    METHOD_KEYS,
    PAYMENT,
    RETURN_PAGE,
    Shopper,
    doc,
    shape_problems,
)

SELECTION_SHAPE = (*LOCALIZED, *METHOD_KEYS, *LINE_PRODUCT)
ORDER_SHAPE = (*LOCALIZED, *LINE_PRODUCT, "$.order.paymentMethodData.*")


@pytest.fixture
def shopper() -> Shopper:
    return Shopper(FakeCentra.seeded())


# --- the selection and its lines ---------------------------------------------------------------


def test_the_first_item_makes_the_selection_shaped_as_the_order_flow_shows(
    shopper: Shopper,
) -> None:
    first = shopper("POST", "/items/23-281")
    assert first.status == 200
    documented = doc("items.add.first.response.json")
    assert shape_problems(first.body, documented, ignore=SELECTION_SHAPE) == []
    line = first.body["selection"]["items"][0]
    assert line["productUrl"] is None and line["category"] is None
    assert line["product"]["product"] == "23" and line["product"]["centraProduct"] == "27"


def test_the_same_item_again_raises_the_lines_quantity_and_keeps_its_id(shopper: Shopper) -> None:
    first = shopper("POST", "/items/23-281").body["selection"]["items"][0]
    second = shopper("POST", "/items/23-281").body
    assert (
        shape_problems(second, doc("items.add.second.response.json"), ignore=SELECTION_SHAPE) == []
    )
    again = second["selection"]["items"]
    assert len(again) == 1 and again[0]["line"] == first["line"] and again[0]["quantity"] == 2


def test_reading_the_selection_answers_as_documented(shopper: Shopper) -> None:
    shopper.cart()
    read = shopper("GET", "/selection")
    assert read.status == 200
    assert shape_problems(read.body, doc("selection.response.json"), ignore=SELECTION_SHAPE) == []
    fields = read.body["paymentFields"]
    assert set(fields) == {"termsAndConditions", "address", "shippingAddress"}
    assert fields["address"]["country"] == {"type": "string", "required": True, "visible": True}
    assert fields["address"]["email"]["required"] is False  # Klarna Checkout asks for it itself
    chosen = shopper("PUT", "/payment-methods/redirect-test").body["paymentFields"]
    assert chosen["address"]["email"]["required"] is True


def test_an_unknown_item_is_the_documented_field_error(shopper: Shopper) -> None:
    refused = shopper("POST", "/items/123-456")
    documented = doc("error.item-not-found.response.json")
    assert refused.status == 400 and refused.body["errors"] == documented["errors"]
    assert shape_problems(refused.body, documented) == []


def test_a_lines_quantity_is_raised_set_lowered_and_the_line_removed(shopper: Shopper) -> None:
    line = shopper.cart(quantity=2)["selection"]["items"][0]["line"]

    def quantity(answer: Any) -> int:
        items = answer.body["selection"]["items"]
        return int(items[0]["quantity"]) if items else 0

    assert quantity(shopper("POST", f"/lines/{line}/quantity/3")) == 5
    assert quantity(shopper("PUT", f"/lines/{line}/quantity/4")) == 4
    assert quantity(shopper("DELETE", f"/lines/{line}/quantity/1")) == 3
    assert quantity(shopper("DELETE", f"/lines/{line}/quantity/9")) == 0  # lowered past 0
    line = shopper.cart()["selection"]["items"][0]["line"]
    assert quantity(shopper("DELETE", f"/lines/{line}")) == 0
    assert shopper("PUT", "/lines/nope/quantity/1").body["errors"] == {"line": "not found"}
    assert shopper("POST", "/items/23-281/quantity/0").status == 400


# --- vouchers --------------------------------------------------------------------------------


def test_a_voucher_is_applied_with_its_body_and_removed_by_its_path(shopper: Shopper) -> None:
    shopper.cart(quantity=2)
    applied = shopper("POST", "/vouchers", {"voucher": "WELCOME10"}).body["selection"]
    assert applied["totals"]["grandTotalPriceAsNumber"] == 6480
    assert applied["discounts"]["vouchers"][0]["voucher"] == "WELCOME10"
    removed = shopper("DELETE", "/vouchers/WELCOME10").body["selection"]
    assert removed["totals"]["grandTotalPriceAsNumber"] == 7200
    shopper("POST", "/vouchers/SAVE100")
    by_body = shopper("DELETE", "/vouchers", {"voucher": "SAVE100"}).body["selection"]
    assert by_body["discounts"]["vouchers"] == []
    assert shopper("POST", "/vouchers", {"voucher": "NOPE"}).body["errors"] == {
        "voucher": "not valid"
    }


def test_a_voucher_code_with_a_plus_is_removed_by_its_percent_encoded_path() -> None:
    seeded = Catalog.seeded()
    vouchers = {
        **seeded.vouchers,
        "TEST+CODE": VoucherRule("TEST+CODE", "docs", amounts={"SEK": 1}),
    }
    shopper = Shopper(FakeCentra(attrs.evolve(seeded, vouchers=vouchers)))
    shopper.cart()
    applied = shopper("POST", "/vouchers", doc("vouchers.add.request.json"))
    assert applied.body["selection"]["discounts"]["vouchers"][0]["voucher"] == "TEST+CODE"
    removed = shopper("DELETE", "/vouchers/TEST%2BCODE")
    assert removed.status == 200 and removed.body["selection"]["discounts"]["vouchers"] == []


# --- where the shopper is --------------------------------------------------------------------


def test_a_country_change_reprices_the_selection_as_documented(shopper: Shopper) -> None:
    shopper.cart()
    moved = shopper("PUT", "/countries/no")
    assert moved.status == 200
    assert (
        shape_problems(moved.body, doc("countries.put-SE.response.json"), ignore=SELECTION_SHAPE)
        == []
    )
    assert moved.body["selection"]["currency"] == "NOK"
    assert moved.body["location"]["country"] == "NO"
    assert moved.body["language"] == {"language": "no", "name": "Norsk"}
    with_language = shopper("PUT", "/countries/SE", doc("countries.put-with-language.request.json"))
    assert with_language.body["language"]["language"] == "sv"
    assert shopper("PUT", "/countries/XX").body["errors"] == {"country": "not found"}


def test_a_state_is_chosen_with_its_country(shopper: Shopper) -> None:
    chosen = shopper("PUT", "/countries/us/states/ca").body
    documented = doc("countries.put-us-states-ca.location.fragment.json")
    location = shape_problems(chosen["location"], documented["location"], ignore=("$.language",))
    assert location == []  # the order-flow page's location has the country's language too
    assert (chosen["location"]["state"], chosen["location"]["stateName"]) == ("CA", "California")
    assert shopper("PUT", "/countries/US/states/ZZ").body["errors"] == {"state": "not found"}


def test_the_language_is_chosen_and_answered_in_the_localization_form(shopper: Shopper) -> None:
    chosen = shopper("PUT", "/languages/de")
    assert chosen.status == 200 and chosen.body["language"] == {"language": "de", "name": "Deutsch"}
    documented = doc("selection.localization.fragment.json")
    local = {k: chosen.body[k] for k in documented}
    # The order-flow page's countries name their currency too.
    assert shape_problems(local, documented, ignore=("$.countries[].currency",)) == []
    assert chosen.body["location"]["language"] == "sv"  # the country's own language
    names = [language["name"] for language in chosen.body["languages"]]
    assert names == sorted(names)
    assert shopper("PUT", "/languages/xx").body["errors"] == {"language": "not found"}


# --- methods and payment fields --------------------------------------------------------------


def test_the_shipping_and_payment_methods_are_chosen_by_id(shopper: Shopper) -> None:
    shopper.cart()
    shipping = shopper("PUT", "/shipping-methods/express").body["selection"]
    assert shipping["shippingMethod"] == "express"
    assert shipping["totals"]["shippingPriceAsNumber"] == 99
    paying = shopper("PUT", "/payment-methods/redirect-test").body["selection"]
    assert paying["paymentMethod"] == "redirect-test"
    unknown = shopper("PUT", "/payment-methods/nope")
    assert unknown.status == 400 and unknown.body["errors"] == {"paymentMethod": "not available"}


@pytest.mark.parametrize(
    "fixture",
    ["payment-fields.cart-abandonment.request.json", "payment-fields.newsletter.request.json"],
)
def test_payment_fields_take_the_documented_bodies(shopper: Shopper, fixture: str) -> None:
    shopper.cart()
    answer = shopper("PUT", "/payment-fields", doc(fixture))
    assert answer.status == 200 and "errors" not in answer.body


def test_payment_fields_prefill_the_address(shopper: Shopper) -> None:
    shopper.cart()
    filled = shopper("PUT", "/payment-fields", {"address": ADDRESS}).body["selection"]
    assert filled["address"]["email"] == ADDRESS["email"]
    assert "countryName" not in filled["address"]
    wrong = shopper("PUT", "/payment-fields", {"address": "nowhere"})
    assert wrong.status == 400 and wrong.body["errors"] == {"address": "must be an object"}


# --- paying ----------------------------------------------------------------------------------


def test_a_form_action_is_shaped_as_documented(shopper: Shopper) -> None:
    shopper.cart()
    form = shopper.pay("klarna-playground")
    assert form.status == 200
    assert shape_problems(form.body, doc("payment.form-action.response.json")) == []


@pytest.mark.parametrize(
    ("method", "action", "status"),
    [
        ("klarna-playground", "form", 200),
        ("redirect-test", "redirect", 200),
        ("instant-success", "success", 200),
        ("always-decline", "failed", 200),
        ("stripe-checkout", "form", 200),
        ("klarna-payments", "form", 200),
        ("qliro-hold", "form", 200),
        ("adyen-dropin", "form", 200),
        ("external-payment", "external", 200),
    ],
)
def test_every_payment_method_answers_its_action(
    shopper: Shopper, method: str, action: str, status: int
) -> None:
    shopper.cart()
    answer = shopper.pay(method)
    assert (answer.status, answer.body["action"]) == (status, action)
    assert isinstance(answer.body["token"], str)


def test_adyen_answers_javascript_once_the_drop_in_sent_its_fields(shopper: Shopper) -> None:
    shopper.cart()
    shopper.pay("adyen-dropin")
    specific = {"paymentMethod": {"type": "scheme"}}
    answer = shopper("POST", "/payment", {**PAYMENT, "paymentMethodSpecificFields": specific})
    assert answer.body["action"] == "javascript" and "code" in answer.body


def test_a_success_action_is_the_order_flat_with_checkout_api_lines(shopper: Shopper) -> None:
    shopper.cart()
    paid = shopper.pay("instant-success").body
    assert paid["order"] == "588" and paid["status"] == "untouched"
    assert isinstance(paid["items"][0]["product"], dict) and "market" not in paid
    documented = doc("centra-docs/payment-flows.payment.success.response.json")
    assert set(documented) <= set(paid)  # the order's fields flat next to the action


def test_the_shop_apis_decline_body_is_served_too(shopper: Shopper) -> None:
    shopper.cart()
    declined = shopper.pay("decline-body")
    assert declined.status == 400 and declined.body["errors"] == {"paymentMethod": "failed"}
    assert declined.body["messages"] and "token" in declined.body


def test_terms_not_accepted_are_the_documented_refusal(shopper: Shopper) -> None:
    shopper.cart()
    refused = shopper.pay(termsAndConditions=False)
    documented = doc("error.terms-and-conditions.response.json")
    assert refused.status == 400 and refused.body["errors"] == documented["errors"]
    assert shape_problems(refused.body, documented) == []


@pytest.mark.parametrize(
    "fixture",
    [
        "payment.request.json",
        "payment.redirect-action.request.json",
        "payment.klarna-checkout.request.json",
        "payment.klarna-checkout.fe-elements.request.json",
        "payment.additional-fields.request.json",
    ],
)
def test_the_documented_payment_requests_are_taken(shopper: Shopper, fixture: str) -> None:
    shopper.cart()
    shopper("PUT", "/payment-methods/klarna-playground")
    request = {k: v for k, v in doc(fixture).items() if v != "..."}
    request.pop("paymentMethod", None)  # the documentation's own methods; ours is selected
    request.setdefault("termsAndConditions", True)
    request.setdefault("address", {"country": "SE"})
    answer = shopper("POST", "/payment", request)
    assert answer.status == 200 and answer.body["action"] == "form", answer.body


def test_a_redirect_action_is_shaped_as_documented_and_comes_back_with_its_fields(
    shopper: Shopper,
) -> None:
    shopper.cart()
    shopper("PUT", "/payment-methods/redirect-test")
    redirect = shopper("POST", "/payment", doc("payment.redirect-action.request.json")).body
    assert shape_problems(redirect, doc("payment.redirect-action.payex.response.json")) == []
    fields = dict(parse_qsl(urlsplit(redirect["url"]).query))
    paid = shopper("POST", "/payment-result", {"paymentMethodFields": fields})
    assert paid.status == 200 and paid.body["order"]["paymentMethod"] == "redirect-test"


class _HiddenFields(html.parser.HTMLParser):
    """The form a browser would post: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found.get("action") or ""
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def test_the_payment_result_nests_the_order_as_the_order_flow_shows(shopper: Shopper) -> None:
    shopper.cart(quantity=2)
    form = _HiddenFields()
    form.feed(shopper.pay().body["formHtml"])
    assert form.action == RETURN_PAGE
    paid = shopper("POST", "/payment-result", {"paymentMethodFields": form.fields})
    assert paid.status == 200
    assert shape_problems(paid.body, doc("payment-result.response.json"), ignore=ORDER_SHAPE) == []
    order = paid.body["order"]
    assert order["order"] == "588" and order["totals"]["grandTotalPriceAsNumber"] == 7200
    assert order["items"][0]["storePickup"] is False and "market" not in order
    again = shopper("POST", "/payment-result", {"paymentMethodFields": form.fields})
    assert again.status == 400 and again.body["errors"] == {"selection": "already completed"}
    assert shopper.fake.calls[CallKind.PAYMENT_RESULT] == 2 and len(shopper.fake.orders) == 1


def test_a_payment_result_without_a_payment_is_refused(shopper: Shopper) -> None:
    assert shopper("POST", "/payment-result", {"paymentMethodFields": {}}).body["errors"] == {
        "selection": "no payment started"
    }
    shopper.cart()
    refused = shopper("POST", "/payment-result", {"paymentMethodFields": {}})
    assert refused.status == 400 and refused.body["errors"] == {"selection": "no payment started"}


def test_after_the_order_the_selection_and_the_receipt_answer_the_order(shopper: Shopper) -> None:
    assert shopper("GET", "/receipt").status == 404
    shopper.paid()
    after = shopper("GET", "/selection").body
    assert "selection" not in after
    assert (
        shape_problems(after, doc("selection.after-order.response.json"), ignore=ORDER_SHAPE) == []
    )
    receipt = shopper("GET", "/receipt").body
    assert shape_problems(receipt, doc("receipt.response.json"), ignore=ORDER_SHAPE) == []
    assert "affiliateHtml" not in receipt["order"] and receipt["order"]["order"] == "588"
    refused = shopper("POST", "/items/23-281")
    assert refused.status == 400 and refused.body["errors"] == {"selection": "already completed"}


# --- the newsletter --------------------------------------------------------------------------


def test_the_newsletter_takes_the_email_in_the_body_or_the_path() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    body = shopper("POST", "/newsletter-subscription", doc("newsletter-subscription.request.json"))
    assert body.status == 200 and set(body.body) == {"token"}
    path = shopper("POST", "/newsletter-subscription/a%2Bb%40example.com", {"item": "23-281"})
    assert path.status == 200
    assert [s["email"] for s in fake.subscriptions] == ["hello@example.com", "a+b@example.com"]
    assert fake.subscriptions[0]["language"] == "sv" and fake.subscriptions[1]["item"] == "23-281"


def test_a_mangled_email_is_refused_and_a_filled_honeypot_ignored() -> None:
    fake = FakeCentra.seeded()
    shopper = Shopper(fake)
    mangled = shopper("POST", "/newsletter-subscription/a b@example.com")
    assert mangled.status == 400 and mangled.body["errors"] == {"email": "Expected type e-mail"}
    bot = shopper(
        "POST", "/newsletter-subscription", {"email": "x@example.com", "email_field": "1"}
    )
    assert bot.status == 200 and fake.subscriptions == []


# --- stock, aggressive -----------------------------------------------------------------------


def test_aggressive_stock_answers_cart_calls_with_what_is_unavailable() -> None:
    fake = FakeCentra.seeded(stock={"23-281": 2, "23-282": 0, "31-101": 5}, stock_mode="aggressive")
    shopper = Shopper(fake)
    partly = shopper("POST", "/items/23-281/quantity/3")
    documented = doc("centra-docs/overselling.cart-200-unavailable.response.json")
    assert (
        partly.status == 200
        and shape_problems(partly.body["unavailable"], documented["unavailable"]) == []
    )
    assert partly.body["selection"]["items"][0]["quantity"] == 2
    gone = shopper("POST", "/items/23-282")
    assert gone.status == 410 and gone.body["errors"] == {"stock": "unavailable items"}
    assert isinstance(gone.body["selection"]["items"][0]["product"], dict)
