"""The HTTP clients' options are checked when the client is made, naming the option; and a
``Retry-After`` reaches the caller as a number of seconds any caller can use (a day at most),
from an HTTP client and from the in-process fake alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.faults import FaultPlan
from orderflow.adapters.http import table
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.calls import CallKind, CreateSelection
from orderflow.errors import CentraUnavailable

BASE = "https://shop.example.test/api/shop"
CLIENTS = [ShopApiClient, AsyncShopApiClient]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("deadline", "5"),
        ("deadline", True),
        ("retries", "2"),
        ("retries", 2.0),
        ("retries", False),
        ("backoff", None),
        ("timeout", "3"),
        ("max_answer_bytes", 2.5),
        ("max_decoded_bytes", "1"),
        ("limits", 5),
    ],
)
def test_an_option_of_the_wrong_type_is_a_type_error_naming_it(
    client: Any, option: str, value: object
) -> None:
    with pytest.raises(TypeError, match=f"^{option} must be"):
        client(BASE, "key", **{option: value})


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("timeout", float("nan"), "timeout"),
        ("timeout", -1, "timeout"),
        ("timeout", httpx.Timeout(5, read="x"), "timeout: read"),  # type: ignore[arg-type]
        ("timeout", httpx.Timeout(5, connect=float("nan")), "timeout: connect"),
        ("deadline", 0, "deadline"),
        ("deadline", float("inf"), "deadline"),
        ("retries", -1, "retries"),
        ("backoff", float("nan"), "retries and backoff"),
        ("max_answer_bytes", 0, "max_answer_bytes"),
    ],
)
def test_an_option_out_of_range_is_a_value_error_naming_it(
    client: Any, option: str, value: object, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}"):
        client(BASE, "key", **{option: value})


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("timeout", [None, 2, 2.5, httpx.Timeout(None), httpx.Timeout(3.0)])
def test_the_usual_timeouts_are_taken(client: Any, timeout: object) -> None:
    client(BASE, "key", timeout=timeout, deadline=5, retries=0, backoff=0)


def _refused_with(retry_after: str, date: str | None = None) -> CentraUnavailable:
    headers = {"Retry-After": retry_after, **({"Date": date} if date else {})}

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"errors": {"request": "busy"}}, headers=headers)

    client = ShopApiClient(BASE, "key", transport=httpx.MockTransport(busy), retries=0)
    with client, pytest.raises(CentraUnavailable) as raised:
        client.send(CreateSelection())
    return raised.value


@pytest.mark.parametrize(
    ("retry_after", "date"),
    [("1e308", None), ("99999999999", None), ("Fri, 31 Dec 9999 23:59:59 GMT", None)],
)
def test_a_huge_retry_after_is_read_as_a_day_so_a_caller_can_add_it_to_a_time(
    retry_after: str, date: str | None
) -> None:
    error = _refused_with(retry_after, date)
    assert error.retry_after == table.MAX_RETRY_AFTER
    assert datetime.now(UTC) + timedelta(seconds=error.retry_after)  # no OverflowError


def test_the_in_process_fake_reads_retry_after_as_a_client_does() -> None:
    fake = FakeCentra.seeded(
        faults=FaultPlan(1).status(CallKind.CREATE_SELECTION, 429, retry_after=10**12)
    )
    with pytest.raises(CentraUnavailable) as raised:
        fake.send(CreateSelection())
    assert raised.value.retry_after == table.MAX_RETRY_AFTER
    assert raised.value.status == 429
