"""The ports: what the core needs from the outside world. Each docstring is the contract."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import attrs

from orderflow.calls import Call
from orderflow.checkout import Checkout
from orderflow.flow import State

A = TypeVar("A")


class Transport(Protocol):
    """Carries one Centra call and returns its answer: ``send(AddItem(...))`` is a cart.

    Raises only core errors, told apart at the adapter's border:

    - ``CentraError``: Centra answered and will not act (field errors, a declined payment
      result); ``OutOfStock`` (410: items removed, ``selection`` is the new cart) and
      ``AuthenticationFailed`` (401/403: the key or the origin) are kinds of it.
    - ``CentraUnavailable``: Centra did not act, or (for a call that is not a payment) may have:
      unreachable, busy (408, 425, 429 with ``retry_after``) or failing (5xx).
    - ``OutcomeUnknown``: a call that moves money (``call.moves_money``) was sent and no
      definitive answer came (a timeout, a 5xx, 404, 409, an answer that cannot be read).
    - ``PayloadError``: an answer of any other call does not fit its type.

    A payment answer that shows an order is an order, even when parts of it do not decode:
    those are kept raw on the receipt, never a reason to drop it.
    """

    def send(self, call: Call[A]) -> A:
        """Carry ``call`` to Centra; its typed answer."""
        ...


class AsyncTransport(Protocol):
    """``Transport``, awaited: the same calls, answers and errors."""

    async def send(self, call: Call[A]) -> A:
        """See ``Transport.send``."""
        ...


@attrs.frozen
class Claim:
    """A lease on a checkout: ``owner`` may make a payment call until ``expires_at``."""

    checkout_id: str
    owner: str
    expires_at: datetime


@attrs.frozen
class IdempotencyRecord:
    """What a store holds under an idempotency key: the request's fingerprint and its result.

    ``result`` is ``None`` while the first request runs: ``owner`` reserved the key until
    ``lease_until`` (a caller whose lease lapsed died; the next one takes over, and
    ``attempt`` counts the takeovers from 1). ``checkout_id`` is the checkout the command acts
    on, when there is one (erasing a checkout erases its records). The record is kept until
    ``expires_at``.
    """

    key: str
    fingerprint: str
    owner: str
    lease_until: datetime
    expires_at: datetime
    result: str | None = None
    checkout_id: str | None = None
    attempt: int = 1


class Store(Protocol):
    """Keeps checkouts between requests, safely shared by threads and processes.

    Raises only core errors (``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``);
    nothing of the database library leaks out. Times are timezone-aware.
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

    def find(
        self,
        *,
        state: State | str | None = None,
        outcome_unknown: bool | None = None,
        updated_before: datetime | None = None,
        order: str | None = None,
        selection: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Checkout]:
        """Stored checkouts matching every filter given, least recently updated first.

        The order is by ``(updated_at, id)``, ids compared by code point (as Python compares
        text) in every store. ``state``: in that state (a ``State`` or its value);
        ``outcome_unknown``: with (True) or without (False) an unsettled payment call;
        ``updated_before``: last saved before that time; ``order``: whose receipt is that
        Centra order; ``selection``: of that Centra selection; ``after``: ordered after that
        ``(updated_at, id)``, so a caller pages on from the last checkout found
        (``after=(last.updated_at, last.id)``), and one saved meanwhile moves to the end
        (found again unless ``updated_before`` leaves it out); at most ``limit`` (1 to
        10,000). Raises ``ValueError`` for an unknown state, a limit out of range, a naive
        ``updated_before``, or an ``after`` that is not a timezone-aware ``(datetime, str)``.
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

    def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Reserve ``record.key`` for ``record.owner``, atomically; the record in force after.

        ``record`` has no result. When no unexpired record has the key, ``record`` is stored.
        When one is running (no result), its ``lease_until`` has passed (its owner died) and
        its fingerprint is ``record``'s (the same request again), it becomes ``record.owner``'s
        with ``record.lease_until`` and ``attempt`` one more, keeping its ``expires_at`` and
        ``checkout_id``. Otherwise the stored record is returned unchanged. The caller holds
        the key exactly when the returned ``owner`` is its own and ``result`` is None.
        """
        ...

    def complete(self, key: str, owner: str, result: str) -> bool:
        """Store ``result`` under ``key`` if ``owner`` holds it; whether it did."""
        ...

    def abandon(self, key: str, owner: str) -> None:
        """Remove ``owner``'s running reservation of ``key`` (its command failed, acting on
        nothing a retry must not repeat); does nothing if ``owner`` does not hold it."""
        ...

    def forget(self, checkout_id: str) -> int:
        """Remove every idempotency record of ``checkout_id`` (they hold copies of it); how many."""
        ...

    def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """Remove claims and idempotency records that expired at or before ``now``; how many.

        With ``finished_before``, also checkouts in a final state (paid, cancelled) last saved
        before it, with their records. Unexpired claims and records stay, so a live claim still
        blocks other owners and a live record is still recalled. Everything happens atomically,
        or not at all. Raises ``StoreError`` when the database fails.
        """
        ...


