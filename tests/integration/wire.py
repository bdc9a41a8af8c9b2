"""What the scenarios over HTTP share: the fake's ledger of what reached it, set-ups, workers.

Every scenario here runs the service on ``ShopApiClient`` against a ``FakeServer`` (uvicorn on a
loopback port), so faults happen where they happen in production: on the wire. ``Ledger`` is
the fake's ``faults`` hook: a ``FaultPlan``'s faults, plus latency *after* the fake acted, plus
a record of what reached Centra (payment calls for a selection that already was an order, the
provider fields each payment result carried, requests still being served). Worker functions
run in ``forkserver`` children, each with its own store and client.
"""

from __future__ import annotations

import contextlib
import copy
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
import httpx

from orderflow import codec
from orderflow.adapters.fake.answer import moves_money
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, seed_details
from orderflow.adapters.fake.server import FakeServer, create_app
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import ShopApiClient
from orderflow.calls import CallKind, ReadSelection
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.errors import IdempotencyKeyInFlight, OrderflowError
from orderflow.flow import State
from orderflow.payment import PaymentRequest
from orderflow.ports import IdempotencyRecord, Store
from orderflow.receipt import Receipt
from orderflow.service import CheckoutService
from tests.integration.support import StoreSpec, close, die

INSTANT = "instant-success"
"""The payment method whose start-payment makes the order at once (a ``success`` action)."""
KLARNA = "klarna-playground"
"""The seed's payment method: a form, then the payment result makes the order."""
DECLINING_FIELDS = {"centraPaymentMethod": "not-what-was-started"}
"""A provider answer every payment method of the fake declines (no proof, another method)."""
SHORT_LEASE = ServiceSettings(
    claim_lease=timedelta(seconds=0.8), claim_wait=timedelta(seconds=15), claim_poll=0.02
)
"""A lease a test can wait out: longer than a killed worker's client deadline
(``SHORT_DEADLINE``) and than anything the fake is told to take, so a lapsed lease means its
holder is gone."""
SHORT_DEADLINE = 0.6
"""The client deadline of a worker whose claim may be taken over after ``SHORT_LEASE``."""


def details(method: str = KLARNA) -> PaymentRequest:
    """The seed's shopper details, paying with ``method``."""
    return attrs.evolve(seed_details(), payment_method=method)


