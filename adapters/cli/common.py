"""What every ``orderflow`` command shares: the user's mistakes, exit statuses, extras."""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from orderflow.adapters.stores.postgres import PostgresStore
    from orderflow.adapters.stores.sqlite import SQLiteStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
API_KEY_ENV = "CENTRA_API_KEY"

Command = Callable[[argparse.Namespace, TextIO], int]
"""A subcommand: the parsed arguments and where to print; returns the exit status."""


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


class MissingExtra(Exception):
    """An optional dependency is not installed; printed as one line naming the extra, exit 1."""

    def __init__(self, what: str, extra: str):
        super().__init__(
            f"{what} needs the {extra!r} extra: pip install 'centra-orderflow[{extra}]'"
        )


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (an optional extra is installed)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
        return False


def existing_file(option: str, path: str) -> Path:
    """``path`` as a ``Path``; raises ``UserError`` naming ``option`` when it is no file."""
    found = Path(path)
    if not found.is_file():
        raise UserError(f"{option} {path}: no such file")
    return found


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """``--sqlite PATH`` or ``--dsn DSN`` (with ``--schema``): the store a command works on."""
    parser.add_argument("--sqlite", metavar="PATH", help="a SQLite store's file")
    parser.add_argument("--dsn", help="a PostgreSQL store's connection string")
    parser.add_argument("--schema", help="the PostgreSQL schema of the store's tables")


def open_store(args: argparse.Namespace) -> SQLiteStore | PostgresStore:
    """The store ``--sqlite`` or ``--dsn`` names; ``UserError`` unless exactly one is given."""
    if bool(args.dsn) == bool(args.sqlite):
        raise UserError("give one store: --sqlite PATH or --dsn DSN (PostgreSQL)")
    if args.sqlite:
        if args.schema:
            raise UserError("--schema is for a PostgreSQL store (--dsn)")
        from orderflow.adapters.stores.sqlite import SQLiteStore

        return SQLiteStore(existing_file("--sqlite", args.sqlite))
    return postgres_store(args.dsn, args.schema)


def postgres_store(dsn: str, schema: str | None) -> PostgresStore:
    """The PostgreSQL store of ``dsn`` and ``schema``."""
    try:
        from orderflow.adapters.stores.postgres import PostgresStore
    except ImportError:
        raise MissingExtra("a PostgreSQL store", "postgres") from None
    try:
        return PostgresStore(dsn, schema=schema)
    except ValueError as error:
        # The schema is checked first; a connection string that does not parse comes after.
        text = str(error)
        option = "--dsn" if text.startswith("not a PostgreSQL connection string") else "--schema"
        raise UserError(f"{option}: {text}") from None
