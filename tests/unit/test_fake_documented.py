"""Centra's documentation examples (``tests/data/centra-docs``) as test data for the fake.

Each answer the fake models is produced by the fake in the same shape (every key the example
has, with a value of the same JSON type; the values differ), and the example and the fake's
answer both decode with the codec into the core types. Each request the documentation shows is
accepted by the fake. ``NOT_MODELLED`` names every other example and why; a test checks that
every file is in exactly one of the three lists.

Checkout API examples carry a session ``token`` and some nest the order under ``order``: the
fake speaks the Shop API, so the ``token`` is left out of the comparison and a nested order is
compared with the Shop API's flat receipt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from orderflow import codec
from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.answer import Answer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.calls import CallKind
from orderflow.payment import FailedAction
from orderflow.receipt import Discounts
from orderflow.selection import Location, PaymentMethod, SelectionResponse, UnavailableItem

DOCS = Path(__file__).resolve().parents[1] / "data" / "centra-docs"
SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
RETURN = "https://shop.example/return"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _doc(name: str) -> Any:
    return _load(DOCS / name)


def _details(**changes: Any) -> dict[str, Any]:
    wire = {k: v for k, v in _load(SEED / "payment.request.json").items() if k != "selection"}
    return {**wire, "paymentReturnPage": RETURN, **changes}


# --- driving the fake on the wire --------------------------------------------------------------


@attrs.define
class Shop:
    """A fake Centra driven with Shop API requests, as any client sends them."""

    fake: FakeCentra = attrs.field(factory=FakeCentra.seeded)

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        return self.fake.serve_shop_api(method, path, body)

    def cart(self, *items: tuple[str, int], country: str | None = None) -> str:
        created = self.call("POST", "/selections", {"country": country} if country else None)
        selection: str = created.body["selection"]["selection"]
        for item, quantity in items or (("23-281", 1),):
            self.call("POST", f"/selections/{selection}/items/{item}", {"quantity": quantity})
        return selection

    def pay(self, selection: str, method: str | None = None, **changes: Any) -> Answer:
        body = _details(**changes) if method is None else _details(paymentMethod=method, **changes)
        return self.call("POST", f"/selections/{selection}/payment", body)

    def result(self, selection: str, fields: Any) -> Answer:
        body = None if fields is None else {"paymentMethodFields": fields}
        return self.call("POST", f"/selections/{selection}/payment-result", body)

    def read(self, selection: str) -> Any:
        return self.call("GET", f"/selections/{selection}").body

    def paid(self, method: str = "klarna-playground", fields: Any = None) -> str:
        selection = self.cart()
        self.pay(selection, method)
        self.result(selection, fields or {"klarna_order": "k-1"})
        return selection


def _start(method: str, **changes: Any) -> Any:
    shop = Shop()
    return shop.pay(shop.cart(), method, **changes).body


def _adyen_action(**specific: Any) -> Any:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection, "adyen-dropin")
    return shop.pay(selection, "adyen-dropin", paymentMethodSpecificFields=specific).body


def _receipt(**options: Any) -> Any:
    shop = Shop(FakeCentra.seeded(**options))
    return shop.fake.orders[shop.paid()]


def _selection_after_order() -> Any:
    shop = Shop(FakeCentra.seeded(autoconfirm=True))
    return shop.read(shop.paid())


def _read_receipt() -> Any:
    shop = Shop()
    return shop.call("GET", f"/selections/{shop.paid()}/receipt").body


def _klarna_declined() -> Any:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection)
    return shop.result(selection, {"centraPaymentMethod": "klarna-playground"}).body


def _country_mismatch() -> Any:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection, "redirect-test")
    shop.call("PUT", f"/selections/{selection}/countries/DK")
    return shop.result(selection, {"orderRef": "r-1"}).body


def _external_failed() -> Any:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection, "external-payment")
    fields = {**_doc("external-payment.payment-result.request.json")["paymentMethodFields"]}
    return shop.result(selection, {**fields, "success": False}).body


def _aggressive_cart(available: int) -> Any:
    shop = Shop(FakeCentra.seeded(stock_mode="aggressive", stock={"23-281": available}))
    selection = shop.cart(("31-101", 1))
    return shop.call("POST", f"/selections/{selection}/items/23-281", {"quantity": 5}).body


def _short_at_payment() -> Any:
    shop = Shop(FakeCentra.seeded(stock={"23-281": 1}))
    return shop.pay(shop.cart(("23-281", 5)), "redirect-test").body


def _cancelled_at_result() -> Any:
    shop = Shop(FakeCentra.seeded(stock_mode="aggressive"))
    selection = shop.cart(("23-281", 5))
    shop.pay(selection, "stripe-checkout")
    shop.fake.stock["23-281"] = 3
    return shop.result(selection, {"session_id": "cs_test"}).body


def _klarna_payments_selection() -> Any:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection, "klarna-payments")
    return shop.read(selection)


def _location(country: str) -> Any:
    shop = Shop()
    return shop.read(shop.cart(country=country))


def _vouchers_as_objects() -> Any:
    shop = Shop(FakeCentra.seeded(vouchers_as="object"))
    selection = shop.cart(("31-101", 3))
    shop.call("POST", f"/selections/{selection}/vouchers", {"voucher": "WELCOME10"})
    return shop.read(selection)["selection"]


def _unknown_item() -> Any:
    shop = Shop()
    return shop.call("POST", f"/selections/{shop.cart()}/items/99-999").body


def _payment_method(method: str) -> Any:
    answer = _location("SE")
    return next(m for m in answer["paymentMethods"] if m["paymentMethod"] == method)


# --- the answers the fake models ----------------------------------------------------------------


def _as_receipt(data: Any) -> Any:
    receipt, problems = codec.structure_receipt(data)
    assert problems == (), problems
    return receipt


@attrs.frozen
class Answered:
    """A documented answer: how the fake gives it, the part of the example it compares, how
    both decode, and the example's paths that are the documentation's placeholders."""

    produce: Callable[[], Any]
    pick: Callable[[Any], Any] = lambda doc: {k: v for k, v in doc.items() if k != "token"}
    decode: Callable[[Any], Any] | None = None
    ignore: tuple[str, ...] = ()
    ours: Callable[[Any], Any] = lambda answer: answer
    fragment: bool = False
    """The example is a fragment no core type takes alone: only the fake's answer decodes."""


