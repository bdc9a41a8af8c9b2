"""Recorded replay: record modes, matching, redaction, cassette errors, the async twin, and the
shipped cassettes replayed through ``ShopApiClient`` with no network."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.adapters.cli.cassette import cassette_redact, cassette_show
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import (
    SEED_ITEM,
    SEED_PAYMENT_FIELDS,
    SEED_PAYMENT_REQUEST,
    run_seed_flow,
)
from orderflow.adapters.replay.cassette import CassetteError, CassetteFormatError, load
from orderflow.adapters.replay.redaction import DEFAULT_FIELDS, Redaction, Redactor
from orderflow.adapters.replay.transport import (
    REPLAY_BASE_URL,
    AsyncReplayTransport,
    CassetteMismatch,
    ReplayTransport,
    UnexpectedRequest,
    replay_client,
)
from orderflow.adapters.shop_api import dialect
from orderflow.adapters.shop_api.client import AsyncShopApiClient, ShopApiClient
from orderflow.adapters.stores.memory import AsyncMemoryStore, MemoryStore
from orderflow.calls import CreateSelection
from orderflow.flow import State
from orderflow.service import AsyncCheckoutService, CheckoutService
from tests import cassettes
from tests.contract.transports import API_KEY as CONTRACT_API_KEY

BASE = "https://shop.example.test" + dialect.BASE_PATH
KEY = "sk-live-5e0f2b7d9c"
Handler = Callable[[httpx.Request], httpx.Response]


def serving(fake: FakeCentra, seen: list[str] | None = None) -> Handler:
    """An httpx ``MockTransport`` handler answering with ``fake.handle``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(f"{request.method} {request.url.path}")
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix(dialect.BASE_PATH)
        status, answer = fake.serve_shop_api(request.method, path, body, request.headers)
        return httpx.Response(status, json=answer)

    return handler


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the network was used: {request.method} {request.url}")


NO_NETWORK = httpx.MockTransport(refuse)


def echo(request: httpx.Request) -> httpx.Response:
    """Answers each request with its own method, path and body."""
    try:
        body = json.loads(request.content) if request.content else None
    except ValueError:
        body = request.content.decode()
    return httpx.Response(200, json={"path": request.url.path, "got": body})


def send(transport: httpx.BaseTransport, method: str, path: str, body: Any = None) -> Any:
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        response = client.request(method, path, json=body)
        return response.json()


def seed_service(transport: httpx.BaseTransport) -> CheckoutService:
    client = ShopApiClient(BASE, KEY, transport=transport)
    return CheckoutService(transport=client, store=MemoryStore())


# --- record modes ---------------------------------------------------------------------------


def test_mode_none_replays_without_calling_the_inner_transport(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)) as recording:
        assert send(recording, "POST", "/a", {"n": 1}) == {"path": "/a", "got": {"n": 1}}

    replaying = ReplayTransport.from_cassette(path, inner=NO_NETWORK)
    assert replaying.mode == "none"
    assert send(replaying, "POST", "/a", {"n": 1}) == {"path": "/a", "got": {"n": 1}}
    assert replaying.unplayed == []


def test_mode_none_without_a_cassette_says_to_record_it(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"no cassette at .*missing\.json: record it first"):
        ReplayTransport(tmp_path / "missing.json")


