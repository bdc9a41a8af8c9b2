"""An adversarial review of the adapters' borders: odd answers, replay recording within the
live client's bounds, damaged input of every kind. Each test failed before its fix."""

from __future__ import annotations

import asyncio
import errno
import io
import json
import math
import re
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from orderflow import CheckoutService
from orderflow.adapters import cli
from orderflow.adapters.checkout_api.client import AsyncCheckoutApiClient, CheckoutApiClient
from orderflow.adapters.cli.common import EXIT_FAILED, EXIT_USAGE
from orderflow.adapters.fake import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.adapters.fake.storefront.app import answer_graphql
from orderflow.adapters.replay.cassette import CassetteFormatError, load
from orderflow.adapters.replay.transport import AsyncReplayTransport, ReplayTransport
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.adapters.storefront_api.client import (
    AsyncStorefrontApiClient,
    StorefrontApiClient,
)
from orderflow.adapters.stores import SQLiteStore
from orderflow.adapters.stores.memory import MemoryStore
from orderflow.adapters.webhooks import WebhookRejected, sign, verify_signature
from orderflow.adapters.webhooks.receiver import WebhookReceiver, asgi_app, order_events
from orderflow.errors import OrderflowError, OutcomeUnknown, PayloadError
from tests.unit.test_http_deadline_headers import DEADLINE, DRIP, LIMIT, Server
from tests.unit.test_http_support import (
    BASE_URL,
    KEY,
    KINDS,
    MONEY,
    READ,
    Api,
    Stream,
    selection_body,
)

MiB = 1024 * 1024


# --- a Content-Length that str.isdigit calls digits and int() refuses ---------------------------


@KINDS
@pytest.mark.parametrize(
    "declared",
    [b"\xb2", b"\xb9\xb2\xb3", b"9" * 5000, b"0" * 5000 + b"7"],
    ids=["superscript-two", "superscripts", "5000-digits", "5000-zeros"],
)
def test_an_odd_content_length_is_an_orderflow_error(kind: str, declared: bytes) -> None:
    body = json.dumps(selection_body()).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[(b"content-length", declared)], content=body)

    with Api(kind, handler) as api:
        if declared.isdigit() and len(declared.lstrip(b"0")) > 18:
            with pytest.raises(PayloadError, match="more than max_answer_bytes"):
                api.send(READ)
            with pytest.raises(OutcomeUnknown, match="more than max_answer_bytes"):
                api.send(MONEY)
        else:  # not a number: the body is read within the limits as it comes
            assert api.send(READ).selection.selection


# --- replay recording within the live client's bounds ----------------------------------------


def _client(kind: str, transport: Any, **options: Any) -> Any:
    if kind == "sync":
        return ShopApiClient(BASE_URL, KEY, transport=transport, retries=0, **options)
    return AsyncShopApiClient(BASE_URL, KEY, transport=transport, retries=0, **options)


def _send(kind: str, client: Any, call: Any) -> Any:
    if kind == "sync":
        try:
            return client.send(call)
        finally:
            client.close()

    async def go() -> Any:
        try:
            return await client.send(call)
        finally:
            await client.aclose()

    return asyncio.run(go())


def _recorder(kind: str, path: Path, handler: Any) -> Any:
    if kind == "sync":
        return ReplayTransport(path, mode="all", inner=httpx.MockTransport(handler))
    return AsyncReplayTransport(path, mode="all", inner=httpx.MockTransport(handler))


def _save(kind: str, transport: Any) -> None:
    if kind == "sync":
        transport.close()
    else:
        asyncio.run(transport.aclose())


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MiB
    return b"".join(packer.compress(block) for _ in range(64)) + packer.flush()  # 64 MiB


@KINDS
def test_recording_a_gzip_bomb_stops_at_max_decoded_bytes(kind: str, tmp_path: Path) -> None:
    bomb = _bomb()
    assert len(bomb) < MiB // 4

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
            stream=Stream(lambda: iter([bomb[i : i + 4096] for i in range(0, len(bomb), 4096)])),
        )

    transport = _recorder(kind, tmp_path / "bomb.json", handler)
    client = _client(kind, transport, max_decoded_bytes=MiB)
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError, match="max_decoded_bytes"):
            _send(kind, client, READ)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB  # never the 64 MiB the bomb inflates to
    assert transport.recorded == ()  # an answer the client refused is not kept


