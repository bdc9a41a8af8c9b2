"""What every ``orderflow`` command shares: the user's mistakes, exit statuses, extras."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
API_KEY_ENV = "CENTRA_API_KEY"

Command = Callable[[argparse.Namespace, TextIO], int]
"""A subcommand: the parsed arguments and where to print; returns the exit status."""


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


class MissingExtra(Exception):
    """An optional dependency is not installed; printed as one line naming the extra, exit 1."""

    def __init__(self, what: str, extra: str):
        super().__init__(
            f"{what} needs the {extra!r} extra: pip install 'centra-orderflow[{extra}]'"
        )


def existing_file(option: str, path: str) -> Path:
    """``path`` as a ``Path``; raises ``UserError`` naming ``option`` when it is no file."""
    found = Path(path)
    if not found.is_file():
        raise UserError(f"{option} {path}: no such file")
    return found