def _action(data: Any) -> Any:
    return codec.structure_action(data)


def _failed(data: Any) -> Any:
    return codec.structure(data, FailedAction)


def _unavailable(data: Any) -> Any:
    return [codec.structure(u, UnavailableItem) for u in data["unavailable"]]


def _order(doc: Any) -> Any:
    return doc["order"]


def _located(doc: Any) -> Any:
    return {"location": doc["location"]}


def _decode_location(data: Any) -> Any:
    return codec.structure(data["location"], Location)


def _only_value(doc: Any) -> Any:
    (value,) = doc.values()
    return value


def _method(data: Any) -> Any:
    return codec.structure(data, PaymentMethod)


CHECKOUT_ITEM_KEYS = ("$.items[].product", "$.items[].productUrl", "$.items[].category")
"""The Checkout API's item keys (a nested product object); the Shop API's items name the product
by id, as the seed shows."""

ANSWERS: dict[str, Answered] = {
    "payment-flows.payment.redirect.response.json": Answered(
        lambda: _start("redirect-test"), decode=_action
    ),
    "payment-flows.payment.success.response.json": Answered(
        lambda: _start("instant-success"), decode=_action
    ),
    "payment-flows.receipt.response.json": Answered(_read_receipt, decode=_as_receipt),
    "payment-flows.decline.response.json": Answered(lambda: _start("decline-body"), decode=_failed),
    "payment-flows.payment-result.success.response.json": Answered(_receipt, decode=_as_receipt),
    "payment-flows.payment-result.failed.response.json": Answered(_klarna_declined, decode=_failed),
    "payment-flows.payment-result.country-mismatch.response.json": Answered(
        _country_mismatch, decode=_failed
    ),
    "adyen-drop-in.payment.failed.response.json": Answered(
        lambda: _start("decline-body"), decode=_failed
    ),
    "adyen-drop-in.payment.redirect.response.json": Answered(
        lambda: _adyen_action(paymentMethod={"type": "ideal"}), decode=_action
    ),
    "adyen-drop-in.payment.javascript-action.response.json": Answered(
        lambda: _adyen_action(paymentMethod={"type": "paypal"}), decode=_action
    ),
    "adyen-drop-in.payment.form-init.response.json": Answered(
        lambda: _start("adyen-dropin"),
        decode=_action,
        ignore=("$.formFields.addressData",),  # the doc's placeholder for the address
    ),
    "adyen-drop-in.payment-method.json": Answered(
        lambda: _payment_method("adyen-dropin"), pick=_only_value, decode=_method
    ),
    "stripe.payment-method.json": Answered(
        lambda: _payment_method("stripe-checkout"), pick=_only_value, decode=_method
    ),
    "qliroone.payment-method.json": Answered(lambda: _payment_method("qliro-hold"), decode=_method),
    "order-flow.payment-methods.handling-cost.json": Answered(
        lambda: _location("SE"),
        decode=lambda data: [_method(m) for m in data["paymentMethods"]],
        ignore=("$.paymentMethods[].clientSide",),  # one method of the example has it
    ),
    "order-flow.payment-fields.json": Answered(lambda: _location("SE")),
    "external-payment.payment.external-action.response.json": Answered(
        lambda: _start("external-payment"), decode=_action
    ),
    "external-payment.payment-result.412.response.json": Answered(_external_failed, decode=_failed),
    "qliroone.payment.form.response.json": Answered(lambda: _start("qliro-hold"), decode=_action),
    "stripe.payment.form.response.json": Answered(
        lambda: _start("stripe-checkout"), decode=_action
    ),
    "selections-and-orders.payment.redirect.response.json": Answered(
        lambda: _start("redirect-test"), decode=_action
    ),
    "selections-and-orders.payment-result.response.fragment.json": Answered(
        _receipt, decode=_as_receipt
    ),
    "fe-elements.payment-result.response.fragment.json": Answered(_receipt, decode=_as_receipt),
    "fe-elements.payment.terms-must-be-true.response.json": Answered(
        lambda: _start("klarna-playground", termsAndConditions=False)
    ),
    "selections-and-orders.item-not-found.error.response.json": Answered(_unknown_item),
    "order-flow.receipt-progress-confirmed.json": Answered(
        lambda: _receipt(autoconfirm=True),
        pick=_order,
        decode=_as_receipt,
        ignore=(*CHECKOUT_ITEM_KEYS, "$.paymentMethodData"),  # the dummy plugin's own data
    ),
    "order-flow.selection-after-order.response.json": Answered(
        _selection_after_order, pick=_order, decode=_as_receipt, ignore=CHECKOUT_ITEM_KEYS
    ),
    "overselling.cart-200-unavailable.response.json": Answered(
        lambda: _aggressive_cart(2), decode=_unavailable
    ),
    "overselling.cart-410-unavailable.response.json": Answered(
        lambda: _aggressive_cart(0), decode=_unavailable
    ),
    "overselling.payment-410-unavailable.response.json": Answered(
        _short_at_payment, decode=_unavailable
    ),
    "selections-and-orders.payment-410-out-of-stock.response.fragment.json": Answered(
        _short_at_payment, decode=_unavailable
    ),
    "overselling.payment-result-410-cancellation.response.json": Answered(
        _cancelled_at_result, decode=_unavailable
    ),
    "klarna-payments.selection.plugin-fields.json": Answered(
        _klarna_payments_selection,
        decode=lambda data: codec.structure(data, SelectionResponse),
        fragment=True,
    ),
    "order-flow.location.not-shippable.json": Answered(
        lambda: _location("US"), pick=_located, decode=_decode_location
    ),
    "selections-and-orders.location.not-shippable.json": Answered(
        lambda: _location("US"), pick=_located, decode=_decode_location
    ),
    "selections-and-orders.location.shippable.json": Answered(
        lambda: _location("SE"), pick=_located, decode=_decode_location
    ),
    "selections-and-orders.location.with-language.json": Answered(
        lambda: _location("DE"),
        pick=_located,  # the top-level ``language`` object is the Checkout API's
        decode=_decode_location,
    ),
    "user-accounts.location.json": Answered(
        lambda: _location("US"), pick=_located, decode=_decode_location
    ),
    "vouchers.selection.vouchers-as-object.json": Answered(
        _vouchers_as_objects, decode=lambda data: codec.structure(data["discounts"], Discounts)
    ),
    "vouchers.line-vouchers.json": Answered(_vouchers_as_objects),
}
"""Each documented answer the fake models, by its example's file."""


