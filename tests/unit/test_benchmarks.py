"""Smoke test of ``python -m benchmarks``: every case runs and checks its own result.

Timings are never asserted here: a busy CI machine must not fail the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "core_event",
    "memory",
    "seed_flow",
    "receipt_decode",
    "replay",
    "http_adapter",
    "sqlite_store",
}


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_benchmarks_print_a_row_for_every_case(report: dict[str, object]) -> None:
    rows = report["rows"]
    assert isinstance(rows, list)
    assert {row["case"] for row in rows} == CASES


def test_every_benchmark_case_passes_its_own_check(report: dict[str, object]) -> None:
    rows = report["rows"]
    assert isinstance(rows, list)
    bad = [
        (row["case"], row["peer"], row["check"])
        for row in rows
        if row["check"] != "ok" and not row["check"].startswith("skipped")
    ]
    assert bad == []


def test_benchmarks_measure_every_case_that_is_not_skipped(report: dict[str, object]) -> None:
    rows = report["rows"]
    assert isinstance(rows, list)
    for row in rows:
        if row["check"] == "ok":
            assert row["ours"] > 0 and row["theirs"] > 0, row
