"""A pytest fixture for a service's own tests: Centra replayed from a cassette in one line.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["orderflow.adapters.pytest_plugin"]``::

    def test_checkout_pays(centra_cassette):
        client = centra_cassette("cassettes/seed-flow.json")   # a ShopApiClient
        service = CheckoutService(transport=client, store=MemoryStore())
        ...

A relative path is taken from the test file's folder. The clients are closed when the test
ends, which writes what a recording mode recorded. ``--centra-record-mode MODE`` (``none``,
``once``, ``new_episodes``, ``all``) overrides the mode of every cassette that is not given one
explicitly; recording needs ``--centra-base-url URL`` (and ``--centra-api-key KEY``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from orderflow.adapters.replay.transport import MODES, Mode, replay_client

if TYPE_CHECKING:
    from orderflow.adapters.shop_api.client import ShopApiClient

CentraCassette = Callable[..., "ShopApiClient"]
"""``centra_cassette(path, *, mode=..., **replay_client options) -> ShopApiClient``."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``--centra-*`` options."""
    group = parser.getgroup("orderflow", "orderflow cassettes")
    group.addoption(
        "--centra-record-mode",
        choices=MODES,
        default=None,
        help="record mode for centra_cassette (default: none, replay only)",
    )
    group.addoption("--centra-base-url", default=None, help="Centra to record from")
    group.addoption("--centra-api-key", default=None, help="its API key when recording")


@pytest.fixture
def centra_cassette(request: pytest.FixtureRequest) -> Iterator[CentraCassette]:
    """Open a cassette as a ready ``ShopApiClient`` (see ``replay_client``); closed after the
    test. Raises ``CassetteError`` for a missing or damaged cassette."""
    config = request.config
    default_mode = cast(Mode | None, config.getoption("centra_record_mode", None))
    base_url = config.getoption("centra_base_url", None)
    api_key = config.getoption("centra_api_key", None)
    folder = Path(str(request.path)).parent
    clients: list[ShopApiClient] = []

    def open_cassette(
        path: str | Path, *, mode: Mode | None = None, **options: Any
    ) -> ShopApiClient:
        target = Path(path)
        if not target.is_absolute():
            target = folder / target
        chosen: Mode = mode or default_mode or "none"
        if chosen != "none":
            options.setdefault("base_url", base_url)
            options.setdefault("api_key", api_key)
        client = replay_client(target, mode=chosen, **options)
        clients.append(client)
        return client

    yield open_cassette
    for client in clients:
        client.close()


__all__ = ["CentraCassette", "centra_cassette", "pytest_addoption"]
