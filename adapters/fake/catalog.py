"""The fake Centra's shop: catalog items, price lists, countries and their VAT, vouchers,
shipping and payment methods, and the seed's catalog (``Catalog.seeded()``).

A catalog is frozen and shared between fakes; ``pricing`` prices a cart against it and
``rendering`` renders Centra's answers from it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
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
