"""Smoke test of ``python -m benchmarks``: every case runs quickly and checks its own result.

Timings are never asserted here: a busy CI machine must not fail the suite. What is asserted
is that each row was measured on both sides and passed its self-check, and that a row is
skipped only for a reason that holds here (a peer's package really is missing, or no
PostgreSQL was given).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    "postgres_store",
    "fake_server",
    "import_time",
}
PEER_PACKAGES = ("vcr", "statemachine", "pydantic", "msgspec", "transitions", "orjson")
POSTGRES = "ORDERFLOW_TEST_POSTGRES_DSN"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return rows


def test_benchmarks_print_a_row_for_every_case(report: dict[str, Any]) -> None:
    assert {row["case"] for row in _rows(report)} == CASES


def test_every_benchmark_row_passes_its_own_check_or_says_why_it_was_skipped(
    report: dict[str, Any],
) -> None:
    missing = {name for name in PEER_PACKAGES if importlib.util.find_spec(name) is None}
    for row in _rows(report):
        check = row["check"]
        if check == "ok":
            continue
        assert check.startswith("skipped: "), row
        if row["case"] == "postgres_store":
            assert not os.environ.get(POSTGRES), row
            assert check == f"skipped: {POSTGRES} not set", row
        else:
            assert check.startswith("skipped: peer not installed ("), row
            assert check.removeprefix("skipped: peer not installed (").rstrip(")") in missing, row


def test_every_measured_benchmark_row_has_both_figures_and_a_spread(
    report: dict[str, Any],
) -> None:
    for row in _rows(report):
        if row["check"] != "ok":
            continue
        assert row["ours"] > 0, row
        if row["goal"] == "count":
            assert row["ratio"] == row["ours"], row
            continue
        assert row["theirs"] > 0 and row["ratio"] > 0, row
        spread = row["spread"]
        assert len(row["ratios"]) >= 2, row
        assert spread["min"] <= spread["q1"] <= row["ratio"] <= spread["q3"] <= spread["max"], row


def test_every_benchmark_target_says_whether_it_is_met(report: dict[str, Any]) -> None:
    for row in _rows(report):
        if row["check"] == "ok" and row["target"] is not None:
            assert row["met"] in (True, False), row
