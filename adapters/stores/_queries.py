"""Every ``Store`` method as the steps it takes on a SQL database (``Queries``), written once
for SQLite and PostgreSQL, sync and async; and the sync store built on them (``SQLStore``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from orderflow.adapters.stores._shared import DecodedCheckouts, Filters, unreserved, versioned
from orderflow.adapters.stores._sql import SEARCHED, Fetch, Query, Statements, Steps, Work
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, ConcurrencyConflict
from orderflow.flow import State
from orderflow.ports import Claim, IdempotencyRecord

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

        def steps() -> Steps[Checkout]:
            row = yield Query(self._sql.load, {"id": checkout_id})
            if row is None:
                raise CheckoutNotFound(checkout_id)
            return self._checkout(checkout_id, row[0], row[1])

        return Work(steps())

    def save(self, checkout: Checkout, expected_version: int) -> Work[Checkout]:
        """See ``Store.save``."""
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
        statement = self._sql.create if expected_version == 0 else self._sql.update

        def steps() -> Steps[Checkout]:
            changed = yield Query(statement, params, Fetch.COUNT)
            if changed != 1:
                row = yield Query(self._sql.version, {"id": saved.id})
                raise ConcurrencyConflict(saved.id, expected_version, row[0] if row else None)
            return saved

        return Work(steps())

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
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        text = " ".join(filter(None, [sql.find, condition, sql.find_sorted]))

        def steps() -> Steps[list[Checkout]]:
            rows = yield Query(text, params, Fetch.ALL)
            return [self._checkout(*row) for row in rows]

        return Work(steps())

    def acquire_claim(
        self, checkout_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Work[Claim]:
        """See ``Store.acquire_claim``."""
        params = {
            "id": checkout_id,
            "owner": owner,
            "now": self._at(now),
            "expires_at": self._at(now + lease),
        }

        def steps() -> Steps[Claim]:
            row = yield Query(self._sql.claim, params)
            if row is None:  # another owner holds it; the upsert locked its row
                row = yield Query(self._sql.read_claim, {"id": checkout_id})
            return Claim(checkout_id, row[0], self._time(row[1]))

        return Work(steps(), atomic=True)

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
            row = yield Query(self._sql.reserve, params)
            if row is None:  # the stored record stays; the upsert locked its row
                row = yield Query(self._sql.read_record, {"key": record.key})
            return self._record(row)

        return Work(steps(), atomic=True)

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

    def _checkout(self, checkout_id: str, version: int, body: str) -> Checkout:
        checkout = self._decoded.decode(checkout_id, body)
        return checkout if checkout.version == version else attrs.evolve(checkout, version=version)

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
    ) -> list[Checkout]:
        """Stored checkouts matching every filter given, least recently updated first (see
        ``Store.find``). Raises ``ValueError`` for an unknown state or a limit out of range."""
        filters = Filters.of(
            state=state,
            outcome_unknown=outcome_unknown,
            updated_before=updated_before,
            order=order,
            selection=selection,
            limit=limit,
        )
        return self._run(self._queries.find(filters))

    def acquire_claim(self, checkout_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take or renew the claim on a checkout, atomically; the claim in force afterwards."""
        return self._run(self._queries.acquire_claim(checkout_id, owner, now, lease))

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
