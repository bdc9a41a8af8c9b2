"""``FakeCentra``: an in-memory Centra that speaks the Shop API dialect of ``shop_api`` and
Centra's Checkout API, over one shared state.

Its whole behaviour is two methods, ``serve_shop_api(method, path, body, headers) -> Answer``
and ``serve_checkout_api(...)`` (``status, body`` as it unpacks; ``answer``), answering with
Centra's status codes and JSON bodies (plain dicts), so it can be served over HTTP unchanged
(``server``). A selection made in either dialect is the same selection: the Checkout API's
session tokens (``sessions``) stand for the fake's selections. It also implements the
``Transport`` port in process: ``send(call)`` builds the call's request with the Shop API
dialect, passes it to ``serve_shop_api`` and decodes the answer with the request's decoder,
exactly as the HTTP clients do, without a JSON round trip. What each endpoint does is
``state``'s (the Checkout API's: ``checkout_api``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from orderflow.adapters.fake import bodies
from orderflow.adapters.fake.answer import Answer, GzipBomb, Huge, LostAnswer, RequestKind
from orderflow.adapters.fake.cart import OrderStatus
from orderflow.adapters.fake.catalog import Catalog
from orderflow.adapters.fake.checkout_api import CheckoutApi
from orderflow.adapters.fake.pricing import VouchersAs
from orderflow.adapters.fake.sessions import Sessions
from orderflow.adapters.fake.state import HANDLERS, CentraState, Refused
from orderflow.adapters.fake.stock import StockMode
from orderflow.adapters.fake.webhooks import WebhookSender
from orderflow.adapters.http import table
from orderflow.adapters.shop_api import dialect
from orderflow.calls import Call
from orderflow.clock import SystemClock
from orderflow.errors import (
    CentraUnavailable,
    FieldProblem,
    OrderflowError,
    OutcomeUnknown,
    PayloadError,
)
from orderflow.ports import Clock

T = TypeVar("T")


class Faults(Protocol):
    """Where fault injection plugs into ``serve_shop_api``; ``faults.FaultPlan`` is the seeded
    implementation.

    ``kind`` is the request's ``RequestKind``. ``before`` runs before the fake acts (outside its
    lock) and may answer instead, sleep, or raise ``LostAnswer``; ``after`` sees the answer after
    the fake acted and may replace it or raise ``LostAnswer``. Either may return a plain
    ``(status, body)`` tuple or an ``Answer`` (with headers, exact content or a wire fault).
    """

    def before(
        self, kind: RequestKind, method: str, path: str, body: Any
    ) -> tuple[int, Any] | None:
        """An answer to give instead of acting, or ``None`` to act normally."""
        ...

    def after(self, kind: RequestKind, status: int, body: Any) -> tuple[int, Any] | None:
        """An answer to give instead of the real one (the fake has acted), or ``None``."""
        ...


class FakeCentra(CentraState):
    """An in-memory Centra (Shop API and Checkout API): catalog, stock, prices, tax, vouchers,
    shipping, payments.

    ``calls`` counts requests by ``CallKind`` (a request no call makes, such as the receipt
    read, under its route name, ``"read_receipt"``); ``orders`` maps each selection that became
    an order to its receipt, ``statuses`` each order number to its back-office status (Hold,
    Waiting for Payment); ``stock`` is what is left of each item; ``sessions`` the Checkout
    API's session tokens and the selection each stands for. Thread-safe. ``send`` raises the
    core errors that ``shop_api`` decodes from its answers.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        stock: Mapping[str, int] | None = None,
        *,
        api_key: str | None = None,
        client_api_key: str | None = None,
        clock: Clock | None = None,
        first_order: int = 588,
        faults: Faults | None = None,
        stock_mode: StockMode = "standard",
        vouchers_as: VouchersAs = "list",
        autoconfirm: bool = False,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhooks: WebhookSender | None = None,
        rotate_tokens: bool = False,
    ):
        """``stock`` defaults to 100 of every item; ``api_key`` makes ``serve_shop_api`` require it
        in ``API-Authorization``; ``client_api_key`` is what the in-process ``Transport`` sends
        (default: ``api_key``).

        Centra's store settings: ``stock_mode`` its overselling prevention (``"off"``,
        ``"standard"``, ``"aggressive"``; see ``stock``); ``vouchers_as`` how order-level
        ``discounts`` come (the seed's ``"list"``, or newer instances' ``"object"``);
        ``autoconfirm`` makes new orders ``progress``/``Confirmed`` instead of
        ``untouched``/``Pending``. ``webhook_url`` (with the optional endpoint secret
        ``webhook_secret``) sends Centra's signed order webhooks there; ``webhooks`` is a
        ``WebhookSender`` built by the caller instead. ``rotate_tokens`` makes every Checkout
        API answer carry a new session token (Centra documents that a token may change on any
        answer); the old one lasts ``Sessions.grace`` more requests. The Checkout API's server
        side (``Authorization: Bearer``) takes ``api_key`` as its shared secret (any, without
        one). Raises ``ValueError`` for a bad option.
        """
        clock = clock or SystemClock()
        if webhook_url is not None:
            if webhooks is not None:
                raise ValueError("give webhook_url or webhooks, not both")
            webhooks = WebhookSender(webhook_url, webhook_secret, clock=clock)
        elif webhook_secret is not None:
            raise ValueError("webhook_secret needs a webhook_url")
        super().__init__(
            catalog or Catalog.seeded(),
            stock,
            clock,
            first_order,
            stock_mode=stock_mode,
            vouchers_as=vouchers_as,
            autoconfirm=autoconfirm,
            webhooks=webhooks,
        )
        self.api_key = api_key
        self.faults = faults
        key = client_api_key if client_api_key is not None else api_key
        self._headers = {dialect.API_KEY_HEADER: key} if key is not None else None
        self._lock = threading.RLock()
        self.sessions = Sessions(rotate=rotate_tokens)
        self._checkout_api_built: CheckoutApi | None = None

    @classmethod
    def seeded(cls, **kwargs: Any) -> FakeCentra:
        """The seed's shop (``Catalog.seeded()``): its flow gives the seed's receipt."""
        return cls(Catalog.seeded(), **kwargs)

    @property
    def webhooks(self) -> WebhookSender | None:
        """The sender of the fake's order webhooks, if it sends them."""
        return self.book.webhooks

    def close(self) -> None:
        """Send the webhooks still queued and stop their thread (nothing else needs closing)."""
        if self.book.webhooks is not None:
            self.book.webhooks.close()

    # --- what a payment provider's notification or a person in the back office does ----------

    def confirm_payment(self, order: str) -> OrderStatus:
        """The provider's notification that the payment completed: the order leaves Waiting for
        Payment (and the Hold that caused); an ``update`` webhook follows. Raises ``KeyError``
        for an order the fake does not have."""
        with self._lock:
            return self.book.confirm_payment(order)

    def clear_hold(self, order: str) -> OrderStatus:
        """Release every Hold on the order (a payment mismatch too); an ``update`` webhook
        follows. Raises ``KeyError`` for an order the fake does not have."""
        with self._lock:
            return self.book.clear_hold(order)

    # --- the server side ---------------------------------------------------------------------

    def serve_shop_api(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Answer one Shop API request (``path`` under the base) with Centra's status and body.

        The body is JSON-ready data that shares parts with the fake's state (stored orders,
        recently priced carts): read it, serialise it, or deep-copy it before changing it.
        Never raises for a bad request; that is an error answer, as Centra gives. Raises
        ``LostAnswer`` only when the ``faults`` say the answer is lost (a timeout); a carrier
        turns that into what its client would see.
        """
        found = dialect.match(method, path)
        if found is None:
            return Answer(404, {"errors": {"path": f"no endpoint {method} {path}"}})
        route, params = found
        if body is not None and type(body) is not dict and not isinstance(body, Mapping):
            return Answer(400, {"errors": {"body": "must be a JSON object"}})
        unusable = bodies.problems(body)
        if unusable:
            return Answer(400, {"errors": unusable})
        kind, handler = HANDLERS[route]
        with self._lock:
            self.calls[kind] += 1
        # Outside the lock: injected latency must not hold up other requests.
        if self.faults is not None:
            injected = self.faults.before(kind, method, path, body)
            if injected is not None:
                return Answer.of(injected)
        with self._lock:
            if self.api_key is not None and not self._authorized(headers):
                return Answer(401, {"errors": {dialect.API_KEY_HEADER: "not valid"}})
            problems = bodies.field_problems(kind, body)
            try:
                if problems:
                    raise Refused(400, {"errors": problems})
                answer = handler(self, params, body)
            except Refused as refused:
                answer = refused.answer
        if self.faults is not None:
            replaced = self.faults.after(kind, *answer)
            return answer if replaced is None else Answer.of(replaced)
        return answer

    def selection_answer(self, selection: str) -> dict[str, Any] | None:
        """The Shop API answer of ``selection`` as it is now, without a request: not counted,
        never faulted (what the other dialects show beside their errors: the last valid
        state). ``None`` for a selection the fake does not have."""
        with self._lock:
            cart = self._selections.get(selection)
            return None if cart is None else self._selection_answer(cart)

    def serve_checkout_api(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Answer one Checkout API request (``path`` under its base, ``/api/checkout``) with
        Centra's status, body and headers; the session is the request's ``API-token`` header
        (see ``checkout_api``).

        As ``serve_shop_api``: the body shares parts with the fake's state; never raises for
        a bad request; raises ``LostAnswer`` only when the ``faults`` say the answer is lost.
        """
        return self._checkout_api.serve(method, path, body, headers)

    @property
    def _checkout_api(self) -> CheckoutApi:
        # Built on first use: most fakes (one per test) serve the Shop API only, and building
        # the Checkout API's renderers is about half of what ``FakeCentra()`` costs.
        api = self._checkout_api_built
        if api is None:
            with self._lock:
                api = self._checkout_api_built
                if api is None:
                    api = self._checkout_api_built = CheckoutApi(self, self._lock)
        return api

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """The newsletter sign-ups made over the Checkout API (a filled honeypot makes none)."""
        return self._checkout_api.state.subscriptions

    def _authorized(self, headers: Mapping[str, str] | None) -> bool:
        wanted = dialect.API_KEY_HEADER.lower()
        given = {k.lower(): v for k, v in (headers or {}).items()}.get(wanted)
        return given == self.api_key

    # --- the Transport port, in process --------------------------------------------------------

    def send(self, call: Call[T]) -> T:
        """See ``Transport.send``: the call as a Shop API request, answered and decoded.

        What an HTTP answer carries beyond status and JSON reaches the caller as an HTTP client
        reports it (``orderflow.adapters.http.table``): ``Retry-After`` becomes
        ``CentraUnavailable.retry_after``; a 2xx whose content is not JSON, a huge answer and
        a gzip bomb are unreadable (``OutcomeUnknown`` for a call that moves money, else
        ``PayloadError``); a drip arrives whole (there is no wire to trickle on).
        """
        request = dialect.request(call)
        try:
            answer = Answer.of(
                self.serve_shop_api(request.method, request.path, request.body, self._headers)
            )
        except LostAnswer as lost:  # what a client whose read timed out sees
            raise lost.to_error(request.route.label) from None
        label = request.route.label
        status, body = answer
        if isinstance(answer.wire, Huge | GzipBomb):
            size = answer.wire.size
            raise _unreadable(label, call, f"an answer of {size} bytes, more than a client reads")
        if answer.content is not None:
            try:
                body = json.loads(answer.content) if answer.content else None
            except ValueError:
                if 200 <= status < 300:
                    start = answer.content[:40].decode("utf-8", "replace")
                    raise _unreadable(label, call, f"HTTP {status}, not JSON: {start!r}") from None
                body = None  # an error status speaks for itself
        try:
            return request.decode(status, body)
        except CentraUnavailable as error:
            headers = answer.headers
            retry_after = table.retry_after(headers.get("Retry-After"), headers.get("Date"))
            if error.retry_after is not None or retry_after is None:
                raise
            raise CentraUnavailable(
                error.endpoint,
                error.reason,
                error.status,
                retry_after=retry_after,
                token=error.token,
            ) from None


def _unreadable(label: str, call: Call[Any], reason: str) -> OrderflowError:
    """An answer no client can read: unknown for a call that moves money, else malformed."""
    if call.moves_money:
        return OutcomeUnknown(label, reason)
    return PayloadError("answer", [FieldProblem("$", reason)], source=label)
