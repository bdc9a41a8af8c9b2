"""The ports: what the core needs from the outside world. Each docstring is the contract."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from orderflow.checkout import Checkout
from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse


class Transport(Protocol):
    """Centra's calls the flow needs, answering core types.

    Every method raises only core errors: ``CentraError`` (Centra refused; ``errors`` keeps its
    ``{field: message}``), ``OutOfStock`` (410: items removed, ``selection`` is the new cart),
    ``AuthenticationFailed`` (401/403), ``CentraUnavailable`` (5xx or network; after a timeout
    Centra may have acted),
    ``OutcomeUnknown`` (a payment call got no answer; Centra may have acted) and
    ``PayloadError`` (Centra's answer does not fit the type).
    """

    def create_selection(self) -> SelectionResponse:
        """Create a new, empty selection."""
        ...

    def add_item(self, selection: str, item: str, quantity: int) -> SelectionResponse:
        """Add ``quantity`` of ``item`` (``<product>-<size>``); unknown items are a field error."""
        ...

    def set_quantity(self, selection: str, line: str, quantity: int) -> SelectionResponse:
        """Set a line's quantity; 0 removes the line."""
        ...

    def remove_line(self, selection: str, line: str) -> SelectionResponse:
        """Remove a line."""
        ...

    def apply_voucher(self, selection: str, code: str) -> SelectionResponse:
        """Add a voucher; an unknown code is a field error on ``voucher``."""
        ...

    def remove_voucher(self, selection: str, code: str) -> SelectionResponse:
        """Remove a voucher."""
        ...

    def set_country(self, selection: str, country: str) -> SelectionResponse:
        """Set the shopper's country (prices, methods and ``location.shipTo`` follow it)."""
        ...

    def set_checkout_fields(self, selection: str, details: PaymentRequest) -> SelectionResponse:
        """Send the shopper's details (address, payment method) before paying."""
        ...

    def start_payment(self, selection: str, request: PaymentRequest) -> PaymentAction:
        """Start the payment: the final stock and field check, then one action for the browser.

        Raises ``OutOfStock`` with the reduced selection; ``OutcomeUnknown`` when no answer came.
        """
        ...

    def payment_result(self, selection: str, fields: Mapping[str, str]) -> Receipt | PaymentAction:
        """Post the provider's answer; the order's receipt, or (rarely) a new action.

        Call it at most once per order. A declined payment raises ``CentraError``; ``OutOfStock``
        and ``OutcomeUnknown`` as for ``start_payment``.
        """
        ...

    def read_selection(self, selection: str) -> SelectionResponse:
        """Read the selection as it is now.

        Once the selection became an order Centra answers with the order instead, which
        raises ``CentraError``: ask ``read_receipt`` whether it became an order.
        """
        ...

    def read_receipt(self, selection: str) -> Receipt | None:
        """The order's receipt if the selection became an order, else ``None``.

        Centra answers 404 both for a selection that is not an order yet and for one it
        does not know: both are ``None``.
        """
        ...


class AsyncTransport(Protocol):
    """``Transport``, awaited: the same calls, answers and errors."""

    async def create_selection(self) -> SelectionResponse:
        """See ``Transport.create_selection``."""
        ...

    async def add_item(self, selection: str, item: str, quantity: int) -> SelectionResponse:
        """See ``Transport.add_item``."""
        ...

    async def set_quantity(self, selection: str, line: str, quantity: int) -> SelectionResponse:
        """See ``Transport.set_quantity``."""
        ...

    async def remove_line(self, selection: str, line: str) -> SelectionResponse:
        """See ``Transport.remove_line``."""
        ...

    async def apply_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.apply_voucher``."""
        ...

    async def remove_voucher(self, selection: str, code: str) -> SelectionResponse:
        """See ``Transport.remove_voucher``."""
        ...

    async def set_country(self, selection: str, country: str) -> SelectionResponse:
        """See ``Transport.set_country``."""
        ...

    async def set_checkout_fields(
        self, selection: str, details: PaymentRequest
    ) -> SelectionResponse:
        """See ``Transport.set_checkout_fields``."""
        ...

    async def start_payment(self, selection: str, request: PaymentRequest) -> PaymentAction:
        """See ``Transport.start_payment``."""
        ...

    async def payment_result(
        self, selection: str, fields: Mapping[str, str]
    ) -> Receipt | PaymentAction:
        """See ``Transport.payment_result``."""
        ...

    async def read_selection(self, selection: str) -> SelectionResponse:
        """See ``Transport.read_selection``."""
        ...

    async def read_receipt(self, selection: str) -> Receipt | None:
        """See ``Transport.read_receipt``."""
        ...


@attrs.frozen
class Claim:
    """A lease on a checkout: ``owner`` may call payment-result until ``expires_at``."""

    checkout_id: str
    owner: str
    expires_at: datetime


@attrs.frozen
class IdempotencyRecord:
    """The first result of a command sent with an idempotency key."""

    key: str
    fingerprint: str
    result: str
    expires_at: datetime


class Store(Protocol):
    """Keeps checkouts between requests, safely shared by threads and processes.

    Raises only core errors; nothing of the database library leaks out.
    """

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        ...

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version``.

        ``expected_version`` 0 creates the checkout. Returns it with ``version`` set to
        ``expected_version + 1``. Raises ``ConcurrencyConflict`` when the stored version differs
        (on create, when the id exists; on update of an unknown id, with ``actual_version``
        None) and ``StoreError`` when the database fails.
        """
        ...

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically.

        If there is no claim, it has expired (``expires_at <= now``) or ``owner`` holds it, the
        claim becomes ``owner``'s until ``now + lease``. Returns the claim in force afterwards:
        the caller holds it exactly when ``claim.owner == owner``.
        """
        ...

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        ...

    def recall(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The record stored under an idempotency key, unless absent or expired."""
        ...

    def remember(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Store ``record`` unless an unexpired one has the key; return the one in force."""
        ...

    def purge(self, now: datetime) -> int:
        """Remove claims and idempotency records that expired at or before ``now``.

        Returns how many were removed, claims and records together. Unexpired ones stay, so
        a live claim still blocks other owners and a live record is still recalled; checkouts
        are never removed. Both removals happen atomically, or not at all. Raises
        ``StoreError`` when the database fails.
        """
        ...


class Clock(Protocol):
    """Time, injectable so expiry and leases are testable."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a test clock may just advance)."""
        ...
