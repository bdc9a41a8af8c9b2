"""The codec's generated fast path builds the very objects the checked slow path builds."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import codec
from orderflow._codec_plans import _builder
from orderflow.address import Address
from orderflow.errors import PayloadError
from orderflow.money import CurrencyFormat, Money
from orderflow.receipt import Discounts, Item, Receipt, Totals, Voucher

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
NBSP = "\u00a0"


def receipt_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (SEED / "payment-result.response.json").read_text(encoding="utf-8")
    )
    return data


def both_paths(cls: type[Any], data: Any) -> tuple[Any, Any]:
    """What the fast path and the slow path make of ``data`` (the slow path must accept it)."""
    node = codec._node(cls)
    fast = node.fast(copy.deepcopy(data), "", {})
    problems: list[Any] = []
    slow = node.check(copy.deepcopy(data), "", "$", problems)
    assert problems == []
    return fast, slow


def extras(value: Any) -> Any:
    """Every ``extra`` in a decoded value (``extra`` takes no part in ``==``), with its order."""
    if attrs.has(type(value)):
        out = {a.name: extras(getattr(value, a.name)) for a in attrs.fields(type(value))}
        return out | {"extra": list(value.extra.items())} if hasattr(value, "extra") else out
    if isinstance(value, tuple | list):
        return [extras(x) for x in value]
    if isinstance(value, dict):
        return {k: extras(v) for k, v in value.items()}
    if isinstance(value, Decimal):  # the same digits and exponent, not only an equal value
        return (type(value), value.as_tuple())
    return value


def assert_same(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert extras(fast) == extras(slow)
    assert codec.dumps(fast) == codec.dumps(slow)


def test_the_seed_receipt_is_the_same_either_way() -> None:
    fast, slow = both_paths(Receipt, receipt_data())
    assert_same(fast, slow)


def test_decoded_objects_are_of_the_class_itself_and_stay_frozen() -> None:
    receipt = codec.loads(json.dumps(receipt_data()), Receipt)
    objects: list[Any] = [receipt, receipt.totals, receipt.discounts, receipt.address]
    objects += [*receipt.items, receipt.items[0].price_each, receipt.currency_format]
    for obj in objects:
        assert type(obj) in (Receipt, Totals, Discounts, Address, Item, Money, CurrencyFormat)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(obj, "extra", {})  # noqa: B010 - a frozen attribute, typed read-only
    assert type(receipt.items[0].price_each) is Money
    assert receipt.items[0] == attrs.evolve(receipt.items[0])
    assert hash(receipt.items[0].price_each) == hash(
        Money(receipt.items[0].price_each.amount, "SEK")
    )


# Optional wire keys of an item and the totals, and how each may come when it means "none".
ABSENT_SPELLINGS = st.sampled_from(["absent", "null", "false"])


@given(
    spelled=st.dictionaries(
        st.sampled_from(
            [
                "priceEachBeforeDiscount",
                "priceEachWithoutTax",
                "priceEachReduction",
                "shippingPrice",
                "handlingCostPrice",
                "totalDiscountPrice",
                "taxDeducted",
                "taxAdded",
                "grandTotalPriceTax",
            ]
        ),
        st.tuples(ABSENT_SPELLINGS, ABSENT_SPELLINGS),
    ),
    nulls=st.sets(st.sampled_from(["product", "sku", "ean", "comment", "taxPercent", "size"])),
    unknown=st.booleans(),
)
def test_absent_amounts_and_nulls_are_kept_the_same_way(
    spelled: dict[str, tuple[str, str]], nulls: set[str], unknown: bool
) -> None:
    data = receipt_data()
    item, totals = data["items"][0], data["totals"]
    for key, (display, number) in spelled.items():
        target = item if key in item else totals
        for wire, how in ((key, display), (key + "AsNumber", number)):
            target.pop(wire)
            if how != "absent":
                target[wire] = None if how == "null" else False
    for key in nulls:
        item[key] = None
    if unknown:
        item["later"] = {"added": 1}
        totals["zzz"] = None
    fast, slow = both_paths(Receipt, data)
    assert_same(fast, slow)
    assert json.loads(codec.dumps(fast)) == data


@pytest.mark.parametrize(
    "vouchers",
    [
        [],
        [{"voucher": "X", "description": "ten off"}],
        ({"voucher": "X"},),
        {"X": {"voucher": "X", "priceOff": "10.00 SEK", "priceOffAsNumber": 10}},
        {},
    ],
)
def test_vouchers_as_a_list_or_keyed_by_code_are_the_same_either_way(vouchers: Any) -> None:
    data = receipt_data()
    data["discounts"]["vouchers"] = vouchers
    data["discounts"]["automaticDiscounts"] = {"a": {"x": 1}} if vouchers else [{"x": 1}]
    fast, slow = both_paths(Receipt, data)
    assert_same(fast, slow)
    expected = tuple if type(vouchers) in (list, tuple) else dict
    assert type(fast.discounts.vouchers) is expected
    assert all(type(v) is Voucher for v in _values(fast.discounts.vouchers))


def _values(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else list(value)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("vouchers", "nope"),
        ("vouchers", [1]),
        ("automaticDiscounts", [1]),
        ("automaticDiscounts", 3),
        ("taxAddedAsNumber", "1"),
        ("taxAdded", 1),
    ],
)
def test_what_the_fast_path_refuses_the_slow_path_reports(where: str, value: Any) -> None:
    data = receipt_data()
    target = data["discounts"] if where in data["discounts"] else data["totals"]
    target[where] = value
    with pytest.raises(PayloadError):
        codec.structure(data, Receipt)


def test_no_builder_where_a_subclass_would_run_the_class_own_code() -> None:
    @attrs.frozen
    class Hooked:
        x: int

        def __init_subclass__(cls) -> None:  # pragma: no cover - must never run
            raise AssertionError("subclassed")

    @attrs.frozen
    class Made:
        x: int

        def __new__(cls, *args: Any) -> Made:  # pragma: no cover - not called by the codec
            return super().__new__(cls)

    @attrs.frozen
    class Plain:
        x: int

    assert _builder(Hooked) is None
    assert _builder(Made) is None
    built = _builder(Plain)
    assert built is not None and issubclass(built, Plain)
    assert codec.structure({"x": 1}, Hooked) == Hooked(1)
    assert type(codec.structure({"x": 1}, Plain)) is Plain


def test_loads_reports_what_the_fast_path_refuses_by_path() -> None:
    data = receipt_data()
    data["currencyFormat"]["decimalDigits"] = "2.5"
    data["items"][0]["quantity"] = "1"
    codec.loads(json.dumps(receipt_data()), Receipt)  # the node is made: loads' own fast path
    with pytest.raises(PayloadError) as error:
        codec.loads(json.dumps(data), Receipt, source="test")
    assert {p.path for p in error.value.problems} == {
        "$.currencyFormat.decimalDigits",
        "$.items[0].quantity",
    }
    assert error.value.source == "test"


@pytest.mark.parametrize("amount", [0, -5, 10**20, 0.0, -0.0, 3600.5, 1e-07, 2.5e15])
def test_amounts_are_the_same_decimals_either_way(amount: Any) -> None:
    data = receipt_data()
    data["items"][0]["priceEachAsNumber"] = amount
    data["items"][0]["taxPercent"] = amount
    data["totals"]["shippingPriceAsNumber"] = amount
    fast, slow = both_paths(Receipt, data)
    assert_same(fast, slow)
    assert fast.items[0].price_each.amount.as_tuple() == Decimal(repr(amount)).as_tuple()
