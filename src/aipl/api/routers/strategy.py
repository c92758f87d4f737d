"""Strategy Center: the campaign calendars and a brand's GTA plan of a campaign (pools, gaps, progress against last
year and the benchmark, recommendations, action plan). Read-only: calendars declared in aipl.toml are read, not
saved, and the plan reads the consumer assets as last built (the service builds them at start and after each load)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, brand_of, warehouse
from aipl.strategy import backtest as backtest_brands
from aipl.strategy import campaigns
from aipl.strategy import plan as make_plan

router = APIRouter(prefix="/api/strategy", tags=["strategy"], responses=ERRORS)


class Phase(BaseModel):
    """One phase of a calendar (a two-wave calendar repeats a phase)."""

    phase: str
    start: str
    end: str


class CampaignOut(BaseModel):
    """A campaign's calendar: its days, phases, presale start (day 0) and last selling day."""

    campaign_id: str
    name: str
    brand: str | None
    start: str
    end: str
    phases: list[Phase]
    presale_start: str
    selling_end: str


class Campaigns(BaseModel):
    """Every campaign calendar, the earliest first."""

    items: list[CampaignOut]


class PoolRow(BaseModel):
    """One pool of the plan: last year's size and rates, the projection, the forecast and, with a target, the
    need and the gap."""

    pool: str
    label: str
    last_size: int | None
    last_buyers: int
    last_gmv: float
    cvr: float | None
    share: float | None
    aov: float | None
    growth: float
    current: int | None
    projected: float | None
    forecast_buyers: float
    forecast_gmv: float
    forecast_size: float | None = None
    size_low: float | None = None
    size_high: float | None = None
    naive_size: float | None = None
    buyers_needed: float | None = None
    size_needed: float | None = None
    gap: float | None = None
    buyers_gap: float | None = None


class LastYear(BaseModel):
    """Last year's campaign for the brand."""

    buyers: int
    gmv: float
    new_buyers: int
    aov: float | None


class Source(BaseModel):
    """Where a pool's projection, CVR and share came from."""

    projected: str
    cvr: str
    share: str


class Interval(BaseModel):
    """A forecast's interval: its bounds, level, how it was sized and from how many past brand-campaigns."""

    low: float | None
    high: float | None
    level: float
    method: str
    n: int


class PlanBacktest(BaseModel):
    """The rolling backtest behind the method: each method's mean absolute percentage error on the brand's
    past campaigns, their number, and the brand-campaigns that sized the interval."""

    errors: dict[str, float]
    n_campaigns: int
    n_brand_campaigns: int


class PlanWarning(BaseModel):
    """Why the history may not support the forecast: a short code and a message."""

    code: str
    message: str


class Goal(BaseModel):
    """Where the campaign stands: upcoming, running (through a day) or finished; its GMV and buyers so far over
    the target, our forecast and the naive one."""

    status: str
    through: str | None = None
    gmv: float | None = None
    buyers: int | None = None
    vs_target: float | None = None
    vs_forecast: float | None = None
    vs_naive: float | None = None


class Benchmark(BaseModel):
    """What the benchmark (标杆) is: its label, the peer brands behind it and its source."""

    label: str
    peers: int
    source: str
    industry: bool


class SeriesRow(BaseModel):
    """A pool's size on one day (by offset from the presale start): this year, last year, benchmark, need."""

    pool: str
    offset: int
    day: str
    phase: str | None
    this_year: float | None
    last_year: float
    yoy: float | None
    benchmark_yoy: float | None
    benchmark: float | None
    needed: float | None


class PhaseGap(BaseModel):
    """A pool at the end of a begun phase (or today) against last year, the benchmark and the need."""

    phase: str
    day: str
    pool: str
    this_year: int
    last_year: int
    gap_to_last_year: float
    gap_to_benchmark: float | None
    gap_to_needed: float | None


class Progress(BaseModel):
    """The pools by day against last year and the benchmark (P75 of the peers' growth), and the gaps per phase."""

    brand: str
    peers: list[str]
    as_of: str
    series: list[SeriesRow]
    phases: list[PhaseGap]
    withheld: str | None = None
    benchmark: Benchmark | None = None


class Recommendation(BaseModel):
    """A strategy that closes a pool's gap, with its crowd, scene and expected effect."""

    rule: str
    label: str
    pool: str
    phases: list[str]
    gap: float
    gap_basis: str
    crowd: str
    crowd_size: int
    crowd_expr: str | None
    scene: str
    consumers: float
    expected_buyers: float
    expected_gmv: float


class DayAction(BaseModel):
    """A strategy running on a day, with its share of the day's budget."""

    rule: str
    label: str
    crowd: str
    scene: str
    budget_share: float


class ActionDay(BaseModel):
    """One day of the action plan: its stage, campaign phase and running strategies."""

    day: str
    stage: str
    phase: str
    actions: list[DayAction]


