"""Recorded replay: httpx transports over cassettes (``transport``), which exchange answers a
request (``tape``), the cassette file (``cassette``) and what is redacted (``redaction``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.replay.cassette import CassetteError, CassetteFormatError
    from orderflow.adapters.replay.redaction import Redaction
    from orderflow.adapters.replay.tape import CassetteMismatch, UnexpectedRequest
    from orderflow.adapters.replay.transport import (
        AsyncReplayTransport,
        ReplayTransport,
        replay_client,
    )

_HOMES = {
    "AsyncReplayTransport": "orderflow.adapters.replay.transport",
    "CassetteError": "orderflow.adapters.replay.cassette",
    "CassetteFormatError": "orderflow.adapters.replay.cassette",
    "CassetteMismatch": "orderflow.adapters.replay.tape",
    "Redaction": "orderflow.adapters.replay.redaction",
    "ReplayTransport": "orderflow.adapters.replay.transport",
    "UnexpectedRequest": "orderflow.adapters.replay.tape",
    "replay_client": "orderflow.adapters.replay.transport",
}

__all__ = [
    "AsyncReplayTransport",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMismatch",
    "Redaction",
    "ReplayTransport",
    "UnexpectedRequest",
    "replay_client",
]

__getattr__ = lazy_exports(__name__, _HOMES)
