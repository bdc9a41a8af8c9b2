"""``python -m benchmarks [--quick] [--json] [--case NAME ...]``: every case, one table.

Each row is ours against one peer, measured in the same process with alternating rounds;
``met`` says whether the target is met, or why the row could not be trusted (a failed
self-check) or run (skipped). Exits 1 when a self-check failed, never because a target was
missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Sequence

from benchmarks._harness import Row, Settings, failed, machine, skipped

CASES = (
    "core_event",
    "memory",
    "seed_flow",
    "receipt_decode",
    "replay",
    "http_adapter",
    "sqlite_store",
    "postgres_store",
    "fake_server",
    "import_time",
)
"""Every case, in the order of the table; each is the module ``benchmarks.<case>``."""

_HEADERS = (
    "case",
    "measured",
    "peer",
    "ours",
    "peer's",
    "ratio",
    "spread: IQR [min–max]",
    "target",
    "met",
)


def run_case(name: str, settings: Settings) -> list[Row]:
    """The case's rows; a crash becomes one failed row, so the table is still printed.

    A case whose module needs a package that is not installed is one skipped row naming it.
    """
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ImportError as error:
        row = Row(name, "", "", "", "at_most", None)
        return [skipped(row, f"{error.name or error} not installed")]
    try:
        rows: list[Row] = module.run(settings)
        return rows
    except Exception as error:
        detail = traceback.format_exception_only(error)[-1].strip()
        return [failed(Row(name, "(crashed)", "", "", "at_most", None), detail)]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        return f"{value / 1024:,.1f} KB" if value >= 1024 else f"{value:,.0f} B"
    if unit in ("round trips",):
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"


def _ratio(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    if row.goal == "count":
        return f"{value:g}"
    digits = 1 if row.goal == "faster" and value >= 10 else 2
    if value < 0.1 or (row.target is not None and round(value, digits) == row.target):
        digits = 3  # so a missed target never reads as equal to it
    return f"{value:.{digits}f}x" + (" faster" if row.goal == "faster" else "")


def _spread(row: Row) -> str:
    spread = row.spread
    if spread is None:
        return "-"
    digits = 1 if row.goal == "faster" and spread["min"] >= 10 else 2
    digits = 3 if spread["max"] < 0.1 else digits
    q1, q3, low, high = (f"{spread[k]:.{digits}f}" for k in ("q1", "q3", "min", "max"))
    return f"{q1}–{q3} [{low}–{high}]"


def _target(row: Row) -> str:
    if row.target is None:
        return "(reference)"
    sign = "≥" if row.goal in ("faster", "at_least") else "≤"
    suffix = {"faster": "x faster", "count": ""}.get(row.goal, "x")
    return f"{sign} {row.target:g}{suffix}"


def _cells(row: Row) -> tuple[str, ...]:
    met = {True: "yes", False: "NO", None: "-"}[row.met] if row.check == "ok" else row.check
    return (
        row.case,
        row.measured,
        row.peer,
        _figure(row.ours, row.unit),
        _figure(row.theirs, row.unit),
        _ratio(row, row.ratio),
        _spread(row),
        _target(row),
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
        "--case", action="append", choices=CASES, help="run only this case (repeatable)"
    )
    parser.add_argument("--save", metavar="PATH", help="also write the JSON document to PATH")
    args = parser.parse_args(argv)
    settings = Settings.for_run(args.quick)
    started = time.perf_counter()
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name in args.case or CASES:
        if not args.json:
            print(f"running {name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        rows.extend(run_case(name, settings))
        seconds[name] = round(time.perf_counter() - began, 2)
    total = time.perf_counter() - started
    described = machine()
    document = {
        "machine": described,
        "settings": vars(settings),
        "seconds": round(total, 2),
        "seconds_per_case": seconds,
        "rows": [row.as_dict() for row in rows],
    }
    if args.save:
        with open(args.save, "w", encoding="utf-8") as saved:
            json.dump(document, saved, indent=2, ensure_ascii=False)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(table(rows))
        notes = [f"- {row.case} vs {row.peer}: {row.note}" for row in rows if row.note]
        if notes:
            print("\n" + "\n".join(notes))
        print(
            f"\n{described['python']} on {described['cpu']} ({described['cores']} cores), "
            f"{described['platform']}; {settings.rounds} rounds per side (medians; the ratio "
            f"is the median per-round ratio); {total:.0f} s"
        )
    return 1 if any(row.check.startswith("failed") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
