"""What a GTA plan's page shows beyond the plan itself: its progress against last year and the benchmark, the
recommended strategies and the dated action plan."""

from __future__ import annotations

from aipl.strategy.calendar import load_campaign
from aipl.strategy.progress import progress
from aipl.strategy.rules import action_plan, recommend
from aipl.warehouse import Warehouse


def plan_details(wh: Warehouse, plan: dict) -> dict:
    """The progress (see `aipl.strategy.progress.progress`), the recommendations (largest expected GMV first)
    and the day-by-day action plan of a plan made by `aipl.strategy.plan`:
    {"progress": ..., "recommendations": [...], "actions": [...]}.

    >>> from aipl.strategy import plan
    >>> details = plan_details(wh, plan(wh, "B01", "sim_double11"))  # doctest: +SKIP
    >>> sorted(details)  # doctest: +SKIP
    ['actions', 'progress', 'recommendations']
    """
    prog = progress(wh, plan)
    recs = recommend(wh, plan, prog)
    return {"progress": prog, "recommendations": recs,
            "actions": action_plan(plan, recs, load_campaign(wh, plan["campaign"]["campaign_id"]))}
