"""The autopilot use cases that a notebook, the CLI (`aipl autopilot …`) and the API (`/api/autopilot`) all
call with the same arguments: channel curves, a budget plan (for a scene's aim, or impressions), sequenced
delivery (reading `[sequence]` from the workspace's aipl.toml), flights against a simulated market's hidden
curves, and the platform-side subsidy plan.

    >>> from aipl.autopilot import SCENES
    >>> SCENES["拉新快"].aim
    'new_customer_gmv'
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from aipl.attribution import campaign_window
from aipl.audience import TagIndex, crowd_members
from aipl.autopilot.cells import budget_for, compare_cells, fit_cells, plan_cells
from aipl.autopilot.flight import compare
from aipl.autopilot.response import Curve, allocate, fit_brand
from aipl.autopilot.results import (
    BudgetPlan,
    CellPlan,
    FlightComparison,
    SequenceConfig,
    SequencePlan,
    SubsidyPlan,
    WhatIf,
)
from aipl.autopilot.scenes import scene_plan
from aipl.autopilot.sequence import STAGES, brand_stages, compare_delivery, compare_sequence, from_config, next_actions
from aipl.autopilot.subsidy import allocate_subsidy, compare_subsidy, fit_merchants
from aipl.config import Config, parse_day
from aipl.simulate.cells import simulate_cells
from aipl.simulate.journeys import Journeys
from aipl.simulate.load import find_truth
from aipl.simulate.merchants import simulate_merchants
from aipl.warehouse import Warehouse

BUDGET_MODES = ("daily", "package")  # a day's budget, or the whole package spread over the plan's days
MAX_CROWDS = 20  # target crowds of one plan
MAX_DAYS = 366  # the longest flight a sequence plan or a simulated flight runs


def latest_campaign(wh: Warehouse, brand: str) -> str:
    """The campaign with the brand's ad delivery that started last (ValueError if there is none).

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> latest_campaign(wh, "B01")
    'sim_double11'
    """
    a = wh.table("ad_delivery")
    c = wh.table("campaigns")
    ids = a.filter((a.brand_id == brand) & a.campaign_id.notnull()).select("campaign_id").distinct()
    rows = c.semi_join(ids, "campaign_id").group_by("campaign_id").aggregate(first=c.start_date.min()).execute()
    if rows.empty:
        raise ValueError(f"brand {brand!r} has no ad delivery in a known campaign: name the campaign")
    return str(rows.sort_values("first").campaign_id.iloc[-1])


def fit_channels(wh: Warehouse, brand: str, holdout_days: int = 14) -> pd.DataFrame:
    """Each channel's (or channel × crowd cell's) response curve, daily impressions = reach · hill(adstock(
    spend)): channel, reach, k, alpha, theta, holdout_mape (error on the last `holdout_days`), days, and the
    90% intervals of the parameters.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> curves = fit_channels(wh, "B01", holdout_days=7)
    >>> sorted(curves.channel)[:2], bool((curves.k > 0).all())
    (['affiliate', 'content'], True)
    """
    rows = []
    for ch, r in fit_brand(wh, brand, holdout_days).items():
        c = r["curve"]
        rows.append({"channel": ch, "reach": c.reach, "k": c.k, "alpha": c.alpha, "theta": c.theta,
                     "holdout_mape": r["holdout_mape"], "days": r["days"], "intervals": r["intervals"]})
    return pd.DataFrame(rows, columns=["channel", "reach", "k", "alpha", "theta", "holdout_mape", "days",
                                       "intervals"])


def plan_budget(wh: Warehouse, brand: str, budget: float, scene: str | None = None, campaign: str | None = None,
                budget_mode: str = "daily", start: str | date | None = None, end: str | date | None = None,
                min_share: float = 0.0, max_share: float = 1.0, roi_floor: float | None = None,
                items: tuple[str, ...] = (), crowds: tuple[str, ...] = (), strategy: str = "cost_first",
                min_marginal: float | None = None, namespace: str | None = None,
                index: TagIndex | None = None) -> BudgetPlan:
    """The daily budget split across channels that maximises a scene's aim (see scenes.scene_plan: the chosen
    `items`, the target `crowds`' consumers, a ROI floor, cost_first or effect_first), or impressions without
    a scene. The campaign defaults to the brand's latest; a `package` budget is spread over `start`–`end`
    (default: the campaign's days). Crowd names are resolved in the `namespace` (audience.crowd_tree).

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> plan = plan_budget(wh, "B01", 3000, scene="拉新快", budget_mode="package")
    >>> plan.campaign, plan.budget, round(sum(plan.shares.values()), 6)
    ('sim_double11', 75.0, 1.0)
    >>> plan_budget(wh, "B01", 100, crowds=("strategy_gen_z",), scene="爆发收割").target_consumers > 0
    True
    """
    if budget_mode not in BUDGET_MODES:
        raise ValueError(f"budget_mode is daily or package, not {budget_mode!r}")
    if len(crowds) > MAX_CROWDS:
        raise ValueError(f"a plan targets at most {MAX_CROWDS} crowds, not {len(crowds)}")
    daily = budget
    if scene or budget_mode == "package":
        campaign = campaign or latest_campaign(wh, brand)
        window, _ = campaign_window(wh, campaign, 0)
        first, last = parse_day(start or window.start, "start"), parse_day(end or window.end, "end")
        if last < first:
            raise ValueError(f"end {last} is before start {first}")
        if budget_mode == "package":
            daily = budget / ((last - first).days + 1)
    if not scene:
        curves: dict[str, Curve] = {ch: r["curve"] for ch, r in fit_brand(wh, brand, holdout_days=0, boot=0).items()}
        res = allocate(curves, daily, min_share=min_share, max_share=max_share)
        return BudgetPlan.of(brand, "impressions", daily, daily, res.shares, res.objective, res.equal_split)
    consumers = crowd_members(wh, crowds, namespace, index) if crowds else None
    return scene_plan(wh, brand, scene, daily, campaign, min_share, max_share, roi_floor, tuple(items), consumers,
                      strategy, min_marginal)


def sequence_config(config: Config) -> SequenceConfig:
    """The stage → action mapping (the defaults with the overrides) and the frequency cap of the workspace's
    `[sequence]` table.

    >>> from aipl.config import Config
    >>> c = sequence_config(Config(root=".", raw={"sequence": {"perform": "conversion_ad", "cap_days": 14}}))
    >>> c.mapping["perform"], c.cap
    ('conversion_ad', Cap(contacts=3, days=14))
    """
    return SequenceConfig(*from_config(config.raw.get("sequence")))


def plan_sequence(wh: Warehouse, brand: str, day: str | date | None = None, flight: int = 0, reach: float = 0.3,
                  seed: int = 0) -> SequencePlan:
    """Each consumer's next action from their DEEPLINK stage with `brand` on `day` (default: the last day with
    events), frequency-capped, as set by `[sequence]` in aipl.toml; with `flight` days, also the stage-advancing
    rate of the rule, of learned actions and of untargeted delivery on the simulator's hidden journeys
    (`reach`: the share of consumers reachable a day), and `delivery`: a channel and creative type per stage
    learned on journeys whose best actions are drawn at random, with its gain over untargeted delivery.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # assets and crowd tags
    >>> seq = plan_sequence(wh, "B01")
    >>> seq.cap, list(seq.counts.columns), int(seq.counts.consumers.sum()) == len(seq.actions)
    (Cap(contacts=3, days=7), ['deeplink', 'action', 'consumers'], True)
    """
    if not (0 <= flight <= MAX_DAYS and 0 < reach <= 1):
        raise ValueError(f"flight must be 0 to {MAX_DAYS} days and reach more than 0 and at most 1, not {flight} "
                         f"and {reach}")
    config = sequence_config(wh.config)
    mapping, cap = config.mapping, config.cap
    d = parse_day(day, "day") if day is not None else wh.last_day()
    if d is None:
        raise ValueError("the workspace has no events: load some first")
    acts = next_actions(wh, brand, d, mapping, cap)
    counts = acts.groupby(["deeplink", "action"]).size().rename("consumers").reset_index()
    order = counts.deeplink.map({s: i for i, s in enumerate(STAGES)})
    counts = counts.assign(order=order).sort_values(["order", "action"]).drop(columns="order").reset_index(drop=True)
    stages = brand_stages(wh, brand, d) if flight else None
    res = compare_sequence(stages, Journeys.draw(seed), flight, reach, cap, seed, mapping) if flight else None
    plan = SequencePlan(brand=brand, day=d, cap=cap, actions=acts, counts=counts, flight=res)
    if flight:
        plan["delivery"] = compare_delivery(stages, flight, reach, cap, seed)
    return plan


def simulate_flight(wh: Warehouse, brand: str, budget: float | None = None, days: int = 30,
                    seed: int = 0) -> FlightComparison:
    """A flight of `days` against the hidden curves of the market simulated into this workspace: Thompson
    sampling, an equal split and proportional-to-last-ROI against the oracle (regret: the share of the
    oracle's impressions lost). The daily budget defaults to half the summed half-saturation spend.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> flight = simulate_flight(wh, "B01", days=10)
    >>> flight.regret["oracle"], sorted(flight.totals)
    (0.0, ['equal_split', 'oracle', 'proportional_to_last_roi', 'thompson'])
    """
    if not (1 <= days <= MAX_DAYS and (budget is None or 0 <= budget < 1e12)):
        raise ValueError(f"days must be 1 to {MAX_DAYS} and the budget at least 0, not {days} and {budget}")
    truth = find_truth(wh.config.root)
    if not truth or brand not in truth.get("brands", {}):
        raise ValueError(f"no simulated truth for brand {brand!r}: this needs a workspace made by `aipl simulate` "
                         "(market/truth.json)")
    true = {ch: Curve(c["max_daily_reach"], c["hill_k"], c["hill_alpha"], c["adstock_theta"])
            for ch, c in truth["brands"][brand]["curves"].items()}
    return FlightComparison(compare(true, budget or 0.5 * sum(c.k for c in true.values()), days=days, seed=seed))


def plan_subsidy(pool: float, history: pd.DataFrame | str | Path | None = None,
                 floors: dict[str, float] | None = None, cold_start_min: float = 0.0, cold_start_days: int = 30,
                 simulate: int = 0, seed: int = 0) -> SubsidyPlan:
    """Platform-side 红包: a daily subsidy `pool` split across merchants for the most incremental GMV, with
    per-tier `floors` (least shares of the pool) and a least amount per cold-start merchant. The history is a
    DataFrame or a CSV/Parquet file (merchant_id, tier, day, subsidy, gmv); or `simulate` merchants instead,
    compared with the oracle and the rules of thumb on their hidden curves.

    >>> plan = plan_subsidy(10_000, simulate=60, floors={"new": 0.3})
    >>> sorted(plan.tiers), plan.tiers["new"]["share"] > 0.299, round(plan.spent) <= 10_000
    (['head', 'new', 'waist'], True, True)
    """
    floors = dict(floors or {})
    comparison = None
    if simulate:
        hist, truth = simulate_merchants(simulate, seed=seed)
        comparison = compare_subsidy(hist, truth, pool, floors, cold_start_min, cold_start_days)
        fitted = comparison.fitted
    elif history is not None:
        fitted = fit_merchants(_history(history), cold_start_days)
    else:
        raise ValueError("give a history (a DataFrame or a file), or simulate merchants")
    plan = allocate_subsidy(fitted, pool, floors, cold_start_min)
    plan["comparison"] = comparison
    return plan


def cell_history(history: pd.DataFrame | str | Path | None = None, crowds: int | None = None, channels: int = 5,
                 days: int = 60, seed: int = 0) -> tuple[pd.DataFrame, dict | None, str]:
    """A crowd × channel delivery log with holdout lift (day, channel, crowd, [stage], cost, impressions,
    lift_<aim>, [attributed_<aim>]) from a DataFrame or CSV/Parquet file, or — with no history — the simulator's
    cell market (`crowds` crowds in random stages, or the 7 DEEPLINK stages) with its truth; and its source.

    >>> log, truth, source = cell_history(days=20)
    >>> len(log), source
    (700, 'simulated cell market (7 crowds × 5 channels, 20 days, seed 0)')
    """
    if history is not None:
        return _history(history), None, str(history) if not isinstance(history, pd.DataFrame) else "history"
    if not (1 <= channels <= 6 and 10 <= days <= MAX_DAYS and (crowds is None or 1 <= crowds <= 100)):
        raise ValueError(f"a simulated cell market has 1 to 6 channels, 1 to 100 crowds and 10 to {MAX_DAYS} days")
    log, truth = simulate_cells(crowds, channels, days, seed)
    return log, truth, (f"simulated cell market ({log.crowd.nunique()} crowds × {channels} channels, {days} days, "
                        f"seed {seed})")


def plan_crowds(scene: str, budget: float, history: pd.DataFrame | str | Path | None = None,
                crowds: tuple[str, ...] = (), min_share: float = 0.0, max_share: float = 1.0,
                simulate_crowds: int | None = None, channels: int = 5, days: int = 60, seed: int = 0) -> CellPlan:
    """A scene's daily budget over crowd × channel cells by incremental outcome (see cells.plan_cells), from a
    cell history or the simulator's cell market; on the simulator also `comparison` (cells.compare_cells: the
    true outcome against the channel-only plan, an equal split, attributed values and the oracle).

    >>> p = plan_crowds("爆款快", 3000.0, days=30)
    >>> p.scene, round(sum(p.shares.values()), 6), sorted(p.comparison["margin"])
    ('货品加速', 1.0, ['attributed', 'channels', 'equal_split'])
    """
    log, truth, source = cell_history(history, simulate_crowds, channels, days, seed)
    fit = fit_cells(log)
    plan = plan_cells(fit, scene, budget, tuple(crowds), min_share, max_share, seed=seed)
    plan["source"] = source
    plan["comparison"] = compare_cells(log, truth, scene, budget, fit) if truth and not crowds else None
    return plan


def what_if(scene: str, budget: float | None = None, target: float | None = None, days: int = 1,
            history: pd.DataFrame | str | Path | None = None, crowds: tuple[str, ...] = (),
            simulate_crowds: int | None = None, channels: int = 5, sim_days: int = 60, seed: int = 0) -> WhatIf:
    """What a daily `budget` buys over `days` of the scene's incremental outcome, or what budget a day buys
    `target` over `days` — each with a 90% interval (give one of the two).

    >>> w = what_if("爆发收割", budget=2000.0, days=10, sim_days=30)
    >>> w.outcome > 0, w.interval[0] < w.outcome < w.interval[1]
    (True, True)
    """
    if (budget is None) == (target is None):
        raise ValueError("give a budget (what it buys) or a target (what budget it needs), not both or neither")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days is 1 to {MAX_DAYS}, not {days}")
    log, _, source = cell_history(history, simulate_crowds, channels, sim_days, seed)
    fit = fit_cells(log)
    if budget is not None:
        p = plan_cells(fit, scene, budget, tuple(crowds), seed=seed)
        return WhatIf(scene=p.scene, aim=p.aim, days=days, budget=budget, outcome=p.incremental * days,
                      interval=[x * days for x in p.interval] if p.interval else None, target=None,
                      budget_interval=None, source=source)
    need = budget_for(fit, scene, target, days, tuple(crowds))
    return WhatIf(scene=need.scene, aim=need.aim, days=days, budget=need.budget,
                  outcome=target if need.budget is not None else None, interval=None, target=target,
                  budget_interval=need.interval, source=source)


def _history(history: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(history, pd.DataFrame):
        return history
    path = Path(history)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


__all__ = ["BUDGET_MODES", "cell_history", "fit_channels", "latest_campaign", "plan_budget", "plan_crowds",
           "plan_sequence", "plan_subsidy", "sequence_config", "simulate_flight", "what_if"]
