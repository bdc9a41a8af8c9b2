"""``orderflow diagram``: the flow as Mermaid, DOT or SVG, optionally one checkout's path."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from typing import TextIO

from orderflow import diagram, limits
from orderflow.adapters.cli.common import UserError, existing_file
from orderflow.flow import TransitionRecord


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``diagram`` to the ``orderflow`` command."""
    draw = commands.add_parser(
        "diagram",
        help="print the order-flow diagram",
        description="Print the order flow, generated from its table, as Mermaid, DOT or SVG; "
        "with --checkout, one stored checkout's path is highlighted.",
    )
    draw.add_argument("--format", choices=["mermaid", "dot", "svg"], default="mermaid")
    draw.add_argument("--checkout", metavar="ID", help="highlight this checkout's path")
    draw.add_argument("--db", help="the SQLite file the checkout is in")
    draw.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the flow diagram, optionally with one stored checkout's path highlighted."""
    history: tuple[TransitionRecord, ...] = ()
    if args.checkout:
        from orderflow.adapters.stores.sqlite import SQLiteStore

        if not args.db:
            raise UserError("--checkout needs --db PATH: the SQLite file the checkout is in")
        if (refused := limits.text(args.checkout, "--checkout", longest=limits.MAX_ID)) is not None:
            raise UserError(f"--checkout: {refused.message}: no stored checkout has such an id")
        with SQLiteStore(existing_file("--db", args.db)) as store:
            history = store.load(args.checkout).history
    render = {"mermaid": diagram.mermaid, "dot": diagram.dot, "svg": diagram.dot}[args.format]
    text = render(history)
    if args.format == "svg":
        text = svg(text)
    out.write(text)
    return 0


def svg(dot_source: str) -> str:
    """The DOT source rendered to SVG by Graphviz's ``dot``; ``UserError`` when it is missing."""
    dot = shutil.which("dot")
    if dot is None:
        raise UserError(
            "--format svg needs Graphviz's dot: install it (Debian: "
            "apt-get install graphviz; macOS: brew install graphviz)"
        )
    done = subprocess.run(
        [dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise UserError(f"dot failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout
