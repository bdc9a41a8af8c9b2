"""Centra's order webhooks, routed to their checkouts through the service's locked paths.

Centra's webhook events carry a type and an id, not the object (``{"events": [{"type":
"order", "action": "update", "id": 2735}]}``): the receiver finds the checkout of each order
(or selection) in the store and asks Centra itself, through the same claim and marker as the
shopper's return: a checkout still waiting for its order (or cancelled: a provider can
complete a payment the shopper left) is reconciled, a paid one has its order read again (a
Hold cleared, the payment confirmed). An event about an order no stored checkout knows is
ignored: it is another channel's order.

``asgi_app(receiver)`` serves a receiver as a plain ASGI app to mount in a service: it answers
200 once every event was handled, 401 for a rejected signature (Centra does not retry those
usefully), 503 when Centra could not say (Centra retries a webhook up to three times), 405 for
anything but POST, 413 for a body over the limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

import attrs

from orderflow.adapters.webhooks.signature import (
    DEFAULT_TOLERANCE,
    MAX_BODY,
    SIGNATURE_HEADER,
    WebhookRejected,
    check_tolerance,
    verify_signature,
)
from orderflow.checkout import Checkout
from orderflow.errors import OrderflowError
from orderflow.flow import State
from orderflow.ports import Store
from orderflow.service import AsyncCheckoutService, CheckoutService

log = logging.getLogger("orderflow.adapters.webhooks")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


@attrs.frozen
class OrderEvent:
    """One event of a webhook about an order: its ``action`` and the order's or selection's id."""

    action: str
    order: str | None = None
    selection: str | None = None


def order_events(payload: Mapping[str, Any]) -> list[OrderEvent]:
    """The order events of a verified payload, in order (other types are not ours to handle)."""
    events = payload.get("events")
    if not isinstance(events, list):
        raise WebhookRejected("the payload has no events list")
    found: list[OrderEvent] = []
    for event in events:
        if not isinstance(event, Mapping) or event.get("type") not in ("order", "selection"):
            continue
        ident = _ident(event.get("id"))
        if ident is None:
            raise WebhookRejected(f"an event's id is not an order number: {event.get('id')!r:.40}")
        action = str(event.get("action", "update"))
        if event["type"] == "order":
            selection = event.get("selection")
            known = _ident(selection) if selection else None
            if selection and known is None:
                raise WebhookRejected(f"an event's selection is not an id: {selection!r:.40}")
            found.append(OrderEvent(action, ident, known))
        else:
            found.append(OrderEvent(action, None, ident))
    return found


MAX_ID = 128
"""The longest order or selection id an event may carry (Centra's are far shorter)."""


def _ident(value: Any) -> str | None:
    """An event's ``id`` or ``selection`` as text: a whole number, or text of 1 to ``MAX_ID``
    printable characters that UTF-8 can encode (a store can look it up); else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if -(10**MAX_ID) < value < 10**MAX_ID else ""
    elif isinstance(value, str):
        text = value
    else:
        return None
    if not 0 < len(text) <= MAX_ID or not text.isprintable():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escape can carry
        return None
    return text


class WebhookReceiver:
    """Verifies Centra's webhooks and settles the checkouts they are about.

    ``receive(body, signature)`` returns the checkouts it moved. Raises ``WebhookRejected``
    for a bad signature or payload, and the service's errors (``OutcomeUnknown`` when Centra
    cannot say yet; answer so that Centra sends the webhook again).
    """

    def __init__(
        self,
        service: CheckoutService,
        secret: str | bytes,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        now: Callable[[], datetime] | None = None,
    ):
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        check_tolerance(tolerance)
        self.service = service
        self._secret = secret
        self._tolerance = tolerance
        self._now = now

    def receive(self, body: bytes, signature: str | None) -> list[Checkout]:
        """Verify ``body`` against ``signature`` and settle each event's checkout."""
        moment = self._now() if self._now is not None else None
        payload = verify_signature(
            body, signature, self._secret, now=moment, tolerance=self._tolerance
        )
        moved: list[Checkout] = []
        for event in order_events(payload):
            for checkout in _checkouts(self.service.store, event):
                if checkout.state is State.PAID:
                    moved.append(self.service.refresh_order(checkout.id))
                else:  # cancelled too: an order Centra made is kept wherever it lands
                    moved.append(self.service.reconcile(checkout.id))
        return moved


class AsyncWebhookReceiver:
    """``WebhookReceiver`` for an ``AsyncCheckoutService``: ``await receive(body, signature)``."""

    def __init__(
        self,
        service: AsyncCheckoutService,
        secret: str | bytes,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        now: Callable[[], datetime] | None = None,
    ):
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        check_tolerance(tolerance)
        self.service = service
        self._secret = secret
        self._tolerance = tolerance
        self._now = now

    async def receive(self, body: bytes, signature: str | None) -> list[Checkout]:
        """See ``WebhookReceiver.receive``."""
        moment = self._now() if self._now is not None else None
        payload = verify_signature(
            body, signature, self._secret, now=moment, tolerance=self._tolerance
        )
        moved: list[Checkout] = []
        store = self.service.store
        for event in order_events(payload):
            found: list[Checkout] = []
            if event.order is not None:
                found += await store.find(order=event.order, limit=10)
            if event.selection is not None:
                found += await store.find(selection=event.selection, limit=10)
            for checkout in _unique(found, event):
                if checkout.state is State.PAID:
                    moved.append(await self.service.refresh_order(checkout.id))
                else:  # cancelled too: an order Centra made is kept wherever it lands
                    moved.append(await self.service.reconcile(checkout.id))
        return moved


def _checkouts(store: Store, event: OrderEvent) -> list[Checkout]:
    found: list[Checkout] = []
    if event.order is not None:
        found += store.find(order=event.order, limit=10)
    if event.selection is not None:
        found += store.find(selection=event.selection, limit=10)
    return _unique(found, event)


def _unique(found: list[Checkout], event: OrderEvent) -> list[Checkout]:
    seen = {checkout.id: checkout for checkout in found}
    if not seen:
        log.info("webhook %s event for an order no checkout knows; ignored", event.action)
    return list(seen.values())


def asgi_app(receiver: WebhookReceiver | AsyncWebhookReceiver) -> ASGIApp:
    """A plain ASGI app that feeds POSTed webhooks to ``receiver`` (see the module's doc)."""

    async def app(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "POST a Centra webhook here"})
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _answer(send, 413, {"error": f"the body is over {MAX_BODY} bytes"})
                return
            if not message.get("more_body", False):
                break
        signature = _header(scope, SIGNATURE_HEADER)
        try:
            if isinstance(receiver, AsyncWebhookReceiver):
                moved = await receiver.receive(bytes(body), signature)
            else:
                moved = await asyncio.to_thread(receiver.receive, bytes(body), signature)
        except WebhookRejected as rejected:
            await _answer(send, 401, {"error": rejected.reason})
            return
        except OrderflowError as error:
            log.warning("webhook not settled yet (%s); Centra will send it again", error)
            await _answer(send, 503, {"error": "not settled yet; send again"})
            return
        await _answer(send, 200, {"settled": [c.id for c in moved]})

    return app


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


async def _answer(send: Callable[[Message], Awaitable[None]], status: int, data: Any) -> None:
    content = json.dumps(data).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
