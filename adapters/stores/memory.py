"""An in-memory store: checkouts, claims and idempotency records in dicts (tests, one process)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from orderflow.adapters.stores._shared import versioned
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict
from orderflow.ports import Claim, IdempotencyRecord


class MemoryStore:
    """A ``Store`` kept in this process's memory, safe across threads (one lock).

    It keeps the (frozen) ``Checkout`` objects themselves rather than a serialized copy, but
    checks versions, claims and idempotency records exactly like the database stores.
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
        """Store ``checkout`` if the stored version is still ``expected_version``.

        Returns it with ``version`` set to ``expected_version + 1``. Raises
        ``ConcurrencyConflict`` when the stored version differs (or, on create, the id exists).
        """
        saved = versioned(checkout, expected_version)
        with self._lock:
            stored = self._checkouts.get(checkout.id)
            actual = stored.version if stored is not None else 0
            if actual != expected_version:
                raise ConcurrencyConflict(
                    checkout.id, expected_version, stored.version if stored is not None else None
                )
            self._checkouts[checkout.id] = saved
        return saved

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout; returns the claim in force afterwards."""
        with self._lock:
            claim = self._claims.get(checkout_id)
            if claim is None or claim.expires_at <= now or claim.owner == owner:
                claim = Claim(checkout_id, owner, now + lease)
                self._claims[checkout_id] = claim
            return claim

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        with self._lock:
            claim = self._claims.get(checkout_id)
            if claim is not None and claim.owner == owner:
                del self._claims[checkout_id]

    def recall(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The record stored under an idempotency key, unless absent or expired."""
        with self._lock:
            record = self._records.get(key)
        return record if record is not None and record.expires_at > now else None

    def remember(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Store ``record`` unless an unexpired one has the key; return the one in force."""
        with self._lock:
            stored = self._records.get(record.key)
            if stored is not None and stored.expires_at > now:
                return stored
            self._records[record.key] = record
            return record

    def purge(self, now: datetime) -> int:
        """Remove claims and idempotency records expired at or before ``now``; how many."""
        with self._lock:
            claims = [key for key, claim in self._claims.items() if claim.expires_at <= now]
            records = [key for key, record in self._records.items() if record.expires_at <= now]
            for checkout_id in claims:
                del self._claims[checkout_id]
            for key in records:
                del self._records[key]
        return len(claims) + len(records)
