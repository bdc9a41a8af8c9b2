"""The errors orderflow raises: one hierarchy, each naming what went wrong and where."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from orderflow.selection import SelectionResponse, UnavailableItem


class OrderflowError(Exception):
    """Base class of every error orderflow raises."""


@attrs.frozen
class Refusal:
    """Why a guard refused an event: a stable ``code``, the ``field`` concerned, a message."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} ({self.code})"


class EventNotAllowed(OrderflowError):
    """An event was fired in a state that does not allow it."""

    def __init__(self, checkout_id: str | None, state: str, event: str, allowed: Iterable[str]):
        self.checkout_id = checkout_id
        self.state = str(state)  # plain text, also when given the flow's enums
        self.event = str(event)
        self.allowed = tuple(sorted(map(str, allowed)))
        where = f"checkout {checkout_id} is" if checkout_id else "the checkout is"
        super().__init__(
            f"{self.event!r} is not allowed: {where} in state {self.state!r}; "
            f"allowed there: {', '.join(self.allowed) or 'nothing (final state)'}"
        )


class PaymentInFlight(OrderflowError):
    """An event was refused because a payment call's outcome is not settled yet.

    ``call`` names the payment call (``start_payment`` or ``payment_result``) whose answer did
    not come; only the payment events themselves and ``reconcile``, which ask Centra first, may
    move the checkout until it is settled.
    """

    def __init__(self, checkout_id: str, event: str, call: str):
        self.checkout_id = checkout_id
        self.event = str(event)
        self.call = str(call)
        super().__init__(
            f"{self.event!r} is refused: checkout {checkout_id} has a payment in flight "
            f"(the outcome of {self.call} is unknown); reconcile it first"
        )


class GuardRefused(OrderflowError):
    """A guard refused the event; ``refusals`` lists every reason, each with code and field."""

    def __init__(self, event: str, refusals: Iterable[Refusal]):
        self.event = str(event)
        self.refusals = tuple(refusals)
        super().__init__(f"{self.event!r} refused: " + "; ".join(map(str, self.refusals)))


@attrs.frozen
class FieldProblem:
    """One bad field of a payload, by its camelCase JSON path (``$.items[0].quantity``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PayloadError(OrderflowError):
    """A payload does not fit its type; ``problems`` lists every bad field by JSON path."""

    def __init__(self, type_name: str, problems: Iterable[FieldProblem], source: str = ""):
        self.type_name = type_name
        self.problems = tuple(problems)
        self.source = source
        origin = f" from {source}" if source else ""
        super().__init__(f"malformed {type_name}{origin}: " + "; ".join(map(str, self.problems)))


class CheckoutNotFound(OrderflowError, LookupError):
    """No checkout with this id is stored."""

    def __init__(self, checkout_id: str):
        self.checkout_id = checkout_id
        super().__init__(f"no checkout {checkout_id!r} in the store")


class ConcurrencyConflict(OrderflowError):
    """A save was made from a stale version: someone else saved the checkout in between."""

    def __init__(self, checkout_id: str, expected_version: int, actual_version: int | None):
        self.checkout_id = checkout_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"checkout {checkout_id!r} changed underneath: expected version {expected_version}, "
            f"stored version is {actual_version}"
        )


class StoreError(OrderflowError):
    """The store's database failed (unreachable, locked too long, corrupt, misconfigured)."""


class IdempotencyKeyReused(OrderflowError):
    """An idempotency key came back with other parameters than the first time."""

    def __init__(self, key: str, command: str):
        self.key = key
        self.command = command
        super().__init__(
            f"idempotency key {key!r} was first used for other parameters; "
            f"use a new key for a different {command!r} request"
        )


class IdempotencyKeyInFlight(OrderflowError):
    """Another caller is running the command of this idempotency key and has not finished."""

    def __init__(self, key: str, waited: float):
        self.key = key
        self.waited = waited
        super().__init__(
            f"idempotency key {key!r}: the first request with it is still running; "
            f"gave up waiting after {waited:.1f}s (try again to get its result)"
        )


