"""The ``orderflow`` command: the composition root that wires adapters to the core.

One module per command group (``demo``, ``jobs``, ``cassette``, ``db``, ``diagram``,
``server``), each adding its subcommands with ``register``. A user's mistake prints one line
(``orderflow: error: ...``) and exits 2; a failure exits 1; neither shows a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

import orderflow
from orderflow.adapters.cli import cassette, db, demo, diagram, jobs, server
from orderflow.adapters.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Command,
    MissingExtra,
    UserError,
)
from orderflow.errors import OrderflowError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``orderflow`` command."""
    parser = argparse.ArgumentParser(
        prog="orderflow", description="The checkout brain of storefront services on Centra."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {orderflow.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (demo, jobs, cassette, db, server, diagram):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``orderflow`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    # A command prints one line per failure; libraries' warnings (psycopg's pool retrying a
    # connection) would otherwise reach stderr through logging's last-resort handler.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    run: Command = args.run
    try:
        return run(args, out or sys.stdout)
    except (UserError, MissingExtra, OrderflowError) as error:
        # One line, whatever the error's own layout (a database driver's message has several).
        print(f"orderflow: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UserError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
