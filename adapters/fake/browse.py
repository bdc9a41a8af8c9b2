"""Browsing the fake Centra's catalog, for the session dialects (the Checkout API, GraphQL):
products, product search and filters, URI lookup, categories, and the shop's countries,
languages, markets and price lists, rendered as the Checkout API documents them
(``tests/data/checkout-api/INDEX.md``; ``docs/fidelity.md`` has the rows).

``Browse(catalog)`` renders; it keeps no state. Prices come from the price list asked for (a
``PriceList``, or ``"all"`` for the server side's ``prices`` keyed by price list); stock from
the fake's ``stock``. A request it cannot read raises ``Refused`` with Centra's error body.

As documented: ``POST products`` ANDs its filters across fields and ORs one field's values;
``productCount`` and ``filter`` ignore paging (a value's ``count`` is in the filtered set,
``totalCount`` in all); ``relatedProducts: true`` gives related products whole, else their id
and media; ``POST uri`` finds a product or a category, else 404 ``errors.uri``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from orderflow.adapters.fake.carts import refuse
from orderflow.adapters.fake.catalog import (
    Catalog,
    CatalogItem,
    Category,
    PriceList,
    ProductDetails,
)
from orderflow.adapters.fake.pricing import currency_format_wire, money

__all__ = ["FLAGS", "LISTS", "SORTABLE", "Browse", "Prices", "texts"]

Prices = PriceList | Literal["all"]
"""The prices a product object shows: one price list's, or every one's (server side)."""

LISTS = ("categories", "collections", "brands", "products", "items.name")
"""The filters of ``POST products`` that take a list of ids or texts (or one of them); so do
``silkProduct`` and a custom attribute's (``swatch.desc``)."""
FLAGS = ("relatedProducts", "onlyAvailable")
SORTABLE = ("uri", "categoryItemSort", "collectionUri", "priceAsNumber", "createdAt", "modifiedAt")
_FOR = ("product", "category")