class ClaimTimeout(OrderflowError):
    """Another caller holds the payment-result claim and did not finish in time."""

    def __init__(self, checkout_id: str, waited: float):
        self.checkout_id = checkout_id
        self.waited = waited
        super().__init__(
            f"checkout {checkout_id!r}: another caller is completing the payment; "
            f"gave up waiting after {waited:.1f}s (try again to get its outcome)"
        )


class CentraError(OrderflowError):
    """Centra refused a request: HTTP ``status`` and its field errors as ``{field: message}``.

    ``token`` is the session token the refusal carried, in a dialect with sessions (the
    Checkout API's): the service keeps it, as it keeps an answer's.
    """

    token: str | None = None

    def __init__(
        self,
        status: int,
        errors: Mapping[str, str] | None = None,
        message: str | None = None,
        code: str | None = None,
        endpoint: str = "",
    ):
        self.status = status
        self.errors: dict[str, str] = dict(errors or {})
        self.message = message
        self.code = code
        self.endpoint = endpoint
        parts = [f"{k}: {v}" for k, v in self.errors.items()]
        if message:
            parts.append(message)
        if code:
            parts.append(f"code {code}")
        where = f" at {endpoint}" if endpoint else ""
        super().__init__(f"Centra answered {status}{where}: " + ("; ".join(parts) or "no detail"))


class OutOfStock(CentraError):
    """Centra's 410: some items were unavailable and have been removed from the selection.

    ``cancellation`` is what a payment result's 410 says of the payment it cancelled (the
    payment must be started again), kept as Centra sent it.
    """

    def __init__(
        self,
        unavailable: Iterable[UnavailableItem],
        selection: SelectionResponse | None = None,
        endpoint: str = "",
        errors: Mapping[str, str] | None = None,
        cancellation: Mapping[str, Any] | None = None,
    ):
        self.unavailable = tuple(unavailable)
        self.selection = selection
        self.cancellation = dict(cancellation) if cancellation is not None else None
        super().__init__(
            410,
            errors or {"stock": "unavailable items"},
            message="unavailable: " + ", ".join(u.item for u in self.unavailable),
            endpoint=endpoint,
        )


class AuthenticationFailed(CentraError):
    """Centra's 401 or 403: the API key is wrong, or the origin is not allowed."""


class CentraUnavailable(OrderflowError):
    """Centra could not be reached, was busy, or failed (429, 408, 425, 5xx, network errors).

    For a payment call this means Centra did not act (the request never left, or Centra said
    so: 408, 425, 429); a payment call whose outcome is unknown raises ``OutcomeUnknown``
    instead. For another call Centra may have acted after a timeout or a 5xx; the service
    reads a cart back before reporting this for a cart change. ``retry_after`` is Centra's
    ``Retry-After`` in seconds, when it sent one. ``token`` is the newest session token the call
    had been handed before this (a call carried by several requests, in a dialect with
    sessions), or ``None``: the service keeps it, as it keeps a refusal's.
    """

    def __init__(
        self,
        endpoint: str,
        reason: str,
        status: int | None = None,
        *,
        retry_after: float | None = None,
        token: str | None = None,
    ):
        self.endpoint = endpoint
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.token = token
        later = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        super().__init__(f"Centra unavailable at {endpoint}: {reason}{later}")


class OutcomeUnknown(OrderflowError):
    """A payment call got no definitive answer: Centra may or may not have acted.

    A timeout, a 5xx, a 404 or 409, or an answer that cannot be read after the request was
    sent. The checkout keeps its marker; ``reconcile`` (or the next payment call) asks Centra.
    """

    def __init__(self, endpoint: str, reason: str):
        self.endpoint = endpoint
        self.reason = reason
        super().__init__(
            f"no answer from Centra at {endpoint} ({reason}); the outcome is unknown: "
            "call reconcile to ask Centra what happened"
        )


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
