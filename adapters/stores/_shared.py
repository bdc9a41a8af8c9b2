"""What every store shares: the version a save gives, the checks of times and of ``find``'s
filters, the decoded-checkout cache, and the async form of a sync store (``AsyncFacade``).
What only the two SQL stores share is in ``_sql`` (every statement) and ``_queries`` (every
method as the steps it takes).

Decoding a stored checkout costs far more than reading it (its cart alone is ~40 objects), and
a service loads the same checkout again and again while a shopper pays. ``DecodedCheckouts``
keeps the last decoded checkouts, each with the *stamp* of the stored state it was decoded from
or saved as, and hands one back only when the database reports that very stamp, so a stale
object can never be returned: every write of the row changes its stamp. Both databases keep
the text they are given (PostgreSQL's ``json``, not ``jsonb``, which would give floats and
``-0.0`` back as other text and refuse U+0000), so a checkout is kept as saved. SQLite's stamp
is the text itself; PostgreSQL's is the row version's ``xmin``, the transaction that wrote it,
which the database compares itself and which spares sending the body back at all.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self, TypeVar

import attrs

from orderflow import flow
from orderflow.checkout import Checkout
from orderflow.codec import dumps, loads
from orderflow.flow import State
from orderflow.ports import Claim, ClaimedSave, GateStore, IdempotencyRecord

T = TypeVar("T")

MOST_FOUND = 10_000
"""The largest ``limit`` of ``find``."""

FINISHED = tuple(sorted(flow.FINAL))
"""The final states: what ``purge(finished_before=...)`` removes."""


def versioned(checkout: Checkout, expected_version: int) -> Checkout:
    """``checkout`` as a save stores it: with ``version`` ``expected_version + 1``."""
    if checkout.version == expected_version + 1:
        return checkout
    return attrs.evolve(checkout, version=expected_version + 1)


def aware(moment: datetime) -> datetime:
    """``moment``, checked. Raises ``ValueError`` for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment!r}")
    return moment


def unreserved(record: IdempotencyRecord) -> IdempotencyRecord:
    """``record``, checked as ``reserve`` takes it. Raises ``ValueError`` if it has a result."""
    if record.result is not None:
        raise ValueError(f"a record to reserve has no result yet (key {record.key!r})")
    aware(record.lease_until)
    aware(record.expires_at)
    return record


@attrs.frozen
class Filters:
    """What ``find`` looks for, checked: see ``Store.find``."""

    state: State | None = None
    outcome_unknown: bool | None = None
    updated_before: datetime | None = None
    order: str | None = None
    selection: str | None = None
    limit: int = 100
    after: tuple[datetime, str] | None = None

    @classmethod
    def of(
        cls,
        *,
        state: State | str | None,
        outcome_unknown: bool | None,
        updated_before: datetime | None,
        order: str | None,
        selection: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Filters:
        """The filters ``find`` was given. Raises ``ValueError`` for an unknown state, a limit
        out of range, a naive ``updated_before`` or an ``after`` that is not an aware
        ``(updated_at, id)``."""
        if state is not None and not isinstance(state, State):
            try:
                state = State(state)
            except ValueError:
                known = ", ".join(s.value for s in State)
                raise ValueError(f"unknown state {state!r}; the states are {known}") from None
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MOST_FOUND:
            raise ValueError(f"limit must be an integer from 1 to {MOST_FOUND}, not {limit!r}")
        if updated_before is not None:
            aware(updated_before)
        if after is not None:
            after = _position(after)
        return cls(state, outcome_unknown, updated_before, order, selection, limit, after)

    def match(self, checkout: Checkout) -> bool:
        """Whether ``checkout`` is one ``find`` looks for (the memory store's filter)."""
        unknown = self.outcome_unknown
        return (
            (self.state is None or checkout.state is self.state)
            and (unknown is None or (checkout.outcome_unknown is not None) == unknown)
            and (self.updated_before is None or checkout.updated_at < self.updated_before)
            and (self.order is None or checkout.order == self.order)
            and (self.selection is None or checkout.selection_id == self.selection)
            and (self.after is None or (checkout.updated_at, checkout.id) > self.after)
        )


def _position(after: object) -> tuple[datetime, str]:
    """``after``, checked as ``find`` takes it. Raises ``ValueError`` naming ``after``."""
    if (
        not isinstance(after, tuple)
        or len(after) != 2
        or not isinstance(after[0], datetime)
        or not isinstance(after[1], str)
    ):
        raise ValueError(
            f"after must be a checkout's (updated_at, id): a datetime and a str, not {after!r}"
        )
    moment, checkout_id = after
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"after needs a timezone-aware updated_at, got {moment!r}")
    return moment, checkout_id