class Browse:
    """The catalog as a storefront browses it, rendered as Checkout API answers' parts."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._items: dict[str, list[CatalogItem]] = {}
        for item in catalog.items.values():
            self._items.setdefault(item.product, []).append(item)
        self._categories = {c.category: c for c in catalog.categories}
        self._languages = {lang.language: lang for lang in catalog.languages}
        self._details = {p: _details(catalog, p, items) for p, items in self._items.items()}
        self._order = {p: index for index, p in enumerate(self._items)}
        self._in = {
            p: [self._categories[c] for c in d.categories if c in self._categories]
            for p, d in self._details.items()
        }

    # --- the shop's settings -----------------------------------------------------------------

    def language(self, code: str) -> dict[str, str]:
        """``{language, name}`` of a language the shop has (its code, when it has none)."""
        found = self._languages.get(code)
        return {"language": code, "name": found.name if found else code}

    def languages(self) -> list[dict[str, str]]:
        """The shop's languages, sorted by name."""
        ordered = sorted(self.catalog.languages, key=lambda lang: lang.name)
        return [self.language(lang.language) for lang in ordered]

    def knows_language(self, code: str) -> bool:
        """Whether the shop has the language ``code``."""
        return code in self._languages

    def country_language(self, country: str) -> str:
        """The language a country's shoppers get by default."""
        language = self.catalog.countries[country].language
        return language if language in self._languages else self.catalog.default_language

    def countries(self, *, every: bool = False) -> list[dict[str, Any]]:
        """The countries the shop ships to (``every``: all it knows, each with ``shipTo``),
        sorted by name, each with its language, currency and states."""
        found = []
        for country in sorted(self.catalog.countries.values(), key=lambda c: c.name):
            if not (every or country.ship_to):
                continue
            entry: dict[str, Any] = {
                "country": country.code,
                "name": country.name,
                "eu": country.eu,
                "language": self.country_language(country.code),
                "currency": self.catalog.pricelist(country.code).currency_format.currency,
            }
            if country.states:
                entry["states"] = [{"state": s, "name": n} for s, n in country.states.items()]
            if every:
                entry["shipTo"] = country.ship_to
            found.append(entry)
        return found

    def markets(self) -> list[dict[str, Any]]:
        """The markets of the shop's price lists; the default one is the default country's."""
        default = self.catalog.pricelist(self.catalog.default_country).market
        ids = dict.fromkeys(p.market for p in self.catalog.pricelists.values())
        named = self.catalog.markets
        return [
            {"market": m, "name": named[m].name if m in named else m, "default": m == default}
            for m in ids
        ]

    def pricelists(self) -> list[dict[str, Any]]:
        """The price lists, named by their currency; the default is the default country's."""
        default = self.catalog.countries[self.catalog.default_country].pricelist
        return [
            {
                "pricelist": p.pricelist,
                "name": p.currency_format.name,
                "default": p.pricelist == default,
                "currency": currency_format_wire(p.currency_format),
            }
            for p in self.catalog.pricelists.values()
        ]

    def categories(self) -> list[dict[str, Any]]:
        """Every category in the back office's order; a sub-category names its parent."""
        return [_category(c, with_parent=True) for c in self.catalog.categories]

    # --- products ------------------------------------------------------------------------------

    def has_product(self, product: str) -> bool:
        """Whether the shop shows a product with this display id."""
        return product in self._items

    def product(
        self,
        product: str,
        prices: Prices,
        stock: Mapping[str, int],
        *,
        related: bool = False,
        in_line: bool = False,
    ) -> dict[str, Any]:
        """One product object; ``related``: its related products whole; ``in_line``: as a
        selection's line nests it (no stock, categories, availability or relations)."""
        items = self._items[product]
        first = items[0]
        details = self._details[product]
        main = self._in[product][0] if self._in[product] else None
        sizes = [item.size for item in items]
        out: dict[str, Any] = {
            "product": product,
            "name": first.product_name,
            "uri": details.uri,
            "sku": first.sku,
            "productSku": details.product_sku,
            "brand": details.brand,
            "brandName": first.brand_name,
            "brandUri": details.brand_uri,
            "collection": details.collection,
            "collectionName": details.collection_name,
            "collectionUri": details.collection_uri,
            "variantName": details.variant_name,
            "countryOrigin": details.country_origin,
            "excerpt": details.excerpt,
            "excerptHtml": _html(details.excerpt),
            "description": details.description,
            "descriptionHtml": _html(details.description),
            **dict.fromkeys(("metaTitle", "metaDescription", "metaKeywords", "stockUnit"), ""),
            "category": main.category if main else "",
            "categoryName": list(main.name) if main else [],
            "categoryUri": main.uri if main else "",
            "centraProduct": first.silk_product,
            "centraVariant": first.silk_variant,
            "itemQuantityMinimum": 1,
            "itemQuantityMultipleOf": 1,
            **self._prices(product, details, prices),
            "itemTable": {"x": sizes, "y": [""], "dividerSymbol": "x"},
            "items": [
                {
                    "item": item.item,
                    "itemTableX": index,
                    "itemTableY": 0,
                    "name": item.size,
                    "ean": item.ean,
                    "sku": item.sku,
                    **(
                        {} if in_line else {"stock": "yes" if stock.get(item.item, 0) > 0 else "no"}
                    ),
                }
                for index, item in enumerate(items)
            ],
            "media": {size: list(urls) for size, urls in details.media.items()} or [],
        }
        if details.swatch:
            out["swatch"] = dict(details.swatch)
        if in_line:
            return out
        out["categories"] = {c.category: _category(c) for c in self._in[product]}
        out["available"] = self._available(product, prices, stock)
        out["relatedProducts"] = [
            {**self._related(other, prices, stock), "relation": relation}
            if related
            else {"product": other, "relation": relation, "media": self._media(other)}
            for other, relation in details.related
            if other in self._items
        ]
        return out

    def _related(self, product: str, prices: Prices, stock: Mapping[str, int]) -> dict[str, Any]:
        whole = self.product(product, prices, stock)
        del whole["relatedProducts"]  # one level, as the products-and-categories page shows
        return whole

    def search(
        self, query: Mapping[str, Any], prices: Prices, stock: Mapping[str, int]
    ) -> dict[str, Any]:
        """``POST products``: ``{products, productCount, filter}`` for a query whose fields
        are of their types (``LISTS``, ``FLAGS``, ``SORTABLE``; the dialect checks them)."""
        matches = self._matcher(query, prices, stock)
        found = [p for p in self._items if matches(p)]
        for rule in reversed(query.get("sortOrder") or []):
            field: str = rule["field"]
            found.sort(
                key=functools.partial(self._sort_key, field, prices=prices),
                reverse=rule.get("order") == "desc",
            )
        skip = query.get("skipFirst") or 0
        limit = query.get("limit")
        page = found[skip:] if limit is None else found[skip : skip + limit]
        related = query.get("relatedProducts") is True
        return {
            "products": [self.product(p, prices, stock, related=related) for p in page],
            "productCount": len(found),
            "filter": self._filter(found),
        }

    def find_uri(
        self, query: Mapping[str, Any], prices: Prices, stock: Mapping[str, int]
    ) -> dict[str, Any]:
        """``POST uri``: the product or category at ``uri``. Raises ``Refused``: 400 for a
        field of the wrong type, 404 ``{"errors": {"uri": "not found"}}`` for nothing there."""
        uri = query.get("uri")
        wanted = query.get("for", list(_FOR))
        if not isinstance(uri, str):
            raise refuse(400, uri="must be text")
        if not isinstance(wanted, list) or not set(wanted) <= set(_FOR) or not wanted:
            raise refuse(400, **{"for": 'a list of "product" and "category"'})
        page = {k: query[k] for k in ("limit", "skipFirst") if k in query}
        uri = uri.strip("/")
        category = next((c for c in self.catalog.categories if c.uri == uri), None)
        if "category" in wanted and category is not None:
            listed = self.search({"categories": [category.category], **page}, prices, stock)
            return {"found": "category", "category": _category(category), **listed}
        product = self._product_at(uri) if "product" in wanted else None
        if product is None:
            raise refuse(404, uri="not found")
        return {"found": "product", "product": self.product(product, prices, stock)}

    # --- internals ---------------------------------------------------------------------------

    def _media(self, product: str) -> dict[str, list[str]] | list[str]:
        return {size: list(urls) for size, urls in self._details[product].media.items()} or []

    def _prices(self, product: str, details: ProductDetails, prices: Prices) -> dict[str, Any]:
        if prices == "all":
            every = self.catalog.pricelists.values()
            return {"prices": {p.pricelist: _priced(product, details, p) for p in every}}
        return _priced(product, details, prices)

    def _sort_key(self, field: str, product: str, *, prices: Prices) -> Any:
        details = self._details[product]
        if field == "priceAsNumber":
            price = prices.prices.get(product) if prices != "all" else None
            return (price is None, price or Decimal(0))
        if field in ("uri", "collectionUri"):
            return details.uri if field == "uri" else details.collection_uri
        return self._order[product]  # no sort weights or dates in the fake: the catalog's order

    def _available(self, product: str, prices: Prices, stock: Mapping[str, int]) -> bool:
        priced = prices == "all" or product in prices.prices
        return priced and any(stock.get(i.item, 0) > 0 for i in self._items[product])

    def _product_at(self, uri: str) -> str | None:
        head, _, tail = uri.rpartition("/")
        for product, details in self._details.items():
            in_category = any(c.uri == head for c in self._in[product])
            if details.uri == uri or (tail == details.uri and in_category):
                return product
        return None

    def _matcher(
        self, query: Mapping[str, Any], prices: Prices, stock: Mapping[str, int]
    ) -> Callable[[str], bool]:
        wanted = {key: texts(query[key]) or set() for key in LISTS if query.get(key) is not None}
        swatches = {
            key.partition(".")[2]: texts(value) or set()
            for key, value in query.items()
            if key.startswith("swatch.") and value is not None
        }
        words = str(query.get("search") or "").casefold().split()
        silk = query.get("silkProduct")
        uri = query.get("uri") if isinstance(query.get("uri"), Mapping) else None

        def matches(product: str) -> bool:
            details = self._details[product]
            items = self._items[product]
            facts = {
                "categories": set(details.categories),
                "collections": {details.collection},
                "brands": {details.brand},
                "products": {product},
                "items.name": {i.size for i in items},
            }
            if any(not facts[key] & values for key, values in wanted.items()):
                return False
            if any(details.swatch.get(k) not in values for k, values in swatches.items()):
                return False
            if silk is not None and str(silk) != items[0].silk_product:
                return False
            if words and not all(w in self._haystack(product) for w in words):
                return False
            if uri is not None and not self._at_uri(product, uri):
                return False
            if query.get("onlyAvailable") is True:
                sizes = wanted.get("items.name")
                chosen = [i for i in items if sizes is None or i.size in sizes]
                return self._available(product, prices, stock) and any(
                    stock.get(i.item, 0) > 0 for i in chosen
                )
            return True

        return matches

    def _at_uri(self, product: str, uri: Mapping[str, Any]) -> bool:
        text = str(uri.get("uri") or "").strip("/")
        wanted = uri.get("for") or list(_FOR)
        if "product" in wanted and self._product_at(text) == product:
            return True
        return "category" in wanted and any(c.uri == text for c in self._in[product])

    def _haystack(self, product: str) -> str:
        details, items = self._details[product], self._items[product]
        parts = [items[0].product_name, items[0].brand_name, details.product_sku]
        parts += [details.variant_name, details.description, details.collection_name]
        parts += [name for c in self._in[product] for name in c.name]
        parts += [text for i in items for text in (i.sku, i.ean, i.size)]
        return " ".join(parts).casefold()

    def _filter(self, found: Sequence[str]) -> list[dict[str, Any]]:
        chosen = set(found)
        fields: dict[str, dict[str, dict[str, Any]]] = {f: {} for f in _FACETS}
        for product in self._items:
            for field, value, data in self._facets(product):
                entry = fields[field].setdefault(
                    value, {"value": value, "count": 0, "totalCount": 0, "data": data}
                )
                entry["totalCount"] += 1
                entry["count"] += product in chosen
        return [{"field": f, "values": list(v.values())} for f, v in fields.items() if v]

    def _facets(self, product: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
        details = self._details[product]
        if details.brand:
            name = self._items[product][0].brand_name
            yield "brands", details.brand, {"brand": details.brand, "brandName": name}
        for c in self._in[product]:
            yield "categories", c.category, _category(c, with_parent=True)
        if details.collection:
            data = {"collection": details.collection, "collectionName": details.collection_name}
            yield "collections", details.collection, data
        if "desc" in details.swatch:
            yield "swatch.desc", details.swatch["desc"], dict(details.swatch)


_FACETS = ("brands", "categories", "collections", "swatch.desc")
"""The fields ``filter`` lists, as the documented answer does."""


def _details(catalog: Catalog, product: str, items: Sequence[CatalogItem]) -> ProductDetails:
    found = catalog.products.get(product)
    if found is not None:
        return found
    return ProductDetails(product, "-".join(items[0].product_name.lower().split()) or product)


def _priced(product: str, details: ProductDetails, pricelist: PriceList) -> dict[str, Any]:
    price = pricelist.prices.get(product)
    cf = pricelist.currency_format
    if price is None:  # listed with ``price: null``, and cannot be bought (FE)
        keys = ("price", "priceAsNumber", "priceBeforeDiscount", "priceBeforeDiscountAsNumber")
        shown: dict[str, Any] = dict.fromkeys(keys)
    else:
        shown = {**money(cf, "price", price), **money(cf, "priceBeforeDiscount", price)}
    return {**shown, "discountPercent": 0, "showAsOnSale": False, "showAsNew": details.show_as_new}


def texts(value: Any) -> set[str] | None:
    """A filter's values as text (ids come as numbers or text; one value as itself)."""
    values = value if isinstance(value, list) else [value]
    if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        return {str(v) for v in values}
    return None


def _category(category: Category, *, with_parent: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "category": category.category,
        "name": list(category.name),
        "uri": category.uri,
    }
    if with_parent and category.in_category is not None:
        out["inCategory"] = category.in_category
    return out


def _html(text: str) -> str:
    return f"<p>{html.escape(text)}</p>" if text else ""
