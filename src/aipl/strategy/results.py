"""Typed results of the Strategy Center (`aipl.results.Result` subclasses): dicts whose fields also read as
attributes, with a one-line repr."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from aipl.results import Result

DETAILS = ("progress", "recommendations", "actions", "goal")  # what a plan's page shows beside the GTA figures


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


class PoolSizes(Result):
    """How many consumers each pool sized on a day holds (L, P, I_xu, A_xu, O); what `pool_sizes` returns.

    >>> s = PoolSizes(L=3, P=6, I_xu=34, A_xu=102, O=1400)
    >>> s
    PoolSizes(L 3, P 6, I_xu 34, A_xu 102, O 1,400)
    >>> s.O, sum(s.values())
    (1400, 1545)
    """

    L: int
    P: int
    I_xu: int
    A_xu: int
    O: int  # noqa: E741 (the pool's name)

    def __repr__(self) -> str:
        return f"PoolSizes({', '.join(f'{p} {n:,}' for p, n in self.items())})"


class Season(Result):
    """One brand's campaign, measured (what `season` returns): pool sizes on D0 (`d0`), and per pool (`pools`)
    the buyers, GMV, conversion rate, share of buyers and GMV per buyer over the `selling` period; the new
    buyers (no purchase in the 365 days before).

    >>> s = Season(campaign="d11", brand="B01", d0="2026-10-07", selling=["2026-10-08", "2026-10-22"], buyers=45,
    ...            gmv=12345.0, new_buyers=12, aov=274.33, pools={"L": {"size": 3, "buyers": 2}})
    >>> s
    Season(B01 in d11, 2026-10-08 … 2026-10-22: 45 buyers (12 new), GMV 12,345)
    >>> s.pools["L"]["buyers"], s["d0"]
    (2, '2026-10-07')
    """

    campaign: str
    brand: str
    d0: str
    selling: list[str]
    buyers: int
    gmv: float
    new_buyers: int
    aov: float | None
    pools: dict[str, dict]

    def __repr__(self) -> str:
        return (f"Season({self['brand']} in {self['campaign']}, {' … '.join(self['selling'])}: "
                f"{self['buyers']:,} buyers ({self['new_buyers']:,} new), GMV {self['gmv']:,.0f})")


class Plan(Result):
    """A brand's campaign plan (what `plan` and `latest_plan` return): the GTA figures — last year's pools and
    rates, this year's projection and forecast (`forecast_gmv`, `forecast_buyers`), with a GMV target the
    buyers and pool sizes it needs and the gaps (`gmv_target`, `buyers_needed`, `gmv_gap`, …), one row per pool
    in `pools` and where each figure came from in `sources` — with `progress` (the pools against last year and
    the benchmark by day), `recommendations` (the strategies that close the gaps, largest expected GMV first)
    and `actions` (the day-by-day action plan). The forecast names its `method` (chosen by a rolling backtest on
    the brand's history: `method_reason`, `backtest`), its `gmv_interval` (90 %), the naive forecast beside it
    (`naive_gmv`, last year's GMV again; per pool `naive_size`), `warnings` (code and message) when the history
    cannot support it, and `goal` says where a running or finished campaign stands against target and forecast.

    >>> p = Plan(brand="B01", campaign={"campaign_id": "d11"}, as_of="2026-10-19", forecast_gmv=3000.0,
    ...          forecast_buyers=30.0, gmv_target=5000, gmv_gap=2000.0,
    ...          pools=[{"pool": "L", "projected": 40.0}, {"pool": "O", "projected": 200.0}],
    ...          progress={}, recommendations=[], actions=[])
    >>> p  # doctest: +NORMALIZE_WHITESPACE
    Plan(B01 for d11 as of 2026-10-19: forecast GMV 3,000 from 30.0 buyers; target 5,000, GMV gap +2,000;
         0 recommendations, 0 days of actions)
    >>> p.gmv_gap, p["pools"][0]["pool"], sorted(p.gta)[:3]
    (2000.0, 'L', ['as_of', 'brand', 'campaign'])
    """

    brand: str
    campaign: dict
    baseline: dict
    as_of: str
    days_to_presale: int
    last_year: dict
    rates_from: str
    aov: float
    aov_source: str
    pools: list[dict]
    sources: dict[str, dict]
    forecast_buyers: float
    forecast_gmv: float
    method: str
    method_reason: str
    backtest: dict
    naive_gmv: float
    pool_gmv: float
    gmv_interval: dict
    warnings: list[dict]
    progress: dict
    recommendations: list[dict]
    actions: list[dict]
    goal: dict

    @property
    def gta(self) -> dict:
        """The GTA figures alone: the plan without its progress, recommendations and actions.

        >>> Plan(brand="B01", forecast_gmv=3000.0, progress={}, recommendations=[], actions=[]).gta
        {'brand': 'B01', 'forecast_gmv': 3000.0}
        """
        return {k: v for k, v in self.items() if k not in DETAILS}

    @property
    def frame(self) -> pd.DataFrame:
        """One row per pool: last year's size and rates, the projection, the forecast and (with a target) the
        need and the gap.

        >>> Plan(pools=[{"pool": "L", "projected": 40.0}, {"pool": "O", "projected": 200.0}]).frame.projected.to_dict()
        {'L': 40.0, 'O': 200.0}
        """
        return pd.DataFrame(self["pools"]).set_index("pool")

    def to_dict(self) -> dict:
        """The plan as JSON-ready values (days as 'YYYY-MM-DD', NaN as None).

        >>> Plan(brand="B01", campaign={"start": date(2026, 10, 8)}, cvr=float("nan")).to_dict()
        {'brand': 'B01', 'campaign': {'start': '2026-10-08'}, 'cvr': None}
        """
        return _plain(dict(self))

    def __repr__(self) -> str:
        target = (f"; target {self['gmv_target']:,.0f}, GMV gap {self['gmv_gap']:+,.0f}"
                  if self.get("gmv_target") is not None else "")
        iv = self.get("gmv_interval")
        how = (f" ({self['method']}, {iv['level']:.0%} {iv['low']:,.0f}–{iv['high']:,.0f}; naive "
               f"{self['naive_gmv']:,.0f})" if iv else f" from {self['forecast_buyers']:,.1f} buyers")
        warn = f"; {_count(len(self['warnings']), 'warning')}" if self.get("warnings") else ""
        return (f"Plan({self['brand']} for {self['campaign']['campaign_id']} as of {self['as_of']}: forecast GMV "
                f"{self['forecast_gmv']:,.0f}{how}{target}{warn}; "
                f"{_count(len(self['recommendations']), 'recommendation')}, "
                f"{_count(len(self['actions']), 'day')} of actions)")


class Backtest(Result):
    """The GTA forecast of a past campaign against what happened, for several brands (what `backtest` returns):
    `brands` holds one result per brand (per pool 预计 vs 实际, 完成率, errors), with the totals of all brands:
    forecast (`predicted_gmv`), `actual_gmv`, `total_ape`, and the naive forecast (last year's GMV again:
    `naive_gmv`, `naive_ape`).

    `Backtest.of` adds the totals to the brands' results; on two hand-made ones:

    >>> b = Backtest.of("d11", 7, [
    ...     {"brand": "B01", "predicted_gmv": 1100.0, "actual_gmv": 1000.0, "naive_gmv": 800.0, "completion": 0.91,
    ...      "total_ape": 0.1, "pool_mape": 0.2, "naive_ape": 0.2},
    ...     {"brand": "B02", "predicted_gmv": 900.0, "actual_gmv": 1000.0, "naive_gmv": 1400.0, "completion": 1.11,
    ...      "total_ape": 0.1, "pool_mape": 0.3, "naive_ape": 0.4}])
    >>> b
    Backtest(d11, 7 days before, 2 brands: predicted GMV 2,000, actual 2,000, error 0.0% (last year's GMV: 10.0%))
    >>> b.predicted_gmv, b.naive_gmv, b.naive_ape
    (2000.0, 2200.0, 0.1)
    >>> b.frame[["brand", "predicted_gmv", "actual_gmv", "completion"]]
      brand  predicted_gmv  actual_gmv  completion
    0   B01         1100.0      1000.0        0.91
    1   B02          900.0      1000.0        1.11
    """

    campaign: str
    days_before: int
    brands: list[dict]
    predicted_gmv: float
    actual_gmv: float
    total_ape: float | None
    naive_gmv: float
    naive_ape: float | None

    @classmethod
    def of(cls, campaign: str, days_before: int, brands: list[dict]) -> Backtest:
        """The backtest of `brands` (one result each), with the totals of all of them.

        >>> Backtest.of("d11", 0, [{"predicted_gmv": 90.0, "actual_gmv": 100.0, "naive_gmv": 80.0}]).total_ape
        0.1
        """
        pred, act, naive = (sum(r[k] for r in brands) for k in ("predicted_gmv", "actual_gmv", "naive_gmv"))
        return cls(campaign=campaign, days_before=days_before, brands=brands, predicted_gmv=pred, actual_gmv=act,
                   total_ape=abs(pred - act) / act if act else None, naive_gmv=naive,
                   naive_ape=abs(naive - act) / act if act else None)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per brand: predicted and actual GMV, 完成率, the errors.

        >>> Backtest.of("d11", 0, [{"brand": "B01", "predicted_gmv": 90.0, "actual_gmv": 100.0, "naive_gmv": 80.0,
        ...                         "completion": 1.11}]).frame.completion.tolist()
        [1.11]
        """
        cols = ["brand", "predicted_gmv", "actual_gmv", "completion", "total_ape", "pool_mape", "naive_ape"]
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in self["brands"]], columns=cols)

    def to_dict(self) -> dict:
        """The backtest as JSON-ready values (NaN as None).

        >>> d = Backtest.of("d11", 7, [{"brand": "B01", "predicted_gmv": 90.0, "actual_gmv": 0.0,
        ...                              "naive_gmv": 80.0}]).to_dict()
        >>> sorted(d), d["total_ape"]  # doctest: +NORMALIZE_WHITESPACE
        (['actual_gmv', 'brands', 'campaign', 'days_before', 'naive_ape', 'naive_gmv', 'predicted_gmv',
          'total_ape'], None)
        """
        return _plain(dict(self))

    def __repr__(self) -> str:
        err = (f"error {self['total_ape']:.1%} (last year's GMV: {self['naive_ape']:.1%})"
               if self["total_ape"] is not None else "no actual GMV")
        return (f"Backtest({self['campaign']}, {self['days_before']} days before, "
                f"{_count(len(self['brands']), 'brand')}: predicted GMV {self['predicted_gmv']:,.0f}, "
                f"actual {self['actual_gmv']:,.0f}, {err})")
