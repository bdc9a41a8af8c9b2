"""Recorded replay at its edges: personal data and secrets in unusual places, hand-edited or
damaged cassettes, JSON values Python calls equal, and cassettes that cannot be written."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.adapters.replay.cassette import (
    CassetteError,
    CassetteFormatError,
    Exchange,
    load,
    parse,
    save,
)
from orderflow.adapters.replay.transport import CassetteMismatch, ReplayTransport

Handler = Callable[[httpx.Request], httpx.Response]


def answering(body: Any) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return handler


def record(path: Path, handler: Handler, *requests: tuple[str, str, Any]) -> bytes:
    transport = ReplayTransport(path, mode="all", inner=httpx.MockTransport(handler))
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        for method, url, body in requests:
            client.request(method, url, json=body)
    return path.read_bytes()


def cassette_of(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "exchanges": list(exchanges)}


def exchange(response: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"request": request or {"method": "GET", "path": "/x"}, "response": response}


# --- redaction ------------------------------------------------------------------------------


def test_address_fields_and_the_ip_address_are_redacted(tmp_path: Path) -> None:
    address = {
        "email": "jane@ex.com",
        "address1": "Main St 1",
        "address2": "Floor 3",
        "zipCode": "11122",
        "city": "Stockholm",
        "country": "SE",
    }
    raw = record(
        tmp_path / "c.json",
        answering({"ok": True}),
        ("POST", "/payment", {"address": address, "ipAddress": "203.0.113.7"}),
    )
    for secret in ("jane@ex.com", "Main St 1", "Floor 3", "11122", "Stockholm", "203.0.113.7"):
        assert secret.encode() not in raw, secret
    body = json.loads(raw)["exchanges"][0]["request"]["body"]
    assert body["address"]["zipCode"] == "<redacted:zipCode:1>"
    assert body["address"]["city"] == "<redacted:city:1>"
    assert body["ipAddress"] == "<redacted:ipAddress:1>"
    assert body["address"]["country"] == "SE"  # not personal on its own


def test_keys_naming_a_token_or_a_secret_are_redacted_at_any_depth(tmp_path: Path) -> None:
    fields = {
        "authorization_token": "KLARNA-AUTH-SECRET",
        "Client_Secret": "pi_secret_42",
        "deviceTokens": ["dev-token-1"],
        "klarna_order": "KO-1",
    }
    raw = record(
        tmp_path / "c.json",
        answering({"ok": True}),
        ("POST", "/payment-result", {"paymentMethodFields": fields}),
    )
    for secret in ("KLARNA-AUTH-SECRET", "pi_secret_42", "dev-token-1"):
        assert secret.encode() not in raw, secret
    body = json.loads(raw)["exchanges"][0]["request"]["body"]["paymentMethodFields"]
    assert body["authorization_token"] == "<redacted:authorization_token:1>"
    assert body["klarna_order"] == "KO-1"


def test_secrets_inside_other_strings_are_replaced_by_their_placeholders(tmp_path: Path) -> None:
    url = "https://psp.example/pay?session=PSPSECRET123&email=jane%40ex.com&lang=sv"
    answer = {"action": {"url": url, "note": "Receipt sent to jane@ex.com."}}
    raw = record(
        tmp_path / "c.json",
        answering(answer),
        ("POST", "/payment", {"address": {"email": "jane@ex.com"}}),
    )
    for secret in ("PSPSECRET123", "jane%40ex.com", "jane@ex.com"):
        assert secret.encode() not in raw, secret
    action = json.loads(raw)["exchanges"][0]["response"]["body"]["action"]
    assert action["url"] == (
        "https://psp.example/pay?session=<redacted:session:1>&email=<redacted:email:1>&lang=sv"
    )
    assert action["note"] == "Receipt sent to <redacted:email:1>."


def test_a_value_redacted_later_is_replaced_in_earlier_exchanges_too(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/start":
            return httpx.Response(200, json={"next": "https://shop.test/resume/tok-4f1a9c"})
        return httpx.Response(200, json={"ok": True})

    raw = record(
        tmp_path / "c.json",
        handler,
        ("POST", "/start", {}),
        ("POST", "/resume", {"token": "tok-4f1a9c"}),
    )
    assert b"tok-4f1a9c" not in raw
    first = json.loads(raw)["exchanges"][0]["response"]["body"]
    assert first == {"next": "https://shop.test/resume/<redacted:token:1>"}


def test_a_string_holding_a_placeholder_matches_the_value_it_stood_for(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    body = {"returnUrl": "https://s.test/ok?to=jane%40ex.com", "address": {"email": "jane@ex.com"}}
    record(path, answering({"ok": True}), ("POST", "/p", body), ("POST", "/p", body))
    assert b"jane" not in path.read_bytes()

    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        assert client.post("/p", json=body).json() == {"ok": True}
        other = {**body, "returnUrl": "https://s.test/ok?to=joe%40ex.com"}
        with pytest.raises(CassetteMismatch) as raised:
            client.post("/p", json=other)
    assert raised.value.differences[-1][0] == "body $.returnUrl"


def test_a_path_holding_a_placeholder_replays(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"token": "sel-9b2e77d0"})

    path = tmp_path / "c.json"
    record(path, handler, ("POST", "/selections", {}), ("GET", "/selections/sel-9b2e77d0", None))
    recorded = json.loads(path.read_bytes())["exchanges"]
    assert recorded[1]["request"]["path"] == "/selections/<redacted:token:1>"

    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        token = client.post("/selections", json={}).json()["token"]
        assert token == "<redacted:token:1>"
        assert client.get("/selections/sel-9b2e77d0").status_code == 200


# --- damaged cassettes ----------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@pytest.mark.parametrize(
    ("response", "where"),
    [
        ('{"status": 200, "body": {"x": "\\ud800"}}', "response.body"),
        ('{"status": 200, "bodyText": "a\\udfff"}', "response.bodyText"),
    ],
)
def test_a_lone_surrogate_in_a_body_is_a_format_error(
    tmp_path: Path, response: str, where: str
) -> None:
    ok = json.dumps(exchange({"status": 200, "body": {}}))
    damaged = f'{{"request": {{"method": "GET", "path": "/"}}, "response": {response}}}'
    text = f'{{"version": 1, "exchanges": [{ok}, {damaged}]}}'
    path = _write(tmp_path / "c.json", text)
    with pytest.raises(CassetteFormatError) as raised:
        load(path)
    assert raised.value.index == 1
    assert str(path) in str(raised.value) and "exchange 1" in str(raised.value)
    assert where in str(raised.value)


def test_a_response_header_that_is_not_latin_1_is_a_format_error(tmp_path: Path) -> None:
    headers = {"x-note": "caf\u00e9\u2603"}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cassette_of(exchange({"status": 200, "headers": headers}))))
    with pytest.raises(CassetteFormatError) as raised:
        ReplayTransport(path)
    assert raised.value.index == 0 and str(path) in str(raised.value)
    assert "response.headers.x-note" in str(raised.value)


def test_a_latin_1_response_header_replays_as_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    response = {"status": 200, "headers": {"x-note": "caf\u00e9"}, "body": {}}
    path.write_text(json.dumps(cassette_of(exchange(response))))
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        answer = client.get("/x")
    assert answer.headers.raw[0] == (b"x-note", "caf\u00e9".encode("latin-1"))


@pytest.mark.parametrize("depth", [300, 100_000])
def test_a_body_nested_too_deeply_is_a_format_error(tmp_path: Path, depth: int) -> None:
    ok = json.dumps(exchange({"status": 200, "body": {"a": [1]}}))
    deep = "[" * depth + "]" * depth
    text = (
        f'{{"version": 1, "exchanges": [{ok}, {{"request": {{"method": "GET", "path": "/"}}, '
        f'"response": {{"status": 200, "body": {deep}}}}}]}}'
    )
    path = _write(tmp_path / "c.json", text)
    with pytest.raises(CassetteFormatError) as raised:
        load(path)
    assert raised.value.index == 1
    assert str(path) in str(raised.value) and "nested more than" in str(raised.value)


# --- matching -------------------------------------------------------------------------------


def _recorded(path: Path, body: Any) -> Path:
    request = {"method": "POST", "path": "/items", "body": body}
    path.write_text(json.dumps(cassette_of(exchange({"status": 200, "body": {}}, request))))
    return path


@pytest.mark.parametrize(
    ("recorded", "sent"),
    [
        ({"quantity": 1}, {"quantity": True}),
        ({"quantity": True}, {"quantity": 1}),
        ({"lines": [{"n": 0}], "x": 1}, {"x": 1, "lines": [{"n": False}]}),
    ],
)
def test_true_and_1_do_not_match(tmp_path: Path, recorded: Any, sent: Any) -> None:
    path = _recorded(tmp_path / "c.json", recorded)
    client = httpx.Client(transport=ReplayTransport(path), base_url="https://api.test")
    with client, pytest.raises(CassetteMismatch):
        client.post("/items", json=sent)


def test_1_and_1_point_0_still_match_in_any_key_order(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "c.json", {"a": 1, "b": [1.0, {"c": True}]})
    with httpx.Client(transport=ReplayTransport(path), base_url="https://api.test") as client:
        assert client.post("/items", json={"b": [1, {"c": True}], "a": 1.0}).status_code == 200


# --- saving ---------------------------------------------------------------------------------


def _exchanges(tmp_path: Path) -> list[Exchange]:
    raw = json.dumps(cassette_of(exchange({"status": 200, "body": {"ok": 1}}))).encode()
    return list(parse(raw, tmp_path / "source.json").exchanges)


def test_saving_onto_a_folder_is_a_cassette_error_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "adir"
    target.mkdir()
    with pytest.raises(CassetteError) as raised:
        save(target, _exchanges(tmp_path))
    assert str(target) in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]  # no temporary file left


def test_a_full_disk_is_a_cassette_error_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # the data must reach the disk before the rename
    target = tmp_path / "c.json"
    with pytest.raises(CassetteError) as raised:
        save(target, _exchanges(tmp_path))
    assert str(target) in str(raised.value) and os.strerror(errno.ENOSPC) in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_card_data_and_the_card_holder_from_a_drop_in_are_redacted(tmp_path: Path) -> None:
    # Adyen's Drop-in posts its state data as paymentMethodSpecificFields: encrypted card
    # fields and the holder's name, which must never reach a committed cassette.
    card = {
        "type": "scheme",
        "encryptedCardNumber": "adyenjs_0_1_25$CARDNUMBER",
        "encryptedExpiryMonth": "adyenjs_0_1_25$EXPIRYMONTH",
        "encryptedExpiryYear": "adyenjs_0_1_25$EXPIRYYEAR",
        "encryptedSecurityCode": "adyenjs_0_1_25$SECURITYCODE",
        "holderName": "Jane Holder",
        "cardNumber": "4111111111111111",
        "cvc": "737",
    }
    raw = record(
        tmp_path / "c.json",
        answering({"ok": True}),
        ("POST", "/payment", {"paymentMethodSpecificFields": {"paymentMethod": card}}),
    )
    for secret in (
        "CARDNUMBER",
        "EXPIRYMONTH",
        "EXPIRYYEAR",
        "SECURITYCODE",
        "Jane Holder",
        "4111111111111111",
        "737",
    ):
        assert secret.encode() not in raw, secret
    body = json.loads(raw)["exchanges"][0]["request"]["body"]
    assert body["paymentMethodSpecificFields"]["paymentMethod"]["type"] == "scheme"


def test_secrets_in_a_payment_forms_html_and_script_are_redacted(tmp_path: Path) -> None:
    # A form action's HTML posts hidden inputs to the provider, and a javascript action
    # configures the provider's widget in a script: neither is a URL's query string.
    form = (
        '<form action="https://psp.example/pay" method="post">'
        '<input type="hidden" name="session_token" value="HIDDENSECRET99">'
        "<input type='hidden' name='email' value='jane@ex.com'>"
        '<input type="hidden" name="lang" value="sv"></form>'
    )
    script = (
        '<script>new Klarna({"client_token": "KLARNACLIENT77", lang: "sv", '
        "sessionSecret: 'STRIPESECRET55'})</script>"
    )
    raw = record(
        tmp_path / "c.json",
        answering({"action": "form", "formHtml": form + script}),
        ("POST", "/payment", {}),
    )
    for secret in ("HIDDENSECRET99", "jane@ex.com", "KLARNACLIENT77", "STRIPESECRET55"):
        assert secret.encode() not in raw, secret
    html = json.loads(raw)["exchanges"][0]["response"]["body"]["formHtml"]
    assert 'name="session_token" value="<redacted:session_token:1>"' in html
    assert "name='email' value='<redacted:email:1>'" in html
    assert 'name="lang" value="sv"' in html and 'lang: "sv"' in html
    assert '"client_token": "<redacted:client_token:1>"' in html


def test_a_bearer_tokens_credential_is_redacted_wherever_else_it_shows(tmp_path: Path) -> None:
    # The header is redacted whole ("Bearer ..."); the token alone may come back in a body.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "session sess-9f8e7d6c5b has expired"})

    transport = ReplayTransport(tmp_path / "c.json", mode="all", inner=httpx.MockTransport(handler))
    with httpx.Client(transport=transport, base_url="https://api.test") as client:
        client.post("/graphql", json={}, headers={"Authorization": "Bearer sess-9f8e7d6c5b"})
    raw = (tmp_path / "c.json").read_bytes()
    assert b"sess-9f8e7d6c5b" not in raw
    headers = json.loads(raw)["exchanges"][0]["request"]["headers"]
    assert headers["authorization"] == "<redacted:authorization:1>"
