"""The package as a user installs it: a wheel built from the repository, in a clean venv.

A foreign top-level ``adapters`` package sits beside it (AdapterHub's has the name, and so does
every hexagonal service); the wheel must not install, shadow or import one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.slow


def _run(*argv: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """A wheel of the repository and ``[http]`` installed in a new venv; a foreign
    ``adapters`` package on its ``PYTHONPATH``. Returns (python, environment, work folder)."""
    work = tmp_path_factory.mktemp("installed")
    wheels = work / "wheels"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        wheels,
        ROOT,
        cwd=work,
        env=env,
    )
    (wheel,) = wheels.glob("centra_orderflow-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"orderflow"}
    # A venv without pip of its own, filled by this pip (``--python``): ensurepip costs 3 s of
    # the test's 8 (measured), and what is installed is the same.
    venv.create(work / "venv", with_pip=False)
    python = work / "venv" / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        f"{wheel}[http]",
        cwd=work,
        env=env,
    )
    foreign = work / "foreign"
    (foreign / "adapters").mkdir(parents=True)
    (foreign / "adapters" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\")\n"
    )
    env["PYTHONPATH"] = str(foreign)
    return python, env, work


def test_the_wheel_installs_one_top_level_package(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    python, env, work = installed
    probe = "import importlib.util as u; print(u.find_spec('adapters').origin)"
    found = _run(python, "-c", probe, cwd=work, env=env).stdout.strip()
    assert found.startswith(str(work / "foreign"))  # only the foreign one exists
    _run(python, "-c", "import orderflow.adapters.fake", cwd=work, env=env)


def test_the_installed_command_prints_its_version_and_runs_the_demo(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    import json

    import orderflow

    python, env, work = installed
    command = python.parent / "orderflow"
    version = _run(command, "--version", cwd=work, env=env).stdout
    assert version.strip() == f"orderflow {orderflow.__version__}"
    done = _run(python, "-m", "orderflow", "demo", "--json", cwd=work, env=env)
    assert json.loads(done.stdout)["state"] == "paid"


def test_the_readme_embedding_example_runs_from_the_wheel(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    python, env, work = installed
    readme = README.read_text()
    start = readme.index("<!-- embedding-example -->")
    code = readme[start:].split("```python\n", 1)[1].split("```", 1)[0]
    example = work / "example.py"
    example.write_text(code)
    done = _run(python, example, cwd=work, env=env)
    assert done.stdout.split()[-2:] == ["588", "3600"]
