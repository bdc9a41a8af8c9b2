"""What a payment provider is to the fake Centra (``Provider``), and the Shop API's declines.

A provider's ``start`` returns the answer to ``POST .../payment`` (an action, or a decline) and
the stage the payment is in; its ``result`` checks the fields the provider posts back to the
return page (any JSON values, names unchanged) and says whether an order is placed and how.
``state`` runs the parts every provider shares (fields, stock, mismatches, the order itself);
``providers`` has each provider as Centra's plugin page for it documents it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from orderflow.adapters.fake.answer import Answer
from orderflow.adapters.fake.cart import Cart, PaymentSession
from orderflow.adapters.fake.catalog import PaymentOption
from orderflow.adapters.fake.pricing import PricedCart

DECLINED_MESSAGE = "Always Fail! Could not connect with payment method."
"""The message of a decline at start-payment, as the payment-flows page shows it."""


def declined(status: int, message: str, **extra: Any) -> Answer:
    """The Shop API's decline: ``{"errors": {"paymentMethod": "failed"}, "messages": [...]}``."""
    return Answer(status, {**extra, "messages": [message], "errors": {"paymentMethod": "failed"}})


def result_declined(message: str = "The payment was not confirmed by the provider.") -> Answer:
    """The payment result's generic refusal (payment-flows): ``message``, ``messages`` and
    ``errors.paymentMethod = "failed"``; no status is documented, the fake answers 400."""
    return Answer(
        400, {"message": message, "messages": [message], "errors": {"paymentMethod": "failed"}}
    )


@attrs.frozen
class Start:
    """Starting a payment's outcome: ``answer`` (``None``: the order is placed now, a
    ``success`` action) and the session's ``stage`` (``None``: no payment is started)."""

    answer: Answer | None
    stage: str | None = "started"


@attrs.frozen
class Result:
    """A payment result's outcome: ``refusal`` to answer instead of an order (``keep``: the
    payment stays started, as a failed External Payment authorization does), else the order's
    answer ``status``, what the provider adds as ``paymentMethodData`` and whether the order
    waits for the provider's confirmation (Hold, Waiting for Payment)."""

    refusal: Answer | None = None
    keep: bool = True
    status: int = 200
    payment_method_data: Mapping[str, Any] | None = None
    waits_for_payment: bool = False


@attrs.frozen
class Starting:
    """What a provider is told when the payment starts."""

    cart: Cart
    option: PaymentOption
    body: Mapping[str, Any]
    reference: str
    previous: PaymentSession | None

    @property
    def return_page(self) -> str:
        """The shop's ``paymentReturnPage``."""
        return str(self.body.get("paymentReturnPage") or "")

    def back(self, **fields: str) -> str:
        """The return page with ``fields`` (and ``centraPaymentMethod``) in its query."""
        query = "&".join(
            f"{k}={v}"
            for k, v in (("centraPaymentMethod", self.option.payment_method), *fields.items())
        )
        joiner = "&" if "?" in self.return_page else "?"
        return f"{self.return_page}{joiner}{query}"


class Provider:
    """A payment provider as Centra's plugin for it behaves; the base is a dummy plugin that
    answers ``success`` and takes any payment result."""

    follows_cart: ClassVar[bool] = False
    """Centra pushes cart changes to the provider's session (no payment mismatch)."""
    cancels_on_stock: ClassVar[bool] = False
    """Aggressive overselling prevention checks stock at its payment result (Adyen, Stripe)."""
    verifies_address: ClassVar[bool] = False
    """The provider returns the address as it verified it (Klarna Checkout)."""

    def start(self, starting: Starting) -> Start:
        """The answer to ``POST .../payment``."""
        return Start(None)

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        """What the fields posted back to the return page lead to."""
        return Result()

    def plugin_fields(self, priced: PricedCart, cart: Cart) -> dict[str, Any] | None:
        """``selection.pluginFields`` while a payment of this provider is started."""
        return None
