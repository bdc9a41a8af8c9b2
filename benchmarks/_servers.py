"""The two servers of ``fake_server``, each run in its own process: ``python -m
benchmarks._servers {ours|bare} PORT``.

``ours``: the fake Centra as it ships, ``orderflow.adapters.fake.server.serve`` of
``FakeCentra.seeded()`` (stock for every round), on uvicorn.

``bare``: a bare ASGI app on the same uvicorn, started as its documentation shows
(``uvicorn.run(app, host=..., port=...)``, access log off, no lifespan): it reads and parses
the request's JSON body, picks the answer by the path's last segment and sends the same JSON
bytes the fake answered for that call in one seed flow (recorded at start-up, serialised as
ours' server does). The selection id in the paths is ignored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM
from orderflow.adapters.shop_api import dialect

Message = MutableMapping[str, Any]


def _route(path: str) -> str:
    last = path.rsplit("/", 2)
    if last[-1] in ("payment-result", "payment", "checkout-fields", "selections"):
        return last[-1]
    return "items" if last[-2] == "items" else "unknown"


def recorded_answers() -> dict[str, tuple[int, bytes]]:
    """What the fake answers each of the seed's calls, by the path's last segment."""
    from benchmarks._wire import seed_calls, selection_of

    fake = FakeCentra.seeded()
    answers: dict[str, tuple[int, bytes]] = {}
    selection = ""
    for call in seed_calls():
        path = call.path_for(selection)
        status, body = fake.serve_shop_api(call.method, path, call.body_for(selection))
        if not selection:
            selection = selection_of(body)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        answers[_route(dialect.BASE_PATH + path)] = (status, content)
    return answers


def bare_app() -> Callable[[Message, Any, Any], Awaitable[None]]:
    """The bare ASGI app: the recorded answer of each call."""
    answers = recorded_answers()
    missing = (404, b'{"errors":{"path":"unknown"}}')
    content_type = (b"content-type", b"application/json")

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            json.loads(body)
        status, content = answers.get(_route(scope["path"]), missing)
        headers = [content_type, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def main(argv: list[str]) -> None:
    """Serve ``ours`` or ``bare`` on 127.0.0.1:PORT until terminated."""
    kind, port = argv
    if kind == "ours":
        from orderflow.adapters.fake.server import serve

        serve(
            FakeCentra.seeded(stock={SEED_ITEM: 10**9}),
            "127.0.0.1",
            int(port),
            log_level="warning",
        )
    elif kind == "bare":
        import uvicorn

        uvicorn.run(
            bare_app(),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    else:
        raise SystemExit(f"unknown server {kind!r}: ours or bare")


if __name__ == "__main__":
    main(sys.argv[1:])
