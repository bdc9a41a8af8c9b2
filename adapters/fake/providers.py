"""The fake Centra's payment providers, one per ``PaymentOption.kind`` (``PROVIDERS``), as
Centra's plugin pages document them: Klarna Checkout, a redirect (PayPal-like), the two forms
of a decline, Adyen Drop-in, Stripe Checkout, Klarna Payments, Qliro One and the External
Payment plugin.

Where a plugin page is silent the choice is said in the provider's docstring and in
``docs/fidelity.md``: redirect URLs point back at the shop's ``paymentReturnPage`` with the
fields the provider would post, so a test can follow them without a provider.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from orderflow.adapters.fake.answer import Answer
from orderflow.adapters.fake.cart import Cart, PaymentSession
from orderflow.adapters.fake.payments import (
    DECLINED_MESSAGE,
    Provider,
    Result,
    Start,
    Starting,
    declined,
    result_declined,
)
from orderflow.adapters.fake.pricing import PricedCart


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
