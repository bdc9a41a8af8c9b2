"""``FaultPlan``: seeded, so a run repeats; schedules; the log; each fault in process, and the
wire faults (drip, huge, gzip bomb) through a real ``FakeServer`` with plain httpx."""

from __future__ import annotations

import json
import time
from typing import Any

import attrs
import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import Fault, FaultPlan, Injection
from orderflow.adapters.fake.malformed import SHAPES, Shape
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS, seed_details
from orderflow.adapters.fake.server import FakeServer
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.calls import (
    AddItem,
    CallKind,
    CreateSelection,
    PaymentResult,
    ReadSelection,
    SetCountry,
    StartPayment,
)
from orderflow.errors import (
    CentraError,
    CentraUnavailable,
    OrderflowError,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
)
from orderflow.flow import State
from orderflow.selection import SelectionResponse
from orderflow.service import CheckoutService

PAY = CallKind.START_PAYMENT
RESULT = CallKind.PAYMENT_RESULT


def _run(seed: int) -> tuple[list[Injection], list[str]]:
    plan = FaultPlan(seed, sleep=lambda _: None).latency("*", 0.001, 0.002, probability=0.3)
    plan.status(PAY, 429, retry_after=1, probability=0.1)
    plan.status(PAY, 503, acted=True, probability=0.1)
    plan.timeout_before(PAY, probability=0.1).timeout_after(PAY, probability=0.1)
    plan.out_of_stock(PAY, probability=0.1).malformed(PAY, "truncated", probability=0.1)
    fake = FakeCentra.seeded(faults=plan)
    service = CheckoutService(transport=fake, store=MemoryStore())
    outcomes = []
    for _ in range(40):
        checkout = service.open()
        service.add_item(checkout.id, SEED_ITEM, 1)
        service.confirm(checkout.id, seed_details())
        try:
            outcomes.append(service.start_payment(checkout.id).state.value)
        except OrderflowError as error:
            outcomes.append(type(error).__name__)
    return plan.log, outcomes


def test_the_same_seed_injects_the_same_faults_and_another_seed_others() -> None:
    first, second, other = _run(7), _run(7), _run(8)
    assert first == second
    assert first != other
    assert {i.fault for i in first[0]} == {
        Fault.LATENCY,
        Fault.STATUS,
        Fault.TIMEOUT_BEFORE,
        Fault.TIMEOUT_AFTER,
        Fault.OUT_OF_STOCK,
        Fault.MALFORMED,
    }
    assert all(isinstance(i.kind, CallKind) for i in first[0])


def test_a_schedule_hits_exactly_the_calls_it_names_and_the_log_says_so() -> None:
    plan = FaultPlan(1).server_error(CallKind.CREATE_SELECTION, status=502, on_calls={2})
    fake = FakeCentra.seeded(faults=plan)
    fake.send(CreateSelection())
    with pytest.raises(CentraUnavailable) as unavailable:
        fake.send(CreateSelection())
    fake.send(CreateSelection())
    assert unavailable.value.status == 502
    assert plan.log == [Injection(CallKind.CREATE_SELECTION, None, 2, Fault.STATUS, "502")]
    assert fake.calls[CallKind.CREATE_SELECTION] == 3
    assert plan.reached[CallKind.CREATE_SELECTION, None] == 2


def test_a_rule_without_probability_or_schedule_hits_every_call() -> None:
    plan = FaultPlan(1).status(CallKind.CREATE_SELECTION, 503)
    fake = FakeCentra.seeded(faults=plan)
    for _ in range(3):
        with pytest.raises(CentraUnavailable):
            fake.send(CreateSelection())
    assert [i.nth for i in plan.injected(Fault.STATUS, CallKind.CREATE_SELECTION)] == [1, 2, 3]


def _selection(fake: FakeCentra, *, items: int = 1) -> str:
    selection = fake.send(CreateSelection()).selection_id
    for _ in range(items):
        fake.send(AddItem(selection, SEED_ITEM, 1))
    return selection


