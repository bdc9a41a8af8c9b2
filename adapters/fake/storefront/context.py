"""One GraphQL request to the fake (``Context``) and what every resolver shares: its Shop API
requests through ``FakeCentra.serve_shop_api`` (``shop``), the session's selection, and the
payloads of a cart answer or a refusal.

An answer whose status decides on its own in the error table (``orderflow.adapters.http.table``:
408, 425, 429 and 5xx; for the payment calls also 404, 409 and other unexpected statuses),
which only faults give, ends the whole request with that HTTP status (``Context.stop``); a lost
answer ends it without one (``Context.lost``). ``app`` carries either out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import attrs
from graphql import GraphQLError

from orderflow.adapters.fake.answer import Answer, LostAnswer, Wire
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.storefront.catalog_views import View
from orderflow.adapters.fake.storefront.session import Shopper, snapshot, views_of
from orderflow.adapters.fake.storefront.views import Views
from orderflow.adapters.http import table


@attrs.define
class Context:
    """One GraphQL request: its session, and what ends it early (``lost``: a lost answer;
    ``stop``: a fault's status answer, which replaces the whole answer) or changes how it goes
    out (``wire``)."""

    fake: FakeCentra
    shopper: Shopper
    lost: LostAnswer | None = None
    stop: Answer | None = None
    wire: Wire | None = None

    @property
    def views(self) -> Views:
        """The objects of the fake's catalog and state."""
        return views_of(self.fake)


class Stopped(Exception):
    """The request ends here; the context says how."""


def _stopped_error(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": "SERVICE_UNAVAILABLE"}}


def shop(ctx: Context, method: str, path: str, body: Any = None, *, money: bool = False) -> Any:
    """One Shop API request of the fake: ``(status, body)``, or ``Stopped``."""
    if ctx.lost is not None or ctx.stop is not None:
        raise Stopped
    try:
        answer = Answer.of(ctx.fake.serve_shop_api(method, path, body, ctx.shopper.shop_headers))
    except LostAnswer as lost:
        ctx.lost = lost
        raise Stopped from None
    status, data = answer
    if answer.wire is not None:
        ctx.wire = answer.wire
    if answer.content is not None:  # not JSON: what the schema cannot show is a field error
        data = json.loads(answer.content) if answer.content else None
    if table.verdict(table.outcome_of(status), money) is not table.Verdict.DECODE:
        said = table.message_of(data)
        error = _stopped_error(f"HTTP {status}" + (f": {said}" if said else ""))
        ctx.stop = Answer(status, {"data": None, "errors": [error]}, answer.headers)
        raise Stopped
    return status, data


def root(resolve: Callable[..., Any]) -> Callable[..., Any]:
    """A root resolver: its failures are GraphQL errors that say so (never a 500)."""

    @functools.wraps(resolve)
    def resolver(root: Any, info: Any, **args: Any) -> Any:
        try:
            return resolve(info.context, **args)
        except Stopped:
            raise GraphQLError("the request was stopped") from None
        except GraphQLError:
            raise
        except Exception as bug:
            raise GraphQLError(
                f"the fake failed: {type(bug).__name__}: {bug}",
                extensions={"code": "INTERNAL_SERVER_ERROR"},
            ) from bug

    return resolver


# --- the session's selection --------------------------------------------------------------


def create(ctx: Context, country: str | None = None) -> tuple[int, Any]:
    status, data = shop(ctx, "POST", "/selections", {"country": country} if country else None)
    if 200 <= status < 300:
        ctx.shopper.attach(str(data["selection"]["selection"]))
    return status, data


def open_selection(ctx: Context) -> str:
    """The session's open selection, made now if it has none."""
    sel = ctx.shopper.open_selection
    if sel is not None:
        return sel
    status, data = create(ctx)
    if not 200 <= status < 300:
        raise RuntimeError(f"the selection could not be made: {data}")
    return str(data["selection"]["selection"])


def view_of(ctx: Context, answer: Mapping[str, Any]) -> View:
    return ctx.views.selection(answer, ctx.fake.stock, ctx.shopper.language)


def current(ctx: Context, selection: str | None) -> Callable[..., View | None]:
    """``selection`` as it is when the field is resolved (the last valid state)."""

    def resolve(info: Any, voucherMode: str = "LINES") -> View | None:
        found = snapshot(ctx.fake, selection) if selection is not None else None
        return view_of(ctx, found) if found is not None else None

    return resolve


def pricelist_of(ctx: Context, selection: str | None) -> str:
    found = snapshot(ctx.fake, selection) if selection is not None else None
    catalog = ctx.fake.catalog
    country = found["selection"]["country"] if found is not None else catalog.default_country
    return catalog.countries[country].pricelist


def payload(ctx: Context, status: int, data: Any, typename: str, selection: str | None) -> View:
    """A ``SelectionMutationPayload`` of a Shop API cart answer or refusal."""
    views = ctx.views
    if 200 <= status < 300:
        view = view_of(ctx, data)
        errors: list[View] = []
        if data.get("unavailable"):  # aggressive stock: part of it was left out
            pricelist = pricelist_of(ctx, view["id"])
            errors = views.user_errors(
                {"unavailable": data["unavailable"]}, pricelist, ctx.fake.stock
            )
        return {
            "__typename": typename,
            "selection": lambda info, voucherMode="LINES": view,
            "userErrors": errors,
        }
    errors = views.user_errors(data, pricelist_of(ctx, selection), ctx.fake.stock)
    return {"__typename": typename, "selection": current(ctx, selection), "userErrors": errors}


def refused(ctx: Context, typename: str, field: str, message: str) -> View:
    """A payload refusing without asking Centra (a value the fake cannot take)."""
    sel = ctx.shopper.open_selection
    problem = {"__typename": "UserErrorBase", "message": message, "path": [field]}
    return {"__typename": typename, "selection": current(ctx, sel), "userErrors": [problem]}


def change(ctx: Context, method: str, suffix: str, body: Any = None, typename: str = "") -> View:
    sel = open_selection(ctx)
    status, data = shop(ctx, method, f"/selections/{segment(sel)}{suffix}", body)
    return payload(ctx, status, data, typename or "GenericSelectionMutationPayload", sel)


def segment(value: object) -> str:
    # A String may hold a lone surrogate (JSON allows it): quoted as its bytes, the path names
    # what Centra does not have, and the Shop API refuses it as it refuses any unknown id.
    return quote(str(value), safe="", errors="surrogatepass")


def shop_address(given: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A Storefront ``AddressInput`` as the Shop API's address."""
    if given is None:
        return None
    pairs = {
        "email": given.get("email"),
        "firstName": given.get("firstName"),
        "lastName": given.get("lastName"),
        "company": given.get("companyName"),
        "address1": given.get("address1"),
        "address2": given.get("address2"),
        "zipCode": given.get("zipCode"),
        "city": given.get("city"),
        "state": given.get("stateOrProvince") or given.get("state"),
        "country": given.get("country"),
        "phoneNumber": given.get("phoneNumber") or given.get("cellPhoneNumber"),
        "vatNumber": given.get("vatNumber"),
    }
    return {k: v for k, v in pairs.items() if v is not None}


def addresses(shipping: Any, billing: Any) -> dict[str, Any]:
    """The Shop API's ``address`` (billing) and ``shippingAddress`` (only when they differ)."""
    if billing is None:
        return {"address": shop_address(shipping), "shippingAddress": None}
    return {"address": shop_address(billing), "shippingAddress": shop_address(shipping)}
