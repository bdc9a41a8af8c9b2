"""``python -m benchmarks [--quick] [--json] [--case NAME ...]``: every case, one table.

Each row is ours against one peer, measured in the same process with interleaved rounds;
``check`` says whether the case's own result was right (a broken path cannot look fast).
Exits non-zero when a self-check failed, never because a target was missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Sequence

from benchmarks._harness import Row, Settings, machine

CASES = (
    "core_event",
    "memory",
    "seed_flow",
    "receipt_decode",
    "replay",
    "http_adapter",
    "sqlite_store",
)
"""Every case, in the order of the table; each is the module ``benchmarks.<case>``."""

_HEADERS = ("case", "measured", "peer", "ours", "peer's", "ratio", "target", "met")


def run_case(name: str, settings: Settings) -> list[Row]:
    """The case's rows; a crash becomes one failed row, so the table is still printed.

    A case whose module needs a package that is not installed (httpx for the HTTP cases) is
    one skipped row naming it.
    """
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ImportError as error:
        return [
            Row(
                name,
                "",
                "",
                "",
                "none",
                None,
                check=f"skipped: {error.name or error} not installed",
            )
        ]
    try:
        rows: list[Row] = module.run(settings)
        return rows
    except Exception as error:
        detail = traceback.format_exception_only(error)[-1].strip()
        return [Row(name, "(crashed)", "", "", "none", None, check=f"failed: {detail}")]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        return f"{value / 1024:,.2f} KB" if value >= 1024 else f"{value:,.0f} B"
    return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"


def _cells(row: Row) -> tuple[str, ...]:
    ratio, target = row.ratio, row.target
    if row.goal == "faster":
        ratio_text = f"{ratio:.1f}x faster" if ratio is not None else "-"
        target_text = f"≥ {target:g}x faster"
    elif row.goal == "at_most":
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        target_text = f"≤ {target:g}x" if target is not None else "-"
    else:
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        target_text = "(reference)"
    met = {True: "yes", False: "NO", None: "-"}[row.met] if row.check == "ok" else row.check
    return (
        row.case,
        row.measured,
        row.peer,
        _figure(row.ours, row.unit),
        _figure(row.theirs, row.unit),
        ratio_text,
        target_text,
        met,
    )


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [_cells(row) for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(_HEADERS)]

    def render(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(_HEADERS), rule, *map(render, lines)])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases and print the table (or JSON); 1 when a self-check failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--case", action="append", choices=sorted(CASES), help="run only this case (repeatable)"
    )
    args = parser.parse_args(argv)
    settings = Settings.for_run(args.quick)
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.case or CASES:
        if not args.json:
            print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(run_case(name, settings))
    seconds = time.perf_counter() - started
    if args.json:
        document = {
            "machine": machine(),
            "quick": settings.quick,
            "rounds": settings.rounds,
            "seconds": round(seconds, 2),
            "rows": [row.as_dict() for row in rows],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        described = machine()
        print(table(rows))
        print(
            f"\n{described['python']} on {described['cpu']} ({described['cores']} cores), "
            f"{described['platform']}; {settings.rounds} rounds per side, "
            f"medians; {seconds:.0f} s"
        )
    return 1 if any(row.check.startswith("failed") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
