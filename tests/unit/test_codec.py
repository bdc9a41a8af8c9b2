"""The codec: Centra's payloads round-trip unchanged and bad ones are reported field by field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow.address import Address
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.codec import (
    converter,
    dumps,
    loads,
    structure,
    structure_action,
    structure_receipt,
    unstructure,
)
from orderflow.errors import PayloadError
from orderflow.flow import Event, State, TransitionRecord
from orderflow.money import CurrencyFormat, Money
from orderflow.payment import (
    FailedAction,
    FormAction,
    JavascriptAction,
    PaymentRequest,
    RedirectAction,
    SuccessAction,
)
from orderflow.receipt import Discounts, Item, Receipt, Totals
from orderflow.selection import Location, PaymentMethod, Selection, SelectionResponse

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
NBSP = "\u00a0"


def seed(name: str) -> Any:
    return json.loads((SEED / f"{name}.json").read_text(encoding="utf-8"))


def paths(error: pytest.ExceptionInfo[PayloadError]) -> set[str]:
    return {problem.path for problem in error.value.problems}


@pytest.fixture
def receipt_data() -> dict[str, Any]:
    data: dict[str, Any] = seed("payment-result.response")
    return data


# --- the seed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("payment.request", PaymentRequest),
        ("payment-result.response", Receipt),
    ],
)
def test_seed_payload_round_trips_unchanged(name: str, cls: type[Any]) -> None:
    data = seed(name)
    assert unstructure(structure(data, cls)) == data


def test_seed_payment_response_round_trips_as_a_form_action() -> None:
    data = seed("payment.response")
    action = structure_action(data)
    assert isinstance(action, FormAction)
    assert action.form_html == "..."
    assert unstructure(action) == data


def test_seed_receipt_has_typed_values(receipt_data: dict[str, Any]) -> None:
    receipt = structure(receipt_data, Receipt)
    assert receipt.totals.grand_total_price == Money(Decimal(3600), "SEK")
    assert receipt.totals.grand_total_price.display == f"3{NBSP}600.00{NBSP}SEK"
    assert receipt.totals.grand_total_price_tax == Money(Decimal(720), "SEK")
    assert receipt.totals.total_discount_price is None
    assert receipt.totals.tax_added is None
    assert receipt.totals.tax_percent == Decimal(25)
    assert receipt.currency_format is not None
    assert receipt.currency_format.decimal_digits == 2
    assert receipt.language is None
    assert receipt.warehouse is False
    assert receipt.shipping_address is not None
    assert receipt.shipping_address.zip_code == "16855"
    assert receipt.items[0].price_each == Money(Decimal(3600), "SEK")
    assert receipt.items[0].price_each_without_tax.amount == Decimal(2880)  # type: ignore[union-attr]
    assert receipt.discounts is not None
    assert receipt.discounts.discount == Money(Decimal(0), "SEK")


def test_seed_receipt_loads_from_bytes_and_dumps_to_equal_json(
    receipt_data: dict[str, Any],
) -> None:
    raw = (SEED / "payment-result.response.json").read_bytes()
    receipt = loads(raw, Receipt)
    text = dumps(receipt)
    assert NBSP in text  # not escaped
    assert json.loads(text) == receipt_data
    assert loads(text, Receipt) == receipt


def test_dumps_writes_what_the_standard_library_would(receipt_data: dict[str, Any]) -> None:
    receipt = structure(receipt_data, Receipt)
    expected = json.dumps(unstructure(receipt), ensure_ascii=False, separators=(",", ":"))
    assert dumps(receipt) == expected


def test_the_converter_itself_maps_the_same_way(receipt_data: dict[str, Any]) -> None:
    receipt = converter.structure(receipt_data, Receipt)
    assert receipt == structure(receipt_data, Receipt)
    assert converter.unstructure(receipt) == receipt_data


# --- unknown fields, explicit nulls and Centra's false ----------------------------------------


def test_unknown_fields_are_kept_and_emitted_after_the_known_ones(
    receipt_data: dict[str, Any],
) -> None:
    receipt_data["newField"] = {"nested": [1, 2]}
    receipt_data["items"][0]["newItemField"] = "kept"
    receipt = structure(receipt_data, Receipt)
    assert receipt.extra["newField"] == {"nested": [1, 2]}
    assert receipt.items[0].extra["newItemField"] == "kept"
    out = unstructure(receipt)
    assert out == receipt_data
    assert list(out)[-1] == "newField"
    assert list(out["items"][0])[-1] == "newItemField"


ITEM_OPTIONAL_KEYS = [
    ("product",),
    ("brandName",),
    ("sku",),
    ("storePickup",),
    ("priceEachBeforeDiscount", "priceEachBeforeDiscountAsNumber"),
    ("taxPercent",),
    ("priceEachReduction", "priceEachReductionAsNumber"),
]


@given(absent=st.lists(st.sampled_from(ITEM_OPTIONAL_KEYS), unique=True), unknown=st.integers(0, 2))
def test_unknown_fields_are_kept_whichever_optional_fields_are_absent(
    absent: list[tuple[str, ...]], unknown: int
) -> None:
    # As many unknown keys as absent known ones (or fewer, or none) must all be kept.
    data = seed("payment-result.response")["items"][0]
    for keys in absent:
        for key in keys:
            del data[key]
    added = {f"newField{i}": i for i in range(unknown)}
    data.update(added)
    item = structure(data, Item)
    assert item.extra == added
    assert unstructure(item) == data


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"formHtml": "<form/>", "newField": 1}, FormAction),
        ({"action": "form", "formHtml": "<form/>", "newField": 1}, FormAction),
        ({"currency": "SEK", "newField": 1}, CurrencyFormat),
        ({"newField": 1}, Location),
    ],
)
def test_an_unknown_field_is_kept_when_every_known_one_that_may_be_absent_is(
    data: dict[str, Any], cls: type[Any]
) -> None:
    assert structure(data, cls).extra == {"newField": 1}


def test_an_explicit_null_round_trips_and_an_absent_none_is_omitted() -> None:
    request = structure(seed("payment.request"), PaymentRequest)
    assert request.shipping_address is None
    assert unstructure(request)["shippingAddress"] is None
    built = PaymentRequest("klarna", Address(email="a@b.se"), "https://r", "https://f")
    out = unstructure(built)
    assert "shippingAddress" not in out
    assert out["address"] == {"email": "a@b.se"}


def test_a_known_value_wins_over_a_recorded_null(receipt_data: dict[str, Any]) -> None:
    receipt = structure(receipt_data, Receipt)
    assert unstructure(attrs.evolve(receipt, language="sv"))["language"] == "sv"


def test_centras_false_for_a_missing_amount_round_trips_to_false(
    receipt_data: dict[str, Any],
) -> None:
    receipt = structure(receipt_data, Receipt)
    out = unstructure(receipt)["totals"]
    assert out["taxDeducted"] is False and out["taxDeductedAsNumber"] is False
    discount = Money(Decimal("-12.5"), "SEK", "x")
    discounted = attrs.evolve(receipt.totals, total_discount_price=discount)
    again = unstructure(attrs.evolve(receipt, totals=discounted))["totals"]
    assert again["totalDiscountPrice"] == "x"
    assert again["totalDiscountPriceAsNumber"] == -12.5


def test_numbers_are_ints_when_integral_and_digits_are_strings() -> None:
    fmt = CurrencyFormat("EUR", decimal_digits=3)
    assert unstructure(fmt)["decimalDigits"] == "3"
    selection = Selection(
        "sel", "EUR", (), _totals(Decimal("10.50"), Decimal("10.00")), currency_format=fmt
    )
    out = unstructure(selection)
    assert out["totals"]["itemsTotalPriceAsNumber"] == 10.5
    assert isinstance(out["totals"]["grandTotalPriceAsNumber"], int)
    assert structure(out, Selection) == selection


# --- errors -----------------------------------------------------------------------------------


def test_every_bad_field_is_reported_by_its_camel_case_path(
    receipt_data: dict[str, Any],
) -> None:
    receipt_data["items"][0]["quantity"] = "1"
    del receipt_data["totals"]["grandTotalPrice"]
    del receipt_data["totals"]["grandTotalPriceAsNumber"]
    receipt_data["totals"]["grandTotalPriceTaxAsNumber"] = "720"
    receipt_data["totals"]["totalQuantity"] = True
    receipt_data["address"] = []
    with pytest.raises(PayloadError) as error:
        structure(receipt_data, Receipt, source="payment result")
    assert paths(error) == {
        "$.items[0].quantity",
        "$.totals.grandTotalPrice",
        "$.totals.grandTotalPriceTaxAsNumber",
        "$.totals.totalQuantity",
        "$.address",
    }
    assert error.value.type_name == "Receipt"
    assert "from payment result" in str(error.value)


def test_a_missing_number_next_to_its_display_string_is_reported(
    receipt_data: dict[str, Any],
) -> None:
    del receipt_data["totals"]["grandTotalPriceAsNumber"]
    del receipt_data["order"]
    with pytest.raises(PayloadError) as error:
        structure(receipt_data, Receipt)
    assert paths(error) == {"$.totals.grandTotalPriceAsNumber", "$.order"}


@pytest.mark.parametrize("data", [[], "receipt", None, 3])
def test_a_top_level_that_is_not_an_object_is_reported_at_the_root(data: Any) -> None:
    with pytest.raises(PayloadError) as error:
        structure(data, Receipt)
    assert paths(error) == {"$"}


def test_html_instead_of_json_is_reported_at_the_root() -> None:
    with pytest.raises(PayloadError) as error:
        loads(b"<html><body>502 Bad Gateway</body></html>", Receipt, source="POST /payment")
    assert paths(error) == {"$"}
    assert "not valid JSON" in str(error.value)
    assert "POST /payment" in str(error.value)


def test_an_unknown_action_names_the_known_ones() -> None:
    with pytest.raises(PayloadError) as error:
        structure_action({"action": "teleport"})
    assert paths(error) == {"$.action"}
    message = error.value.problems[0].message
    for kind in ("failed", "form", "javascript", "redirect", "success"):
        assert kind in message


def test_a_missing_action_is_reported_at_the_action_key() -> None:
    with pytest.raises(PayloadError) as error:
        structure_action({"url": "https://psp"})
    assert paths(error) == {"$.action"}


def test_a_bad_field_inside_an_action_is_reported_by_path() -> None:
    with pytest.raises(PayloadError) as error:
        structure_action({"action": "redirect", "url": 3})
    assert paths(error) == {"$.url"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(key_path=st.lists(st.integers(0, 40), min_size=1, max_size=3), value=json_values)
def test_any_corruption_either_fits_or_raises_one_payload_error(
    key_path: list[int], value: Any
) -> None:
    data = seed("payment-result.response")
    target = data
    for step in key_path[:-1]:
        children = [k for k, v in _children(target) if isinstance(v, dict | list)]
        if not children:
            break
        target = target[children[step % len(children)]]
    keys = [k for k, _ in _children(target)]
    if keys:
        target[keys[key_path[-1] % len(keys)]] = value
    try:
        structure(data, Receipt)
    except PayloadError as error:
        assert error.problems
        assert all(p.path.startswith("$") for p in error.problems)


# --- actions and checkouts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"action": "form", "formHtml": "<form/>", "formFields": {"a": 1}}, FormAction),
        ({"action": "redirect", "url": "https://psp.example/pay"}, RedirectAction),
        ({"action": "javascript", "formType": "adyen", "formFields": {"x": "y"}}, JavascriptAction),
        ({"action": "failed", "errors": {"paymentMethod": "failed"}}, FailedAction),
        ({"action": "success", **seed("payment-result.response")}, SuccessAction),
    ],
)
def test_every_action_kind_round_trips(data: dict[str, Any], cls: type[Any]) -> None:
    action = structure_action(data)
    assert type(action) is cls
    assert unstructure(action) == data
    assert loads(dumps(action), cls) == action


def test_a_success_action_keeps_the_receipt_clean() -> None:
    action = structure_action({"action": "success", **seed("payment-result.response")})
    assert isinstance(action, SuccessAction)
    assert "action" not in action.receipt.extra
    assert action.receipt.order == "588"


def test_a_checkout_round_trips_through_dumps_and_loads() -> None:
    receipt = structure(seed("payment-result.response"), Receipt)
    start = datetime(2019, 6, 17, 11, 0, tzinfo=UTC)
    stockholm = timezone(timedelta(hours=2))
    checkout = Checkout(
        id="c-1",
        state=State.PAID,
        created_at=start,
        updated_at=start.astimezone(stockholm) + timedelta(minutes=19),
        version=4,
        selection_id="ddff91abdd62069cc5fbf4cb23c6af68",
        token="tok",
        cart=SelectionResponse(
            Selection(
                "ddff91abdd62069cc5fbf4cb23c6af68",
                "SEK",
                receipt.items,
                receipt.totals,
                discounts=receipt.discounts,
                currency_format=receipt.currency_format,
            ),
            payment_methods=(PaymentMethod("klarna-playground", "Klarna"),),
            location=Location("SE"),
        ),
        details=structure(seed("payment.request"), PaymentRequest),
        payment_action=structure_action(seed("payment.response")),
        payment_fields={"klarna_order": "bdf9"},
        receipt=receipt,
        history=(
            TransitionRecord(Event.OPEN, None, State.SELECTION, start),
            TransitionRecord(Event.CONFIRM, State.SELECTION, State.CONFIRMED, start, "ok"),
            TransitionRecord(Event.COMPLETE_PAYMENT, State.PAYMENT_PENDING, State.PAID, start),
        ),
    )
    text = dumps(checkout)
    data = json.loads(text)
    assert data["state"] == "paid"
    assert data["createdAt"] == "2019-06-17T11:00:00+00:00"
    assert data["history"][0] == {
        "event": "open",
        "source": None,
        "dest": "selection",
        "at": "2019-06-17T11:00:00+00:00",
        "detail": "",
    }
    assert data["paymentAction"] == {"action": "form", "formHtml": "..."}
    again = loads(text, Checkout)
    assert again == checkout
    assert again.updated_at.utcoffset() == timedelta(hours=2)
    assert unstructure(again) == data


def test_a_stored_checkout_with_a_bad_state_is_reported() -> None:
    data = {
        "id": "c",
        "state": "lost",
        "createdAt": "2020-01-01T00:00:00",
        "updatedAt": "2020-01-01T00:00:00+00:00",
    }
    with pytest.raises(PayloadError) as error:
        structure(data, Checkout)
    assert paths(error) == {"$.state", "$.createdAt"}


# --- properties -------------------------------------------------------------------------------

amounts = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
texts = st.text(max_size=12)


@st.composite
def moneys(draw: st.DrawFn, currency: str = "SEK") -> Money:
    return Money(draw(amounts), currency, draw(st.none() | texts))


def _totals(items_total: Decimal, grand_total: Decimal) -> Totals:
    return Totals(Money(items_total, "EUR", "a"), Money(grand_total, "EUR", "b"), 1)


items = st.builds(
    Item,
    item=texts,
    quantity=st.integers(0, 10**6),
    line=texts,
    price_each=moneys(),
    total_price=moneys(),
    product=st.none() | texts,
    store_pickup=st.none() | st.booleans(),
    price_each_before_discount=st.none() | moneys(),
    any_discount=st.none() | st.booleans(),
    tax_percent=st.none() | amounts,
    price_each_reduction=st.none() | moneys(),
)
totals = st.builds(
    Totals,
    items_total_price=moneys(),
    grand_total_price=moneys(),
    total_quantity=st.integers(0, 999),
    shipping_price=st.none() | moneys(),
    total_discount_price=st.none() | moneys(),
    tax_deducted=st.none() | moneys(),
    tax_added=st.none() | moneys(),
    tax_percent=st.none() | amounts,
    grand_total_price_tax=st.none() | moneys(),
)


@given(amount=amounts)
def test_a_money_amount_round_trips_exactly(amount: Decimal) -> None:
    money = Money(amount, "SEK", "shown")
    assert structure(unstructure(money), Money) == money
    totals_ = Totals(money, money, 1)
    selection = structure(unstructure(Selection("s", "SEK", (), totals_)), Selection)
    assert selection.totals.grand_total_price.amount == amount


@given(items=st.lists(items, max_size=3), totals=totals, discount=moneys())
def test_items_and_totals_round_trip_inside_a_receipt(
    items: list[Item], totals: Totals, discount: Money
) -> None:
    receipt = Receipt(
        "1", "untouched", "SEK", tuple(items), totals, discounts=Discounts(False, discount)
    )
    data = unstructure(receipt)
    again = structure(json.loads(json.dumps(data)), Receipt)
    assert again == receipt
    assert unstructure(again) == data
    assert [i.price_each.display for i in again.items] == [i.price_each.display for i in items]


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def test_structure_does_not_mutate_its_input(receipt_data: dict[str, Any]) -> None:
    before = copy.deepcopy(receipt_data)
    structure(receipt_data, Receipt)
    assert receipt_data == before


# --- orders that do not fully decode, bounded integers, any JSON ------------------------------


def test_a_receipt_that_decodes_is_returned_with_no_problems(receipt_data: dict[str, Any]) -> None:
    receipt, problems = structure_receipt(receipt_data)
    assert problems == () and receipt.undecoded is None
    assert receipt == structure(receipt_data, Receipt)


@pytest.mark.parametrize(
    ("broken", "kept"),
    [
        ({"items": "..."}, ["items"]),
        ({"totals": "..."}, ["totals"]),
        ({"items": [{"quantity": "one"}], "totals": []}, ["items", "totals"]),
        ({"currency": 5}, ["currency"]),
    ],
)
def test_an_order_whose_parts_do_not_decode_keeps_them_as_they_came(
    receipt_data: dict[str, Any], broken: dict[str, Any], kept: list[str]
) -> None:
    receipt, problems = structure_receipt({**receipt_data, **broken})
    assert receipt.order == "588"
    assert receipt.undecoded == {key: broken[key] for key in kept}
    assert {p.path.split(".")[1].split("[")[0] for p in problems} == set(kept)
    assert loads(dumps(receipt), Receipt) == receipt  # storable, and read back the same


def test_an_elided_success_body_is_an_order_with_nothing_else() -> None:
    receipt, _ = structure_receipt({"order": "588", "items": "...", "totals": "..."})
    assert receipt.order == "588" and receipt.totals is None and receipt.items == ()


@pytest.mark.parametrize("data", [[], "588", {"order": None}, {"order": {"id": 1}}])
def test_an_answer_without_a_usable_order_is_still_an_error(data: Any) -> None:
    with pytest.raises(PayloadError):
        structure_receipt(data)


@pytest.mark.parametrize("quantity", [2**63, -(2**63) - 1, 2**64])
def test_integers_beyond_64_bits_are_refused_where_they_would_come_back_as_floats(
    receipt_data: dict[str, Any], quantity: int
) -> None:
    receipt_data["items"][0]["quantity"] = quantity
    with pytest.raises(PayloadError) as refused:
        structure(receipt_data, Receipt)
    assert paths(refused) == {"$.items[0].quantity"}


def test_a_checkout_with_any_json_provider_fields_and_a_marker_round_trips() -> None:
    fields = {"success": True, "timestamp": 1718617138, "transaction": {"id": "t", "n": [1.5]}}
    checkout = Checkout(
        id="c1",
        state=State.PAYMENT_PENDING,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        payment_fields=fields,
        outcome_unknown=CallKind.PAYMENT_RESULT,
    )
    back = loads(dumps(checkout), Checkout)
    assert back == checkout and back.outcome_unknown is CallKind.PAYMENT_RESULT
    assert back.payment_fields == fields


DOCS = Path(__file__).resolve().parents[1] / "data" / "centra-docs"


def test_vouchers_keyed_by_code_decode_and_go_out_the_same_way() -> None:
    data = json.loads((DOCS / "vouchers.selection.vouchers-as-object.json").read_text())
    discounts = structure(data["discounts"], Discounts)
    assert discounts.codes == ("priceoffexclcamp",)
    assert isinstance(discounts.vouchers, dict)
    voucher = discounts.vouchers["priceoffexclcamp"]
    assert voucher.type == "code" and voucher.expiry_date == "2099-10-21 16:25:00"
    assert voucher.price_off is not None and voucher.price_off.amount == Decimal("-629.25")
    assert isinstance(discounts.automatic_discounts, dict)
    assert discounts.automatic_discounts["506"]["name"] == "My Test Auto"
    assert unstructure(discounts) == data["discounts"]


def test_vouchers_as_a_list_stay_a_list(receipt_data: dict[str, Any]) -> None:
    receipt_data["discounts"]["vouchers"] = [
        {"voucher": "WELCOME10", "priceOff": "-360.00\u00a0SEK", "priceOffAsNumber": -360}
    ]
    receipt = structure(receipt_data, Receipt)
    assert receipt.discounts is not None and receipt.discounts.codes == ("WELCOME10",)
    assert unstructure(receipt) == receipt_data


def test_vouchers_that_are_neither_a_list_nor_an_object_are_refused_by_path(
    receipt_data: dict[str, Any],
) -> None:
    receipt_data["discounts"]["vouchers"] = "WELCOME10"
    with pytest.raises(PayloadError) as refused:
        structure(receipt_data, Receipt)
    assert paths(refused) == {"$.discounts.vouchers"}
