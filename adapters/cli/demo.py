"""``orderflow demo``: the seed's order flow on the embedded default, printed step by step."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orderflow import codec
from orderflow.adapters.cli.common import API_KEY_ENV, EXIT_FAILED, MissingExtra, UserError
from orderflow.checkout import Checkout
from orderflow.errors import AuthenticationFailed
from orderflow.flow import TransitionRecord
from orderflow.ports import Transport
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService

if TYPE_CHECKING:
    from orderflow.adapters.http.client import HttpClient
    from orderflow.adapters.shop_api.client import ShopApiClient


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``orderflow`` command."""
    demo = commands.add_parser(
        "demo",
        help="run the seed's order flow against a fake Centra",
        description="Run the order flow of Centra's documentation (the seed) from an empty cart "
        "to a paid order, on a SQLite store, and print each transition and the receipt.",
    )
    demo.add_argument("--db", help="SQLite file to keep the checkout in (default: a temporary one)")
    demo.add_argument("--json", action="store_true", help="print one JSON document")
    demo.add_argument(
        "--transport",
        choices=["fake", "http"],
        default="fake",
        help="how to reach Centra: the in-process fake (default), or the Shop API over HTTP "
        f"at --base-url with the key from ${API_KEY_ENV}",
    )
    demo.add_argument("--base-url", metavar="URL", help="the Shop API's base, for --transport http")
    demo.add_argument(
        "--cassette",
        metavar="FILE",
        help="replay the flow from this recorded cassette (no server), or record it with --record",
    )
    demo.add_argument(
        "--record",
        action="store_true",
        help="with --cassette and --transport http: record the flow (secrets redacted)",
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the seed's flow and print each transition and the receipt (or one JSON document)."""
    from orderflow.adapters.fake.seed import run_seed_flow
    from orderflow.adapters.stores.sqlite import SQLiteStore

    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="orderflow-demo-"))
        db = Path(args.db) if args.db else Path(scratch) / "checkouts.db"
        if args.db and not db.parent.is_dir():
            raise UserError(f"--db {args.db}: folder {db.parent} does not exist")
        if args.db and db.is_dir():
            raise UserError(f"--db {args.db}: a folder, not a SQLite file")
        transport = _transport(args, stack)
        store = stack.enter_context(SQLiteStore(db))
        service = CheckoutService(transport=transport, store=store)
        printed = 0

        def show(step: str, checkout: Checkout) -> None:
            nonlocal printed
            if args.json:
                return
            for record in checkout.history[printed:]:
                print(describe(record), file=out)
            printed = len(checkout.history)

        try:
            checkout = run_seed_flow(service, show)
        except AuthenticationFailed as error:
            if args.transport == "http" and not os.environ.get(API_KEY_ENV):
                raise UserError(f"{error} ({API_KEY_ENV} is not set)") from None
            raise
        if args.json:
            print(json.dumps(summary(checkout), ensure_ascii=False, indent=2), file=out)
        else:
            if checkout.receipt is not None:
                print("\n".join(receipt_lines(checkout.receipt)), file=out)
            where = db if args.db else "a temporary file"
            print(f"checkout {checkout.id} stored in {where}", file=out)
    return 0 if checkout.state.value == "paid" else EXIT_FAILED


def describe(record: TransitionRecord) -> str:
    """One transition as a line: ``confirmed --start_payment--> payment_pending  (detail)``."""
    source = record.source.value if record.source is not None else "(new)"
    detail = f"  ({record.detail})" if record.detail else ""
    return f"{source} --{record.event.value}--> {record.dest.value}{detail}"


def receipt_lines(receipt: Receipt) -> list[str]:
    """The receipt as a few lines: the order, its items, its total."""
    lines = [f"order {receipt.order}: {receipt.status_description or receipt.status}"]
    for item in receipt.items:
        name = " ".join(p for p in (item.brand_name, item.product_name, item.size) if p)
        lines.append(
            f"  {item.quantity} x {item.item} {name} ({item.sku})  {_display(item.total_price)}"
        )
    totals = receipt.totals
    if totals is not None:
        tax = totals.grand_total_price_tax
        of_which = f", of which tax {_display(tax)}" if tax else ""
        lines.append(f"  total {_display(totals.grand_total_price)}{of_which}")
    if receipt.undecoded:
        lines.append(f"  (kept as Centra sent them: {', '.join(receipt.undecoded)})")
    return lines


def _display(money: Any) -> str:
    text = money.display or f"{money.amount} {money.currency}"
    return str(text).replace("\u00a0", " ")


def summary(checkout: Checkout) -> dict[str, Any]:
    """The checkout as ``demo --json`` prints it: amounts as decimal strings (exact, as JSON
    numbers would not be), the order's currency, and Centra's whole receipt."""
    receipt = checkout.receipt
    totals = receipt.totals if receipt is not None else None
    return {
        "checkout": checkout.id,
        "state": checkout.state.value,
        "order": checkout.order,
        "selection": checkout.selection_id,
        "currency": receipt.currency if receipt is not None else None,
        "totals": (
            {
                name: str(value.amount)
                for name, value in (
                    ("items", totals.items_total_price),
                    ("shipping", totals.shipping_price),
                    ("discount", totals.total_discount_price),
                    ("tax", totals.grand_total_price_tax),
                    ("grand_total", totals.grand_total_price),
                )
                if value is not None
            }
            if totals is not None
            else None
        ),
        "receipt": codec.unstructure(receipt) if receipt is not None else None,
        "history": [codec.unstructure(record) for record in checkout.history],
    }


def _transport(args: argparse.Namespace, resources: ExitStack) -> Transport:
    if args.cassette:
        return resources.enter_context(_cassette_transport(args))
    if args.record:
        raise UserError("--record needs --cassette FILE: where to write what was recorded")
    if args.transport == "http":
        return resources.enter_context(_http_transport(args.base_url))
    from orderflow.adapters.fake.centra import FakeCentra

    if args.base_url:
        raise UserError("--base-url is for --transport http")
    return FakeCentra.seeded()


def _http_transport(base_url: str | None) -> ShopApiClient:
    try:
        from orderflow.adapters.shop_api.client import ShopApiClient
    except ImportError:
        raise MissingExtra("--transport http", "http") from None
    if not base_url:
        raise UserError(
            "--transport http needs --base-url URL, the Shop API's base "
            "(e.g. the first line `orderflow fake-server` prints)"
        )
    try:
        return ShopApiClient(base_url, os.environ.get(API_KEY_ENV) or None)
    except ValueError as error:
        raise UserError(f"--base-url: {error}") from None


def _cassette_transport(args: argparse.Namespace) -> HttpClient:
    try:
        from orderflow.adapters.replay.transport import replay_client
    except ImportError:
        raise MissingExtra("--cassette", "http") from None
    if not args.record:
        if args.base_url:
            raise UserError("--base-url is for recording (--record); replay needs no server")
        if not Path(args.cassette).is_file():
            raise UserError(
                f"--cassette {args.cassette}: no such file (record it with --record "
                "--transport http --base-url URL)"
            )
        return replay_client(args.cassette)
    if args.transport != "http" or not args.base_url:
        raise UserError("--record needs --transport http --base-url URL: the server to record")
    _http_transport(args.base_url).close()  # the same checks of the URL as a plain HTTP run
    return replay_client(
        args.cassette,
        mode="all",
        base_url=args.base_url,
        api_key=os.environ.get(API_KEY_ENV) or None,
    )
