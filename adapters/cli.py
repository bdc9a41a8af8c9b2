"""The ``orderflow`` command: the composition root that wires adapters to the core.

A user mistake prints one line (``orderflow: error: ...``) and exits non-zero, no traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from orderflow import codec, diagram
from orderflow.checkout import Checkout
from orderflow.errors import OrderflowError
from orderflow.flow import TransitionRecord
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService

EXIT_USAGE = 2
EXIT_FAILED = 1


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


# --- demo -------------------------------------------------------------------------------------


def _describe(record: TransitionRecord) -> str:
    source = record.source.value if record.source is not None else "(new)"
    detail = f"  ({record.detail})" if record.detail else ""
    return f"{source} --{record.event.value}--> {record.dest.value}{detail}"


def _receipt_lines(receipt: Receipt) -> list[str]:
    lines = [f"order {receipt.order}: {receipt.status_description or receipt.status}"]
    for item in receipt.items:
        name = " ".join(p for p in (item.brand_name, item.product_name, item.size) if p)
        lines.append(
            f"  {item.quantity} x {item.item} {name} ({item.sku})  {_display(item.total_price)}"
        )
    totals = receipt.totals
    lines.append(
        f"  total {_display(totals.grand_total_price)}"
        + (
            f", of which tax {_display(totals.grand_total_price_tax)}"
            if totals.grand_total_price_tax
            else ""
        )
    )
    return lines


def _display(money: Any) -> str:
    text = money.display or f"{money.amount} {money.currency}"
    return str(text).replace("\u00a0", " ")


def _summary(checkout: Checkout) -> dict[str, Any]:
    receipt = checkout.receipt
    return {
        "checkout": checkout.id,
        "state": checkout.state.value,
        "order": checkout.order,
        "selection": checkout.selection_id,
        "totals": codec.unstructure(receipt.totals) if receipt is not None else None,
        "history": [codec.unstructure(record) for record in checkout.history],
    }


def _demo_service(args: argparse.Namespace, db: Path) -> CheckoutService:
    from adapters.fake import FakeCentra
    from adapters.sqlite import SQLiteStore

    if args.transport != "fake":
        raise UserError(f"transport {args.transport!r} is not available in this build")
    return CheckoutService(transport=FakeCentra.seeded(), store=SQLiteStore(db))


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the seed's flow and print each transition and the receipt (or one JSON document)."""
    from adapters.seed import run_seed_flow

    with tempfile.TemporaryDirectory(prefix="orderflow-demo-") as scratch:
        db = Path(args.db) if args.db else Path(scratch) / "checkouts.db"
        if args.db and not db.parent.is_dir():
            raise UserError(f"--db {args.db}: folder {db.parent} does not exist")
        service = _demo_service(args, db)
        printed = 0

        def show(step: str, checkout: Checkout) -> None:
            nonlocal printed
            if args.json:
                return
            for record in checkout.history[printed:]:
                print(_describe(record), file=out)
            printed = len(checkout.history)

        checkout = run_seed_flow(service, show)
        if args.json:
            print(json.dumps(_summary(checkout), ensure_ascii=False, indent=2), file=out)
        else:
            if checkout.receipt is not None:
                print("\n".join(_receipt_lines(checkout.receipt)), file=out)
            print(
                f"checkout {checkout.id} stored in {db if args.db else 'a temporary file'}",
                file=out,
            )
    return 0 if checkout.state.value == "paid" else EXIT_FAILED


# --- diagram ----------------------------------------------------------------------------------


def _svg(dot_source: str) -> str:
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


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """Print the flow diagram, optionally with one stored checkout's path highlighted."""
    history: tuple[TransitionRecord, ...] = ()
    if args.checkout:
        from adapters.sqlite import SQLiteStore

        if not args.db:
            raise UserError("--checkout needs --db PATH: the SQLite file the checkout is in")
        if not Path(args.db).is_file():
            raise UserError(f"--db {args.db}: no such file")
        history = SQLiteStore(args.db).load(args.checkout).history
    text = {"mermaid": diagram.mermaid, "dot": diagram.dot, "svg": diagram.dot}[args.format](
        history
    )
    if args.format == "svg":
        text = _svg(text)
    out.write(text)
    return 0


# --- wiring -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``orderflow`` command."""
    parser = argparse.ArgumentParser(
        prog="orderflow", description="The checkout brain of storefront services on Centra."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the seed's order flow against a fake Centra")
    demo.add_argument("--db", help="SQLite file to keep the checkout in (default: a temporary one)")
    demo.add_argument("--json", action="store_true", help="print one JSON document")
    demo.add_argument(
        "--transport",
        choices=["fake"],
        default="fake",
        help="how to reach Centra (default: the in-process fake)",
    )
    demo.set_defaults(run=cmd_demo)

    draw = commands.add_parser("diagram", help="print the order-flow diagram")
    draw.add_argument("--format", choices=["mermaid", "dot", "svg"], default="mermaid")
    draw.add_argument("--checkout", metavar="ID", help="highlight this checkout's path")
    draw.add_argument("--db", help="the SQLite file the checkout is in")
    draw.set_defaults(run=cmd_diagram)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``orderflow`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace, TextIO], int] = args.run
    try:
        return run(args, out or sys.stdout)
    except (UserError, OrderflowError) as error:
        print(f"orderflow: error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UserError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
