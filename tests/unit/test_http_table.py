"""The error table at the HTTP border: every row, for a payment call and a cart call, with the
blocking and the asyncio client; ``Retry-After`` and the retries of reads. No network."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderflow.adapters.http import table
from orderflow.adapters.http.table import TABLE, Outcome, Verdict
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
)
from orderflow.receipt import Receipt
from tests.unit.test_http_support import (
    CART,
    KINDS,
    MONEY,
    READ,
    START,
    Api,
    Handler,
    answer,
    chain,
    fails,
    seed_json,
)

REFUSAL = {"errors": {"field": "not valid"}}
GONE = {"errors": {"stock": "unavailable items"}, "unavailable": []}
HTML = {"content": b"<!doctype html><p>hi</p>", "headers": {"content-type": "text/html"}}

# (row, what Centra does, the error of a payment call, the error of a cart call)
ROWS: list[tuple[str, Handler, type[Exception], type[Exception]]] = [
    *(
        (str(status), answer(status, REFUSAL), CentraError, CentraError)
        for status in (400, 402, 406, 412, 422, 418)
    ),
    ("401", answer(401, {"errors": {"accessRight": "denied"}}), *(AuthenticationFailed,) * 2),
    ("403", answer(403, {"errors": {"accessRight": "denied"}}), *(AuthenticationFailed,) * 2),
    ("401 html", answer(401, **HTML), AuthenticationFailed, AuthenticationFailed),
    ("410", answer(410, GONE), OutOfStock, OutOfStock),
    ("404", answer(404, {"errors": {"selection": "not found"}}), OutcomeUnknown, CentraError),
    ("409", answer(409, REFUSAL), OutcomeUnknown, CentraError),
    ("302", answer(302, headers={"location": "/elsewhere"}), OutcomeUnknown, CentraError),
    *(
        (str(status), answer(status, {}), CentraUnavailable, CentraUnavailable)
        for status in (408, 425, 429)
    ),
    *(
        (str(status), answer(status, {"message": "down"}), OutcomeUnknown, CentraUnavailable)
        for status in (500, 502, 503, 504)
    ),
    ("503 html", answer(503, **HTML), OutcomeUnknown, CentraUnavailable),
    *(
        (failure.__name__, fails(failure), CentraUnavailable, CentraUnavailable)
        for failure in (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    ),
    *(
        (failure.__name__, fails(failure), OutcomeUnknown, CentraUnavailable)
        for failure in (
            httpx.ReadTimeout,
            httpx.WriteTimeout,
            httpx.ReadError,
            httpx.WriteError,
            httpx.RemoteProtocolError,
        )
    ),
    ("200 not JSON", answer(200, **HTML), OutcomeUnknown, PayloadError),
    ("200 empty", answer(200), OutcomeUnknown, PayloadError),
    ("200 does not decode", answer(200, {"neither": "fits"}), OutcomeUnknown, PayloadError),
    ("400 not JSON", answer(400, **HTML), OutcomeUnknown, PayloadError),
]


@KINDS
@pytest.mark.parametrize(("row", "handler", "money", "cart"), ROWS, ids=[r[0] for r in ROWS])
def test_each_outcome_is_the_tables_error_for_a_payment_and_for_a_cart_call(
    kind: str, row: str, handler: Handler, money: type[Exception], cart: type[Exception]
) -> None:
    for call, expected in ((MONEY, money), (START, money), (CART, cart)):
        with Api(kind, handler) as api, pytest.raises(expected) as raised:
            api.send(call)
        assert type(raised.value) is expected, (call.kind, raised.value)
        assert not any(isinstance(e, httpx.HTTPError) for e in chain(raised.value))
        assert len(api.requests) == 1  # nothing but reads is ever retried


@KINDS
@pytest.mark.parametrize("status", [408, 425, 429, 500, 503])
def test_centra_unavailable_carries_the_status_and_what_centra_said(kind: str, status: int) -> None:
    with (
        Api(kind, answer(status, {"message": "maintenance"})) as api,
        pytest.raises(CentraUnavailable) as raised,
    ):
        api.send(CART)
    assert raised.value.status == status and "maintenance" in str(raised.value)


@KINDS
def test_nothing_sent_names_the_base_url_and_says_centra_did_not_act(kind: str) -> None:
    with Api(kind, fails(httpx.ConnectError)) as api, pytest.raises(CentraUnavailable) as raised:
        api.send(MONEY)
    assert "could not connect to https://shop.example.test" in str(raised.value)
    assert "did not act" in str(raised.value) and raised.value.status is None


@KINDS
def test_a_lost_cart_change_says_it_may_have_reached_centra(kind: str) -> None:
    with Api(kind, fails(httpx.ReadTimeout)) as api, pytest.raises(CentraUnavailable) as raised:
        api.send(CART)
    assert "ReadTimeout" in str(raised.value) and "read the selection back" in str(raised.value)


@KINDS
def test_a_payment_answer_that_shows_an_order_is_the_order_even_when_parts_do_not_decode(
    kind: str,
) -> None:
    order = seed_json("payment-result.response.json")
    order["totals"] = "not an object"
    with Api(kind, answer(200, order)) as api:
        receipt = api.send(MONEY)
    assert isinstance(receipt, Receipt) and receipt.order == order["order"]
    assert receipt.totals is None and receipt.undecoded == {"totals": "not an object"}


@KINDS
def test_a_body_that_is_not_json_says_so_and_asks_about_the_base_url(kind: str) -> None:
    with Api(kind, answer(404, **HTML)) as api, pytest.raises(PayloadError) as raised:
        api.send(READ)
    message = str(raised.value)
    assert "GET /selections/{selection}" in message
    assert "not JSON" in message and "text/html" in message and "base URL" in message


@KINDS
def test_401_and_403_say_the_key_or_the_origin_is_wrong(kind: str) -> None:
    with (
        Api(kind, answer(403, {"errors": {"accessRight": "denied"}})) as api,
        pytest.raises(AuthenticationFailed) as raised,
    ):
        api.send(CART)
    assert raised.value.status == 403 and raised.value.errors == {"accessRight": "denied"}
    assert "API key" in str(raised.value) and "origin" in str(raised.value)


@KINDS
def test_field_errors_are_kept_as_field_to_message(kind: str) -> None:
    body = {"errors": {"item": "product item not found"}, "code": "X1"}
    with Api(kind, answer(400, body)) as api, pytest.raises(CentraError) as raised:
        api.send(CART)
    assert raised.value.errors == {"item": "product item not found"}
    assert raised.value.code == "X1"


@KINDS
def test_an_event_hook_that_raises_for_status_still_gets_the_tables_error(kind: str) -> None:
    hooks = {"response": [lambda response: response.raise_for_status()]}
    for status, call, expected in (
        (503, MONEY, OutcomeUnknown),
        (503, READ, CentraUnavailable),
        (400, CART, CentraError),
        (429, MONEY, CentraUnavailable),
    ):
        with (
            Api(kind, answer(status, {}), event_hooks=hooks, retries=0) as api,
            pytest.raises(expected) as raised,
        ):
            api.send(call)
        assert type(raised.value) is expected
        assert not any(isinstance(e, httpx.HTTPError) for e in chain(raised.value))


# --- retries and Retry-After -------------------------------------------------------------------


def flaky(failures: int, failure: Handler, then: Handler) -> Handler:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return failure(request) if count <= failures else then(request)

    return handler


NOT_FOUND = answer(404, {"errors": {"selection": "not found"}})


@KINDS
@pytest.mark.parametrize(
    "failure",
    [
        fails(httpx.ConnectError),
        fails(httpx.ReadTimeout),
        answer(503, {}),
        answer(408, {}),
        answer(425, {}),
        answer(429, {}),
    ],
    ids=["connect", "timeout", "503", "408", "425", "429"],
)
def test_a_read_is_retried_with_exponential_backoff(kind: str, failure: Handler) -> None:
    with Api(kind, flaky(2, failure, NOT_FOUND)) as api, pytest.raises(CentraError):
        api.send(READ)
    assert len(api.requests) == 3 and api.sleeps == [0.1, 0.2]


@KINDS
def test_a_read_gives_up_after_its_retries(kind: str) -> None:
    with (
        Api(kind, fails(httpx.ConnectError), retries=3) as api,
        pytest.raises(CentraUnavailable),
    ):
        api.send(READ)
    assert len(api.requests) == 4 and api.sleeps == [0.1, 0.2, 0.4]


@KINDS
@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "2"}, 2.0),
        (
            {
                "retry-after": "Wed, 21 Oct 2026 07:28:07 GMT",
                "date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            7.0,
        ),
    ],
    ids=["seconds", "http-date"],
)
def test_a_read_waits_as_long_as_retry_after_says(
    kind: str, headers: dict[str, str], wait: float
) -> None:
    with (
        Api(kind, flaky(1, answer(429, {}, headers=headers), NOT_FOUND)) as api,
        pytest.raises(CentraError),
    ):
        api.send(READ)
    assert api.sleeps == [wait] and len(api.requests) == 2


@KINDS
def test_a_retry_after_beyond_the_deadline_is_not_waited_for(kind: str) -> None:
    with (
        Api(kind, answer(503, {}, headers={"retry-after": "120"}), deadline=30) as api,
        pytest.raises(CentraUnavailable) as raised,
    ):
        api.send(READ)
    assert raised.value.retry_after == 120 and api.sleeps == [] and len(api.requests) == 1


@KINDS
@pytest.mark.parametrize("call", [MONEY, START, CART], ids=lambda call: str(call.kind))
@pytest.mark.parametrize("status", [408, 429, 503])
def test_only_reads_are_retried_and_a_payment_never(kind: str, call: Any, status: int) -> None:
    with (
        Api(kind, answer(status, {}, headers={"retry-after": "1"})) as api,
        pytest.raises((CentraUnavailable, OutcomeUnknown)) as raised,
    ):
        api.send(call)
    assert len(api.requests) == 1 and api.sleeps == []
    if isinstance(raised.value, CentraUnavailable):
        assert raised.value.retry_after == 1.0 and raised.value.status == status


@KINDS
def test_a_refusal_is_not_retried(kind: str) -> None:
    with Api(kind, answer(400, REFUSAL)) as api, pytest.raises(CentraError):
        api.send(READ)
    assert len(api.requests) == 1 and api.sleeps == []


# --- the table itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.ANSWER),
        (201, Outcome.ANSWER),
        (400, Outcome.REFUSED),
        (402, Outcome.REFUSED),
        (406, Outcome.REFUSED),
        (412, Outcome.REFUSED),
        (422, Outcome.REFUSED),
        (451, Outcome.REFUSED),
        (401, Outcome.UNAUTHORISED),
        (403, Outcome.UNAUTHORISED),
        (410, Outcome.OUT_OF_STOCK),
        (404, Outcome.UNSETTLED),
        (409, Outcome.UNSETTLED),
        (408, Outcome.BUSY),
        (425, Outcome.BUSY),
        (429, Outcome.BUSY),
        (500, Outcome.FAILING),
        (599, Outcome.FAILING),
        (101, Outcome.UNEXPECTED),
        (301, Outcome.UNEXPECTED),
        (600, Outcome.UNEXPECTED),
    ],
)
def test_each_status_has_its_outcome(status: int, outcome: Outcome) -> None:
    assert table.outcome_of(status) is outcome


def test_the_table_covers_every_outcome_and_only_payments_are_ever_unknown() -> None:
    assert set(TABLE) == set(Outcome)
    assert all(other is not Verdict.UNKNOWN for _, other in TABLE.values())
    assert TABLE[Outcome.NOT_SENT] == (Verdict.NOT_ACTED, Verdict.NOT_ACTED)
    assert TABLE[Outcome.UNBUILDABLE][0] is Verdict.NOT_ACTED


@pytest.mark.parametrize(
    ("value", "date", "seconds"),
    [
        ("0", None, 0.0),
        ("12", None, 12.0),
        (" 3 ", None, 3.0),
        ("1.5", None, 1.5),
        ("-1", None, None),
        ("inf", None, None),
        ("soon", None, None),
        (None, None, None),
        ("Wed, 21 Oct 2026 07:28:30 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", 0.0),
        ("Thu, 01 Jan 2099 00:00:00 GMT", "not a date", None),
        ("1e308", None, table.MAX_RETRY_AFTER),  # a day at most: 1e308 s overflows any date
        ("86401", None, table.MAX_RETRY_AFTER),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", table.MAX_RETRY_AFTER),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, date: str | None, seconds: float | None
) -> None:
    found = table.retry_after(value, date)
    if seconds is None and value is not None and "GMT" in value:
        assert found is not None and found > 0  # counted from now: the date is in the future
    else:
        assert found == seconds
