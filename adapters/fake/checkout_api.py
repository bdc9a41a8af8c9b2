"""The fake's Checkout API front: ``CheckoutApi.serve(method, path, body, headers) -> Answer``
(``FakeCentra.serve_checkout_api``), routing each request under ``BASE_PATH`` to its handler
(``checkout_api_handlers``) with the request's session.

As Centra's Checkout API documents it (``docs/fidelity.md`` has the rows and the pages): every
answer's body has ``token``, sent back as the header ``API-token`` (or, on a GET,
``Accept: */*; api-token=<token>``); a request without one starts a session, and so does one
whose token is unknown or has expired; ``API-token: none`` keeps no state and answers no token
(for caching the catalog); ``X-Correlation-ID`` is echoed; ``Authorization: Bearer <secret>``
makes a request server side, which unlocks ``countries/all``, ``markets``, ``pricelists``,
``PUT selection`` and the price list or market of a catalog request; a path may name the plugin
(``/api/checkout/<pluginId>/...``).

The fake's choices: the shared secret is the fake's ``api_key`` (any bearer is accepted
without one, as the Shop API's fake takes any key); a bearer that is not the secret answers 401
``{"errors": {"Authorization": "not valid"}}``, a server-side call without one 403
``{"errors": {"accessRight": "denied"}}``; every origin is allowed, with the CORS headers a
browser needs (``Authorization`` is not among the allowed headers, so a browser's server-side
call fails its preflight, as documented); with ``rotate_tokens`` every answer carries a new
token, and the one it replaces works for ``Sessions.grace`` more requests, each answered with
the newest token.

``calls`` counts each request by the ``CallKind`` of the call it corresponds to (``POST
items/...`` is ``add_item``, ``PUT payment-fields`` ``set_checkout_fields``; a session's first
selection counts ``create_selection`` once), or by its route's name; faults see the same kind.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

import attrs

from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.answer import Answer, RequestKind
from orderflow.adapters.fake.carts import Refused
from orderflow.adapters.fake.checkout_api_catalog import ACCESS_DENIED, Visit
from orderflow.adapters.fake.checkout_api_handlers import CheckoutApiState
from orderflow.calls import CallKind

if TYPE_CHECKING:
    from orderflow.adapters.fake.centra import FakeCentra

__all__ = ["BASE_PATH", "ROUTES", "CheckoutApi", "Route"]

BASE_PATH: Final = "/api/checkout"
TOKEN_HEADER: Final = "API-token"
CORRELATION_HEADER: Final = "X-Correlation-ID"

EndpointHandler = Callable[[CheckoutApiState, Visit, dict[str, str], Any], Answer]

_S = CheckoutApiState


@attrs.frozen
class Route:
    """One Checkout API endpoint: method, path template (under the base), what ``calls``
    counts it as, its handler, and whether only the server side may call it."""

    method: str
    template: str
    kind: RequestKind
    handler: EndpointHandler = attrs.field(repr=False)
    server_side: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression; each ``{name}`` is one path segment."""
        return _pattern(self.template)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/selection", CallKind.READ_SELECTION, _S.read_selection),
    Route("PUT", "/selection", "set_selection", _S.set_selection, server_side=True),
    Route("PUT", "/selection/{selection}", "recover_selection", _S.recover_selection),
    Route("POST", "/items/{item}", CallKind.ADD_ITEM, _S.add_item),
    Route("POST", "/items/{item}/quantity/{quantity}", CallKind.ADD_ITEM, _S.add_item),
    Route("POST", "/lines/{line}/quantity/{quantity}", CallKind.SET_QUANTITY, _S.increase_line),
    Route("PUT", "/lines/{line}/quantity/{quantity}", CallKind.SET_QUANTITY, _S.set_quantity),
    Route("DELETE", "/lines/{line}/quantity/{quantity}", CallKind.SET_QUANTITY, _S.decrease_line),
    Route("DELETE", "/lines/{line}", CallKind.REMOVE_LINE, _S.remove_line),
    Route("POST", "/vouchers", CallKind.APPLY_VOUCHER, _S.apply_voucher),
    Route("POST", "/vouchers/{code}", CallKind.APPLY_VOUCHER, _S.apply_voucher),
    Route("DELETE", "/vouchers", CallKind.REMOVE_VOUCHER, _S.remove_voucher),
    Route("DELETE", "/vouchers/{code}", CallKind.REMOVE_VOUCHER, _S.remove_voucher),
    Route("PUT", "/countries/{country}", CallKind.SET_COUNTRY, _S.set_country),
    Route("PUT", "/countries/{country}/states/{state}", CallKind.SET_COUNTRY, _S.set_country),
    Route("PUT", "/languages/{language}", "set_language", _S.set_language),
    Route("PUT", "/shipping-methods/{method}", "set_shipping_method", _S.set_shipping_method),
    Route("PUT", "/payment-methods/{method}", "set_payment_method", _S.set_payment_method),
    Route("PUT", "/payment-fields", CallKind.SET_CHECKOUT_FIELDS, _S.set_payment_fields),
    Route("POST", "/payment", CallKind.START_PAYMENT, _S.start_payment),
    Route("POST", "/payment-result", CallKind.PAYMENT_RESULT, _S.payment_result),
    Route("GET", "/receipt", "read_receipt", _S.read_receipt),
    Route("GET", "/languages", "languages", _S.languages),
    Route("GET", "/countries", "countries", _S.countries),
    Route("GET", "/countries/all", "all_countries", _S.all_countries, server_side=True),
    Route("GET", "/markets", "markets", _S.markets, server_side=True),
    Route("GET", "/pricelists", "pricelists", _S.pricelists, server_side=True),
    Route("GET", "/categories", "categories", _S.categories),
    Route("POST", "/categories", "categories", _S.categories),
    Route("POST", "/products", "products", _S.products),
    Route("GET", "/products/{product}", "product", _S.product),
    Route("POST", "/uri", "uri", _S.uri),
    Route("POST", "/newsletter-subscription", "newsletter_subscription", _S.subscribe),
    Route("POST", "/newsletter-subscription/{email}", "newsletter_subscription", _S.subscribe),
)
"""Every endpoint the fake's Checkout API serves (``docs/fidelity.md`` has the table)."""

