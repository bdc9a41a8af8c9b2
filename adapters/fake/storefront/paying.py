"""The payment fields of the fake's Storefront API: ``paymentInstructions`` (``POST
.../payment``, counted as ``start_payment``) and ``paymentResult`` (``POST .../payment-result``,
``payment_result``).

Each payment method's answer (``providers``) becomes its ``PaymentAction``: ``form`` a
``FormPaymentAction`` (``html``, ``formFields``, ``formType``), ``javascript`` a
``JavascriptPaymentAction`` (its code as ``script``), ``redirect`` a ``RedirectPaymentAction``,
an order placed at once a ``SuccessPaymentAction`` with the order. A decline (the ``failed``
action, or the Shop API's error body) is ``userErrors`` naming ``paymentMethod``, and no action.
The External Payment plugin's ``external`` action has no type in the schema: that method is
refused (naming ``paymentMethod``) before Centra is asked. ``paymentMethod`` and
``shippingMethod`` 0, their defaults, pay with the methods the selection has; the input's
``comment``, ``languageCode``, ``express``, ``affiliate``, ``checkoutPageOrigin`` and the
customer-club and integration fields are not kept.

``paymentResult`` answers a ``PaymentResultSuccessPayload`` with the order (its ``selection``
is the session's fresh one), or a ``PaymentResultFailedPayload`` with the refusal's
``userErrors`` and the selection as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderflow.adapters.fake.storefront.catalog_views import View
from orderflow.adapters.fake.storefront.context import (
    Context,
    addresses,
    current,
    open_selection,
    pricelist_of,
    root,
    segment,
    shop,
    view_of,
)
from orderflow.adapters.fake.storefront.session import snapshot

_EXTERNAL = "external"
"""The ``PaymentOption.kind`` whose action the schema has no type for."""


def _payment_body(ctx: Context, given: Mapping[str, Any]) -> dict[str, Any]:
    views = ctx.views
    body: dict[str, Any] = {
        "paymentReturnPage": given["paymentReturnPage"],
        "paymentFailedPage": given["paymentFailedPage"],
        "termsAndConditions": given["termsAndConditions"],
        **addresses(given["shippingAddress"], given.get("separateBillingAddress")),
    }
    method, shipping = given.get("paymentMethod") or 0, given.get("shippingMethod") or 0
    if method:
        body["paymentMethod"] = views.payment_uris.get(method, str(method))
    if shipping:
        body["shippingMethod"] = views.shipping_keys.get(shipping, str(shipping))
    client: Mapping[str, Any] = given.get("clientDetails") or {}
    ip = given.get("ipAddress") or client.get("ip")
    if ip is not None:
        body["ipAddress"] = ip
    for key in ("paymentMethodSpecificFields", "consents"):
        if given.get(key) is not None:
            body[key] = given[key]
    if given.get("paymentInitiateOnly"):
        body["paymentInitiateOnly"] = True
    if given.get("internal"):
        body["internalOrder"] = True
    return body


def _action(ctx: Context, data: Mapping[str, Any]) -> View:
    kind = data.get("action")
    fields = data.get("formFields")
    fields = dict(fields) if isinstance(fields, Mapping) else None
    if kind == "form":
        return {
            "__typename": "FormPaymentAction",
            "action": "FORM",
            "html": str(data.get("formHtml") or ""),
            "formFields": fields,
            "formType": str(data.get("formType") or ""),
            "expressHtml": None,
        }
    if kind == "javascript":
        return {
            "__typename": "JavascriptPaymentAction",
            "action": "JAVASCRIPT",
            "script": str(data.get("code") or data.get("script") or ""),
            "formFields": fields,
            "formType": str(data.get("formType") or ""),
        }
    if kind == "redirect":
        return {
            "__typename": "RedirectPaymentAction",
            "action": "REDIRECT",
            "url": str(data["url"]),
        }
    if kind == "success":
        receipt = {k: v for k, v in data.items() if k != "action"}
        return {
            "__typename": "SuccessPaymentAction",
            "action": "SUCCESS",
            "formFields": None,
            "order": ctx.views.order(receipt, ctx.fake.stock),
        }
    raise ValueError(f"the Storefront API has no PaymentAction for the action {kind!r}")


def _instructions(ctx: Context, sel: str, action: View | None, errors: list[View]) -> View:
    return {
        "__typename": "PaymentInstructionsPayload",
        "action": action,
        "selection": current(ctx, sel),
        "userErrors": errors,
    }


@root
def payment_instructions(ctx: Context, input: dict[str, Any]) -> View:
    """``paymentInstructions``: the payment started, and what the shopper's browser does next."""
    sel = open_selection(ctx)
    body = _payment_body(ctx, input)
    method = body.get("paymentMethod")
    if method is None:
        found = snapshot(ctx.fake, sel)
        method = found["selection"].get("paymentMethod") if found is not None else None
    option = ctx.fake.catalog.payment_methods.get(str(method))
    if option is not None and option.kind == _EXTERNAL:
        message = "not available in the Storefront API"
        problem = {"__typename": "UserErrorBase", "message": message, "path": ["paymentMethod"]}
        return _instructions(ctx, sel, None, [problem])
    status, data = shop(ctx, "POST", f"/selections/{segment(sel)}/payment", body, money=True)
    if 200 <= status < 300 and data.get("action") != "failed":
        return _instructions(ctx, sel, _action(ctx, data), [])
    errors = ctx.views.user_errors(data, pricelist_of(ctx, sel), ctx.fake.stock)
    return _instructions(ctx, sel, None, errors)


@root
def payment_result(ctx: Context, paymentMethodFields: dict[str, Any]) -> View:
    """``paymentResult``: the order, or why not."""
    sel = ctx.shopper.selection or open_selection(ctx)
    body = {"paymentMethodFields": paymentMethodFields}
    status, data = shop(ctx, "POST", f"/selections/{segment(sel)}/payment-result", body, money=True)
    if 200 <= status < 300:

        def fresh(info: Any, voucherMode: str = "LINES") -> View | None:
            found = snapshot(ctx.fake, open_selection(ctx))
            return view_of(ctx, found) if found is not None else None

        return {
            "__typename": "PaymentResultSuccessPayload",
            "type": "SUCCESS",
            "order": ctx.views.order(data, ctx.fake.stock),
            "selection": fresh,
            "userErrors": [],
        }
    return {
        "__typename": "PaymentResultFailedPayload",
        "type": "FAILED",
        "selection": current(ctx, sel),
        "userErrors": ctx.views.user_errors(data, pricelist_of(ctx, sel), ctx.fake.stock),
    }
