"""Consumer assets: the tenant's brands, AIPL/DEEPLINK counts on a day, the flow between two days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from aipl.api.deps import ERRORS, Caller, Paging, brand_of, cached, warehouse

router = APIRouter(prefix="/api", tags=["assets"], responses=ERRORS)


def data_day(request: Request) -> date:
    """The last day with events (the default day of every view)."""
    day = request.app.state.last_day
    if day is None:
        raise HTTPException(409, "the workspace has no events yet: ingest some first")
    return day


@router.get("/me")
def me(who: Caller) -> dict:
    """The caller's tenant, role and granted brands."""
    return {"tenant": who.tenant, "role": who.role, "brands": sorted(who.brands)}


@router.get("/brands")
def brands(request: Request, who: Caller, paging: Paging) -> dict:
    """The tenant's brands with their category, and the data's last day."""
    from aipl.assets.health import brand_categories

    cats = cached(request, ("brand_categories",), lambda: brand_categories(warehouse(request)))
    cat = dict(zip(cats.brand_id, cats.category_id, strict=True))
    rows = [{"brand_id": b, "category_id": cat.get(b)} for b in sorted(who.brands)]
    return {**paging.cut(rows), "last_day": str(request.app.state.last_day)}


@router.get("/assets/{brand}/snapshot")
def snapshot(request: Request, who: Caller, brand: str, day: date | None = None) -> dict:
    """How many consumers are in each AIPL and DEEPLINK state of the brand on `day` (default: the last day)."""
    from aipl.assets import AIPL_LABELS, DEEPLINK_LABELS
    from aipl.assets import snapshot as snap

    brand_of(who, brand)
    day = day or data_day(request)
    out = cached(request, ("snapshot", brand, day), lambda: snap(warehouse(request), "brand", brand, day))
    return {**out, "labels": {**AIPL_LABELS, **DEEPLINK_LABELS}}


@router.get("/assets/{brand}/flow")
def flow(request: Request, who: Caller, brand: str,
         start: Annotated[date, Query(description="the earlier day")],
         end: Annotated[date | None, Query(description="the later day (default: the last day)")] = None) -> dict:
    """The AIPL flow matrix between two days: counts, 流转率, new / deepened / regressed / churned."""
    from aipl.assets import flow as flow_of

    brand_of(who, brand)
    end = end or data_day(request)
    return cached(request, ("flow", brand, start, end), lambda: flow_of(warehouse(request), "brand", brand, start, end))
