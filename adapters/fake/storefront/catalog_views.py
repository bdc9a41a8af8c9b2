"""The fake's shop as Storefront API objects: money, currencies, languages, countries, markets,
price lists, items, display items, brands and the shipping and payment methods.

An object is a plain dict that graphql-core's default resolver reads: one key per field, a
callable for a field with arguments (called with them) or one read when it is resolved (stock),
and ``__typename`` where the schema's type is abstract. ``views.Views`` adds the selection and
the order on top.

The ids the schema types as numbers or text, from the fake's own:

================== ===========================================================================
``Selection.id``   the fake's selection id; ``Line.id`` its line id (text, as the schema's)
``Item.id``        ``<product>-<size>``, e.g. ``23-281`` (``addItem(item:)`` takes it)
``DisplayItem.id`` the product id as a number (a product id that is not digits: 100000 + its
                   position in the catalog)
``PaymentMethod``  ``id`` its position in the catalog from 1; ``uri`` its name
                   (``klarna-playground``, ...), as the other dialects call it
``ShippingMethod`` ``id`` its position in the catalog from 1
``Market``         the price list's market id as a number; ``Pricelist.id`` its id as a number
``Currency.id``    the currency's position in the catalog's currencies, from 1
================== ===========================================================================

``MonetaryValue.value`` is the amount in major units, ``formattedValue`` the fake's display
string (Centra's, with no-break spaces).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orderflow.adapters.fake.catalog import Catalog, CatalogItem

View = dict[str, Any]
Stock = Mapping[str, int]

_LANGUAGE_NAMES = {
    "da": "Danish",
    "de": "German",
    "en": "English",
    "fi": "Finnish",
    "fr": "French",
    "nl": "Dutch",
    "no": "Norwegian",
    "sv": "Swedish",
}
_ISO_NUMBERS = {"DKK": "208", "EUR": "978", "GBP": "826", "NOK": "578", "SEK": "752", "USD": "840"}
_KINDS = {
    "adyen_drop_in": "ADYEN_DROPIN",
    "dummy": "DUMMY",
    "external_payment": "EXTERNAL_PAYMENT",
    "klarna_checkout_v3": "KLARNA_CHECKOUT_V3",
    "klarna_payments": "KLARNA_PAYMENTS",
    "paypal": "PAYPAL_COMMERCE",
    "qliro": "QLIRO_ONE",
    "stripe_checkout": "STRIPE_CHECKOUT",
}
"""``PaymentMethodKind`` of each payment method type the fake's catalog uses."""
_CREATED = "2019-06-05 14:03:12"
_THOUSANDS = "\u00a0"


def number(value: Any) -> float:
    """A Shop API amount (``...AsNumber``: an int or a float) as the schema's ``Float``."""
    return float(value)


def _number_id(text: str, position: int) -> int:
    return int(text) if text.isascii() and text.isdigit() else 100_000 + position


def _slug(*words: str) -> str:
    text = "-".join(w for w in words if w).lower()
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-")


