"""``orderflow db``: create a PostgreSQL store's tables, purge what expired from a store."""

from __future__ import annotations

import argparse
from typing import TextIO

from orderflow.adapters.cli.common import add_store_options, open_store, postgres_store
from orderflow.adapters.cli.jobs import duration
from orderflow.clock import SystemClock


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db init`` and ``db purge`` to the ``orderflow`` command."""
    database = commands.add_parser(
        "db",
        help="manage a store's database",
        description="Manage the database of a store: create its tables, purge what expired.",
    )
    actions = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create the store's tables (idempotent)",
        description="Create (or upgrade) the PostgreSQL store's tables, once, before the first "
        "service instance starts; safe to run again and concurrently.",
    )
    init.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    init.add_argument("--schema", help="PostgreSQL schema to create them in (default: search path)")
    init.set_defaults(run=run_init)
    purge = actions.add_parser(
        "purge",
        help="remove expired claims and idempotency keys (run it periodically)",
        description="Remove expired payment claims and idempotency keys from a store; with "
        "--finished-older-than, also paid and cancelled checkouts not updated for that long. "
        "A job for cron.",
    )
    add_store_options(purge)
    purge.add_argument(
        "--finished-older-than",
        type=duration,
        metavar="AGE",
        help="also remove paid and cancelled checkouts not updated for AGE (e.g. 365d)",
    )
    purge.set_defaults(run=run_purge)


def run_init(args: argparse.Namespace, out: TextIO) -> int:
    """Create the PostgreSQL store's tables."""
    with postgres_store(args.dsn, args.schema) as store:
        store.create_schema()
    where = f"schema {args.schema}" if args.schema else "the search path's schema"
    print(f"orderflow tables ready in {where}", file=out)
    return 0


def run_purge(args: argparse.Namespace, out: TextIO) -> int:
    """Remove expired claims and idempotency keys (and old finished checkouts) from a store."""
    now = SystemClock().now()
    finished = now - args.finished_older_than if args.finished_older_than is not None else None
    with open_store(args) as store:
        removed = store.purge(now, finished_before=finished)
    what = "expired claims and idempotency keys"
    if finished is not None:
        what += f", and finished checkouts not updated since {finished:%Y-%m-%d %H:%M} UTC"
    print(f"removed {removed}: {what}", file=out)
    return 0
