"""Autopilot: a scene's budget split across channels, and the sequenced-delivery actions by stage."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from aipl.api.deps import ERRORS, Caller, brand_of, cached, warehouse
from aipl.api.routers.assets import data_day

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
         roi_floor: Annotated[float | None, Query(ge=0, lt=1e9)] = None) -> dict:
    """The daily budget split across channels that maximises the scene's aim, with expected outcome."""
    from aipl.autopilot.scenes import SCENES, scene_plan

    brand_of(who, brand)
    if scene not in SCENES:
        raise HTTPException(422, f"unknown scene {scene!r}; one of {', '.join(SCENES)}")
    return scene_plan(warehouse(request), brand, scene, budget, campaign, min_share, max_share, roi_floor)


@router.get("/{brand}/sequence")
def sequence(request: Request, who: Caller, brand: str, day: date | None = None) -> dict:
    """How many consumers get each next action by DEEPLINK stage (序列化投放), frequency-capped."""
    from aipl.autopilot.sequence import Cap, next_actions

    brand_of(who, brand)
    wh = warehouse(request)
    section = dict(wh.config.raw.get("sequence", {}))
    cap = Cap(int(section.pop("cap_contacts", 3)), int(section.pop("cap_days", 7)))
    day = day or data_day(request)
    acts = cached(request, ("sequence", brand, day), lambda: next_actions(wh, brand, day, section, cap))
    table = acts.groupby(["deeplink", "action"]).size().rename("consumers").reset_index()
    from aipl.assets import DEEPLINK_LABELS

    return {"brand": brand, "cap": [cap.contacts, cap.days], "items": table.to_dict("records"),
            "labels": DEEPLINK_LABELS}
