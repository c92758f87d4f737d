"""Typed results of the autopilot (`aipl.results.Result` subclasses): dicts whose fields also read as attributes,
with a one-line repr that gives the headline numbers; and the `[sequence]` settings (`SequenceConfig`, with its
frequency `Cap`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd

from aipl.results import Result, records


def _shares(shares: dict[str, float], top: int = 3) -> str:
    best = sorted(shares.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{c} {w:.0%}" for c, w in best[:top])
    return text + (", …" if len(best) > top else "")


def _pct(xs: Iterable[tuple[str, float | None]]) -> str:
    return ", ".join(f"{k} {'—' if v is None else format(v, '.1%')}" for k, v in xs)


@dataclass(frozen=True)
class Cap:
    """At most `contacts` brand ad exposures per consumer in any `days` days.

    >>> Cap()
    Cap(contacts=3, days=7)
    >>> Cap(contacts=0)
    Traceback (most recent call last):
    ...
    ValueError: a frequency cap needs at least 1 contact in at least 1 day
    """

    contacts: int = 3
    days: int = 7

    def __post_init__(self) -> None:
        if self.contacts < 1 or self.days < 1:
            raise ValueError("a frequency cap needs at least 1 contact in at least 1 day")


class Allocation(Result):
    """A daily budget split across channels (`shares`, summing to 1), its expected `objective` and that of an
    `equal_split`; what `allocate` returns.

    >>> a = Allocation(shares={"display": 0.25, "search": 0.75}, objective=120.0, equal_split=100.0)
    >>> a
    Allocation(objective 120.00 against 100.00 split equally: search 75%, display 25%)
    >>> a.shares["search"]
    0.75
    """

    shares: dict[str, float]
    objective: float
    equal_split: float

    def __repr__(self) -> str:
        return (f"Allocation(objective {self['objective']:,.2f} against {self['equal_split']:,.2f} split equally: "
                f"{_shares(self['shares'])})")


class BrandFit(Result):
    """A brand's response curve per cell (a channel, or `channel/crowd`): {cell: {"curve": Curve, "holdout_mape",
    "days", "intervals" (90% per parameter), "draws" (the bootstrap Curves)}}; what `fit_brand` returns.

    >>> from aipl.autopilot.response import Curve
    >>> fit = BrandFit(search={"curve": Curve(5e4, 80.0, 1.8, 0.45), "holdout_mape": 0.004, "days": 60,
    ...                        "intervals": {"k": [78.0, 82.0]}, "draws": []})
    >>> fit
    BrandFit(1 cells over up to 60 days, holdout error 0.4%: search)
    >>> fit["search"]["curve"].k, fit.to_dict()["search"]["curve"]
    (80.0, {'reach': 50000.0, 'k': 80.0, 'alpha': 1.8, 'theta': 0.45})
    """

    def to_dict(self) -> dict:
        """JSON-ready: each curve and bootstrap draw as its parameters.

        >>> from aipl.autopilot.response import Curve
        >>> BrandFit(s={"curve": Curve(1.0, 2.0, 3.0, 0.5), "draws": [Curve(1.0, 2.0, 3.0, 0.4)]}).to_dict()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'s': {'curve': {'reach': 1.0, 'k': 2.0, 'alpha': 3.0, 'theta': 0.5},
               'draws': [{'reach': 1.0, 'k': 2.0, 'alpha': 3.0, 'theta': 0.4}]}}
        """
        return {cell: {**fit, "curve": asdict(fit["curve"]), "draws": [asdict(c) for c in fit.get("draws", [])]}
                for cell, fit in self.items()}

    def __repr__(self) -> str:
        errors = [f["holdout_mape"] for f in self.values() if f.get("holdout_mape") is not None]
        error = ""
        if errors:
            lo, hi = min(errors), max(errors)
            error = f", holdout error {lo:.1%}" + (f"–{hi:.1%}" if hi > lo else "")
        days = max((f["days"] for f in self.values()), default=0)
        return f"BrandFit({len(self)} cells over up to {days} days{error}: {', '.join(self)})"


class BudgetPlan(Result):
    """A daily budget split across channels (or channel × crowd cells): the `shares`, the `spend` a day (up to the
    daily `budget`), the expected `objective` of the `aim` (a scene's outcome, or impressions) against an
    `equal_split`, with its 90% `objective_interval`, the scene's KPIs (`expected`) and what was asked (scene,
    campaign, strategy, items, target crowds' size, ROI floor). What `plan_budget` and `scene_plan` return.
    `items` and `values` read by key only (`plan["items"]`): as attributes they are the dict's methods.

    >>> plan = BudgetPlan.of("B01", "gmv", 3000.0, 3000.0, {"live": 0.6, "search": 0.4}, 9000.0, 7500.0,
    ...                      scene="爆发收割", objective_interval=[8000.0, 9900.0])
    >>> plan
    BudgetPlan(B01 爆发收割 (gmv): 3,000.00 of 3,000.00 a day → 9,000.00 (90% 8,000.00–9,900.00) against 7,500.00 split
               equally: live 60%, search 40%)
    >>> plan.shares["live"], plan["items"], list(plan.to_dict())[:4]
    (0.6, [], ['brand', 'aim', 'budget', 'spend'])
    """

    brand: str
    aim: str
    budget: float
    spend: float
    shares: dict[str, float]
    objective: float
    equal_split: float
    scene: str | None
    code: str | None
    kpis: list[str]
    campaign: str | None
    strategy: str | None
    items: list[str]
    target_consumers: int | None
    values: dict[str, float]
    roi: float | None
    roi_floor: float | None
    min_marginal: float | None
    objective_interval: list[float] | None
    expected: dict[str, float | None]

    @classmethod
    def of(cls, brand: str, aim: str, budget: float, spend: float, shares: dict[str, float], objective: float,
           equal_split: float, scene: str | None = None, code: str | None = None, kpis: Iterable[str] = (),
           campaign: str | None = None, strategy: str | None = None, items: Iterable[str] = (),
           target_consumers: int | None = None, values: dict[str, float] | None = None, roi: float | None = None,
           roi_floor: float | None = None, min_marginal: float | None = None,
           objective_interval: list[float] | None = None, expected: dict[str, float | None] | None = None
           ) -> BudgetPlan:
        """A plan with every field, in order; what was not asked for is None or empty.

        >>> BudgetPlan.of("B01", "impressions", 10.0, 10.0, {"search": 1.0}, 50.0, 50.0).scene is None
        True
        """
        return cls(brand=brand, aim=aim, budget=budget, spend=spend, shares=shares, objective=objective,
                   equal_split=equal_split, scene=scene, code=code, kpis=list(kpis), campaign=campaign,
                   strategy=strategy, items=list(items), target_consumers=target_consumers, values=dict(values or {}),
                   roi=roi, roi_floor=roi_floor, min_marginal=min_marginal, objective_interval=objective_interval,
                   expected=dict(expected or {}))

    def __repr__(self) -> str:
        what = f"{self['scene']} ({self['aim']})" if self.get("scene") else self["aim"]
        iv = self.get("objective_interval")
        iv = f" (90% {iv[0]:,.2f}–{iv[1]:,.2f})" if iv else ""
        return (f"BudgetPlan({self['brand']} {what}: {self['spend']:,.2f} of {self['budget']:,.2f} a day → "
                f"{self['objective']:,.2f}{iv} against {self['equal_split']:,.2f} split equally: "
                f"{_shares(self['shares'])})")


class SequenceComparison(Result):
    """A flight of sequenced delivery on hidden journeys: per policy (untargeted, rule, learned, oracle) the
    contacts, the share of consumers moved up a stage, advances per 1,000 contacts and the lift against
    untargeted delivery; and the hidden best action per stage. What `compare_sequence` returns.

    >>> c = SequenceComparison(consumers=2000, days=14, reach=0.3, cap=[3, 7], hidden_best={"perform": "coupon"},
    ...     policies={"untargeted": {"advanced_share": 0.106}, "rule": {"advanced_share": 0.158}})
    >>> c
    SequenceComparison(2,000 consumers, 14 days: moved up untargeted 10.6%, rule 15.8%)
    >>> c.policies["rule"]["advanced_share"]
    0.158
    """

    consumers: int
    days: int
    reach: float
    cap: list[int]
    policies: dict[str, dict]
    hidden_best: dict[str, str]

    def __repr__(self) -> str:
        moved = _pct((k, p["advanced_share"]) for k, p in self["policies"].items())
        return f"SequenceComparison({self['consumers']:,} consumers, {self['days']} days: moved up {moved})"


class SequencePlan(Result):
    """Sequenced delivery (序列化投放) on `day`: each consumer's next action (`actions`: consumer_id, deeplink,
    contacts, action), how many consumers get each action by stage (`counts`), the frequency `cap`, and the
    flight's results against the simulator's hidden journeys when one was run (a SequenceComparison), with
    then also `delivery` (sequence.compare_delivery: a channel and creative type per stage, learned on journeys
    whose best actions are drawn at random); what `plan_sequence` returns.

    >>> counts = pd.DataFrame({"deeplink": ["discover", "perform"], "action": ["content", "coupon"],
    ...                        "consumers": [99, 6]})
    >>> seq = SequencePlan(brand="B01", day=date(2026, 10, 24), cap=Cap(), actions=pd.DataFrame(), counts=counts,
    ...                    flight=None)
    >>> seq
    SequencePlan(B01 on 2026-10-24, cap 3 contacts in 7 days: 105 consumers, content 99, coupon 6)
    >>> seq.to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'brand': 'B01', 'day': '2026-10-24', 'cap': [3, 7],
     'actions': [{'deeplink': 'discover', 'action': 'content', 'consumers': 99},
                 {'deeplink': 'perform', 'action': 'coupon', 'consumers': 6}], 'flight': None}
    """

    brand: str
    day: date
    cap: Cap
    actions: pd.DataFrame
    counts: pd.DataFrame
    flight: SequenceComparison | None

    def to_dict(self) -> dict:
        """JSON-ready: the counts by stage and action (not every consumer's row) as `actions`."""
        cap = self["cap"]
        return {"brand": self["brand"], "day": self["day"].isoformat(), "cap": [cap.contacts, cap.days],
                "actions": records(self["counts"]), "flight": self["flight"],
                **({"delivery": self["delivery"]} if self.get("delivery") else {})}

    def __repr__(self) -> str:
        c, counts = self["cap"], self["counts"]
        by_action = counts.groupby("action", sort=False).consumers.sum().sort_values(ascending=False, kind="stable")
        actions = ", ".join(f"{a} {n:,}" for a, n in by_action.items())
        return (f"SequencePlan({self['brand']} on {self['day']}, cap {c.contacts} contacts in {c.days} days: "
                f"{int(counts.consumers.sum()):,} consumers, {actions})")


class SubsidyComparison(Result):
    """The true incremental GMV of a subsidy split learned from simulated merchants' history, of the oracle and of
    the rules of thumb (`true_incremental_gmv`, and each as a `share_of_oracle`), with the learned plan's tiers
    and the merchants' `fitted` curves; what `compare_subsidy` returns.

    >>> c = SubsidyComparison(pool=1000, floors={}, merchants=12, cold_start=1,
    ...     true_incremental_gmv={"learned": 91.0, "oracle": 100.0}, share_of_oracle={"learned": 0.91, "oracle": 1.0,
    ...     "by_size": 0.38}, plan_tiers={}, fitted=pd.DataFrame({"merchant_id": ["m1"], "k": [100.0]}))
    >>> c
    SubsidyComparison(12 merchants, pool 1,000.00: share of the oracle learned 91.0%, by_size 38.0%)
    >>> c.to_dict()["fitted"]
    [{'merchant_id': 'm1', 'k': 100.0}]
    """

    pool: float
    floors: dict[str, float]
    merchants: int
    cold_start: int
    true_incremental_gmv: dict[str, float]
    share_of_oracle: dict[str, float]
    plan_tiers: dict[str, dict[str, float]]
    fitted: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: the fitted curves as a list of rows."""
        return {**self, "fitted": records(self["fitted"])}

    def __repr__(self) -> str:
        shares = _pct((k, v) for k, v in self["share_of_oracle"].items() if k != "oracle")
        return (f"SubsidyComparison({self['merchants']:,} merchants, pool {self['pool']:,.2f}: share of the oracle "
                f"{shares})")


class SubsidyPlan(Result):
    """A daily subsidy pool split across merchants: what was `spent` (and left `unspent`), the expected
    incremental GMV and ROI, the split by tier, each merchant's `allocation`, and (on simulated merchants) the
    `comparison` with the oracle and the rules of thumb (a SubsidyComparison, or None); what `allocate_subsidy`
    and `plan_subsidy` return.

    >>> plan = SubsidyPlan(pool=300.0, spent=300.0, unspent=0.0, incremental_gmv=450.0, roi=1.5,
    ...     tiers={"head": {"share": 0.8}, "new": {"share": 0.2}}, allocation=pd.DataFrame(), comparison=None)
    >>> plan
    SubsidyPlan(pool 300.00: spent 300.00 → incremental GMV 450.00 (ROI 1.50): head 80%, new 20%)
    >>> sorted(plan.to_dict())
    ['comparison', 'incremental_gmv', 'pool', 'roi', 'spent', 'tiers', 'unspent']
    """

    pool: float
    spent: float
    unspent: float
    incremental_gmv: float
    roi: float | None
    tiers: dict[str, dict[str, float]]
    allocation: pd.DataFrame
    comparison: SubsidyComparison | None

    def to_dict(self) -> dict:
        """JSON-ready: without the per-merchant allocation, and the comparison without the fitted curves."""
        cmp = self["comparison"]
        return {**{k: v for k, v in self.items() if k != "allocation"},
                "comparison": None if cmp is None else {k: v for k, v in cmp.items() if k != "fitted"}}

    def __repr__(self) -> str:
        roi = "—" if self["roi"] is None else f"{self['roi']:,.2f}"
        tiers = ", ".join(f"{t} {v['share']:.0%}" for t, v in self["tiers"].items())
        return (f"SubsidyPlan(pool {self['pool']:,.2f}: spent {self['spent']:,.2f} → incremental GMV "
                f"{self['incremental_gmv']:,.2f} (ROI {roi}): {tiers})")


class FlightComparison(Result):
    """A flight of `days` at a daily `budget` on hidden curves: each policy's total impressions and its regret
    (the share of the oracle's total it lost), and the oracle's shares; what `simulate_flight` returns.

    >>> f = FlightComparison(budget=100.0, days=10, totals={"oracle": 160.0, "thompson": 144.0},
    ...                      regret={"oracle": 0.0, "thompson": 0.1}, oracle_shares={"search": 1.0})
    >>> f
    FlightComparison(10 days at 100.00 a day: regret oracle 0.0%, thompson 10.0%)
    >>> f.regret["thompson"]
    0.1
    """

    budget: float
    days: int
    totals: dict[str, float]
    regret: dict[str, float]
    oracle_shares: dict[str, float]

    def __repr__(self) -> str:
        return (f"FlightComparison({self['days']} days at {self['budget']:,.2f} a day: regret "
                f"{_pct(self['regret'].items())})")


@dataclass(frozen=True)
class SequenceConfig:
    """The workspace's `[sequence]` settings: the stage → action `mapping` (the defaults with aipl.toml's
    overrides) and the frequency `cap`; what `sequence_config` returns.

    >>> c = SequenceConfig({"discover": "content", "engage": "conversion_ad", "perform": "conversion_ad"},
    ...                    Cap(days=14))
    >>> c
    SequenceConfig(content ← discover; conversion_ad ← engage, perform; cap 3 contacts in 14 days)
    >>> c.mapping["perform"], c.to_dict()["cap"]
    ('conversion_ad', [3, 14])
    """

    mapping: dict[str, str]
    cap: Cap

    def to_dict(self) -> dict:
        """JSON-ready: the mapping, and the cap as [contacts, days].

        >>> SequenceConfig({"discover": "content"}, Cap()).to_dict()
        {'mapping': {'discover': 'content'}, 'cap': [3, 7]}
        """
        return {"mapping": dict(self.mapping), "cap": [self.cap.contacts, self.cap.days]}

    def __repr__(self) -> str:
        by_action: dict[str, list[str]] = {}
        for stage, action in self.mapping.items():
            by_action.setdefault(action, []).append(stage)
        actions = "; ".join(f"{a} ← {', '.join(stages)}" for a, stages in by_action.items())
        return f"SequenceConfig({actions}; cap {self.cap.contacts} contacts in {self.cap.days} days)"


class CellFit(Result):
    """Fitted crowd × channel cells (`cells`: name → channel, crowd, stage, curve, model, parameter intervals,
    incremental `value` per impression by aim with its se and interval, `attributed` per impression, days) at
    `confidence`, for the `aims` the log measured. What `fit_cells` returns; `table()` gives one row a cell.

    >>> from aipl.autopilot.response import Curve
    >>> fit = CellFit(cells={"search/perform": {"channel": "search", "crowd": "perform", "stage": "perform",
    ...     "curve": Curve(100.0, 10.0, 2.0, 0.3), "intervals": {}, "value": {"gmv": {"value": 0.5}},
    ...     "attributed": {"gmv": 1.2}, "days": 40}}, confidence=0.9, aims=["gmv"])
    >>> fit
    CellFit(1 cells: 1 channels × 1 crowds, 40 days, 90% intervals)
    >>> fit.table().columns.tolist()[:4]
    ['cell', 'channel', 'crowd', 'stage']
    """

    cells: dict[str, dict]
    confidence: float
    aims: list[str]

    def __repr__(self) -> str:
        c = self["cells"].values()
        days = max((x["days"] for x in c), default=0)
        return (f"CellFit({len(c)} cells: {len({x['channel'] for x in c})} channels × "
                f"{len({x['crowd'] for x in c})} crowds, {days} days, {self['confidence']:.0%} intervals)")

    def table(self) -> pd.DataFrame:
        """One row a cell: the curve's parameters with intervals, and per aim the incremental value per
        impression (with its interval) beside the attributed one."""
        rows = []
        for name, c in self["cells"].items():
            row = {"cell": name, "channel": c["channel"], "crowd": c["crowd"], "stage": c["stage"],
                   **asdict(c["curve"]), "intervals": c["intervals"], "days": c["days"]}
            for aim, v in c["value"].items():
                row[f"incremental_{aim}"] = v["value"]
                row[f"incremental_{aim}_interval"] = v.get("interval")
                row[f"attributed_{aim}"] = c["attributed"].get(aim)
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready: the confidence, the aims and the table's rows."""
        return {"confidence": self["confidence"], "aims": list(self["aims"]), "cells": records(self.table())}


class CellPlan(Result):
    """A scene's daily budget over crowd × channel cells: `shares`, the expected `incremental` outcome with its
    `interval`, the `attributed` (宽) figure beside it, an `equal_split`'s incremental outcome, ROI (outcomes in
    yuan) or cost per outcome (counts), and `cells` (a DataFrame: cell, channel, crowd, stage, share, spend,
    impressions, incremental with its bounds, attributed). What `plan_cells` returns.

    >>> p = CellPlan(scene="爆发收割", code="adStrategyBaoFa", aim="gmv", aim_label="GMV", budget=100.0,
    ...              shares={"live/perform": 1.0}, incremental=250.0, interval=[200.0, 300.0], attributed=600.0,
    ...              equal_split=250.0, roi=2.5, cost_per_outcome=None, confidence=0.9, cells=pd.DataFrame())
    >>> p
    CellPlan(爆发收割 (gmv): 100.00 a day over 1 cells → incremental 250.00 (90% 200.00–300.00), attributed 600.00)
    """

    scene: str
    code: str
    aim: str
    aim_label: str
    budget: float
    shares: dict[str, float]
    incremental: float
    interval: list[float] | None
    attributed: float
    equal_split: float
    roi: float | None
    cost_per_outcome: float | None
    confidence: float
    cells: pd.DataFrame

    def __repr__(self) -> str:
        iv = self["interval"]
        ci = f" ({self['confidence']:.0%} {iv[0]:,.2f}–{iv[1]:,.2f})" if iv else ""
        return (f"CellPlan({self['scene']} ({self['aim']}): {self['budget']:,.2f} a day over {len(self['shares'])} "
                f"cells → incremental {self['incremental']:,.2f}{ci}, attributed {self['attributed']:,.2f})")

    def to_dict(self) -> dict:
        """JSON-ready (the cells as rows)."""
        return {**{k: v for k, v in self.items() if k != "cells"}, "cells": records(self["cells"])}


class BudgetNeed(Result):
    """The daily `budget` a scene's plan needs to buy `target` incremental outcome over `days` (None: out of
    reach), with the budgets at which the plan's upper and lower bounds reach it (`interval`), and the `total`.
    What `budget_for` returns.

    >>> BudgetNeed(scene="预热蓄水", aim="fav_cart", target=2000.0, days=10, budget=150.0, interval=[120.0, 190.0],
    ...            total=1500.0)
    BudgetNeed(预热蓄水: 2,000 fav_cart in 10 days needs 150.00 a day (120.00–190.00), 1,500.00 in all)
    """

    scene: str
    aim: str
    target: float
    days: int
    budget: float | None
    interval: list[float | None]
    total: float | None

    def __repr__(self) -> str:
        iv = self["interval"]
        if self["budget"] is None:
            return (f"BudgetNeed({self['scene']}: {self['target']:,.0f} {self['aim']} in {self['days']} days is out "
                    "of reach)")
        bounds = "–".join("?" if x is None else f"{x:,.2f}" for x in iv)
        return (f"BudgetNeed({self['scene']}: {self['target']:,.0f} {self['aim']} in {self['days']} days needs "
                f"{self['budget']:,.2f} a day ({bounds}), {self['total']:,.2f} in all)")


class WhatIf(Result):
    """A what-if on a scene's crowd × channel plan over `days`: with a `budget` a day, the incremental `outcome`
    it buys with its `interval`; with a `target`, the `budget` a day it needs with the budgets at which the
    plan's upper and lower bounds reach it (`budget_interval`; None: out of reach). `source` names the cell
    history. What `what_if` returns.

    >>> WhatIf(scene="爆发收割", aim="gmv", days=10, budget=500.0, outcome=12000.0, interval=[9000.0, 15000.0],
    ...        target=None, budget_interval=None, source="simulated (seed 0)")
    WhatIf(爆发收割: 500.00 a day for 10 days buys 12,000.00 gmv (90% 9,000.00–15,000.00))
    """

    scene: str
    aim: str
    days: int
    budget: float | None
    outcome: float | None
    interval: list[float] | None
    target: float | None
    budget_interval: list[float | None] | None
    source: str

    def __repr__(self) -> str:
        if self["target"] is not None and self["budget"] is None:
            return (f"WhatIf({self['scene']}: {self['target']:,.2f} {self['aim']} in {self['days']} days is out of "
                    "reach)")
        iv = self["interval"]
        ci = f" (90% {iv[0]:,.2f}–{iv[1]:,.2f})" if iv else ""
        return (f"WhatIf({self['scene']}: {self['budget']:,.2f} a day for {self['days']} days buys "
                f"{self['outcome']:,.2f} {self['aim']}{ci})")
