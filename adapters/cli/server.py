"""``orderflow fake-server``: the seed's fake Centra served over HTTP for any client."""

from __future__ import annotations

import argparse
from typing import TextIO

from orderflow.adapters.cli.common import MissingExtra, UserError, installed


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fake-server`` to the ``orderflow`` command."""
    server = commands.add_parser(
        "fake-server",
        help="serve a fake Centra (the seed's shop) over HTTP in every dialect",
        description="Serve an in-memory Centra with the seed's shop over HTTP until "
        "interrupted, one shared state behind Centra's Shop API, Checkout API and Storefront "
        "API (GraphQL); the first lines printed are each dialect's base URL, the Shop API's "
        "first.",
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    server.add_argument(
        "--api-key",
        metavar="KEY",
        help="require this key: the Shop API's API-Authorization, the Checkout API's bearer "
        "secret, the Storefront API's shared token (default: any)",
    )
    server.add_argument(
        "--webhook-url",
        metavar="URL",
        help="send Centra's signed order webhooks to this URL (a service's receiver)",
    )
    server.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="the shared secret the webhooks are signed with (X-Centra-Signature)",
    )
    server.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the seed's fake Centra over HTTP; print the base URL first, serve until stopped."""
    # Checked before anything is printed: a ready URL followed by a traceback misleads.
    if not installed("uvicorn"):
        raise MissingExtra("fake-server", "server")
    from orderflow.adapters.fake.centra import FakeCentra
    from orderflow.adapters.fake.server import serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: a port is 0 (any free one) to 65535")

    def ready(url: str) -> None:
        print(url, file=out, flush=True)

    if args.webhook_secret and not args.webhook_url:
        raise UserError("--webhook-secret needs --webhook-url: where to send the webhooks")
    if args.webhook_url and not args.webhook_url.startswith(("http://", "https://")):
        raise UserError(f"--webhook-url {args.webhook_url}: not an http(s) URL")
    fake = FakeCentra.seeded(
        api_key=args.api_key, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret
    )
    try:
        serve(fake, args.host, args.port, on_ready=ready)
    except OSError as error:
        raise UserError(
            f"cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
            "choose another --port, or 0 for any free one"
        ) from None
    return 0
