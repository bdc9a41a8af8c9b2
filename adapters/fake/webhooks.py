"""Centra's order webhooks, sent by the fake: ``WebhookSender``.

As the Centra Webhook plugin page documents it (``pages/06.plugins/09.centra-webhook``): a POST
with a form body ``payload=<url-encoded JSON>`` (``application/x-www-form-urlencoded``),
signed in ``X-Centra-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` when an
endpoint secret is set; the integration flavour's events carry a type, an action, a date and
an id, never the object; 5 s before timing out, then up to 3 retries, each after a longer delay;
a webhook that still fails is given up and the next one in the queue is sent.

The fake's choices where the page is silent: one event per webhook; ``"insert"`` for a new
order (the page shows ``"update"`` for orders and ``"create"`` for shipments); the event also
names its ``selection``; the retry delays (1, 2 and 4 s on the fake's clock); any answer other
than a 2xx counts as a failure; each attempt is signed at its own time.

Deliveries run on one background thread, in order, so a request that makes an order never waits
for a webhook. They go through ``httpx`` when it is installed (the ``http`` extra) and the
standard library's ``urllib`` otherwise; the fake imports without either being used.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import attrs

from orderflow.adapters.webhooks.signature import SIGNATURE_HEADER, sign
from orderflow.clock import SystemClock
from orderflow.ports import Clock

Post = Callable[[str, bytes, Mapping[str, str], float], int]
"""Send one webhook: ``post(url, body, headers, timeout) -> HTTP status``; raises ``OSError`` (or
any exception) when no answer came."""

TIMEOUT = 5.0
RETRIES = 3
DELAYS = (1.0, 2.0, 4.0)
_FORM = "application/x-www-form-urlencoded"


@attrs.frozen
class Delivery:
    """One webhook the sender finished with: its raw ``body`` (``payload=...``), the events in
    it, the ``signature`` of its last attempt, how many ``attempts`` it took, and the last
    ``status`` (``None`` when no answer came; then ``error`` says why)."""

    body: bytes
    events: tuple[dict[str, Any], ...]
    signature: str | None
    attempts: int
    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """Whether a 2xx answered it."""
        return self.status is not None and 200 <= self.status < 300


def form_body(payload: Mapping[str, Any]) -> bytes:
    """``payload=<url-encoded JSON>``, the body Centra's webhook plugin posts."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return urlencode({"payload": text}).encode("ascii")


class WebhookSender:
    """Sends Centra's signed order webhooks to ``url`` from a background thread. Thread-safe.

    ``send(events)`` queues one webhook and returns at once; ``flush(timeout)`` waits until the
    queue is empty; ``close()`` stops the thread after the queue is sent. ``deliveries`` lists
    every webhook finished with (delivered or given up). ``secret`` ``None`` sends no signature
    (the plugin's endpoint secret is optional). ``post`` replaces the HTTP client; ``clock``
    signs and waits between retries (``Clock.sleep``). Raises ``ValueError`` for a bad setting.
    """

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        clock: Clock | None = None,
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
        delays: Sequence[float] = DELAYS,
        post: Post | None = None,
    ):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL is http:// or https://, not {url!r}")
        if secret == "":
            raise ValueError("a webhook secret must not be empty (None: no signature)")
        if not 0 <= retries <= 10 or timeout <= 0:
            raise ValueError("retries are 0 to 10 and the timeout is positive")
        self.url = url
        self.secret = secret
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self.retries = retries
        self.delays = tuple(delays) or (0.0,)
        self.post = post or _default_post()
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[dict[str, Any], ...] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Queue one webhook carrying ``events``; never blocks on the network."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the webhook sender is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="orderflow-fake-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put(tuple(dict(event) for event in events))

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every queued webhook is finished with; ``False`` if ``timeout`` ran out."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, name="orderflow-fake-webhooks-flush", daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued, then stop the thread (waiting at most ``timeout`` seconds)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            events = self._queue.get()
            try:
                if events is None:
                    return
                self._deliver(events)
            finally:
                self._queue.task_done()

    def _deliver(self, events: tuple[dict[str, Any], ...]) -> None:
        body = form_body({"events": list(events)})
        status: int | None = None
        error: str | None = None
        signature: str | None = None
        attempts = 0
        for attempt in range(self.retries + 1):
            if attempt:
                self.clock.sleep(self.delays[min(attempt, len(self.delays)) - 1])
            attempts += 1
            headers = {"Content-Type": _FORM}
            if self.secret is not None:
                signature = sign(body, self.secret, int(self.clock.now().timestamp()))
                headers[SIGNATURE_HEADER] = signature
            try:
                status, error = self.post(self.url, body, headers, self.timeout), None
            except Exception as failure:  # any failure to get an answer is retried
                status, error = None, f"{type(failure).__name__}: {failure}"
            if status is not None and 200 <= status < 300:
                break
        delivery = Delivery(body, events, signature, attempts, status, error)
        with self._lock:
            self.deliveries.append(delivery)


def _default_post() -> Post:
    try:
        import httpx  # noqa: F401  (an optional extra: only its presence is asked)
    except ImportError:
        return _post_urllib
    return _post_httpx


def _post_httpx(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    import httpx

    with httpx.Client(timeout=timeout) as client:
        return client.post(url, content=body, headers=dict(headers)).status_code


def _post_urllib(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        with refused:
            return int(refused.code)
