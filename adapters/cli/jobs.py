"""``orderflow checkouts``: the jobs a service runs from cron, over its store.

``list`` shows stored checkouts; ``reconcile`` asks Centra about every checkout whose payment
outcome is unknown and that has waited long enough (with ``--pending``, also those the shopper
left in ``payment_pending``); ``expire`` cancels checkouts abandoned
before paying. Each prints a line per checkout it acted on and a summary, and exits 1 when any
checkout failed (the others are still done). The jobs read the store a page of ``--limit`` at
a time, each page after the last one's (``Store.find``'s ``after``), so checkouts that keep
failing, and so stay first in line, never hide the others.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any, TextIO

from orderflow.adapters.cli.common import (
    API_KEY_ENV,
    EXIT_FAILED,
    MissingExtra,
    UserError,
    add_store_options,
    open_store,
)
from orderflow.calls import Call
from orderflow.checkout import Checkout
from orderflow.clock import SystemClock
from orderflow.errors import CentraUnavailable, OrderflowError
from orderflow.flow import State
from orderflow.ports import Store
from orderflow.service import CheckoutService

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
ABANDONABLE = (State.SELECTION, State.CONFIRMED, State.PAYMENT_FAILED)


MAX_AGE = timedelta(days=36_500)
"""The longest ``--older-than`` (100 years): longer would reach before year 1, which no
date can (``now - age`` overflows), and ``timedelta`` refuses more than ~10⁹ days anyway."""


def duration(text: str) -> timedelta:
    """``30s``, ``10m``, ``2h`` or ``90d`` as a ``timedelta`` (an argparse type), at most
    ``MAX_AGE``."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a duration like 30s, 10m, 2h or 90d: {text!r}")
    try:
        age = timedelta(**{_UNITS[found[2]]: int(found[1])})
    except (OverflowError, ValueError):  # past timedelta's range, or past int()'s 4300 digits
        age = None
    if age is None or age > MAX_AGE:
        raise argparse.ArgumentTypeError(
            f"{text.strip()[:40]!r} is longer than {MAX_AGE.days}d (100 years)"
        )
    return age


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``checkouts list|reconcile|expire`` to the ``orderflow`` command."""
    group = commands.add_parser(
        "checkouts",
        help="list stored checkouts; reconcile or expire them (jobs for cron)",
        description="Jobs over a store's checkouts, for cron: list them, reconcile those whose "
        "payment outcome is unknown, expire those abandoned before paying.",
    )
    jobs = group.add_subparsers(dest="job", required=True, metavar="JOB")

    listing = jobs.add_parser(
        "list",
        help="print stored checkouts",
        description="Print stored checkouts, least recently updated first.",
    )
    add_store_options(listing)
    listing.add_argument("--state", choices=[s.value for s in State], help="only in this state")
    listing.add_argument(
        "--unsettled", action="store_true", help="only those whose payment outcome is unknown"
    )
    listing.add_argument(
        "--older-than", type=duration, metavar="AGE", help="only those not updated for AGE"
    )
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    listing.set_defaults(run=run_list)

    reconcile = jobs.add_parser(
        "reconcile",
        help="ask Centra about checkouts whose payment outcome is unknown",
        description="Reconcile every checkout whose payment outcome is unknown and that was not "
        f"updated for AGE: ask Centra (the Shop API at --base-url, key from ${API_KEY_ENV}) "
        "whether it became an order.",
    )
    add_store_options(reconcile)
    reconcile.add_argument("--base-url", required=True, metavar="URL", help="the Shop API's base")
    reconcile.add_argument(
        "--older-than",
        type=duration,
        default=timedelta(minutes=5),
        metavar="AGE",
        help="only checkouts not updated for AGE (default 5m: calls in flight finish first)",
    )
    reconcile.add_argument(
        "--pending",
        action="store_true",
        help="also checkouts left in payment_pending for AGE: a provider can complete a payment "
        "the shopper never came back from, and only Centra knows",
    )
    reconcile.add_argument(
        "--limit",
        type=int,
        default=500,
        help="checkouts read from the store at a time (default 500); every match is done",
    )
    reconcile.set_defaults(run=run_reconcile)

    expire = jobs.add_parser(
        "expire",
        help="cancel checkouts abandoned before paying",
        description="Expire every checkout in selection, confirmed or payment_failed (without a "
        "payment in flight) that was not updated for AGE.",
    )
    add_store_options(expire)
    expire.add_argument(
        "--older-than",
        type=duration,
        required=True,
        metavar="AGE",
        help="only checkouts not updated for AGE (e.g. 2h)",
    )
    expire.add_argument(
        "--limit",
        type=int,
        default=500,
        help="checkouts read from the store at a time (default 500); every match is done",
    )
    expire.set_defaults(run=run_expire)


def _row(checkout: Checkout) -> dict[str, Any]:
    return {
        "checkout": checkout.id,
        "state": checkout.state.value,
        "updated_at": checkout.updated_at.isoformat(),
        "order": checkout.order,
        "unsettled": checkout.outcome_unknown.value if checkout.outcome_unknown else None,
    }


def run_list(args: argparse.Namespace, out: TextIO) -> int:
    """Print the checkouts the filters find."""
    before = SystemClock().now() - args.older_than if args.older_than is not None else None
    with open_store(args) as store:
        found = _find(
            store,
            state=args.state,
            outcome_unknown=True if args.unsettled else None,
            updated_before=before,
            limit=args.limit,
        )
    rows = [_row(checkout) for checkout in found]
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return 0
    for row in rows:
        unsettled = f"  (payment in flight: {row['unsettled']})" if row["unsettled"] else ""
        order = f"  order {row['order']}" if row["order"] else ""
        print(f"{row['checkout']}  {row['state']}  {row['updated_at']}{order}{unsettled}", file=out)
    print(f"{len(rows)} checkout{'s' * (len(rows) != 1)}", file=out)
    return 0


def run_reconcile(args: argparse.Namespace, out: TextIO) -> int:
    """Reconcile unsettled checkouts; exit 1 if Centra could not settle one of them."""
    with ExitStack() as stack:
        store = stack.enter_context(open_store(args))
        transport = stack.enter_context(_shop_api(args.base_url))
        service = CheckoutService(transport=transport, store=store)
        before = SystemClock().now() - args.older_than
        found = _pages(store, args.limit, outcome_unknown=True, updated_before=before)
        if args.pending:
            found = itertools.chain(
                found,
                _pages(
                    store,
                    args.limit,
                    state=State.PAYMENT_PENDING,
                    outcome_unknown=False,
                    updated_before=before,
                ),
            )
        return _each(found, service.reconcile, "reconciled", out)


def run_expire(args: argparse.Namespace, out: TextIO) -> int:
    """Expire abandoned checkouts; exit 1 if one of them could not be expired."""
    with open_store(args) as store:
        service = CheckoutService(transport=_NoCentra(), store=store)
        before = SystemClock().now() - args.older_than
        found = itertools.chain.from_iterable(
            _pages(store, args.limit, state=state, outcome_unknown=False, updated_before=before)
            for state in ABANDONABLE
        )
        return _each(found, service.expire, "expired", out)


def _find(store: Store, **filters: Any) -> list[Checkout]:
    try:
        return store.find(**filters)
    except ValueError as error:
        raise UserError(str(error)) from None


def _pages(store: Store, limit: int, **filters: Any) -> Iterator[Checkout]:
    """Every checkout ``filters`` find, read ``limit`` at a time: each page starts after the
    last checkout of the one before, whatever the job did to it. Only moving forward, a walk
    ends even while checkouts are saved (one saved now moves past a job's ``updated_before``).
    """
    after: tuple[datetime, str] | None = None
    while True:
        page = _find(store, limit=limit, after=after, **filters)
        yield from page
        if len(page) < limit:
            return
        after = (page[-1].updated_at, page[-1].id)


def _each(found: Iterable[Checkout], act: Callable[[str], Checkout], verb: str, out: TextIO) -> int:
    done = failed = 0
    for checkout in found:
        try:
            after = act(checkout.id)
        except OrderflowError as error:
            failed += 1
            print(f"{checkout.id}: failed: {' '.join(str(error).split())}", file=out)
            continue
        done += 1
        order = f" (order {after.order})" if after.order else ""
        print(f"{checkout.id}: {checkout.state.value} -> {after.state.value}{order}", file=out)
    print(f"{done} {verb}, {failed} failed", file=out)
    return EXIT_FAILED if failed else 0


def _shop_api(base_url: str) -> Any:
    try:
        from orderflow.adapters.shop_api.client import ShopApiClient
    except ImportError:
        raise MissingExtra("checkouts reconcile", "http") from None
    try:
        return ShopApiClient(base_url, os.environ.get(API_KEY_ENV) or None)
    except ValueError as error:
        raise UserError(f"--base-url: {error}") from None


class _NoCentra:
    """The transport of a job that calls nothing: a call would be a bug, reported as one."""

    def send(self, call: Call[Any]) -> Any:
        raise CentraUnavailable(call.label, "this job has no Centra to call")
