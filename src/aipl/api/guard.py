"""The service's gate (an ASGI middleware): every `/api` call is authenticated from its headers before a byte of
its body is read, and a body is counted while it is read, whether it comes with a Content-Length or in chunks,
so that no one without a token, and no body over its limit, costs the service more than its headers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from aipl.api.auth import Principal, authenticate
from aipl.api.errors import failure

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PRINCIPAL = "aipl.principal"  # the scope key under which the gate leaves the authenticated caller
NO_TOKEN = "send Authorization: Bearer <token> (issued with `aipl tenant token`)"
MAX_TOKEN = 200


class BodyTooLarge(Exception):
    """Raised inside the application's `receive` once a body passes its limit."""


def bearer(scope: Scope) -> str:
    """The bearer token of a request's headers ("" when there is none, or it is malformed).

    >>> bearer({"headers": [(b"authorization", b"Bearer aipl_x")]}), bearer({"headers": []})
    ('aipl_x', '')
    """
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and 0 < len(token) <= MAX_TOKEN else ""
    return ""


async def _answer(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    """A JSON error response that also closes the connection (any body left unread is never read)."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")] + [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Gate:
    """Authenticate `/api` calls from the headers, then admit a body of at most `max_body` bytes (`max_upload`
    on the paths in `uploads`, which also need their role before the upload is read). An exception that the
    application leaves unanswered becomes its one-line `failure` (503, 507, 422) unless it is aipl's own fault.

    >>> import asyncio, tempfile
    >>> async def app(scope, receive, send): ...
    >>> sent = []
    >>> async def send(msg): sent.append(msg)
    >>> gate = Gate(app, tempfile.mkdtemp(), max_body=10, max_upload=100)
    >>> asyncio.run(gate({"type": "http", "path": "/api/me", "headers": []}, None, send))
    >>> sent[0]["status"]
    401
    """

    def __init__(self, app: ASGIApp, root: str | Path, max_body: int, max_upload: int,
                 uploads: dict[str, str] | None = None) -> None:
        self.app, self.root = app, Path(root)
        self.max_body, self.max_upload = max_body, max_upload
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/api" or path.startswith("/api/"):
            token = bearer(scope)
            who = authenticate(self.root, token) if token else None  # a hash and a stat: tenants.json is kept
            if who is None:
                await _answer(send, 401, NO_TOKEN if not token else "unknown or revoked token",
                              {"www-authenticate": "Bearer"})
                return
            role = self.uploads.get(path)
            if role is not None and not who.can(role):
                await _answer(send, 403, f"this needs the {role} role; your token is {who.role}")
                return
            scope[PRINCIPAL] = who
        limit = self.max_upload if path in self.uploads else self.max_body
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, f"request body larger than {limit} bytes")
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the application with a `receive` that stops at `limit` bytes; past it, the answer is 413."""
        seen, over, started = 0, False, False

        async def counting() -> Message:
            nonlocal seen, over
            if over:
                raise BodyTooLarge(limit)
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge(limit)
            return msg

        async def sending(msg: Message) -> None:
            nonlocal started
            if over:  # the application's own answer to the cut body (400, 422 …) gives way to the 413
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting, sending)
        except Exception as exc:
            if not over:  # a lock, a full disk, an error inside DuckDB or Arrow: its status and one line
                known = failure(exc)
                if known.status == 500 or started:
                    raise  # a fault of aipl itself: logged, and a 500
                await _answer(send, known.status, known.message)
                return
        if over and not started:
            await _answer(send, 413, f"request body larger than {limit} bytes")


def caller(scope: Scope) -> Principal | None:
    """The caller the gate authenticated for this request (None outside `/api`)."""
    return scope.get(PRINCIPAL)
