"""One Centra call over HTTP, written once for the sync and the async client.

``exchange`` is a call's whole life as a generator: build the request, send it, read the
answer in chunks within the bounds, classify it with the error table (``table``), log it,
and retry reads. It does no I/O itself: it yields what to do (``Send`` a request, ``Read`` the
next raw chunk of the answer, ``Sleep``) and is sent back what happened (the response, the
chunk, ``None`` at the end of the body, or the exception the I/O raised). ``HttpClient`` and
``AsyncHttpClient`` each drive it with their own ``httpx`` client, so they cannot drift.

Bounds, per call: a total ``deadline`` across every attempt, connection, sending, waiting and
reading (each attempt's httpx timeouts are capped by what remains, the body is read chunk by
chunk and the deadline checked between chunks, and a retry waits only when it fits); at most
``max_answer_bytes`` on the wire and ``max_decoded_bytes`` after decompression (``body``).
The async client cancels the I/O when the deadline passes, and the blocking one caps each
blocking socket operation by it (``client``), so over the network a call ends at its deadline,
even while the status line and headers are still arriving. Past an injected transport that is
not httpx's own, a blocking call may still wait for one read already started (each read is
bounded by a third of the deadline, so about 1.33 deadlines in all).

A call may be carried by several requests in turn (the Checkout API's checkout fields): a
request with a ``then(answer)`` method names the next request, built from the answer so far,
or ``None`` when the call is done; the call's answer is the last one. The deadline spans them
all; each request is classified, logged and (for a read: a GET, or one whose ``reads`` says
so) retried on its own, and the first error ends the call.

Logging: one DEBUG line per attempt under ``orderflow.adapters.http``, with the method, the
path *template* (never the ids in the path, never a header), the status or the failure and the
milliseconds taken; a request's ``X-Correlation-ID``, when it sends one, is in the record's
``centra_correlation_id`` (not in the message).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Final, Protocol, TypeVar

import attrs
import httpx

from orderflow.adapters.http import table
from orderflow.adapters.http.body import Body, BrokenBody
from orderflow.adapters.http.table import Outcome
from orderflow.calls import Call
from orderflow.errors import CentraError, CentraUnavailable, OrderflowError

try:  # an accelerator only, as in the codec
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "Policy",
    "Read",
    "Reply",
    "Send",
    "Sleep",
    "Step",
    "WireRequest",
    "exchange",
    "keeping_newest_token",
    "reads",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

LOG: Final = logging.getLogger("orderflow.adapters.http")
"""Where each attempt is logged (DEBUG)."""

# Failures that prove nothing was sent: no connection, no pooled connection, or our own HTTP
# stack refusing the request before any byte left (a proxy's CONNECT refused, a bad scheme).
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
)
# A read or write that timed out once the deadline had passed: the blocking client's hard stop.
_LATE = (httpx.ReadTimeout, httpx.WriteTimeout)
_UNBUILDABLE = (TypeError, ValueError, OverflowError, RecursionError, httpx.InvalidURL)
_NOT_JSON: Final = object()


class WireRequest(Protocol[T_co]):
    """What a dialect makes of a call: one HTTP request and the decoder of its answer.

    ``path`` is under the client's base URL; ``template`` is the path with its parameters
    unfilled (for logs); ``label`` names the endpoint in errors; ``body`` is JSON-ready data or
    ``None``; ``headers`` are sent with this request only; ``decode(status, body)`` takes the
    parsed JSON (``None`` for an empty body) and returns the answer or raises the core error
    (through ``table.decoded``). Optionally, ``then(answer)`` returns the call's next request
    (see the module docstring), or ``None``; and ``reads`` says the request only reads, so it
    is retried as a ``GET`` is (default: whether it is a ``GET``; a GraphQL query is a ``POST``
    that only reads).
    """

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def body(self) -> Any: ...
    @property
    def moves_money(self) -> bool: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def decode(self, status: int, body: Any) -> T_co: ...


@attrs.frozen
class Policy:
    """The bounds and retries of every call of one client (validated by the client)."""

    timeout: httpx.Timeout
    deadline: float
    retries: int
    backoff: float
    max_answer_bytes: int
    max_decoded_bytes: int

    def timeouts(self, remaining: float) -> dict[str, float]:
        """The httpx timeouts of one attempt, each phase's capped by the time remaining, as
        httpx's ``timeout`` request extension (what ``httpx.Timeout.as_dict`` gives: passing
        the dict saves building two ``Timeout`` objects per attempt)."""

        def capped(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        t = self.timeout
        # One blocking read can outlast the deadline (httpx fixes the read timeout when the
        # request starts): a third of the deadline per read bounds a trickling answer to about
        # 1.33 deadlines in all, well within the service's claim lease (twice the deadline).
        read = self.deadline / 3 if t.read is None else min(t.read, self.deadline / 3)
        return {
            "connect": capped(t.connect),
            "read": capped(read),
            "write": capped(t.write),
            "pool": capped(t.pool),
        }


@attrs.frozen
class Send:
    """Send ``request`` (streaming the answer); reply the response or the exception."""

    request: httpx.Request
    within: float


@attrs.frozen
class Read:
    """Read the next raw chunk of the last response; reply it, ``None`` at the end, or the
    exception."""

    within: float


@attrs.frozen
class Sleep:
    """Wait before the next attempt; reply ``None``."""

    seconds: float


Step = Send | Read | Sleep
Reply = httpx.Response | bytes | BaseException | None


def reads(request: WireRequest[Any]) -> bool:
    """Whether ``request`` only reads: its ``reads`` when it says, else whether it is a GET."""
    said = getattr(request, "reads", None)
    return said if isinstance(said, bool) else request.method == "GET"


def exchange(
    call: Call[T],
    dialect: Callable[[Call[T]], WireRequest[T]],
    *,
    build_request: Callable[..., httpx.Request],
    base_url: str,
    policy: Policy,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[Step, Reply, T]:
    """``call``'s answer through ``dialect``, or its core error; see the module docstring."""
    life = _Life(call, base_url, policy, build_request, clock, clock() + policy.deadline)
    built = life.built(lambda: dialect(call))
    assert built is not None
    while True:
        request, content = built
        answer = yield from life.attempts(request, content)
        then = getattr(request, "then", None)
        if then is None:
            return answer
        following = life.built(functools.partial(then, answer))
        if following is None:
            return answer
        built = following


