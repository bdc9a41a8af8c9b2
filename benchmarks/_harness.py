"""Timing, rows and the machine description shared by every case.

Ours and the peer's rounds are interleaved (and which goes first alternates), so machine noise
hits both; each figure is the median over rounds of the mean time per operation in a round.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Goal = Literal["faster", "at_most", "none"]


@dataclass
class Settings:
    """How long to measure: ``rounds`` per side, each round about ``round_ns`` long."""

    quick: bool = False
    rounds: int = 15
    round_ns: int = 25_000_000
    live_checkouts: int = 10_000

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        """The full settings, or the short ones the smoke test uses."""
        if quick:
            return cls(quick=True, rounds=3, round_ns=3_000_000, live_checkouts=1_000)
        return cls()


@dataclass
class Row:
    """One comparison: ours against one peer, the target and whether it is met.

    ``goal`` ``"faster"``: ratio = peer / ours, met when ratio >= target.
    ``goal`` ``"at_most"``: ratio = ours / peer, met when ratio <= target.
    ``check`` is ``"ok"``, ``"failed: ..."`` or ``"skipped: ..."`` (then nothing was measured).
    """

    case: str
    measured: str
    peer: str
    unit: str
    goal: Goal
    target: float | None
    ours: float | None = None
    theirs: float | None = None
    check: str = "ok"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """peer / ours for speed-ups, ours / peer for costs."""
        if self.ours is None or self.theirs is None or not self.ours or not self.theirs:
            return None
        return self.theirs / self.ours if self.goal == "faster" else self.ours / self.theirs

    @property
    def met(self) -> bool | None:
        """Whether the target is met; ``None`` when there is no target or nothing measured."""
        ratio = self.ratio
        if ratio is None or self.target is None or self.goal == "none":
            return None
        return ratio >= self.target if self.goal == "faster" else ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


def skipped(
    case: str, measured: str, peer: str, unit: str, goal: Goal, target: float | None, reason: str
) -> Row:
    """A row for a case (or a peer) that could not run."""
    return Row(case, measured, peer, unit, goal, target, check=f"skipped: {reason}")


def failed(row: Row, problem: str) -> Row:
    """Mark ``row`` as failing its self-check: its figures must not be trusted."""
    row.check = f"failed: {problem}"
    return row


def _number(fn: Callable[[], object], round_ns: int, most: int) -> int:
    # timeit's autorange: grow the loop until one round takes about round_ns.
    number = 1
    while number < most:
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= round_ns // 4:
            return max(1, min(most, int(number * round_ns / max(elapsed, 1))))
        number *= 4
    return most


def calls_needed(settings: Settings, most: int) -> int:
    """How many calls ``compare`` makes of one side at most, calibration included."""
    calibration, number = 0, 1
    while number < most:
        calibration += number
        number *= 4
    return calibration + settings.rounds * most


def _round(fn: Callable[[], object], number: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        return (time.perf_counter_ns() - start) / number
    finally:
        gc.enable()


def compare(
    ours: Callable[[], object],
    theirs: Callable[[], object],
    settings: Settings,
    most: int = 1_000_000,
) -> tuple[float, float]:
    """Median ns per call of ``ours`` and ``theirs``, their rounds interleaved.

    ``most`` caps the calls per round (for cases that use up prepared data).
    """
    sides = [ours, theirs]
    numbers = [_number(fn, settings.round_ns, most) for fn in sides]
    samples: list[list[float]] = [[], []]
    for index in range(settings.rounds):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for side in order:
            samples[side].append(_round(sides[side], numbers[side]))
    return statistics.median(samples[0]), statistics.median(samples[1])


def time_one(fn: Callable[[], object], settings: Settings) -> float:
    """Median ns per call of ``fn`` alone (for a row whose peer is missing)."""
    number = _number(fn, settings.round_ns, 1_000_000)
    return statistics.median(_round(fn, number) for _ in range(settings.rounds))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "platform": platform.platform(),
        "cpu": model,
        "cores": os.cpu_count(),
    }
