"""``orderflow fake-server`` and ``orderflow demo --transport http``, as a user runs them.

A real ``orderflow fake-server`` subprocess on a free loopback port; the demo in a second
subprocess. A wrong key, an unreachable server and a malformed body each end in one error line.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "cli-test-key"
START_WAIT = 20.0


def orderflow(*argv: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CENTRA_API_KEY"}
    if key is not None:
        env["CENTRA_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "orderflow", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def first_line(process: subprocess.Popen[str], wait: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(wait):
            raise AssertionError(f"orderflow fake-server printed nothing within {wait}s")
    return process.stdout.readline().strip()


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    """``orderflow fake-server --port 0 --api-key KEY``; its first line, the base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orderflow",
            "fake-server",
            "--port",
            "0",
            "--api-key",
            KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield first_line(process, START_WAIT)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("orderflow: error: ")
    return lines[0]


def test_fake_server_prints_a_loopback_base_url_first(fake_server: str) -> None:
    assert fake_server.startswith("http://127.0.0.1:")
    assert fake_server.endswith("/api/shop")


def test_demo_over_http_ends_paid_with_the_seeds_totals(fake_server: str) -> None:
    done = orderflow("demo", "--json", "--transport", "http", "--base-url", fake_server)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["state"] == "paid"
    assert document["order"]
    assert document["currency"] == "SEK"
    assert document["totals"]["grand_total"] == "3600" and document["totals"]["tax"] == "720"
    assert document["receipt"]["order"] == document["order"]
    assert [h["event"] for h in document["history"]][-1] == "complete_payment"


def test_a_wrong_key_is_one_line_saying_the_key_is_wrong(fake_server: str) -> None:
    done = orderflow("demo", "--transport", "http", "--base-url", fake_server, key="wrong")
    line = one_error_line(done)
    assert "401" in line and "API key" in line
    assert "wrong" not in line  # the key itself is never shown


def test_a_missing_key_says_which_variable_to_set(fake_server: str) -> None:
    done = orderflow("demo", "--transport", "http", "--base-url", fake_server, key=None)
    assert "CENTRA_API_KEY is not set" in one_error_line(done)


def test_an_unreachable_server_is_one_line_saying_it_cannot_connect() -> None:
    from orderflow.adapters.fake.server import base_url, bind

    with bind() as sock:  # a port that is surely free: nothing listens once it is closed
        url = base_url(sock)
    done = orderflow("demo", "--transport", "http", "--base-url", url)
    line = one_error_line(done)
    assert "could not connect" in line and url in line


class _HtmlEverywhere(BaseHTTPRequestHandler):
    def _html(self) -> None:
        page = b"<!doctype html><title>Welcome to nginx!</title>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = do_PUT = do_DELETE = _html

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_malformed_body_is_one_line_naming_the_endpoint() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlEverywhere)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/shop"
        line = one_error_line(orderflow("demo", "--transport", "http", "--base-url", url))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert "POST /selections" in line and "not JSON" in line and "text/html" in line


def test_http_without_a_base_url_is_a_usage_error() -> None:
    done = orderflow("demo", "--transport", "http")
    assert done.returncode == 2
    assert "--base-url" in one_error_line(done)


def test_a_port_in_use_is_one_line() -> None:
    from orderflow.adapters.fake.server import bind

    with bind() as sock:
        port = str(sock.getsockname()[1])
        done = orderflow("fake-server", "--port", port)
    assert "choose another --port" in one_error_line(done)


# --- cassettes: record over HTTP, replay with no server --------------------------------------

CASSETTES = ROOT / "tests" / "cassettes"


def test_demo_records_a_cassette_over_http_and_replays_it_with_no_server(
    fake_server: str, tmp_path: Path
) -> None:
    cassette = tmp_path / "seed.json"
    recorded = orderflow(
        "demo",
        "--json",
        "--transport",
        "http",
        "--base-url",
        fake_server,
        "--cassette",
        str(cassette),
        "--record",
    )
    assert recorded.returncode == 0, recorded.stderr
    raw = cassette.read_bytes()
    for secret in (KEY, "hhh@maximilliangeorge.com", "Maximillian", "734444782"):
        assert secret.encode() not in raw
    replayed = orderflow("demo", "--json", "--cassette", str(cassette), key=None)
    assert replayed.returncode == 0, replayed.stderr
    first, second = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert second["state"] == "paid" and second["totals"] == first["totals"]
    assert second["order"] == first["order"]


