"""What the integration tests share: stores by spec, the fake served to other processes, workers.

Worker functions live here and in ``wire`` (not in the test modules) so that ``forkserver``
children import them by name. A ``StoreSpec`` is plain data, so each process opens its own
store on the same SQLite file or PostgreSQL schema. ``PickledFake`` serves a ``FakeCentra`` to
other processes without HTTP (the fake's own in-process dialect, with its requests pickled);
``wire`` has what the scenarios over HTTP (``ShopApiClient`` against ``FakeServer``) share.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.connection import Client, Connection, Listener
from multiprocessing.context import ForkServerContext
from typing import Any

import attrs

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import LostAnswer
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.sqlite import SQLiteStore
from orderflow.calls import Call, CallKind
from orderflow.checkout import Checkout
from orderflow.commands import ServiceSettings
from orderflow.errors import CheckoutNotFound, OrderflowError
from orderflow.flow import State
from orderflow.ports import Claim, Store
from orderflow.service import CheckoutService

POSTGRES_DSN = os.environ.get("ORDERFLOW_TEST_POSTGRES_DSN")
NO_POSTGRES = "set ORDERFLOW_TEST_POSTGRES_DSN to run the PostgreSQL tests"

RACE_SETTINGS = ServiceSettings(
    claim_lease=timedelta(seconds=60), claim_wait=timedelta(seconds=60), claim_poll=0.005
)
"""No claim expires and no waiter gives up during a race: a ``ClaimTimeout`` is a failure."""


@attrs.frozen
class StoreSpec:
    """How to open a store from any process: ``kind`` "sqlite" (``where`` is the file) or
    "postgres" (``where`` is the DSN, ``schema`` the test's own schema)."""

    kind: str
    where: str
    schema: str | None = None

    def open(self, **options: Any) -> Store:
        """A new store on the spec's database (``options`` go to a PostgreSQL store)."""
        if self.kind == "sqlite":
            return SQLiteStore(self.where)
        from orderflow.adapters.stores.postgres import PostgresStore

        return PostgresStore(self.where, schema=self.schema, **options)


def close(store: Any) -> None:
    closer = getattr(store, "close", None)
    if closer is not None:
        closer()


@contextmanager
def opened(spec: StoreSpec, **options: Any) -> Iterator[Store]:
    """A store on ``spec``, closed afterwards."""
    store = spec.open(**options)
    try:
        yield store
    finally:
        close(store)


@contextmanager
def postgres_schema(dsn: str) -> Iterator[StoreSpec]:
    """A fresh schema with the store's tables, dropped afterwards."""
    import psycopg

    from orderflow.adapters.stores.postgres import PostgresStore

    schema = f"orderflow_it_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresStore(dsn, schema=schema) as store:
            store.create_schema()
        yield StoreSpec("postgres", dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def context() -> ForkServerContext:
    """``forkserver``: children fork from a clean, single-threaded server, preloaded once."""
    ctx = multiprocessing.get_context("forkserver")
    assert isinstance(ctx, ForkServerContext)
    ctx.set_forkserver_preload(["tests.integration.support", "tests.integration.wire"])
    return ctx


# --- the fake, served to other processes without HTTP -----------------------------------------


class PickledFake:
    """Serves one ``FakeCentra.serve_shop_api`` on a loopback socket (pickled requests, a
    thread per client).

    A ``LostAnswer`` travels back as itself; ``RemoteCentra`` turns it into the core error, as
    the fake's in-process transport does. Use as a context manager.
    """

    def __init__(self, fake: FakeCentra) -> None:
        self.fake = fake
        self.authkey = uuid.uuid4().bytes
        # A backlog for every worker connecting at once: with Listener's default of 1, Linux
        # drops handshakes beyond it and a worker can wait for a minute for a retransmit.
        self._listener = Listener(("127.0.0.1", 0), backlog=64, authkey=self.authkey)
        self.address: tuple[str, int] = self._listener.address
        self._connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def __enter__(self) -> PickledFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._listener.close()
        for connection in list(self._connections):
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection = self._listener.accept()
            except OSError:  # closed
                return
            except multiprocessing.AuthenticationError:
                continue
            self._connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: Connection) -> None:
        while True:
            try:
                method, path, body, headers = connection.recv()
            except (EOFError, OSError):
                return
            try:
                reply: Any = ("answer", self.fake.serve_shop_api(method, path, body, headers))
            except LostAnswer as lost:
                reply = ("lost", lost)
            try:
                connection.send(reply)
            except OSError:  # the client died (SIGKILL) mid-call
                return


class RemoteCentra(FakeCentra):
    """The ``Transport`` of a ``PickledFake`` in another process: the fake's own in-process
    transport (requests built and answers decoded by ``shop_api``), with ``serve_shop_api``
    remote."""

    def __init__(self, address: tuple[str, int], authkey: bytes) -> None:
        super().__init__()
        self._remote = Client(address, authkey=authkey)
        self._remote_lock = threading.Lock()

    def serve_shop_api(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        with self._remote_lock:
            self._remote.send((method, path, body, headers))
            kind, answer = self._remote.recv()
        if kind == "lost":
            raise answer
        return answer

    def close(self) -> None:
        self._remote.close()


# --- flows ----------------------------------------------------------------------------------


def pending_checkouts(service: CheckoutService, count: int, threads: int = 4) -> list[Checkout]:
    """``count`` checkouts through the seed's flow up to ``payment_pending`` (Klarna form),
    made by ``threads`` threads at once (a set-up, not what a test looks at)."""
    details = seed_details()

    def pending(_: int) -> Checkout:
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        service.confirm(checkout.id, details)
        return service.start_payment(checkout.id)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(pending, range(count)))


def resume(service: CheckoutService, checkout_id: str) -> Checkout:
    """Drive a checkout from wherever it stopped to ``paid`` along the seed's flow.

    A ``confirmed`` checkout starts its payment, also when the marker of a start-payment whose
    answer was lost is set (the service asks Centra first).
    """
    for _ in range(10):
        try:
            checkout = service.get(checkout_id)
        except CheckoutNotFound:
            service.open(checkout_id)
            continue
        if checkout.state is State.PAID:
            return checkout
        if checkout.state is State.SELECTION and not checkout.items:
            service.add_item(checkout_id, SEED_ITEM, 1)
        elif checkout.state is State.SELECTION:
            service.confirm(checkout_id, seed_details())
        elif checkout.state is State.CONFIRMED:
            service.start_payment(checkout_id)
        else:
            service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)
    raise AssertionError(f"checkout {checkout_id} did not reach paid: {checkout.state}")


