"""The Strategy Center's use cases as a notebook, the CLI (`aipl plan`, `aipl backtest-plan`) and the API
(`GET /api/strategy/{brand}/plan`) call them: a brand's campaign plan with its progress, recommendations and
action plan, and the backtest of the forecast over several brands. Both read the consumer assets as last built
(they never build them) and write nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from aipl.strategy.details import plan_details
from aipl.strategy.gta import backtest, plan
from aipl.warehouse import Warehouse


def _plain(v):
    """`v` with JSON-ready leaves: Python numbers (NaN as None) and days as 'YYYY-MM-DD'."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v.isoformat()[:10] if isinstance(v, date) else v


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@dataclass(frozen=True, repr=False)
class Plan:
    """A brand's campaign plan: `gta` the GTA figures of `aipl.strategy.plan` (forecast, target, pools, gaps,
    sources), `progress` the pools against last year and the benchmark by day, `recommendations` the strategies
    that close the gaps (largest expected GMV first) and `actions` the day-by-day action plan.

    `campaign_plan` makes one; its parts, on a hand-made plan:

    >>> p = Plan(gta={"brand": "B01", "campaign": {"campaign_id": "d11"}, "as_of": "2026-10-19",
    ...                   "forecast_gmv": 3000.0, "forecast_buyers": 30.0, "gmv_target": 5000, "gmv_gap": 2000.0,
    ...                   "pools": [{"pool": "L", "projected": 40.0}, {"pool": "O", "projected": 200.0}]},
    ...          progress={}, recommendations=[], actions=[])
    >>> p  # doctest: +NORMALIZE_WHITESPACE
    Plan(B01 for d11 as of 2026-10-19: forecast GMV 3,000 from 30.0 buyers; target 5,000, GMV gap +2,000;
         0 recommendations, 0 days of actions)
    """

    gta: dict
    progress: dict
    recommendations: list[dict]
    actions: list[dict]

    @property
    def pools(self) -> pd.DataFrame:
        """One row per pool: last year's size and rates, the projection, the forecast and (with a target) the
        need and the gap.

        >>> p = Plan(gta={"brand": "B01", "campaign": {"campaign_id": "d11"}, "as_of": "2026-10-19",
        ...                   "forecast_gmv": 3000.0, "forecast_buyers": 30.0, "gmv_target": 5000, "gmv_gap": 2000.0,
        ...                   "pools": [{"pool": "L", "projected": 40.0}, {"pool": "O", "projected": 200.0}]},
        ...          progress={}, recommendations=[], actions=[])
        >>> p.pools["projected"].to_dict()
        {'L': 40.0, 'O': 200.0}
        """
        return pd.DataFrame(self.gta["pools"]).set_index("pool")

    def to_dict(self) -> dict:
        """The plan as JSON-ready values: the GTA figures with `progress`, `recommendations` and `actions`.

        >>> p = Plan(gta={"brand": "B01", "campaign": {"campaign_id": "d11"}, "as_of": "2026-10-19",
        ...                   "forecast_gmv": 3000.0, "forecast_buyers": 30.0, "gmv_target": 5000, "gmv_gap": 2000.0,
        ...                   "pools": [{"pool": "L", "projected": 40.0}, {"pool": "O", "projected": 200.0}]},
        ...          progress={}, recommendations=[], actions=[])
        >>> sorted(p.to_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['actions', 'as_of', 'brand', 'campaign', 'forecast_buyers', 'forecast_gmv', 'gmv_gap', 'gmv_target',
         'pools', 'progress', 'recommendations']
        """
        return _plain({**self.gta, "progress": self.progress, "recommendations": self.recommendations,
                       "actions": self.actions})

    def __repr__(self) -> str:
        g = self.gta
        target = (f"; target {g['gmv_target']:,.0f}, GMV gap {g['gmv_gap']:+,.0f}" if g.get("gmv_target") is not None
                  else "")
        return (f"Plan({g['brand']} for {g['campaign']['campaign_id']} as of {g['as_of']}: forecast GMV "
                f"{g['forecast_gmv']:,.0f} from {g['forecast_buyers']:,.1f} buyers{target}; "
                f"{_count(len(self.recommendations), 'recommendation')}, "
                f"{_count(len(self.actions), 'day')} of actions)")


def campaign_plan(wh: Warehouse, brand: str, campaign: str, gmv_target: float | None = None,
                  day: str | date | None = None, baseline: str | None = None, aov: float | None = None,
                  viewer: Iterable[str] | None = None) -> Plan:
    """The brand's plan for a campaign as of `day`: the GTA back-calculation (see `aipl.strategy.plan`: without
    a GMV target, the forecast only), its progress, recommendations and action plan (`plan_details`). For a
    `viewer` (a tenant's brands; None: the owner) every figure from peer brands obeys [privacy] min_peer_brands.

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, simulate_market
    >>> from aipl.simulate.load import load_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> p = campaign_plan(wh, "B01", "sim_double11", gmv_target=10_000)
    >>> p.gta["baseline"]["campaign_id"], list(p.pools.index[:3]), p.to_dict()["actions"][-1]["stage"]
    ('sim_double11_2025', ['L', 'P', 'I_xu'], '冲刺期 sprint')
    >>> p  # doctest: +ELLIPSIS
    Plan(B01 for sim_double11 as of ...: forecast GMV ... from ... buyers; target 10,000, GMV gap ...)
    >>> wh.close()
    """
    gta = plan(wh, brand, campaign, gmv_target, day, baseline, aov, viewer)
    details = plan_details(wh, gta, viewer)
    return Plan(gta, details["progress"], details["recommendations"], details["actions"])


