"""Seeded fault injection for ``FakeCentra``: what goes wrong with each request, repeatably.

A ``FaultPlan`` plugs into ``FakeCentra(faults=plan)`` through the fake's ``Faults`` hook. Each
rule picks calls by ``CallKind`` (or ``"*"``: every call) and says what happens:

- ``latency``: the fake sleeps (through the plan's injectable ``sleep``) before acting; it adds
  to any other fault.
- ``status``: an HTTP status (408, 409, 425, 429 with ``Retry-After``, 404, 5xx, ...) with
  Centra's error body, instead of acting, or after acting (``acted=True``: the change or the
  order was made, then Centra answered that). ``server_error`` is ``status`` with a 5xx.
- ``timeout_before`` / ``timeout_after``: the answer is lost (``LostAnswer``) before or after
  Centra acted.
- ``out_of_stock``: Centra's 410 instead of acting (meant for the payment calls).
- ``malformed``: Centra acted, then answered a 2xx that is not what it should be (see
  ``malformed.Shape``: elided, no items, no totals, not JSON, truncated, wrong types).
- ``drip``, ``huge``, ``gzip_bomb``: Centra acted; an HTTP server sends the answer a byte every
  ``interval`` seconds, padded to ``size`` bytes, or gzipped so that it inflates to ``size``
  bytes (``answer.Wire``). The in-process ``Transport`` has no wire: see ``FakeCentra.send``.

A lost answer is signalled by raising ``LostAnswer`` from ``FakeCentra.serve_shop_api``: it is
not an HTTP answer, so it cannot be one. Whoever carries it to a client turns it into what that
client would see: the in-process ``Transport`` raises the core error (``LostAnswer.to_error``),
an HTTP server holds the connection past the client's timeout without answering.

Repeatable: every decision comes from a ``random.Random`` seeded with the plan's seed, the call's
kind, the selection and how often that kind was called for that selection, so a run repeats
with the same seed even when threads or processes interleave their requests differently.
Explicit schedules (``on_calls``: the n-th call of a kind, counting from 1 across all
selections) need no randomness. ``log`` records every injection; ``reached`` counts, per
``(kind, selection)``, the requests the fake acted on (the receipt read under its route name).
"""

from __future__ import annotations

import enum
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from http import HTTPStatus
from typing import Any, Literal

import attrs

from orderflow.adapters.fake.answer import Answer, Drip, GzipBomb, Huge, LostAnswer, RequestKind
from orderflow.adapters.fake.malformed import SHAPES, Shape, malformed
from orderflow.adapters.shop_api import dialect
from orderflow.calls import CallKind

__all__ = ["Fault", "FaultPlan", "Injection", "LostAnswer", "Shape"]

Calls = CallKind | Literal["*"]
"""Which calls a rule picks: one kind, or ``"*"`` for every call."""


class Fault(enum.Enum):
    """What a ``FaultPlan`` can make go wrong with one request."""

    LATENCY = "latency"
    STATUS = "status"
    TIMEOUT_BEFORE = "timeout_before"
    TIMEOUT_AFTER = "timeout_after"
    OUT_OF_STOCK = "out_of_stock"
    MALFORMED = "malformed"
    DRIP = "drip"
    HUGE = "huge"
    GZIP_BOMB = "gzip_bomb"


@attrs.frozen
class Injection:
    """One fault a plan injected: the ``nth`` call of ``kind`` (from 1), its selection."""

    kind: CallKind
    selection: str | None
    nth: int
    fault: Fault
    detail: str = ""


@attrs.frozen
class _Rule:
    kind: CallKind | None  # None: every call
    fault: Fault
    probability: float
    on_calls: frozenset[int]
    acted: bool = False  # applied to the answer after the fake acted
    answer: Answer | None = None  # what status and out_of_stock answer
    latency: tuple[float, float] = (0.0, 0.0)
    shape: Shape | None = None
    wire: Drip | Huge | GzipBomb | None = None
    detail: str = ""

    def applies(self, kind: CallKind, nth: int, draw: float) -> bool:
        if self.kind is not None and self.kind is not kind:
            return False
        return nth in self.on_calls or draw < self.probability


@attrs.frozen
class _Pending:
    rule: _Rule
    selection: str | None
    nth: int