_CORS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": f"{TOKEN_HEADER}, Content-Type, Accept, {CORRELATION_HEADER}",
    "Access-Control-Max-Age": "600",
}
_PLUGIN = re.compile(r"/[0-9]+(?=/)")


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of a request (``path`` under the base, percent-encoded as sent) and its
    decoded parameters; ``None`` when there is none."""
    path = path.rstrip("/") or "/"
    for candidate in (path, _PLUGIN.sub("", path, count=1)):
        for route in ROUTES:
            found = route.pattern.fullmatch(candidate) if route.method == method else None
            if found is not None:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


class CheckoutApi:
    """The Checkout API of one ``FakeCentra``: its sessions (``fake.sessions``) over the
    fake's state, under the fake's ``lock``. ``state`` holds the endpoints."""

    def __init__(self, fake: FakeCentra, lock: threading.RLock):
        self.fake = fake
        self.state = CheckoutApiState(fake, fake.sessions)
        self._lock = lock
        self._newer: dict[str, str] = {}  # a rotated token -> the one that replaced it

    def serve(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """See ``FakeCentra.serve_checkout_api``."""
        given = {k.lower(): v for k, v in (headers or {}).items()}
        echoed = _echoed(given)
        if method == "OPTIONS":  # a browser's CORS preflight
            return Answer(204, None, {**echoed, **_CORS}, content=b"")
        found = match(method, path)
        if found is None:
            return Answer(404, {"errors": {"path": f"no endpoint {method} {path}"}}, echoed)
        route, params = found
        with self._lock:
            self.fake.calls[route.kind] += 1
            visit = self._visit(given)
        faults = self.fake.faults
        if faults is not None:  # outside the lock: injected latency holds up no one else
            injected = faults.before(route.kind, method, path, body)
            if injected is not None:
                with self._lock:
                    return _framed(Answer.of(injected), self._answer_token(visit), echoed)
        with self._lock:
            answer = self._answer(route, params, body, visit, given)
            token = self._answer_token(visit)
        answer = _framed(answer, token, echoed)
        if faults is not None:
            replaced = faults.after(route.kind, *answer)
            if replaced is not None:
                return _framed(Answer.of(replaced), token, echoed)
        return answer

    def _visit(self, given: Mapping[str, str]) -> Visit:
        token = given.get(TOKEN_HEADER.lower()) or _accepted_token(given.get("accept", ""))
        if token is not None and token.strip().lower() == "none":
            return Visit(None)
        if token is not None and self.fake.sessions.known(token):
            selection = self.fake.sessions.selection_of(token)  # one more use of an old one
            if self.fake.sessions.known(token):
                return Visit(token, selection)
        self._newer.pop(token or "", None)
        return Visit(self.fake.sessions.start(), fresh=True)

    def _answer_token(self, visit: Visit) -> str | None:
        if visit.token is None or visit.fresh:
            return visit.token
        if visit.token in self._newer:  # superseded: answered with the newest, once more
            newest = visit.token
            while newest in self._newer:
                newest = self._newer[newest]
                self._share_selection(newest, visit.selection)
            return newest
        fresh = self.fake.sessions.answer_token(visit.token)
        if fresh != visit.token:
            self._newer[visit.token] = fresh
        return fresh

    def _share_selection(self, token: str, selection: str | None) -> None:
        """A selection made with a superseded token is the session's: each live token that
        replaced it, and has none yet, stands for it too (else the newest token, the one the
        answer names, would stand for an empty cart)."""
        sessions = self.fake.sessions
        if selection is not None and sessions.known(token) and sessions.bound(token) is None:
            sessions.bind(token, selection)

    def _answer(
        self,
        route: Route,
        params: dict[str, str],
        body: Any,
        visit: Visit,
        given: Mapping[str, str],
    ) -> Answer:
        bearer = given.get("authorization")
        if bearer is not None:
            scheme, _, secret = bearer.strip().partition(" ")
            key = self.fake.api_key
            if scheme.lower() != "bearer" or (key is not None and secret.strip() != key):
                return Answer(401, {"errors": {"Authorization": "not valid"}})
            visit.server_side = True
        if route.server_side and not visit.server_side:
            return Answer(403, dict(ACCESS_DENIED))
        if body is not None and not isinstance(body, Mapping):
            return Answer(400, {"errors": {"body": "must be a JSON object"}})
        unusable = bodies.problems(body)
        if unusable:
            return Answer(400, {"errors": unusable})
        try:
            return route.handler(self.state, visit, params, body)
        except Refused as refused:
            return self.state.reshaped(visit, refused.answer)


def _framed(answer: Answer, token: str | None, echoed: Mapping[str, str]) -> Answer:
    """``answer`` with the session's token first in its body (an answer that is not a JSON
    object, such as an injected malformed one, stays as it is) and the echoed headers."""
    body = answer.body
    if token is not None and answer.content is None and isinstance(body, Mapping):
        body = {"token": token, **{k: v for k, v in body.items() if k != "token"}}
    headers = {**echoed, **answer.headers}
    return Answer(answer.status, body, headers, answer.content, answer.wire)


def _echoed(given: Mapping[str, str]) -> dict[str, str]:
    """The headers every answer carries back: the correlation id, and CORS for a browser."""
    echoed = {}
    correlation = given.get(CORRELATION_HEADER.lower())
    if correlation is not None:
        echoed[CORRELATION_HEADER] = correlation
    origin = given.get("origin")
    if origin is not None:
        echoed["Access-Control-Allow-Origin"] = origin
        echoed["Access-Control-Expose-Headers"] = CORRELATION_HEADER
        echoed["Vary"] = "Origin"
    return echoed


def _accepted_token(accept: str) -> str | None:
    """The token of ``Accept: */*; api-token=<token>`` (it must be ``=``, not ``:``)."""
    for part in accept.split(";")[1:]:
        name, equals, value = part.strip().partition("=")
        if equals and name.strip().lower() == "api-token" and value.strip():
            return value.strip()
    return None


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)))
