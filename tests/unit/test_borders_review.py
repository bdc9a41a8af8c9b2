"""An adversarial review of the adapters' borders: odd answers, replay recording within the
live client's bounds, damaged input of every kind. Each test failed before its fix."""

from __future__ import annotations

import json

import httpx
import pytest

from orderflow.errors import OutcomeUnknown, PayloadError
from tests.unit.test_http_support import KINDS, MONEY, READ, Api, selection_body

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