def _items(fake: FakeCentra, selection: str) -> int:
    answer = fake.send(ReadSelection(selection))
    assert isinstance(answer, SelectionResponse)
    return sum(line.quantity for line in answer.selection.items)


@pytest.mark.parametrize("fault", [Fault.TIMEOUT_BEFORE, Fault.TIMEOUT_AFTER])
def test_a_lost_answer_is_outcome_unknown_at_payment_calls_and_unavailable_elsewhere(
    fault: Fault,
) -> None:
    plan = FaultPlan(1)
    lose = plan.timeout_before if fault is Fault.TIMEOUT_BEFORE else plan.timeout_after
    lose(CallKind.ADD_ITEM, on_calls={1})
    lose(PAY, on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    selection = fake.send(CreateSelection()).selection_id
    with pytest.raises(CentraUnavailable):
        fake.send(AddItem(selection, SEED_ITEM, 1))
    acted = fault is Fault.TIMEOUT_AFTER
    assert _items(fake, selection) == int(acted)
    if not acted:
        fake.send(AddItem(selection, SEED_ITEM, 1))
    with pytest.raises(OutcomeUnknown):
        fake.send(StartPayment(selection, seed_details()))
    assert plan.reached[PAY, selection] == int(acted)


def test_a_410_at_the_payment_result_is_out_of_stock() -> None:
    plan = FaultPlan(1).out_of_stock(RESULT, on_calls={1, 2})
    fake = FakeCentra.seeded(faults=plan)
    service = CheckoutService(transport=fake, store=MemoryStore())
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    with pytest.raises(OutOfStock):
        fake.send(PaymentResult(checkout.selection_id or "", SEED_PAYMENT_FIELDS))
    assert service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS).state is State.SELECTION
    assert fake.orders == {} and fake.calls[RESULT] == 2


@pytest.mark.parametrize(
    ("call", "arguments", "message"),
    [
        ("timeout_after", ("pay",), "no call 'pay'"),
        ("timeout_after", (RESULT,), "probability"),
        ("status", (RESULT, 302), "400 to 599"),
        ("status", (RESULT, 429, 1.5), "whole seconds"),
        ("malformed", (RESULT, "garbled"), "no shape"),
        ("drip", (RESULT, 0), "positive"),
        ("huge", (RESULT, 0), "whole number of bytes"),
        ("gzip_bomb", (RESULT, 2.5), "whole number of bytes"),
        ("latency", (RESULT, 2, 1), "low <= high"),
    ],
)
def test_a_plan_refuses_what_it_cannot_inject(
    call: str, arguments: tuple[Any, ...], message: str
) -> None:
    extra = {"probability": 2} if message == "probability" else {}
    with pytest.raises(ValueError, match=message):
        getattr(FaultPlan(1), call)(*arguments, **extra)


# --- status: instead of acting, or after ------------------------------------------------------


@pytest.mark.parametrize("code", [404, 408, 409, 425, 429, 500, 503])
def test_a_status_instead_of_acting_changes_nothing(code: int) -> None:
    plan = FaultPlan(1).status(CallKind.ADD_ITEM, code, retry_after=7, on_calls={2})
    fake = FakeCentra.seeded(faults=plan)
    selection = _selection(fake)
    status, body = answer = fake.serve_shop_api(
        "POST", f"/selections/{selection}/items/{SEED_ITEM}", {"quantity": 1}
    )
    assert (status, body["errors"]) == (code, {"request": body["errors"]["request"]})
    assert answer.headers == {"Retry-After": "7"}
    assert _items(fake, selection) == 1
    assert plan.reached[CallKind.ADD_ITEM, selection] == 1


def test_retry_after_reaches_the_in_process_client() -> None:
    plan = FaultPlan(1).status(CallKind.CREATE_SELECTION, 503, retry_after=7)
    with pytest.raises(CentraUnavailable) as raised:
        FakeCentra.seeded(faults=plan).send(CreateSelection())
    assert (raised.value.status, raised.value.retry_after) == (503, 7)


