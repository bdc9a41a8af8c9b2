"""Every Python example in the README runs, as a reader would run it.

Each ```python block is marked by the HTML comment before it: ``<!-- embedding-example -->``
and ``<!-- example -->`` run as a script in an empty folder; ``<!-- example: postgres -->``
runs with ``DATABASE_URL`` set to the test database and its own schema (skipped without
``ORDERFLOW_TEST_POSTGRES_DSN``); ``<!-- example: pytest -->`` is a test module, recorded once
against a ``FakeServer`` and then replayed. A block with no marker fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(?:<!-- (?P<marker>[\w:\s-]+?) -->\n)?```python\n(?P<code>.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text()
    return [(found["marker"] or "", found["code"]) for found in BLOCK.finditer(readme)]


def test_every_python_block_of_the_readme_is_marked_to_run() -> None:
    found = examples()
    assert len(found) >= 5
    for marker, code in found:
        assert marker in ("embedding-example", "example", "example: postgres", "example: pytest"), (
            f"README block without a marker: {code[:60]!r}"
        )


def _run(code: str, folder: Path, env: dict[str, str] | None = None) -> str:
    script = folder / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "code",
    [code for marker, code in examples() if marker in ("embedding-example", "example")],
    ids=lambda code: code.splitlines()[-1][:40],
)
def test_a_readme_example_runs(code: str, tmp_path: Path) -> None:
    out = _run(code, tmp_path)
    for comment in re.findall(r"print\(.*\)\s+# (.+)$", code, re.M):
        if "=" not in comment and "(" not in comment:  # a printed value the README promises
            assert comment.strip() in out, (comment, out)


@pytest.mark.skipif(
    "ORDERFLOW_TEST_POSTGRES_DSN" not in os.environ,
    reason="set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL example",
)
@pytest.mark.parametrize("code", [c for m, c in examples() if m == "example: postgres"])
def test_the_readme_postgresql_example_runs(code: str, tmp_path: Path) -> None:
    import psycopg

    dsn = os.environ["ORDERFLOW_TEST_POSTGRES_DSN"]
    schema = f"orderflow_readme_{uuid.uuid4().hex[:10]}"
    try:
        out = _run(code, tmp_path, {"DATABASE_URL": dsn, "ORDERFLOW_SCHEMA": schema})
        assert out.strip() == "selection"
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("code", [c for m, c in examples() if m == "example: pytest"])
def test_the_readme_pytest_example_records_then_replays(code: str, tmp_path: Path) -> None:
    from orderflow.adapters.fake import FakeCentra, FakeServer

    conftest, _, module = code.partition("# test_shop.py\n")
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_shop.py").write_text(module)
    assert "pytest_plugins" in conftest and "def test_" in module

    def pytest_run(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    with FakeServer(FakeCentra.seeded(api_key="readme-key")) as server:
        recorded = pytest_run(
            "--record-mode",
            "once",
            "--centra-base-url",
            server.base_url,
            "--centra-api-key",
            "readme-key",
        )
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    replayed = pytest_run()
    assert replayed.returncode == 0 and "1 passed" in replayed.stdout, replayed.stdout
