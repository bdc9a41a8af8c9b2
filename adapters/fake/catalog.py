"""The fake Centra's shop: catalog items, price lists, countries and their VAT, vouchers and
automatic discounts, shipping and payment methods, and the seed's catalog (``Catalog.seeded()``);
for browsing (``browse``), each product's display (``ProductDetails``: URI, categories, media),
the categories, languages and markets.

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
    """A country the shop knows: its price list, VAT rate, calling code, whether it ships, whether
    it is in the EU and its default language (``location`` shows them)."""

    code: str
    name: str
    pricelist: str
    tax_percent: Decimal
    calling_code: str
    ship_to: bool = True
    eu: bool = False
    language: str | None = None
    states: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    """Its states (code -> name), for a country whose addresses need one (``PUT
    countries/{country}/states/{state}``)."""


NO_EXPIRY = "2099-12-31 23:59:59"
"""The ``expiryDate`` of a voucher or discount that never expires (Centra's format)."""


@attrs.frozen
class VoucherRule:
    """A voucher: ``percent`` off each item, or a fixed amount (by currency) off the order."""

    code: str
    description: str
    percent: Decimal | None = None
    amounts: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_frozen)
    expiry_date: str = NO_EXPIRY


@attrs.frozen
class AutomaticDiscount:
    """A discount without a code: ``percent`` off each item of ``product`` once a cart holds at
    least ``min_quantity`` of it; ``ident`` is Centra's id (the key of ``automaticDiscounts``)."""

    ident: str
    name: str
    product: str
    min_quantity: int
    percent: Decimal
    expiry_date: str = NO_EXPIRY


@attrs.frozen
class ShippingOption:
    """A shipping method and its price in each price list that offers it."""

    shipping_method: str
    name: str
    prices: Mapping[str, Decimal] = attrs.field(converter=_frozen)


@attrs.frozen
class Category:
    """A category of the shop: ``name`` and ``uri`` are its full path (a sub-category's start
    with its parent's), ``in_category`` its parent's id."""

    category: str
    name: tuple[str, ...]
    uri: str
    in_category: str | None = None


@attrs.frozen
class ProductDetails:
    """How a product is displayed (the Checkout API's product object), beyond its items.

    ``categories`` lists the categories it is in, its main one first; ``media`` the image URLs
    by size; ``swatch`` its colour swatch (a custom attribute, ``swatch.desc`` as a filter);
    ``related`` the products related to it, each with the relation's name.
    """

    product: str
    uri: str
    categories: tuple[str, ...] = ()
    brand: str = ""
    brand_uri: str = ""
    collection: str = ""
    collection_name: str = ""
    collection_uri: str = ""
    variant_name: str = ""
    product_sku: str = ""
    country_origin: str = ""
    excerpt: str = ""
    description: str = ""
    media: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_frozen)
    swatch: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    related: tuple[tuple[str, str], ...] = ()
    show_as_new: bool = False


@attrs.frozen
class Language:
    """A language of the shop: its code (Centra's System > Languages) and its name."""

    language: str
    name: str


@attrs.frozen
class Market:
    """A market: which products a shopper sees; each price list belongs to one."""

    market: str
    name: str


def _options(options: Iterable[ShippingOption]) -> tuple[ShippingOption, ...]:
    return tuple(options)


def _discounts(discounts: Iterable[AutomaticDiscount]) -> tuple[AutomaticDiscount, ...]:
    return tuple(discounts)


def _categories(categories: Iterable[Category]) -> tuple[Category, ...]:
    return tuple(categories)


def _languages(languages: Iterable[Language]) -> tuple[Language, ...]:
    return tuple(languages)


ADDRESS_FIELDS = ("email", "firstName", "lastName", "address1", "zipCode", "city", "country")
"""The address fields a payment needs by default: Adyen Drop-in's ``addressRequiredFields``."""


@attrs.frozen
class PaymentOption:
    """A payment method; ``kind`` names its provider in ``payments.PROVIDERS`` (how it answers
    starting the payment and what its payment result takes).

    ``address_fields`` are the address fields the payment needs (Centra's
    ``addressRequiredFields``; only ``country`` for a provider that returns the address after
    payment); ``handling_costs`` the method's handling cost by currency (none: 0); ``extra`` the
    method's other documented keys in the selection's ``paymentMethods`` (Adyen's
    ``clientSide``, ...).
    """

    payment_method: str
    name: str
    kind: str
    payment_method_type: str
    supports_initiate_only: bool = False
    provides_address_after_payment: bool = False
    address_fields: tuple[str, ...] = ADDRESS_FIELDS
    handling_costs: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_frozen)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen)


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
    automatic_discounts: Sequence[AutomaticDiscount] = attrs.field(default=(), converter=_discounts)
    postal_directory: Mapping[tuple[str, str], str] = attrs.field(factory=dict, converter=_frozen)
    """(country, zip code) -> city, as a payment provider verifies addresses."""
    products: Mapping[str, ProductDetails] = attrs.field(factory=dict, converter=_frozen)
    """How each product (by display id) is shown; one not here is shown with its name only."""
    categories: Sequence[Category] = attrs.field(default=(), converter=_categories)
    """In the back office's order, parents before their sub-categories."""
    languages: Sequence[Language] = attrs.field(
        default=(Language("en", "English"),), converter=_languages
    )
    default_language: str = "en"
    markets: Mapping[str, Market] = attrs.field(factory=dict, converter=_frozen)

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
    us = {"CA": "California", "NY": "New York", "WA": "Washington"}
    countries = [
        Country("SE", "Sweden", "19", d(25), "46", eu=True, language="sv"),
        Country("NO", "Norway", "20", d(25), "47", language="no"),
        Country("DK", "Denmark", "21", d(25), "45", eu=True, language="da"),
        Country("DE", "Germany", "21", d(19), "49", eu=True, language="de"),
        Country("US", "United States", "21", d(0), "1", ship_to=False, language="en", states=us),
    ]
    vouchers = [
        VoucherRule("WELCOME10", "10% off everything", percent=d(10)),
        VoucherRule(
            "SAVE100",
            "100 off your order",
            amounts={"SEK": d(100), "NOK": d(100), "EUR": d(10)},
        ),
    ]
    automatic = [AutomaticDiscount("506", "Three tees, 10% off", "31", 3, d(10))]
    shipping = [
        ShippingOption("sek", "SEK", {"19": d(0)}),
        ShippingOption("nok", "NOK", {"20": d(0)}),
        ShippingOption("eur", "EUR", {"21": d(0)}),
        ShippingOption("express", "Express", {"19": d(99), "20": d(99), "21": d(9)}),
    ]
    return Catalog(
        items={i.item: i for i in items},
        pricelists={p.pricelist: p for p in pricelists},
        countries={c.code: c for c in countries},
        vouchers={v.code: v for v in vouchers},
        shipping=shipping,
        payment_methods={m.payment_method: m for m in _seeded_payment_methods()},
        automatic_discounts=automatic,
        postal_directory={
            ("SE", "16855"): "Bromma",
            ("SE", "11122"): "Stockholm",
            ("NO", "0150"): "Oslo",
        },
        **_seeded_browsing(),
    )


