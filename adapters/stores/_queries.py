"""Every ``Store`` method as the steps it takes on a SQL database (``Queries``), written once
for SQLite and PostgreSQL, sync and async; and the sync store built on them (``SQLStore``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

import attrs

from orderflow.adapters.stores._shared import (
    DecodedCheckouts,
    Filters,
    unreserved,
    versioned,
)
from orderflow.adapters.stores._sql import SEARCHED, Fetch, Query, Statements, Steps, Work
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict
from orderflow.flow import State
from orderflow.ports import Claim, ClaimedSave, IdempotencyRecord

T = TypeVar("T")


class Queries:
    """Every ``Store`` method as the ``Work`` it takes on one database, arguments checked first.

    ``at`` turns a time into what the database stores (``ValueError`` for a naive one) and
    ``time`` back into a UTC datetime. ``cache_size`` decoded checkouts are kept.
    """

    def __init__(
        self,
        sql: Statements,
        *,
        at: Callable[[datetime], Any],
        time: Callable[[Any], datetime],
        cache_size: int,
    ) -> None:
        self._sql = sql
        self._at = at
        self._time = time
        self._decoded = DecodedCheckouts(cache_size)

    def load(self, checkout_id: str) -> Work[Checkout]:
        """See ``Store.load``."""
        known = self._decoded.known(checkout_id)

        def steps() -> Steps[Checkout]:
            params = {"id": checkout_id, "known": known[0] if known is not None else None}
            row = yield Query(self._sql.load, params)
            if row is None:
                raise CheckoutNotFound(checkout_id)
            version, stamp, body = row
            if body is None:  # PostgreSQL found the stamp it was sent: the state decoded
                assert known is not None
                return self._versioned(known[1], version)
            return self._checkout(checkout_id, version, stamp, body)

        return Work(steps())

    def save(self, checkout: Checkout, expected_version: int) -> Work[Checkout]:
        """See ``Store.save``."""
        saved, params = self._saving(checkout, expected_version)
        statement = self._sql.create if expected_version == 0 else self._sql.update

        def steps() -> Steps[Checkout]:
            row = yield Query(statement, params)
            if row is None:
                yield from self._conflict(saved.id, expected_version)
            return self._kept(saved, row[0], params["body"])

        return Work(steps())

    def recent(self, checkout_id: str) -> Checkout | None:
        """See ``GateStore.recent``: the decoded checkout kept, with no query."""
        return self._decoded.recent(checkout_id)

    def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> Work[ClaimedSave]:
        """See ``GateStore.claim_and_save``: one statement on PostgreSQL, one transaction of
        two on SQLite."""
        saved, params = self._saving(checkout, expected_version)
        params.update(self._claiming(saved.id, owner, now, lease))
        params["known"] = self._decoded.stamp(saved.id, expected_version)
        sql = self._sql

        def one_statement() -> Steps[ClaimedSave]:
            while True:
                row = yield Query(sql.claim_and_save, params)
                if row is None:  # a claim written after the statement's snapshot: read it
                    row = yield Query(sql.read_claim, {"id": saved.id})
                    if row is None:
                        continue  # released meanwhile: try again
                    row = (*row, None)
                holder, expires_at, stamp = row
                claim = Claim(saved.id, holder, self._time(expires_at))
                if stamp is None:
                    return ClaimedSave(claim, None)
                return ClaimedSave(claim, self._kept(saved, stamp, params["body"]))

        def in_a_transaction() -> Steps[ClaimedSave]:
            row = yield Query(sql.claim, params)
            if row is None:  # another owner's; the transaction holds the write lock
                row = yield Query(sql.read_claim, {"id": saved.id})
                return ClaimedSave(Claim(saved.id, row[0], self._time(row[1])), None)
            claim = Claim(saved.id, row[0], self._time(row[1]))
            row = yield Query(sql.update_unchanged, params)
            if row is None:
                return ClaimedSave(claim, None)
            return ClaimedSave(claim, self._kept(saved, row[0], params["body"]))

        if sql.claim_and_save:
            return Work(one_statement())
        return Work(in_a_transaction(), atomic=True)

    def save_and_release(
        self, checkout: Checkout, expected_version: int, owner: str
    ) -> Work[Checkout]:
        """See ``GateStore.save_and_release`` (version 0 creates, as ``save``): one statement on
        PostgreSQL, one transaction of two on SQLite."""
        saved, params = self._saving(checkout, expected_version)
        params["owner"] = owner
        sql = self._sql
        creates = expected_version == 0  # as ``save``: version 0 creates the checkout

        def one_statement() -> Steps[Checkout]:
            row = yield Query(sql.create_and_release if creates else sql.save_and_release, params)
            if row is None:
                yield from self._conflict(saved.id, expected_version)
            return self._kept(saved, row[0], params["body"])

        def in_a_transaction() -> Steps[Checkout]:
            row = yield Query(sql.create if creates else sql.update, params)
            if row is None:
                yield from self._conflict(saved.id, expected_version)
            yield Query(sql.release, {"id": saved.id, "owner": owner}, Fetch.NOTHING)
            return self._kept(saved, row[0], params["body"])

        if sql.save_and_release:
            return Work(one_statement())
        return Work(in_a_transaction(), atomic=True)

    def find(self, filters: Filters) -> Work[list[Checkout]]:
        """See ``Store.find``."""
        sql = self._sql
        where: list[str] = []
        params: dict[str, Any] = {"limit": filters.limit}
        if filters.state is not None:
            where.append(sql.find_state)
            params["state"] = filters.state.value
        if filters.outcome_unknown is not None:
            where.append(sql.find_unknown if filters.outcome_unknown else sql.find_known)
        if filters.updated_before is not None:
            where.append(sql.find_before)
            params["before"] = self._at(filters.updated_before)
        if filters.order is not None:
            where.append(sql.find_order_number)
            params["order"] = filters.order
        if filters.selection is not None:
            where.append(sql.find_selection)
            params["selection"] = filters.selection
        if filters.after is not None:
            where.append(sql.find_after)
            params["after_at"] = self._at(filters.after[0])
            params["after_id"] = filters.after[1]
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        text = " ".join(filter(None, [sql.find, condition, sql.find_sorted]))

        def steps() -> Steps[list[Checkout]]:
            rows = yield Query(text, params, Fetch.ALL)
            return [self._checkout(*row) for row in rows]

        return Work(steps())

    def acquire_claim(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Work[Claim]:
        """See ``Store.acquire_claim``: one statement when the claim is free or the owner's."""
        params = self._claiming(checkout_id, owner, now, lease)

        def steps() -> Steps[Claim]:
            while True:
                row = yield Query(self._sql.claim, params)
                if row is None:  # another owner holds it
                    row = yield Query(self._sql.read_claim, {"id": checkout_id})
                if row is not None:
                    return Claim(checkout_id, row[0], self._time(row[1]))
                # released between the two statements: try again

        return Work(steps())

    def release_claim(self, checkout_id: str, owner: str) -> Work[None]:
        """See ``Store.release_claim``."""
        return self._only(self._sql.release, {"id": checkout_id, "owner": owner})

    def reserve(self, record: IdempotencyRecord, now: datetime) -> Work[IdempotencyRecord]:
        """See ``Store.reserve``; ``ValueError`` for a record with a result."""
        unreserved(record)
        params = {
            "key": record.key,
            "fingerprint": record.fingerprint,
            "owner": record.owner,
            "lease_until": self._at(record.lease_until),
            "expires_at": self._at(record.expires_at),
            "checkout_id": record.checkout_id,
            "attempt": record.attempt,
            "now": self._at(now),
        }

        def steps() -> Steps[IdempotencyRecord]:
            while True:
                row = yield Query(self._sql.reserve, params)
                if row is None:  # the stored record stays
                    row = yield Query(self._sql.read_record, {"key": record.key})
                if row is not None:
                    return self._record(row)
                # removed between the two statements: try again

        return Work(steps())

    def complete(self, key: str, owner: str, result: str) -> Work[bool]:
        """See ``Store.complete``."""
        params = {"key": key, "owner": owner, "result": result}

        def steps() -> Steps[bool]:
            changed = yield Query(self._sql.complete, params, Fetch.COUNT)
            return bool(changed == 1)

        return Work(steps())

    def abandon(self, key: str, owner: str) -> Work[None]:
        """See ``Store.abandon``."""
        return self._only(self._sql.abandon, {"key": key, "owner": owner})

    def forget(self, checkout_id: str) -> Work[int]:
        """See ``Store.forget``."""
        return self._counted([self._sql.forget], {"id": checkout_id}, atomic=False)

    def purge(self, now: datetime, finished_before: datetime | None) -> Work[int]:
        """See ``Store.purge``."""
        sql = self._sql
        params = {"now": self._at(now)}
        statements = [sql.purge_claims]
        if finished_before is not None:
            params["before"] = self._at(finished_before)
            # Claims and records first: they are found through the checkouts they belong to.
            statements += [
                sql.purge_finished_claims,
                sql.purge_finished_records,
                sql.purge_finished,
            ]
        statements.append(sql.purge_records)
        return self._counted(statements, params, atomic=True)

    # --- internals ----------------------------------------------------------------------------

    def _checkout(self, checkout_id: str, version: int, stamp: str | None, body: str) -> Checkout:
        checkout = self._decoded.decode(checkout_id, body if stamp is None else stamp, body)
        return self._versioned(checkout, version)

    @staticmethod
    def _versioned(checkout: Checkout, version: int) -> Checkout:
        return checkout if checkout.version == version else attrs.evolve(checkout, version=version)

    def _saving(self, checkout: Checkout, expected_version: int) -> tuple[Checkout, dict[str, Any]]:
        """The checkout as saved, and the parameters of the statements that save it."""
        saved = versioned(checkout, expected_version)
        params = {
            "id": saved.id,
            "version": saved.version,
            "state": saved.state.value,
            "updated_at": self._at(saved.updated_at),
            **{column.name: column.value(saved) for column in SEARCHED},
            "body": self._decoded.encode(saved),
            "expected": expected_version,
        }
        return saved, params

    def _claiming(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> dict[str, Any]:
        return {
            "id": checkout_id,
            "owner": owner,
            "now": self._at(now),
            "expires_at": self._at(now + lease),
        }

    def _kept(self, saved: Checkout, stamp: str | None, body: str) -> Checkout:
        """``saved``, written as ``body`` with ``stamp``, kept: SQLite's stamp is ``None`` (the
        text it keeps verbatim is the stamp); PostgreSQL's is its ``xmin``."""
        self._decoded.keep(saved.id, body if stamp is None else stamp, saved)
        return saved

    def _conflict(self, checkout_id: str, expected_version: int) -> Steps[NoReturn]:
        row = yield Query(self._sql.version, {"id": checkout_id})
        raise ConcurrencyConflict(checkout_id, expected_version, row[0] if row else None)

    def _record(self, row: Any) -> IdempotencyRecord:
        key, fingerprint, owner, lease_until, expires_at, result, checkout_id, attempt = row
        return IdempotencyRecord(
            key,
            fingerprint,
            owner,
            self._time(lease_until),
            self._time(expires_at),
            result,
            checkout_id,
            attempt,
        )

    @staticmethod
    def _only(sql: str, params: Mapping[str, Any]) -> Work[None]:
        def steps() -> Steps[None]:
            yield Query(sql, params, Fetch.NOTHING)

        return Work(steps())

    @staticmethod
    def _counted(statements: list[str], params: Mapping[str, Any], *, atomic: bool) -> Work[int]:
        def steps() -> Steps[int]:
            removed = 0
            for sql in statements:
                changed: int = yield Query(sql, params, Fetch.COUNT)
                removed += changed
            return removed

        return Work(steps(), atomic=atomic)


# --- the sync store -----------------------------------------------------------------------------


class SQLStore:
    """A ``Store`` whose methods are ``Queries``, run by the subclass's ``_run``.

    Raises only core errors: ``CheckoutNotFound``, ``ConcurrencyConflict``, ``StoreError``, and
    ``ValueError`` for bad arguments (a naive time, a ``find`` filter out of range).
    """

    def __init__(self, queries: Queries) -> None:
        self._queries = queries

    def _run(self, work: Work[T]) -> T:
        raise NotImplementedError

    def close(self) -> None:
        """Release the store's connections; the store cannot be used afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def load(self, checkout_id: str) -> Checkout:
        """The stored checkout. Raises ``CheckoutNotFound``."""
        return self._run(self._queries.load(checkout_id))

    def save(self, checkout: Checkout, expected_version: int) -> Checkout:
        """Store ``checkout`` if the stored version is still ``expected_version`` (see
        ``Store.save``). Raises ``ConcurrencyConflict`` when it is not."""
        return self._run(self._queries.save(checkout, expected_version))

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
        return self._run(self._queries.find(filters))

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically; the claim in force afterwards."""
        return self._run(self._queries.acquire_claim(checkout_id, owner, now, lease))

    def recent(self, checkout_id: str) -> Checkout | None:
        """The checkout as this store last saved, loaded or found it, if it kept it (no query;
        see ``GateStore.recent``)."""
        return self._queries.recent(checkout_id)

    def claim_and_save(
        self,
        checkout: Checkout,
        expected_version: int,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> ClaimedSave:
        """Take the claim and, if it is then ``owner``'s and the stored checkout unchanged, save
        ``checkout``, atomically (see ``GateStore.claim_and_save``)."""
        return self._run(
            self._queries.claim_and_save(checkout, expected_version, owner, now, lease)
        )

    def save_and_release(self, checkout: Checkout, expected_version: int, owner: str) -> Checkout:
        """Save ``checkout`` and, if it saved, release ``owner``'s claim, atomically (see
        ``GateStore.save_and_release``). Raises ``ConcurrencyConflict`` as ``save`` does."""
        return self._run(self._queries.save_and_release(checkout, expected_version, owner))

    def release_claim(self, checkout_id: str, owner: str) -> None:
        """Give up ``owner``'s claim; does nothing if ``owner`` does not hold it."""
        self._run(self._queries.release_claim(checkout_id, owner))

    def reserve(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord:
        """Reserve ``record.key`` for ``record.owner``, atomically; the record in force after
        (see ``Store.reserve``). Raises ``ValueError`` for a record with a result."""
        return self._run(self._queries.reserve(record, now))

    def complete(self, key: str, owner: str, result: str) -> bool:
        """Store ``result`` under ``key`` if ``owner`` holds it; whether it did."""
        return self._run(self._queries.complete(key, owner, result))

    def abandon(self, key: str, owner: str) -> None:
        """Remove ``owner``'s running reservation of ``key``; nothing if it does not hold it."""
        self._run(self._queries.abandon(key, owner))

    def forget(self, checkout_id: str) -> int:
        """Remove every idempotency record of ``checkout_id``; how many."""
        return self._run(self._queries.forget(checkout_id))

    def purge(self, now: datetime, *, finished_before: datetime | None = None) -> int:
        """Remove what expired at or before ``now`` and, with ``finished_before``, the final
        checkouts saved before it with their records and claims, in one transaction; how many
        rows (see ``Store.purge``)."""
        return self._run(self._queries.purge(now, finished_before))
