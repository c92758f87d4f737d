"""The Strategy Center's use cases as a notebook, the CLI (`aipl plan`, `aipl backtest-plan`) and the API
(`GET /api/strategy/{brand}/plan`, `…/backtest`) call them: a brand's campaign plan with its progress,
recommendations and action plan, the plan a brand can make today for its latest campaign, and the backtest of
the forecast over several brands. They read the consumer assets as last built (they never build them) and write
nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis

from aipl.strategy.calendar import last_year, load_campaign
from aipl.strategy.details import plan_details
from aipl.strategy.forecast import brands_with_events, choose_forecast
from aipl.strategy.gta import brand_backtest, gta_plan, set_target
from aipl.strategy.results import Backtest, Plan
from aipl.warehouse import Warehouse


def _plan(wh: Warehouse, gta: dict, gmv_target: float | None = None, viewer: Iterable[str] | None = None,
          brands: list[str] | None = None) -> Plan:
    """GTA figures with the chosen forecast, its interval and warnings, the target, and the plan's details."""
    f = choose_forecast(wh, gta, brands)
    sizes, naive, intervals = f.pop("pool_forecast"), f.pop("naive_pools"), f.pop("pool_intervals")
    gta.update(f)
    for r in gta["pools"]:
        iv = intervals[r["pool"]]
        r.update(forecast_size=sizes[r["pool"]], size_low=iv["low"], size_high=iv["high"], naive_size=naive[r["pool"]])
    if gmv_target is not None:
        set_target(gta, gmv_target)
    return Plan({**gta, **plan_details(wh, gta, viewer)})


def plan(wh: Warehouse, brand: str, campaign: str, gmv_target: float | None = None, day: str | date | None = None,
         baseline: str | None = None, aov: float | None = None, viewer: Iterable[str] | None = None,
         brands: list[str] | None = None) -> Plan:
    """The brand's plan for a campaign as of `day` (default: the last data day; at the latest the eve of the
    presale), from `baseline` (default: the campaign of the same name a year earlier) at GMV per buyer `aov`
    (default: last year's): the GTA back-calculation (last year's pools and rates, this year's projected pools
    and forecast, and — with a GMV target — the buyers and pool sizes it needs and the gap per pool), its
    progress, recommendations and action plan. The forecast's method is chosen by a rolling backtest on the
    brand's past campaigns, its 90 % interval sized on every brand's (`brands`, default all) backtest errors,
    with the naive forecast beside it and warnings when the history cannot support it (see `forecast`). For a
    `viewer` (a tenant's brands; None: the owner) every figure from peer brands obeys [privacy] min_peer_brands.

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, load_market, simulate_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())  # two seasons: sim_double11_2025, then sim_double11
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> p = plan(wh, "B01", "sim_double11", gmv_target=10_000)
    >>> p  # doctest: +ELLIPSIS
    Plan(B01 for sim_double11 as of 2026-10-07: forecast GMV ... (naive, 90% ...; naive ...); target 10,000, ...)
    >>> p.method, [w["code"] for w in p.warnings]  # 2 seasons, 30 days' lead, 800 consumers: history cannot tell
    ('naive', ['unsettled', 'few_buyers', 'no_backtest', 'wide_interval'])
    >>> p.gmv_interval["low"] < p.forecast_gmv < p.gmv_interval["high"], p.naive_gmv == p.last_year["gmv"]
    (True, True)
    >>> p.baseline["campaign_id"], p.days_to_presale, list(p.frame.index[:4]), p.actions[-1]["stage"]
    ('sim_double11_2025', 0, ['L', 'P', 'I_xu', 'A_xu'], '冲刺期 sprint')
    >>> p.gmv_target, round(p.gmv_gap + p.forecast_gmv)
    (10000, 10000)
    >>> wh.close()
    """
    return _plan(wh, gta_plan(wh, brand, campaign, None, day, baseline, aov, viewer), gmv_target, viewer, brands)


def latest_plan(wh: Warehouse, brand: str, growth: float | None = None) -> Plan | None:
    """The brand's plan for the latest campaign that has last year's counterpart with GMV (None when no campaign
    has one); with `growth`, for a GMV target of last year's GMV × growth.

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, load_market, simulate_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())  # two seasons: sim_double11_2025, then sim_double11
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> p = latest_plan(wh, "B01", growth=1.1)
    >>> p.campaign["campaign_id"], p.baseline["campaign_id"], p.gmv_target == 1.1 * p.last_year["gmv"]
    ('sim_double11', 'sim_double11_2025', True)
    >>> "gmv_target" in latest_plan(wh, "B01")  # without growth: the forecast only
    False
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
        gta = gta_plan(wh, brand, cid, baseline=ly.campaign_id)
        if not gta["last_year"]["gmv"]:
            return None
        return _plan(wh, gta, growth * gta["last_year"]["gmv"] if growth is not None else None)
    return None


def backtest(wh: Warehouse, campaign: str, brands: list[str] | None = None, days_before: int = 0,
             baseline: str | None = None, viewer: Iterable[str] | None = None) -> Backtest:
    """Backtest the GTA forecast of a past campaign, planned `days_before` its presale from the campaign a year
    earlier (or `baseline`), for `brands` (default: every brand with events): per brand and pool the forecast
    (预计) against the actual (实际) buyers, GMV and pool size, 完成率, the errors (APE, the pools' MAPE), and
    last year's GMV as the naive forecast (for a `viewer`, as `plan`).

    >>> import tempfile; from pathlib import Path
    >>> from aipl.assets import ensure_built
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, load_market, simulate_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = simulate_market(MarketSpec(consumers=800, days=40, brands=3, seed=1, seasons=2, start="2025-09-15",
    ...                                lead_days=30), root / "market")
    >>> wh = open_warehouse(init_workspace(root)); _ = load_market(wh, root / "market"); _ = ensure_built(wh)
    >>> b = backtest(wh, "sim_double11", days_before=7)
    >>> b  # doctest: +ELLIPSIS
    Backtest(sim_double11, 7 days before, 3 brands: predicted GMV ..., actual ..., error ...)
    >>> list(b.frame.brand), b.actual_gmv > 0
    (['B01', 'B02', 'B03'], True)
    >>> one = b.brands[0]
    >>> one["baseline"], one["as_of"], sorted(one["pools"][0])  # doctest: +NORMALIZE_WHITESPACE
    ('sim_double11_2025', '2026-09-30', ['actual_buyers', 'actual_gmv', 'actual_size', 'ape', 'completion',
     'label', 'pool', 'predicted_buyers', 'predicted_gmv', 'predicted_size'])
    >>> round(one["actual_gmv"], 2) == round(sum(r["actual_gmv"] for r in one["pools"]), 2)
    True
    >>> wh.close()
    """
    chosen = brands or brands_with_events(wh)
    return Backtest.of(campaign, days_before,
                       [brand_backtest(wh, b, campaign, days_before, baseline, viewer) for b in chosen])
