"""The clients' borders, sync and async: gzip answers of several members, or with bytes after
their end, are read as the whole body, or refused."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import httpx
import pytest

from orderflow.errors import OutcomeUnknown, PayloadError
from tests.unit.test_http_support import KINDS, MONEY, READ, Api, Stream, selection_body

# --- gzip: several members, bytes after the end -----------------------------------------------

BODY = json.dumps(selection_body()).encode()
HALF = len(BODY) // 2
SELECTION = selection_body()["selection"]["selection"]


def _answer(encoding: str, chunks: list[bytes]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-encoding": encoding, "content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=Stream(lambda: iter(chunks)))

    return handler


@KINDS
@pytest.mark.parametrize(
    "chunks",
    [
        [gzip.compress(BODY[:HALF]) + gzip.compress(BODY[HALF:])],
        [gzip.compress(BODY[:HALF]), gzip.compress(BODY[HALF:])],
        [
            (gzip.compress(BODY[:HALF]) + gzip.compress(BODY[HALF:]))[i : i + 7]
            for i in range(0, 9999, 7)
        ],
        [gzip.compress(BODY) + gzip.compress(b"") + gzip.compress(b" \n")],
        [gzip.compress(BODY) + b"\0" * 8, b"\0" * 3],  # zero padding, as gzip allows
    ],
    ids=["two-members", "a-member-a-chunk", "7-byte-chunks", "empty-members", "zero-padding"],
)
def test_a_gzip_answer_of_several_members_is_read_whole(kind: str, chunks: list[bytes]) -> None:
    with Api(kind, _answer("gzip", chunks), retries=0) as api:
        assert api.send(READ).selection.selection == SELECTION


OTHER = BODY.replace(SELECTION.encode(), b"sel-not-the-answer")


@KINDS
@pytest.mark.parametrize(
    ("encoding", "chunks"),
    [
        ("gzip", [gzip.compress(BODY) + gzip.compress(OTHER)]),
        ("gzip", [gzip.compress(BODY), gzip.compress(OTHER)]),
        ("gzip", [gzip.compress(BODY) + b"garbage!"]),
        ("gzip", [gzip.compress(BODY), b"garbage!"]),
        ("gzip", [gzip.compress(BODY) + b"\0\0", b"\0x"]),
        ("gzip", [gzip.compress(BODY) + b"\x1f\x8b"]),
        ("deflate", [zlib.compress(BODY) + b"garbage"]),
        ("deflate", [zlib.compress(BODY)[2:-4], b"garbage"]),  # raw deflate
    ],
    ids=[
        "another-answer",
        "another-answer-chunk",
        "garbage",
        "garbage-chunk",
        "garbage-after-padding",
        "a-cut-member",
        "deflate-garbage",
        "raw-deflate-garbage",
    ],
)
def test_bytes_after_a_compressed_answer_make_it_one_that_cannot_be_read(
    kind: str, encoding: str, chunks: list[bytes]
) -> None:
    # The body is everything sent: read as identity it would not be JSON either.
    with Api(kind, _answer(encoding, chunks), retries=0) as api:
        with pytest.raises(PayloadError, match="GET /selections/"):
            api.send(READ)
        with pytest.raises(OutcomeUnknown, match="payment-result"):
            api.send(MONEY)
