"""``import_time``: ``import orderflow`` in a fresh interpreter, against importing only what it
depends on (``import attrs, cattrs, transitions``).

Each run is a new ``python -c`` process (this interpreter, the repository as its working
directory) that times its one import statement with
``time.perf_counter_ns`` and prints it, so the interpreter's own start-up, the same for both,
is left out. Runs alternate between the two statements; a round is one run of each. The
check: each child really imported what it names (it prints the modules it then holds).

Both sides import compiled byte code, as any installed program does: pip compiles the peers'
modules when it installs them, and the case compiles ours (and the peers' again, where needed)
before the first run. Without it, an editable install under ``PYTHONDONTWRITEBYTECODE=1``
(set on this kind of machine) compiled every orderflow module from source in every child,
~60 ms of each run that no installed program pays.
"""

from __future__ import annotations

import compileall
import importlib.util
import subprocess
import sys
from pathlib import Path

from benchmarks._harness import Row, Settings, alternate, failed

CASE = "import_time"
MEASURED = "import orderflow, fresh interpreter"
PEER = "import attrs, cattrs, transitions (its dependencies alone)"
TARGET = 1.5
_ROOT = Path(__file__).resolve().parents[1]
_PROGRAM = """
import sys, time
start = time.perf_counter_ns()
import {modules}
elapsed = time.perf_counter_ns() - start
print(elapsed, ",".join(m for m in {names!r} if m in sys.modules))
"""


class ImportProblem(Exception):
    """A child interpreter failed, or did not import what it names."""


def _timed(modules: tuple[str, ...]) -> float:
    """µs one fresh interpreter spends on ``import <modules>``."""
    program = _PROGRAM.format(modules=", ".join(modules), names=modules)
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ImportProblem(done.stderr.strip()[-300:])
    elapsed, found = done.stdout.split()
    if tuple(found.split(",")) != modules:
        raise ImportProblem(f"imported {found}, not {','.join(modules)}")
    return int(elapsed) / 1000


def _compile(packages: tuple[str, ...]) -> None:
    """Write the byte code of ``packages`` where it is missing or stale."""
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ImportProblem(f"cannot find the package {name}")
        for folder in spec.submodule_search_locations:
            if not compileall.compile_dir(folder, quiet=1):
                raise ImportProblem(f"cannot compile {folder}")


def run(settings: Settings) -> list[Row]:
    """Ours against our dependencies alone, alternating fresh interpreters."""
    row = Row(CASE, MEASURED, PEER, "ms", "at_most", TARGET)
    try:
        _compile(("orderflow", "attr", "attrs", "cattrs", "transitions"))
        pair = alternate(
            lambda: _timed(("orderflow",)),
            lambda: _timed(("attrs", "cattrs", "transitions")),
            settings.import_runs,
        )
    except ImportProblem as problem:
        return [failed(row, str(problem))]
    return [row.record(pair, 1000)]
