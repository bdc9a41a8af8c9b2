"""orderflow's adapters: everything that does I/O, plugged into the core's ports.

Names are importable from here or from their modules; each is loaded on first use, so
``from adapters import FakeCentra`` pulls in neither httpx nor psycopg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.cassette import CassetteError, CassetteFormatError
    from adapters.fake import FakeCentra
    from adapters.fake_server import FakeServer, create_app
    from adapters.faults import FaultPlan, LostAnswer
    from adapters.http import AsyncShopApiClient, ShopApiClient
    from adapters.memory import MemoryStore
    from adapters.postgres import PostgresStore
    from adapters.redaction import Redaction
    from adapters.replay import AsyncReplayTransport, ReplayTransport, replay_client
    from adapters.sqlite import SQLiteStore
    from adapters.tape import CassetteMismatch, UnexpectedRequest

_HOMES = {
    "AsyncReplayTransport": "adapters.replay",
    "AsyncShopApiClient": "adapters.http",
    "CassetteError": "adapters.cassette",
    "CassetteFormatError": "adapters.cassette",
    "CassetteMismatch": "adapters.tape",
    "FakeCentra": "adapters.fake",
    "FakeServer": "adapters.fake_server",
    "FaultPlan": "adapters.faults",
    "LostAnswer": "adapters.faults",
    "MemoryStore": "adapters.memory",
    "PostgresStore": "adapters.postgres",
    "Redaction": "adapters.redaction",
    "ReplayTransport": "adapters.replay",
    "SQLiteStore": "adapters.sqlite",
    "ShopApiClient": "adapters.http",
    "UnexpectedRequest": "adapters.tape",
    "create_app": "adapters.fake_server",
    "replay_client": "adapters.replay",
}

__all__ = [
    "AsyncReplayTransport",
    "AsyncShopApiClient",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMismatch",
    "FakeCentra",
    "FakeServer",
    "FaultPlan",
    "LostAnswer",
    "MemoryStore",
    "PostgresStore",
    "Redaction",
    "ReplayTransport",
    "SQLiteStore",
    "ShopApiClient",
    "UnexpectedRequest",
    "create_app",
    "replay_client",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'adapters' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
