"""Seeded fault injection for ``FakeCentra``: latency, 5xx, timeouts, lost answers, 410.

A ``FaultPlan`` plugs into ``FakeCentra(faults=plan)`` through the fake's ``Faults`` hook and
decides, for each request, what goes wrong:

- ``latency``: the fake sleeps (through the plan's injectable ``sleep``) before acting.
- ``server_error``: a 5xx answer instead of acting (``CentraUnavailable`` to the client).
- ``timeout_before``: the request never reached Centra; no answer comes.
- ``timeout_after``: Centra acted (the order may exist), but the answer was lost.
- ``out_of_stock``: Centra's 410 instead of acting (meant for ``start_payment`` and
  ``payment_result``); the fake's cart is left as it was.

A lost answer (either timeout) is signalled by raising ``LostAnswer`` from
``FakeCentra.serve_shop_api``: it is not an HTTP answer, so it cannot be one. Whoever carries
it to a client turns it into what that client would see: the fake's in-process ``Transport``
raises the core error (``LostAnswer.to_error``: ``OutcomeUnknown`` for the payment calls,
whose effect a client cannot know, ``CentraUnavailable`` for the others); an HTTP server
drops the connection (or holds it past the client's timeout) without writing a response.

Repeatable: every decision comes from a ``random.Random`` seeded with the plan's seed, the
endpoint, the selection and how often that endpoint was called for that selection, so a run
repeats with the same seed even when threads or processes interleave their requests
differently. Explicit schedules (``on_calls``: the n-th call of an endpoint, counting from 1
across all selections) need no randomness. ``log`` records every injection; ``reached`` counts,
per ``(endpoint, selection)``, the requests the fake acted on.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from orderflow.adapters.shop_api import dialect
from orderflow.errors import CentraUnavailable, OrderflowError, OutcomeUnknown

__all__ = ["PAYMENT_ENDPOINTS", "Fault", "FaultPlan", "Injection", "LostAnswer"]

Answer = tuple[int, Any]

PAYMENT_ENDPOINTS = frozenset({"start_payment", "payment_result"})
"""The calls whose lost answer leaves the outcome unknown (Centra may have taken money)."""


class Fault(enum.Enum):
    """What a ``FaultPlan`` can make go wrong with one request."""

    LATENCY = "latency"
    SERVER_ERROR = "server_error"
    TIMEOUT_BEFORE = "timeout_before"
    TIMEOUT_AFTER = "timeout_after"
    OUT_OF_STOCK = "out_of_stock"


class LostAnswer(Exception):
    """Raised by ``FakeCentra.serve_shop_api``: no answer reaches the client.

    ``acted`` says whether Centra acted before the answer was lost. Never leaves the fake's
    carriers (its in-process ``Transport``, an HTTP server): they translate it.
    """

    def __init__(self, endpoint: str, acted: bool):
        super().__init__(endpoint, acted)
        self.endpoint = endpoint
        self.acted = acted

    def __str__(self) -> str:
        when = "after Centra acted" if self.acted else "before Centra acted"
        return f"the answer of {self.endpoint} was lost {when}"

    def to_error(self, label: str = "") -> OrderflowError:
        """The core error a client sees: ``OutcomeUnknown`` for payment calls, else
        ``CentraUnavailable``. ``label`` names the endpoint in the message (default: its name)."""
        where = label or self.endpoint
        if self.endpoint in PAYMENT_ENDPOINTS:
            return OutcomeUnknown(where, "read timed out (injected)")
        return CentraUnavailable(where, "read timed out (injected)")


@attrs.frozen
class Injection:
    """One fault a plan injected: the ``nth`` call of ``endpoint`` (from 1), its selection."""

    endpoint: str
    selection: str | None
    nth: int
    fault: Fault
    detail: str = ""


@attrs.frozen
class _Rule:
    endpoint: str  # "*" for every endpoint
    fault: Fault
    probability: float
    on_calls: frozenset[int]
    status: int = 503
    latency: tuple[float, float] = (0.0, 0.0)

    def applies(self, endpoint: str, nth: int, draw: float) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        return nth in self.on_calls or draw < self.probability


class FaultPlan:
    """A seeded plan of faults for ``FakeCentra`` (its ``faults=`` hook). Thread-safe.

    Build it with the methods below (each returns the plan, so they chain); each takes an
    ``endpoint`` (a ``dialect.ROUTES`` name, or ``"*"``), a ``probability`` per request and/or
    ``on_calls``, the call ordinals it always hits. Latency adds to any other fault; of the
    others, the first rule that hits wins. Raises ``ValueError`` for an unknown endpoint.
    """

    def __init__(self, seed: int, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.seed = seed
        self.sleep = sleep
        self.log: list[Injection] = []
        self.reached: Counter[tuple[str, str | None]] = Counter()
        self._rules: list[_Rule] = []
        self._calls: Counter[str] = Counter()
        self._per_selection: Counter[tuple[str, str | None]] = Counter()
        self._lock = threading.Lock()
        self._pending = threading.local()  # a lost-after decision, from before() to after()

    # --- building the plan -------------------------------------------------------------------

    def latency(
        self,
        endpoint: str,
        low: float,
        high: float | None = None,
        *,
        probability: float = 1.0,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Sleep between ``low`` and ``high`` seconds (uniform) before the fake acts."""
        span = (low, high if high is not None else low)
        return self._add(endpoint, Fault.LATENCY, probability, on_calls, latency=span)

    def server_error(
        self,
        endpoint: str,
        *,
        status: int = 503,
        probability: float = 0.0,
        on_calls: Collection[int] = (),
    ) -> FaultPlan:
        """Answer ``status`` (5xx) instead of acting."""
        if not 500 <= status < 600:
            raise ValueError(f"a server error is a 5xx status, not {status}")
        return self._add(endpoint, Fault.SERVER_ERROR, probability, on_calls, status=status)

    def timeout_before(
        self, endpoint: str, *, probability: float = 0.0, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Lose the request before Centra acts: ``LostAnswer(acted=False)``."""
        return self._add(endpoint, Fault.TIMEOUT_BEFORE, probability, on_calls)

    def timeout_after(
        self, endpoint: str, *, probability: float = 0.0, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Let Centra act, then lose its answer: ``LostAnswer(acted=True)``."""
        return self._add(endpoint, Fault.TIMEOUT_AFTER, probability, on_calls)

    def out_of_stock(
        self, endpoint: str, *, probability: float = 0.0, on_calls: Collection[int] = ()
    ) -> FaultPlan:
        """Answer Centra's 410 (no items listed, no reduced selection) instead of acting."""
        return self._add(endpoint, Fault.OUT_OF_STOCK, probability, on_calls, status=410)

    def clear(self) -> FaultPlan:
        """Drop every rule (the log and the counts stay)."""
        with self._lock:
            self._rules.clear()
        return self

    def injected(self, fault: Fault | None = None, endpoint: str | None = None) -> list[Injection]:
        """The injections so far, optionally only of one fault and/or endpoint."""
        with self._lock:
            return [
                i
                for i in self.log
                if (fault is None or i.fault is fault)
                and (endpoint is None or i.endpoint == endpoint)
            ]

    # --- the Faults hook ---------------------------------------------------------------------

    def before(self, endpoint: str, method: str, path: str, body: Any) -> Answer | None:
        """Decide this request's faults; sleep, answer instead of acting, or raise."""
        self._pending.lost = False
        selection = _selection_of(method, path, body)
        with self._lock:
            self._calls[endpoint] += 1
            nth = self._calls[endpoint]
            self._per_selection[endpoint, selection] += 1
            key = f"{self.seed}:{endpoint}:{selection}:{self._per_selection[endpoint, selection]}"
            rules = list(self._rules)
        rng = random.Random(key)
        delay = 0.0
        chosen: _Rule | None = None
        for rule in rules:
            hit = rule.applies(endpoint, nth, rng.random())
            if hit and rule.fault is Fault.LATENCY:
                delay += rng.uniform(*rule.latency)
            elif hit and chosen is None:
                chosen = rule
        if delay > 0:
            self._record(endpoint, selection, nth, Fault.LATENCY, f"{delay:.4f}s")
            self.sleep(delay)
        if chosen is None or chosen.fault is Fault.TIMEOUT_AFTER:
            with self._lock:
                self.reached[endpoint, selection] += 1
            if chosen is not None:
                self._pending.lost = True
                self._record(endpoint, selection, nth, Fault.TIMEOUT_AFTER)
            return None
        self._record(endpoint, selection, nth, chosen.fault)
        if chosen.fault is Fault.TIMEOUT_BEFORE:
            raise LostAnswer(endpoint, acted=False)
        if chosen.fault is Fault.SERVER_ERROR:
            return chosen.status, {"errors": {"server": "injected"}, "message": "injected fault"}
        return 410, {"errors": {"stock": "unavailable items"}, "unavailable": []}

    def after(self, endpoint: str, status: int, body: Any) -> Answer | None:
        """Lose the answer if ``before`` decided so; otherwise keep it."""
        if getattr(self._pending, "lost", False):
            self._pending.lost = False
            raise LostAnswer(endpoint, acted=True)
        return None

    # --- internals ---------------------------------------------------------------------------

    def _add(
        self,
        endpoint: str,
        fault: Fault,
        probability: float,
        on_calls: Collection[int],
        **extra: Any,
    ) -> FaultPlan:
        if endpoint != "*" and endpoint not in {route.name for route in dialect.ROUTES}:
            raise ValueError(f"no endpoint {endpoint!r}; one of dialect.ROUTES or '*'")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"a probability is between 0 and 1, not {probability}")
        rule = _Rule(endpoint, fault, probability, frozenset(on_calls), **extra)
        with self._lock:
            self._rules.append(rule)
        return self

    def _record(
        self, endpoint: str, selection: str | None, nth: int, fault: Fault, detail: str = ""
    ) -> None:
        with self._lock:
            self.log.append(Injection(endpoint, selection, nth, fault, detail))


def _selection_of(method: str, path: str, body: Any) -> str | None:
    found = dialect.match(method, path)
    if found is not None and "selection" in found[1]:
        return found[1]["selection"]
    if isinstance(body, Mapping) and isinstance(body.get("selection"), str):
        return str(body["selection"])
    return None
