"""The fake Centra's shop: catalog, price lists, tax, vouchers, shipping, countries, payment
methods, and the pricing that turns a cart into Centra's wire dicts.

Prices include VAT (Centra's default): the price without tax is ``price / (1 + tax%)`` and the
tax in a total is ``total * tax% / (100 + tax%)``. Amounts are rounded to the currency's
decimals, shown with ``CurrencyFormat.format`` and sent as numbers (``int`` when integral).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

import attrs

from orderflow.money import CurrencyFormat


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    # A catalog is shared between fakes (``Catalog.seeded()`` is built once): read-only views.
    return MappingProxyType(dict(mapping))


@attrs.frozen
class CatalogItem:
    """A sellable item: one size of a product; ``item`` is ``<product>-<size id>``."""

    item: str
    product: str
    product_name: str
    brand_name: str
    size: str
    sku: str
    ean: str = ""
    silk_product: str = ""
    silk_variant: str = ""


@attrs.frozen
class PriceList:
    """A market's prices in one currency, by product id, VAT included."""

    pricelist: str
    market: str
    currency_format: CurrencyFormat
    prices: Mapping[str, Decimal] = attrs.field(converter=_frozen)


@attrs.frozen
class Country:
    """A country the shop knows: its price list, VAT rate, calling code and whether it ships."""

    code: str
    name: str
    pricelist: str
    tax_percent: Decimal
    calling_code: str
    ship_to: bool = True


@attrs.frozen
class VoucherRule:
    """A voucher: ``percent`` off each item, or a fixed amount (by currency) off the order."""

    code: str
    description: str
    percent: Decimal | None = None
    amounts: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_frozen)


@attrs.frozen
class ShippingOption:
    """A shipping method and its price in each price list that offers it."""

    shipping_method: str
    name: str
    prices: Mapping[str, Decimal] = attrs.field(converter=_frozen)


def _options(options: Iterable[ShippingOption]) -> tuple[ShippingOption, ...]:
    return tuple(options)


@attrs.frozen
class PaymentOption:
    """A payment method; ``kind`` says how it answers: klarna, redirect, success or decline."""

    payment_method: str
    name: str
    kind: str
    payment_method_type: str


@attrs.frozen
class Catalog:
    """Everything about the fake shop that is not per-selection state."""

    items: Mapping[str, CatalogItem] = attrs.field(converter=_frozen)
    pricelists: Mapping[str, PriceList] = attrs.field(converter=_frozen)
    countries: Mapping[str, Country] = attrs.field(converter=_frozen)
    vouchers: Mapping[str, VoucherRule] = attrs.field(converter=_frozen)
    shipping: Sequence[ShippingOption] = attrs.field(converter=_options)
    payment_methods: Mapping[str, PaymentOption] = attrs.field(converter=_frozen)
    default_country: str = "SE"
    postal_directory: Mapping[tuple[str, str], str] = attrs.field(factory=dict, converter=_frozen)
    """(country, zip code) -> city, as a payment provider verifies addresses."""

    def pricelist(self, country: str) -> PriceList:
        """The price list that applies in ``country``."""
        return self.pricelists[self.countries[country].pricelist]

    def shipping_options(self, country: str) -> list[ShippingOption]:
        """The shipping methods offered in ``country``, in catalog order."""
        pricelist = self.countries[country].pricelist
        return [option for option in self.shipping if pricelist in option.prices]

    @classmethod
    def seeded(cls) -> Catalog:
        """The seed's shop: CQP Chocolate size 40 (``23-281``) at 3600 SEK, and a few more.

        Built once and shared: a catalog is read-only.
        """
        return _seeded_catalog()


