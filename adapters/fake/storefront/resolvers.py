"""What each root field of the fake's Storefront API does (the payments' are ``paying``'s):
through ``FakeCentra.serve_shop_api``, the front door every dialect of the fake shares, so a
request over GraphQL is counted by its ``CallKind``, locked, checked and faulted as the Shop
API's would be.

======================= ======================================================================
root field              Shop API request (``CallKind``)
======================= ======================================================================
``selection``           ``GET selections/{selection}`` (``read_selection``); the session's
                        first, or one after its order: ``POST selections`` (``create_selection``)
``order``               ``GET selections/{selection}/receipt`` of the session's latest order
``session``, catalog    none: the fake's catalog and the session's selection as they are
``addItem``             ``POST .../items/{item}`` (``add_item``)
``updateLine``          ``PUT .../lines/{line}/quantity/{n}`` (``set_quantity``)
``deleteLine``          ``DELETE .../lines/{line}`` (``remove_line``)
``addVoucher``          ``POST .../vouchers`` (``apply_voucher``)
``removeVoucher``       ``DELETE .../vouchers/{code}`` (``remove_voucher``)
``setCountryState``     ``PUT .../countries/{country}`` (``set_country``); in a session without
                        a selection, ``POST selections`` with the country (``create_selection``)
``setAddress``,         ``PUT .../checkout-fields`` (``set_checkout_fields``)
``set*Method``
``setLanguage``         none: the session keeps the language
======================= ======================================================================

A refusal becomes ``userErrors`` with the last valid state as ``selection`` (``views``);
``context`` says what ends a request early.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from orderflow.adapters.fake.storefront.catalog_views import View
from orderflow.adapters.fake.storefront.context import (
    Context,
    addresses,
    change,
    create,
    current,
    open_selection,
    payload,
    pricelist_of,
    refused,
    root,
    segment,
    shop,
    view_of,
)
from orderflow.adapters.fake.storefront.session import snapshot

MAX_LIMIT = 40
"""The most display items one page may hold in session mode (the published description's)."""


# --- Query ----------------------------------------------------------------------------------


@root
def session(ctx: Context) -> View:
    """``session``: the session's country, market, price list and language."""
    sel = ctx.shopper.selection
    found = snapshot(ctx.fake, sel) if sel is not None else None
    country = found["selection"]["country"] if found else ctx.fake.catalog.default_country
    return ctx.views.session(country, ctx.shopper.language)


@root
def selection(ctx: Context, voucherMode: str = "LINES") -> View:
    """``selection``: the session's selection (made now if it has none, or a fresh one after
    its order)."""
    sel = ctx.shopper.open_selection
    if sel is not None:
        status, data = shop(ctx, "GET", f"/selections/{segment(sel)}")
        if status == 200 and isinstance(data, Mapping) and "selection" in data:
            return view_of(ctx, data)
        if sel not in ctx.fake.orders:
            raise RuntimeError(f"the selection could not be read (HTTP {status}): {data}")
    status, data = create(ctx)
    if not 200 <= status < 300:
        raise RuntimeError(f"the selection could not be made: {data}")
    return view_of(ctx, data)


@root
def order(ctx: Context) -> View | None:
    """``order``: the session's latest order, or null."""
    sel = ctx.shopper.latest_order
    if sel is None:
        return None
    status, data = shop(ctx, "GET", f"/selections/{segment(sel)}/receipt")
    return ctx.views.order(data, ctx.fake.stock) if status == 200 else None


@root
def countries(ctx: Context, onlyShipTo: bool) -> list[View]:
    """``countries``."""
    return ctx.views.countries(onlyShipTo)


@root
def languages(ctx: Context) -> list[View]:
    """``languages``."""
    return ctx.views.languages()


@root
def markets(ctx: Context, countryCode: list[str] | None = None, id: list[int] | None = None) -> Any:
    """``markets`` (served in any mode: the fake has no session-free token)."""
    catalog = ctx.fake.catalog
    wanted = {catalog.pricelist(c).market for c in countryCode or () if c in catalog.countries}
    return [
        m
        for m in ctx.views.markets()
        if (id is None or m["id"] in id) and (countryCode is None or str(m["id"]) in wanted)
    ]


def _catalogpricelist_of(ctx: Context, pricelist: list[int] | None) -> str:
    for wanted in pricelist or ():
        if str(wanted) in ctx.fake.catalog.pricelists:
            return str(wanted)
    return pricelist_of(ctx, ctx.shopper.selection)


@root
def display_item(ctx: Context, id: int, pricelist: list[int] | None = None, **_: Any) -> Any:
    """``displayItem``: in the session's price list (or the one asked for)."""
    product = ctx.views.products_by_id.get(id)
    if product is None:
        return None
    return ctx.views.display_item(product, _catalogpricelist_of(ctx, pricelist), ctx.fake.stock)


_SORTS: dict[str, Callable[[View], Any]] = {
    "PRICE": lambda v: v["price"]["value"],
    "PRODUCT_NUMBER": lambda v: v["productNumber"],
    "SKU": lambda v: v["productNumber"],
    "URI": lambda v: v["uri"],
}


@root
def display_items(
    ctx: Context,
    limit: int = 20,
    page: int = 1,
    sort: list[dict[str, str]] | None = None,
    where: dict[str, Any] | None = None,
    pricelist: list[int] | None = None,
    **_: Any,
) -> View:
    """``displayItems``: one page, filtered by ``where`` (``id``, ``onlyAvailable``, ``search``
    in names and numbers), sorted by ``sort`` (price, product number, SKU, URI)."""
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append({"message": f"must be 1 to {MAX_LIMIT}", "path": ["limit"]})
    if page < 1:
        problems.append({"message": "must be at least 1", "path": ["page"]})
    chosen = _catalogpricelist_of(ctx, pricelist)
    views = ctx.views
    found = [
        v
        for p in views.products
        if (v := views.display_item(p, chosen, ctx.fake.stock)) is not None
    ]
    where = where or {}
    if where.get("id") is not None:
        found = [v for v in found if v["id"] in where["id"]]
    if where.get("onlyAvailable"):
        found = [v for v in found if v["available"](None)]
    search = str(where.get("search") or "").lower()
    if search:
        found = [v for v in found if search in f"{v['name']} {v['productNumber']}".lower()]
    for rule in reversed(sort or []):
        key = _SORTS.get(rule["key"])
        if key is not None:
            found.sort(key=key, reverse=rule["order"] == "DESC")
    if problems:
        found, limit, page = [], max(limit, 1), max(page, 1)
    last = max(1, math.ceil(len(found) / limit))
    return {
        "list": found[(page - 1) * limit : page * limit],
        "pagination": {
            "currentPage": page,
            "hasNextPage": page < last,
            "hasPreviousPage": page > 1,
            "lastPage": last,
            "limit": limit,
            "nextPage": page + 1 if page < last else None,
            "previousPage": page - 1 if page > 1 else None,
            "total": len(found),
        },
        "userErrors": [{"__typename": "UserErrorBase", **p} for p in problems],
    }


# --- Mutation: the cart ---------------------------------------------------------------------


@root
def add_item(ctx: Context, item: str, quantity: int = 1, comment: str = "", **more: Any) -> View:
    """``addItem`` (``categoryId``, ``productExternalUrl`` and the attributes are not kept)."""
    body: dict[str, Any] = {"quantity": quantity}
    if comment:
        body["comment"] = comment
    if more.get("subscriptionPlan") is not None:
        body["subscriptionPlan"] = more["subscriptionPlan"]
    payload = change(ctx, "POST", f"/items/{segment(item)}", body, "AddItemPayload")
    view = payload["selection"](None) if not payload["userErrors"] else None
    lines = view["lines"] if view is not None else []
    payload["line"] = next((line for line in lines if line["item"]["id"] == item), None)
    return payload


@root
def update_line(
    ctx: Context, lineId: str, quantity: int | None = None, comment: str | None = None, **_: Any
) -> View:
    """``updateLine``: its quantity (0 removes it); the fake cannot change a line's comment."""
    if comment is not None:
        return refused(ctx, "GenericSelectionMutationPayload", "comment", "not supported")
    if quantity is None:
        sel = open_selection(ctx)
        payload = {"__typename": "GenericSelectionMutationPayload", "userErrors": []}
        return payload | {"selection": current(ctx, sel)}
    suffix = f"/lines/{segment(lineId)}/quantity/{quantity}"
    return change(ctx, "PUT", suffix)


@root
def delete_line(ctx: Context, lineId: str) -> View:
    """``deleteLine``."""
    return change(ctx, "DELETE", f"/lines/{segment(lineId)}")


@root
def add_voucher(ctx: Context, code: str) -> View:
    """``addVoucher``."""
    return change(ctx, "POST", "/vouchers", {"voucher": code})


@root
def remove_voucher(ctx: Context, code: str) -> View:
    """``removeVoucher``."""
    return change(ctx, "DELETE", f"/vouchers/{segment(code)}")


@root
def set_address(
    ctx: Context,
    shippingAddress: dict[str, Any],
    separateBillingAddress: dict[str, Any] | None = None,
    sendCartAbandonmentEmail: bool | None = True,
) -> View:
    """``setAddress``: the billing address is the shipping address unless given apart."""
    body = addresses(shippingAddress, separateBillingAddress)
    if sendCartAbandonmentEmail is not None:
        body["cartAbandonmentEmail"] = sendCartAbandonmentEmail
    return change(ctx, "PUT", "/checkout-fields", body)


@root
def set_shipping_method(ctx: Context, id: int) -> View:
    """``setShippingMethod`` by ``ShippingMethod.id``."""
    key = ctx.views.shipping_keys.get(id, str(id))
    return change(ctx, "PUT", "/checkout-fields", {"shippingMethod": key})


@root
def set_payment_method(ctx: Context, id: int) -> View:
    """``setPaymentMethod`` by ``PaymentMethod.id``."""
    uri = ctx.views.payment_uris.get(id, str(id))
    return change(ctx, "PUT", "/checkout-fields", {"paymentMethod": uri})


@root
def set_country_state(ctx: Context, countryCode: str, stateCode: str | None = None) -> View:
    """``setCountryState`` (the fake's countries have no states)."""
    typename = "GenericSelectionMutationPayload"
    if stateCode is not None:
        return refused(ctx, typename, "stateCode", "not found")
    sel = ctx.shopper.open_selection
    if sel is None:
        status, data = create(ctx, countryCode)
        return payload(ctx, status, data, typename, ctx.shopper.open_selection)
    return change(ctx, "PUT", f"/countries/{segment(countryCode)}")


@root
def set_language(ctx: Context, code: str) -> View:
    """``setLanguage``: one of the shop's languages."""
    known = {view["code"] for view in ctx.views.languages()}
    sel = open_selection(ctx)
    errors: list[View] = []
    if code in known:
        ctx.shopper.choose_language(code)
    else:
        errors.append({"__typename": "UserErrorBase", "message": "not found", "path": ["code"]})
    found = snapshot(ctx.fake, sel)
    country = found["selection"]["country"] if found else ctx.fake.catalog.default_country
    return {
        "__typename": "SessionPayload",
        "session": ctx.views.session(country, ctx.shopper.language),
        "selection": current(ctx, sel),
        "userErrors": errors,
    }
