"""Consumer assets: the caller, the tenant's brands, AIPL/DEEPLINK counts on a day, the flow between two days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, cached, data_day, published, warehouse
from aipl.assets import AIPL_LABELS, DEEPLINK_LABELS, brand_categories, flow, snapshot

router = APIRouter(prefix="/api", tags=["assets"], responses=ERRORS)
__all__ = ["data_day", "router"]  # data_day: the default day, also used by the other routers


class Me(BaseModel):
    """The caller's tenant, role and granted brands."""

    tenant: str
    role: str
    brands: list[str]


class Brand(BaseModel):
    """A granted brand and its category (None when it has no events yet)."""

    brand_id: str
    category_id: str | None


class Brands(PageOf[Brand]):
    """A page of the tenant's brands, and the data's last day (None before any event is loaded)."""

    last_day: date | None


class Snapshot(BaseModel):
    """Consumers per AIPL state (`counts`) and DEEPLINK stage (`deeplink`) of a brand on a day."""

    scope: str
    key: str
    date: str
    counts: dict[str, int]
    deeplink: dict[str, int]
    labels: dict[str, str] = Field(description="each state's display name")


class Flow(BaseModel):
    """The AIPL flow matrix between two days over {none, A, I, P, L}: counts, 流转率 (`rates`) and the kinds."""

    model_config = ConfigDict(populate_by_name=True)

    scope: str
    key: str
    from_: str = Field(alias="from")
    to: str
    matrix: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    kinds: dict[str, int]


@router.get("/me")
def me(who: Caller) -> Me:
    """The caller's tenant, role and granted brands."""
    return Me(tenant=who.tenant, role=who.role, brands=sorted(who.brands))


@router.get("/brands")
def brands(request: Request, who: Caller, paging: Paging) -> Brands:
    """The tenant's brands with their category, and the data's last day."""
    cats = cached(request, ("brand_categories",), lambda: brand_categories(warehouse(request)))
    cat = dict(zip(cats.brand_id, cats.category_id, strict=True))
    rows = [{"brand_id": b, "category_id": cat.get(b)} for b in sorted(who.brands)]
    return Brands(**paging.cut(rows), last_day=published(request).last_day)


@router.get("/assets/{brand}/snapshot")
def assets_snapshot(request: Request, who: Caller, brand: str, day: date | None = None) -> Snapshot:
    """How many consumers are in each AIPL and DEEPLINK state of the brand on `day` (default: the last day)."""
    brand_of(who, brand)
    day = day or data_day(request)
    out = cached(request, ("snapshot", brand, day), lambda: snapshot(warehouse(request), "brand", brand, day))
    return Snapshot(**out, labels={**AIPL_LABELS, **DEEPLINK_LABELS})


@router.get("/assets/{brand}/flow", response_model=Flow)
def assets_flow(request: Request, who: Caller, brand: str,
                start: Annotated[date, Query(description="the earlier day")],
                end: Annotated[date | None, Query(description="the later day (default: the last day)")] = None) -> dict:
    """The AIPL flow matrix between two days: counts, 流转率, new / deepened / regressed / churned."""
    brand_of(who, brand)
    end = end or data_day(request)
    return cached(request, ("flow", brand, start, end), lambda: flow(warehouse(request), "brand", brand, start, end))