class Ledger:
    """``FakeCentra``'s faults hook for the HTTP scenarios. Thread-safe.

    ``plan`` injects its faults (swap it between runs); ``after_acting`` sleeps between
    ``low`` and ``high`` seconds after the fake acted on each call of those kinds, before it
    answers (seeded per call, as the plan's decisions are). ``late`` counts, per ``(kind,
    selection)``, the payment calls that reached Centra when the selection already was an
    order; ``fields`` keeps, per selection, the ``paymentMethodFields`` of each payment result
    as Centra received them; ``answered`` the fake's own answers (status, body) before any
    fault changed them; ``busy`` is how many HTTP requests are being served right now (count
    them by serving ``ledger.app(create_app(fake))``).
    """

    def __init__(
        self,
        fake: FakeCentra,
        plan: FaultPlan,
        *,
        after_acting: Mapping[CallKind, tuple[float, float]] | None = None,
    ) -> None:
        self.fake = fake
        self.plan = plan
        self.after_acting = dict(after_acting or {})
        self.late: Counter[tuple[CallKind, str | None]] = Counter()
        self.fields: defaultdict[str | None, list[Any]] = defaultdict(list)
        self.answered: defaultdict[tuple[Any, str | None], list[tuple[int, Any]]] = defaultdict(
            list
        )
        self.busy = 0
        self._in_fake = 0
        self._seen: Counter[tuple[Any, str | None]] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    def before(self, kind: Any, method: str, path: str, body: Any) -> Any:
        selection = _selection_of(method, path)
        with self._lock:
            self._in_fake += 1
            self._seen[kind, selection] += 1
            self._local.nth = self._seen[kind, selection]
            if moves_money(kind) and selection in self.fake.orders:
                self.late[kind, selection] += 1
            if kind == CallKind.PAYMENT_RESULT and isinstance(body, Mapping):
                self.fields[selection].append(copy.deepcopy(body.get("paymentMethodFields")))
        self._local.selection = selection
        try:
            instead = self.plan.before(kind, method, path, body)
        except BaseException:
            self._done()
            raise
        if instead is not None:
            self._done()
        return instead

    def after(self, kind: Any, status: int, body: Any) -> Any:
        selection = getattr(self._local, "selection", None)
        with self._lock:
            self.answered[kind, selection].append((status, copy.deepcopy(body)))
        try:
            span = self.after_acting.get(kind)
            if span is not None:
                nth = getattr(self._local, "nth", 0)
                rng = random.Random(f"{self.plan.seed}:after:{kind}:{selection}:{nth}")
                time.sleep(rng.uniform(*span))
            return self.plan.after(kind, status, body)
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._in_fake -= 1

    def app(self, inner: Any) -> Any:
        """``inner`` (an ASGI app) counting the HTTP requests it is serving in ``busy``."""

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            with self._lock:
                self.busy += 1
            try:
                await inner(scope, receive, send)
            finally:
                with self._lock:
                    self.busy -= 1

        return counted

    def quiet(self, within: float = 10.0) -> None:
        """Wait until no request is being served: a dead client's request is still served to
        its end (Centra acts on it), and a scenario reads Centra only once it has."""
        deadline = time.monotonic() + within
        while self.busy > 0 or self._in_fake > 0:
            assert time.monotonic() < deadline, f"{self.busy} requests still being served"
            time.sleep(0.01)

    def made(self, kind: CallKind, selection: str | None) -> int:
        """How many calls of ``kind`` for ``selection`` the fake answered with a 2xx (before any
        fault changed the answer): for an order-making call, how many orders it made."""
        with self._lock:
            return sum(200 <= status < 300 for status, _ in self.answered[kind, selection])

    def doubled(self, selection: str | None, order_kind: CallKind) -> bool:
        """Whether a payment call reached Centra for ``selection`` once it was an order, or
        the fake made more than one order-making call of ``order_kind`` for it."""
        late = sum(n for (_, s), n in self.late.items() if s == selection)
        return late > 0 or self.made(order_kind, selection) > 1


def _selection_of(method: str, path: str) -> str | None:
    found = dialect.match(method, path)
    if found is not None:
        return found[1].get("selection")
    return None


class _Switch:
    """An ASGI app that serves whichever app is ``current`` (one test's fake at a time), so
    the session runs one ``FakeServer``: stopping one costs 0.2 s (uvicorn polls for exit),
    and some twenty tests would pay it."""

    def __init__(self) -> None:
        self.current: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        app = self.current
        if app is None:  # between tests: a straggler of the last one
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)


_SWITCH = _Switch()
_SHARED: list[FakeServer] = []


@contextmanager
def serving(fake: FakeCentra, ledger: Ledger | None = None) -> Iterator[FakeServer]:
    """``fake`` served on a loopback port (``FakeServer``, shared by the session's tests), with
    ``ledger`` as its faults, counting its requests. Only one test's fake is served at a time."""
    app = create_app(fake)
    if ledger is not None:
        fake.faults = ledger
        app = ledger.app(app)
    if not _SHARED:
        server = FakeServer(_SWITCH)
        server.start()
        _SHARED.append(server)
    _SWITCH.current = app
    try:
        yield _SHARED[0]
    finally:
        _SWITCH.current = None


def stop_serving() -> None:
    """Stop the session's ``FakeServer``, if one was started."""
    while _SHARED:
        _SHARED.pop().stop()