class ClaimCounter:
    """Forwards to a store and counts the claims it was refused (a caller had to wait)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.refused = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def acquire_claim(self, checkout_id: str, owner: str, now: Any, lease: timedelta) -> Claim:
        claim = self._inner.acquire_claim(checkout_id, owner, now, lease)
        if claim.owner != owner:
            with self._lock:
                self.refused += 1
        return claim


# --- process workers ------------------------------------------------------------------------

Outcome = tuple[str, str]  # ("order", number) or ("error", repr)


def race_worker(
    spec: StoreSpec,
    address: tuple[str, int],
    authkey: bytes,
    checkout_ids: list[str],
    start: Any,
) -> tuple[list[Outcome], int]:
    """Complete every checkout's payment once, after all racers are ready; the outcomes and
    how often a claim was refused."""
    store = spec.open()
    counted = ClaimCounter(store)
    transport = RemoteCentra(address, authkey)
    service = CheckoutService(
        transport=transport,
        store=counted,
        settings=RACE_SETTINGS,
    )
    start.wait()
    outcomes: list[Outcome] = []
    try:
        for checkout_id in checkout_ids:
            try:
                paid = service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS)
                outcomes.append(("order", paid.order or f"no order in state {paid.state}"))
            except Exception as error:  # every failure is reported to the parent
                outcomes.append(("error", repr(error)))
    finally:
        close(store)
        transport.close()
    return outcomes, counted.refused


KILL_CALLS = {
    "open": CallKind.CREATE_SELECTION,
    "add_item": CallKind.ADD_ITEM,
    "confirm": CallKind.SET_CHECKOUT_FIELDS,
    "start_payment": CallKind.START_PAYMENT,
    "complete_payment": CallKind.PAYMENT_RESULT,
}
"""The Centra call each step of the seed's flow makes."""