# --- the requests the fake accepts --------------------------------------------------------------


def _paying(method: str) -> Callable[[Any], Answer]:
    """Start a payment with the example as the body (``paymentMethod`` made one of the fake's)."""

    def send(doc: Any) -> Answer:
        shop = Shop()
        body = {**doc, "paymentMethod": method} if "paymentMethod" in doc else dict(doc)
        return shop.call("POST", f"/selections/{shop.cart()}/payment", body)

    return send


def _paying_with_address(part: Mapping[str, Any]) -> Answer:
    shop = Shop()
    address = {**_details()["address"], **part["address"]}
    return shop.pay(shop.cart(), "redirect-test", address=address)


def _adyen_second_call(doc: Any) -> Answer:
    shop = Shop()
    selection = shop.cart()
    shop.pay(selection, "adyen-dropin", paymentInitiateOnly=True)
    # The example's address is the doc's placeholder: the checkout page appends the real one.
    body = {**doc, "paymentMethod": "adyen-dropin", "address": _details()["address"]}
    body["shippingAddress"] = None
    return shop.call("POST", f"/selections/{selection}/payment", body)


def _resulting(method: str, fields_of: Callable[[Any], Any] = lambda doc: doc) -> Any:
    """Post the example to the payment result of a payment started with ``method``."""

    def send(doc: Any) -> Answer:
        shop = Shop()
        selection = shop.cart()
        shop.pay(selection, method)
        return shop.call("POST", f"/selections/{selection}/payment-result", fields_of(doc))

    return send