@attrs.frozen
class ClaimedSave:
    """What ``GateStore.claim_and_save`` did: the claim in force afterwards, and the checkout
    as saved (``None`` when nothing was saved)."""

    claim: Claim
    saved: Checkout | None


class GateStore(Store, Protocol):
    """A ``Store`` that also takes the money gate's steps in one call each.

    Optional: the service uses these steps when the store has all three, and the separate
    ``Store`` calls otherwise, or when a class that does not define them overrides a method
    they take the place of (``load``, ``save``, ``acquire_claim``, ``release_claim``): a wrapper
    that counts claims and forwards the rest through ``__getattr__`` still sees every claim.
    Each step is atomic, and a SQL store takes it in one statement where the database can.
    """

    def recent(self, checkout_id: str) -> Checkout | None:
        """The checkout as this store last saved, loaded or found it, without asking the
        database; ``None`` when it kept none. It may be out of date: it is only a base for
        ``claim_and_save``, which saves nothing on a base that is."""
        ...

    def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """``acquire_claim(checkout.id, owner, now, lease)`` and, if the claim is then
        ``owner``'s, ``save(checkout, expected_version)``, atomically.

        Saves only if the stored checkout is still the one ``checkout`` was made from: its
        version is ``expected_version`` and, when the store remembers the stored state of that
        version (the one ``recent`` or ``load`` gave), it is that very state. Otherwise it saves
        nothing (``saved`` is ``None``, no ``ConcurrencyConflict``) and the claim taken stays
        taken. It never creates a checkout: at ``expected_version`` 0 it saves nothing (a
        claim guards a stored checkout). Raises ``StoreError`` when the database fails, and
        then takes nothing.
        """
        ...

    def save_and_release(self, checkout: Checkout, expected_version: int, owner: str) -> Checkout:
        """``save(checkout, expected_version)`` and, if it saved, ``release_claim(checkout.id,
        owner)``, atomically: ``expected_version`` 0 creates the checkout, as ``save`` does.
        Raises what ``save`` raises, and then releases nothing."""
        ...


class AsyncStore(Protocol):
    """``Store`` for asyncio services: the same methods, answers and errors, awaited; a call
    never blocks the event loop."""

    async def load(self, checkout_id: str) -> Checkout:
        """See ``Store.load``."""
        ...

    async def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """See ``Store.save``."""
        ...

    async def find(
        self,
        *,
        state: State | str | None = None,
        outcome_unknown: bool | None = None,
        updated_before: datetime | None = None,
        order: str | None = None,
        selection: str | None = None,
        limit: int = 100,
        after: tuple[datetime, str] | None = None,
    ) -> list[Checkout]:
        """See ``Store.find``."""
        ...

    async def acquire_claim(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        """See ``Store.acquire_claim``."""
        ...

    async def release_claim(self, checkout_id: str, owner: str) -> None:
        """See ``Store.release_claim``."""
        ...

    async def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """See ``Store.reserve``."""
        ...

    async def complete(self, key: str, owner: str, result: str) -> bool:
        """See ``Store.complete``."""
        ...

    async def abandon(self, key: str, owner: str) -> None:
        """See ``Store.abandon``."""
        ...

    async def forget(self, checkout_id: str) -> int:
        """See ``Store.forget``."""
        ...

    async def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """See ``Store.purge``."""
        ...


class AsyncGateStore(AsyncStore, Protocol):
    """``GateStore`` for asyncio services: the same steps, awaited."""

    async def recent(self, checkout_id: str) -> Checkout | None:
        """See ``GateStore.recent``."""
        ...

    async def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """See ``GateStore.claim_and_save``."""
        ...

    async def save_and_release(
        self, checkout: Checkout, expected_version: int, owner: str
    ) -> Checkout:
        """See ``GateStore.save_and_release``."""
        ...


class Clock(Protocol):
    """Time, injectable so expiry and leases are testable."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a test clock may just advance)."""
        ...
