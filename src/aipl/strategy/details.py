"""What a plan's page shows beside the plan itself: its progress, the recommended strategies and the dated
action plan; and the plan a brand can make today for its latest campaign with last year's counterpart."""

from __future__ import annotations

import ibis

from aipl.strategy.calendar import last_year, load_campaign
from aipl.strategy.gta import plan as make_plan
from aipl.strategy.progress import progress
from aipl.strategy.rules import action_plan, recommend
from aipl.warehouse import Warehouse


def plan_details(wh: Warehouse, plan: dict) -> dict:
    """The plan (see `plan`) with its progress against last year and the benchmark, the recommended strategies
    and the day-by-day action plan, under the keys plan, progress, recommendations and actions.

    >>> d = plan_details(wh, plan(wh, "B01", "sim_double11", gmv_target=1e6))  # doctest: +SKIP
    >>> sorted(d)  # doctest: +SKIP
    ['actions', 'plan', 'progress', 'recommendations']
    """
    prog = progress(wh, plan)
    recs = recommend(wh, plan, prog)
    actions = action_plan(plan, recs, load_campaign(wh, plan["campaign"]["campaign_id"]))
    return {"plan": plan, "progress": prog, "recommendations": recs, "actions": actions}


def latest_plan(wh: Warehouse, brand: str) -> dict | None:
    """The brand's plan (no target) for the latest campaign that has last year's counterpart with GMV, or None
    when no campaign has one.

    >>> p = latest_plan(wh, "B01")  # doctest: +SKIP
    >>> p["baseline"]["campaign_id"]  # doctest: +SKIP
    'sim_double11_ly'
    """
    c = wh.table("campaigns")
    ids = c.group_by("campaign_id").aggregate(first=c.start_date.min()).order_by(ibis.desc("first"))
    for cid in ids.execute().campaign_id:
        try:
            ly = last_year(wh, load_campaign(wh, cid), brand)
        except ValueError:
            continue
        if ly is None:
            continue
        p = make_plan(wh, brand, cid, baseline=ly.campaign_id)
        return p if p["last_year"]["gmv"] else None
    return None
