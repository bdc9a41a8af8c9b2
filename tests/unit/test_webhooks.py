"""Centra's webhook signatures: the documented example, and everything that must be refused."""

from __future__ import annotations

import pytest

from orderflow.adapters.webhooks import WebhookRejected, sign, verify_signature
from orderflow.adapters.webhooks.receiver import OrderEvent, order_events

# Centra's documented example (the webhook plugin's page): secret, timestamp, raw body, v1.
SECRET = "test123"
T = 12345678
BODY = b"payload=%7B%22x%22%3A%22test%22%7D"
V1 = "0b9cd84f5d583e5e1aadfb9f160aa8080b51d5b85ff85808d6b75bdac356c549"
HEADER = f"t={T},v1={V1}"


def test_the_documented_example_verifies_and_its_payload_is_decoded() -> None:
    assert verify_signature(BODY, HEADER, SECRET, now=T) == {"x": "test"}


def test_signing_gives_the_documented_signature() -> None:
    assert sign(BODY, SECRET, T) == HEADER


@pytest.mark.parametrize(
    ("body", "header", "secret", "reason"),
    [
        (BODY + b"x", HEADER, SECRET, "does not match"),
        (BODY.replace(b"test", b"tost"), HEADER, SECRET, "does not match"),
        (BODY, HEADER, "test124", "does not match"),
        (BODY, f"t={T + 1},v1={V1}", SECRET, "does not match"),
        (BODY, None, SECRET, "no X-Centra-Signature"),
        (BODY, "", SECRET, "no X-Centra-Signature"),
        (BODY, f"v1={V1}", SECRET, "needs both"),
        (BODY, f"t={T}", SECRET, "needs both"),
        (BODY, "garbage", SECRET, "malformed"),
        (BODY, f"t=12x,v1={V1}", SECRET, "malformed timestamp"),
    ],
)
def test_a_tampered_or_badly_signed_webhook_is_refused_saying_why(
    body: bytes, header: str | None, secret: str, reason: str
) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        verify_signature(body, header, secret, now=T)


@pytest.mark.parametrize("offset", [301, 86_400, -301])
def test_a_stale_or_future_signature_is_refused(offset: int) -> None:
    with pytest.raises(WebhookRejected, match=r"old|future"):
        verify_signature(BODY, HEADER, SECRET, now=T + offset)


def test_the_tolerance_is_the_receivers_choice() -> None:
    assert verify_signature(BODY, HEADER, SECRET, now=T + 86_400, tolerance=90_000) == {"x": "test"}


def test_one_matching_signature_among_several_is_enough() -> None:
    header = f"t={T},v1={'0' * 64},v1={V1}"
    assert verify_signature(BODY, header, SECRET, now=T) == {"x": "test"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"payload=not-json", "not JSON"),
        (b"other=1", "no payload"),
        (b"payload=%5B1%5D", "not a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_signed_payload_that_cannot_be_read_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        verify_signature(body, sign(body, SECRET, T), SECRET, now=T)


def test_a_json_body_is_read_as_the_payload() -> None:
    body = b'{"events": []}'
    assert verify_signature(body, sign(body, SECRET, T), SECRET, now=T) == {"events": []}


def test_an_empty_secret_is_a_mistake_not_a_pass() -> None:
    with pytest.raises(ValueError):
        verify_signature(BODY, HEADER, "", now=T)


def test_order_events_are_read_from_the_integration_payload() -> None:
    payload = {
        "events": [
            {"type": "order", "action": "update", "id": 2735},
            {"type": "product", "action": "update", "id": 1},
            {"type": "selection", "action": "update", "id": "sel-1"},
        ]
    }
    assert order_events(payload) == [
        OrderEvent("update", "2735", None),
        OrderEvent("update", None, "sel-1"),
    ]


@pytest.mark.parametrize(
    "payload", [{}, {"events": "x"}, {"events": [{"type": "order", "id": None}]}]
)
def test_a_payload_without_readable_events_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises(WebhookRejected):
        order_events(payload)
