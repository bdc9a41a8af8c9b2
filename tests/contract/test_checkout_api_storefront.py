"""A storefront written by someone else runs against ``orderflow fake-server`` unmodified.

``tests/storefront/checkout_client.mjs`` is a Node 20 script written from Centra's Checkout API
documentation alone (plain ``fetch``): it browses, adds to the cart, changes a quantity,
applies a voucher, pays with a ``form`` action (posting the form's hidden fields to the return
page, as a browser does), comes back with ``payment-result`` and reads the receipt. Here it runs
against a real ``orderflow fake-server`` subprocess, at the Checkout API base URL the server
prints; the order's webhooks, sent to a receiver of this test, show that exactly one order was
made.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "storefront" / "checkout_client.mjs"
NODE = shutil.which("node")
START_WAIT = 20.0

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the storefront client is a Node 20 script"
)


class _Webhooks(BaseHTTPRequestHandler):
    """Receives the fake's order webhooks (``payload=<json>``) into ``server.events``."""

    server: _Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        with self.server.lock:
            self.server.events.extend(json.loads(form["payload"][0])["events"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Webhooks)
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def inserted(self, wait: float) -> list[dict[str, Any]]:
        """The order insert events received, waiting at most ``wait`` s for the first."""
        deadline = time.monotonic() + wait
        while True:
            with self.lock:
                found = [e for e in self.events if e["action"] == "insert"]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    with _Receiver() as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join(5)


def _lines(process: subprocess.Popen[str], count: int, wait: float) -> list[str]:
    """The first ``count`` lines the process prints, read in a thread (a buffered reader may
    hold several lines that a selector no longer sees)."""
    assert process.stdout is not None
    stdout = process.stdout
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(count):
            found.put(stdout.readline().strip())

    threading.Thread(target=read, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + wait
    while len(lines) < count:
        try:
            lines.append(found.get(timeout=max(deadline - time.monotonic(), 0.01)))
        except queue.Empty:
            raise AssertionError(f"orderflow fake-server printed {lines} within {wait}s") from None
    return lines


@pytest.fixture
def fake_server(receiver: _Receiver) -> Iterator[list[str]]:
    """``orderflow fake-server --port 0``, sending its webhooks to ``receiver``: the base
    URLs it prints first (the Shop API's, then the Checkout API's)."""
    hooks = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    process = subprocess.Popen(
        [sys.executable, "-m", "orderflow", "fake-server", "--port", "0", "--webhook-url", hooks],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield _lines(process, 2, START_WAIT)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _storefront(base_url: str, *options: str) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(CLIENT), base_url, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_the_server_prints_each_dialects_base_url_first(fake_server: list[str]) -> None:
    shop, checkout = fake_server
    assert shop.startswith("http://127.0.0.1:") and shop.endswith("/api/shop")
    assert checkout == shop.removesuffix("/api/shop") + "/api/checkout"


def test_a_storefront_written_from_the_docs_buys_with_a_voucher_and_gets_one_order(
    fake_server: list[str], receiver: _Receiver
) -> None:
    summary = _storefront(
        fake_server[1], "--voucher", "WELCOME10", "--payment-method", "klarna-playground"
    )
    # It browsed to the first category with products (shoes: the seed's Chocolate, 3600 SEK),
    # took two, and 10% came off each.
    assert (summary["category"], summary["item"], summary["quantity"]) == ("shoes", "23-281", 2)
    assert summary["postedFields"] == ["centraPaymentMethod", "klarna_order"]
    assert summary["cartTotal"] == 6480
    assert (summary["order"], summary["status"], summary["currency"]) == ("588", "untouched", "SEK")
    assert summary["grandTotal"] == 6480 and summary["grandTotalShown"] == "6\u00a0480.00\u00a0SEK"
    assert summary["lines"] == [{"item": "23-281", "quantity": 2, "product": "23"}]
    assert (summary["receiptOrder"], summary["receiptGrandTotal"]) == ("588", 6480)
    assert summary["correlationEchoed"] == summary["requests"]
    inserted = receiver.inserted(wait=10)
    assert [event["id"] for event in inserted] == [588]  # exactly one order