class GtaPlanOut(BaseModel):
    """A brand's campaign plan (see docs/strategy.md): the GTA figures, progress, recommendations and actions."""

    brand: str
    campaign: CampaignOut
    baseline: CampaignOut
    as_of: str
    days_to_presale: int
    last_year: LastYear
    rates_from: str
    aov: float | None
    aov_source: str
    pools: list[PoolRow]
    sources: dict[str, Source]
    forecast_buyers: float
    forecast_gmv: float
    brand_growth: float
    method: str
    method_label: str
    method_reason: str
    methods: dict[str, float]
    backtest: PlanBacktest
    pool_gmv: float
    naive_gmv: float
    gmv_interval: Interval
    warnings: list[PlanWarning]
    gmv_target: float | None = None
    buyers_needed: float | None = None
    new_share: float | None = None
    new_buyers_needed: float | None = None
    gmv_gap: float | None = None
    growth_needed: float | None = None
    progress: Progress
    recommendations: list[Recommendation]
    actions: list[ActionDay]
    goal: Goal


class PoolBacktest(BaseModel):
    """One pool of a backtest: forecast (预计) against actual (实际) buyers, GMV and size, 完成率 and the error."""

    pool: str
    label: str
    predicted_buyers: float
    actual_buyers: int
    predicted_gmv: float
    actual_gmv: float
    predicted_size: float | None
    actual_size: int | None
    completion: float | None
    ape: float | None


class BrandBacktest(BaseModel):
    """One brand's backtest: its forecast, planned on `as_of` from the baseline campaign, against what happened."""

    brand: str
    campaign: str
    baseline: str
    as_of: str
    pools: list[PoolBacktest]
    predicted_gmv: float
    actual_gmv: float
    predicted_buyers: float
    actual_buyers: int
    completion: float | None
    total_ape: float | None
    pool_mape: float | None
    naive_gmv: float
    naive_ape: float | None


class BacktestOut(BaseModel):
    """The GTA forecast of a past campaign against what happened, with the naive forecast (last year's GMV)."""

    campaign: str
    days_before: int
    brands: list[BrandBacktest]
    predicted_gmv: float
    actual_gmv: float
    total_ape: float | None
    naive_gmv: float
    naive_ape: float | None


def visible_campaigns(request: Request, who: Principal) -> list:
    """The campaign calendars the tenant may see: the platform-wide ones and its own brands'."""
    return [c for c in campaigns(warehouse(request)) if c.brand is None or c.brand in who.brands]


def campaign_of(request: Request, who: Principal, campaign: str | None) -> str | None:
    """`campaign` (None stays None) if the tenant may see it; 422 otherwise, the same answer as for an unknown one,
    naming only the campaigns the tenant may see."""
    mine = [c.campaign_id for c in visible_campaigns(request, who)]
    if campaign is not None and campaign not in mine:
        raise HTTPException(422, f"unknown campaign {campaign!r}; known: {', '.join(mine) or 'none'}")
    return campaign


@router.get("/campaigns", response_model=Campaigns)
def campaign_list(request: Request, who: Caller) -> dict:
    """The campaign calendars the tenant may see (the campaigns table and aipl.toml): the platform-wide ones and
    its own brands', the earliest first."""
    return {"items": [c.to_dict() for c in visible_campaigns(request, who)]}


@router.get("/{brand}/plan", response_model=GtaPlanOut)
def plan(request: Request, who: Caller, brand: str, campaign: str,
         gmv_target: Annotated[float | None, Query(gt=0, lt=1e13)] = None, day: date | None = None,
         baseline: str | None = None, aov: Annotated[float | None, Query(gt=0, lt=1e9)] = None) -> dict:
    """GTA: from a GMV target to the consumers each pool must hold, the gaps, progress and recommendations, as
    of `day` (default: the last data day, at the latest the eve of the presale). The forecast names its method
    (chosen by a backtest on the brand's history), its 90 % interval, the naive forecast beside it and any
    warning about the history behind it."""
    brand_of(who, brand)
    campaign_of(request, who, campaign)
    campaign_of(request, who, baseline)
    return make_plan(warehouse(request), brand, campaign, gmv_target, day, baseline, aov, who.brands).to_dict()


@router.get("/{brand}/backtest", response_model=BacktestOut)
def backtest(request: Request, who: Caller, brand: str, campaign: str,
             days_before: Annotated[int, Query(ge=0, le=366)] = 0, baseline: str | None = None) -> dict:
    """Backtest the GTA forecast of a past campaign planned `days_before` its presale from the campaign a year
    earlier: 预计 vs 实际 and 完成率 per pool, and the errors."""
    brand_of(who, brand)
    campaign_of(request, who, campaign)
    campaign_of(request, who, baseline)
    return backtest_brands(warehouse(request), campaign, [brand], days_before, baseline, who.brands).to_dict()
