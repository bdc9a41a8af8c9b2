"""The fake's Checkout API catalog (``browse``): the shop's languages, countries, markets and
price lists, its categories, product search with its filters, a product by id, URI lookup, the
server side's price lists; each answer held to the shape of the documented one.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from orderflow.adapters.fake.catalog import Catalog, PriceList
from orderflow.adapters.fake.centra import FakeCentra
from tests.unit.test_fake_checkout_api_support import Shopper, doc, shape_problems

PRODUCT_EXTRA = (
    "$.products[].available",
    "$.products[].showAsNew",
    "$.products[].items[].stock",
    "$.products[].variant",
)
"""A product's keys that other examples show (``available``, ``showAsNew``, ``stock``), and
``variant``, which the fake has not (one variant per product)."""


@pytest.fixture
def shopper() -> Shopper:
    return Shopper(FakeCentra.seeded())


@pytest.fixture
def server() -> Shopper:
    return Shopper(FakeCentra.seeded(), Authorization="Bearer secret")


# --- the shop's settings ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["languages", "countries", "categories"])
def test_the_shops_lists_are_shaped_as_documented(shopper: Shopper, name: str) -> None:
    answer = shopper("GET", f"/{name}")
    assert answer.status == 200
    assert shape_problems(answer.body, doc(f"{name}.response.json")) == []


@pytest.mark.parametrize("name", ["markets", "pricelists"])
def test_markets_and_price_lists_are_the_server_sides(server: Shopper, name: str) -> None:
    answer = server("GET", f"/{name}")
    assert answer.status == 200
    assert shape_problems(answer.body, doc(f"{name}.response.json")) == []
    assert sum(entry["default"] for entry in answer.body[name]) == 1


def test_the_countries_are_those_shipped_to_or_with_all_every_one(
    shopper: Shopper, server: Shopper
) -> None:
    shipped = [c["country"] for c in shopper("GET", "/countries").body["countries"]]
    assert shipped == ["DK", "DE", "NO", "SE"]  # by name; the US is not shipped to
    every = server("GET", "/countries/all").body["countries"]
    us = next(c for c in every if c["country"] == "US")
    assert us["shipTo"] is False and {"state": "CA", "name": "California"} in us["states"]


def test_categories_come_in_the_back_offices_order_with_their_parents(shopper: Shopper) -> None:
    listed = shopper("POST", "/categories").body["categories"]
    assert [c["uri"] for c in listed] == [
        "shoes",
        "shoes/sneakers",
        "clothing",
        "clothing/t-shirts",
    ]
    assert listed[1] == {
        "category": "2",
        "name": ["Shoes", "Sneakers"],
        "uri": "shoes/sneakers",
        "inCategory": "1",
    }


# --- products --------------------------------------------------------------------------------


def test_a_search_is_shaped_as_documented(shopper: Shopper) -> None:
    found = shopper("POST", "/products", {"search": "cqp"})
    assert found.status == 200 and found.body["productCount"] == 2
    documented = doc("products.search.response.json")
    assert shape_problems(found.body, documented, ignore=PRODUCT_EXTRA) == []
    product = found.body["products"][0]
    assert product["price"] == "3\u00a0600.00\u00a0SEK" and product["priceAsNumber"] == 3600
    assert product["relatedProducts"][0]["product"] == "31"


def test_filters_and_within_a_field_or_across_fields(shopper: Shopper) -> None:
    def found(query: object) -> list[str]:
        return [p["product"] for p in shopper("POST", "/products", query).body["products"]]

    assert found({"categories": [2]}) == ["23"]
    assert found({"categories": ["2", "4"]}) == ["23", "31"]
    assert found({"categories": ["1"], "swatch.desc": ["White"]}) == []
    assert found({"swatch.desc": "White"}) == ["31"]
    assert found({"brands": [1], "items.name": ["M"]}) == ["31"]
    assert found({"search": "suede"}) == ["23"]
    assert found({"uri": {"uri": "clothing", "for": ["category"]}}) == ["31"]
    assert found({"products": [31], "collections": ["5"]}) == ["31"]
    assert found({"silkProduct": 27}) == ["23"]


def test_paging_leaves_the_count_and_the_filter_whole(shopper: Shopper) -> None:
    paged = shopper("POST", "/products", {"limit": 1, "skipFirst": 1}).body
    assert [p["product"] for p in paged["products"]] == ["31"] and paged["productCount"] == 2
    brands = next(f for f in paged["filter"] if f["field"] == "brands")
    assert brands["values"] == [
        {"value": "1", "count": 2, "totalCount": 2, "data": {"brand": "1", "brandName": "CQP"}}
    ]


def test_a_filter_value_counts_in_the_filtered_set_and_in_all(shopper: Shopper) -> None:
    answer = shopper("POST", "/products", {"swatch.desc": ["Brown"]}).body
    swatches = next(f for f in answer["filter"] if f["field"] == "swatch.desc")["values"]
    counts = {v["value"]: (v["count"], v["totalCount"]) for v in swatches}
    assert counts == {"Brown": (1, 1), "White": (0, 1)}


def test_products_sort_by_the_documented_fields(shopper: Shopper) -> None:
    def order(*rules: dict[str, str]) -> list[str]:
        answer = shopper("POST", "/products", {"sortOrder": list(rules)})
        return [p["product"] for p in answer.body["products"]]

    assert order({"field": "priceAsNumber", "order": "asc"}) == ["31", "23"]
    assert order({"field": "priceAsNumber", "order": "desc"}) == ["23", "31"]
    assert order({"field": "uri", "order": "desc"}) == ["31", "23"]
    refused = shopper("POST", "/products", {"sortOrder": [{"field": "name"}]})
    assert refused.status == 400 and "sortOrder" in refused.body["errors"]


def test_only_available_products_and_each_items_stock() -> None:
    fake = FakeCentra.seeded(stock={"23-281": 0, "23-282": 0, "31-101": 3})
    shopper = Shopper(fake)
    every = shopper("POST", "/products", {}).body["products"]
    assert [(p["product"], p["available"]) for p in every] == [("23", False), ("31", True)]
    assert every[0]["items"][0]["stock"] == "no" and every[1]["items"][0]["stock"] == "yes"
    only = shopper("POST", "/products", {"onlyAvailable": True}).body["products"]
    assert [p["product"] for p in only] == ["31"]


def test_a_request_of_the_wrong_types_is_refused(shopper: Shopper) -> None:
    refused = shopper("POST", "/products", {"limit": "2", "categories": [{}], "search": 1})
    assert refused.status == 400
    assert set(refused.body["errors"]) == {"limit", "categories", "search"}


def test_related_products_come_whole_when_asked(shopper: Shopper) -> None:
    answer = shopper("POST", "/products", {"products": ["23"], "relatedProducts": True})
    product = answer.body["products"][0]
    documented = doc("product.with-related.example.json")
    ignore = ("$.media", "$.showAsNew", "$.swatch", "$.relatedProducts[].*")
    assert shape_problems(product, documented, ignore=ignore) == []
    related = product["relatedProducts"][0]
    assert related["product"] == "31" and related["relation"] == "Goes well with"
    assert "relatedProducts" not in related and related["name"] == "Logo Tee"


def test_a_product_by_id_comes_in_the_products_wrapper(shopper: Shopper) -> None:
    answer = shopper("GET", "/products/31")
    assert answer.status == 200 and set(answer.body) == {
        "token",
        "products",
        "productCount",
        "filter",
    }
    assert answer.body["products"][0]["name"] == "Logo Tee"
    missing = shopper("GET", "/products/999")
    assert missing.status == 404 and missing.body["errors"] == {"product": "not found"}


# --- URIs ------------------------------------------------------------------------------------


def test_a_uri_finds_a_product_in_its_category_or_a_category(shopper: Shopper) -> None:
    product = shopper("POST", "/uri", {"uri": "shoes/sneakers/atlon-chocolate", "for": ["product"]})
    ignore = [f"$.product.{key}" for key in ("available", "relatedProducts", "showAsNew", "swatch")]
    assert product.status == 200
    assert shape_problems(product.body, doc("uri.response.json"), ignore=ignore) == []
    category = shopper("POST", "/uri", {**doc("uri.category.request.json"), "uri": "clothing"})
    assert shape_problems(category.body, doc("uri.category.response.json")) == []
    assert category.body["found"] == "category" and category.body["productCount"] == 1


def test_a_uri_that_leads_nowhere_is_the_documented_404(shopper: Shopper) -> None:
    asked = {**doc("uri.not-found.request.json"), "uri": "shoes/sneakers/atlon-chocolate"}
    answer = shopper("POST", "/uri", asked)  # a product, asked only for a category
    documented = doc("error.404-uri-not-found.response.json")
    assert answer.status == 404 and answer.body["errors"] == documented["errors"]
    assert shape_problems(answer.body, documented) == []


# --- prices --------------------------------------------------------------------------------


def test_the_server_side_asks_for_a_price_list_or_all_of_them(
    shopper: Shopper, server: Shopper
) -> None:
    assert (
        shopper("POST", "/products", doc("products.server-side-pricelist.request.json")).status
        == 403
    )
    euro = server("POST", "/products", {"pricelist": 21}).body["products"][0]
    assert euro["price"] == "€329.00"
    every = server("POST", "/products", doc("products.server-side-pricelist-all.request.json"))
    product = every.body["products"][0]
    assert "price" not in product and set(product["prices"]) == {"19", "20", "21"}
    documented = doc("products.pricelist-all.product.fragment.json")
    assert shape_problems(product, documented) == []
    market = server("POST", "/products", doc("products.paginated-market.request.json"))
    assert market.status == 200 and market.body["products"] == []  # skips past both


def test_the_session_sees_its_countrys_prices(shopper: Shopper) -> None:
    shopper("PUT", "/countries/NO")
    tee = shopper("GET", "/products/31").body["products"][0]
    assert (tee["priceAsNumber"], tee["price"]) == (549, "549.00\u00a0NOK")


def test_a_product_without_a_price_is_listed_with_price_null() -> None:
    seeded = Catalog.seeded()
    sek = seeded.pricelists["19"]
    only_shoes = PriceList("19", sek.market, sek.currency_format, {"23": Decimal(3600)})
    catalog = attrs.evolve(seeded, pricelists={**seeded.pricelists, "19": only_shoes})
    tee = Shopper(FakeCentra(catalog))("GET", "/products/31").body["products"][0]
    assert tee["price"] is None and tee["priceAsNumber"] is None and tee["available"] is False
