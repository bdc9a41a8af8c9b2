"""Any provider fields the service accepts, posted over HTTP and stored: read back unchanged.

Hypothesis draws the fields a payment provider posts back to the return page (any JSON the
service accepts: nested objects and lists, integers up to 64 bits, floats, booleans, ``null``,
any Unicode text) and completes a Klarna payment with them through ``ShopApiClient`` against
``FakeServer``, on SQLite and PostgreSQL. The fields Centra received (``Ledger.fields``) must be
the ones given, value for value and type for type; another process, with a fresh store on the
same database, must load the checkout equal to the one saved.

Both stores draw everything. (PostgreSQL kept checkouts as ``jsonb`` until this test found that
it refuses U+0000 and gives numbers back normalised, a float with an exponent as an int and
-0.0 as 0.0; the body is ``json`` now, the text as saved, and the two tests at the end pin it.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.calls import CallKind
from orderflow.checkout import Checkout
from orderflow.errors import GuardRefused
from orderflow.flow import State
from orderflow.limits import MAX_INT, json_value
from orderflow.service import CheckoutService
from tests.integration import support, wire
from tests.integration.support import StoreSpec
from tests.integration.tally import Tally, tally


def _fields() -> Any:
    """Provider fields: an object of any JSON values the service accepts (any text but lone
    surrogates, which JSON cannot carry as UTF-8; every finite float)."""
    text = st.text(st.characters(blacklist_categories=["Cs"]))
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-MAX_INT, MAX_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=24,
    )
    return st.dictionaries(text, values, max_size=6)


FIELDS = _fields()


def _same(given: Any, got: Any) -> bool:
    """Equal as JSON, type for type: ``1``, ``1.0`` and ``True`` differ; so does a sign of 0."""
    if isinstance(given, bool) or isinstance(got, bool):
        return type(given) is type(got) and given == got
    if isinstance(given, float) or isinstance(got, float):
        return (
            type(given) is type(got)
            and given == got
            and math.copysign(1, given) == math.copysign(1, got)
        )
    if isinstance(given, dict):
        return (
            isinstance(got, dict)
            and given.keys() == got.keys()
            and all(_same(v, got[k]) for k, v in given.items())
        )
    if isinstance(given, list):
        return (
            isinstance(got, list)
            and len(given) == len(got)
            and all(_same(a, b) for a, b in zip(given, got, strict=True))
        )
    return type(given) is type(got) and given == got


class _World:
    """One served fake, a store, the services and a loader process, for every example."""

    def __init__(self, spec: StoreSpec, server_url: str, fake: FakeCentra, ledger: wire.Ledger):
        self.spec = spec
        self.fake = fake
        self.ledger = ledger
        self.counts: Tally
        self.store = spec.open()
        self.transport = wire.client(server_url)
        self.setup = CheckoutService(transport=fake, store=self.store)
        self.service = CheckoutService(transport=self.transport, store=self.store)
        ctx = support.context()
        self._ours, theirs = ctx.Pipe()
        self._loader = ctx.Process(target=wire.loader, args=(spec, theirs))
        self._loader.start()
        theirs.close()

    def load_elsewhere(self, checkout_id: str) -> Checkout:
        self._ours.send(checkout_id)
        status, loaded = self._ours.recv()
        assert status == "ok", loaded
        assert isinstance(loaded, Checkout)
        return loaded

    def close(self) -> None:
        self._ours.send(None)
        self._loader.join(timeout=10)
        self._ours.close()
        self.transport.close()
        support.close(self.store)


@pytest.fixture
def world(store_spec: StoreSpec) -> Iterator[_World]:
    fake = FakeCentra.seeded(stock={SEED_ITEM: 10_000})
    ledger = wire.Ledger(fake, FaultPlan(0))
    with (
        tally(
            "provider fields (hypothesis) over HTTP, loaded in another process", store_spec
        ) as counts,
        wire.serving(fake, ledger) as server,
    ):
        made = _World(store_spec, server.base_url, fake, ledger)
        made.counts = counts
        try:
            yield made
        finally:
            made.close()
        assert (counts.lost, counts.doubled) == (0, 0), str(counts)


def _pay_with(world: _World, fields: dict[str, Any]) -> None:
    pending = wire.to_state(world.setup, State.PAYMENT_PENDING)
    selection = pending.selection_id
    if json_value(fields, "paymentMethodFields") is not None:
        with pytest.raises(GuardRefused):
            world.service.complete_payment(pending.id, fields)
        assert world.ledger.fields[selection] == []
        return
    paid = world.service.complete_payment(pending.id, fields)
    order = world.fake.orders.get(selection or "")
    world.counts.run(
        lost=order is None or paid.order != order["order"],
        doubled=world.ledger.doubled(selection, CallKind.PAYMENT_RESULT),
    )
    assert paid.state is State.PAID
    (received,) = world.ledger.fields[selection]
    assert _same(fields, received), (fields, received)
    loaded = world.load_elsewhere(pending.id)
    assert loaded == paid
    assert _same(fields, paid.payment_fields), (fields, paid.payment_fields)
    assert _same(fields, loaded.payment_fields), (fields, loaded.payment_fields)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_provider_fields_reach_centra_and_another_process_unchanged(
    world: _World, data: st.DataObject
) -> None:
    extra = data.draw(FIELDS, label="fields")
    _pay_with(world, {**extra, **SEED_PAYMENT_FIELDS})


EDGES: list[dict[str, Any]] = [
    {"big": MAX_INT, "small": -MAX_INT, "flag": False, "nothing": None},
    {"a": {"b": [1, 2.5, None, True, "ü\u2028😀"]}, "": [], "\u00e9": {}},
    {"tiny": 5e-324, "one": 1.0, "third": 1 / 3, "large": 123456789012345.6},
]


def test_provider_fields_at_the_edges_are_stored_unchanged(world: _World) -> None:
    for fields in EDGES:
        _pay_with(world, {**fields, **SEED_PAYMENT_FIELDS})


def test_provider_floats_with_an_exponent_and_negative_zero_are_stored_unchanged(
    world: _World,
) -> None:
    for fields in ({"big": 2.448889286199823e16}, {"one": 1e16, "zero": -0.0, "e": 1.5e300}):
        _pay_with(world, {**fields, **SEED_PAYMENT_FIELDS})


def test_provider_fields_holding_nul_are_stored_unchanged(world: _World) -> None:
    for fields in ({"note": "a\x00b"}, {"k\x00": [1, {"\x00": "\x00"}]}):
        _pay_with(world, {**fields, **SEED_PAYMENT_FIELDS})