def client(base_url: str, limits: httpx.Limits | None = None, **options: Any) -> ShopApiClient:
    """A Shop API client of the fake at ``base_url`` (no key), over plain HTTP.

    Its httpx transport is made without a TLS context: building one costs about 50 ms of CPU
    per client (measured here), which a round of 16 worker processes on 2 cores pays 16 times
    over, and the fake on a loopback port speaks plain HTTP. ``limits`` are the transport's
    (an injected transport has its own); everything else is httpx's default.
    """
    transport = httpx.HTTPTransport(verify=False, limits=limits or httpx.Limits())
    return ShopApiClient(base_url, None, transport=transport, **options)


def receipt_at_centra(fake: FakeCentra, selection: str | None) -> Receipt | None:
    """The receipt Centra answers for ``selection`` now, if it is an order (read in process)."""
    assert selection is not None
    found = fake.send(ReadSelection(selection))
    return found if isinstance(found, Receipt) else None


def to_state(service: CheckoutService, state: State, method: str = KLARNA) -> Checkout:
    """A new checkout of the seed's cart, moved to ``state`` (``payment_failed`` by the
    shopper landing on the failed page)."""
    checkout = service.open()
    checkout = service.add_item(checkout.id, SEED_ITEM, 1)
    if state is State.SELECTION:
        return checkout
    checkout = service.confirm(checkout.id, details(method))
    if state is State.CONFIRMED:
        return checkout
    checkout = service.start_payment(checkout.id)
    assert checkout.state is State.PAYMENT_PENDING, checkout.state
    if state is State.PAYMENT_FAILED:
        checkout = service.fail_payment(checkout.id)
    assert checkout.state is state, checkout.state
    return checkout


@contextmanager
def service_on(
    spec: StoreSpec, base_url: str, settings: ServiceSettings | None = None, **client_options: Any
) -> Iterator[CheckoutService]:
    """A service on a new store of ``spec`` and a new client of ``base_url``, both closed after."""
    store = spec.open()
    try:
        with client(base_url, **client_options) as transport:
            yield CheckoutService(transport=transport, store=store, settings=settings)
    finally:
        close(store)


# --- workers: SIGKILL inside a start-payment --------------------------------------------------


