"""The seed's order flow: what the original order-flow page sent, as data the demo replays.

From ``shared/seed/payloads`` (``payment.request.json``, ``payment-result.request.json``):
the shopper's details for starting the payment and the Klarna answer posted to the payment
result. ``FakeCentra.seeded()`` answers this flow with the seed's receipt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from orderflow import codec
from orderflow.checkout import Checkout
from orderflow.payment import PaymentRequest
from orderflow.service import AsyncCheckoutService, CheckoutService

SEED_ITEM = "23-281"

SEED_PAYMENT_REQUEST: dict[str, Any] = {
    "paymentMethod": "klarna-playground",
    "paymentMethodSpecificFields": [],
    "paymentReturnPage": "http://localhost:3333/payment-status/",
    "paymentFailedPage": "http://localhost:3333/payment-fail/",
    "paymentMethodCallbackPage": "http://localhost:3333/payment-status/",
    "termsAndConditions": True,
    "consents": [],
    "address": {
        "firstName": "Maximillian",
        "email": "hhh@maximilliangeorge.com",
        "lastName": "George",
        "address1": "Dybecksv\u00e4gen 51",
        "address2": "",
        "city": "Stockholm",
        "zipCode": "16855",
        "country": "SE",
        "phoneNumber": "734444782",
        "password": "???",
        "loggedIn": True,
        "register": False,
    },
    "shippingAddress": None,
    "additionalFields": [],
    "customerClubFields": [],
    "internalOrder": False,
}

SEED_PAYMENT_FIELDS: dict[str, str] = {
    "centraPaymentMethod": "klarna-playground",
    "klarna_order": "bdf90ec3-0469-591f-85d4-57c5dca5fa00",
}


def seed_details() -> PaymentRequest:
    """The seed's payment request as the core type."""
    return codec.structure(SEED_PAYMENT_REQUEST, PaymentRequest, source="the seed")


def run_seed_flow(
    service: CheckoutService, on_step: Callable[[str, Checkout], None] | None = None
) -> Checkout:
    """Run the seed's flow from an empty cart to ``paid``; ``on_step`` sees each step's result."""
    details = seed_details()
    checkout = service.open()
    steps: list[tuple[str, Callable[[], Checkout]]] = [
        ("add_item", lambda: service.add_item(checkout.id, SEED_ITEM, 1)),
        ("confirm", lambda: service.confirm(checkout.id, details)),
        ("start_payment", lambda: service.start_payment(checkout.id)),
        ("complete_payment", lambda: service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)),
    ]
    if on_step is not None:
        on_step("open", checkout)
    for name, step in steps:
        checkout = step()
        if on_step is not None:
            on_step(name, checkout)
    return checkout


async def run_seed_flow_async(
    service: AsyncCheckoutService, on_step: Callable[[str, Checkout], None] | None = None
) -> Checkout:
    """``run_seed_flow`` for an ``AsyncCheckoutService``."""
    details = seed_details()
    checkout = await service.open()
    steps: list[tuple[str, Callable[[], Awaitable[Checkout]]]] = [
        ("add_item", lambda: service.add_item(checkout.id, SEED_ITEM, 1)),
        ("confirm", lambda: service.confirm(checkout.id, details)),
        ("start_payment", lambda: service.start_payment(checkout.id)),
        ("complete_payment", lambda: service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)),
    ]
    if on_step is not None:
        on_step("open", checkout)
    for name, step in steps:
        checkout = await step()
        if on_step is not None:
            on_step(name, checkout)
    return checkout
