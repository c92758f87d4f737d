"""Autopilot: a scene's budget split across channels, and the sequenced-delivery actions by stage."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from aipl.api.deps import ERRORS, Caller, brand_of, cached, warehouse
from aipl.api.routers.assets import data_day
from aipl.api.routers.crowds import crowd_tree

router = APIRouter(prefix="/api/autopilot", tags=["autopilot"], responses=ERRORS)


@router.get("/scenes")
def scenes(who: Caller) -> dict:
    """The 万相台 scenes with their aim and KPIs."""
    from aipl.autopilot.scenes import SCENES

    return {"items": [{"name": s.name, "code": s.code, "aim": s.aim, "kpis": list(s.kpis)} for s in SCENES.values()]}


@router.get("/{brand}/plan")
def plan(request: Request, who: Caller, brand: str, scene: str, campaign: str,
         budget: Annotated[float, Query(gt=0, lt=1e12, description="daily budget")],
         min_share: Annotated[float, Query(ge=0, le=1)] = 0.0, max_share: Annotated[float, Query(ge=0, le=1)] = 1.0,
         roi_floor: Annotated[float | None, Query(ge=0, lt=1e9)] = None,
         item: Annotated[list[str] | None, Query(description="items to promote (≤ 10)")] = None,
         crowd: Annotated[list[str] | None, Query(description="target crowds (saved or built-in)")] = None,
         strategy: Annotated[Literal["cost_first", "effect_first"], Query()] = "cost_first",
         min_marginal: Annotated[float | None, Query(ge=0, lt=1e9)] = None) -> dict:
    """The daily budget split across channels that maximises the scene's aim on the chosen items and target
    crowds, with the expected outcome, its 90% interval and the scene's efficiency KPI."""
    from aipl.autopilot.scenes import SCENES, scene_plan

    brand_of(who, brand)
    if scene not in SCENES:
        raise HTTPException(422, f"unknown scene {scene!r}; one of {', '.join(SCENES)}")
    wh = warehouse(request)
    consumers = None
    if crowd:
        from aipl.audience.crowds import consumers_of

        try:
            consumers = consumers_of(wh, request.app.state.tag_index(wh),
                                     [crowd_tree(request, who, name) for name in crowd[:20]])
        except (KeyError, ValueError) as exc:
            raise HTTPException(422, str(exc).replace(f"{who.tenant}:", "")) from exc
    return scene_plan(wh, brand, scene, budget, campaign, min_share, max_share, roi_floor, tuple(item or ()),
                      consumers, strategy, min_marginal)


@router.get("/{brand}/sequence")
def sequence(request: Request, who: Caller, brand: str, day: date | None = None) -> dict:
    """How many consumers get each next action by DEEPLINK stage (序列化投放), frequency-capped."""
    from aipl.autopilot.sequence import from_config, next_actions

    brand_of(who, brand)
    wh = warehouse(request)
    section, cap = from_config(wh.config.raw.get("sequence"))
    day = day or data_day(request)
    acts = cached(request, ("sequence", brand, day), lambda: next_actions(wh, brand, day, section, cap))
    table = acts.groupby(["deeplink", "action"]).size().rename("consumers").reset_index()
    from aipl.assets import DEEPLINK_LABELS

    return {"brand": brand, "cap": [cap.contacts, cap.days], "items": table.to_dict("records"),
            "labels": DEEPLINK_LABELS}
