"""A pytest plugin for a service's own tests: Centra replayed from a cassette in one line.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["orderflow.adapters.pytest_plugin"]``::

    def test_checkout_pays(centra_cassette):
        client = centra_cassette()   # a ShopApiClient over cassettes/<module>/<test>.json
        service = CheckoutService(transport=client, store=MemoryStore())
        ...

    async def test_checkout_pays_async(async_centra_cassette):
        client = async_centra_cassette("seed-flow.json")   # an AsyncShopApiClient
        ...

As with VCR.py and pytest-recording: a cassette is named after its test by default
(``cassettes/<test module>/<test name>.json`` beside the test file, ``<class>.<test name>.json``
for a test in a class, as pytest-recording names them; a relative path given is
taken from the test file's folder), ``--record-mode`` (``none``, the default: replay only;
``once``; ``new_episodes``; ``all``) records, and the marker
``@pytest.mark.centra_cassette(path=None, record_mode=None, **options)`` sets a test's cassette
and mode. Recording needs the Centra to record from: ``--centra-base-url URL`` (and
``--centra-api-key KEY``). Folders are created when recording; clients are closed when the test
ends, which writes what was recorded (so two clients of one test cannot record into one
cassette). A missing cassette in mode ``none`` fails the test saying
how to record it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest

from orderflow.adapters.replay.tape import MODES, Mode

if TYPE_CHECKING:
    from orderflow.adapters.http.client import AsyncHttpClient, HttpClient

MARKER = "centra_cassette"

try:  # pytest-asyncio's fixture decorator works in its strict and auto modes alike
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio no async test runs anyway
    _async_fixture = pytest.fixture  # type: ignore[assignment]


class CentraCassette(Protocol):
    """The ``centra_cassette`` fixture: a client over a cassette (a ``ShopApiClient``, or
    another dialect's with ``dialect=``)."""

    def __call__(
        self, path: str | Path | None = None, *, record_mode: Mode | None = None, **options: Any
    ) -> HttpClient:
        """The client over ``path`` (default: the test's own cassette)."""
        ...


class AsyncCentraCassette(Protocol):
    """The ``async_centra_cassette`` fixture: an async client over a cassette (an
    ``AsyncShopApiClient``, or another dialect's with ``dialect=``)."""

    def __call__(
        self, path: str | Path | None = None, *, record_mode: Mode | None = None, **options: Any
    ) -> AsyncHttpClient:
        """The client over ``path`` (default: the test's own cassette)."""
        ...


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--record-mode`` (shared with pytest-recording when both are installed) and the
    ``--centra-*`` options."""
    group = parser.getgroup("orderflow", "orderflow cassettes")
    # pytest-recording defines --record-mode with the same four modes: share it then.
    with contextlib.suppress(ValueError):
        group.addoption(
            "--record-mode",
            choices=MODES,
            default=None,
            help="record mode for centra_cassette (default: none, replay only)",
        )
    group.addoption("--centra-base-url", default=None, help="the Centra to record from")
    group.addoption("--centra-api-key", default=None, help="its API key when recording")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``centra_cassette`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, record_mode=None, **options): the test's Centra cassette and mode",
    )


class _Cassettes:
    """Resolves a test's cassettes and builds its clients, closed after the test."""

    def __init__(self, request: pytest.FixtureRequest):
        self._request = request
        config = request.config
        marker = request.node.get_closest_marker(MARKER)
        self._marked_path = marker.args[0] if marker and marker.args else None
        self._marked = dict(marker.kwargs) if marker else {}
        self._default_mode = cast("Mode | None", config.getoption("record_mode", None))
        self._base_url = config.getoption("centra_base_url", None)
        self._api_key = config.getoption("centra_api_key", None)
        self._folder = Path(str(request.path)).parent
        self._recording: set[Path] = set()

    def default_path(self) -> Path:
        module = Path(str(self._request.path)).stem
        name = self._request.node.name
        if self._request.cls is not None:  # two classes may each have a test_pays
            name = f"{self._request.cls.__name__}.{name}"
        name = re.sub(r"[^\w.\[\]-]+", "_", name)
        return self._folder / "cassettes" / module / f"{name}.json"

    def options(
        self, path: str | Path | None, record_mode: Mode | None, options: dict[str, Any]
    ) -> tuple[Path, dict[str, Any]]:
        # The marker holds for every client the test opens, not only the first.
        marked = dict(self._marked)
        marked_path, marked_mode = marked.pop("path", None), marked.pop("record_mode", None)
        given = path or marked_path or self._marked_path
        target = Path(given) if given else self.default_path()
        if not target.is_absolute():
            target = self._folder / target
        mode: Mode = record_mode or marked_mode or self._default_mode or "none"
        if mode not in MODES:
            raise pytest.UsageError(f"{MARKER}: record_mode {mode!r} is not one of {MODES}")
        merged = {**marked, **options, "mode": mode}
        if mode != "none" and not (mode == "once" and target.is_file()):
            # Each client writes the cassette as it closes: the last would replace the others'.
            if target.resolve() in self._recording:
                pytest.fail(
                    f"{target.name} is already open for recording in this test: give each "
                    "client its own cassette (centra_cassette(path=...))",
                    pytrace=False,
                )
            self._recording.add(target.resolve())
        if mode == "none" and not target.is_file():
            pytest.fail(
                f"no cassette {target}: record it with --record-mode once "
                "--centra-base-url URL (and --centra-api-key KEY)",
                pytrace=False,
            )
        if mode != "none":
            merged.setdefault("base_url", self._base_url)
            merged.setdefault("api_key", self._api_key)
            if merged["base_url"] is None and not (mode == "once" and target.is_file()):
                pytest.fail(
                    f"recording {target.name} (record mode {mode}) needs the Centra to record "
                    "from: --centra-base-url URL",
                    pytrace=False,
                )
            target.parent.mkdir(parents=True, exist_ok=True)
        return target, merged


@pytest.fixture
def centra_cassette(request: pytest.FixtureRequest) -> Iterator[CentraCassette]:
    """Open a cassette as a ready ``HttpClient`` (see ``replay_client``); closed after the
    test. A damaged cassette raises ``CassetteError``."""
    from orderflow.adapters.replay.transport import replay_client

    cassettes = _Cassettes(request)
    clients: list[HttpClient] = []

    def open_cassette(
        path: str | Path | None = None, *, record_mode: Mode | None = None, **options: Any
    ) -> HttpClient:
        target, merged = cassettes.options(path, record_mode, options)
        client = replay_client(target, **merged)
        clients.append(client)
        return client

    yield open_cassette
    for client in clients:
        client.close()


@_async_fixture
async def async_centra_cassette(
    request: pytest.FixtureRequest,
) -> AsyncIterator[AsyncCentraCassette]:
    """``centra_cassette`` for asyncio tests: an ``AsyncHttpClient``, closed after the test."""
    from orderflow.adapters.replay.transport import async_replay_client

    cassettes = _Cassettes(request)
    clients: list[AsyncHttpClient] = []

    def open_cassette(
        path: str | Path | None = None, *, record_mode: Mode | None = None, **options: Any
    ) -> AsyncHttpClient:
        target, merged = cassettes.options(path, record_mode, options)
        client = async_replay_client(target, **merged)
        clients.append(client)
        return client

    yield open_cassette
    for client in clients:
        await client.aclose()


__all__ = [
    "AsyncCentraCassette",
    "CentraCassette",
    "async_centra_cassette",
    "centra_cassette",
    "pytest_addoption",
    "pytest_configure",
]
