"""The blocking client's hard stop at the deadline, over a real local socket: a server that
drips its status line and headers one byte at a time (each byte well within a read's timeout,
so httpx's own timeouts never fire) must not keep a call alive past its deadline, on a new
connection or one reused from the pool."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest

from orderflow.adapters.http import client as http_client
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.errors import CentraUnavailable, OutcomeUnknown
from tests.unit.test_http_support import KEY, MONEY, READ, selection_body

DEADLINE = 0.5
LIMIT = DEADLINE * 1.5
"""What a call may take in all (a loaded machine's margin): far less than a drip takes."""
DELAY = 0.05
"""A byte every 50 ms: well within a read's timeout (a third of the deadline)."""
HEADERS = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nX-Pad: " + b"a" * 60
DRIP = HEADERS + b"\r\n\r\n{}"
"""About 6 s of answer at ``DELAY`` a byte."""
SLOW = DEADLINE / 3 - 0.007
"""A byte of a body every 160 ms: just within a read's timeout, so one more read may wait
almost a third of the deadline past a check between chunks (what the hard stop stops)."""


def _ok(body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
    return head.encode() + b"\r\n\r\n" + data


def _busy() -> bytes:
    return b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nRetry-After: 0\r\n\r\n{}"


class Server:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 answering each request with the next of
    ``script``: ``("now", raw)`` at once, ``("drip", raw)`` one byte per ``DELAY`` (then it
    closes), ``("body", raw)`` the headers at once and the body a byte per ``SLOW``. Counts the
    connections it accepted and the requests it read."""

    def __init__(self, script: list[tuple[str, bytes]]):
        self.script = iter(script)
        self.connections = 0
        self.requests = 0
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/shop"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        self.requests += 1
        return True

    def _handle(self, conn: socket.socket) -> None:
        try:
            while self._request(conn):
                how, raw = next(self.script)
                if how == "now":
                    conn.sendall(raw)
                    continue
                delay = DELAY
                if how == "body":  # the headers at once, then the body drips slowly
                    head, _, raw = raw.partition(b"\r\n\r\n")
                    conn.sendall(head + b"\r\n\r\n")
                    delay = SLOW
                for byte in raw:
                    if self.stop.is_set():
                        break
                    time.sleep(delay)
                    conn.sendall(bytes([byte]))
                return
        except (OSError, StopIteration):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Server] = []

    def start(*script: tuple[str, bytes]) -> Server:
        servers.append(Server(list(script)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _timed(client: ShopApiClient, call: Any, error: type[Exception]) -> float:
    started = time.monotonic()
    with pytest.raises(error, match=rf"deadline of {DEADLINE:g}s"):
        client.send(call)
    return time.monotonic() - started


def test_a_payment_call_ends_at_the_deadline_while_the_headers_drip(serve: Any) -> None:
    server = serve(("drip", DRIP))
    with ShopApiClient(server.url, KEY, deadline=DEADLINE) as client:
        took = _timed(client, MONEY, OutcomeUnknown)
    assert DEADLINE * 0.9 <= took < LIMIT
    assert server.requests == 1
    assert http_client._CALL.deadline == float("inf")  # the thread's deadline is restored


def test_a_read_ends_at_the_deadline_after_its_bounded_retries(serve: Any) -> None:
    server = serve(("now", _busy()), ("drip", DRIP))  # busy, retried, then a drip
    sleeps: list[float] = []
    with ShopApiClient(server.url, KEY, deadline=DEADLINE, sleep=sleeps.append) as client:
        took = _timed(client, READ, CentraUnavailable)
    assert DEADLINE * 0.9 <= took < LIMIT
    assert server.requests == 2 and sleeps == [0.0]  # the retry, then no time for another


def test_a_pooled_connection_is_stopped_too_and_not_reused_after(serve: Any) -> None:
    fine = _ok(selection_body())
    server = serve(("now", fine), ("drip", DRIP), ("now", fine))
    with ShopApiClient(server.url, KEY, deadline=DEADLINE) as client:
        client.send(READ)
        took = _timed(client, MONEY, OutcomeUnknown)
        assert (server.connections, server.requests) == (1, 2)  # the drip came on the same one
        client.send(READ)  # answered, on a new connection: the broken one was closed
    assert DEADLINE * 0.9 <= took < LIMIT
    assert (server.connections, server.requests) == (2, 3)


def test_a_body_that_drips_over_the_network_ends_at_the_deadline_too(serve: Any) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + b" " * 200
    server = serve(("body", raw))
    with ShopApiClient(server.url, KEY, deadline=DEADLINE) as client:
        took = _timed(client, MONEY, OutcomeUnknown)
    assert DEADLINE * 0.9 <= took < DEADLINE + 0.1  # not up to 1.33 deadlines (one more read)


def test_an_injected_httpx_transport_is_stopped_at_the_deadline_too(serve: Any) -> None:
    server = serve(("drip", DRIP))
    with ShopApiClient(server.url, KEY, deadline=DEADLINE, transport=httpx.HTTPTransport()) as c:
        took = _timed(c, MONEY, OutcomeUnknown)
    assert DEADLINE * 0.9 <= took < LIMIT


def test_the_environments_proxies_are_bounded_and_a_mock_transport_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with ShopApiClient("https://shop.example.test/api/shop", KEY) as client:
        inner = client._client
        pools = [t._pool for t in (inner._transport, *inner._mounts.values())]  # type: ignore[union-attr]
    assert len(pools) == 2 and isinstance(pools[1], httpcore.HTTPProxy)
    assert all(isinstance(p._network_backend, http_client._BoundedBackend) for p in pools)
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json=selection_body()))
    with ShopApiClient("https://shop.example.test/api/shop", KEY, transport=mock) as client:
        client.send(READ)
    assert not hasattr(mock, "_pool")


def test_outside_a_call_the_streams_keep_httpxs_timeouts() -> None:
    assert http_client._capped(7.0, httpcore.ReadTimeout) == 7.0
    assert http_client._capped(None, httpcore.ReadTimeout) is None