@KINDS
def test_recording_reads_no_more_than_max_answer_bytes(kind: str, tmp_path: Path) -> None:
    chunk = b" " * 65536
    stream = Stream(lambda: iter([chunk] * 64))  # 4 MiB, no Content-Length

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    transport = _recorder(kind, tmp_path / "large.json", handler)
    client = _client(kind, transport, max_answer_bytes=MiB)
    with pytest.raises(PayloadError, match="max_answer_bytes"):
        _send(kind, client, READ)
    assert stream.sent <= MiB + len(chunk)
    assert stream.closed
    assert transport.recorded == ()


@KINDS
def test_recording_stops_a_slow_drip_at_the_deadline(kind: str, tmp_path: Path) -> None:
    def drip() -> Iterator[bytes]:
        yield from (b" " for _ in range(100))  # one every 50 ms: 5 s in all

    stream = Stream(drip, delay=0.05)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    transport = _recorder(kind, tmp_path / "drip.json", handler)
    client = _client(kind, transport, deadline=0.3)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown, match=r"deadline of 0\.3s"):
        _send(kind, client, MONEY)
    assert time.monotonic() - started < 1.0
    assert stream.sent < 20
    assert transport.recorded == ()


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


def test_recording_over_the_network_ends_at_the_deadline_while_the_headers_drip(
    tmp_path: Path, no_proxies: None
) -> None:
    server = Server([("drip", DRIP)])
    try:
        transport = ReplayTransport(tmp_path / "net.json", mode="all")  # its own HTTPTransport
        with ShopApiClient(server.url, KEY, transport=transport, deadline=DEADLINE) as client:
            started = time.monotonic()
            with pytest.raises(OutcomeUnknown, match=rf"deadline of {DEADLINE:g}s"):
                client.send(MONEY)
            took = time.monotonic() - started
        transport.close()
    finally:
        server.close()
    assert took < LIMIT
    assert transport.recorded == ()


@KINDS
def test_a_gzipped_answer_is_recorded_decoded_and_replays(kind: str, tmp_path: Path) -> None:
    body = selection_body()
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    wire = packer.compress(json.dumps(body).encode()) + packer.flush()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
            content=wire,
        )

    path = tmp_path / "gzip.json"
    transport = _recorder(kind, path, handler)
    live = _send(kind, _client(kind, transport), READ)
    _save(kind, transport)
    saved = json.loads(path.read_text(encoding="utf-8"))
    (recorded,) = saved["exchanges"]
    assert recorded["response"]["body"]["selection"]["selection"] == body["selection"]["selection"]
    assert "content-encoding" not in recorded["response"]["headers"]

    replaying = ReplayTransport(path) if kind == "sync" else AsyncReplayTransport(path)
    assert _send(kind, _client(kind, replaying), READ) == live


@KINDS
def test_recording_an_answer_nested_too_deeply_is_an_orderflow_error(
    kind: str, tmp_path: Path
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=deep)

    path = tmp_path / "deep.json"
    transport = _recorder(kind, path, handler)
    with pytest.raises(PayloadError, match="not JSON"):
        _send(kind, _client(kind, transport), READ)
    _save(kind, transport)  # kept as the text it was, so it replays the same
    replaying = ReplayTransport(path) if kind == "sync" else AsyncReplayTransport(path)
    with pytest.raises(PayloadError, match="not JSON"):
        _send(kind, _client(kind, replaying), READ)


# --- the CLI names the argument that is wrong -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["db", "init", "--dsn", "nonsense"], "--dsn"),
        (["db", "init", "--dsn", "host=db", "--schema", "no such"], "--schema"),
        (["checkouts", "list", "--dsn", "nonsense"], "--dsn"),
        (["checkouts", "list", "--dsn", "host=db", "--schema", "x;y"], "--schema"),
    ],
)
def test_a_bad_dsn_or_schema_is_a_usage_error_naming_it(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    assert cli.main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"orderflow: error: {named}: ")
    assert "Traceback" not in err


# --- webhooks: what a forged or broken request may carry ------------------------------------

SECRET = "whsec-review"


