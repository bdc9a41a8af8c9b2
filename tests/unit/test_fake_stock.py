"""FakeCentra's stock modes, as Centra's overselling prevention documents them: ``off``,
``standard`` (the default: at the payment, and, the fake's choice, at the payment result) and
``aggressive`` (also on cart calls, and at the payment result of Adyen and Stripe)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.calls import AddItem, CreateSelection, PaymentResult, SetQuantity
from orderflow.errors import OutOfStock

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
ENTRY = {"item", "product", "originalQuantity", "unavailable", "available"}


def _wire(method: str) -> dict[str, Any]:
    seed = json.loads((SEED / "payment.request.json").read_text())
    return {**{k: v for k, v in seed.items() if k != "selection"}, "paymentMethod": method}


def _cart(fake: FakeCentra, *items: tuple[str, int]) -> str:
    selection: str = fake.serve_shop_api("POST", "/selections").body["selection"]["selection"]
    for item, quantity in items:
        fake.serve_shop_api("POST", f"/selections/{selection}/items/{item}", {"quantity": quantity})
    return selection


def _pay(fake: FakeCentra, selection: str, method: str) -> Any:
    return fake.serve_shop_api("POST", f"/selections/{selection}/payment", _wire(method))


def _result(fake: FakeCentra, selection: str, fields: dict[str, Any]) -> Any:
    body = {"paymentMethodFields": fields}
    return fake.serve_shop_api("POST", f"/selections/{selection}/payment-result", body)


def _lines(answer: Any) -> list[tuple[str, int]]:
    return [(i["item"], i["quantity"]) for i in answer["selection"]["items"]]


# --- aggressive: cart calls ------------------------------------------------------------------


def test_aggressive_adding_more_than_there_is_answers_200_with_what_is_unavailable() -> None:
    fake = FakeCentra.seeded(stock_mode="aggressive", stock={"23-281": 2})
    selection = _cart(fake)
    status, answer = fake.serve_shop_api(
        "POST", f"/selections/{selection}/items/23-281", {"quantity": 5}
    )
    assert status == 200 and _lines(answer) == [("23-281", 2)]
    (entry,) = answer["unavailable"]
    assert set(entry) == ENTRY
    assert (entry["originalQuantity"], entry["unavailable"], entry["available"]) == (5, 3, 2)
    added = fake.send(AddItem(_cart(fake), "23-281", 5))  # decodes; the list is kept
    assert [(u.item, u.available) for u in added.unavailable] == [("23-281", 2)]


def test_aggressive_adding_what_is_all_gone_answers_410() -> None:
    fake = FakeCentra.seeded(stock_mode="aggressive", stock={"23-281": 0, "31-101": 9})
    selection = _cart(fake, ("31-101", 1))
    status, answer = fake.serve_shop_api(
        "POST", f"/selections/{selection}/items/23-281", {"quantity": 1}
    )
    assert status == 410 and answer["errors"] == {"stock": "unavailable items"}
    assert _lines(answer) == [("31-101", 1)]
    with pytest.raises(OutOfStock) as raised:
        fake.send(AddItem(selection, "23-281", 1))
    assert [u.item for u in raised.value.unavailable] == ["23-281"]


def test_aggressive_setting_a_quantity_is_checked_too() -> None:
    fake = FakeCentra.seeded(stock_mode="aggressive", stock={"23-281": 3})
    selection = fake.send(CreateSelection()).selection_id
    line = fake.send(AddItem(selection, "23-281", 1)).selection.items[0].line
    answer = fake.send(SetQuantity(selection, line, 4))
    assert answer.selection.items[0].quantity == 3 and answer.unavailable


def test_standard_mode_lets_the_cart_hold_more_than_there_is_until_the_payment() -> None:
    fake = FakeCentra.seeded(stock={"23-281": 1})
    selection = _cart(fake, ("23-281", 5))
    status, answer = _pay(fake, selection, "redirect-test")
    assert status == 410 and answer["unavailable"][0]["available"] == 1


# --- aggressive: the payment result -----------------------------------------------------------


@pytest.mark.parametrize("method", ["adyen-dropin", "stripe-checkout"])
def test_aggressive_payment_result_cancels_the_payment_with_a_cancellation(method: str) -> None:
    fake = FakeCentra.seeded(stock_mode="aggressive")
    selection = _cart(fake, ("23-281", 5))
    specific = {"paymentMethod": {"type": "scheme"}}
    _pay(fake, selection, method)
    fake.serve_shop_api(
        "POST",
        f"/selections/{selection}/payment",
        {**_wire(method), "paymentMethodSpecificFields": specific},
    )
    fake.stock["23-281"] = 3
    status, answer = _result(fake, selection, {"details": {"redirectResult": "r"}})
    assert status == 410 and _lines(answer) == [("23-281", 3)]
    assert answer["cancellation"] == {
        "grandTotalPrice": "18\u00a0000.00\u00a0SEK",
        "grandTotalPriceAsNumber": 18000,
        "currency": "SEK",
    }
    assert fake.orders == {}
    again = _result(fake, selection, {"details": {"redirectResult": "r"}})
    assert again == (400, {"errors": {"selection": "no payment started"}})
    assert _pay(fake, selection, method)[0] == 200  # started again, with what is left


def test_the_cancellation_reaches_the_client_with_the_reduced_selection() -> None:
    fake = FakeCentra.seeded(stock_mode="aggressive")
    selection = _cart(fake, ("23-281", 2))
    _pay(fake, selection, "stripe-checkout")
    fake.stock["23-281"] = 1
    with pytest.raises(OutOfStock) as raised:
        fake.send(PaymentResult(selection, {"session_id": "cs"}))
    assert raised.value.selection is not None and raised.value.cancellation is not None
    assert raised.value.cancellation["grandTotalPriceAsNumber"] == 7200


def test_aggressive_payment_result_of_other_providers_is_not_checked() -> None:
    # The page: "works for now in Adyen Drop-in and Stripe Checkout"; others make the order.
    fake = FakeCentra.seeded(stock_mode="aggressive", stock={"23-281": 5})
    selection = _cart(fake, ("23-281", 5))
    _pay(fake, selection, "redirect-test")
    fake.stock["23-281"] = 2
    assert _result(fake, selection, {"orderRef": "r"})[0] == 200
    assert fake.stock["23-281"] == -3  # oversold


def test_off_checks_nothing_and_an_order_may_take_more_than_there_is() -> None:
    fake = FakeCentra.seeded(stock_mode="off", stock={"23-281": 0})
    selection = _cart(fake, ("23-281", 2))
    assert _pay(fake, selection, "instant-success")[0] == 200
    assert fake.stock["23-281"] == -2


def test_the_default_checks_again_at_the_payment_result_without_a_cancellation() -> None:
    fake = FakeCentra.seeded()
    selection = _cart(fake, ("23-281", 1))
    _pay(fake, selection, "redirect-test")
    fake.stock["23-281"] = 0
    status, answer = _result(fake, selection, {"orderRef": "r"})
    assert status == 410 and "cancellation" not in answer and fake.orders == {}
