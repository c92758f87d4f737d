"""Strategy Center: the GTA plan of a campaign (pools, gaps, progress against last year and the benchmark)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from aipl.api.deps import ERRORS, Caller, brand_of, warehouse

router = APIRouter(prefix="/api/strategy", tags=["strategy"], responses=ERRORS)


@router.get("/campaigns")
def campaigns(request: Request, who: Caller) -> dict:
    """The platform campaigns known to the workspace (a calendar, not brand data)."""
    c = warehouse(request).table("campaigns")
    rows = c.group_by("campaign_id").aggregate(name=c.name.max(), start=c.start_date.min(), end=c.end_date.max())
    df = rows.order_by("start").execute()
    return {"items": [{"campaign_id": r.campaign_id, "name": r.name, "start": str(r.start)[:10], "end": str(r.end)[:10]}
                      for r in df.itertuples()]}


@router.get("/{brand}/plan")
def plan(request: Request, who: Caller, brand: str, campaign: str,
         gmv_target: Annotated[float | None, Query(gt=0, lt=1e13)] = None, as_of: date | None = None) -> dict:
    """GTA: from a GMV target to the consumers each pool must hold, the gaps, progress and recommendations."""
    from aipl.report import plan_context
    from aipl.strategy import plan as plan_of
    from aipl.strategy import sync_calendars

    brand_of(who, brand)
    wh = warehouse(request)
    if wh.config.raw.get("campaigns"):
        sync_calendars(wh, wh.config.raw["campaigns"])
    p = plan_of(wh, brand, campaign, gmv_target, as_of)
    ctx = plan_context(wh, p)
    return {**p, "progress": ctx["progress"], "recommendations": ctx["recommendations"], "actions": ctx["actions"]}