def _webhook(app: Any, body: bytes, signature: str) -> httpx.Response:
    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # an exception of the app is raised here
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.post(
                "/webhooks/centra",
                content=body,
                headers={
                    "X-Centra-Signature": signature.encode("latin-1"),  # type: ignore[dict-item]
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )

    return asyncio.run(post())


@pytest.fixture
def webhook_app(tmp_path: Path) -> Iterator[Any]:
    with SQLiteStore(tmp_path / "hooks.db") as store:
        service = CheckoutService(transport=FakeCentra.seeded(), store=store)
        yield asgi_app(WebhookReceiver(service, SECRET))


@pytest.mark.parametrize("v1", ["\xe9" * 64, "caf\xe9", "\xff"])
def test_a_signature_that_is_not_ascii_is_refused_as_not_matching(
    v1: str, webhook_app: Any
) -> None:
    body = b"payload=" + quote(json.dumps({"events": []})).encode()
    header = f"t={int(time.time())},v1={v1}"
    with pytest.raises(WebhookRejected, match="does not match"):
        verify_signature(body, header, SECRET)
    answer = _webhook(webhook_app, body, header)
    assert answer.status_code == 401
    assert answer.json() == {"error": "the signature does not match the body"}


@pytest.mark.parametrize(
    "event",
    [
        {"type": "order", "id": "\ud800"},
        {"type": "order", "id": ""},
        {"type": "order", "id": "x" * 100_000},
        {"type": "order", "id": "12\n34"},
        {"type": "order", "id": 10**200},
        {"type": "order", "id": 2735, "selection": {"id": "sel"}},
        {"type": "order", "id": 2735, "selection": "\udcff"},
        {"type": "selection", "id": ["sel"]},
    ],
    ids=[
        "surrogate",
        "empty",
        "100KB",
        "newline",
        "200-digits",
        "selection-object",
        "selection-surrogate",
        "selection-list",
    ],
)
def test_a_signed_webhook_with_an_id_no_store_can_hold_is_rejected_not_retried(
    event: dict[str, Any], webhook_app: Any
) -> None:
    payload = json.dumps({"events": [event]})  # ensure_ascii: a lone surrogate as \ud800
    body = b"payload=" + quote(payload).encode()
    signature = sign(body, SECRET, int(time.time()))
    with pytest.raises(WebhookRejected, match=r"an event's (id|selection) is not"):
        order_events(json.loads(payload))
    answer = _webhook(webhook_app, body, signature)
    assert answer.status_code == 401  # refused; a 503 would have Centra send it again
    assert "is not" in answer.json()["error"]


def test_a_webhook_with_a_plain_id_is_still_settled(webhook_app: Any) -> None:
    body = b"payload=" + quote(json.dumps({"events": [{"type": "order", "id": 2735}]})).encode()
    answer = _webhook(webhook_app, body, sign(body, SECRET, int(time.time())))
    assert answer.status_code == 200 and answer.json() == {"settled": []}  # another channel's


# --- cassettes edited by hand -------------------------------------------------------------

SEED_FLOW = Path(__file__).resolve().parents[1] / "cassettes" / "seed-flow.json"


def _edited(tmp_path: Path, edit: Any) -> Path:
    cassette = json.loads(SEED_FLOW.read_text(encoding="utf-8"))
    edit(cassette["exchanges"])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(cassette), encoding="ascii")  # a lone surrogate as \ud800
    return path


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda e: e[0]["request"].update(method="\ud800"), "request.method"),
        (lambda e: e[1]["request"].update(path="/api/shop/\udcff"), "request.path"),
        (lambda e: e[0]["request"]["headers"].update(accept="\ud800"), "request.headers"),
        (lambda e: e[0]["request"]["query"].update({"\ud800": "1"}), "request.query"),
    ],
    ids=["method", "path", "header", "query-key"],
)
def test_a_lone_surrogate_anywhere_in_a_cassette_is_a_format_error(
    edit: Any, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(CassetteFormatError, match=rf"{re.escape(where)}.*not valid Unicode"):
        load(path)
    for action in ("show", "redact"):
        assert cli.main(["cassette", action, str(path)]) == EXIT_FAILED
        err = capsys.readouterr().err
        assert err.startswith("orderflow: error: ") and "not valid Unicode" in err


@pytest.mark.parametrize("totals", [10**19, "3600 SEK", ["3600"], True])
def test_cassette_show_summarises_a_selection_whose_totals_are_not_an_object(
    totals: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(exchanges: list[Any]) -> None:
        exchanges[0]["response"]["body"]["selection"]["totals"] = totals

    path = _edited(tmp_path, edit)
    assert cli.main(["cassette", "show", str(path)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert "selection, 0 lines" in shown[2]  # the first exchange's row, after the header


@pytest.mark.parametrize(
    ("command", "age"),
    [
        ("list", "99999999999d"),  # past timedelta's C int
        ("expire", "99999999d"),  # a timedelta, but now minus it is before year 1
        ("list", "36501d"),
        ("expire", "9" * 5000 + "s"),  # past int()'s 4300 digits
    ],
    ids=["c-int", "before-year-1", "just-over", "5000-digits"],
)
def test_an_absurd_older_than_is_a_usage_error_not_a_traceback(
    command: str, age: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "jobs.db"
    with SQLiteStore(db):
        pass
    with pytest.raises(SystemExit) as exited:
        cli.main(["checkouts", command, "--sqlite", str(db), "--older-than", age])
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "argument --older-than: " in err and "longer than 36500d" in err
    assert "Traceback" not in err


def test_an_older_than_of_a_century_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "jobs.db"
    with SQLiteStore(db):
        pass
    assert cli.main(["checkouts", "expire", "--sqlite", str(db), "--older-than", "36500d"]) == 0
    assert cli.main(["checkouts", "list", "--sqlite", str(db), "--older-than", "36500d"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 checkouts"


def test_a_demo_store_path_that_is_a_folder_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert cli.main(["demo", "--db", str(folder)]) == EXIT_USAGE
    assert (
        capsys.readouterr().err == f"orderflow: error: --db {folder}: a folder, not a SQLite file\n"
    )
    assert list(folder.iterdir()) == []


# --- a session token no later request could carry --------------------------------------------

BAD_TOKENS = ["t\u00f6k\u00e9n", "a\r\nb", "a\x00b", "", "tab\there", 7, ["t"]]
BAD_TOKEN_IDS = ["latin-1", "crlf", "nul", "empty", "tab", "number", "list"]


def _centra(dialect: str, spoil: Callable[[int], Any]) -> tuple[Any, list[httpx.Request]]:
    """A session dialect's client on the fake, the token of its ``n``-th answer replaced by
    ``spoil(n)`` when that is not ``KEEP``; with the requests it sent."""
    fake = FakeCentra.seeded()
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if dialect == "checkout":
            path = request.url.path.removeprefix("/api/checkout")
            body = json.loads(request.content) if request.content else None
            status, data = fake.serve_checkout_api(
                request.method, path, body, dict(request.headers)
            )
            carrier = data
        else:
            answered = answer_graphql(fake, request.content, dict(request.headers))
            status, data = answered.status, answered.body
            carrier = data.get("extensions", {})
        bad = spoil(len(sent))
        if bad is not KEEP and isinstance(carrier, dict) and "token" in carrier:
            carrier["token"] = bad
        return httpx.Response(status, json=data)

    transport = httpx.MockTransport(handler)
    if dialect == "checkout":
        return CheckoutApiClient(
            "https://shop.test/api/checkout", "secret", transport=transport
        ), sent
    return StorefrontApiClient("https://shop.test/graphql", "shared", transport=transport), sent


KEEP = object()


def _token_sent(dialect: str, request: httpx.Request) -> str | None:
    if dialect == "checkout":
        return request.headers.get("api-token")
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


@pytest.mark.parametrize("dialect", ["checkout", "storefront"])
@pytest.mark.parametrize("bad", BAD_TOKENS, ids=BAD_TOKEN_IDS)
def test_a_new_session_whose_token_cannot_be_sent_back_is_an_error(dialect: str, bad: Any) -> None:
    client, _ = _centra(dialect, lambda n: bad)
    store = MemoryStore()
    service = CheckoutService(transport=client, store=store)
    with pytest.raises(OrderflowError) as raised:
        service.open()
    assert store.find(limit=10) == []  # nothing stored
    where = "$.token" if dialect == "checkout" else "$.extensions.token"
    assert isinstance(raised.value, PayloadError) and where in str(raised.value)


@pytest.mark.parametrize("dialect", ["checkout", "storefront"])
@pytest.mark.parametrize("bad", BAD_TOKENS, ids=BAD_TOKEN_IDS)
def test_a_later_token_that_cannot_be_sent_back_leaves_the_checkouts_token_as_it_was(
    dialect: str, bad: Any
) -> None:
    spoiled: set[int] = set()

    def spoil(n: int) -> Any:
        return bad if n in spoiled else KEEP

    client, sent = _centra(dialect, spoil)
    store = MemoryStore()
    service = CheckoutService(transport=client, store=store)
    checkout = service.open()
    first = checkout.token
    assert isinstance(first, str) and first
    spoiled.update(range(len(sent) + 1, len(sent) + 10))  # every answer of the next call
    checkout = service.add_item(checkout.id, SEED_ITEM, quantity=1)
    assert checkout.token == first and store.load(checkout.id).token == first
    spoiled.clear()
    before = len(sent)
    checkout = service.set_quantity(checkout.id, checkout.cart.selection.items[0].line, 2)
    assert _token_sent(dialect, sent[before]) == first
    assert checkout.cart.selection.items[0].quantity == 2


# --- a base URL every call's path cannot follow ---------------------------------------------

CLIENTS = [
    (ShopApiClient, "/api/shop"),
    (AsyncShopApiClient, "/api/shop"),
    (CheckoutApiClient, "/api/checkout"),
    (AsyncCheckoutApiClient, "/api/checkout"),
    (StorefrontApiClient, "/graphql"),
    (AsyncStorefrontApiClient, "/graphql"),
]


@pytest.mark.parametrize(("client", "path"), CLIENTS, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize(
    ("suffix", "problem"),
    [
        ("?key=1", "no query or fragment"),
        ("?", "no query or fragment"),
        ("#top", "no query or fragment"),
    ],
)
def test_a_base_url_with_a_query_or_fragment_is_refused(
    client: Any, path: str, suffix: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        client(f"https://shop.test{path}{suffix}", "key")


@pytest.mark.parametrize(("client", "path"), CLIENTS, ids=lambda c: getattr(c, "__name__", ""))
def test_a_base_url_whose_port_is_out_of_range_is_refused(client: Any, path: str) -> None:
    with pytest.raises(ValueError, match="port 99999 is not 1 to 65535"):
        client(f"https://shop.test:99999{path}", "key")


def test_refusing_a_base_url_shows_no_credential_in_it() -> None:
    with pytest.raises(ValueError, match="no query") as raised:
        ShopApiClient("https://ada:s3cret@shop.test/api/shop?x=1", "key")
    assert "s3cret" not in str(raised.value)


def test_the_cli_refuses_a_base_url_with_a_query(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9/api/shop?key=1"
    assert cli.main(["demo", "--transport", "http", "--base-url", url]) == EXIT_USAGE
    assert "no query or fragment" in capsys.readouterr().err


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -1.0, "300"], ids=str)
def test_a_tolerance_that_would_let_stale_signatures_through_is_refused(
    tolerance: Any, tmp_path: Path
) -> None:
    body = b"payload=" + quote(json.dumps({"events": []})).encode()
    a_year_ago = int(time.time()) - 365 * 86_400
    with pytest.raises(ValueError, match="tolerance"):
        verify_signature(body, sign(body, SECRET, a_year_ago), SECRET, tolerance=tolerance)
    with SQLiteStore(tmp_path / "t.db") as store:
        service = CheckoutService(transport=FakeCentra.seeded(), store=store)
        with pytest.raises(ValueError, match="tolerance"):
            WebhookReceiver(service, SECRET, tolerance=tolerance)


# --- the CLI's output cannot be written ------------------------------------------------------


class _Unwritable(io.StringIO):
    """An output that fails as a full disk (or a closed pipe) does, after ``room`` writes."""

    def __init__(self, error: OSError, room: int = 0):
        super().__init__()
        self.error = error
        self.room = room

    def write(self, text: str) -> int:
        if self.room <= 0:
            raise self.error
        self.room -= 1
        return super().write(text)


@pytest.mark.parametrize(
    ("argv", "room"),
    [
        (["demo"], 0),
        (["demo"], 3),  # fails midway through the transitions
        (["demo", "--json"], 0),
        (["diagram"], 0),
        (["cassette", "show", str(SEED_FLOW)], 0),
        (["cassette", "show", str(SEED_FLOW)], 2),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_output_that_cannot_be_written_is_a_one_line_error_not_a_traceback(
    argv: list[str], room: int, capsys: pytest.CaptureFixture[str]
) -> None:
    full = _Unwritable(OSError(errno.ENOSPC, "No space left on device"), room)
    assert cli.main(argv, out=full) == EXIT_FAILED
    assert capsys.readouterr().err == (
        "orderflow: error: cannot write the output (No space left on device)\n"
    )


def test_a_reader_gone_away_ends_the_command_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    gone = _Unwritable(BrokenPipeError(errno.EPIPE, "Broken pipe"), room=1)
    assert cli.main(["cassette", "show", str(SEED_FLOW)], out=gone) == EXIT_FAILED
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("dialect", ["checkout", "storefront"])
@pytest.mark.parametrize("bad", BAD_TOKENS[:3], ids=BAD_TOKEN_IDS[:3])
def test_a_refusal_carrying_a_token_that_cannot_be_sent_back_keeps_the_checkouts_token(
    dialect: str, bad: Any
) -> None:
    spoiled: set[int] = set()
    client, sent = _centra(dialect, lambda n: bad if n in spoiled else KEEP)
    store = MemoryStore()
    service = CheckoutService(transport=client, store=store)
    checkout = service.open()
    spoiled.update(range(len(sent) + 1, len(sent) + 10))
    with pytest.raises(OrderflowError) as raised:
        service.add_item(checkout.id, "no-such-item", quantity=1)
    assert getattr(raised.value, "token", None) != bad
    assert store.load(checkout.id).token == checkout.token
