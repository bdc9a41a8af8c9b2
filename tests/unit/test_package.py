"""The package's public surface: what it exports, and what importing it must not load."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import orderflow

ROOT = Path(__file__).resolve().parents[2]
CORE_MODULES = [
    "address",
    "checkout",
    "clock",
    "errors",
    "money",
    "payment",
    "ports",
    "receipt",
    "selection",
    "service",
]


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_the_core_imports_no_adapter_and_no_io_library() -> None:
    probe = (
        "import sys, orderflow; "
        "print(' '.join(m for m in ('adapters', 'httpx', 'sqlite3', 'psycopg', 'starlette',"
        " 'uvicorn') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == ""


def test_all_is_sorted_and_importable() -> None:
    assert orderflow.__all__ == sorted(orderflow.__all__, key=_isort_key)
    for name in orderflow.__all__:
        assert hasattr(orderflow, name), name


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_public_class_of_the_core_is_exported(module: str) -> None:
    loaded = importlib.import_module(f"orderflow.{module}")
    public = {
        name
        for name, value in vars(loaded).items()
        if inspect.isclass(value)
        and value.__module__ == loaded.__name__
        and not name.startswith("_")
    }
    assert public <= set(orderflow.__all__)


def test_the_codec_works_without_orjson() -> None:
    # orjson is an optional accelerator (the `fast` extra): the standard library must do.
    probe = (
        "import sys; sys.modules['orjson'] = None\n"
        "from pathlib import Path\n"
        "from orderflow import codec\n"
        "from orderflow.receipt import Receipt\n"
        "assert codec._orjson is None\n"
        "raw = Path(sys.argv[1]).read_text()\n"
        "receipt = codec.loads(raw, Receipt)\n"
        "import json\n"
        "assert json.loads(codec.dumps(receipt)) == json.loads(raw)\n"
        "print(receipt.totals.grand_total_price.display)\n"
    )
    seed = ROOT / "tests" / "data" / "seed" / "payment-result.response.json"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(seed)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3\u00a0600.00\u00a0SEK"


@pytest.mark.parametrize(
    "package",
    [
        "orderflow.adapters",
        "orderflow.adapters.checkout_api",
        "orderflow.adapters.fake",
        "orderflow.adapters.replay",
        "orderflow.adapters.shop_api",
        "orderflow.adapters.stores",
        "orderflow.adapters.webhooks",
    ],
)
def test_each_adapters_package_exports_lazily_and_completely(package: str) -> None:
    loaded = importlib.import_module(package)
    assert loaded.__all__ == sorted(loaded.__all__, key=_isort_key)
    probe = (
        f"import sys, {package} as p; "
        "print(' '.join(m for m in ('httpx', 'psycopg', 'uvicorn') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == ""
    for name in loaded.__all__:
        assert getattr(loaded, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = loaded.nothing_here


def test_the_fake_and_memory_store_load_without_httpx_or_psycopg() -> None:
    probe = (
        "import sys; from orderflow.adapters import FakeCentra, MemoryStore; "
        "print(' '.join(m for m in ('httpx', 'psycopg', 'uvicorn') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == ""


def test_the_version_is_the_packages() -> None:
    from importlib.metadata import version

    assert orderflow.__version__ == version("centra-orderflow")
