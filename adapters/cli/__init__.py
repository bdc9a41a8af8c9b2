"""The ``orderflow`` command: the composition root that wires adapters to the core.

One module per command group (``demo``, ``jobs``, ``cassette``, ``db``, ``diagram``,
``server``), each adding its subcommands with ``register``. A user's mistake prints one line
(``orderflow: error: ...``) and exits 2; a failure exits 1; neither shows a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO, cast

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
    target = out or sys.stdout
    try:
        status = run(args, cast(TextIO, _Output(target)))
        _Output(target).flush()  # a full disk or a closed pipe says so here, not at exit
        return status
    except (UserError, MissingExtra, OrderflowError) as error:
        # One line, whatever the error's own layout (a database driver's message has several).
        print(f"orderflow: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UserError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except _Unwritable as failed:
        _discard(target)
        if not isinstance(failed.error, BrokenPipeError):  # a reader gone (`| head`): quiet
            why = failed.error.strerror or str(failed.error) or type(failed.error).__name__
            print(f"orderflow: error: cannot write the output ({why})", file=sys.stderr)
        return EXIT_FAILED


class _Unwritable(Exception):
    """Writing the output failed with ``error`` (a full disk, a closed pipe)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _Output:
    """``out`` whose ``write`` and ``flush`` raise ``_Unwritable`` for an ``OSError``, so the
    output's failures are told apart from the command's own."""

    def __init__(self, out: TextIO):
        self._out = out

    def write(self, text: str) -> int:
        try:
            return self._out.write(text)
        except OSError as error:
            raise _Unwritable(error) from None

    def flush(self) -> None:
        try:
            self._out.flush()
        except OSError as error:
            raise _Unwritable(error) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._out, name)


def _discard(out: TextIO) -> None:
    """Point standard output at the null device when ``out`` is it, so the interpreter's own
    flush at exit does not fail again with a traceback of its own."""
    if out is not sys.stdout:
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a replaced sys.stdout): nothing to do
        pass
