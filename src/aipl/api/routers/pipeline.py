"""Freshness and alerts of the daily pipeline: the data's as-of day and the last run's time and outcome (also sent
as X-AIPL-* headers on every answer), and the alerts the latest run raised for the tenant's brands."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel

from aipl.api.deps import ERRORS, Caller, published, warehouse
from aipl.api.views import MISSING
from aipl.pipeline import freshness as read_freshness
from aipl.pipeline import recent_alerts

router = APIRouter(prefix="/api", tags=["pipeline"], responses=ERRORS)
TTL = 5.0  # seconds a freshness answer is reused (the headers of every answer read it)


class LastRun(BaseModel):
    """The latest daily run: its id, start, end, outcome (ok, nothing, failed, unfinished) and the step that
    failed."""

    run_id: str
    started: str | None
    ended: str | None
    outcome: str
    failed_step: str | None
    message: str | None


class StaleOut(BaseModel):
    """A derived table built with other settings than the workspace's current ones, and how to rebuild it."""

    table: str
    changed: list[str]
    rebuild: str
    message: str


class FreshnessOut(BaseModel):
    """The data's as-of day, the last run, the last finished run's end, whether it is late (`[pipeline]
    late_hours`), the status the dashboard shows (ok, failed, late, unfinished or never) and the tables that are
    stale (built with other settings: "stale: rebuild with …")."""

    as_of: str | None
    status: str
    late: bool
    late_hours: float
    last_run: LastRun | None
    last_success: str | None = None
    stale: list[StaleOut] = []


class AlertOut(BaseModel):
    """An alert of the latest run, with the numbers that fired it (`value` against `reference`)."""

    run_id: str
    day: str | None
    rule: str
    kind: str
    brand_id: str | None
    category_id: str | None
    metric: str | None
    value: float | None
    reference: float | None
    change: float | None
    threshold: float | None
    message: str | None


class AlertsOut(BaseModel):
    """The alerts of the latest run for the caller's brands, and the freshness of the data they were raised on."""

    freshness: FreshnessOut
    alerts: list[AlertOut]


def _key(version: str) -> tuple:
    return version, int(time.monotonic() // TTL)


def current_freshness(request: Request) -> dict:
    """The service's freshness, computed once per published snapshot and TTL seconds however many requests ask at
    once (every answer's headers read it; the as-of day is the service's data day). While it is computed again
    for the same snapshot, the other requests answer with the previous one rather than wait."""
    facts, state = published(request), request.app.state
    value, _ = state.freshness.get(_key(facts.version), lambda: read_freshness(
        warehouse(request), as_of=facts.last_day).to_dict(), stale=state.fresh_before.get(facts.version, MISSING))
    state.fresh_before = {facts.version: value}
    return value


def known_freshness(request: Request) -> dict | None:
    """The freshness of the request's snapshot when it is at hand (None when it must be computed: see
    `current_freshness`); it neither reads the warehouse nor waits, so the event loop may call it."""
    state, version = request.app.state, getattr(request.state, "snapshot", None)
    value = MISSING if version is None else state.freshness.peek(_key(version))
    return None if value is MISSING else value


@router.get("/freshness", response_model=FreshnessOut)
def freshness(request: Request, who: Caller) -> dict:
    """The data's as-of day and the last daily run's time and outcome (late after `[pipeline] late_hours`)."""
    return current_freshness(request)


@router.get("/alerts", response_model=AlertsOut)
def alerts(request: Request, who: Caller) -> dict:
    """The alerts the latest daily run raised on the caller's brands, with the numbers that fired them."""
    rows = [a for a in recent_alerts(warehouse(request)) if a.get("brand_id") in who.brands]
    return {"freshness": current_freshness(request), "alerts": rows}