def _seeded_browsing() -> dict[str, Any]:
    """What a storefront browses in the seed's shop: two products in two categories each."""
    images = "https://fake-centra.example/client/dynamic/images"

    def core(product: str, uri: str, categories: tuple[str, ...], **more: Any) -> ProductDetails:
        shared: dict[str, Any] = {"brand": "1", "brand_uri": "cqp", "country_origin": "PT"}
        shared |= {"collection": "5", "collection_name": "Core", "collection_uri": "core"}
        return ProductDetails(product, uri, categories, **shared, **more)

    atlon = core(
        "23",
        "atlon-chocolate",
        ("2", "1"),
        variant_name="Chocolate",
        product_sku="CQP-ATLON",
        excerpt="Low-top sneaker in suede.",
        description="The Atlon, a low-top sneaker in chocolate suede.",
        media={
            "standard": (f"{images}/27_atlon-chocolate-1.jpg",),
            "thumb": (f"{images}/27_atlon-chocolate-1-thumb.jpg",),
        },
        swatch={"desc": "Brown", "hex": "7b3f00"},
        related=(("31", "Goes well with"),),
    )
    tee = core(
        "31",
        "logo-tee-white",
        ("4", "3"),
        variant_name="White",
        product_sku="CQP-TEE",
        description="A white cotton tee with the CQP logo.",
        media={"standard": (f"{images}/35_logo-tee-white-1.jpg",)},
        swatch={"desc": "White", "hex": "ffffff"},
        show_as_new=True,
    )
    names = {"da": "Dansk", "de": "Deutsch", "en": "English", "no": "Norsk", "sv": "Svenska"}
    return {
        "products": {"23": atlon, "31": tee},
        "categories": (
            Category("1", ("Shoes",), "shoes"),
            Category("2", ("Shoes", "Sneakers"), "shoes/sneakers", "1"),
            Category("3", ("Clothing",), "clothing"),
            Category("4", ("Clothing", "T-shirts"), "clothing/t-shirts", "3"),
        ),
        "languages": tuple(Language(code, name) for code, name in names.items()),
        "markets": {"1": Market("1", "Nordics"), "2": Market("2", "Europe")},
    }


def _seeded_payment_methods() -> list[PaymentOption]:
    """One method per way Centra's providers answer (``payments.PROVIDERS``), as documented."""
    digital = {"useForDigitalContent": True, "hasTermsAndConditionsAgreement": False}
    adyen = {
        **digital,
        "addressRequiredFields": list(ADDRESS_FIELDS),
        "clientSide": {
            "externalScript": "https://checkoutshopper-test.adyen.com/checkoutshopper/sdk/"
            "3.11.4/adyen.js"
        },
    }
    stripe_fields = ("email", "firstName", "lastName", "address1", "city", "zipCode", "country")
    stripe = {**digital, "addressRequiredFields": list(stripe_fields)}
    return [
        PaymentOption(
            "klarna-playground",
            "Klarna Playground",
            "klarna-checkout",
            "klarna_checkout_v3",
            provides_address_after_payment=True,
            address_fields=("country",),
        ),
        PaymentOption("redirect-test", "Redirect Test", "redirect", "dummy"),
        PaymentOption("instant-success", "Instant Success", "success", "dummy"),
        PaymentOption("always-decline", "Always Decline", "decline", "dummy"),
        PaymentOption("decline-body", "Decline Body", "decline-body", "dummy"),
        PaymentOption(
            "adyen-dropin",
            "Adyen Drop-In",
            "adyen",
            "adyen_drop_in",
            supports_initiate_only=True,
            extra=adyen,
        ),
        PaymentOption(
            "stripe-checkout",
            "Stripe Checkout",
            "stripe",
            "stripe_checkout",
            address_fields=stripe_fields,
            extra=stripe,
        ),
        PaymentOption("klarna-payments", "Klarna Payments", "klarna-payments", "klarna_payments"),
        PaymentOption(
            "qliro-hold",
            "Qliro One",
            "qliro",
            "qliro",
            provides_address_after_payment=True,
            address_fields=("country",),
        ),
        PaymentOption("external-payment", "External Payment", "external", "external_payment"),
    ]
