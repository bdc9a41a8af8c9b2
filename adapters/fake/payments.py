"""The fake Centra's payment providers: how each answers starting a payment, and what its
payment result takes, as Centra's plugin pages document them (``PROVIDERS``, by
``PaymentOption.kind``).

A provider's ``start`` returns the answer to ``POST .../payment`` (an action, or a decline) and
the stage the payment is in; its ``result`` checks the fields the provider posts back to the
return page (any JSON values, names unchanged) and says whether an order is placed and how.
``state`` runs the parts every provider shares (fields, stock, mismatches, the order itself).

Where a plugin page is silent the choice is said here and in ``docs/fidelity.md``: redirect and
form URLs point back at the shop's ``paymentReturnPage`` with the fields the provider would
post, so a test can follow them without a provider.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal
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


class KlarnaCheckout(Provider):
    """Klarna Checkout (the seed's ``klarna-playground``): a widget posting ``klarna_order``."""

    follows_cart = True
    verifies_address = True

    def start(self, starting: Starting) -> Start:
        action = html.escape(starting.return_page, quote=True)
        method = html.escape(starting.option.payment_method)
        form = (
            '<div id="klarna-checkout-container">'
            f'<form method="post" action="{action}">'
            f'<input type="hidden" name="centraPaymentMethod" value="{method}">'
            f'<input type="hidden" name="klarna_order" value="{starting.reference}">'
            "</form>"
            "<script>/* Klarna Playground: when the shopper confirms, the widget posts"
            " klarna_order back to the return page */</script>"
            "</div>"
        )
        return Start(Answer(200, {"action": "form", "formHtml": form}))

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        return Result() if fields.get("klarna_order") else Result(result_declined())


class Redirect(Provider):
    """A redirect to the provider (PayPal-like): it comes back with ``orderRef``."""

    def start(self, starting: Starting) -> Start:
        url = starting.back(orderRef=starting.reference)
        return Start(Answer(200, {"action": "redirect", "url": url}))

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        return Result() if fields.get("orderRef") else Result(result_declined())


class Decline(Provider):
    """Declines every payment with the Checkout API's ``failed`` action (200)."""

    def start(self, starting: Starting) -> Start:
        body = {"action": "failed", "errors": {"paymentMethod": "failed"}}
        return Start(Answer(200, body), stage=None)


class DeclineBody(Provider):
    """Declines every payment in the Shop API's error-body form; the payment-flows page gives
    no status, the fake answers 400."""

    def start(self, starting: Starting) -> Start:
        return Start(declined(400, DECLINED_MESSAGE), stage=None)


class AdyenDropIn(Provider):
    """Adyen Drop-in: a ``form`` that sets the drop-in up (also for ``paymentInitiateOnly``),
    then, with the drop-in's ``paymentMethodSpecificFields``, a ``javascript`` action (or a
    ``redirect`` for a redirecting method); its return page posts nested ``details``."""

    cancels_on_stock = True
    _REDIRECTING = frozenset({"ideal", "klarna", "klarna_paynow", "klarna_account"})

    def start(self, starting: Starting) -> Start:
        specific = starting.body.get("paymentMethodSpecificFields")
        if (
            starting.body.get("paymentInitiateOnly") is True
            or not isinstance(specific, Mapping)
            or not specific
        ):
            return Start(Answer(200, self._setup(starting)), stage="initiated")
        chosen = specific.get("paymentMethod")
        kind = str(chosen.get("type") or "scheme") if isinstance(chosen, Mapping) else "scheme"
        if kind in self._REDIRECTING:
            url = starting.back(redirectResult=starting.reference)
            return Start(
                Answer(200, {"action": "redirect", "formType": "adyen-drop-in", "url": url})
            )
        action = {
            "paymentData": starting.reference,
            "paymentMethodType": kind,
            "sdkData": {"token": starting.reference},
            "type": "sdk",
        }
        code = (
            "document.dispatchEvent(new CustomEvent('centra_checkout_payment_response', "
            f"{{detail: {{action: {{paymentData: '{starting.reference}'}}}}}}));"
        )
        body = {
            "action": "javascript",
            "formType": "adyen-drop-in",
            "formFields": {"action": action},
            "code": code,
        }
        return Start(Answer(200, body))

    @staticmethod
    def _setup(starting: Starting) -> dict[str, Any]:
        address = starting.body.get("address")
        full = isinstance(address, Mapping) and len(address) > 1
        ref = starting.reference
        return {
            "action": "form",
            "formType": "adyen-drop-in",
            "formFields": {
                "paymentMethodData": {
                    "groups": [
                        {"name": "Credit Card", "type": "scheme"},
                        {
                            "name": "Pay now with Klarna.",
                            "supportsRecurring": True,
                            "type": "klarna_paynow",
                        },
                    ]
                },
                "returnUrl": starting.return_page,
                "paymentMethod": starting.option.payment_method,
                "locale": "en_US",
                "environment": "test",
                "clientKey": "test_FAKECENTRA",
                "addressData": dict(address) if full and isinstance(address, Mapping) else None,
            },
            "formHtml": (
                f'<div id="adyen-drop-in-container-{ref}" class="adyen-drop-in-container"></div>'
                f'<script id="adyen-session-{ref}" type="application/json">{{}}</script>'
                "<script>/* Adyen Drop-in: loads the drop-in and dispatches"
                " centra_checkout_payment_callback */</script>"
            ),
        }

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        if session.stage != "started":  # paymentInitiateOnly can never finalize
            return Result(result_declined("The payment was only initiated."))
        data = fields.get("paymentData")
        if data is not None and data != session.reference:
            return Result(result_declined())
        if isinstance(fields.get("details"), Mapping) or fields.get("redirectResult"):
            return Result()
        return Result(result_declined())


class StripeCheckout(Provider):
    """Stripe Checkout: a ``form`` that redirects to Stripe's page; Stripe's webhook confirms the
    payment to Centra, so the return page's fields (undocumented) are taken as they are."""

    cancels_on_stock = True

    def start(self, starting: Starting) -> Start:
        ref = starting.reference
        body = {
            "action": "form",
            "formHtml": f"<script id='stripe_{ref}'>/* redirects to Stripe Checkout */</script>",
            "formType": "stripe-checkout",
            "formFields": {
                "sessionId": f"cs_test_{ref}",
                "publishableKey": "pk_test_FAKECENTRA",
                "externalScript": "https://js.stripe.com/v3/",
            },
        }
        return Start(Answer(200, body))


class KlarnaPayments(Provider):
    """Klarna Payments: a session whose ``client_token`` and ``authorizePayload`` come on every
    selection answer (``selection.pluginFields.klarnaPayments``), updated with the cart; the
    payment result posts ``authorization_token`` and the order carries
    ``paymentMethodData.redirect_url``."""

    follows_cart = True

    def start(self, starting: Starting) -> Start:
        body = {
            "action": "form",
            "formHtml": '<div id="klarna-payments-container"></div>',
            "formType": "klarna-payments",
            "formFields": {"client_token": _client_token(starting.reference)},
        }
        return Start(Answer(200, body))

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        if not fields.get("authorization_token"):
            return Result(result_declined())
        page = str(session.request.get("paymentReturnPage") or "")
        return Result(payment_method_data={"redirect_url": page})

    def plugin_fields(self, priced: PricedCart, cart: Cart) -> dict[str, Any] | None:
        if cart.payment is None:
            return None
        return {
            "klarnaPayments": {
                "client_token": _client_token(cart.payment.reference),
                "replaceSnippet": False,
                "authorizePayload": _authorize_payload(priced, cart),
            }
        }


class Qliro(Provider):
    """Qliro One: a ``form`` with the widget; the return page posts an empty body and Centra
    asks Qliro; the order is placed on Hold, Waiting for Payment, until Qliro's notification."""

    follows_cart = True

    def start(self, starting: Starting) -> Start:
        widget = (
            '<script type="text/javascript">(function(w, g) { w[g] = {'
            'checkoutWebAppBaseUrl: "https://pago.qit.nu/checkout/webapp/", '
            f'orderId: "{starting.reference}"'
            "}; })(window, 'q1');</script>"
        )
        return Start(Answer(200, {"action": "form", "formType": "qliro", "formHtml": widget}))

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        return Result(waits_for_payment=True)


class ExternalPayment(Provider):
    """The External Payment plugin: an ``external`` action naming the selection; the shop's
    own provider flow posts ``success`` (boolean), ``timestamp`` (number), ``transaction``
    (object), ... to the payment result: 201 with the order, or 412 for a failed authorization
    (kept; a successful one may follow). The signature is not checked."""

    _TYPES: ClassVar[Mapping[str, tuple[type, ...]]] = {
        "selection": (str,),
        "signature": (str,),
        "currency": (str,),
        "amount": (str,),
        "timestamp": (int,),
        "transactionReference": (str,),
        "success": (bool,),
        "transaction": (Mapping,),
    }

    def start(self, starting: Starting) -> Start:
        return Start(Answer(200, {"action": "external", "selection": starting.cart.id}))

    def result(self, session: PaymentSession, fields: Mapping[str, Any]) -> Result:
        wrong = {
            f"paymentMethodFields.{key}": f"must be {_TYPE_NAMES[kinds[0]]}"
            for key, kinds in self._TYPES.items()
            if key in fields
            and (
                not isinstance(fields[key], kinds)
                or (kinds == (int,) and isinstance(fields[key], bool))
            )
        }
        if "success" not in fields:
            wrong["paymentMethodFields.success"] = "required"
        if wrong:
            return Result(Answer(400, {"errors": wrong}))
        currency = session.amount[0]
        if "currency" in fields and fields["currency"] != currency:
            message = f"Mismatched currency: {fields['currency']}, basket currency: {currency}"
            return Result(declined(412, message))
        if fields["success"] is not True:
            return Result(declined(412, "The payment was not authorized."))
        return Result(status=201)


_TYPE_NAMES: Mapping[type, str] = {
    str: "text",
    int: "a whole number",
    bool: "true or false",
    Mapping: "an object",
}

PROVIDERS: Mapping[str, Provider] = {
    "klarna-checkout": KlarnaCheckout(),
    "redirect": Redirect(),
    "success": Provider(),
    "decline": Decline(),
    "decline-body": DeclineBody(),
    "adyen": AdyenDropIn(),
    "stripe": StripeCheckout(),
    "klarna-payments": KlarnaPayments(),
    "qliro": Qliro(),
    "external": ExternalPayment(),
}
"""Each ``PaymentOption.kind`` and the provider that answers for it."""


def _client_token(reference: str) -> str:
    return f"eyJhbGciOiJSUzI1NiJ9.fake-centra.{reference}"


def _minor(value: Any) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def _authorize_payload(priced: PricedCart, cart: Cart) -> dict[str, Any]:
    """Klarna's ``authorizePayload``: the cart in minor units, and the shopper's addresses."""
    totals = priced.totals
    lines = []
    rate = int(Decimal(str(priced.country.tax_percent)) * 100)
    tax = priced.country.tax_percent
    for item in priced.items:
        total = Decimal(str(item["totalPriceAsNumber"]))
        lines.append(
            {
                "name": f"{item['brandName']} {item['productName']}",
                "quantity": item["quantity"],
                "reference": item["item"],
                "tax_rate": rate,
                "total_amount": _minor(total),
                "total_discount_amount": _minor(
                    item["priceEachReductionAsNumber"] * item["quantity"]
                ),
                "total_tax_amount": _minor(total * tax / (100 + tax)),
                "type": "physical",
                "unit_price": _minor(item["priceEachBeforeDiscountAsNumber"]),
            }
        )
    billing = _klarna_address(cart.address, cart.country)
    shipping = (
        _klarna_address(cart.shipping_address, cart.country) if cart.shipping_address else billing
    )
    language = priced.country.language or "en"
    return {
        "purchase_country": cart.country.lower(),
        "purchase_currency": priced.pricelist.currency_format.currency.lower(),
        "locale": f"{language}-{cart.country}",
        "order_amount": _minor(totals["grandTotalPriceAsNumber"]),
        "order_tax_amount": _minor(totals["grandTotalPriceTaxAsNumber"]),
        "order_lines": lines,
        "billing_address": billing,
        "shipping_address": dict(shipping),
    }


def _klarna_address(posted: Mapping[str, Any], country: str) -> dict[str, str]:
    names = {
        "given_name": "firstName",
        "family_name": "lastName",
        "email": "email",
        "street_address": "address1",
        "street_address2": "address2",
        "postal_code": "zipCode",
        "city": "city",
        "region": "state",
        "phone": "phoneNumber",
    }
    out = {theirs: str(posted.get(ours) or "") for theirs, ours in names.items()}
    out["country"] = str(posted.get("country") or country)
    return out
