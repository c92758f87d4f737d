"""Brand health: FAST with industry percentiles, the ranking (other tenants' brands anonymised), GROW."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, cached, data_day, warehouse
from aipl.assets import fast_ranking, fast_summary, grow, period, records

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERRORS)
Day = Annotated[date | None, Query(description="default: the 30 days to the last day")]


class Period(BaseModel):
    """A period: its first (`from`) and last (`to`) day."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str


class FastBrand(BaseModel):
    """FAST of one brand, F's index against its category's median (100), and each metric's percentile (0–1)."""

    brand_id: str
    category_id: str | None
    F: int
    F_index: float | None
    A: float | None
    S: int
    T: float | None
    aipl_start: float
    advanced: float
    active: float
    F_pct: float | None
    A_pct: float | None
    S_pct: float | None
    T_pct: float | None
    withheld: str | None = Field(None, description="why the index and percentiles are not shown (too few peers)")


class Benchmark(BaseModel):
    """One metric's P25/P50/P75/P90 across the brands of a category."""

    category_id: str
    metric: str
    brands: int
    P25: float | None
    P50: float | None
    P75: float | None
    P90: float | None
    withheld: str | None = Field(None, description="why the percentiles are not shown (too few peers)")


class Fast(Period):
    """FAST of the tenant's brands over the period and their categories' percentiles."""

    brands: list[FastBrand]
    benchmarks: list[Benchmark]


class Ranked(BaseModel):
    """A brand's place in its category's 榜单; another tenant's brand is 同行 peer, with no figures; in a category of
    too few other brands only the tenant's own, with no place (`withheld` says why)."""

    category_id: str | None
    rank: int | None
    brand_id: str
    own: bool
    score: float | None
    F: float | None
    A: float | None
    S: float | None
    T: float | None
    withheld: str | None = None


class Ranking(Period, PageOf[Ranked]):
    """A page of the 榜单 of the categories the tenant sells in."""


class GrowCrowd(BaseModel):
    """GMV of a strategy crowd in both periods, and its change split into G, R and O."""

    gmv0: float
    gmv1: float
    buyers0: int
    buyers1: int
    G: float
    R: float
    O: float  # noqa: E741 (GROW's letter)


class GrowSegment(GrowCrowd):
    """GMV of new or returning customers in both periods, and its change split into G, R and O."""

    occasions0: int
    occasions1: int


class NewProductStrength(BaseModel):
    """W 新品力 (快消): the components, their index against the category median (100), and their mean."""

    components: dict[str, float]
    index: dict[str, float | None]
    peers: int
    score: float | None
    withheld: str | None = None


class Grow(BaseModel):
    """GROW: the GMV change between two periods split into G 渗透, R 复购, O 价格, and W."""

    brand: str
    period0: list[str]
    period1: list[str]
    gmv0: float
    gmv1: float
    delta: float
    G: float
    R: float
    O: float  # noqa: E741 (GROW's letter)
    W: float
    segments: dict[str, GrowSegment]
    crowds: dict[str, GrowCrowd] | None = Field(None, description="by strategy crowd, once crowd tags exist")
    W_fmcg: NewProductStrength


def _period(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for, its end the data's last day unless given."""
    return period(start, end, last_day=data_day(request) if end is None else None)


@router.get("/fast", response_model=Fast)
def health_fast(request: Request, who: Caller, start: Day = None, end: Day = None) -> dict:
    """FAST per granted brand (F 可运营人群, A 加深率, S 会员, T 会员活跃率), each metric's percentile within
    its category, and its peers' P25/P50/P75/P90 (aggregates only; withheld below [privacy] min_peer_brands)."""
    start, end = _period(request, start, end)
    return cached(request, ("fast", start, end), lambda: fast_summary(
        warehouse(request), start, end, brands=who.brands, viewer=who.brands).to_dict())


@router.get("/ranking", response_model=Ranking)
def health_ranking(request: Request, who: Caller, paging: Paging, start: Day = None, end: Day = None,
                   category: str | None = None) -> dict:
    """The FAST 健康度榜单 of the categories the tenant sells in; other tenants' brands appear as 同行 peers with
    their rank and score only."""
    start, end = _period(request, start, end)
    rows = cached(request, ("ranking", start, end, category),
                  lambda: records(fast_ranking(warehouse(request), start, end, category, brands=who.brands)))
    return {"from": str(start), "to": str(end), **paging.cut(rows)}


@router.get("/grow/{brand}", response_model=Grow)
def health_grow(request: Request, who: Caller, brand: str, start0: date, end0: date, start1: date,
                end1: date) -> dict:
    """GROW: the GMV change between two periods split into G 渗透, R 复购, O 价格 and W."""
    brand_of(who, brand)
    return grow(warehouse(request), brand, (start0, end0), (start1, end1), viewer=who.brands)
