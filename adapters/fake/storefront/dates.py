"""Dates as the Storefront API formats them: PHP-style format strings (``orderDate(format:)``).

The published default, ``"Y-m-dTH:i:sP"``, reads as ISO 8601 (``2019-06-05T14:03:12+00:00``),
so ``T`` is the literal letter here, not PHP's time zone abbreviation; a backslash escapes the
next character, as in PHP, and any other character that is no format letter stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_FAKE_DATE = "%Y-%m-%d %H:%M:%S"
"""How the fake's order book writes an order's ``date`` (UTC)."""


def _offset(moment: datetime, colon: bool) -> str:
    delta = moment.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"


_LETTERS: dict[str, Callable[[datetime], str]] = {
    "Y": lambda d: f"{d.year:04d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "m": lambda d: f"{d.month:02d}",
    "n": lambda d: str(d.month),
    "d": lambda d: f"{d.day:02d}",
    "j": lambda d: str(d.day),
    "H": lambda d: f"{d.hour:02d}",
    "G": lambda d: str(d.hour),
    "h": lambda d: f"{(d.hour % 12) or 12:02d}",
    "g": lambda d: str((d.hour % 12) or 12),
    "i": lambda d: f"{d.minute:02d}",
    "s": lambda d: f"{d.second:02d}",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "D": lambda d: d.strftime("%a"),
    "l": lambda d: d.strftime("%A"),
    "M": lambda d: d.strftime("%b"),
    "F": lambda d: d.strftime("%B"),
    "N": lambda d: str(d.isoweekday()),
    "U": lambda d: str(int(d.timestamp())),
    "P": lambda d: _offset(d, True),
    "O": lambda d: _offset(d, False),
    "c": lambda d: d.isoformat(timespec="seconds"),
}


def php_date(moment: datetime, pattern: str) -> str:
    """``moment`` written with the PHP-style ``pattern`` (see the module docstring)."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            write = _LETTERS.get(char)
            out.append(write(moment) if write is not None else char)
    return "".join(out)


def order_moment(date: str) -> datetime:
    """The moment of an order's ``date`` as the fake writes it (UTC). Raises ``ValueError``."""
    return datetime.strptime(date, _FAKE_DATE).replace(tzinfo=UTC)
