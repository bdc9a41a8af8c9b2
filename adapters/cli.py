"""The ``orderflow`` command: the composition root that wires adapters to the core.

A user mistake prints one line (``orderflow: error: ...``) and exits non-zero, no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orderflow import codec, diagram
from orderflow.checkout import Checkout
from orderflow.errors import AuthenticationFailed, OrderflowError
from orderflow.flow import TransitionRecord
from orderflow.ports import Transport
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService

if TYPE_CHECKING:
    from adapters.http import ShopApiClient
    from adapters.postgres import PostgresStore
    from adapters.sqlite import SQLiteStore

EXIT_USAGE = 2
EXIT_FAILED = 1
API_KEY_ENV = "CENTRA_API_KEY"


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


def _demo_service(args: argparse.Namespace, db: Path, resources: ExitStack) -> CheckoutService:
    from adapters.sqlite import SQLiteStore

    transport: Transport
    if args.cassette:
        transport = resources.enter_context(_cassette_transport(args))
    elif args.record:
        raise UserError("--record needs --cassette FILE: where to write what was recorded")
    elif args.transport == "http":
        transport = resources.enter_context(_http_transport(args.base_url))
    elif args.transport == "fake":
        from adapters.fake import FakeCentra

        if args.base_url:
            raise UserError("--base-url is for --transport http")
        transport = FakeCentra.seeded()
    else:
        raise UserError(f"transport {args.transport!r} is not available in this build")
    return CheckoutService(transport=transport, store=SQLiteStore(db))


def _http_transport(base_url: str | None) -> ShopApiClient:
    try:
        from adapters.http import ShopApiClient
    except ImportError:
        raise UserError(
            "--transport http needs httpx: pip install 'centra-orderflow[http]'"
        ) from None
    if not base_url:
        raise UserError(
            "--transport http needs --base-url URL, the Shop API's base "
            "(e.g. the first line `orderflow fake-server` prints)"
        )
    try:
        return ShopApiClient(base_url, os.environ.get(API_KEY_ENV) or None)
    except ValueError as error:
        raise UserError(f"--base-url: {error}") from None


def _cassette_transport(args: argparse.Namespace) -> ShopApiClient:
    try:
        from adapters.replay import replay_client
    except ImportError:
        raise UserError("--cassette needs httpx: pip install 'centra-orderflow[http]'") from None
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


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the seed's flow and print each transition and the receipt (or one JSON document)."""
    from adapters.seed import run_seed_flow

    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="orderflow-demo-"))
        db = Path(args.db) if args.db else Path(scratch) / "checkouts.db"
        if args.db and not db.parent.is_dir():
            raise UserError(f"--db {args.db}: folder {db.parent} does not exist")
        service = _demo_service(args, db, stack)
        printed = 0

        def show(step: str, checkout: Checkout) -> None:
            nonlocal printed
            if args.json:
                return
            for record in checkout.history[printed:]:
                print(_describe(record), file=out)
            printed = len(checkout.history)

        try:
            checkout = run_seed_flow(service, show)
        except AuthenticationFailed as error:
            if args.transport == "http" and not os.environ.get(API_KEY_ENV):
                raise UserError(f"{error} ({API_KEY_ENV} is not set)") from None
            raise
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


# --- cassettes and the database -----------------------------------------------------------


def _cassette_file(path: str) -> str:
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    return path


def cmd_cassette_show(args: argparse.Namespace, out: TextIO) -> int:
    """Print a cassette's exchanges as a readable table."""
    from adapters.replay import cassette_show

    return cassette_show(_cassette_file(args.file), out)


def cmd_cassette_redact(args: argparse.Namespace, out: TextIO) -> int:
    """Rewrite a cassette with secrets and personal data redacted."""
    from adapters.replay import cassette_redact

    return cassette_redact(_cassette_file(args.file), out)


def _postgres(args: argparse.Namespace) -> PostgresStore:
    try:
        from adapters.postgres import PostgresStore
    except ImportError:
        raise UserError(
            f"db {args.db_command} needs psycopg: pip install 'centra-orderflow[postgres]'"
        ) from None
    try:
        return PostgresStore(args.dsn, schema=args.schema)
    except ValueError as error:
        raise UserError(f"--schema: {error}") from None


def cmd_db_init(args: argparse.Namespace, out: TextIO) -> int:
    """Create the PostgreSQL store's tables."""
    with _postgres(args) as store:
        store.create_schema()
    where = f"schema {args.schema}" if args.schema else "the search path's schema"
    print(f"orderflow tables ready in {where}", file=out)
    return 0


def cmd_db_purge(args: argparse.Namespace, out: TextIO) -> int:
    """Remove expired claims and idempotency keys from a store (for a periodic job)."""
    from orderflow.clock import SystemClock

    if bool(args.dsn) == bool(args.sqlite):
        raise UserError("db purge needs one store: --dsn DSN (PostgreSQL) or --sqlite PATH")
    if args.sqlite:
        from adapters.sqlite import SQLiteStore

        if not Path(args.sqlite).is_file():
            raise UserError(f"--sqlite {args.sqlite}: no such file")
        store: SQLiteStore | PostgresStore = SQLiteStore(args.sqlite)
    else:
        store = _postgres(args)
    with store:
        removed = store.purge(SystemClock().now())
    print(f"removed {removed} expired claims and idempotency keys", file=out)
    return 0


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


# --- fake-server ------------------------------------------------------------------------------


def cmd_fake_server(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the seed's fake Centra over HTTP; print the base URL first, serve until stopped."""
    try:
        from adapters.fake_server import serve
    except ImportError:
        raise UserError(
            "fake-server needs its extra: pip install 'centra-orderflow[server]'"
        ) from None
    from adapters.fake import FakeCentra

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: a port is 0 (any free one) to 65535")

    def ready(url: str) -> None:
        print(url, file=out, flush=True)

    try:
        serve(FakeCentra.seeded(api_key=args.api_key), args.host, args.port, on_ready=ready)
    except OSError as error:
        raise UserError(
            f"cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
            "choose another --port, or 0 for any free one"
        ) from None
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
    demo.set_defaults(run=cmd_demo)

    cassette = commands.add_parser("cassette", help="inspect or redact a recorded cassette")
    actions = cassette.add_subparsers(dest="cassette_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the exchanges as a table")
    show.add_argument("file")
    show.set_defaults(run=cmd_cassette_show)
    redact = actions.add_parser("redact", help="rewrite the cassette with secrets redacted")
    redact.add_argument("file")
    redact.set_defaults(run=cmd_cassette_redact)

    database = commands.add_parser("db", help="manage a store's database")
    db_actions = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    init = db_actions.add_parser("init", help="create the store's tables (idempotent)")
    init.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    init.add_argument("--schema", help="PostgreSQL schema to create them in (default: search path)")
    init.set_defaults(run=cmd_db_init)
    purge = db_actions.add_parser(
        "purge", help="remove expired claims and idempotency keys (run it periodically)"
    )
    purge.add_argument("--dsn", help="PostgreSQL connection string")
    purge.add_argument("--schema", help="the PostgreSQL schema of the tables")
    purge.add_argument("--sqlite", metavar="PATH", help="a SQLite store's file instead")
    purge.set_defaults(run=cmd_db_purge)

    server = commands.add_parser(
        "fake-server", help="serve a fake Centra (the seed's shop) as the Shop API over HTTP"
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    server.add_argument(
        "--api-key", metavar="KEY", help="require this API-Authorization key (default: any)"
    )
    server.set_defaults(run=cmd_fake_server)

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
        # One line, whatever the error's own layout (a database driver's message has several).
        print(f"orderflow: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UserError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
