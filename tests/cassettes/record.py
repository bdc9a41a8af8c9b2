"""(Re)record the shipped cassettes from the fake, through the HTTP path.

Each scenario of ``tests.cassettes.SCENARIOS`` runs with ``ShopApiClient`` over
``ReplayTransport(mode="all")`` whose inner transport is ``httpx.HTTPTransport`` to
``FakeCentra`` served by uvicorn on a loopback port (``FakeServer``); the fake's
 clock is fixed, so recording again gives the same files. Run from the checkout::

    .venv/bin/python -m tests.cassettes.record [NAME ...]

A scenario that replays a contract test's cassette is recorded by the contract suite
(``tests.contract.transports.RECORD_COMMAND``), not here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import httpx

from orderflow.adapters.fake.server import FakeServer
from orderflow.adapters.replay.transport import ReplayTransport
from orderflow.adapters.shop_api.client import ShopApiClient
from tests.cassettes import API_KEY, SCENARIOS, Scenario
from tests.contract.transports import RECORD_COMMAND


def record(scenario: Scenario) -> dict[str, object]:
    """Record one scenario's cassette; returns its outcome."""
    with FakeServer(scenario.fake()) as server:
        transport = ReplayTransport(scenario.path, mode="all", inner=httpx.HTTPTransport())
        with ShopApiClient(server.base_url, API_KEY, transport=transport) as client:
            return scenario.run(client)


def main(argv: Sequence[str]) -> int:
    """Record the named scenarios (all when none is named)."""
    unknown = [name for name in argv if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    for name in argv or list(SCENARIOS):
        scenario = SCENARIOS[name]
        if scenario.contract_test is not None:
            print(f"{name}: replays {scenario.path.name}, recorded with: {RECORD_COMMAND}")
            continue
        print(f"{scenario.path.name}: {record(scenario)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
