"""What every endpoint needs: the caller (from the bearer token), the published state it reads (one snapshot
per request) or a writer for a small save, the role and brand checks, and pagination."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as QueueTimeout
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from aipl.api.auth import Principal, authenticate
from aipl.api.guard import caller
from aipl.api.views import digest
from aipl.warehouse import Warehouse, WarehouseBusy, open_warehouse, published_path

_bearer = HTTPBearer(auto_error=False, description="a token from `aipl tenant token`")
_local = threading.local()
_opened: list[Warehouse] = []
_opened_lock = threading.Lock()
_generation = [0]
MAX_LIMIT = 500
WRITE_WAIT = 30.0  # how long a request that saves something waits for the writer (jobs, other processes)


class Problem(BaseModel):
    """Why a request was refused: a sentence, or the list of invalid fields."""

    detail: str | list[dict]


ERRORS = {code: {"model": Problem, "description": text} for code, text in (
    (401, "no token, or an unknown one"), (403, "the role or the brand is not the caller's"),
    (404, "no such job for this tenant"), (409, "the workspace is not ready for this (no events, no tag index)"),
    (413, "the request body is too large"), (422, "the request is invalid, or the data cannot answer it"),
    (503, "the warehouse is busy with another write: try again"),
)}


_names: dict[int, tuple[APIRoute, frozenset[str]]] = {}  # by id(route), the route kept with them (ids stay unique)


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares, its dependencies' included (worked out once per route)."""
    seen = _names.get(id(route))
    if seen is None:
        seen = _names[id(route)] = (route, _declared(route))
    return seen[1]


def _declared(route: APIRoute) -> frozenset[str]:
    names, todo = set(), [route.dependant]
    while todo:
        dependant = todo.pop()
        todo += dependant.dependencies
        for field in dependant.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a query model: its fields are the names
                names |= {f.alias or name for name, f in model.model_fields.items()}
            else:
                names.add(field.alias)
    return frozenset(names)


async def known_query(request: Request) -> None:
    """422 for a query parameter the endpoint does not declare: a misspelt option is refused, never ignored
    (a dependency of the whole app)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise HTTPException(422, f"unknown query parameter {', '.join(unknown)} (this endpoint takes: {takes})")


@dataclass(frozen=True)
class Published:
    """What one published snapshot holds that every view needs: its version and its last day with events."""

    version: str
    last_day: date | None


def snapshot(request: Request) -> str | None:
    """The published snapshot this request reads: the newest when it first reads, the same until it answers."""
    name = getattr(request.state, "snapshot", None)
    if name is None:
        name = request.state.snapshot = newest(request.app.state.root)
    return name


_newest: dict[Path, tuple[Path, int, str]] = {}  # workspace → (its snapshots' folder, that folder's mtime, newest)
SETTLED_NS = 1_000_000_000  # a folder unchanged this long has its newest snapshot remembered until it changes


def newest(root: Path) -> str | None:
    """The name of the workspace's newest published snapshot. Every request asks, so the name is read again only
    when the folder of snapshots has changed since (publishing replaces a file in it), or changed so recently
    that a second change could share its time stamp."""
    seen = _newest.get(root)
    if seen is not None:
        folder, mtime, name = seen
        with contextlib.suppress(OSError):
            if os.stat(folder).st_mtime_ns == mtime:
                return name
    path = published_path(root)
    if path is None:
        return None
    mtime = os.stat(path.parent).st_mtime_ns  # before reading the name again: a publish meanwhile changes it
    path = published_path(root)
    if path is not None and time.time_ns() - mtime > SETTLED_NS:
        _newest[root] = (path.parent, mtime, path.name)
    return None if path is None else path.name


def published(request: Request) -> Published:
    """The facts of the request's snapshot, worked out once per snapshot however many requests ask at once (a new
    snapshot's first requests wait for the one computation)."""
    def facts() -> Published:
        wh = warehouse(request)
        return Published(wh.snapshot, wh.last_day())

    return request.app.state.published.get(snapshot(request), facts)[0]


def data_day(request: Request) -> date:
    """The last day with events (the default day of every view); 409 before any event is loaded."""
    day = published(request).last_day
    if day is None:
        raise HTTPException(409, "the workspace has no events yet: ingest some first")
    return day


def warehouse(request: Request) -> Warehouse:
    """A read-only connection to the request's published snapshot (see `snapshot`), kept by the running thread
    for its next requests until a newer snapshot is published; readers never wait for a writer. Call it inside
    the endpoint, which runs on the thread that uses it."""
    root = str(request.app.state.root)
    name = snapshot(request)
    cache = getattr(_local, "wh", None)
    if cache is None or getattr(_local, "generation", None) != _generation[0]:
        cache = _local.wh = {}
        _local.generation = _generation[0]
    wh = cache.get(root)
    if wh is None or wh.snapshot != name:
        if wh is not None:  # this thread's previous snapshot: its file may go once nobody reads it
            with _opened_lock:
                _opened.remove(wh)
            wh.close()
        wh = cache[root] = open_warehouse(root, read_only=True, snapshot=name)
        with _opened_lock:
            _opened.append(wh)
        request.state.snapshot = wh.snapshot  # the newest, if the one pinned has gone meanwhile
    return wh


T = TypeVar("T")


