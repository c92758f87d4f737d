"""The budget that fills a brand's GTA gaps: strategy's plan says how far the pools and GMV fall short, the
autopilot's crowd × channel plans say what budget buys that much incremental outcome. It lives here, above
both engines (strategy and autopilot are siblings and never import each other)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from aipl.autopilot import what_if
from aipl.results import Result
from aipl.strategy import plan
from aipl.warehouse import Warehouse

POOL_SCENE = "预热蓄水"  # a favourite or cart is a consumer entering the interest pools
GMV_SCENE = "爆发收割"
FILLED_POOLS = ("A_xu", "I_xu", "P")  # the pools a brand builds before the presale eve (D0)


class GapBudget(Result):
    """What budget fills a brand's GTA gaps: the pool gap (`pool_gap`, consumers in FILLED_POOLS) by the
    presale eve in `pool_days` with 预热蓄水 (`pools`, a WhatIf), and the GMV gap in the `gmv_days` of the burst
    with 爆发收割 (`gmv`, a WhatIf), and the `total` they need (None when either is out of reach).

    >>> GapBudget(brand="B01", campaign="d11", pool_gap=0.0, pool_days=10, pools=None, gmv_gap=0.0, gmv_days=3,
    ...           gmv=None, total=0.0, source="simulated")
    GapBudget(B01 for d11: pools +0 in 10 days, GMV +0 in 3 days → 0.00 in all)
    """

    brand: str
    campaign: str
    pool_gap: float
    pool_days: int
    pools: dict | None
    gmv_gap: float
    gmv_days: int
    gmv: dict | None
    total: float | None
    source: str

    def __repr__(self) -> str:
        total = "out of reach" if self["total"] is None else f"{self['total']:,.2f} in all"
        return (f"GapBudget({self['brand']} for {self['campaign']}: pools +{self['pool_gap']:,.0f} in "
                f"{self['pool_days']} days, GMV +{self['gmv_gap']:,.0f} in {self['gmv_days']} days → {total})")


def gap_budget(wh: Warehouse, brand: str, campaign: str, gmv_target: float, gmv_days: int = 3,
               history: pd.DataFrame | str | Path | None = None, seed: int = 0,
               viewer: Iterable[str] | None = None) -> GapBudget:
    """The budget that fills the brand's GTA gaps for a GMV target: its pool gaps by the presale eve (预热蓄水's
    favourites + carts, one a consumer) and its GMV gap over `gmv_days` of the burst (爆发收割), each with a 90%
    interval, on the crowd × channel cells of `history` (default: the simulator's cell market, said in
    `source`). For a `viewer` (a tenant's brands) the plan obeys the same peer rules as `strategy.plan`. See
    `tests/autopilot/test_gaps.py` for a run on a two-season market.
    """
    p = plan(wh, brand, campaign, gmv_target, viewer=viewer)
    gaps = {r["pool"]: r.get("gap") for r in p["pools"]}
    pool_gap = float(sum(max(0.0, gaps.get(k) or 0.0) for k in FILLED_POOLS))
    pool_days = max(1, int(p.get("days_to_presale") or 0))
    gmv_gap = max(0.0, float(p.get("gmv_gap") or 0.0))
    pools = what_if(POOL_SCENE, target=pool_gap, days=pool_days, history=history, seed=seed) if pool_gap else None
    gmv = what_if(GMV_SCENE, target=gmv_gap, days=gmv_days, history=history, seed=seed) if gmv_gap else None
    spent = [w.budget * w.days if w.budget is not None else None for w in (pools, gmv) if w is not None]
    total = None if None in spent else float(sum(spent))
    source = (pools or gmv or {}).get("source", "no gap")
    return GapBudget(brand=brand, campaign=campaign, pool_gap=pool_gap, pool_days=pool_days,
                     pools=None if pools is None else pools.to_dict(), gmv_gap=gmv_gap, gmv_days=gmv_days,
                     gmv=None if gmv is None else gmv.to_dict(), total=total, source=source)
