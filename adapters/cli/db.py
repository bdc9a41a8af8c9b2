"""``orderflow db``: create a PostgreSQL store's tables, purge what expired from a store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from orderflow.adapters.cli.common import MissingExtra, UserError, existing_file
from orderflow.clock import SystemClock

if TYPE_CHECKING:
    from orderflow.adapters.stores.postgres import PostgresStore
    from orderflow.adapters.stores.sqlite import SQLiteStore


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
        description="Create the PostgreSQL store's tables, once, before the first service "
        "instance starts; safe to run again and concurrently.",
    )
    init.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    init.add_argument("--schema", help="PostgreSQL schema to create them in (default: search path)")
    init.set_defaults(run=run_init)
    purge = actions.add_parser(
        "purge",
        help="remove expired claims and idempotency keys (run it periodically)",
        description="Remove expired payment claims and idempotency keys from a store; "
        "a job for cron. Checkouts are never removed.",
    )
    purge.add_argument("--dsn", help="PostgreSQL connection string")
    purge.add_argument("--schema", help="the PostgreSQL schema of the tables")
    purge.add_argument("--sqlite", metavar="PATH", help="a SQLite store's file instead")
    purge.set_defaults(run=run_purge)


def postgres_store(args: argparse.Namespace) -> PostgresStore:
    """The PostgreSQL store ``--dsn`` and ``--schema`` name."""
    try:
        from orderflow.adapters.stores.postgres import PostgresStore
    except ImportError:
        raise MissingExtra(f"db {args.db_command}", "postgres") from None
    try:
        return PostgresStore(args.dsn, schema=args.schema)
    except ValueError as error:
        raise UserError(f"--schema: {error}") from None


def run_init(args: argparse.Namespace, out: TextIO) -> int:
    """Create the PostgreSQL store's tables."""
    with postgres_store(args) as store:
        store.create_schema()
    where = f"schema {args.schema}" if args.schema else "the search path's schema"
    print(f"orderflow tables ready in {where}", file=out)
    return 0


def run_purge(args: argparse.Namespace, out: TextIO) -> int:
    """Remove expired claims and idempotency keys from a store (for a periodic job)."""
    if bool(args.dsn) == bool(args.sqlite):
        raise UserError("db purge needs one store: --dsn DSN (PostgreSQL) or --sqlite PATH")
    store: SQLiteStore | PostgresStore
    if args.sqlite:
        from orderflow.adapters.stores.sqlite import SQLiteStore

        store = SQLiteStore(existing_file("--sqlite", args.sqlite))
    else:
        store = postgres_store(args)
    with store:
        removed = store.purge(SystemClock().now())
    print(f"removed {removed} expired claims and idempotency keys", file=out)
    return 0