def test_cassette_show_prints_every_exchange() -> None:
    done = orderflow("cassette", "show", str(CASSETTES / "seed-flow.json"))
    assert done.returncode == 0, done.stderr
    assert "5 exchanges" in done.stdout and "payment-result" in done.stdout
    assert "order 588" in done.stdout


def test_cassette_redact_rewrites_an_unredacted_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "raw.json"
    exchange = {
        "request": {
            "method": "POST",
            "path": "/api/shop/selections/s1/payment",
            "query": {},
            "headers": {"api-authorization": "sekret-key"},
            "body": {"address": {"email": "ada@example.com", "firstName": "Ada"}},
        },
        "response": {"status": 200, "headers": {}, "body": {"action": "redirect", "url": "x"}},
    }
    cassette.write_text(json.dumps({"version": 1, "exchanges": [exchange]}))
    done = orderflow("cassette", "redact", str(cassette))
    assert done.returncode == 0, done.stderr
    text = cassette.read_text()
    assert "sekret-key" not in text and "ada@example.com" not in text and "Ada" not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "raw.json"), ('{"version": 99, "exchanges": []}', "version")],
)
def test_a_damaged_cassette_is_one_error_line(tmp_path: Path, content: str, message: str) -> None:
    cassette = tmp_path / "raw.json"
    cassette.write_text(content)
    assert message in one_error_line(orderflow("demo", "--cassette", str(cassette), key=None))


def test_replaying_a_missing_cassette_says_how_to_record_one(tmp_path: Path) -> None:
    line = one_error_line(orderflow("demo", "--cassette", str(tmp_path / "none.json"), key=None))
    assert "no such file" in line and "--record" in line


@pytest.mark.skipif(
    not os.environ.get("ORDERFLOW_TEST_POSTGRES_DSN"),
    reason="set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL tests",
)
def test_db_init_creates_the_store_tables() -> None:
    dsn = os.environ["ORDERFLOW_TEST_POSTGRES_DSN"]
    done = orderflow("db", "init", "--dsn", dsn, "--schema", "orderflow_cli_test")
    try:
        assert done.returncode == 0, done.stderr
        assert "ready" in done.stdout
        again = orderflow("db", "init", "--dsn", dsn, "--schema", "orderflow_cli_test")
        assert again.returncode == 0, again.stderr
    finally:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("DROP SCHEMA IF EXISTS orderflow_cli_test CASCADE")


def test_db_init_against_an_unreachable_server_is_one_error_line() -> None:
    line = one_error_line(orderflow("db", "init", "--dsn", "postgresql://x@127.0.0.1:1/none"))
    assert "PostgreSQL" in line


def test_db_purge_on_a_sqlite_store_removes_expired_keys(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from orderflow.adapters.stores.sqlite import SQLiteStore
    from orderflow.ports import IdempotencyRecord

    db = tmp_path / "c.db"
    past = datetime.now(UTC) - timedelta(days=2)
    with SQLiteStore(db) as store:
        record = IdempotencyRecord("old", "f", "o", lease_until=past, expires_at=past)
        store.reserve(record, past - timedelta(hours=1))
        store.acquire_claim("c1", "dead", past, timedelta(seconds=1))
    done = orderflow("db", "purge", "--sqlite", str(db))
    assert done.returncode == 0, done.stderr
    assert "removed 2" in done.stdout
    again = orderflow("db", "purge", "--sqlite", str(db))
    assert "removed 0" in again.stdout


def test_db_purge_needs_exactly_one_store() -> None:
    line = one_error_line(orderflow("db", "purge"))
    assert "--dsn" in line and "--sqlite" in line