def test_mode_once_records_when_absent_then_only_replays(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    seen: list[str] = []

    def counting(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return echo(request)

    first = ReplayTransport(path, mode="once", inner=httpx.MockTransport(counting))
    assert first.mode == "all"
    send(first, "GET", "/x")
    assert path.exists()  # the client's close() closed the transport, which saved

    second = ReplayTransport(path, mode="once", inner=httpx.MockTransport(counting))
    assert second.mode == "none"
    assert send(second, "GET", "/x") == {"path": "/x", "got": None}
    assert seen == ["/x"]
    with pytest.raises(CassetteMismatch):
        send(ReplayTransport(path, mode="once"), "GET", "/y")


def test_mode_new_episodes_replays_matches_and_appends_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "GET", "/one")
    seen: list[str] = []

    def counting(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return echo(request)

    transport = ReplayTransport(path, mode="new_episodes", inner=httpx.MockTransport(counting))
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        client.get("/one")
        client.get("/two")
    assert seen == ["/two"]
    assert [e.request.path for e in load(path).exchanges] == ["/one", "/two"]


def test_mode_all_always_records_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "GET", "/old")
    seen: list[str] = []

    def counting(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return echo(request)

    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(counting)), "GET", "/new")
    assert seen == ["/new"]
    assert [e.request.path for e in load(path).exchanges] == ["/new"]


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode 'sometimes' is not one of none, once"):
        ReplayTransport(tmp_path / "c.json", mode="sometimes")  # type: ignore[arg-type]


def test_saving_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "GET", "/x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert json.loads(path.read_bytes())["version"] == 1


# --- matching -------------------------------------------------------------------------------


def _two_exchanges(path: Path) -> None:
    with httpx.Client(
        transport=ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        base_url="https://api.test",
    ) as client:
        client.post("/a", json={"n": 1})
        client.post("/b", json={"n": 2})


