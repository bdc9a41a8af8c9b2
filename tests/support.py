"""Test transports shared by the unit and contract suites: each wraps a real ``Transport``."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import attrs

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock
from orderflow.commands import ServiceSettings
from orderflow.errors import OutcomeUnknown
from orderflow.ports import Transport
from orderflow.service import CheckoutService

A = TypeVar("A")


@attrs.define
class LosesAnswers:
    """A transport whose calls of the kinds in ``lose`` reach Centra, but whose answers never
    come back (a read timeout after Centra acted)."""

    inner: Transport
    lose: set[CallKind]

    def send(self, call: Call[A]) -> A:
        answer = self.inner.send(call)
        if call.kind in self.lose:
            raise OutcomeUnknown(call.label, "read timed out")
        return answer


Scripted = Exception | Callable[[Call[Any]], Any]
"""What a ``Script`` does instead of carrying a call: raise the error, or answer the callable's
result (which may carry the call on first: ``lambda call: inner.send(call)``)."""


@attrs.define
class Script:
    """A transport that answers the next calls of each kind from ``script`` (in order), then
    carries the rest to ``inner``. ``sent`` lists every call that reached ``inner``."""

    inner: Transport
    script: Mapping[CallKind, Iterable[Scripted]]
    sent: list[Call[Any]] = attrs.field(factory=list)
    _queues: dict[CallKind, deque[Scripted]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._queues = {kind: deque(steps) for kind, steps in self.script.items()}

    def send(self, call: Call[A]) -> A:
        queue = self._queues.get(call.kind)
        if queue:
            step = queue.popleft()
            if isinstance(step, Exception):
                raise step
            answer: A = step(call)
            return answer
        self.sent.append(call)
        return self.inner.send(call)

    def carry(self, call: Call[Any]) -> Any:
        """Carry ``call`` to ``inner`` (for scripts that act and then answer otherwise)."""
        self.sent.append(call)
        return self.inner.send(call)


@attrs.define
class Awaited:
    """An ``AsyncTransport`` over a sync one, for driving the async service in tests."""

    inner: Transport

    async def send(self, call: Call[A]) -> A:
        return self.inner.send(call)


@attrs.define
class AwaitedStore:
    """An ``AsyncStore`` over a sync in-memory one, sharing its state (tests assert on the
    sync store while the async service writes through this one)."""

    inner: Any

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return awaited


GATE_SETTINGS = ServiceSettings(claim_wait=timedelta(seconds=2), claim_poll=0.5)
"""A short claim wait for the money-gate tests (the lease is the default)."""


@attrs.define
class Shop:
    """A fake Centra, a store and a manual clock, and services over them whose calls can be
    scripted per kind (``Script``): the money-gate tests' world."""

    fake: FakeCentra
    store: MemoryStore
    clock: ManualClock

    def service(self, **script: list[Scripted]) -> CheckoutService:
        transport = Script(self.fake, {CallKind(kind): steps for kind, steps in script.items()})
        return CheckoutService(
            transport=transport, store=self.store, clock=self.clock, settings=GATE_SETTINGS
        )

    def confirmed(self, method: str = "klarna-playground") -> Checkout:
        service = self.service()
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        return service.confirm(checkout.id, attrs.evolve(seed_details(), payment_method=method))

    def pending(self) -> Checkout:
        return self.service().start_payment(self.confirmed().id)
