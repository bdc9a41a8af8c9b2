"""Counting round trips to PostgreSQL: a loopback TCP proxy between a client and the server.

A round trip is the client speaking after the server last spoke (or for the first time): the
proxy counts, over all its connections, each time bytes arrive from a client whose server
has answered since the client last sent. That is what a client waits for on the network,
whatever the protocol carries (one statement, a pipeline of several, ``BEGIN`` or ``COMMIT``),
and it needs no parsing, so TLS passes through untouched. The store under test only gets a
different host and port in its connection string (``dsn``); nothing is patched.
``pg_stat_statements`` would count statements, not round trips, and needs a server restart
to load.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

from psycopg.conninfo import conninfo_to_dict, make_conninfo


class RoundTripCounter:
    """A proxy on a loopback port in front of the server of ``dsn``; ``round_trips`` counts.

    Use it as a context manager (or ``close()``), which ends every proxied connection.
    """

    def __init__(self, dsn: str) -> None:
        params = conninfo_to_dict(dsn)
        self._upstream = (str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.dsn = make_conninfo(dsn, host="127.0.0.1", port=str(self._listener.getsockname()[1]))
        self._lock = threading.Lock()
        self._round_trips = 0
        self._sockets: list[socket.socket] = []
        self._closed = False
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def round_trips(self) -> int:
        """Round trips counted so far."""
        with self._lock:
            return self._round_trips

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            answered = [True]  # the server spoke last: the client's first bytes are a trip
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
                for source, sink, counts in ((client, server, True), (server, client, False)):
                    thread = threading.Thread(
                        target=self._relay, args=(source, sink, counts, answered), daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()

    def _relay(
        self, source: socket.socket, sink: socket.socket, from_client: bool, answered: list[bool]
    ) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    if from_client and answered[0]:
                        self._round_trips += 1
                    answered[0] = not from_client
                sink.sendall(data)  # after the flag: the client's next bytes follow it
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting and end every proxied connection."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
