"""Clocks: the system's, and a manual one for tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import attrs


class SystemClock:
    """The real time in UTC."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        time.sleep(seconds)


@attrs.define
class ManualClock:
    """A clock that moves only when told to (``advance``) or when something sleeps on it."""

    current: datetime = attrs.field(factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self.current

    def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self.current += timedelta(seconds=seconds)