class _KillAfter:
    """Forwards to a transport; when a start-payment leaves, SIGKILL comes ``seconds`` later."""

    def __init__(self, inner: ShopApiClient, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds

    def send(self, call: Any) -> Any:
        if call.kind is CallKind.START_PAYMENT:
            threading.Timer(self._seconds, die).start()
        return self._inner.send(call)


def pay_and_die(
    spec: StoreSpec,
    base_url: str,
    checkout_id: str,
    kill: tuple[str, float],
    settings: ServiceSettings,
    deadline: float,
) -> None:
    """Set up ``checkout_id`` to pay by instant success, start its payment and SIGKILL this
    process while it pays: ``kill`` is ("start", seconds) after ``start_payment`` began (the
    kill may land before the write-ahead marker) or ("call", seconds) after the call left
    (in flight, after Centra acted, or after the save)."""
    store = spec.open()
    try:
        with client(base_url) as steady, client(base_url, deadline=deadline) as quick:
            setup = CheckoutService(transport=steady, store=store, settings=settings)
            setup.open(checkout_id)
            setup.add_item(checkout_id, SEED_ITEM, 1)
            setup.confirm(checkout_id, details(INSTANT))
            since, seconds = kill
            if since == "start":
                threading.Timer(seconds, die).start()
                transport: Any = quick
            else:
                transport = _KillAfter(quick, seconds)
            service = CheckoutService(transport=transport, store=store, settings=settings)
            with contextlib.suppress(OrderflowError):  # the deadline: the kill still comes
                service.start_payment(checkout_id)
            time.sleep(60)
    finally:
        close(store)  # only after a failure: the kill comes first
    raise AssertionError("the timer never killed this process")


def resume_payments(
    spec: StoreSpec, base_url: str, plans: list[tuple[str, str]], settings: ServiceSettings
) -> dict[str, tuple[str, str, str]]:
    """Resume each checkout the way its plan says ("start_payment": start the payment again;
    "reconcile": reconcile, then start the payment if that left it confirmed). Per checkout:
    (what ended it: "order" or "error", the order number or the error, how it got there)."""
    results: dict[str, tuple[str, str, str]] = {}
    with service_on(spec, base_url, settings) as service:
        for checkout_id, how in plans:
            steps = []
            try:
                checkout = service.get(checkout_id)
                if checkout.state is not State.PAID and how == "reconcile":
                    checkout = service.reconcile(checkout_id)
                    steps.append(f"reconcile->{checkout.state}")
                if checkout.state is not State.PAID:
                    checkout = service.start_payment(checkout_id)
                    steps.append(f"start_payment->{checkout.state}")
                results[checkout_id] = ("order", checkout.order or "", " ".join(steps))
            except OrderflowError as error:
                results[checkout_id] = ("error", repr(error), " ".join(steps))
    return results


# --- workers: one idempotency key from two processes --------------------------------------------


class KeyWaits:
    """Forwards to a store and keeps the keys whose reservation it found held by another
    caller (this caller had to wait)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.waited: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def reserve(self, record: IdempotencyRecord, now: Any) -> IdempotencyRecord:
        found = self._inner.reserve(record, now)
        if found.owner != record.owner and found.result is None:
            self.waited.add(record.key)
        return found


Round = tuple[str, str | None, str, bool]
"""One round of the key race: (command, checkout id or None for open, idempotency key,
impatient). In an impatient round the second process comes 20 ms later and waits at most
``IMPATIENT`` for the first one's result: it is told the key is in flight, and asks again."""
IMPATIENT = 0.02


def same_key_worker(
    spec: StoreSpec,
    base_url: str,
    rounds: list[Round],
    start: Any,
    settings: ServiceSettings,
    second: bool,
) -> tuple[list[tuple[str, str]], set[str], int]:
    """Run each round's command with its key as soon as the other process is ready too
    (``second``: this is the process that comes later in an impatient round).

    Per round: ("ok", the result as stored text) or ("error", repr). Also the keys this
    process found held by the other one, and how often it was told a key was in flight (it then
    asks again with the same key, until it gets the result).
    """
    store = spec.open()
    counted = KeyWaits(store)
    results: list[tuple[str, str]] = []
    in_flight = 0
    short = attrs.evolve(settings, claim_wait=timedelta(seconds=IMPATIENT))
    try:
        with client(base_url) as transport:
            patient = CheckoutService(transport=transport, store=counted, settings=settings)
            hasty = CheckoutService(transport=transport, store=counted, settings=short)
            for command, checkout_id, key, impatient in rounds:
                start.wait(timeout=30)
                service = patient
                if impatient and second:
                    time.sleep(IMPATIENT)
                    service = hasty
                for _ in range(50):
                    try:
                        if command == "open":
                            done = service.open(idempotency_key=key)
                        elif command == "add_item":
                            assert checkout_id is not None
                            done = service.add_item(checkout_id, SEED_ITEM, 1, idempotency_key=key)
                        else:
                            assert checkout_id is not None
                            done = service.start_payment(checkout_id, idempotency_key=key)
                        results.append(("ok", codec.dumps(done)))
                        break
                    except IdempotencyKeyInFlight:
                        in_flight += 1
                    except OrderflowError as error:
                        results.append(("error", repr(error)))
                        break
                else:
                    results.append(("error", "IdempotencyKeyInFlight 50 times"))
    finally:
        close(store)
    return results, counted.waited, in_flight


# --- workers: load in another process ----------------------------------------------------------


def loader(spec: StoreSpec, connection: Any) -> None:
    """Load each checkout id received on ``connection`` from this process's own store (a
    fresh one: it has never seen the checkout, so it reads what the database holds); send it
    back, or the error's repr. Ends when ``None`` is received."""
    store = spec.open()
    try:
        while (checkout_id := connection.recv()) is not None:
            try:
                connection.send(("ok", store.load(checkout_id)))
            except Exception as error:  # reported to the parent, which fails the test
                connection.send(("error", repr(error)))
    finally:
        close(store)
        connection.close()
