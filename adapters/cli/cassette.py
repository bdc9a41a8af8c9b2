"""The ``orderflow cassette`` commands: ``show`` prints a cassette's exchanges as a table,
``redact`` rewrites a cassette with its secrets replaced by placeholders."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from orderflow.adapters.cli.common import existing_file
from orderflow.adapters.replay.cassette import FORMAT_VERSION, Body, load, save
from orderflow.adapters.replay.redaction import Redaction, Redactor


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cassette show`` and ``cassette redact`` to the ``orderflow`` command."""
    cassette = commands.add_parser(
        "cassette",
        help="inspect or redact a recorded cassette",
        description="Inspect a recorded cassette, or rewrite it with its secrets redacted.",
    )
    actions = cassette.add_subparsers(dest="cassette_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="print the exchanges as a table",
        description="Print a cassette's exchanges as a table: method, path, status, bodies.",
    )
    show.add_argument("file", help="the cassette (a JSON file)")
    show.set_defaults(
        run=lambda args, out: cassette_show(existing_file("cassette", args.file), out)
    )
    redact = actions.add_parser(
        "redact",
        help="rewrite the cassette with secrets redacted",
        description="Rewrite a cassette in place with keys, tokens and personal data replaced "
        "by placeholders (those already in the file are kept).",
    )
    redact.add_argument("file", help="the cassette (a JSON file)")
    redact.set_defaults(
        run=lambda args, out: cassette_redact(existing_file("cassette", args.file), out)
    )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _middle(text: str, width: int) -> str:
    # Paths differ at both ends (the base, the endpoint): keep both, drop the long id between.
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def summary(body: Body, width: int = 60) -> str:
    """A one-line description of a body for tables: errors, action, order, or its keys."""
    value = body.value
    if body.kind != "json":
        return _short(f"{body.kind}, {len(body.content)} bytes", width)
    if value is None:
        return "-"
    if isinstance(value, dict):
        errors = value.get("errors")
        if isinstance(errors, dict) and errors:
            return _short("errors: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), width)
        if "action" in value:
            return _short(f"action {value['action']}", width)
        if "order" in value and "selection" not in value:
            return _short(f"order {value['order']} ({value.get('status', '?')})", width)
        if isinstance(value.get("selection"), dict):
            sel = value["selection"]
            items = sel.get("items")
            count = len(items) if isinstance(items, list) else 0
            totals = sel.get("totals")
            total = totals.get("grandTotalPrice", "") if isinstance(totals, dict) else ""
            text = f"selection, {count} line{'s' * (count != 1)}"
            return _short(f"{text}, total {total}".replace("\u00a0", " ") if total else text, width)
        return _short(json.dumps(value, ensure_ascii=False, separators=(",", ":")), width)
    return _short(json.dumps(value, ensure_ascii=False), width)


def cassette_show(path: str | os.PathLike[str], out: TextIO) -> int:
    """``orderflow cassette show FILE``: print the exchanges as a table; returns 0.

    Raises ``CassetteError`` (missing, damaged or unknown version).
    """
    exchanges = load(path).exchanges
    rows = [("#", "method", "path", "status", "request", "response")]
    for index, e in enumerate(exchanges):
        request_path = e.request.label.partition(" ")[2]
        rows.append(
            (
                str(index),
                e.request.method,
                _middle(request_path, 60),
                str(e.response.status),
                summary(e.request.body, 30),
                summary(e.response.body, 50),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"{path}: format version {FORMAT_VERSION}, {len(exchanges)} exchanges", file=out)
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
    return 0


def cassette_redact(
    path: str | os.PathLike[str], out: TextIO, redaction: Redaction | None = None
) -> int:
    """``orderflow cassette redact FILE``: rewrite a cassette with its secrets redacted; 0.

    Placeholders already in the file are kept, new ones numbered after them. Raises
    ``CassetteError`` (missing, damaged, unknown version, or not writable).
    """
    cassette = load(path)
    redactor = Redactor(redaction)
    redactor.notice(cassette)
    redacted = [redactor.exchange(e) for e in cassette.exchanges]
    # A value known to be secret only from a later exchange may show in an earlier one (an
    # email in a redirect URL before the payment request names it): a second pass, as
    # recording does when it saves.
    redacted = [redactor.inside(e) for e in redacted]
    save(path, redacted)
    count = len(redactor.known)
    print(
        f"{path}: {len(redacted)} exchanges, {count} distinct value{'s' * (count != 1)} redacted",
        file=out,
    )
    return 0


__all__ = ["cassette_redact", "cassette_show", "register", "summary"]
