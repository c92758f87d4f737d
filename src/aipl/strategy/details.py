"""What a plan's page shows beside the plan itself: its progress, the recommended strategies and the dated
action plan; and the plan a brand can make today for its latest campaign with last year's counterpart."""

from __future__ import annotations

from collections.abc import Iterable

import ibis

from aipl.strategy.calendar import last_year, load_campaign
from aipl.strategy.gta import plan as make_plan
from aipl.strategy.progress import progress
from aipl.strategy.rules import action_plan, recommend
from aipl.warehouse import Warehouse


def plan_details(wh: Warehouse, plan: dict, viewer: Iterable[str] | None = None) -> dict:
    """The plan (see `plan`) with its progress against last year and the benchmark, the recommended strategies
    and the day-by-day action plan, under the keys plan, progress, recommendations and actions (the benchmark
    as a `viewer`, a tenant's brands, may see it: see `progress`).

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, simulate_market
    >>> from aipl.simulate.load import load_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())  # two seasons: sim_double11_2025, then sim_double11
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> from aipl.strategy import plan
    >>> d = plan_details(wh, plan(wh, "B01", "sim_double11", gmv_target=10_000))
    >>> sorted(d), d["plan"]["gmv_target"]
    (['actions', 'plan', 'progress', 'recommendations'], 10000)
    >>> d["actions"][-1]["stage"]
    '冲刺期 sprint'
    >>> wh.close()
    """
    prog = progress(wh, plan, viewer)
    recs = recommend(wh, plan, prog)
    actions = action_plan(plan, recs, load_campaign(wh, plan["campaign"]["campaign_id"]))
    return {"plan": plan, "progress": prog, "recommendations": recs, "actions": actions}


def latest_plan(wh: Warehouse, brand: str) -> dict | None:
    """The brand's plan (no target) for the latest campaign that has last year's counterpart with GMV, or None
    when no campaign has one.

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, simulate_market
    >>> from aipl.simulate.load import load_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())  # two seasons: sim_double11_2025, then sim_double11
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> p = latest_plan(wh, "B01")
    >>> p["campaign"]["campaign_id"], p["baseline"]["campaign_id"], "gmv_target" in p
    ('sim_double11', 'sim_double11_2025', False)
    >>> wh.close()
    >>> from aipl.simulate import sample_warehouse
    >>> latest_plan(sample_warehouse(), "B01") is None  # one season only: no last year to plan from
    True
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
