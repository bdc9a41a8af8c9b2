"""The Checkout API's endpoints that need no selection: the catalog and the shop's settings
(``CatalogEndpoints``, rendered by ``browse``), the newsletter sign-up, and what every endpoint
shares: the request's session (``Visit``), the Shop API's handlers of the one shared state
(``shop``), and the session's country and language. ``checkout_api_handlers.CheckoutApiState``
adds the selection's endpoints.

As documented: the catalog is priced in the session's country's price list; the server side
may ask for another (``pricelist``, or ``"all"``) or a market; ``newsletter-subscription``
takes the email in the path or the body, and ignores a sign-up whose honeypot ``email_field``
is filled. The fake's choices (``docs/fidelity.md``): a market names its first price list when
the session's is not in it; a mangled email answers 400 ``{"errors": {"email": "Expected type
e-mail"}}`` (the message the front-end page quotes); a sign-up answers ``{token}`` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from orderflow.adapters.fake.answer import Answer, RequestKind
from orderflow.adapters.fake.browse import FLAGS, LISTS, SORTABLE, Prices, texts
from orderflow.adapters.fake.carts import Refused, refuse
from orderflow.adapters.fake.checkout_api_rendering import CheckoutRenderer
from orderflow.adapters.fake.sessions import Sessions
from orderflow.adapters.fake.state import HANDLERS, CentraState, Handler
from orderflow.calls import CallKind

__all__ = ["ACCESS_DENIED", "CatalogEndpoints", "Visit"]

ACCESS_DENIED = {"errors": {"accessRight": "denied"}}
"""The documented refusal of a call the session may not make (user-accounts page)."""

_SHOP: Mapping[RequestKind, Handler] = {kind: handler for kind, handler in HANDLERS.values()}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@attrs.define
class Visit:
    """One request's session: its ``token`` (``None`` for ``API-token: none``: no session),
    the ``selection`` it stands for (``None`` until one is made), whether the request is
    ``server_side`` (a valid ``Authorization: Bearer``), and whether the session is ``fresh``
    (started by this request)."""

    token: str | None
    selection: str | None = None
    server_side: bool = False
    fresh: bool = False


class CatalogEndpoints:
    """The catalog's and the settings' endpoints over a fake's state; each takes the request's
    ``Visit``, the path's parameters and the body, and answers without the token (the front
    adds it) or raises ``Refused``. ``subscriptions`` lists the newsletter sign-ups."""

    def __init__(self, state: CentraState, sessions: Sessions):
        self.state = state
        self.sessions = sessions
        self.render = CheckoutRenderer(state.catalog)
        self.subscriptions: list[dict[str, Any]] = []

    def languages(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET languages``: the shop's languages, by name."""
        return Answer(200, {"languages": self.render.browse.languages()})

    def countries(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET countries``: the countries shipped to."""
        return Answer(200, {"countries": self.render.browse.countries()})

    def all_countries(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET countries/all`` (server side): every country, each with ``shipTo``."""
        return Answer(200, {"countries": self.render.browse.countries(every=True)})

    def markets(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET markets`` (server side)."""
        return Answer(200, {"markets": self.render.browse.markets()})

    def pricelists(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET pricelists`` (server side)."""
        return Answer(200, {"pricelists": self.render.browse.pricelists()})

    def categories(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET|POST categories``: every category, in the back office's order."""
        return Answer(200, {"categories": self.render.browse.categories()})

    def products(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST products``: a search, filtered, sorted and paged."""
        query = dict(body or {})
        prices = self._prices(visit, query.pop("pricelist", None), query.pop("market", None))
        _check(query, _query_problems(query))
        return Answer(200, self.render.browse.search(query, prices, self.state.stock))

    def product(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``GET products/{product}``: one product, in the ``products`` wrapper."""
        if not self.render.browse.has_product(params["product"]):
            raise refuse(404, product="not found")
        query = {"products": [params["product"]]}
        prices = self._prices(visit, None, None)
        return Answer(200, self.render.browse.search(query, prices, self.state.stock))

    def uri(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST uri``: the product or category at a URI."""
        _check(body or {}, {})
        prices = self._prices(visit, None, None)
        return Answer(200, self.render.browse.find_uri(body or {}, prices, self.state.stock))

    def subscribe(self, visit: Visit, params: dict[str, str], body: Any) -> Answer:
        """``POST newsletter-subscription[/{email}]``: a newsletter sign-up."""
        data: Mapping[str, Any] = body or {}
        email = params.get("email", data.get("email"))
        if not isinstance(email, str) or not _EMAIL.fullmatch(email):
            raise refuse(400, email="Expected type e-mail")
        catalog = self.state.catalog
        country = data.get("country")
        if country is not None and str(country).upper() not in catalog.countries:
            raise refuse(400, country="not found")
        language = self.language(data.get("language"))
        product, item = data.get("product"), data.get("item")
        if product is not None and not self.render.browse.has_product(str(product)):
            raise refuse(400, product="not found")
        if item is not None and str(item) not in catalog.items:
            raise refuse(400, item="product item not found")
        if not data.get("email_field"):  # a filled honeypot is ignored, and looks the same
            country = str(country).upper() if country is not None else None
            signed = {"email": email, "country": country, "language": language}
            self.subscriptions.append({**signed, "product": product, "item": item})
        return Answer(200, {})

    # --- what every endpoint shares ------------------------------------------------------------

    def shop(self, kind: RequestKind, selection: str, body: Any = None, **params: str) -> Answer:
        """The Shop API's answer of ``kind`` about ``selection``. Raises ``Refused``."""
        return _SHOP[kind](self.state, {"selection": selection, **params}, body)

    def country(self, selection: str) -> str:
        """The country ``selection`` is in now."""
        return self.country_in(self.shop(CallKind.READ_SELECTION, selection).body)

    def country_in(self, body: Mapping[str, Any]) -> str:
        """The country of a Shop API answer: its selection's, or its order's address's."""
        cart = body.get("selection")
        if isinstance(cart, Mapping):
            return str(cart["country"])
        address = body.get("address")
        country = address.get("country") if isinstance(address, Mapping) else None
        known = country in self.state.catalog.countries
        return str(country) if known else self.state.catalog.default_country

    def language(self, language: Any) -> str | None:
        """``language`` checked against the shop's (``None`` stays ``None``). Raises
        ``Refused`` (400 ``language: not found``)."""
        if language is None:
            return None
        if not isinstance(language, str) or not self.render.browse.knows_language(language):
            raise refuse(400, language="not found")
        return language

    def _prices(self, visit: Visit, pricelist: Any, market: Any) -> Prices:
        """The price list a catalog answer shows: the session's country's, or (server side)
        the one asked for, ``"all"``, or the market's."""
        catalog = self.state.catalog
        if (pricelist is not None or market is not None) and not visit.server_side:
            raise Refused(403, dict(ACCESS_DENIED))
        country = self.country(visit.selection) if visit.selection else catalog.default_country
        own = catalog.pricelist(country)
        if pricelist == "all":
            return "all"
        if pricelist is not None:
            found = catalog.pricelists.get(str(pricelist))
            if found is None:
                raise refuse(400, pricelist="not found")
            return found
        if market is not None and str(market) != own.market:
            of_market = [p for p in catalog.pricelists.values() if p.market == str(market)]
            if not of_market:
                raise refuse(400, market="not found")
            return of_market[0]
        return own


def _check(query: Mapping[str, Any], problems: dict[str, str]) -> None:
    """Refuse (400) a catalog request whose paging or filters (``problems``) are of the wrong
    type, each named with its problem."""
    for key in ("limit", "skipFirst"):
        value = query.get(key)
        if value is not None and (type(value) is not int or value < 0):
            problems[key] = "must be a whole number of at least 0"
    if problems:
        raise Refused(400, {"errors": problems})


def _query_problems(query: Mapping[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for key in FLAGS:
        if query.get(key) is not None and not isinstance(query[key], bool):
            problems[key] = "must be true or false"
    if query.get("search") is not None and not isinstance(query["search"], str):
        problems["search"] = "must be text"
    for key, value in query.items():
        filtered = key in LISTS or key.startswith("swatch.") or key == "silkProduct"
        if filtered and value is not None and texts(value) is None:
            problems[key] = "must be a list of ids or texts"
    uri = query.get("uri")
    if uri is not None and not (isinstance(uri, Mapping) and isinstance(uri.get("uri"), str)):
        problems["uri"] = 'must be {"uri": ..., "for": [...]}'
    order = query.get("sortOrder")
    if order is not None and not (isinstance(order, list) and all(map(_sorts, order))):
        problems["sortOrder"] = f"a list of {{field, order}}; field one of {', '.join(SORTABLE)}"
    return problems


def _sorts(rule: Any) -> bool:
    return (
        isinstance(rule, Mapping)
        and rule.get("field") in SORTABLE
        and rule.get("order", "asc") in ("asc", "desc")
    )