class DecodedCheckouts:
    """Encode and decode stored checkouts, keeping up to ``size`` decoded ones (0: none), each
    with the stamp of the stored state it is (see the module's docstring)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: dict[str, tuple[str, Checkout]] = {}
        self._lock = threading.Lock()

    def known(self, checkout_id: str) -> tuple[str, Checkout] | None:
        """The stamp and the checkout kept for ``checkout_id``, if any."""
        return self._entries.get(checkout_id)

    def recent(self, checkout_id: str) -> Checkout | None:
        """The checkout kept for ``checkout_id`` (possibly out of date), if any."""
        known = self._entries.get(checkout_id)
        return known[1] if known is not None else None

    def stamp(self, checkout_id: str, version: int) -> str | None:
        """The stamp of the kept checkout if it is at ``version``; else ``None``."""
        known = self._entries.get(checkout_id)
        return known[0] if known is not None and known[1].version == version else None

    def decode(self, checkout_id: str, stamp: str, body: str) -> Checkout:
        """The checkout stored as ``body`` with ``stamp``. Raises ``PayloadError`` for a
        damaged body."""
        known = self._entries.get(checkout_id)
        if known is not None and known[0] == stamp:
            return known[1]
        checkout = loads(body, Checkout, source=f"stored checkout {checkout_id!r}")
        self.keep(checkout_id, stamp, checkout)
        return checkout

    @staticmethod
    def encode(checkout: Checkout) -> str:
        """The JSON text to store for ``checkout``."""
        return dumps(checkout)

    def keep(self, checkout_id: str, stamp: str, checkout: Checkout) -> None:
        """Keep ``checkout``, stored with ``stamp`` (call it once the write succeeded)."""
        if not self._size:
            return
        with self._lock:
            self._entries.pop(checkout_id, None)
            self._entries[checkout_id] = (stamp, checkout)
            if len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]


class AsyncFacade:
    """An ``AsyncGateStore`` over a sync ``GateStore``: each method hands the sync one to
    ``_call``.

    Subclasses decide how a call runs (directly, or in a worker thread) and what closing means.
    """

    def _call(self, work: Callable[[GateStore], T]) -> Awaitable[T]:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release the store's resources; the store cannot be used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def load(self, checkout_id: str) -> Checkout:
        """See ``Store.load``."""
        return await self._call(lambda store: store.load(checkout_id))

    async def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """See ``Store.save``."""
        return await self._call(lambda store: store.save(checkout, expected_version))

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
        return await self._call(
            lambda store: store.find(
                state=state,
                outcome_unknown=outcome_unknown,
                updated_before=updated_before,
                order=order,
                selection=selection,
                limit=limit,
                after=after,
            )
        )

    async def acquire_claim(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        """See ``Store.acquire_claim``."""
        return await self._call(lambda store: store.acquire_claim(checkout_id, owner, now, lease))

    async def release_claim(self, checkout_id: str, owner: str) -> None:
        """See ``Store.release_claim``."""
        await self._call(lambda store: store.release_claim(checkout_id, owner))

    async def recent(self, checkout_id: str) -> Checkout | None:
        """See ``GateStore.recent``."""
        return await self._call(lambda store: store.recent(checkout_id))

    async def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """See ``GateStore.claim_and_save``."""
        return await self._call(
            lambda store: store.claim_and_save(checkout, expected_version, owner, now, lease)
        )

    async def save_and_release(
        self, checkout: Checkout, expected_version: int, owner: str
    ) -> Checkout:
        """See ``GateStore.save_and_release``."""
        return await self._call(
            lambda store: store.save_and_release(checkout, expected_version, owner)
        )

    async def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """See ``Store.reserve``."""
        return await self._call(lambda store: store.reserve(record, now))

    async def complete(self, key: str, owner: str, result: str) -> bool:
        """See ``Store.complete``."""
        return await self._call(lambda store: store.complete(key, owner, result))

    async def abandon(self, key: str, owner: str) -> None:
        """See ``Store.abandon``."""
        await self._call(lambda store: store.abandon(key, owner))

    async def forget(self, checkout_id: str) -> int:
        """See ``Store.forget``."""
        return await self._call(lambda store: store.forget(checkout_id))

    async def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """See ``Store.purge``."""
        return await self._call(lambda store: store.purge(now, finished_before=finished_before))
