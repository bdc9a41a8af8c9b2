"""Starting a payment and the actions Centra answers with.

Every action carries ``token``: the session token of a dialect that has sessions (Centra's
Checkout API sends one in every answer, and it may replace the last); ``None`` otherwise.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from orderflow.address import Address
from orderflow.receipt import Receipt


@attrs.frozen
class PaymentRequest:
    """The shopper's details and choices sent to start the payment (Centra's payment body).

    ``selection`` is filled in by the transport from the checkout; callers may leave it out.
    """

    payment_method: str
    address: Address
    payment_return_page: str
    payment_failed_page: str
    terms_and_conditions: bool = False
    selection: str | None = None
    payment_method_callback_page: str | None = None
    shipping_address: Address | None = None
    payment_method_specific_fields: Any = None
    consents: tuple[Any, ...] | None = None
    additional_fields: tuple[Any, ...] | None = None
    customer_club_fields: tuple[Any, ...] | None = None
    internal_order: bool | None = None
    ip_address: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class FormAction:
    """``form``: inject ``form_html`` (a Klarna-like widget or an auto-submitting form)."""

    kind: ClassVar[str] = "form"
    form_html: str
    form_fields: dict[str, Any] | None = None
    form_url: str | None = None
    form_type: str | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class RedirectAction:
    """``redirect``: send the shopper's browser to ``url``."""

    kind: ClassVar[str] = "redirect"
    url: str
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class JavascriptAction:
    """``javascript``: run ``code`` or dispatch ``form_type`` with ``form_fields`` (drop-ins)."""

    kind: ClassVar[str] = "javascript"
    code: str | None = None
    form_fields: dict[str, Any] | None = None
    form_type: str | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class ExternalAction:
    """``external``: the External Payment plugin takes over; the shop's own provider flow runs."""

    kind: ClassVar[str] = "external"
    selection: str | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class SuccessAction:
    """``success``: paid already; the order itself is the receipt."""

    kind: ClassVar[str] = "success"
    receipt: Receipt

    @property
    def token(self) -> str | None:
        """The session token the answer carried (on its receipt)."""
        return self.receipt.token


@attrs.frozen
class FailedAction:
    """``failed``: the payment was declined; ``errors`` says why (``{"paymentMethod": "failed"}``)
    and ``messages`` what to show. The Shop API sends a decline as an error body with these."""

    kind: ClassVar[str] = "failed"
    errors: dict[str, str] = attrs.field(factory=dict)
    messages: tuple[str, ...] | None = None
    message: str | None = None
    code: str | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def reason(self) -> str:
        """One line saying why: what to show (``messages``, ``message``), then the field errors
        and the code in brackets (``Card declined (paymentMethod failed)``)."""
        said = "; ".join(self.messages) if self.messages else self.message or ""
        fields = ", ".join(f"{field} {message}" for field, message in self.errors.items())
        detail = ", ".join(
            part for part in (fields, f"code {self.code}" if self.code else "") if part
        )
        if said and detail:
            return f"{said} ({detail})"
        return said or detail or "failed"


PaymentAction = (
    FormAction | RedirectAction | JavascriptAction | ExternalAction | SuccessAction | FailedAction
)
"""What starting a payment answers: one action for the shopper's browser."""

ACTION_TYPES: dict[str, type[PaymentAction]] = {
    cls.kind: cls
    for cls in (
        FormAction,
        RedirectAction,
        JavascriptAction,
        ExternalAction,
        SuccessAction,
        FailedAction,
    )
}
