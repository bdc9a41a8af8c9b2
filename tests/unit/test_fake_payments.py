"""FakeCentra's payment methods: one per way Centra's providers answer, each payment result taking
what its provider posts back, orders on Hold, and what a cart change after paying started does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orderflow import codec
from orderflow.adapters.fake.cart import PAYMENT_MISMATCH, WAITING_FOR_PAYMENT
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.calls import AddItem, CreateSelection, PaymentResult, StartPayment
from orderflow.errors import CentraError
from orderflow.payment import (
    ExternalAction,
    FailedAction,
    FormAction,
    JavascriptAction,
    PaymentRequest,
    RedirectAction,
    SuccessAction,
)
from orderflow.receipt import Receipt

DATA = Path(__file__).resolve().parents[1] / "data"
RETURN = "https://shop.example/return"


def _load(path: str) -> Any:
    return json.loads((DATA / path).read_text(encoding="utf-8"))


def _wire(**changes: Any) -> dict[str, Any]:
    seed = {k: v for k, v in _load("seed/payment.request.json").items() if k != "selection"}
    return {**seed, "paymentReturnPage": RETURN, **changes}


def _details(**changes: Any) -> PaymentRequest:
    return codec.structure(_wire(**changes), PaymentRequest)


def _cart(fake: FakeCentra, *items: tuple[str, int]) -> str:
    selection = fake.send(CreateSelection()).selection_id
    for item, quantity in items or (("23-281", 1),):
        fake.send(AddItem(selection, item, quantity))
    return selection


def _pay(fake: FakeCentra, selection: str, method: str, **changes: Any) -> Any:
    return fake.serve_shop_api(
        "POST", f"/selections/{selection}/payment", _wire(paymentMethod=method, **changes)
    )


def _result(fake: FakeCentra, selection: str, fields: Any) -> Any:
    body = None if fields is None else {"paymentMethodFields": fields}
    return fake.serve_shop_api("POST", f"/selections/{selection}/payment-result", body)


# --- every action kind ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("klarna-playground", FormAction),
        ("redirect-test", RedirectAction),
        ("instant-success", SuccessAction),
        ("always-decline", FailedAction),
        ("decline-body", FailedAction),
        ("adyen-dropin", FormAction),
        ("stripe-checkout", FormAction),
        ("klarna-payments", FormAction),
        ("qliro-hold", FormAction),
        ("external-payment", ExternalAction),
    ],
)
def test_each_seeded_payment_method_answers_its_documented_action(method: str, kind: type) -> None:
    fake = FakeCentra.seeded()
    action = fake.send(StartPayment(_cart(fake), _details(paymentMethod=method)))
    assert isinstance(action, kind)


def test_adyen_drop_in_answers_javascript_once_the_drop_in_sent_its_fields() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    setup = fake.send(StartPayment(selection, _details(paymentMethod="adyen-dropin")))
    assert isinstance(setup, FormAction) and setup.form_type == "adyen-drop-in"
    specific = {"paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_..."}}
    request = _details(paymentMethod="adyen-dropin", paymentMethodSpecificFields=specific)
    action = fake.send(StartPayment(selection, request))
    assert isinstance(action, JavascriptAction) and action.form_type == "adyen-drop-in"
    assert action.code and action.form_fields is not None
    payment_data = action.form_fields["action"]["paymentData"]
    # Adyen's return page posts ``details[...]`` form fields: nested objects.
    fields = {
        "details": {"threeDSResult": "eyJ0cmFuc1N0YXR1cyI6IlkifQ=="},
        "paymentData": payment_data,
    }
    receipt = fake.send(PaymentResult(selection, fields))
    assert isinstance(receipt, Receipt) and receipt.payment_method == "adyen-dropin"


def test_adyen_drop_in_redirects_for_a_redirecting_method_and_comes_back_with_its_result() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    specific = {"paymentMethod": {"type": "ideal", "issuer": "1121"}}
    action = fake.send(
        StartPayment(
            selection, _details(paymentMethod="adyen-dropin", paymentMethodSpecificFields=specific)
        )
    )
    assert isinstance(action, RedirectAction) and action.url.startswith(RETURN + "?")
    query = dict(part.split("=", 1) for part in action.url.split("?", 1)[1].split("&"))
    assert isinstance(fake.send(PaymentResult(selection, query)), Receipt)


def test_a_payment_initiated_only_needs_the_country_and_never_makes_an_order() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    body = _load("centra-docs/adyen-drop-in.payment.initiate-only.request.json")
    status, answer = fake.serve_shop_api(
        "POST", f"/selections/{selection}/payment", {**body, "paymentMethod": "adyen-dropin"}
    )
    assert status == 200 and answer["action"] == "form"
    status, answer = _result(fake, selection, {"details": {"redirectResult": "x"}})
    assert status == 400 and answer["errors"] == {"paymentMethod": "failed"}
    assert fake.orders == {}


def test_a_method_that_cannot_initiate_only_refuses_it() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    status, answer = _pay(fake, selection, "instant-success", paymentInitiateOnly=True)
    assert status == 400 and set(answer["errors"]) == {"paymentInitiateOnly"}
    assert fake.orders == {}


def test_the_two_forms_of_a_decline_are_both_served() -> None:
    fake = FakeCentra.seeded()
    old = _pay(fake, _cart(fake), "always-decline")
    assert old == (200, {"action": "failed", "errors": {"paymentMethod": "failed"}})
    status, body = _pay(fake, _cart(fake), "decline-body")
    assert status == 400 and "action" not in body
    assert body["errors"] == {"paymentMethod": "failed"} and body["messages"]
    declined = fake.send(StartPayment(_cart(fake), _details(paymentMethod="decline-body")))
    assert isinstance(declined, FailedAction) and declined.messages == tuple(body["messages"])


# --- what each provider posts back --------------------------------------------------------------


def test_external_payment_takes_booleans_numbers_and_objects_and_answers_201() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "external-payment")
    fields = _load("centra-docs/external-payment.payment-result.request.json")[
        "paymentMethodFields"
    ]
    failed = _result(fake, selection, {**fields, "success": False})
    assert failed[0] == 412 and failed[1]["errors"] == {"paymentMethod": "failed"}
    mistyped = _result(fake, selection, {**fields, "timestamp": "1627029828"})
    assert mistyped == (
        400,
        {"errors": {"paymentMethodFields.timestamp": "must be a whole number"}},
    )
    status, order = _result(fake, selection, fields)  # the failed one came first: still allowed
    assert status == 201 and order["order"] == "588"


def test_external_payment_refuses_another_currency_as_the_docs_example_says() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "external-payment")
    fields = _load("centra-docs/external-payment.payment-result.request.json")[
        "paymentMethodFields"
    ]
    status, body = _result(fake, selection, {**fields, "currency": "USD"})
    assert status == 412 and body["messages"] == ["Mismatched currency: USD, basket currency: SEK"]


def test_klarna_payments_posts_its_authorization_token_and_gets_a_redirect_url() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "klarna-payments")
    plugin = fake.serve_shop_api("GET", f"/selections/{selection}").body["selection"][
        "pluginFields"
    ]
    payload = plugin["klarnaPayments"]["authorizePayload"]
    assert (payload["order_amount"], payload["purchase_currency"]) == (360000, "sek")
    assert _result(fake, selection, {})[0] == 400
    fields = _load("centra-docs/klarna-payments.payment-result.request.json")["paymentMethodFields"]
    status, order = _result(fake, selection, fields)
    assert status == 200 and order["paymentMethodData"] == {"redirect_url": RETURN}


def test_a_paypal_like_redirect_comes_back_with_its_order_ref() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "redirect-test")
    fields = _load("centra-docs/fe-elements.payment-result.request.json")["paymentMethodFields"]
    assert _result(fake, selection, fields)[0] == 200


def test_qliro_posts_an_empty_body_and_its_order_waits_on_hold_until_qliro_confirms() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "qliro-hold", address={"country": "SE"})  # Qliro returns the address
    status, order = _result(fake, selection, None)
    assert status == 200 and (order["status"], order["statusDescription"]) == (
        "untouched",
        "Pending",
    )
    held = fake.statuses[order["order"]]
    assert held.hold and held.waiting_for_payment and held.hold_reasons == [WAITING_FOR_PAYMENT]
    cleared = fake.confirm_payment(order["order"])
    assert not cleared.hold and not cleared.waiting_for_payment


# --- order statuses ---------------------------------------------------------------------------


def test_orders_are_pending_or_confirmed_as_the_store_confirms_them() -> None:
    for autoconfirm, pair in [(False, ("untouched", "Pending")), (True, ("progress", "Confirmed"))]:
        fake = FakeCentra.seeded(autoconfirm=autoconfirm)
        selection = _cart(fake)
        _pay(fake, selection, "redirect-test")
        order = _result(fake, selection, {"orderRef": "r"})[1]
        assert (order["status"], order["statusDescription"]) == pair


def test_a_held_order_is_confirmed_automatically_only_once_the_hold_is_cleared() -> None:
    fake = FakeCentra.seeded(autoconfirm=True)
    selection = _cart(fake)
    _pay(fake, selection, "qliro-hold", address={"country": "SE"})
    order = _result(fake, selection, {})[1]
    assert order["status"] == "untouched"
    fake.confirm_payment(order["order"])
    receipt = fake.serve_shop_api("GET", f"/selections/{selection}/receipt").body
    assert (receipt["status"], receipt["statusDescription"]) == ("progress", "Confirmed")
    assert order["status"] == "untouched"  # an answer given before does not change
    with pytest.raises(KeyError):
        fake.clear_hold("no-such-order")


# --- a cart changed after the payment started -------------------------------------------------


@pytest.mark.parametrize("method", ["redirect-test", "stripe-checkout"])
def test_a_cart_changed_after_paying_started_makes_a_payment_mismatch_on_hold(method: str) -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, method)
    changed = fake.serve_shop_api("POST", f"/selections/{selection}/items/31-101", {"quantity": 1})
    assert changed[0] == 200  # Centra does not block it
    status, order = _result(fake, selection, {"orderRef": "r", "session_id": "s"})
    assert status == 200 and order["totals"]["grandTotalPriceAsNumber"] == 3600 + 499
    assert fake.statuses[order["order"]].hold_reasons == [PAYMENT_MISMATCH]
    assert not fake.clear_hold(order["order"]).hold


def test_a_cart_change_with_the_same_amount_is_no_mismatch() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "redirect-test")
    line = fake.serve_shop_api("GET", f"/selections/{selection}").body["selection"]["items"][0]
    fake.serve_shop_api("DELETE", f"/selections/{selection}/lines/{line['line']}")
    fake.serve_shop_api("POST", f"/selections/{selection}/items/23-282", {"quantity": 1})
    order = _result(fake, selection, {"orderRef": "r"})[1]
    assert not fake.statuses[order["order"]].hold


def test_klarna_payments_follows_the_cart_so_a_change_is_no_mismatch() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "klarna-payments")
    fake.serve_shop_api("POST", f"/selections/{selection}/items/31-101", {"quantity": 1})
    plugin = fake.serve_shop_api("GET", f"/selections/{selection}").body["selection"][
        "pluginFields"
    ]
    assert plugin["klarnaPayments"]["authorizePayload"]["order_amount"] == (3600 + 499) * 100
    order = _result(fake, selection, {"authorization_token": "t"})[1]
    assert not fake.statuses[order["order"]].hold


def test_a_country_change_after_paying_started_needs_the_payment_started_again() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    _pay(fake, selection, "redirect-test")
    fake.serve_shop_api("PUT", f"/selections/{selection}/countries/DK")
    status, body = _result(fake, selection, {"orderRef": "r"})
    assert status == 400 and body["code"] == "COUNTRY_MISMATCH"
    assert body["errors"] == {"paymentMethod": "COUNTRY_MISMATCH"}
    with pytest.raises(CentraError) as again:  # the payment was cancelled with it
        fake.send(PaymentResult(selection, {"orderRef": "r"}))
    assert again.value.errors == {"selection": "no payment started"}
    danish = {**_wire()["address"], "country": "DK"}
    assert _pay(fake, selection, "redirect-test", address=danish)[0] == 200
    assert _result(fake, selection, {"orderRef": "r"})[1]["currency"] == "EUR"


def test_the_receipt_before_an_order_exists_is_not_found() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake)
    assert fake.serve_shop_api("GET", f"/selections/{selection}/receipt")[0] == 404
