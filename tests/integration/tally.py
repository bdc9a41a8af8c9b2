"""The numbers of each scenario: how many runs, how many orders were lost or doubled, how long.

A test counts its runs in a ``Tally`` (``with tally("scenario", spec) as t: ...``) and asserts
on it, so a failure says the numbers; the session's summary (``conftest``) prints every tally
as one table. An order is *lost* when Centra holds an order for a checkout's selection and the
stored checkout is not ``paid`` with it (or a run that had to end paid did not); it is
*doubled* when a payment call reached Centra for a selection that already was an order, or a
second order-making call reached it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

TALLIES: list[Tally] = []
"""Every tally of this session, in the order the tests finished."""


@attrs.define
class Tally:
    """One scenario's numbers on one store."""

    scenario: str
    store: str
    runs: int = 0
    lost: int = 0
    doubled: int = 0
    seconds: float = 0.0
    notes: dict[str, Any] = attrs.field(factory=dict)

    def run(self, *, lost: bool = False, doubled: bool = False) -> None:
        """Count one run, and whether it lost or doubled an order."""
        self.runs += 1
        self.lost += lost
        self.doubled += doubled

    def __str__(self) -> str:
        notes = "".join(f", {key}={value}" for key, value in sorted(self.notes.items()))
        return (
            f"{self.scenario} on {self.store}: {self.runs} runs, {self.lost} orders lost, "
            f"{self.doubled} doubled{notes}"
        )


@contextmanager
def tally(scenario: str, store: Any) -> Iterator[Tally]:
    """A tally of ``scenario`` on ``store`` (a ``StoreSpec`` or a name), timed and kept."""
    kept = Tally(scenario, getattr(store, "kind", str(store)))
    started = time.monotonic()
    try:
        yield kept
    finally:
        kept.seconds = time.monotonic() - started
        TALLIES.append(kept)


def merged(tallies: list[Tally]) -> list[Tally]:
    """One tally per scenario and store: runs, orders and times added up, in first-seen order."""
    by: dict[tuple[str, str], Tally] = {}
    for t in tallies:
        kept = by.setdefault((t.scenario, t.store), Tally(t.scenario, t.store))
        kept.runs += t.runs
        kept.lost += t.lost
        kept.doubled += t.doubled
        kept.seconds += t.seconds
        for key, value in t.notes.items():
            if isinstance(value, dict) and isinstance(kept.notes.get(key), dict):
                for name, count in value.items():
                    kept.notes[key][name] = kept.notes[key].get(name, 0) + count
            elif isinstance(value, int) and isinstance(kept.notes.get(key), int):
                kept.notes[key] += value
            else:
                kept.notes[key] = value if not isinstance(value, dict) else dict(value)
    return list(by.values())


def table(tallies: list[Tally]) -> list[str]:
    """The tallies, one line per scenario and store, as the lines of a Markdown table."""
    lines = [
        "| scenario | store | runs | orders lost | orders doubled | wall time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in merged(tallies):
        lines.append(
            f"| {t.scenario} | {t.store} | {t.runs} | {t.lost} | {t.doubled} | {t.seconds:.1f} s |"
        )
    return lines