@dataclass(frozen=True, repr=False)
class Backtest:
    """The GTA forecast of a past campaign against what happened, for several brands: `brands` holds one
    `aipl.strategy.backtest` result per brand (per pool 预计 vs 实际, 完成率, errors).

    `backtest_campaign` makes one; its totals, on two hand-made brand results:

    >>> b = Backtest("d11", 7, [
    ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
    ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
    ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
    ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
    >>> b
    Backtest(d11, 7 days before, 2 brands: predicted GMV 2,000, actual 2,000, error 0.0% (last year's GMV: 10.0%))
    """

    campaign: str
    days_before: int
    brands: list[dict]

    @property
    def predicted_gmv(self) -> float:
        """The forecast GMV of all brands.

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.predicted_gmv
        2000.0
        """
        return sum(r["predicted_gmv"] for r in self.brands)

    @property
    def actual_gmv(self) -> float:
        """The GMV all brands made in the campaign.

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.actual_gmv
        2000.0
        """
        return sum(r["actual_gmv"] for r in self.brands)

    @property
    def naive_gmv(self) -> float:
        """The naive forecast: last year's GMV again.

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.naive_gmv
        2200.0
        """
        return sum(r["naive_gmv"] for r in self.brands)

    @property
    def total_ape(self) -> float | None:
        """The absolute percentage error of all brands' forecast GMV (None without actual GMV).

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.total_ape
        0.0
        """
        act = self.actual_gmv
        return abs(self.predicted_gmv - act) / act if act else None

    @property
    def naive_ape(self) -> float | None:
        """The absolute percentage error of the naive forecast (last year's GMV; None without actual GMV).

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.naive_ape
        0.1
        """
        act = self.actual_gmv
        return abs(self.naive_gmv - act) / act if act else None

    @property
    def frame(self) -> pd.DataFrame:
        """One row per brand: predicted and actual GMV, 完成率, the errors.

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> b.frame[["brand", "predicted_gmv", "actual_gmv", "completion"]]
          brand  predicted_gmv  actual_gmv  completion
        0   B01         1100.0      1000.0        0.91
        1   B02          900.0      1000.0        1.11
        """
        cols = ["brand", "predicted_gmv", "actual_gmv", "completion", "total_ape", "pool_mape", "naive_ape"]
        return pd.DataFrame([{c: r[c] for c in cols} for r in self.brands], columns=cols)

    def to_dict(self) -> dict:
        """The backtest as JSON-ready values.

        >>> b = Backtest("d11", 7, [
        ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
        ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
        ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
        ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
        >>> d = b.to_dict()
        >>> sorted(d)  # doctest: +NORMALIZE_WHITESPACE
        ['actual_gmv', 'brands', 'campaign', 'days_before', 'naive_ape', 'naive_gmv', 'predicted_gmv',
         'total_ape']
        >>> d["naive_ape"], len(d["brands"])
        (0.1, 2)
        """
        return _plain({"campaign": self.campaign, "days_before": self.days_before, "brands": self.brands,
                       "predicted_gmv": self.predicted_gmv, "actual_gmv": self.actual_gmv,
                       "total_ape": self.total_ape, "naive_gmv": self.naive_gmv, "naive_ape": self.naive_ape})

    def __repr__(self) -> str:
        err = f"error {self.total_ape:.1%} (last year's GMV: {self.naive_ape:.1%})" if self.total_ape is not None \
            else "no actual GMV"
        return (f"Backtest({self.campaign}, {self.days_before} days before, {len(self.brands)} brands: predicted GMV "
                f"{self.predicted_gmv:,.0f}, actual {self.actual_gmv:,.0f}, {err})")


def _brands(wh: Warehouse) -> list[str]:
    """Every brand that has events, in order."""
    ev = wh.table("events")
    return sorted(ev.filter(ev.brand_id.notnull()).select("brand_id").distinct().execute().brand_id)


def backtest_campaign(wh: Warehouse, campaign: str, brands: list[str] | None = None, days_before: int = 0,
                      baseline: str | None = None, viewer: Iterable[str] | None = None) -> Backtest:
    """Backtest the GTA forecast of a past campaign, planned `days_before` its presale from the campaign a year
    earlier, for `brands` (default: every brand with events); see `aipl.strategy.backtest` (and `campaign_plan`
    for a `viewer`).

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, simulate_market
    >>> from aipl.simulate.load import load_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> b = backtest_campaign(wh, "sim_double11", days_before=7)
    >>> list(b.frame.brand), b.actual_gmv > 0
    (['B01', 'B02', 'B03'], True)
    >>> wh.close()
    """
    chosen = brands or _brands(wh)
    return Backtest(campaign, days_before, [backtest(wh, b, campaign, days_before, baseline, viewer) for b in chosen])
