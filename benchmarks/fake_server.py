"""``fake_server``: requests per second of the fake Centra served over HTTP, against a bare
uvicorn ASGI app answering the same JSON (``_servers``), under 16 concurrent clients.

Both servers run at once, each in its own process on a loopback port, on the same uvicorn
(whatever HTTP implementation it has here). Sixteen clients in this process, one keep-alive
connection each, run the seed's five Shop API calls (``_wire``) in a loop; rounds alternate
between the servers and each lasts ``server_seconds``. A round's figure is requests answered
per second.

The clients are a minimal asyncio HTTP/1.1 client (pre-built requests, ``Content-Length``
answers): ``httpx.AsyncClient`` in one loop tops out at about 400 requests per second on this
machine, below either server, so with it the ratio would measure the client. Each row's
``extra`` has the CPU share of a core the client and the server used per round (from
``/proc``), which shows which side was the bottleneck; the note says when a server could not
use a whole core (a busy machine), which makes the ratio lean towards 1.

The check: every answer has a 2xx status, each flow's last answer is a receipt, and the first
flow of each client in a round ends in a receipt of 3600.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._harness import Row, Settings, alternate, failed
from benchmarks._seed import wire_receipt_ok
from benchmarks._wire import API_KEY, seed_calls, selection_of
from orderflow.adapters.shop_api import dialect

CASE = "fake_server"
MEASURED = "seed's Shop API calls over HTTP, 16 concurrent keep-alive clients"
PEER = "bare uvicorn ASGI app answering the same JSON"
CLIENTS = 16
TARGET = 0.5
SATURATED = 0.9
"""The share of a core a server must use for the round to measure it rather than the machine."""
_ROOT = Path(__file__).resolve().parents[1]
_TICKS = os.sysconf("SC_CLK_TCK")


class ServerProblem(Exception):
    """A server answered wrongly, or did not start."""


@dataclass
class _Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(
        default_factory=list
    )

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(name: str) -> _Server:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._servers", name, str(port)],
        cwd=_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return _Server(name, port, process)


def _wait_listening(server: _Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            error = server.process.stderr.read().decode() if server.process.stderr else ""
            raise ServerProblem(f"{server.name} server exited: {error.strip()[-300:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port)):
            return
        time.sleep(0.05)
    raise ServerProblem(f"{server.name} server did not listen within {timeout}s")


def _stop(server: _Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.stderr is not None:
        server.process.stderr.close()


@contextlib.contextmanager
def _servers() -> Iterator[tuple[_Server, _Server]]:
    started: list[_Server] = []
    try:
        for name in ("ours", "bare"):
            started.append(_start(name))
        for server in started:
            _wait_listening(server)
        yield started[0], started[1]
    finally:
        for server in started:
            _stop(server)


# --- the load: a minimal HTTP/1.1 client --------------------------------------------------


def _request(method: str, path: str, body: object, port: int) -> bytes:
    content = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {dialect.BASE_PATH}{path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"{dialect.API_KEY_HEADER}: {API_KEY}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(content)}\r\n\r\n"
    )
    return head.encode() + content


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    start = lower.index(b"content-length:") + 15
    length = int(lower[start : lower.index(b"\r\n", start)])
    body = await reader.readexactly(length)
    if not 200 <= status < 300:
        raise ServerProblem(f"HTTP {status}: {body[:120]!r}")
    return body


async def _flows(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], port: int, until: float
) -> int:
    reader, writer = connection
    first, *rest = seed_calls()
    opening = _request(first.method, first.path, first.body, port)
    answered = 0
    checked = False
    while time.perf_counter() < until:
        selection = selection_of(json.loads(await _exchange(reader, writer, opening)))
        last = b""
        for call in rest:
            path, body = call.path_for(selection), call.body_for(selection)
            last = await _exchange(reader, writer, _request(call.method, path, body, port))
        answered += len(rest) + 1
        if not checked:
            problem = wire_receipt_ok(json.loads(last), order=None)
            if problem:
                raise ServerProblem(problem)
            checked = True
        elif b'"order"' not in last:
            raise ServerProblem(f"a flow did not end in a receipt: {last[:120]!r}")
    return answered


async def _round(server: _Server, seconds: float) -> tuple[float, float, float]:
    """Requests per second, and the client's and the server's share of a core."""
    if not server.connections:
        for _ in range(CLIENTS):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            server.connections.append((reader, writer))
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_flows(c, server.port, started + seconds) for c in server.connections)
    )
    elapsed = time.perf_counter() - started
    return (
        sum(counts) / elapsed,
        (time.process_time() - client_cpu) / elapsed,
        (server.cpu_seconds() - server_cpu) / elapsed,
    )


async def _close(server: _Server) -> None:
    for _, writer in server.connections:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    server.connections.clear()


def run(settings: Settings) -> list[Row]:
    """Ours (the fake over uvicorn) against the bare app, requests per second."""
    row = Row(CASE, MEASURED, PEER, "req/s", "at_least", TARGET)
    loop = asyncio.new_event_loop()
    cpu: dict[str, list[tuple[float, float]]] = {"ours": [], "bare": []}
    try:
        with _servers() as (ours, bare):

            def side(server: _Server) -> float:
                rate, client, served = loop.run_until_complete(
                    _round(server, settings.server_seconds)
                )
                cpu[server.name].append((client, served))
                return rate

            try:
                pair = alternate(lambda: side(ours), lambda: side(bare), settings.server_rounds)
            finally:
                for server in (ours, bare):
                    loop.run_until_complete(_close(server))
    except ServerProblem as problem:
        return [failed(row, str(problem))]
    finally:
        loop.close()
    row.record(pair)
    for name, shares in cpu.items():
        row.extra[f"{name}_client_cpu"] = round(statistics.median(c for c, _ in shares), 2)
        row.extra[f"{name}_server_cpu"] = round(statistics.median(s for _, s in shares), 2)
    row.note = (
        "share of a core, client / server: ours "
        f"{row.extra['ours_client_cpu']:.0%} / {row.extra['ours_server_cpu']:.0%}, bare "
        f"{row.extra['bare_client_cpu']:.0%} / {row.extra['bare_server_cpu']:.0%}"
    )
    if min(row.extra["ours_server_cpu"], row.extra["bare_server_cpu"]) < SATURATED:
        row.note += (
            f"; a server had under {SATURATED:.0%} of a core: other work took the rest, so "
            "the ratio leans towards 1 (on a quiet machine both use ~100%)"
        )
    return [row]