class CatalogViews:
    """The objects of one fake's catalog (see the module docstring)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.payment_ids = {uri: i for i, uri in enumerate(catalog.payment_methods, 1)}
        self.payment_uris = {i: uri for uri, i in self.payment_ids.items()}
        self.shipping_ids = {o.shipping_method: i for i, o in enumerate(catalog.shipping, 1)}
        self.shipping_keys = {i: key for key, i in self.shipping_ids.items()}
        self.products: dict[str, list[CatalogItem]] = {}
        for item in catalog.items.values():
            self.products.setdefault(item.product, []).append(item)
        self.product_ids = {p: _number_id(p, i) for i, p in enumerate(self.products)}
        self.products_by_id = {i: p for p, i in self.product_ids.items()}
        codes = dict.fromkeys(p.currency_format.currency for p in catalog.pricelists.values())
        self._currency_ids = {code: i for i, code in enumerate(codes, 1)}
        brands = dict.fromkeys(item.brand_name for item in catalog.items.values())
        self._brand_ids = {name: i for i, name in enumerate(brands, 1)}
        default = catalog.countries.get(catalog.default_country)
        self.default_language = default.language if default is not None else None

    # --- money ------------------------------------------------------------------------------

    def currency(self, pricelist: str) -> View:
        """``Currency`` of a price list."""
        cf = self.catalog.pricelists[pricelist].currency_format
        return {
            "id": self._currency_ids.get(cf.currency, 0),
            "code": cf.currency,
            "name": cf.name or cf.currency,
            "prefix": cf.prefix or None,
            "suffix": cf.suffix or None,
            "decimalDigits": cf.decimal_digits,
            "decimalPoint": cf.decimal_point,
            "denominator": 10**cf.decimal_digits,
            "currentBaseRate": 1.0,
            "isoNumber": _ISO_NUMBERS.get(cf.currency, ""),
            "thousandsSeparator": _THOUSANDS,
        }

    def pair(self, pricelist: str, wire: Mapping[str, Any], key: str) -> View:
        """``MonetaryValue`` of a Shop API pair (``key`` and ``keyAsNumber``)."""
        return {
            "value": number(wire[f"{key}AsNumber"]),
            "formattedValue": str(wire[key]),
            "currency": self.currency(pricelist),
        }

    def amount(self, pricelist: str, amount: Decimal) -> View:
        """``MonetaryValue`` of an amount, displayed as the fake displays it."""
        cf = self.catalog.pricelists[pricelist].currency_format
        quantum = Decimal(1).scaleb(-cf.decimal_digits)
        rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
        return {
            "value": float(rounded),
            "formattedValue": cf.format(rounded),
            "currency": self.currency(pricelist),
        }

    # --- where the shopper is -------------------------------------------------------------

    def language(self, code: str | None) -> View | None:
        """``Language``; ``None`` for no code."""
        if not code:
            return None
        name = _LANGUAGE_NAMES.get(code, code)
        return {
            "code": code,
            "languageCode": code,
            "countryCode": None,
            "languageName": name,
            "name": lambda info, locale=None: name,
            "default": code == self.default_language,
        }

    def languages(self) -> list[View]:
        """Every language of the shop: its countries' languages, in catalog order."""
        codes = dict.fromkeys(c.language for c in self.catalog.countries.values() if c.language)
        return [view for code in codes if (view := self.language(code)) is not None]

    def country(self, code: str | None) -> View | None:
        """``Country``; ``None`` for a country the shop does not know."""
        country = self.catalog.countries.get(code or "")
        if country is None:
            return None
        return {
            "code": country.code,
            "name": country.name,
            "isEU": country.eu,
            "shipTo": country.ship_to,
            "states": None,
            "defaultLanguage": self.language(country.language),
        }

    def countries(self, only_ship_to: bool, where: Callable[[str], bool] = bool) -> list[View]:
        """The shop's countries (those shipped to, with ``only_ship_to``) for which ``where``."""
        return [
            view
            for code, c in self.catalog.countries.items()
            if (c.ship_to or not only_ship_to) and where(code)
            if (view := self.country(code)) is not None
        ]

    def market(self, market: str) -> View:
        """``Market``: a market of the catalog's price lists and the countries in it."""

        def inside(code: str) -> bool:
            return self.catalog.pricelist(code).market == market

        return {
            "id": _number_id(market, 0),
            "name": f"Market {market}",
            "countries": lambda info: self.countries(False, inside),
            "hasCampaignSite": False,
        }

    def markets(self) -> list[View]:
        """Every market of the catalog's price lists."""
        ids = dict.fromkeys(p.market for p in self.catalog.pricelists.values())
        return [self.market(market) for market in ids]

    def pricelist(self, pricelist: str) -> View:
        """``Pricelist``."""
        cf = self.catalog.pricelists[pricelist].currency_format

        def inside(code: str) -> bool:
            return self.catalog.countries[code].pricelist == pricelist

        return {
            "id": _number_id(pricelist, 0),
            "name": cf.name or cf.currency,
            "comment": None,
            "countries": lambda info: self.countries(False, inside),
            "currency": self.currency(pricelist),
        }

    def session(self, country: str, language: str | None) -> View:
        """``Session`` of a shopper in ``country`` (the session's language, or the country's)."""
        place = self.catalog.countries[country]
        pricelist = self.catalog.pricelists[place.pricelist]
        return {
            "country": self.country(country),
            "countryState": None,
            "language": self.language(language or place.language),
            "loggedIn": None,
            "market": self.market(pricelist.market),
            "pricelist": self.pricelist(place.pricelist),
        }

    # --- what is sold -------------------------------------------------------------------------

    def item(self, item: str, stock: Stock) -> View:
        """``Item``: one size; its ``stock`` is read when it is resolved. Raises ``KeyError``."""
        found = self.catalog.items[item]
        size = item.rpartition("-")[2]

        def left(info: Any) -> View:
            quantity = max(stock.get(item, 0), 0)
            return {"available": quantity > 0, "quantity": quantity}

        return {
            "id": item,
            "sku": found.sku,
            "GTIN": found.ean,
            "name": found.size,
            "preorder": False,
            "productSizeId": int(size) if size.isascii() and size.isdigit() else 0,
            "horizontalLabelIndex": 0,
            "verticalLabelIndex": 0,
            "stock": left,
        }

    def brand(self, name: str | None) -> View | None:
        """``Brand`` of a brand name."""
        if not name:
            return None
        return {
            "id": self._brand_ids.get(name, 0),
            "name": name,
            "uri": _slug(name),
            "metaTitle": name,
            "metaDescription": "",
            "metaKeywords": "",
        }

    def display_item(self, product: str, pricelist: str, stock: Stock) -> View | None:
        """``DisplayItem`` of a product in a price list; ``None`` when it is not sold there."""
        items = self.products.get(product)
        prices = self.catalog.pricelists[pricelist].prices
        if not items or product not in prices:
            return None
        first = items[0]
        price = self.amount(pricelist, prices[product])
        uri = _slug(first.brand_name, first.product_name)

        def available(info: Any) -> bool:
            return any(stock.get(i.item, 0) > 0 for i in items)

        return {
            "id": self.product_ids[product],
            "uri": uri,
            "canonicalUri": uri,
            "name": first.product_name,
            "productNumber": first.sku,
            "available": available,
            "hasStock": available,
            "price": price,
            "originalPrice": price,
            "items": [self.item(i.item, stock) for i in items],
            "media": [],
            "brand": self.brand(first.brand_name),
            "language": None,
            "market": self.market(self.catalog.pricelists[pricelist].market),
            "pricelist": self.pricelist(pricelist),
            "minimumOrderQuantity": 1,
            "orderQuantityDenominator": 1,
            "isPrimaryVariant": True,
            "primaryVariant": None,
            "showAsNew": False,
            "showAsSale": False,
            "preview": False,
            "metaTitle": first.product_name,
            "metaDescription": "",
            "metaKeywords": "",
            "createdAt": _CREATED,
            "modifiedAt": _CREATED,
            "weight": 0.0,
            "weightUnit": "kg",
        }

    def payment_method(self, uri: str, pricelist: str) -> View:
        """``PaymentMethod`` of the catalog's method ``uri``. Raises ``KeyError``."""
        option = self.catalog.payment_methods[uri]
        currency = self.catalog.pricelists[pricelist].currency_format.currency
        return {
            "id": self.payment_ids[uri],
            "uri": uri,
            "name": option.name,
            "kind": _KINDS.get(option.payment_method_type, "UNKNOWN"),
            "active": True,
            "addressAfterPayment": option.provides_address_after_payment,
            "handlingCost": self.amount(pricelist, option.handling_costs.get(currency, Decimal(0))),
            "initiateOnlySupported": option.supports_initiate_only,
            "recurringSupported": False,
        }

    def shipping_method(self, key: str | None, pricelist: str, selected: bool) -> View:
        """``ShippingMethod`` of the catalog's method ``key`` in a price list (an unknown one:
        id 0, no name, free)."""
        option = next((o for o in self.catalog.shipping if o.shipping_method == key), None)
        price = option.prices.get(pricelist, Decimal(0)) if option is not None else Decimal(0)
        return {
            "id": self.shipping_ids.get(key or "", 0),
            "name": option.name if option is not None else "",
            "comment": None,
            "price": self.amount(pricelist, price),
            "selected": selected,
        }
