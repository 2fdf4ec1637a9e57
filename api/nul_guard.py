"""One place that refuses a NUL character in any text the API receives, naming the field.

PostgreSQL cannot store NUL in ``text``, so a NUL that reaches a statement becomes a 500
(schemathesis found it in ``/maps/search?q=`` and Open311's ``service_code``). Rather than
guard every parameter, this middleware looks at what a request carries before routing — the
path, the query string, and JSON, form or multipart bodies — and answers 400 naming the field.
A body is searched as bytes first (a NUL, or its JSON escape); only a hit parses it to
name the field, so the report hot path pays one byte search. Files in a multipart body (photos)
may hold any bytes; their field values and file names may not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL = "\x00"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def nul_in_pairs(pairs: list[tuple[str, str]]) -> str | None:
    """The first name whose name or value holds a NUL, or None."""
    for key, value in pairs:
        if NUL in key or NUL in value:
            return key.replace(NUL, "\\0")
    return None


def _walk(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str):
        if NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                yield name.replace(NUL, "\\0")
            yield from _walk(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


def nul_in_json(body: bytes) -> str | None:
    """The path of the first JSON string (or key) holding a NUL, or None (also if not JSON)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None  # the route answers malformed JSON itself
    return next(_walk(data, ""), None) or None


def _routes(router: Any) -> Iterator[Any]:
    """Every route with a path pattern, through included routers (FastAPI nests them)."""
    for route in getattr(router, "routes", []):
        if getattr(route, "path_regex", None) is not None and not isinstance(route, Mount):
            yield route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(nested)


def _path_field(scope: Scope) -> str:
    """The name of the path parameter that holds the NUL (or ``path``)."""
    path = scope.get("path", "")
    for route in _routes(getattr(scope.get("app"), "router", None)):
        match = route.path_regex.match(path)
        if match is not None:
            for name, value in match.groupdict().items():
                if NUL in value:
                    return str(name)
    return "path"


class RejectNul:
    """Answer 400 ``{"error": "InvalidInput", "field": …}`` to text carrying a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check path and query, then (for a body a form or JSON) the body; pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope.get("path", ""):
            await _reject(send, _path_field(scope))
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            field = nul_in_pairs(
                parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
            )
            if field is not None:
                await _reject(send, field)
                return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _read(receive)
        field = await _nul_in_body(kind, body, scope, messages)
        if field is not None:
            await _reject(send, field)
            return
        await self.app(scope, _replay(messages, receive), send)


def _body_kind(scope: Scope) -> str | None:
    if scope.get("method") not in _BODY_METHODS:
        return None
    ctype = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    if b"json" in ctype:
        return "json"
    if ctype.startswith(b"application/x-www-form-urlencoded"):
        return "form"
    if ctype.startswith(b"multipart/form-data"):
        return "multipart"
    return None


async def _read(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


async def _nul_in_body(kind: str, body: bytes, scope: Scope, messages: list[Message]) -> str | None:
    if kind == "json":
        if b"\x00" in body or b"\\u0000" in body:
            return nul_in_json(body)
        return None
    if kind == "form":
        if b"%00" in body or b"\x00" in body:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
            return nul_in_pairs(pairs)
        return None
    if b"\x00" not in body:
        return None
    form_scope = dict(scope)
    request = Request(form_scope, _replay(list(messages), _never))
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed form is the route's to refuse
        return None
    try:
        pairs = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                pairs.append((key, value.filename or ""))
            else:
                pairs.append((key, value))
        return nul_in_pairs(pairs)
    finally:
        await form.close()


async def _never() -> Message:
    return {"type": "http.disconnect"}


async def _reject(send: Send, field: str) -> None:
    body = json.dumps(
        {
            "error": "InvalidInput",
            "message": f"{field}: text may not contain a NUL character (\\u0000)",
            "field": field,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