class FaultPlan:
    """A seeded plan of faults for ``FakeCentra`` (its ``faults=`` hook). Thread-safe.

    Build it with the methods below (each returns the plan, so they chain). Each takes ``kind``
    (a ``CallKind``, or ``"*"`` for every call), a ``probability`` per request and/or
    ``on_calls``, the call ordinals it always hits; without either it hits every call, with
    ``on_calls`` alone only those. Latency adds to any other fault; of the others, the first
    rule that hits wins. Raises ``ValueError`` for an unknown kind or a bad argument.
    """

    def __init__(self, seed: int, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.seed = seed
        self.sleep = sleep
        self.log: list[Injection] = []
        self.reached: Counter[tuple[RequestKind, str | None]] = Counter()
        self._rules: list[_Rule] = []
        self._calls: Counter[CallKind] = Counter()
        self._per_selection: Counter[tuple[CallKind, str | None]] = Counter()
        self._lock = threading.Lock()
        self._pending = threading.local()  # an after-acting decision, from before() to after()

    # --- building the plan -------------------------------------------------------------------

    def latency(
        self,
        kind: Calls,
        low: float,
        high: float | None = None,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Sleep between ``low`` and ``high`` seconds (uniform) before the fake acts."""
        span = (low, high if high is not None else low)
        if not 0 <= span[0] <= span[1] < math.inf:
            raise ValueError(f"latency is 0 <= low <= high seconds, not {span}")
        return self._add(kind, Fault.LATENCY, probability, on_calls, latency=span)

    def status(
        self,
        kind: Calls,
        code: int,
        retry_after: int | None = None,
        acted: bool = False,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Answer HTTP ``code`` (400 to 599) with Centra's error body, and ``Retry-After``
        (whole seconds) when given; before acting, or after it with ``acted``."""
        if not 400 <= code <= 599:
            raise ValueError(f"a status fault answers 400 to 599, not {code}")
        if retry_after is not None and (type(retry_after) is not int or retry_after < 0):
            raise ValueError(f"Retry-After is whole seconds, not {retry_after!r}")
        try:
            phrase = HTTPStatus(code).phrase.lower()
        except ValueError:
            phrase = "injected"
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"errors": {"request": phrase}, "message": "injected fault"}
        answer = Answer(code, body, headers)
        detail = f"{code}" + (" after acting" if acted else "")
        return self._add(
            kind, Fault.STATUS, probability, on_calls, acted=acted, answer=answer, detail=detail
        )

    def server_error(
        self,
        kind: Calls,
        *,
        status: int = 503,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """``status`` with a 5xx, instead of acting."""
        if not 500 <= status < 600:
            raise ValueError(f"a server error is a 5xx status, not {status}")
        return self.status(kind, status, probability=probability, on_calls=on_calls)

    def timeout_before(
        self, kind: Calls, *, probability: float | None = None, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Lose the request before Centra acts: ``LostAnswer(acted=False)``."""
        return self._add(kind, Fault.TIMEOUT_BEFORE, probability, on_calls)

    def timeout_after(
        self, kind: Calls, *, probability: float | None = None, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Let Centra act, then lose its answer: ``LostAnswer(acted=True)``."""
        return self._add(kind, Fault.TIMEOUT_AFTER, probability, on_calls, acted=True)

    def out_of_stock(
        self, kind: Calls, *, probability: float | None = None, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Answer Centra's 410 (no items listed, no reduced selection) instead of acting."""
        answer = Answer(410, {"errors": {"stock": "unavailable items"}, "unavailable": []})
        return self._add(kind, Fault.OUT_OF_STOCK, probability, on_calls, answer=answer)

    def malformed(
        self,
        kind: Calls,
        shape: Shape,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Let Centra act, then answer its 2xx in ``shape`` (an error answer stays as it is)."""
        if shape not in SHAPES:
            raise ValueError(f"no shape {shape!r}; one of {', '.join(SHAPES)}")
        return self._add(
            kind, Fault.MALFORMED, probability, on_calls, acted=True, shape=shape, detail=shape
        )

    def drip(
        self,
        kind: Calls,
        interval: float,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Let Centra act; an HTTP server sends the answer one byte every ``interval`` seconds."""
        if not 0 < interval < math.inf:
            raise ValueError(f"a drip's interval is a positive number of seconds, not {interval}")
        return self._wire(kind, Fault.DRIP, Drip(interval), f"{interval:g}s", probability, on_calls)

    def huge(
        self,
        kind: Calls,
        size: int,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Let Centra act; an HTTP server pads the answer's JSON with spaces to ``size`` bytes."""
        return self._wire(kind, Fault.HUGE, Huge(_size(size)), f"{size}B", probability, on_calls)

    def gzip_bomb(
        self,
        kind: Calls,
        size: int,
        *,
        probability: float | None = None,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Let Centra act; an HTTP server sends the answer padded to ``size`` bytes, gzipped
        (``Content-Encoding: gzip``): about a thousandth of ``size`` on the wire."""
        bomb = GzipBomb(_size(size))
        return self._wire(kind, Fault.GZIP_BOMB, bomb, f"{size}B", probability, on_calls)

    def clear(self) -> FaultPlan:
        """Drop every rule (the log and the counts stay)."""
        with self._lock:
            self._rules.clear()
        return self

    def injected(self, fault: Fault | None = None, kind: CallKind | None = None) -> list[Injection]:
        """The injections so far, optionally only of one fault and/or kind of call."""
        with self._lock:
            return [
                i
                for i in self.log
                if (fault is None or i.fault is fault) and (kind is None or i.kind == kind)
            ]

    # --- the Faults hook ---------------------------------------------------------------------

    def before(self, kind: RequestKind, method: str, path: str, body: Any) -> Answer | None:
        """Decide this request's faults; sleep, answer instead of acting, or raise."""
        self._pending.decision = None
        selection = _selection_of(method, path, body)
        if not isinstance(kind, CallKind):  # an endpoint no call uses: never faulted
            with self._lock:
                self.reached[kind, selection] += 1
            return None
        with self._lock:
            self._calls[kind] += 1
            nth = self._calls[kind]
            self._per_selection[kind, selection] += 1
            key = f"{self.seed}:{kind}:{selection}:{self._per_selection[kind, selection]}"
            rules = list(self._rules)
        rng = random.Random(key)
        delay = 0.0
        chosen: _Rule | None = None
        for rule in rules:
            hit = rule.applies(kind, nth, rng.random())
            if hit and rule.fault is Fault.LATENCY:
                delay += rng.uniform(*rule.latency)
            elif hit and chosen is None:
                chosen = rule
        if delay > 0:
            self._record(kind, selection, nth, Fault.LATENCY, f"{delay:.4f}s")
            self.sleep(delay)
        if chosen is None or chosen.acted:
            with self._lock:
                self.reached[kind, selection] += 1
            if chosen is not None:
                self._pending.decision = _Pending(chosen, selection, nth)
                if chosen.fault is not Fault.MALFORMED:  # recorded once it applies
                    self._record(kind, selection, nth, chosen.fault, chosen.detail)
            return None
        self._record(kind, selection, nth, chosen.fault, chosen.detail)
        if chosen.fault is Fault.TIMEOUT_BEFORE:
            raise LostAnswer(kind, acted=False)
        assert chosen.answer is not None
        return chosen.answer

    def after(self, kind: RequestKind, status: int, body: Any) -> Answer | None:
        """Apply what ``before`` decided for after acting; otherwise keep the answer."""
        pending: _Pending | None = getattr(self._pending, "decision", None)
        self._pending.decision = None
        if pending is None or not isinstance(kind, CallKind):
            return None
        rule = pending.rule
        if rule.fault is Fault.TIMEOUT_AFTER:
            raise LostAnswer(kind, acted=True)
        if rule.answer is not None:
            return rule.answer
        if rule.shape is not None:
            if not 200 <= status < 300:
                return None
            self._record(kind, pending.selection, pending.nth, Fault.MALFORMED, rule.detail)
            return malformed(rule.shape, status, body)
        return Answer(status, body, wire=rule.wire)

    # --- internals ---------------------------------------------------------------------------

    def _wire(
        self,
        kind: Calls,
        fault: Fault,
        wire: Drip | Huge | GzipBomb,
        detail: str,
        probability: float | None,
        on_calls: Collection[int],
    ) -> FaultPlan:
        return self._add(kind, fault, probability, on_calls, acted=True, wire=wire, detail=detail)

    def _add(
        self,
        kind: Calls,
        fault: Fault,
        probability: float | None,
        on_calls: Collection[int],
        **extra: Any,
    ) -> FaultPlan:
        if probability is None:
            probability = 0.0 if on_calls else 1.0
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"a probability is between 0 and 1, not {probability}")
        rule = _Rule(_kind(kind), fault, probability, frozenset(on_calls), **extra)
        with self._lock:
            self._rules.append(rule)
        return self

    def _record(
        self, kind: CallKind, selection: str | None, nth: int, fault: Fault, detail: str = ""
    ) -> None:
        with self._lock:
            self.log.append(Injection(kind, selection, nth, fault, detail))


def _kind(kind: Calls) -> CallKind | None:
    if kind == "*":
        return None
    try:
        return CallKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in CallKind)
        raise ValueError(f"no call {kind!r}; a CallKind ({choices}) or '*'") from None


def _size(size: int) -> int:
    if type(size) is not int or size < 1:
        raise ValueError(f"a size is a whole number of bytes, not {size!r}")
    return size


def _selection_of(method: str, path: str, body: Any) -> str | None:
    found = dialect.match(method, path)
    if found is not None and "selection" in found[1]:
        return found[1]["selection"]
    if isinstance(body, Mapping) and isinstance(body.get("selection"), str):
        return str(body["selection"])
    return None
