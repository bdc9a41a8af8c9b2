"""The ``orderflow`` command: the demo, the diagrams, and one clear line for every mistake."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderflow import diagram
from orderflow.adapters.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue()


def test_demo_json_ends_paid_with_the_seeds_totals(tmp_path: Path) -> None:
    status, out = run("demo", "--json", "--db", str(tmp_path / "c.db"))
    assert status == 0
    document = json.loads(out)
    assert document["state"] == "paid"
    assert document["order"]
    assert document["currency"] == "SEK"
    assert document["totals"] == {
        "items": "3600",
        "shipping": "0",
        "tax": "720",
        "grand_total": "3600",
    }
    receipt = document["receipt"]
    assert receipt["order"] == document["order"]
    assert receipt["totals"]["grandTotalPrice"] == "3\u00a0600.00\u00a0SEK"
    assert receipt["items"][0]["item"] == "23-281"
    assert [h["event"] for h in document["history"]] == [
        "open",
        "add_item",
        "confirm",
        "start_payment",
        "complete_payment",
    ]


def test_demo_prints_each_transition_and_the_receipt() -> None:
    status, out = run("demo")
    assert status == 0
    assert "confirmed --start_payment--> payment_pending" in out
    assert "payment_pending --complete_payment--> paid" in out
    assert "CQP-ATLON-CHOCOLATE" in out and "3 600.00 SEK" in out


def test_diagram_of_a_stored_checkout_highlights_its_path(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    _, out = run("demo", "--json", "--db", str(db))
    checkout = json.loads(out)["checkout"]
    status, text = run("diagram", "--checkout", checkout, "--db", str(db))
    assert status == 0
    assert "payment_pending --> paid: ✔ complete_payment" in text
    assert "class selection,confirmed,payment_pending,paid visited" in text
    assert "cancelled" in text and "✔ cancel" not in text
    _, dot_text = run("diagram", "--format", "dot", "--checkout", checkout, "--db", str(db))
    assert 'payment_pending -> paid [label="complete_payment\\nreconcile", color=' in dot_text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diagram", "--checkout", "abc"], "--checkout needs --db"),
        (["diagram", "--checkout", "abc", "--db", "/nonexistent/c.db"], "no such file"),
        (["demo", "--db", "/nonexistent/folder/c.db"], "does not exist"),
    ],
)
def test_a_user_mistake_prints_one_line_and_exits_non_zero(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(*argv)
    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and err.startswith("orderflow: error:") and message in err


def test_an_unknown_checkout_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.db"
    run("demo", "--db", str(db))
    capsys.readouterr()
    status, _ = run("diagram", "--checkout", "nope", "--db", str(db))
    err = capsys.readouterr().err
    assert status == 1 and "'nope'" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("checkout", "says"), [("\udc80", "not valid Unicode"), ("x" * 201, "200")]
)
def test_a_checkout_id_no_store_can_hold_is_an_error_about_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checkout: str, says: str
) -> None:
    db = tmp_path / "c.db"
    run("demo", "--db", str(db))
    capsys.readouterr()
    status, _ = run("diagram", "--checkout", checkout, "--db", str(db))
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("orderflow: error: --checkout: ") and says in err
    assert err.count("\n") == 1


def test_a_bad_argument_is_refused_by_the_installed_command_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orderflow", "diagram", "--format", "png"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "invalid choice: 'png'" in done.stderr


def test_the_diagrams_folder_is_fresh() -> None:
    assert (ROOT / "diagrams" / "order-flow.mmd").read_text() == diagram.mermaid(), (
        "regenerate: orderflow diagram --format mermaid > diagrams/order-flow.mmd"
    )


def test_the_readme_shows_the_current_diagram_and_event_table() -> None:
    readme = (ROOT / "README.md").read_text()
    assert diagram.mermaid() in readme
    assert diagram.markdown_table() in readme


def test_the_svg_diagram_is_fresh() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    status, svg = run("diagram", "--format", "svg")
    assert status == 0 and svg.lstrip().startswith("<?xml")
    # Graphviz versions lay out differently, so compare what is drawn: every node and edge.
    committed = (ROOT / "diagrams" / "order-flow.svg").read_text()
    assert _titles(committed) == _titles(svg), (
        "regenerate: orderflow diagram --format svg > diagrams/order-flow.svg"
    )


def _titles(svg: str) -> list[str]:
    return sorted(re.findall(r"<title>(.*?)</title>", svg))


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("uvicorn", ["fake-server", "--port", "0"], "server"),
        (
            "httpx",
            ["demo", "--transport", "http", "--base-url", "http://127.0.0.1:9/api/shop"],
            "http",
        ),
        ("psycopg", ["db", "init", "--dsn", "postgresql://nowhere"], "postgres"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it_and_exit_1(
    blocked: str, argv: list[str], extra: str
) -> None:
    probe = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from orderflow.adapters.cli import main\n"
        f"raise SystemExit(main({argv!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("orderflow: error:") and f"centra-orderflow[{extra}]" in line
    assert done.stdout == ""  # no ready URL printed before the failure


@pytest.mark.parametrize(
    "argv",
    [["demo", "--transport", "carrier-pigeon"], ["nonsense"], ["diagram", "--checkout", "x"]],
)
def test_a_usage_error_exits_2(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orderflow", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr


def test_every_subcommand_has_a_description() -> None:
    from orderflow.adapters.cli import build_parser

    def walk(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, str | None]]:
        yield name, parser.description
        for action in parser._actions:  # argparse keeps subparsers here
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    yield from walk(child, f"{name} {sub}")

    for name, description in walk(build_parser(), "orderflow"):
        assert description, f"{name} has no description"
