"""Malformed and unexpected Centra answers into every service command: a core error, never a
bare one, and the stored checkout unchanged, or Centra's own state taken.

Hypothesis replaces the answer of the one Centra call a command makes (through FakeCentra's
``faults`` hook, after the fake acted) with a mutation of the real answer (a field removed or
given a wrong type) or with something else entirely (HTML, null, a list, a number, an unknown
action). The only change allowed after a failed payment call (start-payment or payment result)
is the write-ahead marker (``outcome_unknown``, and the posted ``payment_fields``), since
Centra may have acted. A cart change whose answer cannot be read is read back from Centra
(``ReadSelection``) instead of repeated: the checkout then holds Centra's cart as it is now.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import CallKind, ReadSelection
from orderflow.checkout import Checkout
from orderflow.errors import CheckoutNotFound, OrderflowError
from orderflow.flow import State
from orderflow.selection import SelectionResponse
from orderflow.service import CheckoutService

HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.just(HTML),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
NOT_AN_ANSWER = st.one_of(
    st.just(HTML),
    st.none(),
    st.integers(),
    st.text(max_size=10),
    st.lists(st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), max_size=2),
    st.just([]),
    st.just({}),
    st.just({"action": "teleport"}),
    st.just({"action": None}),
    st.just({"order": None}),
    st.just({"selection": None}),
    st.just({"selection": []}),
)
# A mutation: ("delete" | "retype", a walk into the answer, the wrong value).
MUTATIONS = st.tuples(
    st.sampled_from(["delete", "retype"]),
    st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    WRONG_VALUES,
)
OK_STATUSES = st.sampled_from([200, 201])
ERROR_STATUSES = st.sampled_from([400, 401, 404, 409, 410, 422, 500, 502, 503])


def _mutate(body: Any, walk: list[int], kind: str, value: Any) -> Any:
    """The answer with the node reached by ``walk`` deleted or replaced by ``value``."""
    body = copy.deepcopy(body)
    parent: Any = None
    key: Any = None
    node = body
    for step in walk:
        if isinstance(node, dict) and node:
            key = sorted(node)[step % len(node)]
        elif isinstance(node, list) and node:
            key = step % len(node)
        else:
            break
        parent, node = node, node[key]
    if parent is None:
        return value
    if kind == "delete" and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = value
    return body


@attrs.define
class _Garble:
    """FakeCentra's ``faults``: replaces the answer of calls of ``kind`` (the fake has acted)."""

    kind: CallKind
    garble: Callable[[int, Any], tuple[int, Any]] | None = None

    def before(self, kind: Any, method: str, path: str, body: Any) -> None:
        return None

    def after(self, kind: Any, status: int, body: Any) -> tuple[int, Any] | None:
        if kind != self.kind or self.garble is None:
            return None
        return self.garble(status, body)


# command -> (the call it makes, set-up to the state it needs, the command)
Setup = Callable[[CheckoutService], Checkout]
Run = Callable[[CheckoutService, Checkout], Any]


def _cart(service: CheckoutService) -> Checkout:
    checkout = service.open()
    return service.add_item(checkout.id, SEED_ITEM, 1)


def _with_voucher(service: CheckoutService) -> Checkout:
    return service.apply_voucher(_cart(service).id, "WELCOME10")


def _confirmed(service: CheckoutService) -> Checkout:
    return service.confirm(_cart(service).id, seed_details())


def _pending(service: CheckoutService) -> Checkout:
    return service.start_payment(_confirmed(service).id)


K = CallKind
COMMANDS: dict[str, tuple[CallKind, Setup, Run]] = {
    "open": (K.CREATE_SELECTION, lambda s: s.open(), lambda s, c: s.open("fresh")),
    "add_item": (K.ADD_ITEM, _cart, lambda s, c: s.add_item(c.id, SEED_ITEM, 1)),
    "set_quantity": (K.SET_QUANTITY, _cart, lambda s, c: s.set_quantity(c.id, c.items[0].line, 2)),
    "remove_line": (K.REMOVE_LINE, _cart, lambda s, c: s.remove_line(c.id, c.items[0].line)),
    "apply_voucher": (K.APPLY_VOUCHER, _cart, lambda s, c: s.apply_voucher(c.id, "WELCOME10")),
    "remove_voucher": (
        K.REMOVE_VOUCHER,
        _with_voucher,
        lambda s, c: s.remove_voucher(c.id, "WELCOME10"),
    ),
    "set_country": (K.SET_COUNTRY, _cart, lambda s, c: s.set_country(c.id, "NO")),
    "confirm": (K.SET_CHECKOUT_FIELDS, _cart, lambda s, c: s.confirm(c.id, seed_details())),
    "start_payment": (K.START_PAYMENT, _confirmed, lambda s, c: s.start_payment(c.id)),
    "complete_payment": (
        K.PAYMENT_RESULT,
        _pending,
        lambda s, c: s.complete_payment(c.id, SEED_PAYMENT_FIELDS),
    ),
    "reconcile": (K.READ_SELECTION, _pending, lambda s, c: s.reconcile(c.id)),
}
CART_CHANGES = frozenset(
    {"add_item", "set_quantity", "remove_line", "apply_voucher", "remove_voucher", "set_country"}
)
"""The commands whose unreadable answer is read back from Centra instead of repeated."""
MARKED_BY = {"start_payment": K.START_PAYMENT, "complete_payment": K.PAYMENT_RESULT}
"""The commands that may leave their write-ahead marker, and the marker."""