@pytest.mark.parametrize("code", [404, 409, 500])
def test_a_status_after_acting_has_made_the_change_or_the_order(code: int) -> None:
    plan = FaultPlan(1).status(CallKind.ADD_ITEM, code, acted=True, on_calls={1})
    plan.status(PAY, code, acted=True)
    fake = FakeCentra.seeded(faults=plan)
    selection = fake.send(CreateSelection()).selection_id
    with pytest.raises(OrderflowError):
        fake.send(AddItem(selection, SEED_ITEM, 1))
    assert _items(fake, selection) == 1
    request = attrs.evolve(seed_details(), payment_method="instant-success")
    with pytest.raises(OrderflowError):
        fake.send(StartPayment(selection, request))
    assert list(fake.orders) == [selection]
    assert [i.detail for i in plan.injected(Fault.STATUS)] == [f"{code} after acting"] * 2


def test_a_409_after_the_order_was_made_still_ends_paid_with_one_order() -> None:
    plan = FaultPlan(1).status(RESULT, 409, acted=True, on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    service = CheckoutService(transport=fake, store=MemoryStore())
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    try:
        paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    except OutcomeUnknown:  # a 409 settles nothing: Centra is asked before anything is sent
        paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    assert paid.state is State.PAID and paid.order == fake.orders[paid.selection_id or ""]["order"]
    assert fake.calls[RESULT] == 1 and len(fake.orders) == 1


# --- malformed 2xx answers --------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_a_malformed_payment_result_still_ends_paid_with_exactly_one_order(shape: Shape) -> None:
    plan = FaultPlan(1).malformed(RESULT, shape, on_calls={1})
    fake = FakeCentra.seeded(faults=plan)
    service = CheckoutService(transport=fake, store=MemoryStore())
    checkout = service.open()
    service.add_item(checkout.id, SEED_ITEM, 1)
    service.confirm(checkout.id, seed_details())
    service.start_payment(checkout.id)
    try:
        paid = service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)
    except OutcomeUnknown:  # an answer that is not JSON shows no order: ask Centra
        assert shape in ("not_json", "truncated")
        paid = service.reconcile(checkout.id)
    assert paid.state is State.PAID and paid.order == fake.orders[paid.selection_id or ""]["order"]
    assert fake.calls[RESULT] == 1 and len(fake.orders) == 1
    assert [(i.kind, i.fault, i.detail) for i in plan.log] == [(RESULT, Fault.MALFORMED, shape)]


def test_each_shape_is_what_its_name_says() -> None:
    answers = {}
    for shape in SHAPES:
        fake = FakeCentra.seeded(faults=FaultPlan(1).malformed(CallKind.CREATE_SELECTION, shape))
        answers[shape] = fake.serve_shop_api("POST", "/selections")
    assert {s: answers[s].status for s in SHAPES} == dict.fromkeys(SHAPES, 201)
    cart = answers["elided"].body["selection"]
    assert set(cart) == {"selection", "..."} and cart["..."] == "..."
    assert "items" not in answers["no_items"].body["selection"]
    assert "totals" not in answers["no_totals"].body["selection"]
    wrong = answers["wrong_types"].body
    assert isinstance(wrong["selection"]["selection"], str)  # the id stays readable
    assert wrong["selection"]["items"] == {} and wrong["selection"]["language"] == 0
    assert answers["not_json"].headers["Content-Type"].startswith("text/html")
    content = answers["truncated"].content
    assert content is not None and content.startswith(b'{"selection":')
    with pytest.raises(ValueError):
        json.loads(content)


def test_an_error_answer_is_never_made_malformed() -> None:
    plan = FaultPlan(1).malformed(CallKind.ADD_ITEM, "elided")
    fake = FakeCentra.seeded(faults=plan)
    with pytest.raises(CentraError):
        fake.send(AddItem(_selection(fake, items=0), "99-999", 1))
    assert plan.log == []


