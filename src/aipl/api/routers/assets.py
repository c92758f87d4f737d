"""Consumer assets: the caller, the tenant's brands, AIPL/DEEPLINK counts on a day, the flow between two days."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, cached, data_day, published, warehouse
from aipl.assets import (
    AIPL_LABELS,
    DEEPLINK_LABELS,
    brand_categories,
    categories,
    deeplink_flow,
    flow,
    last_year,
    period,
    records,
    series,
    snapshot,
    trend_benchmark,
)

router = APIRouter(prefix="/api", tags=["assets"], responses=ERRORS)
__all__ = ["data_day", "router"]  # data_day: the default day, also used by the other routers


class Me(BaseModel):
    """The caller's tenant, role and granted brands."""

    tenant: str
    role: str
    brands: list[str]
    categories: list[str] = Field(description="the categories whose assets the caller may read")


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
def me(request: Request, who: Caller) -> Me:
    """The caller's tenant, role and granted brands."""
    return Me(tenant=who.tenant, role=who.role, brands=sorted(who.brands), categories=_categories(request, who))


@router.get("/brands")
def brands(request: Request, who: Caller, paging: Paging) -> Brands:
    """The tenant's brands with their category, and the data's last day."""
    def category_of() -> dict[str, str]:
        cats = brand_categories(warehouse(request))
        return dict(zip(cats.brand_id, cats.category_id, strict=True))

    cat = cached(request, ("brand_categories",), category_of)
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


Scope = Annotated[Literal["brand", "category"], Query(description="brand, or category (level-2 category)")]
Key = Annotated[str, Query(description="the brand id or category id (see scope)", max_length=200)]
Start = Annotated[date | None, Query(description="the first day (default: 30 days to the end)")]
End = Annotated[date | None, Query(description="the last day (default: the data's last day)")]


def _categories(request: Request, who: Principal) -> list[str]:
    """The categories the caller may read: those of its brands (peers permitting), and for an admin of a workspace
    whose data has no brands (category-only data), every category."""
    def compute() -> list[str]:
        wh = warehouse(request)
        if brand_categories(wh).empty:
            return categories(wh) if who.can("admin") else []
        return categories(wh, who.brands)
    return cached(request, ("categories", who.brands, who.role), compute)


def key_of(request: Request, who: Principal, scope: str, key: str) -> str:
    """`key` if the caller may read it in `scope`; 403 otherwise (the same answer whether or not it exists)."""
    if scope == "brand":
        return brand_of(who, key)
    if key not in _categories(request, who):
        raise HTTPException(403, f"category {key!r} is not readable by tenant {who.tenant!r} (only its brands' "
                                 "categories, and only with enough other brands in them)")
    return key


def _span(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for: its end the data's last day, its start 30 days to the end, unless given."""
    return period(start, end, last_day=data_day(request) if end is None else None)


class Band(BaseModel):
    """The category's peer brands' P25 / P50 / P75 per state (each peer's average daily count over the period)."""

    P25: dict[str, float] | None
    P50: dict[str, float] | None
    P75: dict[str, float] | None
    peers: int
    withheld: str | None = Field(None, description="why the percentiles are not shown (too few peers)")


class Series(BaseModel):
    """Daily AIPL and DEEPLINK counts of a brand or category, the same days a year earlier, and the peer band."""

    key: str
    scope: str
    start: date
    end: date
    items: list[dict[str, Any]] = Field(description="one row per day: day, A, I, P, L, discover … keen")
    last_year: list[dict[str, Any]] = Field(description="the same rows 365 days earlier, or [] without data then")
    benchmark: Band | None = Field(description="null for a category")


class FlowItem(BaseModel):
    """One DEEPLINK flow between two different stages: its movers, 流转率, 环比 rate and touches by channel."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    n: int
    rate: float | None
    previous_rate: float | None
    channels: dict[str, int]


class DeeplinkFlow(BaseModel):
    """DEEPLINK-to-DEEPLINK flows between two days: matrix, 流转率, 环比 rates over the previous period, and each
    channel's contribution to each flow."""

    model_config = ConfigDict(populate_by_name=True)

    scope: str
    key: str
    from_: str = Field(alias="from")
    to: str
    previous: dict[str, str]
    stages: list[str]
    matrix: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    previous_rates: dict[str, dict[str, float | None]]
    flows: list[FlowItem]


def _rows(df) -> list[dict]:
    return records(df.assign(day=df.day.astype(str).str[:10]))


@router.get("/assets/series", response_model=Series)
def assets_series(request: Request, who: Caller, key: Key, scope: Scope = "brand", start: Start = None,
                  end: End = None) -> dict:
    """The daily AIPL and DEEPLINK counts of a brand or category over a period (default: the 30 days to the last
    day), the same days a year earlier, and the category's peer band (brands only)."""
    key_of(request, who, scope, key)
    start, end = _span(request, start, end)

    def compute() -> dict:
        wh = warehouse(request)
        items, before = series(wh, scope, key, start, end), last_year(wh, scope, key, start, end)
        band = trend_benchmark(wh, key, start, end, viewer=who.brands) if scope == "brand" else None
        return {"key": key, "scope": scope, "start": start, "end": end, "items": _rows(items),
                "last_year": _rows(before) if len(before) else [],
                "benchmark": None if band is None else {k: band[k] for k in ("P25", "P50", "P75", "peers", "withheld")}}
    return cached(request, ("series", who.brands, scope, key, start, end), compute)


@router.get("/assets/snapshot")
def assets_snapshot_of(request: Request, who: Caller, key: Key, scope: Scope = "brand",
                       day: Annotated[date | None, Query(description="default: the last day")] = None) -> Snapshot:
    """How many consumers are in each AIPL and DEEPLINK state of a brand or category on `day`."""
    key_of(request, who, scope, key)
    day = day or data_day(request)
    out = cached(request, ("snapshot", scope, key, day), lambda: snapshot(warehouse(request), scope, key, day))
    return Snapshot(**out, labels={**AIPL_LABELS, **DEEPLINK_LABELS})


@router.get("/assets/flow", response_model=Flow)
def assets_flow_of(request: Request, who: Caller, key: Key, scope: Scope = "brand", start: Start = None,
                   end: End = None) -> dict:
    """The AIPL flow matrix of a brand or category between two days (default: the 30 days to the last day)."""
    key_of(request, who, scope, key)
    start, end = _span(request, start, end)
    return cached(request, ("flow", scope, key, start, end), lambda: flow(warehouse(request), scope, key, start, end))


@router.get("/assets/deeplink-flow", response_model=DeeplinkFlow)
def assets_deeplink_flow(request: Request, who: Caller, key: Key, scope: Scope = "brand", start: Start = None,
                         end: End = None) -> dict:
    """DEEPLINK-to-DEEPLINK flows between two days (default: the 30 days to the last day): counts, 流转率, 环比
    rates over the previous period of the same length, and each channel's touches among each flow's movers."""
    key_of(request, who, scope, key)
    start, end = _span(request, start, end)
    return cached(request, ("deeplink_flow", scope, key, start, end),
                  lambda: deeplink_flow(warehouse(request), scope, key, start, end))