@functools.cache
def _seeded_catalog() -> Catalog:
    sek = CurrencyFormat("SEK", name="SEK", suffix=" SEK", uri="sek")
    nok = CurrencyFormat("NOK", name="NOK", suffix=" NOK", uri="nok")
    eur = CurrencyFormat("EUR", name="EUR", prefix="€", uri="eur")
    d = Decimal
    items = [
        CatalogItem(
            "23-281", "23", "Chocolate", "CQP", "40", "CQP-ATLON-CHOCOLATE", "", "27", "1471"
        ),
        CatalogItem(
            "23-282", "23", "Chocolate", "CQP", "41", "CQP-ATLON-CHOCOLATE", "", "27", "1471"
        ),
        CatalogItem(
            "31-101",
            "31",
            "Logo Tee",
            "CQP",
            "M",
            "CQP-TEE-WHITE",
            "7350000000017",
            "35",
            "1502",
        ),
    ]
    pricelists = [
        PriceList("19", "1", sek, {"23": d(3600), "31": d(499)}),
        PriceList("20", "1", nok, {"23": d(3900), "31": d(549)}),
        PriceList("21", "2", eur, {"23": d(329), "31": d("44.90")}),
    ]
    countries = [
        Country("SE", "Sweden", "19", d(25), "46"),
        Country("NO", "Norway", "20", d(25), "47"),
        Country("DK", "Denmark", "21", d(25), "45"),
        Country("DE", "Germany", "21", d(19), "49"),
        Country("US", "United States", "21", d(0), "1", ship_to=False),
    ]
    vouchers = [
        VoucherRule("WELCOME10", "10% off everything", percent=d(10)),
        VoucherRule(
            "SAVE100",
            "100 off your order",
            amounts={"SEK": d(100), "NOK": d(100), "EUR": d(10)},
        ),
    ]
    shipping = [
        ShippingOption("sek", "SEK", {"19": d(0)}),
        ShippingOption("nok", "NOK", {"20": d(0)}),
        ShippingOption("eur", "EUR", {"21": d(0)}),
        ShippingOption("express", "Express", {"19": d(99), "20": d(99), "21": d(9)}),
    ]
    payment_methods = [
        PaymentOption("klarna-playground", "Klarna Playground", "klarna", "klarna_checkout_v3"),
        PaymentOption("redirect-test", "Redirect Test", "redirect", "dummy"),
        PaymentOption("instant-success", "Instant Success", "success", "dummy"),
        PaymentOption("always-decline", "Always Decline", "decline", "dummy"),
    ]
    return Catalog(
        items={i.item: i for i in items},
        pricelists={p.pricelist: p for p in pricelists},
        countries={c.code: c for c in countries},
        vouchers={v.code: v for v in vouchers},
        shipping=shipping,
        payment_methods={m.payment_method: m for m in payment_methods},
        postal_directory={
            ("SE", "16855"): "Bromma",
            ("SE", "11122"): "Stockholm",
            ("NO", "0150"): "Oslo",
        },
    )


@attrs.define
class Cart:
    """One selection's state in the fake: lines (``line -> [item, quantity]``), vouchers, ..."""

    id: str
    country: str
    payment_method: str | None
    shipping_method: str | None
    lines: dict[str, list[Any]] = attrs.field(factory=dict)
    vouchers: list[str] = attrs.field(factory=list)
    address: dict[str, Any] = attrs.field(factory=dict)
    shipping_address: dict[str, Any] | None = None
    payment: dict[str, Any] | None = None  # the started payment's request
    order: dict[str, Any] | None = None


# --- pricing ----------------------------------------------------------------------------------


@attrs.frozen
class PricedCart:
    """A cart priced in a country: the wire dicts of its items, discounts and totals."""

    country: Country
    pricelist: PriceList
    items: list[dict[str, Any]]
    discounts: dict[str, Any]
    totals: dict[str, Any]


def number(amount: Decimal) -> int | float:
    """A JSON number as Centra sends it: an ``int`` when the amount is whole."""
    whole = int(amount)
    return whole if whole == amount else float(amount)


_PAIRS: dict[tuple[int, str, Decimal], tuple[CurrencyFormat, dict[str, Any]]] = {}


