"""A client that dies while sending: the fake must not act on a request that never arrived.

Found by ``test_killed_payments``: a worker SIGKILLed between writing a request's headers and
its body (httpx writes them apart) left ``FakeServer`` with a request whose body ended early.
The server read the disconnect as the end of the body and served the request without it, so
Centra acted on something no client sent (a start-payment answered "paymentMethod required";
an add-item with no body adds one of the item). A real HTTP server drops such a request, and
so does the fake now, on every path it serves.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.calls import CallKind, CreateSelection, ReadSelection
from orderflow.selection import SelectionResponse
from tests.integration import wire


def test_a_request_whose_body_never_arrived_is_not_acted_on() -> None:
    fake = FakeCentra.seeded()
    selection = fake.send(CreateSelection()).selection_id
    with wire.serving(fake) as server:
        url = urlsplit(server.base_url)
        head = (
            f"POST {url.path}/selections/{selection}/items/{SEED_ITEM} HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
        )
        with socket.create_connection((url.hostname, url.port)) as sock:
            sock.sendall(head.encode())  # the body ({"quantity":1}) never comes: the client dies
        deadline = time.monotonic() + 1
        while fake.calls[CallKind.ADD_ITEM] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
    cart = fake.send(ReadSelection(selection))
    assert isinstance(cart, SelectionResponse)
    assert cart.selection.items == ()
