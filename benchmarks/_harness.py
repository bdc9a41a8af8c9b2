"""Timing, rows and the machine description shared by every case.

Ours and the peer's rounds alternate (and which goes first alternates too), so machine noise
hits both. Round ``i`` of ours and round ``i`` of the peer's run back to back and make one
per-round ratio; a row's ratio is the median of those, and its spread their interquartile
range and extremes. Each side's figure is the median over rounds of its per-call mean.
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

Goal = Literal["faster", "at_most", "at_least", "count"]
"""How a row's ratio reads and when its target is met.

``faster``: peer's time / ours (met when >= target). ``at_most``: ours / peer's, for costs
(met when <= target). ``at_least``: ours / peer's, for rates (met when >= target).
``count``: ours alone, a count with no peer (met when <= target). A row without a target is a
reference: measured and shown, never met or missed.
"""


@dataclass
class Settings:
    """How long to measure.

    ``rounds`` per side, each about ``round_ns`` long; ``paid_checkouts`` and
    ``live_checkouts`` held for the memory rows; ``server_rounds`` of ``server_seconds`` each
    for the servers; ``import_runs`` fresh interpreters per side.
    """

    quick: bool = False
    rounds: int = 21
    round_ns: int = 40_000_000
    paid_checkouts: int = 500
    live_checkouts: int = 300
    memory_rounds: int = 3
    server_rounds: int = 9
    server_seconds: float = 1.0
    import_runs: int = 40

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        """The full settings, or the short ones the smoke test uses."""
        if quick:
            return cls(
                quick=True,
                rounds=3,
                round_ns=2_000_000,
                paid_checkouts=40,
                live_checkouts=50,
                memory_rounds=2,
                server_rounds=2,
                server_seconds=0.15,
                import_runs=3,
            )
        return cls()


@dataclass
class Pair:
    """Per-round figures of both sides, round ``i`` of each measured back to back."""

    ours: list[float]
    theirs: list[float]


@dataclass
class Row:
    """One comparison: ours against one peer, the target and whether it is met.

    ``ours`` and ``theirs`` are each side's median figure in ``unit``; ``ratios`` the
    per-round ratios, oriented by ``goal``. ``check`` is ``"ok"``, ``"failed: ..."`` (the
    figures must not be trusted) or ``"skipped: ..."`` (nothing, or only ours, was measured).
    """

    case: str
    measured: str
    peer: str
    unit: str
    goal: Goal
    target: float | None
    ours: float | None = None
    theirs: float | None = None
    ratios: list[float] = field(default_factory=list)
    check: str = "ok"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, pair: Pair, scale: float = 1.0) -> Row:
        """Set both figures (each median divided by ``scale``) and the per-round ratios."""
        self.ours = statistics.median(pair.ours) / scale
        self.theirs = statistics.median(pair.theirs) / scale
        self.ratios = [
            r for o, t in zip(pair.ours, pair.theirs, strict=True) if (r := self._orient(o, t))
        ]
        return self

    def _orient(self, ours: float, theirs: float) -> float | None:
        if not ours or not theirs:
            return None
        return theirs / ours if self.goal == "faster" else ours / theirs

    @property
    def ratio(self) -> float | None:
        """The median per-round ratio (a ``count`` row: the count itself)."""
        if self.goal == "count":
            return self.ours
        if self.ratios:
            return statistics.median(self.ratios)
        if self.ours is None or self.theirs is None:
            return None
        return self._orient(self.ours, self.theirs)

    @property
    def spread(self) -> dict[str, float] | None:
        """The per-round ratios' extremes and quartiles; ``None`` with fewer than two."""
        if len(self.ratios) < 2:
            return None
        q1, _, q3 = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return {"min": min(self.ratios), "q1": q1, "q3": q3, "max": max(self.ratios)}

    @property
    def met(self) -> bool | None:
        """Whether the target is met; ``None`` for a reference row or when nothing was measured."""
        ratio = self.ratio
        if ratio is None or self.target is None or self.check != "ok":
            return None
        if self.goal in ("faster", "at_least"):
            return ratio >= self.target
        return ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["spread"] = self.spread
        data["met"] = self.met
        return data


def skipped(row: Row, reason: str) -> Row:
    """Mark ``row`` as not run (or run on our side only), saying why."""
    row.check = f"skipped: {reason}"
    return row


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


def alternate(
    ours: Callable[[], float], theirs: Callable[[], float], rounds: int, *, warmup: bool = True
) -> Pair:
    """Run one round of each side per round index, alternating which goes first.

    Each callable runs one round and returns its figure. With ``warmup`` each side runs one
    round first that is not kept (caches, lazy imports, a first connection).
    """
    sides = (ours, theirs)
    if warmup:
        for side in sides:
            side()
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(rounds):
        for side in (0, 1) if index % 2 == 0 else (1, 0):
            samples[side].append(sides[side]())
    return Pair(*samples)


def compare(
    ours: Callable[[], object],
    theirs: Callable[[], object],
    settings: Settings,
    most: int = 1_000_000,
) -> Pair:
    """ns per call of ``ours`` and ``theirs`` in each round, their rounds alternating.

    ``most`` caps the calls per round (for cases that use up prepared data).
    """
    numbers = [_number(fn, settings.round_ns, most) for fn in (ours, theirs)]
    return alternate(
        lambda: _round(ours, numbers[0]),
        lambda: _round(theirs, numbers[1]),
        settings.rounds,
        warmup=False,  # the calibration warmed both up
    )


def time_one(fn: Callable[[], object], settings: Settings) -> float:
    """Median ns per call of ``fn`` alone (for a row whose peer is missing)."""
    number = _number(fn, settings.round_ns, 1_000_000)
    return statistics.median(_round(fn, number) for _ in range(settings.rounds))


def ours_alone(row: Row, fn: Callable[[], object], settings: Settings, reason: str) -> Row:
    """A skipped row (the peer could not run) that still shows our figure, in µs."""
    row.ours = time_one(fn, settings) / 1000
    return skipped(row, reason)


def missing_peer(error: ImportError) -> str:
    """The skip reason for a peer whose package is not installed."""
    return f"peer not installed ({error.name or error})"


def first_problem(*problems: str | None) -> str | None:
    """The first of the checks' problems, or ``None`` when every check passed."""
    return next((p for p in problems if p), None)


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
