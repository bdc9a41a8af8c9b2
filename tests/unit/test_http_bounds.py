"""Bounded answers and requests that cannot be built: the deadline against a slow drip, the
size limit, the gzip bomb, a 70 KB id, a lone surrogate. In process, no network."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from orderflow.adapters.fake.seed import SEED_ITEM, seed_details
from orderflow.adapters.http.client import (
    DEFAULT_DEADLINE,
    MAX_ANSWER_BYTES,
    MAX_DECODED_BYTES,
)
from orderflow.calls import AddItem, PaymentResult, SetCheckoutFields, StartPayment
from orderflow.commands import ServiceSettings
from orderflow.errors import CentraUnavailable, OutcomeUnknown, PayloadError
from orderflow.payment import PaymentRequest
from tests.unit.test_http_support import (
    CART,
    KINDS,
    MONEY,
    READ,
    SELECTION,
    Api,
    Stream,
    answer,
    chain,
    selection_body,
    streamed,
)

MiB = 1024 * 1024


def test_the_defaults_bound_a_call_well_inside_the_services_claim_lease() -> None:
    assert DEFAULT_DEADLINE == 30 < ServiceSettings().claim_lease.total_seconds()
    assert (8 * MiB, 32 * MiB) == (MAX_ANSWER_BYTES, MAX_DECODED_BYTES)


# --- the deadline ------------------------------------------------------------------------------


def drip() -> Iterator[bytes]:
    yield from (b" " for _ in range(100))  # 100 bytes, one every 50 ms: 5 s in all


@KINDS
@pytest.mark.parametrize(
    ("call", "error"),
    [(MONEY, OutcomeUnknown), (READ, CentraUnavailable), (CART, CentraUnavailable)],
)
def test_the_deadline_stops_a_slow_drip_body(kind: str, call: Any, error: type[Exception]) -> None:
    stream = Stream(drip, delay=0.05)
    with Api(kind, streamed(200, stream), deadline=0.3) as api:
        started = time.monotonic()
        with pytest.raises(error, match=r"deadline of 0\.3s"):
            api.send(call)
        took = time.monotonic() - started
    assert 0.25 <= took < 1.0
    assert stream.sent < 20 and stream.closed
    assert len(api.requests) == 1  # no time is left for a retry of the read


def test_the_async_client_stops_waiting_for_an_answer_at_the_deadline() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200, json={})

    with Api("async", never, deadline=0.3) as api:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown, match=r"deadline of 0\.3s"):
            api.send(MONEY)
        assert time.monotonic() - started < 1.0


def test_the_async_client_stops_waiting_for_a_chunk_of_the_answer_at_the_deadline() -> None:
    stream = Stream(lambda: iter([b"{}"]), delay=10)  # the headers come, the body never does
    with Api("async", streamed(200, stream), deadline=0.3) as api:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown, match=r"deadline of 0\.3s"):
            api.send(MONEY)
        assert time.monotonic() - started < 1.0
    assert stream.sent == 0


@KINDS
def test_each_attempts_httpx_timeouts_are_capped_by_the_deadline(kind: str) -> None:
    with (
        Api(kind, answer(404, {"errors": {"selection": "not found"}}), deadline=2.0) as api,
        pytest.raises(Exception),  # noqa: B017 - only the timeouts sent matter here
    ):
        api.send(READ)
    timeouts = api.requests[0].extensions["timeout"]
    assert set(timeouts) == {"connect", "read", "write", "pool"}
    # Each read waits a third of the deadline at most: a trickle stops near 1.33 deadlines.
    assert 0.5 < timeouts.pop("read") <= 2.0 / 3
    assert all(1.5 < value <= 2.0 for value in timeouts.values())


@KINDS
def test_the_configured_timeouts_reach_the_transport_when_shorter(kind: str) -> None:
    timeout = httpx.Timeout(2.5, connect=1.0)
    with (
        Api(kind, answer(404, {}), timeout=timeout, retries=0) as api,
        pytest.raises(Exception),  # noqa: B017
    ):
        api.send(READ)
    assert api.requests[0].extensions["timeout"] == {
        "connect": 1.0,
        "read": 2.5,
        "write": 2.5,
        "pool": 2.5,
    }


# --- the size limits -----------------------------------------------------------------------------


def fifty_megabytes() -> Iterator[bytes]:
    chunk = b" " * (64 * 1024)
    return (chunk for _ in range(800))


@KINDS
@pytest.mark.parametrize(("call", "error"), [(MONEY, OutcomeUnknown), (CART, PayloadError)])
def test_a_50_mb_answer_stops_at_the_size_limit(
    kind: str, call: Any, error: type[Exception]
) -> None:
    stream = Stream(fifty_megabytes)
    with (
        Api(kind, streamed(200, stream)) as api,
        pytest.raises(error, match="max_answer_bytes"),
    ):
        api.send(call)
    assert MAX_ANSWER_BYTES < stream.sent <= MAX_ANSWER_BYTES + 64 * 1024
    assert stream.closed


@KINDS
def test_an_answer_declaring_more_than_the_limit_is_not_read_at_all(kind: str) -> None:
    stream = Stream(fifty_megabytes)
    handler = streamed(200, stream, **{"content-length": str(50 * 1000 * 1000)})
    with Api(kind, handler) as api, pytest.raises(OutcomeUnknown, match="declares 50000000"):
        api.send(MONEY)
    assert stream.sent == 0 and stream.closed


@KINDS
def test_a_small_limit_applies_to_an_ordinary_answer(kind: str) -> None:
    with (
        Api(kind, answer(200, selection_body()), max_answer_bytes=100) as api,
        pytest.raises(PayloadError, match=r"max_answer_bytes \(100\)"),
    ):
        api.send(CART)


def bomb(counter: list[int]) -> Iterator[bytes]:
    """A gzip stream of 4 GiB of zeros, compressed as it is read (about 4 MB on the wire)."""
    zeros = bytes(MiB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for _ in range(4096):
        counter[0] += 1
        packed = packer.compress(zeros)
        if packed:
            yield packed
    yield packer.flush()


@KINDS
@pytest.mark.parametrize(("call", "error"), [(MONEY, OutcomeUnknown), (READ, PayloadError)])
def test_a_gzip_bomb_stops_at_the_decompression_limit(
    kind: str, call: Any, error: type[Exception]
) -> None:
    inflated = [0]
    stream = Stream(lambda: bomb(inflated))
    handler = streamed(200, stream, **{"content-encoding": "gzip"})
    with Api(kind, handler) as api, pytest.raises(error, match="max_decoded_bytes"):
        api.send(call)
    # Reading stopped once 32 MiB were inflated: a few dozen KB of the bomb, of about 4 MB.
    assert inflated[0] <= 40 and stream.sent < 64 * 1024
    assert stream.closed and len(api.requests) == 1


@KINDS
def test_one_chunk_that_inflates_past_the_limit_never_inflates_whole(kind: str) -> None:
    packed = zlib.compress(bytes(64 * MiB), 9)  # 64 MiB in about 64 KB, one chunk
    handler = streamed(200, Stream(lambda: iter([packed])), **{"content-encoding": "deflate"})
    with Api(kind, handler, max_decoded_bytes=MiB) as api:
        tracemalloc.start()
        try:
            with pytest.raises(OutcomeUnknown, match="max_decoded_bytes"):
                api.send(MONEY)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 * MiB


@KINDS
def test_a_broken_gzip_stream_is_an_answer_that_cannot_be_read(kind: str) -> None:
    handler = streamed(200, Stream(lambda: iter([b"not gzip"])), **{"content-encoding": "gzip"})
    with Api(kind, handler) as api:
        with pytest.raises(OutcomeUnknown, match="gzip stream is broken"):
            api.send(MONEY)
        with pytest.raises(PayloadError, match="gzip stream is broken"):
            api.send(CART)


@KINDS
def test_an_unknown_content_encoding_is_an_answer_that_cannot_be_read(kind: str) -> None:
    handler = streamed(200, Stream(lambda: iter([b"x"])), **{"content-encoding": "br"})
    with Api(kind, handler) as api, pytest.raises(OutcomeUnknown, match="'br'"):
        api.send(MONEY)


# --- requests that cannot be built ------------------------------------------------------------

SURROGATE = "Malm\ud800"


def details(**changes: Any) -> PaymentRequest:
    return attrs.evolve(seed_details(), **changes)


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@KINDS
@pytest.mark.parametrize(
    "call",
    [
        AddItem(SELECTION, "x" * 70_000, 1),
        AddItem(SELECTION, SURROGATE, 1),
        AddItem(SURROGATE, SEED_ITEM, 1),
        SetCheckoutFields(SELECTION, details(payment_method=SURROGATE)),
    ],
    ids=["70-kb-item", "surrogate-item", "surrogate-selection", "surrogate-field"],
)
def test_a_cart_request_that_cannot_be_built_is_a_payload_error_naming_the_call(
    kind: str, call: Any
) -> None:
    with Api(kind, answer(200, selection_body())) as api, pytest.raises(PayloadError) as raised:
        api.send(call)
    assert raised.value.type_name == "request" and str(call.kind) in raised.value.source
    assert "cannot be built" in str(raised.value)
    assert api.requests == []
    assert not any(isinstance(e, httpx.HTTPError) for e in chain(raised.value))


@KINDS
@pytest.mark.parametrize(
    "call",
    [
        PaymentResult(SELECTION, {"klarna_order": SURROGATE}),
        PaymentResult("s" * 70_000, {}),
        PaymentResult(SELECTION, {"deep": nested(5000)}),
        StartPayment(SELECTION, details(payment_return_page=SURROGATE)),
    ],
    ids=["surrogate-field", "70-kb-selection", "too-deep", "surrogate-return-page"],
)
def test_a_payment_request_that_cannot_be_built_is_unavailable_as_centra_did_not_act(
    kind: str, call: Any
) -> None:
    with Api(kind, answer(200, {})) as api, pytest.raises(CentraUnavailable) as raised:
        api.send(call)
    assert str(call.kind) in raised.value.endpoint and raised.value.status is None
    assert "cannot be built" in str(raised.value) and "did not act" in str(raised.value)
    assert api.requests == []
