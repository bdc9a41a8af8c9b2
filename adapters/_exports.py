"""Lazily loaded public names, for the packages of ``orderflow.adapters``.

A package lists where each public name lives; the name's module is imported on first use, so
importing a package costs nothing and pulls in no optional dependency (httpx, psycopg) until a
name that needs it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` on first use.

    The loaded value is cached in the package's namespace; an unknown name raises
    ``AttributeError`` as a module would.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(home)
        value = getattr(module, name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
