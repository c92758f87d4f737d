"""Autopilot: a scene's budget split across channels, and the sequenced-delivery actions by stage."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from aipl.api.deps import ERRORS, Caller, brand_of, cached, warehouse
from aipl.api.routers.crowds import crowd_tree_of
from aipl.api.routers.strategy import campaign_of
from aipl.assets import DEEPLINK_LABELS
from aipl.autopilot import SCENES, latest_campaign, plan_budget, plan_crowds, plan_sequence, what_if
from aipl.pipeline import gap_budget

router = APIRouter(prefix="/api/autopilot", tags=["autopilot"], responses=ERRORS)


class SceneOut(BaseModel):
    """A 万相台 scene: its code, the outcome it buys (`aim`) and the KPIs it reports, its other seed names, and
    for crowd × channel plans its incremental aim (`cell_aim`) and target DEEPLINK `stages`."""

    name: str
    code: str
    aim: str
    kpis: list[str]
    aliases: list[str] = []
    cell_aim: str = ""
    stages: list[str] = []


class CellOut(BaseModel):
    """One crowd × channel cell of a plan: its share and spend a day, the impressions, the incremental outcome
    with its 90% bounds, and the attributed (宽) figure beside it."""

    cell: str
    channel: str
    crowd: str
    stage: str
    share: float
    spend: float
    impressions: float
    incremental: float
    incremental_low: float | None = None
    incremental_high: float | None = None
    attributed: float | None = None


class CellPlanOut(BaseModel):
    """A scene's daily budget over crowd × channel cells valued by incremental outcome: the total with its
    interval, attributed (宽) beside, an equal split, ROI or cost per outcome, the cells, the history's source,
    and on the simulator the comparison with the channel-only plan, an equal split and the oracle."""

    scene: str
    code: str
    aim: str
    aim_label: str
    budget: float
    shares: dict[str, float]
    incremental: float
    interval: list[float] | None = None
    attributed: float
    equal_split: float
    roi: float | None = None
    cost_per_outcome: float | None = None
    confidence: float
    cells: list[CellOut]
    source: str
    comparison: dict | None = None


class WhatIfOut(BaseModel):
    """What a budget a day buys over `days` (outcome with its 90% interval), or what budget a day a target
    needs (with the budgets at the plan's upper and lower bounds; null: out of reach)."""

    scene: str
    aim: str
    days: int
    budget: float | None = None
    outcome: float | None = None
    interval: list[float] | None = None
    target: float | None = None
    budget_interval: list[float | None] | None = None
    source: str


class ScenesOut(BaseModel):
    """The scenes."""

    items: list[SceneOut]


class BudgetPlanOut(BaseModel):
    """A daily budget split across channels (or channel × crowd cells) for a scene's aim (or impressions): the
    shares, the spend a day, the expected outcome against an equal split with its 90% interval, and the KPIs."""

    brand: str
    aim: str
    budget: float
    spend: float
    shares: dict[str, float]
    objective: float
    equal_split: float
    scene: str | None = None
    code: str | None = None
    kpis: list[str] = []
    campaign: str | None = None
    strategy: str | None = None
    items: list[str] = []
    target_consumers: int | None = None
    values: dict[str, float] = {}
    roi: float | None = None
    roi_floor: float | None = None
    min_marginal: float | None = None
    objective_interval: list[float] | None = None
    expected: dict[str, float | None] = {}


class ActionCount(BaseModel):
    """How many consumers of a DEEPLINK stage get an action today (`hold`: capped)."""

    deeplink: str
    action: str
    consumers: int


class SequenceOut(BaseModel):
    """Sequenced delivery (序列化投放) on a day: consumers per stage and next action, the frequency cap
    (contacts, days), the stages' labels, and the flight's results when one was asked for."""

    brand: str
    day: date
    cap: list[int]
    items: list[ActionCount]
    labels: dict[str, str]
    flight: dict | None = None
    delivery: dict | None = None


@router.get("/scenes")
def scenes(who: Caller) -> ScenesOut:
    """The 万相台 scenes with their aim and KPIs."""
    return ScenesOut(items=[SceneOut(name=s.name, code=s.code, aim=s.aim, kpis=list(s.kpis), aliases=list(s.aliases),
                                     cell_aim=s.cell_aim, stages=list(s.stages)) for s in SCENES.values()])


SceneQ = Annotated[str, Query(max_length=32, description="a scene or its alias (爆款快, 新品快, 入会快)")]
CrowdsQ = Annotated[int | None, Query(ge=1, le=20, description="simulated crowds (default: the 7 DEEPLINK stages)")]
ChannelsQ = Annotated[int, Query(ge=1, le=6, description="simulated channels")]
SeedQ = Annotated[int, Query(ge=0, lt=2**31)]


@router.get("/cells")
def cells(request: Request, who: Caller, scene: SceneQ,
          budget: Annotated[float, Query(gt=0, lt=1e12, description="the budget a day")],
          min_share: Annotated[float, Query(ge=0, le=1)] = 0.0, max_share: Annotated[float, Query(ge=0, le=1)] = 1.0,
          crowds: CrowdsQ = None, channels: ChannelsQ = 5, seed: SeedQ = 0) -> CellPlanOut:
    """The scene's daily budget over crowd × channel cells by incremental outcome, with attributed (宽) beside,
    on the simulator's cell market (a workspace holds no cell history yet), against its hidden truth."""
    return CellPlanOut(**cached(request, ("cells", scene, budget, min_share, max_share, crowds, channels, seed),
                                lambda: plan_crowds(scene, budget, None, (), min_share, max_share, crowds, channels,
                                                    60, seed).to_dict()))


@router.get("/whatif")
def whatif(request: Request, who: Caller, scene: SceneQ,
           budget: Annotated[float | None, Query(gt=0, lt=1e12, description="what this budget a day buys")] = None,
           target: Annotated[float | None, Query(gt=0, lt=1e15, description="what budget buys this outcome")] = None,
           days: Annotated[int, Query(ge=1, le=366, description="days the budget runs")] = 1,
           crowds: CrowdsQ = None, channels: ChannelsQ = 5, seed: SeedQ = 0) -> WhatIfOut:
    """What a budget buys of the scene's incremental outcome over `days`, or what budget a target needs, with
    90% intervals (give budget or target)."""
    return WhatIfOut(**cached(request, ("whatif", scene, budget, target, days, crowds, channels, seed),
                              lambda: what_if(scene, budget, target, days, None, (), crowds, channels, 60,
                                              seed).to_dict()))


@router.get("/{brand}/plan")
def plan(request: Request, who: Caller, brand: str,
         budget: Annotated[float, Query(gt=0, lt=1e12, description="the budget: a day's, or the package's")],
         scene: Annotated[str | None, Query(max_length=32, description="a scene (default: impressions)")] = None,
         campaign: Annotated[str | None, Query(max_length=128, description="default: the brand's latest")] = None,
         budget_mode: Literal["daily", "package"] = "daily",
         start: Annotated[date | None, Query(description="first day of a package budget")] = None,
         end: Annotated[date | None, Query(description="last day of a package budget")] = None,
         min_share: Annotated[float, Query(ge=0, le=1)] = 0.0, max_share: Annotated[float, Query(ge=0, le=1)] = 1.0,
         roi_floor: Annotated[float | None, Query(ge=0, lt=1e9)] = None,
         item: Annotated[list[str] | None, Query(description="items to promote (≤ 10)")] = None,
         crowd: Annotated[list[str] | None, Query(description="target crowds (saved or built-in; ≤ 20)")] = None,
         strategy: Annotated[Literal["cost_first", "effect_first"], Query()] = "cost_first",
         min_marginal: Annotated[float | None, Query(ge=0, lt=1e9)] = None) -> BudgetPlanOut:
    """The daily budget split across channels that maximises the scene's aim on the chosen items and target
    crowds, with the expected outcome, its 90% interval and the scene's efficiency KPI."""
    brand_of(who, brand)
    campaign_of(request, who, campaign)
    for c in crowd or ():  # a target crowd may be an expression: it names only the tenant's brands
        crowd_tree_of(request, who, c)
    wh = warehouse(request)
    index = request.app.state.tag_index(wh) if crowd else None
    res = plan_budget(wh, brand, budget, scene, campaign, budget_mode, start, end, min_share, max_share, roi_floor,
                      tuple(item or ()), tuple(crowd or ()), strategy, min_marginal, who.tenant, index)
    return BudgetPlanOut(**res.to_dict())


@router.get("/{brand}/sequence")
def sequence(request: Request, who: Caller, brand: str, day: date | None = None,
             flight: Annotated[int, Query(ge=0, le=56, description="days of a flight on the simulator's hidden "
                                          "journeys (0: none)")] = 0,
             reach: Annotated[float, Query(gt=0, le=1, description="share reachable a day in the flight")] = 0.3,
             seed: Annotated[int, Query(ge=0, lt=2**31)] = 0) -> SequenceOut:
    """How many consumers get each next action by DEEPLINK stage (序列化投放), frequency-capped."""
    brand_of(who, brand)

    def compute() -> dict:
        res = plan_sequence(warehouse(request), brand, day, flight, reach, seed)
        body = res.to_dict()
        return {"brand": brand, "day": res.day, "cap": body["cap"], "items": body["actions"],
                "flight": body["flight"], "delivery": body.get("delivery")}
    return SequenceOut(**cached(request, ("sequence", brand, day, flight, reach, seed), compute),
                       labels=DEEPLINK_LABELS)


class GapBudgetOut(BaseModel):
    """What budget fills the brand's GTA gaps for a GMV target: the pool gap by the presale eve (预热蓄水) and
    the GMV gap over the burst days (爆发收割), each a what-if with its interval, and the total (null: out of
    reach)."""

    brand: str
    campaign: str
    pool_gap: float
    pool_days: int
    pools: WhatIfOut | None = None
    gmv_gap: float
    gmv_days: int
    gmv: WhatIfOut | None = None
    total: float | None = None
    source: str


@router.get("/{brand}/gaps")
def gaps(request: Request, who: Caller, brand: str,
         gmv_target: Annotated[float, Query(gt=0, lt=1e13, description="the campaign's GMV target")],
         campaign: Annotated[str | None, Query(max_length=128, description="default: the latest")] = None,
         gmv_days: Annotated[int, Query(ge=1, le=60, description="days of the burst (爆发期)")] = 3,
         seed: SeedQ = 0) -> GapBudgetOut:
    """What budget fills the brand's GTA pool gaps by the presale eve and its GMV gap in the burst, with 90%
    intervals (on the simulator's cell market: a workspace holds no cell history yet)."""
    brand_of(who, brand)
    wh = warehouse(request)
    camp = campaign_of(request, who, campaign) or latest_campaign(wh, brand)
    return GapBudgetOut(**cached(request, ("gaps", brand, camp, gmv_target, gmv_days, seed),
                                 lambda: gap_budget(wh, brand, camp, gmv_target, gmv_days, None, seed,
                                                    viewer=who.brands).to_dict()))