@attrs.frozen
class _Attempt:
    raised: BaseException | None
    before: Checkout
    after: Checkout | None
    centra: SelectionResponse | None  # Centra's cart after the command, read in process


def _attempt(command: str, garble: Callable[[int, Any], tuple[int, Any]]) -> _Attempt:
    """Run ``command`` with its answer garbled: what it raised, the checkout before, stored
    after, and Centra's cart after."""
    kind, setup, run = COMMANDS[command]
    faults = _Garble(kind)
    fake = FakeCentra.seeded(faults=faults)
    store = MemoryStore()
    service = CheckoutService(transport=fake, store=store)
    before = setup(service)
    faults.garble = garble
    raised: BaseException | None = None
    try:
        run(service, before)
    except OrderflowError as error:
        raised = error
    checkout_id = "fresh" if command == "open" else before.id
    try:
        after: Checkout | None = store.load(checkout_id)
    except CheckoutNotFound:
        after = None
    faults.garble = None
    centra = fake.send(ReadSelection(before.selection_id or ""))
    cart = centra if isinstance(centra, SelectionResponse) else None
    return _Attempt(raised, before, after, cart)


def _assert_unchanged(command: str, before: Checkout, after: Checkout | None) -> None:
    if command == "open":
        assert after is None
        return
    assert after is not None
    if command in MARKED_BY:
        # The write-ahead marker may stay: Centra may have made the order.
        assert after.outcome_unknown in (None, MARKED_BY[command])
        after = attrs.evolve(
            after,
            outcome_unknown=before.outcome_unknown,
            payment_fields=before.payment_fields,
            version=before.version,
        )
    assert after == before


def _assert_unchanged_or_taken(command: str, attempt: _Attempt) -> None:
    """A core error and nothing changed; or, for a cart change, Centra's cart taken."""
    if attempt.raised is not None:
        assert isinstance(attempt.raised, OrderflowError)
        _assert_unchanged(command, attempt.before, attempt.after)
        return
    assert command in CART_CHANGES, f"{command} took an answer that is not one"
    after = attempt.after
    assert after is not None and after.state is State.SELECTION
    assert after.cart == attempt.centra  # read back, not repeated: Centra's cart as it is
    assert after.history[:-1] == attempt.before.history
    assert after.history[-1].event == command


EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@pytest.mark.parametrize("command", list(COMMANDS))
@EXAMPLES
@given(status=OK_STATUSES, answer=NOT_AN_ANSWER)
def test_an_answer_that_is_not_one_gives_a_core_error_and_changes_nothing_or_is_read_back(
    command: str, status: int, answer: Any
) -> None:
    _assert_unchanged_or_taken(command, _attempt(command, lambda _s, _b: (status, answer)))


@pytest.mark.parametrize("command", list(COMMANDS))
@EXAMPLES
@given(status=OK_STATUSES, mutation=MUTATIONS)
def test_a_mutated_answer_gives_a_core_error_and_changes_nothing_or_is_taken(
    command: str, status: int, mutation: tuple[str, list[int], Any]
) -> None:
    kind, walk, value = mutation
    attempt = _attempt(command, lambda _status, body: (status, _mutate(body, walk, kind, value)))
    if attempt.raised is not None:
        _assert_unchanged_or_taken(command, attempt)


@pytest.mark.parametrize("command", list(COMMANDS))
@EXAMPLES
@given(status=ERROR_STATUSES, answer=st.one_of(NOT_AN_ANSWER, MUTATIONS))
def test_a_malformed_error_answer_gives_a_core_error_and_changes_nothing(
    command: str, status: int, answer: Any
) -> None:
    def garble(_status: int, body: Any) -> tuple[int, Any]:
        if isinstance(answer, tuple):
            kind, walk, value = answer
            errors = {"errors": {"field": "refused"}, "message": "refused", "code": "X"}
            return status, _mutate(errors, walk, kind, value)
        return status, answer

    attempt = _attempt(command, garble)
    if attempt.raised is not None:
        _assert_unchanged_or_taken(command, attempt)