def test_a_cart_answer_that_is_not_json_is_a_payload_error_in_process() -> None:
    fake = FakeCentra.seeded(faults=FaultPlan(1).malformed(CallKind.ADD_ITEM, "not_json"))
    selection = fake.send(CreateSelection()).selection_id
    with pytest.raises(PayloadError, match="not JSON"):
        fake.send(AddItem(selection, SEED_ITEM, 1))
    assert _items(fake, selection) == 1


# --- wire faults: in process, and over HTTP ----------------------------------------------------


def test_in_process_a_drip_arrives_whole_and_a_huge_answer_is_unreadable() -> None:
    plan = FaultPlan(1).drip(CallKind.ADD_ITEM, 1.0).huge(PAY, 10**8)
    plan.gzip_bomb(CallKind.SET_COUNTRY, 10**9)
    fake = FakeCentra.seeded(faults=plan)
    started = time.monotonic()
    selection = _selection(fake)
    assert time.monotonic() - started < 0.5  # no wire to trickle on
    with pytest.raises(PayloadError, match="1000000000 bytes"):
        fake.send(SetCountry(selection, "NO"))
    assert _items(fake, selection) == 1  # Centra acted: the cart is in Norway now
    with pytest.raises(OutcomeUnknown, match="100000000 bytes"):
        fake.send(StartPayment(selection, seed_details()))
    assert [i.fault for i in plan.log] == [Fault.DRIP, Fault.GZIP_BOMB, Fault.HUGE]
    assert len(fake.orders) == 0 and fake.calls[PAY] == 1


@pytest.fixture
def serving() -> Any:
    """A ``FakeServer`` over a seeded fake whose ``faults`` each test sets; plain httpx."""
    fake = FakeCentra.seeded()
    with FakeServer(fake) as server:
        yield fake, server.base_url


def test_a_drip_answers_a_byte_at_a_time_and_no_read_timeout_fires(serving: Any) -> None:
    fake, base_url = serving
    fake.faults = FaultPlan(1).drip(CallKind.CREATE_SELECTION, 0.02)
    timeout = httpx.Timeout(5.0, read=0.2)  # ten intervals: each byte comes well within it
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        started = time.monotonic()
        with client.stream("POST", "/selections") as response:
            assert response.status_code == 201
            size = int(response.headers["content-length"])
            received = b""
            for chunk in response.iter_raw(1):
                received += chunk
                if len(received) >= 20:
                    break
        took = time.monotonic() - started
        assert received.startswith(b'{"selection":') and size > 1000
        assert took >= 19 * 0.02
        fake.faults = None
        assert client.post("/selections").status_code == 201  # the server dripped on alone


def test_a_huge_answer_is_that_size_and_still_the_answer(serving: Any) -> None:
    fake, base_url = serving
    selection = _selection(fake)
    fake.faults = FaultPlan(1).huge(CallKind.READ_SELECTION, 3_000_000)
    with httpx.Client(base_url=base_url) as client:
        response = client.get(f"/selections/{selection}")
    assert response.status_code == 200
    assert len(response.content) == int(response.headers["content-length"]) == 3_000_000
    assert response.json()["selection"]["selection"] == selection


def test_a_gzip_bomb_is_small_on_the_wire_and_inflates_to_its_size(serving: Any) -> None:
    fake, base_url = serving
    selection = _selection(fake)
    fake.faults = FaultPlan(1).gzip_bomb(CallKind.READ_SELECTION, 50_000_000)
    url = f"/selections/{selection}"
    with httpx.Client(base_url=base_url) as client, client.stream("GET", url) as response:
        assert response.headers["content-encoding"] == "gzip"
        wire = int(response.headers["content-length"])
        inflated = 0
        head = b""
        for chunk in response.iter_bytes():
            head = head or chunk[:20]
            inflated += len(chunk)
    assert wire < 100_000 and inflated == 50_000_000
    assert head.startswith(b'{"selection":')
