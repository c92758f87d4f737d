"""What a plan's page shows beside the GTA figures: their progress, the recommended strategies and the dated
action plan."""

from __future__ import annotations

from collections.abc import Iterable

from aipl.strategy.calendar import load_campaign
from aipl.strategy.progress import goal_progress, progress
from aipl.strategy.rules import action_plan, recommend
from aipl.warehouse import Warehouse


def plan_details(wh: Warehouse, gta: dict, viewer: Iterable[str] | None = None) -> dict:
    """The progress of GTA figures (of `gta_plan`) against last year and the benchmark, the recommended
    strategies, the day-by-day action plan and where the campaign stands against the plan, under the keys
    progress, recommendations, actions and goal (the
    public `plan` adds them to its result); the benchmark as a `viewer`, a tenant's brands, may see it."""
    prog = progress(wh, gta, viewer)
    recs = recommend(wh, gta, prog)
    actions = action_plan(gta, recs, load_campaign(wh, gta["campaign"]["campaign_id"]))
    return {"progress": prog, "recommendations": recs, "actions": actions, "goal": goal_progress(wh, gta)}
