"""FakeCentra's order webhooks: Centra's signed form body for each order made or changed, sent
from a background thread (never holding up a request), retried up to 3 times, delivered over a
loopback socket with httpx when installed and with the standard library otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import attrs
import pytest

from orderflow.adapters.fake import webhooks
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.webhooks import WebhookSender, form_body
from orderflow.adapters.webhooks.signature import SIGNATURE_HEADER, sign, verify_signature
from orderflow.clock import ManualClock

SECRET = "test123"


@attrs.define
class Receiver:
    """A loopback HTTP server that records each POST and answers the next of ``statuses``."""

    url: str
    got: list[tuple[dict[str, str], bytes]] = attrs.field(factory=list)
    statuses: list[int] = attrs.field(factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    record = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            record.got.append((dict(self.headers), body))
            status = record.statuses.pop(0) if record.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}/centra"
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _paid(fake: FakeCentra, method: str = "redirect-test", fields: Any = None) -> dict[str, Any]:
    selection = fake.serve_shop_api("POST", "/selections").body["selection"]["selection"]
    fake.serve_shop_api("POST", f"/selections/{selection}/items/23-281", {"quantity": 1})
    body = {
        "paymentMethod": method,
        "termsAndConditions": True,
        "paymentReturnPage": "https://shop.example/return",
        "address": {
            "email": "a@example.com",
            "firstName": "A",
            "lastName": "B",
            "address1": "Street 1",
            "zipCode": "11122",
            "city": "Stockholm",
            "country": "SE",
        },
    }
    fake.serve_shop_api("POST", f"/selections/{selection}/payment", body)
    result = {"paymentMethodFields": fields if fields is not None else {"orderRef": "r"}}
    order: dict[str, Any] = fake.serve_shop_api(
        "POST", f"/selections/{selection}/payment-result", result
    ).body
    return order


def _payload(body: bytes) -> Any:
    return json.loads(parse_qs(body.decode("ascii"))["payload"][0])


def test_an_order_sends_centras_signed_insert_webhook(receiver: Receiver) -> None:
    clock = ManualClock()
    fake = FakeCentra.seeded(webhook_url=receiver.url, webhook_secret=SECRET, clock=clock)
    order = _paid(fake)
    assert fake.webhooks is not None and fake.webhooks.flush()
    fake.close()
    ((headers, body),) = receiver.got
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert body.startswith(b"payload=")
    payload = verify_signature(body, headers[SIGNATURE_HEADER], SECRET, now=clock.now())
    assert payload == _payload(body)
    (event,) = payload["events"]
    assert event["type"] == "order" and event["action"] == "insert"
    assert event["id"] == int(order["order"]) == 588  # a number, as Centra's example sends it
    assert event["selection"] and event["date"].startswith("2026-01-01 00:00:00")


def test_the_signature_is_the_documented_one() -> None:
    # The plugin page's example: secret test123, t=12345678, this body.
    body = b"payload=%7B%22x%22%3A%22test%22%7D"
    expected = "t=12345678,v1=0b9cd84f5d583e5e1aadfb9f160aa8080b51d5b85ff85808d6b75bdac356c549"
    assert sign(body, SECRET, 12345678) == expected
    assert form_body({"x": "test"}) == body


def test_a_hold_cleared_and_a_payment_confirmed_send_update_webhooks(receiver: Receiver) -> None:
    fake = FakeCentra.seeded(webhook_url=receiver.url)  # no endpoint secret: no signature
    order = _paid(fake, "qliro-hold", {})
    fake.confirm_payment(order["order"])
    fake.clear_hold(order["order"])
    fake.close()
    actions = [_payload(body)["events"][0]["action"] for _, body in receiver.got]
    assert actions == ["insert", "update", "update"]
    assert all(SIGNATURE_HEADER not in headers for headers, _ in receiver.got)


def test_a_failed_webhook_is_retried_up_to_three_times_then_given_up(receiver: Receiver) -> None:
    clock = ManualClock()
    sender = WebhookSender(receiver.url, SECRET, clock=clock)
    fake = FakeCentra.seeded(webhooks=sender, clock=clock)
    receiver.statuses = [500, 503, 200, 500, 500, 500, 500]
    _paid(fake)
    _paid(fake)
    fake.close()
    first, second = sender.deliveries
    assert (first.attempts, first.status, first.delivered) == (3, 200, True)
    assert (second.attempts, second.status, second.delivered) == (4, 500, False)
    assert len(receiver.got) == 7
    waited = clock.now() - ManualClock().now()
    assert waited.total_seconds() == (1 + 2) + (1 + 2 + 4)  # longer each time, on the clock


def test_a_webhook_never_holds_up_the_request_that_made_the_order() -> None:
    release = threading.Event()
    posted: list[bytes] = []

    def slow_post(url: str, body: bytes, headers: Any, timeout: float) -> int:
        release.wait(10)
        posted.append(body)
        return 200

    sender = WebhookSender("http://receiver.test/", SECRET, post=slow_post)
    fake = FakeCentra.seeded(webhooks=sender)
    order = _paid(fake)
    assert order["order"] == "588" and posted == []  # answered while the webhook waits
    release.set()
    fake.close()
    assert len(posted) == 1 and sender.deliveries[0].delivered


def test_no_answer_is_a_failure_that_is_retried() -> None:
    def refused(url: str, body: bytes, headers: Any, timeout: float) -> int:
        raise ConnectionRefusedError("connection refused")

    sender = WebhookSender("http://receiver.test/", post=refused, retries=1, delays=(0,))
    fake = FakeCentra.seeded(webhooks=sender)
    _paid(fake)
    fake.close()
    (delivery,) = sender.deliveries
    assert delivery.attempts == 2 and delivery.status is None
    assert delivery.error is not None and "refused" in delivery.error


def test_the_standard_library_delivers_when_httpx_is_not_installed(receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, SECRET, post=webhooks._post_urllib)
    sender.send([{"type": "order", "action": "update", "id": 1}])
    sender.close()
    receiver.statuses = [404]
    failing = WebhookSender(receiver.url, SECRET, post=webhooks._post_urllib, retries=0)
    failing.send([{"type": "order", "action": "update", "id": 2}])
    failing.close()
    assert sender.deliveries[0].delivered and failing.deliveries[0].status == 404


def test_the_fake_imports_and_sends_without_httpx() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from orderflow.adapters.fake.centra import FakeCentra\n"
        "from orderflow.adapters.fake import webhooks\n"
        "assert webhooks._default_post() is webhooks._post_urllib\n"
        "FakeCentra.seeded(webhook_url='http://127.0.0.1:9/', webhook_secret='s').close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_sender_refuses_what_it_cannot_send() -> None:
    with pytest.raises(ValueError):
        WebhookSender("ftp://receiver.test/")
    with pytest.raises(ValueError):
        WebhookSender("http://receiver.test/", "")
    with pytest.raises(ValueError):
        FakeCentra.seeded(webhook_url="http://a.test/", webhooks=WebhookSender("http://b.test/"))
    closed = WebhookSender("http://receiver.test/")
    closed.close()
    with pytest.raises(RuntimeError):
        closed.send([{"type": "order"}])
