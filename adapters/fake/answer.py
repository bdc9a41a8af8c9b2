"""What the fake Centra answers: ``Answer`` (status, body, headers, how it goes on the wire),
and ``LostAnswer``, raised when no answer comes at all.

``FakeCentra.serve_shop_api`` returns an ``Answer``; it unpacks as ``status, body`` as a plain
``(status, body)`` tuple does, so a carrier that needs only those two keeps working, and a hook
may still return a plain tuple (``Answer.of`` makes an ``Answer`` of it). A carrier that writes
HTTP (``server``) also sends ``headers``, the exact ``content`` when it is not the body's JSON,
and performs ``wire``: the answer trickled (``Drip``), inflated (``Huge``) or sent as a gzip bomb
(``GzipBomb``). The in-process ``Transport`` has no wire: see ``FakeCentra.send``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from orderflow.calls import BY_KIND, CallKind
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown

RequestKind = CallKind | str
"""How the fake names a request: its call's kind, or the route's name for the one endpoint
that no call of ours uses (``read_receipt``, ``GET /selections/{selection}/receipt``)."""


def moves_money(kind: RequestKind) -> bool:
    """Whether requests of ``kind`` are calls after which Centra may have taken money."""
    return kind in _MONEY


_MONEY = frozenset(kind for kind, call in BY_KIND.items() if call.moves_money)


@attrs.frozen
class Drip:
    """The answer trickles out: one byte every ``interval`` seconds (a read timeout never fires)."""

    interval: float


@attrs.frozen
class Huge:
    """The answer padded with JSON whitespace to ``size`` bytes (still valid JSON)."""

    size: int


@attrs.frozen
class GzipBomb:
    """The answer padded to ``size`` bytes, sent gzipped (``Content-Encoding: gzip``): a small
    body that inflates to ``size`` bytes."""

    size: int


Wire = Drip | Huge | GzipBomb
"""How an HTTP carrier sends an answer when it is not written at once, as it is."""


class Answer(tuple[int, Any]):
    """The fake's answer: ``(status, body)`` as it unpacks and indexes, plus what HTTP adds.

    ``body`` is JSON-ready data; ``headers`` are extra response headers (``Retry-After``,
    ``Content-Type``); ``content``, when set, is the exact body on the wire instead of the body's
    JSON (an answer that is not JSON); ``wire`` is a delivery fault for an HTTP carrier.
    Equal to the plain tuple ``(status, body)``.
    """

    headers: Mapping[str, str]
    content: bytes | None
    wire: Wire | None

    def __new__(
        cls,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        wire: Wire | None = None,
    ) -> Answer:
        answer = super().__new__(cls, (status, body))
        answer.headers = dict(headers or {})
        answer.content = content
        answer.wire = wire
        return answer

    @classmethod
    def of(cls, answer: tuple[int, Any]) -> Answer:
        """``answer`` as an ``Answer`` (a plain ``(status, body)`` tuple has no headers)."""
        return answer if isinstance(answer, Answer) else cls(answer[0], answer[1])

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self[0]

    @property
    def body(self) -> Any:
        """The JSON-ready body."""
        return self[1]

    def __reduce__(self) -> tuple[Any, ...]:  # pickled between processes (tests' FakeServer)
        return (Answer, (self.status, self.body, self.headers, self.content, self.wire))

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={value!r}"
            for name, value in (("headers", self.headers), ("wire", self.wire))
            if value
        )
        return f"Answer({self.status}, {self.body!r}{extra})"


class LostAnswer(Exception):
    """Raised by ``FakeCentra.serve_shop_api``: no answer reaches the client.

    ``acted`` says whether Centra acted before the answer was lost; ``reason`` what the client
    saw. Never leaves the fake's carriers (its in-process ``Transport``, an HTTP server): they
    translate it.
    """

    def __init__(self, kind: RequestKind, acted: bool, reason: str = "read timed out"):
        super().__init__(kind, acted, reason)
        self.kind = kind
        self.acted = acted
        self.reason = reason

    def __str__(self) -> str:
        when = "after Centra acted" if self.acted else "before Centra acted"
        return f"the answer of {self.kind} was lost {when} ({self.reason})"

    def to_error(self, label: str = "") -> OrderflowError:
        """The core error a client sees: ``OutcomeUnknown`` for the calls that move money, else
        ``CentraUnavailable``. ``label`` names the endpoint in the message (default: the kind)."""
        where = label or str(self.kind)
        reason = f"{self.reason} (injected)"
        if moves_money(self.kind):
            return OutcomeUnknown(where, reason)
        return CentraUnavailable(where, reason)


__all__ = ["Answer", "Drip", "GzipBomb", "Huge", "LostAnswer", "RequestKind", "Wire", "moves_money"]