def _checkout_fields(doc: Any) -> Answer:
    shop = Shop()
    return shop.call("PUT", f"/selections/{shop.cart()}/checkout-fields", doc)


def _add_item(doc: Any) -> Answer:
    shop = Shop()
    return shop.call("POST", f"/selections/{shop.cart()}/items/23-282", doc)


def _payment_result_body(doc: Any) -> Answer:
    """A body the payment result takes (fields any JSON): no field or body problem."""
    problems = {**bodies.problems(doc), **bodies.field_problems(CallKind.PAYMENT_RESULT, doc)}
    return Answer(200 if not problems else 400, problems)


REQUESTS: dict[str, Callable[[Any], Answer]] = {
    "adyen-drop-in.payment.initiate-only.request.json": _paying("adyen-dropin"),
    "adyen-drop-in.payment.specific-fields.request.json": _adyen_second_call,
    "adyen-drop-in.return-page.nested-fields.example.json": lambda doc: _payment_result_body(
        {"paymentMethodFields": doc}
    ),
    "checkout-fields.cart-abandonment.request.json": _checkout_fields,
    "external-payment.payment-result.request.json": _resulting("external-payment"),
    "fe-elements.payment-result.request.json": _resulting("redirect-test"),
    "fe-elements.payment.country-only.request.json": _paying("klarna-playground"),
    "klarna-payments.payment-result.request.json": _resulting("klarna-payments"),
    "order-flow.payment-result.request.json": _payment_result_body,
    "order-flow.payment.request.json": _paying("redirect-test"),
    "qliroone.payment-result.empty.request.json": _resulting("qliro-hold"),
    "selections-and-orders.payment-result.request.json": _resulting("redirect-test"),
    "selections-and-orders.payment.klarna-country-only.request.json": _paying("klarna-playground"),
    "selections-and-orders.payment.request.json": _paying("klarna-playground"),
    "subscriptions.add-item.request.json": _add_item,
    "subscriptions.payment.logged-in.request.fragment.json": _paying_with_address,
    "subscriptions.payment.register.request.fragment.json": _paying_with_address,
}
"""Each documented request the fake accepts (a 2xx answer), by its example's file."""

