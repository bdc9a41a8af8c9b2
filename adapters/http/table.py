"""The error table of every Centra dialect over HTTP: what each outcome of a request means.

Pure (no httpx, no I/O), so a dialect's decoder uses it too: ``FakeCentra`` answering in
process and the HTTP clients then tell the same story. An outcome is what happened to one
request (``outcome_of(status)`` for an answer, or a failure the HTTP machinery saw); the
``TABLE`` gives its verdict for a call that moves money (``StartPayment``, ``PaymentResult``)
and for any other call; ``error`` builds the core error of a verdict.

============ ============================================ ==================== =================
outcome      when                                         money call           other call
============ ============================================ ==================== =================
ANSWER       2xx                                          decoded by dialect   decoded by dialect
REFUSED      400, 402, 406, 412, 422, any other 4xx       ``CentraError`` or a ``FailedAction``
UNAUTHORISED 401, 403                                     ``AuthenticationFailed``
OUT_OF_STOCK 410                                          ``OutOfStock`` (built by the dialect)
UNSETTLED    404, 409                                     ``OutcomeUnknown``   ``CentraError``
UNEXPECTED   1xx, 3xx, 600 and up                         ``OutcomeUnknown``   ``CentraError``
BUSY         408, 425, 429                                ``CentraUnavailable`` (did not act)
FAILING      5xx                                          ``OutcomeUnknown``   ``CentraUnavailable``
NOT_SENT     connection refused, connect or pool timeout  ``CentraUnavailable`` (did not act)
LOST         sent, then a timeout, a reset, the deadline  ``OutcomeUnknown``   ``CentraUnavailable``
UNREADABLE   not JSON, too large, a gzip bomb, does not   ``OutcomeUnknown``   ``PayloadError``
             decode (an order is kept: the dialect
             returns the order, whatever else fails)
UNBUILDABLE  the request cannot be built (nothing sent)   ``CentraUnavailable`` ``PayloadError``
============ ============================================ ==================== =================

``CentraUnavailable`` carries the ``status`` and, after 408, 425, 429 or 5xx, ``retry_after``
(the ``Retry-After`` header, in seconds or as an HTTP-date).

The money gate of the core (``orderflow.commands``) reads these as: ``CentraUnavailable`` and
``AuthenticationFailed`` mean Centra did not act (the marker is cleared), ``CentraError`` is a
refusal (after ``PaymentResult``: a decline, once the selection was looked up), and
``OutcomeUnknown`` keeps the marker until Centra is asked. So a money call whose request could
not be built raises ``CentraUnavailable`` with no status (nothing was sent: Centra did not act),
never a ``PayloadError``, which the gate would treat as an unknown outcome.

For a call that is not a payment, ``CentraUnavailable`` after a 5xx or a lost answer means
Centra may have acted (the service reads the cart back before it reports it); reads (GET) are
retried on every ``CentraUnavailable``, nothing else is. A 401 or 403 and every status that
decides on its own (``BUSY``, ``FAILING``, ``UNSETTLED`` and ``UNEXPECTED`` of a money call)
need no readable body; every other answer does.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar

from orderflow.errors import (
    CentraUnavailable,
    FieldProblem,
    OrderflowError,
    OutcomeUnknown,
    PayloadError,
)

T = TypeVar("T")

__all__ = [
    "MAX_RETRY_AFTER",
    "TABLE",
    "Outcome",
    "Verdict",
    "decides",
    "decoded",
    "error",
    "message_of",
    "outcome_of",
    "retry_after",
    "status_error",
    "verdict",
]


class Outcome(enum.Enum):
    """What happened to one request (see the module's table)."""

    ANSWER = "answer"
    REFUSED = "refused"
    UNAUTHORISED = "unauthorised"
    OUT_OF_STOCK = "out of stock"
    UNSETTLED = "unsettled"
    UNEXPECTED = "unexpected"
    BUSY = "busy"
    FAILING = "failing"
    NOT_SENT = "not sent"
    LOST = "lost"
    UNREADABLE = "unreadable"
    UNBUILDABLE = "unbuildable"


class Verdict(enum.Enum):
    """What an outcome means for the caller."""

    DECODE = "the dialect decodes the answer or its refusal"
    NOT_ACTED = "CentraUnavailable: Centra did not act"
    MAY_HAVE_ACTED = "CentraUnavailable: Centra may have acted"
    UNKNOWN = "OutcomeUnknown: Centra may or may not have acted"
    MALFORMED = "PayloadError: the answer or the request does not fit"


_D, _NOT, _MAY, _UNK, _BAD = (
    Verdict.DECODE,
    Verdict.NOT_ACTED,
    Verdict.MAY_HAVE_ACTED,
    Verdict.UNKNOWN,
    Verdict.MALFORMED,
)

TABLE: Final[Mapping[Outcome, tuple[Verdict, Verdict]]] = {
    #                      money call  other call
    Outcome.ANSWER: (_D, _D),
    Outcome.REFUSED: (_D, _D),
    Outcome.UNAUTHORISED: (_D, _D),
    Outcome.OUT_OF_STOCK: (_D, _D),
    Outcome.UNSETTLED: (_UNK, _D),
    Outcome.UNEXPECTED: (_UNK, _D),
    Outcome.BUSY: (_NOT, _NOT),
    Outcome.FAILING: (_UNK, _MAY),
    Outcome.NOT_SENT: (_NOT, _NOT),
    Outcome.LOST: (_UNK, _MAY),
    Outcome.UNREADABLE: (_UNK, _BAD),
    Outcome.UNBUILDABLE: (_NOT, _BAD),
}
"""Each outcome's verdict: ``(for a call that moves money, for any other call)``."""

_BY_STATUS: Final[Mapping[int, Outcome]] = {
    401: Outcome.UNAUTHORISED,
    403: Outcome.UNAUTHORISED,
    404: Outcome.UNSETTLED,
    408: Outcome.BUSY,
    409: Outcome.UNSETTLED,
    410: Outcome.OUT_OF_STOCK,
    425: Outcome.BUSY,
    429: Outcome.BUSY,
}


def outcome_of(status: int) -> Outcome:
    """The outcome of an answer with HTTP ``status``."""
    if 200 <= status < 300:
        return Outcome.ANSWER
    found = _BY_STATUS.get(status)
    if found is not None:
        return found
    if 400 <= status < 500:
        return Outcome.REFUSED
    if 500 <= status < 600:
        return Outcome.FAILING
    return Outcome.UNEXPECTED


def verdict(outcome: Outcome, moves_money: bool) -> Verdict:
    """The table's verdict on ``outcome`` for a call that moves money, or for another."""
    money, other = TABLE[outcome]
    return money if moves_money else other


def error(
    outcome: Outcome,
    *,
    endpoint: str,
    moves_money: bool,
    reason: str,
    status: int | None = None,
    retry_after: float | None = None,
    read: bool = False,
) -> OrderflowError | None:
    """The core error of ``outcome`` for a call to ``endpoint``, or ``None`` when the dialect
    decodes (``Verdict.DECODE``). ``read``: the call only reads (its reason says so)."""
    found = verdict(outcome, moves_money)
    if found is Verdict.DECODE:
        return None
    if found is Verdict.UNKNOWN:
        return OutcomeUnknown(endpoint, reason)
    if found is Verdict.MALFORMED:
        kind = "request" if outcome is Outcome.UNBUILDABLE else "answer"
        return PayloadError(kind, [FieldProblem("$", reason)], source=endpoint)
    if found is Verdict.NOT_ACTED:
        reason += "; Centra did not act"
    elif not read:
        reason += "; the change may have reached Centra: read the selection back"
    return CentraUnavailable(endpoint, reason, status, retry_after=retry_after)


def decides(status: int, moves_money: bool) -> bool:
    """Whether an answer's status decides on its own (``status_error`` gives its error), so
    the body is not decoded."""
    return verdict(outcome_of(status), moves_money) is not Verdict.DECODE


def status_error(
    status: int,
    body: Any,
    *,
    endpoint: str,
    moves_money: bool,
    retry_after: float | None = None,
    read: bool = False,
) -> OrderflowError | None:
    """The core error an answer's status decides on its own, or ``None`` (decode the body)."""
    outcome = outcome_of(status)
    if verdict(outcome, moves_money) is Verdict.DECODE:
        return None
    said = message_of(body)
    reason = f"HTTP {status}" + (f": {said}" if said else "")
    return error(
        outcome,
        endpoint=endpoint,
        moves_money=moves_money,
        reason=reason,
        status=status,
        retry_after=retry_after,
        read=read,
    )


def decoded(
    status: int,
    body: Any,
    decode: Callable[[int, Any], T],
    *,
    endpoint: str,
    moves_money: bool,
    read: bool = False,
) -> T:
    """An answer (status and parsed JSON body) through the table, then the dialect's ``decode``.

    Raises the status's own error when it decides (``status_error``); otherwise what ``decode``
    returns or raises, except that an answer that does not decode (``PayloadError``, or any
    exception but orderflow's own) is ``Outcome.UNREADABLE``: ``OutcomeUnknown`` for a call
    that moves money, ``PayloadError`` for another.
    """
    failure = status_error(status, body, endpoint=endpoint, moves_money=moves_money, read=read)
    if failure is not None:
        raise failure
    try:
        return decode(status, body)
    except PayloadError as problem:
        if not moves_money:
            raise
        reason = f"the answer (HTTP {status}) does not decode: {problem}"
    except OrderflowError:
        raise
    except Exception as bug:  # a body no decoder expected (RecursionError too): not a crash
        reason = f"the answer (HTTP {status}) does not decode ({type(bug).__name__}: {bug})"
    unreadable = error(
        Outcome.UNREADABLE, endpoint=endpoint, moves_money=moves_money, reason=reason
    )
    assert unreadable is not None
    raise unreadable


def message_of(body: Any) -> str | None:
    """What Centra's error body says (``message``, else ``messages``), if anything."""
    if not isinstance(body, Mapping):
        return None
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        return "; ".join(map(str, messages))
    return None


MAX_RETRY_AFTER = 86_400.0
"""The longest wait a ``Retry-After`` is read as (a day): a caller may add it to a time or
send it on, and ``1e308`` seconds overflows every date and every header a storefront writes."""


def retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date.

    An HTTP-date counts from the answer's ``Date`` header when it has one (so clock skew does
    not matter), else from now; a date in the past is 0. At most ``MAX_RETRY_AFTER``; ``None``
    when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        until = _until(text, date)
        return None if until is None else min(until, MAX_RETRY_AFTER)
    return min(seconds, MAX_RETRY_AFTER) if math.isfinite(seconds) and seconds >= 0 else None


def _until(text: str, date: str | None) -> float | None:
    when = _http_date(text)
    if when is None:
        return None
    now = _http_date(date) if date is not None else None
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)


def _http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