def test_ordered_replay_refuses_a_request_out_of_order(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    _two_exchanges(path)
    with pytest.raises(CassetteMismatch) as raised:
        send(ReplayTransport(path), "POST", "/b", {"n": 2})
    message = str(raised.value)
    assert "exchange 0" in message and "the next in recorded order" in message
    assert str(path) in message
    assert raised.value.differences[1] == ("path", "/a", "/b")
    assert ("body $.n", "1", "2") in raised.value.differences


def test_unordered_replay_takes_any_unused_match(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    _two_exchanges(path)
    transport = ReplayTransport(path, ordered=False)
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        assert client.post("/b", json={"n": 2}).json()["path"] == "/b"
        assert client.post("/a", json={"n": 1}).json()["path"] == "/a"
        with pytest.raises(UnexpectedRequest, match="all 2 recorded exchanges were played"):
            client.post("/a", json={"n": 1})


def test_unordered_mismatch_shows_the_closest_unused_exchange(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    _two_exchanges(path)
    with pytest.raises(CassetteMismatch) as raised:
        send(ReplayTransport(path, ordered=False), "POST", "/b", {"n": 3})
    assert raised.value.index == 1
    assert "the closest unused exchange" in str(raised.value)
    assert ("body $.n", "2", "3") in raised.value.differences


def test_an_exchange_replays_once_unless_repeats_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "GET", "/r")
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        client.get("/r")
        with pytest.raises(UnexpectedRequest):
            client.get("/r")
    repeating = ReplayTransport(path, allow_playback_repeats=True)
    with httpx.Client(transport=repeating, base_url="https://api.test") as client:
        assert [client.get("/r").status_code for _ in range(3)] == [200, 200, 200]


def test_json_bodies_match_whatever_their_key_order(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(
        ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        "POST",
        "/k",
        {"a": 1, "b": {"x": [1, 2], "y": None}},
    )
    transport = ReplayTransport(path)
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        content = b'{"b": {"y": null, "x": [1, 2]}, "a": 1}'
        response = client.post("/k", content=content, headers={"content-type": "application/json"})
    assert response.json()["got"] == {"a": 1, "b": {"x": [1, 2], "y": None}}


def test_a_graphql_request_matches_on_its_operation_name_and_variables(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    recorded = {
        "query": "mutation addItem($item: String!) { addItem(item: $item) { cart { total } } }",
        "variables": {"item": "1-1"},
        "operationName": "addItem",
    }
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "POST", "/g", recorded)
    reformatted = {
        **recorded,
        "query": "mutation addItem($item: String!) {\n  addItem(item: $item) {\n"
        "    cart { total }\n  }\n}",
    }
    answer = send(ReplayTransport(path), "POST", "/g", reformatted)
    assert answer["got"] == recorded  # the recorded answer, to a document written differently
    other_item = {**reformatted, "variables": {"item": "2-1"}}
    with pytest.raises(CassetteMismatch, match=r"body \$\.variables\.item\s+\"1-1\"\s+\"2-1\""):
        send(ReplayTransport(path), "POST", "/g", other_item)
    other_operation = {**recorded, "operationName": "updateLine"}
    with pytest.raises(CassetteMismatch, match=r"body \$\.operationName"):
        send(ReplayTransport(path), "POST", "/g", other_operation)
    not_graphql = {"query": "a search", "page": 1}  # no operationName: the whole body matches
    send(
        ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        "POST",
        "/s",
        not_graphql,
    )
    with pytest.raises(CassetteMismatch, match=r"body \$\.query"):
        send(ReplayTransport(path), "POST", "/s", {**not_graphql, "query": "another"})


def test_query_and_non_json_bodies_take_part_in_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with httpx.Client(
        transport=ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        base_url="https://api.test",
    ) as client:
        client.post("/q?page=2&tag=a&tag=b", content=b"plain text")
    stored = json.loads(path.read_bytes())["exchanges"][0]["request"]
    assert stored["query"] == {"page": "2", "tag": ["a", "b"]}
    assert stored["bodyText"] == "plain text"
    mismatch = pytest.raises(CassetteMismatch, match=r"query page\s+\"2\"\s+\"3\"")
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as c, mismatch:
        c.post("/q?page=3&tag=a&tag=b", content=b"plain text")
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        assert client.post("/q?tag=a&tag=b&page=2", content=b"plain text").status_code == 200


def test_an_unexpected_request_says_so_and_lists_what_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    _two_exchanges(path)
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        client.post("/a", json={"n": 1})
        client.post("/b", json={"n": 2})
        with pytest.raises(UnexpectedRequest) as raised:
            client.delete("/c")
    message = str(raised.value)
    assert message.startswith("unexpected request DELETE /c: all 2 recorded exchanges were played")
    assert str(path) in message
    assert "0  POST /a  -> 200" in message and "1  POST /b  -> 200" in message


# --- redaction ------------------------------------------------------------------------------

SECRETS = [
    KEY,
    SEED_PAYMENT_REQUEST["address"]["email"],
    SEED_PAYMENT_REQUEST["address"]["phoneNumber"],
    SEED_PAYMENT_REQUEST["address"]["firstName"],
    SEED_PAYMENT_REQUEST["address"]["lastName"],
    SEED_PAYMENT_REQUEST["address"]["address1"],
    SEED_PAYMENT_REQUEST["address"]["zipCode"],
    SEED_PAYMENT_REQUEST["address"]["city"],
    "Dybecksv",  # the street without its non-ASCII letter, in case it was escaped
]


def test_a_recorded_cassette_holds_none_of_the_secrets(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    fake = FakeCentra.seeded(api_key=KEY)
    recording = ReplayTransport(path, mode="all", inner=httpx.MockTransport(serving(fake)))
    checkout = run_seed_flow(seed_service(recording))
    recording.close()
    assert checkout.state is State.PAID

    raw = path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
        assert secret.encode("unicode_escape") not in raw, secret
    assert b"<redacted:email:1>" in raw and b"<redacted:api-authorization:1>" in raw


def test_the_same_value_gets_the_same_placeholder_and_others_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with httpx.Client(
        transport=ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        base_url="https://api.test",
        headers={"Authorization": "Bearer abc", "X-Session-Token": "t0k"},
    ) as client:
        client.post("/p", json={"email": "a@example.com", "nested": [{"email": "b@example.com"}]})
        client.post("/p", json={"contact": {"Email": "a@example.com"}, "token": "t0k"})
    exchanges = json.loads(path.read_bytes())["exchanges"]
    first, second = (e["request"] for e in exchanges)
    assert first["body"] == {
        "email": "<redacted:email:1>",
        "nested": [{"email": "<redacted:email:2>"}],
    }
    assert second["body"] == {
        "contact": {"Email": "<redacted:email:1>"},
        "token": "<redacted:x-session-token:1>",
    }
    assert first["headers"]["authorization"] == "<redacted:authorization:1>"
    assert first["headers"]["x-session-token"] == "<redacted:x-session-token:1>"
    # the echoed responses are redacted with the same placeholders
    assert exchanges[0]["response"]["body"]["got"]["email"] == "<redacted:email:1>"


def test_replay_matches_a_secret_by_the_placeholder_it_first_stood_for(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with httpx.Client(
        transport=ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)),
        base_url="https://api.test",
    ) as client:
        client.post("/p", json={"email": "a@example.com"})
        client.post("/p", json={"email": "a@example.com"})
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        client.post("/p", json={"email": "other@example.com"})  # any value the first time
        with pytest.raises(CassetteMismatch) as raised:
            client.post("/p", json={"email": "third@example.com"})
    assert raised.value.differences[-1][0] == "body $.email"
    assert "third@example.com" not in str(raised.value)  # a secret never shows in an error


def test_redaction_is_extendable(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    redaction = Redaction(fields=DEFAULT_FIELDS | {"ssn"}, headers={"x-shop-secret"})
    transport = ReplayTransport(
        path, mode="all", inner=httpx.MockTransport(echo), redaction=redaction
    )
    with httpx.Client(
        transport=transport, base_url="https://api.test", headers={"X-Shop-Secret": "s3"}
    ) as client:
        client.post("/p", json={"ssn": "19800101-1234", "email": "a@b.se"})
    raw = path.read_bytes()
    assert b"19800101-1234" not in raw and b"a@b.se" not in raw and b'"s3"' not in raw
    assert b"<redacted:ssn:1>" in raw


def test_cassette_redact_rewrites_an_unredacted_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "exchanges": [
                    {
                        "request": {
                            "method": "PUT",
                            "path": "/p",
                            "headers": {"api-authorization": KEY},
                            "body": {"address": {"email": "a@b.se", "country": "SE"}},
                        },
                        "response": {"status": 200, "body": {"email": "a@b.se"}},
                    }
                ],
            }
        )
    )
    out = io.StringIO()
    assert cassette_redact(path, out) == 0
    raw = path.read_bytes()
    assert KEY.encode() not in raw and b"a@b.se" not in raw and b'"SE"' in raw
    assert raw.count(b"<redacted:email:1>") == 2
    assert "1 exchanges, 2 distinct values redacted" in out.getvalue()


def test_cassette_redact_replaces_a_value_in_exchanges_before_the_one_that_redacts_it(
    tmp_path: Path,
) -> None:
    # The email shows first inside a redirect URL (no secret name there), and is only known
    # to be personal from the payment request that follows.
    path = tmp_path / "c.json"
    url = "https://psp.example/pay?m=jane.doe%40example.com&n=jane.doe@example.com"
    first = {"request": {"method": "GET", "path": "/a"}, "response": {"status": 200}}
    first["response"]["body"] = {"url": url}
    then = {"method": "POST", "path": "/b", "body": {"email": "jane.doe@example.com"}}
    path.write_text(
        json.dumps(
            {"version": 1, "exchanges": [first, {"request": then, "response": {"status": 200}}]}
        )
    )
    assert cassette_redact(path, io.StringIO()) == 0
    raw = path.read_text()
    assert "jane.doe" not in raw
    assert load(path).exchanges[0].response.body.value["url"] == (
        "https://psp.example/pay?m=<redacted:email:1>&n=<redacted:email:1>"
    )


# --- damaged cassettes ----------------------------------------------------------------------


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_an_unknown_version_names_the_file_and_the_version(tmp_path: Path) -> None:
    path = _write(tmp_path / "v2.json", {"version": 2, "exchanges": []})
    with pytest.raises(CassetteFormatError) as raised:
        ReplayTransport(path)
    assert str(raised.value) == (
        f"cassette {path}: format version 2 is not supported (this orderflow reads version 1); "
        "re-record the cassette or upgrade centra-orderflow"
    )


def test_invalid_json_names_the_file_and_the_place(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.json", '{"version": 1, "exchanges": [}')
    with pytest.raises(CassetteFormatError, match=r"broken\.json: not valid JSON: .* line 1"):
        ReplayTransport(path)


def test_a_missing_key_names_the_file_the_exchange_and_the_key(tmp_path: Path) -> None:
    ok = {"request": {"method": "GET", "path": "/a"}, "response": {"status": 200}}
    bad = {"request": {"method": "GET"}, "response": {"status": 200}}
    path = _write(tmp_path / "c.json", {"version": 1, "exchanges": [ok, bad]})
    with pytest.raises(CassetteFormatError) as raised:
        ReplayTransport(path)
    assert str(raised.value) == f'cassette {path}, exchange 1: request: missing key "path"'
    assert raised.value.index == 1


def test_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    bad = {"request": {"method": "GET", "path": "/a"}, "response": {"status": "200"}}
    path = _write(tmp_path / "c.json", {"version": 1, "exchanges": [bad]})
    with pytest.raises(
        CassetteFormatError, match=r"exchange 0: response\.status: expected an integer"
    ):
        ReplayTransport(path)


def test_a_cassette_edited_on_disk_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    send(ReplayTransport(path, mode="all", inner=httpx.MockTransport(echo)), "GET", "/x")
    ReplayTransport(path)
    _write(path, '{"version": 1, "exchanges": [], "note": "edited, and longer than before"}')
    assert ReplayTransport(path).recorded == ()


# --- the async twin -------------------------------------------------------------------------


async def test_the_async_transport_records_and_replays_the_seed_flow(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    fake = FakeCentra.seeded(api_key=KEY)
    handler = serving(fake)

    async def async_handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return handler(request)

    recording = AsyncReplayTransport(path, mode="all", inner=httpx.MockTransport(async_handler))
    async with AsyncShopApiClient(BASE, KEY, transport=recording) as client:
        service = AsyncCheckoutService(transport=client, store=AsyncMemoryStore())
        assert (await _async_seed_flow(service)).state is State.PAID
    assert KEY.encode() not in path.read_bytes()

    async def refuse_async(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the network was used")

    replaying = AsyncReplayTransport.from_cassette(path, inner=httpx.MockTransport(refuse_async))
    async with AsyncShopApiClient(BASE, KEY, transport=replaying) as client:
        service = AsyncCheckoutService(transport=client, store=AsyncMemoryStore())
        checkout = await _async_seed_flow(service)
    assert checkout.state is State.PAID and checkout.order == "588"
    assert replaying.unplayed == []


async def _async_seed_flow(service: AsyncCheckoutService) -> Any:
    from orderflow.adapters.fake.seed import seed_details

    checkout = await service.open()
    await service.add_item(checkout.id, SEED_ITEM, 1)
    await service.confirm(checkout.id, seed_details())
    await service.start_payment(checkout.id)
    return await service.complete_payment(checkout.id, SEED_PAYMENT_FIELDS)


# --- the shipped cassettes ------------------------------------------------------------------


def test_the_seed_flow_replays_through_the_service_to_paid_with_no_network() -> None:
    transport = ReplayTransport.from_cassette(
        cassettes.SCENARIOS["seed-flow"].path, inner=NO_NETWORK
    )
    checkout = run_seed_flow(seed_service(transport))
    assert checkout.state is State.PAID
    assert checkout.receipt is not None and checkout.receipt.order == "588"
    assert checkout.receipt.totals.grand_total_price.amount == 3600
    assert transport.unplayed == []


@pytest.mark.parametrize("name", list(cassettes.SCENARIOS))
def test_each_shipped_cassette_replays_what_the_fake_answers(name: str) -> None:
    scenario = cassettes.SCENARIOS[name]
    expected = scenario.run(scenario.fake())
    transport = cassettes.replay_transport(name, inner=NO_NETWORK)
    with ShopApiClient(BASE, KEY, transport=transport) as client:
        assert scenario.run(client) == expected
    assert transport.unplayed == []


def test_shipped_cassettes_hold_no_secrets() -> None:
    shipped = [scenario.path for scenario in cassettes.SCENARIOS.values()]
    contract = sorted(cassettes.CONTRACT_CASSETTES.rglob("*.json"))  # each dialect's folder too
    assert contract, "the contract suite's cassettes are missing"
    for path in {*shipped, *contract}:
        raw = path.read_bytes()
        for secret in [*SECRETS, cassettes.API_KEY, CONTRACT_API_KEY]:
            assert secret.encode() not in raw, (path.name, secret)


def test_shipped_cassettes_are_redacted_under_todays_rules() -> None:
    # Redacting again changes nothing: no cassette predates a rule (card data, form HTML).
    shipped = [scenario.path for scenario in cassettes.SCENARIOS.values()]
    for path in {*shipped, *cassettes.CONTRACT_CASSETTES.rglob("*.json")}:
        cassette = load(path)
        redactor = Redactor()
        redactor.notice(cassette)
        redacted = [redactor.exchange(e) for e in cassette.exchanges]
        assert [redactor.inside(e) for e in redacted] == list(cassette.exchanges), path.name


def test_cassette_show_prints_a_table_of_the_exchanges() -> None:
    out = io.StringIO()
    assert cassette_show(cassettes.SCENARIOS["seed-flow"].path, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("seed-flow.json: format version 1, 5 exchanges")
    assert lines[1].split() == ["#", "method", "path", "status", "request", "response"]
    assert lines[2].split()[:4] == ["0", "POST", "/api/shop/selections", "201"]
    number, method, path, status = lines[-1].split()[:4]
    assert (number, method, status) == ("4", "POST", "200")
    assert path.startswith("/api/shop/selections/") and path.endswith("/payment-result")
    assert lines[-1].endswith("order 588 (untouched)")


def test_replay_client_needs_a_base_url_only_to_record(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the server's base_url"):
        replay_client(tmp_path / "new.json", mode="all")
    client = replay_client(cassettes.SCENARIOS["unknown-item"].path)
    assert client.send(CreateSelection()).selection_id


def test_the_pytest_fixture_gives_a_client_in_one_line(tmp_path: Path) -> None:
    test_file = tmp_path / "test_uses_cassette.py"
    cassette = cassettes.SCENARIOS["seed-flow"].path
    test_file.write_text(
        textwrap.dedent(
            f"""
            from orderflow.adapters.stores.memory import MemoryStore
            from orderflow.adapters.fake.seed import run_seed_flow
            from orderflow.service import CheckoutService

            def test_paid(centra_cassette):
                client = centra_cassette({str(cassette)!r})
                service = CheckoutService(transport=client, store=MemoryStore())
                assert run_seed_flow(service).state.value == "paid"
            """
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "orderflow.adapters.pytest_plugin",
            str(test_file),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_request_with_a_field_the_cassette_lacks_is_a_mismatch_naming_it() -> None:
    path = cassettes.SCENARIOS["unknown-item"].path
    recorded = json.loads(path.read_text())["exchanges"]
    adding = next(e["request"] for e in recorded if "/items/" in e["request"]["path"])
    with ReplayTransport(path, ordered=False) as transport:
        request = httpx.Request(
            "POST",
            REPLAY_BASE_URL.removesuffix("/api/shop") + adding["path"],
            json={**adding["body"], "unexpected": 1},
        )
        with pytest.raises(CassetteMismatch, match="absent"):
            transport.handle_request(request)


@pytest.mark.parametrize(
    ("dialect", "client"),
    [
        ("shop", "ShopApiClient"),
        ("checkout", "CheckoutApiClient"),
        ("storefront", "StorefrontApiClient"),
    ],
)
def test_replay_client_builds_each_dialects_client(
    tmp_path: Path, dialect: str, client: str
) -> None:
    path = cassettes.SCENARIOS["seed-flow"].path
    with replay_client(path, dialect=dialect) as built:  # type: ignore[arg-type]
        assert type(built).__name__ == client
    with pytest.raises(ValueError, match="dialect"):
        replay_client(path, dialect="soap")  # type: ignore[arg-type]
