"""In-memory stores: checkouts, claims and idempotency records in dicts (tests, one process).

``MemoryStore`` is the sync one; ``AsyncMemoryStore`` awaits the same (each call only takes a
lock for a few dict operations, so it never blocks the event loop).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import attrs

from orderflow.adapters.stores._shared import AsyncFacade, Filters, aware, unreserved, versioned
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict
from orderflow.flow import FINAL, State
from orderflow.ports import AsyncGateStore, Claim, ClaimedSave, GateStore, IdempotencyRecord

__all__ = ["AsyncMemoryStore", "MemoryStore"]

T = TypeVar("T")


class MemoryStore:
    """A ``GateStore`` kept in this process's memory, safe across threads (one lock).

    It keeps the (frozen) ``Checkout`` objects themselves rather than a serialized copy, but
    checks versions, claims and idempotency records exactly like the database stores. Raises
    ``CheckoutNotFound`` and ``ConcurrencyConflict``; ``ValueError`` for bad arguments.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checkouts: dict[str, Checkout] = {}
        self._claims: dict[str, Claim] = {}
        self._records: dict[str, IdempotencyRecord] = {}

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        with self._lock:
            checkout = self._checkouts.get(checkout_id)
        if checkout is None:
            raise CheckoutNotFound(checkout_id)
        return checkout

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version`` (see
        ``Store.save``). Raises ``ConcurrencyConflict`` when it is not."""
        saved = versioned(checkout, expected_version)
        aware(saved.updated_at)
        with self._lock:
            self._store(saved, expected_version)
        return saved

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
        """Stored checkouts matching every filter given, least recently updated first (see
        ``Store.find``). Raises ``ValueError`` for an unknown state, a limit out of range,
        a naive time or a malformed ``after``."""
        filters = Filters.of(
            state=state,
            outcome_unknown=outcome_unknown,
            updated_before=updated_before,
            order=order,
            selection=selection,
            limit=limit,
            after=after,
        )
        with self._lock:
            found = [checkout for checkout in self._checkouts.values() if filters.match(checkout)]
        found.sort(key=lambda checkout: (checkout.updated_at, checkout.id))
        return found[: filters.limit]

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically; the claim in force afterwards."""
        aware(now)
        with self._lock:
            return self._claim(checkout_id, owner, now, lease)

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        with self._lock:
            self._release(checkout_id, owner)

    def recent(self, checkout_id: str) -> Checkout | None:
        """The stored checkout, if any (see ``GateStore.recent``; here never out of date)."""
        with self._lock:
            return self._checkouts.get(checkout_id)

    def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """Take the claim and, if it is then ``owner``'s and the stored version still
        ``expected_version``, save ``checkout``, atomically (see ``GateStore.claim_and_save``)."""
        aware(now)
        saved = versioned(checkout, expected_version)
        aware(saved.updated_at)
        with self._lock:
            claim = self._claim(checkout.id, owner, now, lease)
            stored = self._checkouts.get(checkout.id)
            if claim.owner != owner or stored is None or stored.version != expected_version:
                return ClaimedSave(claim, None)
            self._checkouts[checkout.id] = saved
        return ClaimedSave(claim, saved)

    def save_and_release(self, checkout: Checkout, expected_version: int, owner: str) -> Checkout:
        """Save ``checkout`` and, if it saved, release ``owner``'s claim, atomically (see
        ``GateStore.save_and_release``). Raises ``ConcurrencyConflict`` as ``save`` does."""
        saved = versioned(checkout, expected_version)
        aware(saved.updated_at)
        with self._lock:
            self._store(saved, expected_version)
            self._release(checkout.id, owner)
        return saved

    def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Reserve ``record.key`` for ``record.owner``, atomically; the record in force after
        (see ``Store.reserve``). Raises ``ValueError`` for a record with a result."""
        unreserved(record)
        aware(now)
        with self._lock:
            stored = self._records.get(record.key)
            if stored is None or stored.expires_at <= now:
                stored = record
            elif (
                stored.result is None
                and stored.lease_until <= now
                and stored.fingerprint == record.fingerprint
            ):
                stored = attrs.evolve(
                    stored,
                    owner=record.owner,
                    lease_until=record.lease_until,
                    attempt=stored.attempt + 1,
                )
            self._records[record.key] = stored
            return stored

    def complete(self, key: str, owner: str, result: str) -> bool:
        """Store ``result`` under ``key`` if ``owner`` holds it; whether it did."""
        with self._lock:
            stored = self._records.get(key)
            if stored is None or stored.owner != owner or stored.result is not None:
                return False
            self._records[key] = attrs.evolve(stored, result=result)
            return True

    def abandon(self, key: str, owner: str) -> None:
        """Remove ``owner``'s running reservation of ``key``; nothing if it does not hold it."""
        with self._lock:
            stored = self._records.get(key)
            if stored is not None and stored.owner == owner and stored.result is None:
                del self._records[key]

    def forget(self, checkout_id: str) -> int:
        """Remove every idempotency record of ``checkout_id``; how many."""
        with self._lock:
            keys = [k for k, r in self._records.items() if r.checkout_id == checkout_id]
            for key in keys:
                del self._records[key]
        return len(keys)

    def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """Remove what expired at or before ``now`` and, with ``finished_before``, the final
        checkouts saved before it with their records and claims, at once; how many (see
        ``Store.purge``)."""
        aware(now)
        if finished_before is not None:
            aware(finished_before)
        with self._lock:
            finished = {
                checkout_id
                for checkout_id, checkout in self._checkouts.items()
                if finished_before is not None
                and checkout.state in FINAL
                and checkout.updated_at < finished_before
            }
            claims = [
                checkout_id
                for checkout_id, claim in self._claims.items()
                if claim.expires_at <= now or checkout_id in finished
            ]
            records = [
                key
                for key, record in self._records.items()
                if record.expires_at <= now or record.checkout_id in finished
            ]
            for checkout_id in claims:
                del self._claims[checkout_id]
            for key in records:
                del self._records[key]
            for checkout_id in finished:
                del self._checkouts[checkout_id]
        return len(claims) + len(records) + len(finished)

    # --- internals, under the lock ------------------------------------------------------------

    def _store(self, saved: Checkout, expected_version: int) -> None:
        stored = self._checkouts.get(saved.id)
        actual = stored.version if stored is not None else 0
        if actual != expected_version:
            raise ConcurrencyConflict(
                saved.id, expected_version, stored.version if stored is not None else None
            )
        self._checkouts[saved.id] = saved

    def _claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        claim = self._claims.get(checkout_id)
        if claim is None or claim.expires_at <= now or claim.owner == owner:
            claim = Claim(checkout_id, owner, now + lease)
            self._claims[checkout_id] = claim
        return claim

    def _release(self, checkout_id: str, owner: str) -> None:
        claim = self._claims.get(checkout_id)
        if claim is not None and claim.owner == owner:
            del self._claims[checkout_id]


class AsyncMemoryStore(AsyncFacade):
    """An ``AsyncGateStore`` in this process's memory: a ``MemoryStore``, awaited.

    ``store`` shares an existing ``MemoryStore`` (so sync code sees the same checkouts).
    Raises what ``MemoryStore`` raises.
    """

    def __init__(self, store: MemoryStore | None = None) -> None:
        self._store = store if store is not None else MemoryStore()

    async def _call(self, work: Callable[[GateStore], T]) -> T:
        return work(self._store)


if TYPE_CHECKING:

    def _conforms(sync: MemoryStore, awaited: AsyncMemoryStore) -> tuple[GateStore, AsyncGateStore]:
        return sync, awaited