def die() -> None:
    """SIGKILL this process: no cleanup, no ``finally``, nothing flushed."""
    os.kill(os.getpid(), signal.SIGKILL)


class _KillingTransport:
    """Forwards to a transport, but dies right before or right after one kind of call."""

    def __init__(self, inner: RemoteCentra, kind: CallKind, when: str) -> None:
        self._inner = inner
        self._kind = kind
        self._when = when

    def send(self, call: Call[Any]) -> Any:
        if call.kind is not self._kind:
            return self._inner.send(call)
        if self._when == "before_call":
            die()
        self._inner.send(call)  # Centra acted; its answer dies with us
        die()


_CLAIMED_IN = {"start_payment": State.CONFIRMED, "complete_payment": State.PAYMENT_PENDING}
"""The state a checkout is in when each payment step takes its claim."""


class _KillingStore:
    """Forwards to a store, but dies as soon as it holds the payment claim of one step."""

    def __init__(self, inner: Store, step: str) -> None:
        self._inner = inner
        self._state = _CLAIMED_IN[step]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def acquire_claim(self, checkout_id: str, owner: str, now: Any, lease: timedelta) -> Claim:
        claim = self._inner.acquire_claim(checkout_id, owner, now, lease)
        if claim.owner == owner and self._inner.load(checkout_id).state is self._state:
            die()
        return claim


def kill_worker(
    spec: StoreSpec,
    address: tuple[str, int],
    authkey: bytes,
    checkout_id: str,
    step: str,
    when: str,
    settings: ServiceSettings,
) -> None:
    """Run the seed's flow on ``checkout_id`` and SIGKILL this process at (``step``, ``when``).

    ``when``: "before_call" (the step's Centra call never leaves), "after_call" (Centra acted,
    the answer is never saved), "after_save" (the step's result is stored: a step boundary),
    "after_claim" (start_payment or complete_payment holds the claim, nothing written yet).
    """
    store: Store = spec.open()
    transport: Any = RemoteCentra(address, authkey)
    if when in ("before_call", "after_call"):
        transport = _KillingTransport(transport, KILL_CALLS[step], when)
    if when == "after_claim":
        store = _KillingStore(store, step)
    service = CheckoutService(transport=transport, store=store, settings=settings)
    details = seed_details()
    steps: dict[str, Callable[[], Checkout]] = {
        "open": lambda: service.open(checkout_id),
        "add_item": lambda: service.add_item(checkout_id, SEED_ITEM, 1),
        "confirm": lambda: service.confirm(checkout_id, details),
        "start_payment": lambda: service.start_payment(checkout_id),
        "complete_payment": lambda: service.complete_payment(checkout_id, SEED_PAYMENT_FIELDS),
    }
    for name, run in steps.items():
        run()
        if name == step and when == "after_save":
            die()
    raise AssertionError(f"{step}/{when}: the worker was never killed")


def resume_worker(
    spec: StoreSpec,
    address: tuple[str, int],
    authkey: bytes,
    checkout_ids: list[str],
    settings: ServiceSettings,
) -> dict[str, Outcome]:
    """Resume each checkout to ``paid`` (the killed workers' claims expire meanwhile)."""
    store = spec.open()
    transport = RemoteCentra(address, authkey)
    service = CheckoutService(transport=transport, store=store, settings=settings)
    results: dict[str, Outcome] = {}
    try:
        for checkout_id in checkout_ids:
            try:
                results[checkout_id] = ("order", resume(service, checkout_id).order or "")
            except (OrderflowError, AssertionError) as error:
                results[checkout_id] = ("error", repr(error))
    finally:
        close(store)
        transport.close()
    return results


def report(queue: Any, index: int, target: Any, *args: Any) -> None:
    """Run ``target(*args)`` in a child and put ``(index, result or error)`` on ``queue``."""
    try:
        queue.put((index, "ok", target(*args)))
    except BaseException as error:
        queue.put((index, "raised", repr(error)))
