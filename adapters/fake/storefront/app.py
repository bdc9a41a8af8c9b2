"""The fake's Storefront API over HTTP: ``answer_graphql`` answers one GraphQL request (a POST
body ``{query, variables, operationName}``), ``graphql_app`` is an ASGI app serving it.

Every answer is JSON: ``{data, errors?, extensions: {token, traceId}}``, ``extensions.token``
the session's token to send next (a first request made with the shared token gets its new
session's). Statuses:

- 200 for every GraphQL answer: data, a business refusal (``userErrors``, inside ``data``), a
  document that does not parse or validate, or variables that do not fit (``errors`` without
  ``path``, ``data: null``: nothing was run), and a field that failed while running (``errors``
  with its ``path``; a resolver's bug is one, the fake never answers 500).
- 400 for a body that is no GraphQL request, 401 for a request without a usable bearer token
  (no ``extensions.token`` then), 405 for a method but POST, 413 for a body past ``MAX_BODY``.
- A fault's status (``context``): 408, 425, 429 and 5xx, with its ``Retry-After``; for the
  payment calls also 404 and 409. A lost answer is held until the client gives up.

Errors carry ``extensions.code``: ``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``,
``BAD_USER_INPUT``, ``INTERNAL_SERVER_ERROR``, ``UNAUTHENTICATED``, ``BAD_REQUEST``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, execute_sync, parse, validate

from orderflow.adapters.fake.answer import Answer, LostAnswer
from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.storefront.context import Context
from orderflow.adapters.fake.storefront.schema import storefront_schema
from orderflow.adapters.fake.storefront.session import Shopper

__all__ = ["answer_graphql", "graphql_app"]

_Errors = tuple[GraphQLError, ...]


def _coded(error: GraphQLError, code: str) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        {**(error.extensions or {}), "code": code},
    )


@functools.lru_cache(maxsize=256)
def _document(query: str) -> tuple[DocumentNode | None, _Errors]:
    """The parsed document, or why it is refused (parse and validation errors), cached."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (_coded(error, "GRAPHQL_PARSE_FAILED"),)
    errors = validate(storefront_schema(), document)
    if errors:
        return None, tuple(_coded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors)
    return document, ()


def _failure(status: int, message: str, code: str, trace: str) -> Answer:
    error = {"message": message, "extensions": {"code": code}}
    headers = {"WWW-Authenticate": 'Bearer realm="storefront"'} if status == 401 else {}
    return Answer(
        status, {"data": None, "errors": [error], "extensions": {"traceId": trace}}, headers
    )


def _request(body: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "the body is not UTF-8 JSON"
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None, "the body is a JSON object with the document as `query`"
    if not isinstance(data.get("variables") or {}, dict):
        return None, "`variables` is a JSON object"
    name = data.get("operationName")
    if name is not None and not isinstance(name, str):
        return None, "`operationName` is text"
    return data, ""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def answer_graphql(fake: FakeCentra, body: bytes, headers: Mapping[str, str]) -> Answer:
    """Answer one GraphQL request to ``fake``'s Storefront API (``body`` as POSTed).

    Never raises for a bad request or a failing field: that is an answer (see the module
    docstring). Raises ``LostAnswer`` when the fake's ``faults`` lose the answer; a carrier
    turns that into what its client would see (``graphql_app`` holds the request).
    """
    trace = uuid.uuid4().hex
    request, problem = _request(body)
    if request is None:
        return _failure(400, problem, "BAD_REQUEST", trace)
    shopper = Shopper.open(fake, _header(headers, "authorization"))
    if shopper is None:
        why = "send the shared token or a session's as `Authorization: Bearer <token>`"
        return _failure(401, why, "UNAUTHENTICATED", trace)
    context = Context(fake, shopper)
    try:
        result = _run(context, request)
    except LostAnswer:
        raise
    except Exception as bug:  # never a 500: the fake's own failure is a GraphQL error
        error = GraphQLError(
            f"the fake failed: {type(bug).__name__}: {bug}",
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
        result = ExecutionResult(None, [error])
    if context.lost is not None:
        raise context.lost
    extensions = {"token": shopper.answer_token(), "traceId": trace}
    if context.stop is not None:
        stop = context.stop
        return Answer(stop.status, {**stop.body, "extensions": extensions}, stop.headers)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [error.formatted for error in result.errors]
    out["extensions"] = extensions
    return Answer(200, out, wire=context.wire)


def _run(context: Context, request: Mapping[str, Any]) -> ExecutionResult:
    document, errors = _document(request["query"])
    if document is None:
        return ExecutionResult(None, list(errors))
    result = execute_sync(
        storefront_schema(),
        document,
        context_value=context,
        variable_values=request.get("variables") or {},
        operation_name=request.get("operationName"),
    )
    if result.errors and result.data is None and all(e.path is None for e in result.errors):
        # Refused before running: the operation to run, or variables that do not fit.
        result = ExecutionResult(None, [_coded(e, "BAD_USER_INPUT") for e in result.errors])
    elif result.errors:
        result = ExecutionResult(
            result.data, [_coded(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
        )
    return result


def graphql_app(fake: FakeCentra, *, lost_answer_hold: float = 60.0) -> Any:
    """An ASGI app answering ``fake``'s Storefront API (``answer_graphql``) at any path it is
    given (mount it at ``/graphql``). A lost answer holds the request until the client
    disconnects, at most ``lost_answer_hold`` seconds; the wire faults (drip, huge, gzip bomb)
    happen as ``server`` does them. The app never raises.
    """
    # Imported here: the fake's server mounts this app, and imports this module to do so.
    from orderflow.adapters.fake import server

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await server._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            body = await server._read_body(receive)
        except server._ClientGone:
            return  # a request cut short is not a request: nothing was asked
        trace = uuid.uuid4().hex
        if scope["method"] != "POST":
            answer = _failure(405, "the Storefront API takes POST", "BAD_REQUEST", trace)
            answer.headers = {"Allow": "POST"}
        elif body is None:
            answer = _failure(413, f"larger than {server.MAX_BODY} bytes", "BAD_REQUEST", trace)
        else:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                if fake.faults is None:
                    answer = answer_graphql(fake, body, headers)
                else:  # injected latency must not stall the loop
                    answer = await asyncio.to_thread(answer_graphql, fake, body, headers)
            except LostAnswer:
                await server._until_disconnected(receive, lost_answer_hold)
                return
        await server._write(answer, send, receive)

    return app
