"""Oversized and chunked bodies against a real server on 127.0.0.1 (issue 19, class 4): the caller is
authenticated from the headers before any body is read, and a body is counted while it is read, so that a
chunked body cannot pass the JSON limit and an upload without a token costs no more than its headers.

The bytes the application reads are counted by a wrapper around it; the client's bodies are generators that
stop as soon as the server answers or closes, so nothing near 60 or 400 MiB is ever allocated or sent."""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest
import uvicorn

from aipl.api import MAX_BODY, create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.config import init_workspace

MiB = 1 << 20
CHUNK = 64 * 1024
UPLOAD_MB = 2  # [api] max_upload_mb of the test workspace
JSON_CHUNKED = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"


class Counted:
    """The application, with the body bytes it reads from the server counted (per path)."""

    def __init__(self, app):
        self.app, self.read = app, {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        self.read[path] = 0

        async def counting():
            msg = await receive()
            self.read[path] += len(msg.get("body", b""))
            return msg

        return await self.app(scope, counting, send)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = init_workspace(tmp_path_factory.mktemp("bodies"))
    cfg = root / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("max_upload_mb = 200", f"max_upload_mb = {UPLOAD_MB}"),
                   encoding="utf-8")
    add_tenant(root, "acme", ["B01"])
    tokens = {role: issue_token(root, "acme", role) for role in ("viewer", "admin")}
    app = Counted(create_app(root))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield {"port": port, "tokens": tokens, "app": app}
    srv.should_exit = True
    thread.join(10)


def _send(port: int, head: str, body, limit: int) -> tuple[int, int, bytes]:
    """Send `head` and then the pieces of `body` until the server answers or closes (at most `limit` bytes of
    body); the status, the body bytes sent, and the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)  # little room in the kernel's buffers
    sent = 0
    try:
        sock.sendall(head.encode("latin-1"))
        for piece in body:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable or not writable or sent >= limit:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = b""
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            answer += got
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent, answer


def _chunked(total: int):
    """A chunked JSON body of `total` bytes: a crowd expression padded with spaces, made one chunk at a time."""
    yield b'%x\r\n{"expr": "age > 3"\r\n' % len(b'{"expr": "age > 3"')
    for _ in range(total // CHUNK):
        yield b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    yield b"1\r\n}\r\n0\r\n\r\n"


def _plain(total: int):
    piece = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield piece


def _file_part(total: int):
    """A multipart body (boundary `b`) whose one file part would hold `total` bytes."""
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    yield from _plain(total)


def _head(path: str, token: str | None, extra: str) -> str:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{extra}\r\n"


def test_a_chunked_json_body_stops_at_the_limit(server):
    total = 60 * MiB
    head = _head("/api/crowds/count", server["tokens"]["viewer"], JSON_CHUNKED)
    status, sent, answer = _send(server["port"], head, _chunked(total), total)
    assert status == 413, answer[:300]
    assert server["app"].read["/api/crowds/count"] <= 2 * MAX_BODY  # read while counting, then cut
    assert sent < 16 * MiB  # the client was stopped long before its 60 MiB


def test_an_upload_without_a_token_is_refused_before_its_body(server):
    total = 400 * MiB
    head = _head("/api/jobs/ingest?format=events", None,
                 f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {total}\r\n")
    status, sent, answer = _send(server["port"], head, _file_part(total), total)
    assert status == 401, answer[:300]
    assert server["app"].read.get("/api/jobs/ingest", 0) <= 4096  # nothing of the body was read
    assert sent < 16 * MiB


@pytest.mark.parametrize("who, status", [(None, 401), ("viewer", 403), ("admin", 413)])
def test_a_chunked_upload_is_authenticated_then_counted(server, who, status):
    total = 400 * MiB
    token = server["tokens"][who] if who else None
    head = _head("/api/jobs/ingest?format=events", token,
                 "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n")
    chunks = (b"%x\r\n" % len(p) + p + b"\r\n" for p in _file_part(total))
    status_got, sent, answer = _send(server["port"], head, chunks, total)
    assert status_got == status, answer[:300]
    assert server["app"].read.get("/api/jobs/ingest", 0) <= (2 * UPLOAD_MB * MiB if who == "admin" else 0)
    assert sent < 16 * MiB


def test_a_declared_length_over_the_limit_is_refused_unread(server):
    status, _, _ = _send(server["port"], _head("/api/jobs/ingest?format=events", server["tokens"]["admin"],
                                                  f"Content-Type: multipart/form-data; boundary=b\r\n"
                                                  f"Content-Length: {(UPLOAD_MB + 1) * MiB}\r\n"),
                            _file_part((UPLOAD_MB + 1) * MiB), (UPLOAD_MB + 1) * MiB)
    assert status == 413
    assert server["app"].read.get("/api/jobs/ingest", 0) == 0


def test_a_small_chunked_body_is_still_answered(server):
    head = _head("/api/crowds/count", server["tokens"]["viewer"], JSON_CHUNKED)
    status, _, answer = _send(server["port"], head, _chunked(CHUNK), 2 * CHUNK)
    assert status == 409, answer[:300]  # read in full and answered: this workspace has no tag index yet