def money(currency_format: CurrencyFormat, key: str, amount: Decimal) -> dict[str, Any]:
    """``{key: display, keyAsNumber: number}``, the pair Centra sends (shared: spread it)."""
    # Formatting dominates the fake's cost; the same few amounts recur, so pairs are cached.
    # Keyed by id(): the format stays referenced by its entry, so its id cannot be reused.
    cache_key = (id(currency_format), key, amount)
    hit = _PAIRS.get(cache_key)
    if hit is None:
        if len(_PAIRS) > 20_000:
            _PAIRS.clear()
        pair = {key: currency_format.format(amount), f"{key}AsNumber": number(amount)}
        hit = _PAIRS[cache_key] = (currency_format, pair)
    return hit[1]


def currency_format_wire(currency_format: CurrencyFormat) -> dict[str, Any]:
    """``currencyFormat`` as Centra sends it (``decimalDigits`` is a string)."""
    cf = currency_format
    return {
        "currency": cf.currency,
        "name": cf.name,
        "prefix": cf.prefix,
        "suffix": cf.suffix,
        "decimalPoint": cf.decimal_point,
        "decimalDigits": str(cf.decimal_digits),
        "uri": cf.uri,
    }


def price_cart(
    catalog: Catalog,
    country_code: str,
    lines: Iterable[tuple[str, str, int]],
    vouchers: Sequence[str],
    shipping_method: str | None,
) -> PricedCart:
    """Price ``(line, item, quantity)`` lines with vouchers and shipping in a country.

    ``itemsTotalPrice`` is the sum of the lines (after percentage vouchers);
    ``totalDiscountPrice`` the fixed-amount vouchers (negative, or ``false`` when none);
    ``discounts.discount`` everything the vouchers took off (negative).
    """
    country = catalog.countries[country_code]
    pricelist = catalog.pricelists[country.pricelist]
    cf = pricelist.currency_format
    quantum = Decimal(1).scaleb(-cf.decimal_digits)

    def rounded(amount: Decimal) -> Decimal:
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)

    tax = country.tax_percent
    rules = [catalog.vouchers[code] for code in vouchers]
    percent = min(
        sum((r.percent for r in rules if r.percent is not None), Decimal(0)), Decimal(100)
    )
    taxed = 1 + tax / 100
    items: list[dict[str, Any]] = []
    items_total = Decimal(0)
    reductions: dict[str, Decimal] = {r.code: Decimal(0) for r in rules}
    quantity_total = 0
    for line, item_id, quantity in lines:
        item = catalog.items[item_id]
        before = pricelist.prices[item.product]
        reduction = rounded(before * percent / 100)
        each = before - reduction
        for rule in rules:
            if rule.percent is not None and percent:
                reductions[rule.code] += reduction * quantity * rule.percent / percent
        items_total += each * quantity
        quantity_total += quantity
        items.append(
            {
                "item": item.item,
                "product": item.product,
                "brandName": item.brand_name,
                "productName": item.product_name,
                "size": item.size,
                "sku": item.sku,
                "ean": item.ean,
                "silkProduct": item.silk_product,
                "silkVariant": item.silk_variant,
                "quantity": quantity,
                "comment": "",
                "storePickup": False,
                "line": line,
                **money(cf, "priceEach", each),
                **money(cf, "totalPrice", each * quantity),
                **money(cf, "priceEachBeforeDiscount", before),
                "anyDiscount": reduction > 0,
                "taxPercent": number(tax),
                **money(cf, "priceEachWithoutTax", rounded(each / taxed)),
                **money(cf, "priceEachReduction", reduction),
            }
        )
    fixed = Decimal(0)
    for rule in rules:
        if rule.percent is None:
            off = min(rule.amounts.get(cf.currency, Decimal(0)), items_total - fixed)
            reductions[rule.code] += off
            fixed += off
    shipping = Decimal(0)
    for option in catalog.shipping_options(country_code):
        if option.shipping_method == shipping_method:
            shipping = option.prices[country.pricelist]
    grand = items_total - fixed + shipping
    discount = sum(reductions.values(), Decimal(0))
    discounts = {
        "anyDiscount": discount > 0,
        **money(cf, "discount", -rounded(discount)),
        "vouchers": [
            {
                "voucher": r.code,
                "description": r.description,
                **money(cf, "priceOff", -rounded(reductions[r.code])),
            }
            for r in rules
        ],
        "automaticDiscounts": [],
    }
    no_discount = {"totalDiscountPrice": False, "totalDiscountPriceAsNumber": False}
    totals = {
        **money(cf, "itemsTotalPrice", items_total),
        **(money(cf, "totalDiscountPrice", -fixed) if fixed else no_discount),
        **money(cf, "shippingPrice", shipping),
        **money(cf, "handlingCostPrice", Decimal(0)),
        "totalQuantity": quantity_total,
        "taxDeducted": False,
        "taxDeductedAsNumber": False,
        "taxAdded": False,
        "taxAddedAsNumber": False,
        "taxPercent": number(tax),
        **money(cf, "grandTotalPrice", grand),
        **money(cf, "grandTotalPriceTax", rounded(grand * tax / (100 + tax))),
    }
    return PricedCart(country, pricelist, items, discounts, totals)


