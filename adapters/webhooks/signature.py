"""Centra's webhook signatures: ``X-Centra-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``.

Centra's webhook plugin signs ``"<t>.<raw body>"`` with the shared secret (HMAC-SHA256, hex) and
posts the payload as a form body, ``payload=<url-encoded JSON>``. A receiver recomputes the
signature over the exact bytes it got, compares in constant time, and refuses a timestamp too
far from its own clock (Centra sets no tolerance: five minutes is the usual choice), so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from orderflow.errors import OrderflowError

SIGNATURE_HEADER = "X-Centra-Signature"
DEFAULT_TOLERANCE = 300.0
"""Seconds a signature's timestamp may lie from now, either way."""
MAX_BODY = 1024 * 1024
"""The largest webhook body accepted (Centra's events carry ids, not objects)."""


class WebhookRejected(OrderflowError):
    """A webhook request that must not be trusted: its signature is missing, malformed, wrong
    or stale, or its payload cannot be read. ``reason`` says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"webhook rejected: {reason}")


def sign(body: bytes, secret: str | bytes, timestamp: int) -> str:
    """The ``X-Centra-Signature`` value Centra sends for ``body`` at ``timestamp``."""
    digest = _digest(secret, timestamp, body)
    return f"t={timestamp},v1={digest}"


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str | bytes,
    *,
    now: float | datetime | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """The payload of a webhook whose signature is valid: the JSON inside ``payload=`` (or the
    body itself when it is JSON).

    ``body`` is the raw request body, exactly as received; ``header`` the
    ``X-Centra-Signature`` value; ``now`` the receiver's time (default: the system clock).
    Raises ``WebhookRejected`` for a missing, malformed, wrong (compared in constant time) or
    stale signature, or a payload that is not a JSON object.
    """
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    check_tolerance(tolerance)
    if header is None or not header.strip():
        raise WebhookRejected(f"no {SIGNATURE_HEADER} header")
    if len(body) > MAX_BODY:
        raise WebhookRejected(f"body of {len(body)} bytes is over {MAX_BODY}")
    timestamp, signatures = _parse(header)
    expected = _digest(secret, timestamp, body).encode("ascii")
    # Every v1 is compared, so the time taken does not tell which (or whether one) matched; as
    # bytes, since compare_digest refuses text that is not ASCII (a header is any latin-1).
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(candidate.encode("utf-8", "replace"), expected)
    if not matched:
        raise WebhookRejected("the signature does not match the body")
    current = now.timestamp() if isinstance(now, datetime) else time.time() if now is None else now
    age = current - timestamp
    if abs(age) > tolerance:
        when = f"{age:.0f}s old" if age > 0 else f"{-age:.0f}s in the future"
        raise WebhookRejected(f"the signature is {when} (tolerance {tolerance:g}s)")
    return _payload(body)


def check_tolerance(tolerance: float) -> None:
    """Raise ``ValueError`` unless ``tolerance`` is a finite number of seconds, not negative
    (NaN would let every stale signature through: no comparison with it is true)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise ValueError(f"the tolerance is seconds, not {tolerance!r}")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(
            f"the tolerance must be a finite number of seconds >= 0, not {tolerance!r}"
        )


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, found, value = part.strip().partition("=")
        if not found:
            raise WebhookRejected(f"malformed {SIGNATURE_HEADER}: {part.strip()[:40]!r}")
        if name == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise WebhookRejected(f"malformed timestamp in {SIGNATURE_HEADER}")
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value.strip().lower())
    if timestamp is None or not signatures:
        raise WebhookRejected(f"{SIGNATURE_HEADER} needs both t= and v1=")
    return timestamp, signatures


def _payload(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("the body is not UTF-8") from None
    raw = text
    if not text.lstrip().startswith("{"):
        form = parse_qs(text, keep_blank_values=True)
        values = form.get("payload")
        if not values:
            raise WebhookRejected("the body has no payload= field")
        raw = values[0]
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookRejected("the payload is not JSON") from None
    if not isinstance(data, Mapping):
        raise WebhookRejected("the payload is not a JSON object")
    return dict(data)