def write(request: Request, work: Callable[[Warehouse], T]) -> T:
    """`work(wh)` on a writer of the workspace, run in the service's job queue (one writer at a time, across
    processes too), published when it succeeds; its result. 503 when the warehouse stays busy for WRITE_WAIT s."""
    root, deadline = request.app.state.root, time.monotonic() + WRITE_WAIT

    def job() -> T:
        with open_warehouse(root, wait=max(0.0, deadline - time.monotonic())) as wh:
            return work(wh)

    try:
        return request.app.state.jobs.run(job, WRITE_WAIT)
    except (WarehouseBusy, QueueTimeout) as exc:
        raise HTTPException(503, f"the warehouse is busy with another write ({exc or 'queued jobs'}): try again",
                            headers={"Retry-After": "10"}) from exc


def close_all() -> None:
    """Close every connection the request threads opened (at shutdown: a DuckDB connection left open on an
    idle thread can abort the interpreter's exit)."""
    with _opened_lock:
        for wh in _opened:
            with contextlib.suppress(Exception):
                wh.close()
        _opened.clear()
        _generation[0] += 1  # every thread opens afresh on its next request


class _Superseded(Exception):
    """A view's computation read another snapshot than its key's (the key's was deleted meanwhile)."""


def cached(request: Request, key: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()` once per view: `key` (the view's name and parameters) with the published snapshot the request
    reads and the caller (tenant, role and granted brands), so that an answer is never served for another data
    version or to another tenant. Concurrent requests for one view wait for the one computation in flight (see
    `Views`); how each view came is added to the answer's `X-AIPL-Views` header. An answer computed from a newer
    snapshot than its key's (the key's was deleted before it was opened) is not kept under that key: the view is
    asked again for the newest snapshot."""
    who = caller(request.scope)
    tenant = None if who is None else (who.tenant, who.role, tuple(sorted(who.brands)))
    for _ in range(3):
        full = (snapshot(request), tenant, *key)

        def of_version(version: str | None = full[0]) -> Any:
            value = compute()
            if snapshot(request) != version:  # it read a newer snapshot (see `warehouse`): not this key's answer
                raise _Superseded(version)
            return value

        try:
            value, how = request.app.state.cache.get(full, of_version)
            break
        except _Superseded:  # every request that waited for it asks again, for the newest snapshot
            if snapshot(request) == full[0]:
                request.state.snapshot = None
    else:
        raise HTTPException(503, "the data was republished three times while this view was computed: try again")
    seen = getattr(request.state, "views", None)
    if seen is None:
        seen = request.state.views = []
    seen.append(f"{key[0]}:{digest(full)}={how}")
    return value


async def principal(request: Request,
                    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller: a valid `Authorization: Bearer <token>` or 401 (as the gate found it before reading the body)."""
    who = caller(request.scope)
    if who is not None:
        return who
    token = creds.credentials if creds else ""
    if not token or len(token) > 200:
        raise HTTPException(401, "send Authorization: Bearer <token> (issued with `aipl tenant token`)",
                            headers={"WWW-Authenticate": "Bearer"})
    who = authenticate(request.app.state.root, token.strip())
    if who is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return who


Caller = Annotated[Principal, Depends(principal)]


def need(role: str):
    """A dependency that admits callers whose role is at least `role` (403 otherwise)."""
    async def check(who: Caller) -> Principal:
        if not who.can(role):
            raise HTTPException(403, f"this needs the {role} role; your token is {who.role}")
        return who
    return check


def brand_of(who: Principal, brand: str) -> str:
    """`brand` if the caller's tenant is granted it; 403 otherwise, the same answer whether or not the brand
    exists, so that nothing leaks.

    >>> who = Principal("acme", "viewer", frozenset({"B01"}))
    >>> brand_of(who, "B01")
    'B01'
    >>> brand_of(who, "B03")
    Traceback (most recent call last):
    fastapi.exceptions.HTTPException: 403: brand 'B03' is not granted to tenant 'acme'
    """
    if brand not in who.brands:
        raise HTTPException(403, f"brand {brand!r} is not granted to tenant {who.tenant!r}")
    return brand


@dataclass(frozen=True)
class Page:
    """limit / offset of a list."""

    limit: int
    offset: int

    def cut(self, rows: list) -> dict:
        """One page of `rows` with the total and the next offset (None at the end).

        >>> Page(limit=2, offset=0).cut(["a", "b", "c"])
        {'total': 3, 'offset': 0, 'limit': 2, 'items': ['a', 'b'], 'next_offset': 2}
        """
        part = rows[self.offset:self.offset + self.limit]
        nxt = self.offset + self.limit
        return {"total": len(rows), "offset": self.offset, "limit": self.limit, "items": part,
                "next_offset": nxt if nxt < len(rows) else None}


Item = TypeVar("Item")


class PageOf(BaseModel, Generic[Item]):
    """One page of a list: its items, the list's total, and the next offset (None at the end).

    >>> PageOf[str](**Page(limit=2, offset=2).cut(["a", "b", "c"]))
    PageOf[str](total=3, offset=2, limit=2, items=['c'], next_offset=None)
    """

    total: int
    offset: int
    limit: int
    items: list[Item]
    next_offset: int | None


async def page(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Page:
    """Pagination parameters."""
    return Page(limit, offset)


Paging = Annotated[Page, Depends(page)]