# --- answers -----------------------------------------------------------------------------------

_ELIDED = "..."
"""The seed elides the provider's HTML (affiliate pixels, Klarna's snippet); so does the fake."""

_ADDRESS_KEYS = (
    "email",
    "firstName",
    "lastName",
    "company",
    "address1",
    "address2",
    "zipCode",
    "city",
    "state",
    "country",
)


_SHARED_ANSWERS: dict[int, tuple[weakref.ref[Catalog], Answers]] = {}


class Answers:
    """Renders Centra's answers for one catalog; the parts that never change are built once.

    Answers share those parts (and recently priced carts) with each other: read them, or copy
    before changing anything.
    """

    @classmethod
    def shared(cls, catalog: Catalog) -> Answers:
        """The answers of ``catalog``, shared by every fake built on it (a catalog is frozen,
        so its rendered parts and priced carts are the same for all of them)."""
        found = _SHARED_ANSWERS.get(id(catalog))
        if found is not None and found[0]() is catalog:
            return found[1]
        answers = cls(catalog)
        if len(_SHARED_ANSWERS) > 64:
            _SHARED_ANSWERS.clear()
        _SHARED_ANSWERS[id(catalog)] = (weakref.ref(catalog), answers)
        return answers

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._priced: dict[tuple[Any, ...], PricedCart] = {}
        self._payment_methods = [
            {
                "paymentMethod": m.payment_method,
                "name": m.name,
                "paymentMethodType": m.payment_method_type,
                "supportsInitialize": False,
                "providesCustomerAddressAfterPayment": m.kind == "klarna",
            }
            for m in catalog.payment_methods.values()
        ]
        self._shipping_names = {o.shipping_method: o.name for o in catalog.shipping}
        self._shipping_methods: dict[str, list[dict[str, Any]]] = {}
        self._locations: dict[str, dict[str, Any]] = {}
        for code, country in catalog.countries.items():
            cf = catalog.pricelists[country.pricelist].currency_format
            self._shipping_methods[code] = [
                {
                    "shippingMethod": o.shipping_method,
                    "name": o.name,
                    **money(cf, "price", o.prices[country.pricelist]),
                }
                for o in catalog.shipping_options(code)
            ]
            self._locations[code] = {
                "country": code,
                "countryName": country.name,
                "shipTo": country.ship_to,
            }
        self._currency_formats = {
            code: currency_format_wire(pricelist.currency_format)
            for code, pricelist in catalog.pricelists.items()
        }

    def priced(self, cart: Cart) -> PricedCart:
        """The cart priced now (the last few carts' prices are remembered)."""
        lines = tuple((line, item, quantity) for line, (item, quantity) in cart.lines.items())
        key = (cart.country, lines, tuple(cart.vouchers), cart.shipping_method)
        priced = self._priced.get(key)
        if priced is None:
            if len(self._priced) > 1_000:
                self._priced.clear()
            priced = price_cart(
                self.catalog, cart.country, lines, cart.vouchers, cart.shipping_method
            )
            self._priced[key] = priced
        return priced

    def _method_names(self, cart: Cart) -> tuple[str, str]:
        payment = self.catalog.payment_methods.get(cart.payment_method or "")
        shipping = self._shipping_names.get(cart.shipping_method or "", "")
        return (payment.name if payment else "", shipping)

    def selection(self, cart: Cart) -> dict[str, Any]:
        """The answer of every cart-changing call: the selection, its methods and location."""
        priced = self.priced(cart)
        cf = priced.pricelist.currency_format
        payment_name, shipping_name = self._method_names(cart)
        address = _address(self.catalog, cart.address, cart.country)
        return {
            "selection": {
                "selection": cart.id,
                "currency": cf.currency,
                "paymentMethod": cart.payment_method or "",
                "paymentMethodName": payment_name,
                "shippingMethod": cart.shipping_method or "",
                "shippingMethodName": shipping_name,
                "country": cart.country,
                "language": None,
                "items": priced.items,
                "discounts": priced.discounts,
                "totals": priced.totals,
                "vatExempt": False,
                "address": address,
                "shippingAddress": self._shipping_address(cart, address),
                "additionalNotes": "",
                "currencyFormat": self._currency_formats[priced.pricelist.pricelist],
            },
            "paymentMethods": self._payment_methods,
            "shippingMethods": self._shipping_methods[cart.country],
            "location": self._locations[cart.country],
        }

    def receipt(self, cart: Cart, order: str, date: str, *, verified: bool) -> dict[str, Any]:
        """The order's receipt; ``verified``: the address as a Klarna-like provider verified it."""
        priced = self.priced(cart)
        cf = priced.pricelist.currency_format
        payment_name, shipping_name = self._method_names(cart)
        address = _address(self.catalog, cart.address, cart.country, verified=verified)
        return {
            "order": order,
            "status": "untouched",
            "statusDescription": "Pending",
            "message": "Thank you for your order!",
            "date": date,
            "affiliateHtml": _ELIDED,
            "market": priced.pricelist.market,
            "pricelist": priced.pricelist.pricelist,
            "language": None,
            "currency": cf.currency,
            "paymentMethod": cart.payment_method or "",
            "paymentMethodName": payment_name,
            "shippingMethod": cart.shipping_method or "",
            "shippingMethodName": shipping_name,
            "warehouse": False,
            "items": priced.items,
            "discounts": priced.discounts,
            "totals": priced.totals,
            "vatExempt": False,
            "address": address,
            "shippingAddress": self._shipping_address(cart, address, verified=verified),
            "giftMessage": "",
            "additionalNotes": "",
            "shipments": [],
            "paymentMethodData": {"snippet": _ELIDED} if verified else {},
            "currencyFormat": self._currency_formats[priced.pricelist.pricelist],
        }

    def _shipping_address(
        self, cart: Cart, address: dict[str, Any], *, verified: bool = False
    ) -> dict[str, Any]:
        if cart.shipping_address:
            return _address(
                self.catalog, cart.shipping_address, cart.country, verified=verified, vat=False
            )
        return {k: v for k, v in address.items() if k != "vatNumber"}


def _address(
    catalog: Catalog,
    posted: Mapping[str, Any],
    country: str,
    *,
    verified: bool = False,
    vat: bool = True,
) -> dict[str, Any]:
    out = {key: str(posted.get(key) or "") for key in _ADDRESS_KEYS}
    out["country"] = out["country"] or country
    known = catalog.countries.get(out["country"])
    out["countryName"] = known.name if known else ""
    phone = str(posted.get("phoneNumber") or "")
    if verified:
        city = catalog.postal_directory.get((out["country"], out["zipCode"]))
        out["city"] = city or out["city"]
        phone = _e164(phone, known.calling_code if known else "")
    out["phoneNumber"] = phone
    if vat:
        out["vatNumber"] = str(posted.get("vatNumber") or "")
    return out


def _e164(phone: str, calling_code: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return ""
    if phone.strip().startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    return f"+{calling_code}{digits.removeprefix('0')}"
