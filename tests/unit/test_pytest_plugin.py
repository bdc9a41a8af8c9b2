"""The pytest plugin as a service's own test suite uses it, run as a user runs pytest.

Each test writes a small test module into a temporary folder and runs pytest on it in a
subprocess with the plugin enabled; recording runs against a ``FakeServer`` on a loopback port.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.server import FakeServer

KEY = "plugin-key"

SEED_TEST = """
from orderflow.adapters.fake.seed import run_seed_flow
from orderflow.adapters.stores import MemoryStore
from orderflow.service import CheckoutService


def test_paid(centra_cassette):
    service = CheckoutService(transport=centra_cassette(), store=MemoryStore())
    assert run_seed_flow(service).state.value == "paid"
"""


@pytest.fixture(scope="module")
def centra() -> Iterator[str]:
    with FakeServer(FakeCentra.seeded(api_key=KEY)) as server:
        yield server.base_url


def pytest_run(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "orderflow.adapters.pytest_plugin",
            "-p",
            "no:cacheprovider",
            *options,
            str(folder),
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
        timeout=120,
    )


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def test_a_test_records_its_own_cassette_once_then_replays_it(tmp_path: Path, centra: str) -> None:
    write(tmp_path, "test_shop.py", SEED_TEST)
    record = ("--record-mode", "once", "--centra-base-url", centra, "--centra-api-key", KEY)

    recorded = pytest_run(tmp_path, *record)

    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    cassette = tmp_path / "cassettes" / "test_shop" / "test_paid.json"
    assert cassette.is_file()  # named after the test, its folders created
    assert KEY not in cassette.read_text()  # redacted before writing
    assert len(json.loads(cassette.read_text())["exchanges"]) == 5

    replayed = pytest_run(tmp_path)  # no server needed any more
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 passed" in replayed.stdout


def test_a_missing_cassette_fails_saying_how_to_record_it(tmp_path: Path) -> None:
    write(tmp_path, "test_shop.py", SEED_TEST)
    done = pytest_run(tmp_path)
    assert done.returncode == 1
    assert "no cassette" in done.stdout and "--record-mode once" in done.stdout
    assert "--centra-base-url" in done.stdout


def test_recording_without_a_centra_to_record_from_fails_clearly(tmp_path: Path) -> None:
    write(tmp_path, "test_shop.py", SEED_TEST)
    done = pytest_run(tmp_path, "--record-mode", "all")
    assert done.returncode == 1 and "needs the Centra to record from" in done.stdout


def test_the_marker_names_the_cassette_and_its_record_mode(tmp_path: Path, centra: str) -> None:
    write(
        tmp_path,
        "test_marked.py",
        f"""
        import pytest
        from orderflow.adapters.fake.seed import run_seed_flow
        from orderflow.adapters.stores import MemoryStore
        from orderflow.service import CheckoutService


        @pytest.mark.centra_cassette("recorded/seed.json", record_mode="once",
                                     base_url={centra!r}, api_key={KEY!r})
        def test_paid(centra_cassette):
            service = CheckoutService(transport=centra_cassette(), store=MemoryStore())
            assert run_seed_flow(service).state.value == "paid"
        """,
    )
    done = pytest_run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "recorded" / "seed.json").is_file()


def test_the_async_fixture_replays_for_an_asyncio_test(tmp_path: Path, centra: str) -> None:
    write(tmp_path, "test_shop.py", SEED_TEST)
    assert (
        pytest_run(
            tmp_path, "--record-mode", "once", "--centra-base-url", centra, "--centra-api-key", KEY
        ).returncode
        == 0
    )
    write(
        tmp_path,
        "test_async_shop.py",
        """
        import pytest
        from orderflow.adapters.fake.seed import SEED_ITEM
        from orderflow.adapters.stores import AsyncMemoryStore
        from orderflow.service import AsyncCheckoutService


        @pytest.mark.asyncio
        async def test_opened(async_centra_cassette):
            client = async_centra_cassette("cassettes/test_shop/test_paid.json",
                                           allow_playback_repeats=True, ordered=False)
            service = AsyncCheckoutService(transport=client, store=AsyncMemoryStore())
            checkout = await service.open()
            added = await service.add_item(checkout.id, SEED_ITEM, 1)
            assert added.items[0].item == SEED_ITEM
        """,
    )
    done = pytest_run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_an_unknown_record_mode_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "test_shop.py", SEED_TEST)
    done = pytest_run(tmp_path, "--record-mode", "sometimes")
    assert done.returncode == 4 and "sometimes" in done.stderr


def test_tests_of_the_same_name_in_two_classes_record_two_cassettes(
    tmp_path: Path, centra: str
) -> None:
    write(
        tmp_path,
        "test_shops.py",
        """
        from orderflow.adapters.stores import MemoryStore
        from orderflow.service import CheckoutService


        class TestSweden:
            def test_opens(self, centra_cassette):
                CheckoutService(transport=centra_cassette(), store=MemoryStore()).open()


        class TestNorway:
            def test_opens(self, centra_cassette):
                service = CheckoutService(transport=centra_cassette(), store=MemoryStore())
                service.open()
                service.open()
        """,
    )
    record = ("--record-mode", "once", "--centra-base-url", centra, "--centra-api-key", KEY)
    done = pytest_run(tmp_path, *record)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "cassettes" / "test_shops"
    sweden = json.loads((folder / "TestSweden.test_opens.json").read_text())
    norway = json.loads((folder / "TestNorway.test_opens.json").read_text())
    assert (len(sweden["exchanges"]), len(norway["exchanges"])) == (1, 2)


def test_the_marked_cassette_serves_every_client_the_test_opens(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[1] / "cassettes" / "seed-flow.json"
    (tmp_path / "seed.json").write_bytes(shipped.read_bytes())
    write(
        tmp_path,
        "test_twice.py",
        """
        import pytest
        from orderflow.adapters.stores import MemoryStore
        from orderflow.service import CheckoutService


        @pytest.mark.centra_cassette(path="seed.json", record_mode="none")
        def test_two_shoppers(centra_cassette):
            for _ in range(2):
                CheckoutService(transport=centra_cassette(), store=MemoryStore()).open()


        @pytest.mark.centra_cassette(path="elsewhere.json", record_mode="all")
        def test_a_path_and_mode_given_override_the_markers(centra_cassette):
            client = centra_cassette("seed.json", record_mode="none")
            CheckoutService(transport=client, store=MemoryStore()).open()
        """,
    )
    done = pytest_run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_second_client_recording_into_the_same_cassette_fails_instead_of_losing_one(
    tmp_path: Path, centra: str
) -> None:
    # Each client writes the cassette when it closes: the last would silently replace the
    # exchanges of the first.
    write(
        tmp_path,
        "test_two.py",
        f"""
        import pytest
        from orderflow.adapters.stores import MemoryStore
        from orderflow.service import CheckoutService


        @pytest.mark.centra_cassette(path="two.json", record_mode="all",
                                     base_url={centra!r}, api_key={KEY!r})
        def test_two_shoppers(centra_cassette):
            for _ in range(2):
                CheckoutService(transport=centra_cassette(), store=MemoryStore()).open()
        """,
    )
    done = pytest_run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "two.json is already open for recording in this test" in done.stdout