@attrs.frozen
class _Life:
    """One call's context: what every attempt of it needs."""

    call: Call[Any]
    base_url: str
    policy: Policy
    build_request: Callable[..., httpx.Request]
    clock: Callable[[], float]
    deadline: float

    def built(
        self, make: Callable[[], WireRequest[T] | None]
    ) -> tuple[WireRequest[T], bytes | None] | None:
        try:
            request = make()
            if request is None:
                return None
            content = None if request.body is None else _dumps(request.body)
        except _UNBUILDABLE as problem:
            reason = f"the request cannot be built ({_described(problem)})"
        else:
            return request, content
        raise self.unbuildable(reason)

    def attempts(self, request: WireRequest[T], content: bytes | None) -> Generator[Step, Reply, T]:
        """The answer of one request, a read retried while Centra is unavailable."""
        policy = self.policy
        retries = policy.retries if reads(request) else 0
        attempt = 0
        while True:
            try:
                return (yield from self.attempt(request, content))
            except CentraUnavailable as busy:
                wait = busy.retry_after
                if wait is None:
                    wait = policy.backoff * 2**attempt
                if attempt >= retries or self.clock() + wait >= self.deadline:
                    raise
            yield Sleep(wait)
            attempt += 1

    def unbuildable(self, reason: str) -> OrderflowError:
        call = self.call
        failure = table.error(
            Outcome.UNBUILDABLE, endpoint=call.label, moves_money=call.moves_money, reason=reason
        )
        assert failure is not None
        return failure

    def attempt(self, request: WireRequest[T], content: bytes | None) -> Generator[Step, Reply, T]:
        """One attempt: send, read, classify. Raises the table's error."""
        started = self.clock()
        remaining = max(self.deadline - started, 0.0)
        headers = dict(request.headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            wire = self.build_request(
                request.method,
                self.base_url + request.path,
                content=content,
                headers=headers,
                extensions={"timeout": self.policy.timeouts(remaining)},
            )
        except _UNBUILDABLE as problem:
            reason = f"the request cannot be built ({_described(problem)})"
        else:
            reason = ""
        if reason:
            raise self.unbuildable(reason)

        reply = yield Send(wire, remaining)
        broken: tuple[Outcome, str] | None = None
        if isinstance(reply, httpx.HTTPStatusError):  # an event hook's raise_for_status()
            response, data = reply.response, b""
        elif isinstance(reply, BaseException):
            _log(request, type(reply).__name__, started, self.clock)
            raise self.fail(request, *self.failure(reply))
        else:
            assert isinstance(reply, httpx.Response)
            response = reply
            data, broken = yield from self.body(response)
        status = response.status_code
        shown = str(status) if broken is None else f"{status}, {broken[1]}"
        _log(request, shown, started, self.clock)

        parsed = _parsed(data) if broken is None else _NOT_JSON
        if table.decides(status, request.moves_money):  # the headers are looked up only then
            failure = table.status_error(
                status,
                None if parsed is _NOT_JSON else parsed,
                endpoint=request.label,
                moves_money=request.moves_money,
                retry_after=table.retry_after(
                    response.headers.get("retry-after"), response.headers.get("date")
                ),
                read=reads(request),
            )
            if failure is not None:
                raise failure
        if parsed is _NOT_JSON:
            if table.outcome_of(status) is Outcome.UNAUTHORISED:
                parsed = None  # refused before anything else: the body does not matter
            elif broken is not None:
                raise self.fail(request, *broken, status)
            else:
                raise self.fail(request, Outcome.UNREADABLE, _not_json(response, data), status)
        try:
            return request.decode(status, parsed)
        except OrderflowError:
            raise
        except Exception as bug:  # a dialect must not crash on an answer; if one does: unreadable
            why = f"the answer (HTTP {status}) does not decode ({_described(bug)})"
        raise self.fail(request, Outcome.UNREADABLE, why, status)

    def body(
        self, response: httpx.Response
    ) -> Generator[Step, Reply, tuple[bytes, tuple[Outcome, str] | None]]:
        """The answer's decoded body, or why it cannot be had (``LOST``, ``UNREADABLE``)."""
        policy = self.policy
        declared = _declared_size(response.headers.get("content-length", ""))
        if declared is not None and declared > policy.max_answer_bytes:
            shown = f"{declared}" if declared != math.inf else "a 19-digit or longer number of"
            why = f"the answer declares {shown} bytes, more than max_answer_bytes"
            return b"", (Outcome.UNREADABLE, f"{why} ({policy.max_answer_bytes})")
        try:
            if response.is_stream_consumed:  # built in process with content=: httpx read it
                body = Body(
                    None, max_wire=policy.max_answer_bytes, max_decoded=policy.max_decoded_bytes
                )
                body.feed(response.content)
                return body.finish(), None
            body = Body(
                response.headers.get("content-encoding"),
                max_wire=policy.max_answer_bytes,
                max_decoded=policy.max_decoded_bytes,
            )
            while True:
                within = self.deadline - self.clock()
                if within <= 0:
                    return b"", (Outcome.LOST, self.too_late())
                chunk = yield Read(within)
                if chunk is None:
                    return body.finish(), None
                if isinstance(chunk, BaseException):
                    return b"", self.failure(chunk)
                assert isinstance(chunk, bytes)
                body.feed(chunk)
        except BrokenBody as problem:
            return b"", (Outcome.UNREADABLE, str(problem))

    def failure(self, error: BaseException) -> tuple[Outcome, str]:
        """What an exception of the I/O means."""
        if isinstance(error, TimeoutError):  # the async client's hard stop at the deadline
            return Outcome.LOST, self.too_late()
        if isinstance(error, _LATE) and self.clock() >= self.deadline:  # the sync client's
            return Outcome.LOST, self.too_late()
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return Outcome.NOT_SENT, f"could not connect to {self.base_url} ({_described(error)})"
        if isinstance(error, _NOT_SENT):
            return Outcome.NOT_SENT, f"nothing was sent ({_described(error)})"
        return Outcome.LOST, _described(error)

    def too_late(self) -> str:
        return f"no whole answer within the deadline of {self.policy.deadline:g}s"

    def fail(
        self, request: WireRequest[Any], outcome: Outcome, why: str, status: int | None = None
    ) -> OrderflowError:
        failure = table.error(
            outcome,
            endpoint=request.label,
            moves_money=request.moves_money,
            reason=why,
            status=status,
            read=reads(request),
        )
        assert failure is not None
        return failure


def _log(
    request: WireRequest[Any], result: str, started: float, clock: Callable[[], float]
) -> None:
    if LOG.isEnabledFor(logging.DEBUG):
        ms = (clock() - started) * 1000
        extra = {"centra_method": request.method, "centra_path": request.template}
        correlation = _header(request.headers, "x-correlation-id")
        if correlation is not None:
            extra["centra_correlation_id"] = correlation
        LOG.debug(
            "%s %s -> %s in %.0f ms", request.method, request.template, result, ms, extra=extra
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _declared_size(text: str) -> int | float | None:
    """A ``Content-Length`` header's bytes (infinity past 18 digits), ``None`` when it is not
    ASCII digits ("²" is a digit to ``str.isdigit``, not to ``int``; ``int`` refuses more than
    4300 digits)."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    return math.inf if len(digits) > 18 else int(digits or "0")


def _parsed(data: bytes) -> Any:
    if not data:
        return None
    try:
        return _orjson.loads(data) if _orjson is not None else json.loads(data)
    except (ValueError, RecursionError):  # orjson's and json's errors are ValueErrors
        return _NOT_JSON


def _not_json(response: httpx.Response, data: bytes) -> str:
    kind = response.headers.get("content-type", "no content type").partition(";")[0]
    start = data[:40].decode("utf-8", "replace")
    return (
        f"not JSON (HTTP {response.status_code}, {kind}, starts {start!r}); is the base URL right?"
    )


MAX_BODY_DEPTH: Final = 255
"""The deepest request body sent (orjson's own limit): deeper is a request that cannot be
built, on every Python (the standard library's limit differs between versions)."""


def _dumps(body: Any) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(body)
        except TypeError:  # e.g. an int beyond 64 bits: the standard library says what is wrong
            pass
    _bounded(body)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError here


def _bounded(body: Any) -> None:
    """Raise ``ValueError`` for a body nested deeper than ``MAX_BODY_DEPTH`` (iteratively: no
    recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list | tuple):
            if depth >= MAX_BODY_DEPTH:
                raise ValueError(f"the body is nested deeper than {MAX_BODY_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _described(error: BaseException) -> str:
    text = str(error)
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def keeping_newest_token(
    life: Generator[Step, Reply, T], token_of: Callable[[httpx.Request], str | None]
) -> Generator[Step, Reply, T]:
    """A call's ``life``, the error it ends with carrying the newest session token the call was
    handed (dialects with sessions: the Checkout and Storefront APIs): the one its last request
    was sent with (``token_of`` reads it), when an earlier answer of the call gave it; the
    error's own token, when it has one, is newer still. The service keeps it, so the checkout
    never holds an outdated token."""
    sent: list[str | None] = []
    try:
        step = next(life)
        while True:
            if isinstance(step, Send):
                sent.append(token_of(step.request))
            reply = yield step
            step = life.send(reply)
    except StopIteration as done:
        answer: T = done.value
        return answer
    except (CentraError, CentraUnavailable) as error:
        newest = sent[-1] if sent else None
        if error.token is None and newest is not None and newest != sent[0]:
            error.token = newest
        raise
    finally:
        life.close()