NOT_MODELLED: dict[str, str] = {
    "payment-flows.payment.form.response.json": "the dummy plugin's auto-submitting form",
    "order-flow.payment.form.response.json": "the dummy plugin's auto-submitting form",
    "payment-flows.payment-result.redirect.response.json": "PayPal's opt-in redirect (10486)",
    "fe-elements.payment.redirect.response.json": "PayPal's own redirect with orderId",
    "fe-elements.payment.us-zipcode.error.fragment.json": "US zip-code tax validation",
    "external-payment.notification.request.json": "the plugin's notification URL",
    "external-payment.notification.200.response.json": "the plugin's notification URL",
    "external-payment.notification.error.response.json": "the plugin's notification URL",
    "selections-and-orders.lines-bulk-update.request.json": "the Checkout API's bulk line update",
    "selections-and-orders.location.no-country.json": "Geo-IP: the fake always knows",
    "selections-and-orders.location.with-state.json": "countries with states",
    "subscriptions.product.subscription-plans.json": "subscription plans: the catalog has none",
    "user-accounts.403-access-denied.response.json": "Checkout API customer accounts",
    "user-accounts.406-password-incorrect.response.json": "Checkout API customer accounts",
    "user-accounts.406-password-not-valid.response.json": "Checkout API customer accounts",
    "user-accounts.409-email-registered.response.json": "Checkout API customer accounts",
    "user-accounts.logged-in.fragment.json": "Checkout API customer accounts",
    "vouchers.voucher.free-product.json": "free-product vouchers",
    "vouchers.voucher.free-shipping.json": "free-shipping vouchers",
}
"""Examples of what the fake does not model, and what that is."""


# --- comparing shapes -------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array", type(None): "null"}[type(value)]


KEYED_BY_ID = ("$.discounts.vouchers", "$.discounts.automaticDiscounts")
"""Objects keyed by an id (a voucher code, a discount's id): their entries are compared."""


def _shape_problems(doc: Any, ours: Any, path: str, ignore: tuple[str, ...]) -> list[str]:
    general = re.sub(r"\[\d+\]", "[]", path)
    if general in ignore:
        return []
    if _kind(doc) != _kind(ours):
        return [f"{path}: the doc has {_kind(doc)}, the fake {_kind(ours)}"]
    if isinstance(doc, dict) and general in KEYED_BY_ID:
        if doc and not ours:
            return [f"{path}: the fake's object is empty"]
        first = next(iter(ours.values()), None)
        return [p for key, v in doc.items() for p in _shape_problems(v, first, path + "{}", ignore)]
    if isinstance(doc, dict):
        found = []
        for key, value in doc.items():
            if f"{general}.{key}" in ignore:
                continue
            if key not in ours:
                found.append(f"{path}.{key}: missing")
            else:
                found += _shape_problems(value, ours[key], f"{path}.{key}", ignore)
        return found
    if isinstance(doc, list) and doc:
        if not ours:
            return [f"{path}: the fake's list is empty"]
        found = []
        for index, value in enumerate(doc):
            mine = ours[index] if index < len(ours) else ours[0]
            found += _shape_problems(value, mine, f"{path}[{index}]", ignore)
        return found
    return []


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_the_fake_gives_each_documented_answer_in_its_shape(name: str) -> None:
    case = ANSWERS[name]
    doc = case.pick(_doc(name))
    ours = case.ours(case.produce())
    assert _shape_problems(doc, ours, "$", case.ignore) == []


@pytest.mark.parametrize("name", sorted(n for n, case in ANSWERS.items() if case.decode))
def test_each_documented_answer_and_the_fakes_decode_into_the_core_types(name: str) -> None:
    case = ANSWERS[name]
    assert case.decode is not None
    doc = case.pick(_doc(name))
    if name in CHECKOUT_ITEM_NESTED:
        # Reported to the lead: the core's Item.product is text (the Shop API's product id);
        # the Checkout API nests a product object there. The receipt is kept, items undecoded.
        _, problems = codec.structure_receipt(doc)
        assert {p.path for p in problems} <= {f"$.items[{i}].product" for i in range(3)}
    elif not case.fragment:
        case.decode(doc)
    case.decode(case.ours(case.produce()))


CHECKOUT_ITEM_NESTED = {
    "order-flow.receipt-progress-confirmed.json",
    "order-flow.selection-after-order.response.json",
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_fake_accepts_each_documented_request(name: str) -> None:
    status, answer = REQUESTS[name](_doc(name))
    assert 200 <= status < 300, answer


def test_every_documentation_example_is_modelled_or_said_not_to_be() -> None:
    files = {path.name for path in DOCS.glob("*.json")}
    lists = [set(ANSWERS), set(REQUESTS), set(NOT_MODELLED)]
    assert set.union(*lists) == files
    assert sum(len(names) for names in lists) == len(files)  # each file in one list only
