"""Test helpers shared by the unit and contract suites."""

from __future__ import annotations

from typing import Any

import attrs

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.errors import OutcomeUnknown


@attrs.define
class LosesAnswers:
    """A transport whose named calls reach the fake, but whose answers never come back."""

    inner: FakeCentra
    lose: set[str]

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name not in self.lose:
            return call

        def lost(*args: Any) -> Any:
            call(*args)
            raise OutcomeUnknown(name, "read timed out")

        return lost
