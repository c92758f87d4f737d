"""Typed results of measurement (`aipl.results.Result` subclasses): dicts whose fields also read as attributes,
with a one-line repr that gives the headline numbers."""

from __future__ import annotations

import pandas as pd

from aipl.results import Result

# the lift fields in the order the JSON gives them (`aipl lift --json`)
LIFT_FIELDS = ("kind", "method", "brand", "window", "covariates", "arms", "campaign", "experiment", "warning",
               "verdict", "assumptions", "balance")
LIFT_OPTIONAL = ("campaign", "experiment", "warning", "verdict", "assumptions", "balance")


def _span(window: dict) -> str:
    return f"{window['start']} … {window['end']}"


def _signed(x: float | None, fmt: str = "+.4g") -> str:
    return "—" if x is None else format(x, fmt)


def _effect(metric: str, e: dict) -> str:
    return f"{metric} {_signed(e['effect'])} [{_signed(e['ci_low'])}, {_signed(e['ci_high'])}]"


class LiftResult(Result):
    """The lift of each treated arm over control per metric (`arms[i]["lift"][metric]`: effect, interval,
    relative and incremental), how it was estimated (`kind`: randomised or observational; `method`), over which
    `window`, adjusted for which `covariates`; an observational estimate carries a `warning`, its `assumptions`,
    the covariates' `balance`, a `sensitivity` per metric (E-values: how strong hidden confounding must be to
    flip the sign) and a `verdict`: when balance fails the point estimate is not presented, only the range the
    estimators span. What `campaign_lift`, `experiment_lift`, `exposure_lift` and `measure_lift` return.

    >>> est = {"effect": 0.026, "ci_low": 0.009, "ci_high": 0.043}
    >>> res = LiftResult(kind="randomised", experiment="sim_holdout", brand="B01", method="cuped",
    ...                  window={"start": "2026-09-15", "end": "2026-09-28"}, covariates=[],
    ...                  arms=[{"arm": "eligible", "control": False, "n": 345, "lift": {"conversion": est}},
    ...                        {"arm": "holdout", "control": True, "n": 55}])
    >>> res
    LiftResult(randomised cuped, brand B01, 2026-09-15 … 2026-09-28: eligible (345) vs holdout (55):
               conversion +0.026 [+0.009, +0.043])
    >>> res.arms[0]["lift"]["conversion"]["effect"], res.campaign, res.warning
    (0.026, None, None)
    >>> list(res.to_dict())
    ['kind', 'method', 'brand', 'window', 'covariates', 'arms', 'experiment']
    >>> LiftResult(res, kind="observational", verdict={"presented": False, "ranges": {"conversion": [-0.01, 0.05]}})
    LiftResult(observational cuped, brand B01, 2026-09-15 … 2026-09-28: eligible (345) vs holdout (55):
               conversion no point estimate (balance fails), range [-0.01, +0.05])
    """

    kind: str
    method: str
    brand: str | None
    window: dict
    covariates: list[str]
    arms: list[dict]
    campaign: str | None
    experiment: str | None
    warning: str | None
    verdict: dict | None  # observational: {"presented", "reason", "unbalanced", "threshold", "ranges"}
    assumptions: list[str] | None
    balance: list[dict] | None

    def __getattr__(self, name: str):
        if name in LIFT_OPTIONAL and name not in self:
            return None  # a field this kind of estimate does not have
        return super().__getattr__(name)

    def to_dict(self) -> dict:
        """JSON-ready, the fields in a fixed order (those the estimate has).

        >>> LiftResult(arms=[], kind="observational", campaign="c", method="ipw").to_dict()
        {'kind': 'observational', 'method': 'ipw', 'arms': [], 'campaign': 'c'}
        """
        return {**{k: self[k] for k in LIFT_FIELDS if k in self}, **{k: v for k, v in self.items()
                                                                     if k not in LIFT_FIELDS}}

    def __repr__(self) -> str:
        control = next((a for a in self.get("arms", []) if a.get("control")), None)
        v = self.get("verdict") or {"presented": True}

        def shown(m: str, e: dict) -> str:
            if v["presented"]:
                return _effect(m, e)
            lo, hi = v["ranges"][m]
            return f"{m} no point estimate (balance fails), range [{_signed(lo)}, {_signed(hi)}]"

        arms = [f"{a['arm']} ({a['n']:,})" + (f" vs {control['arm']} ({control['n']:,})" if control else "")
                + ": " + ", ".join(shown(m, e) for m, e in a["lift"].items())
                for a in self.get("arms", []) if a.get("lift")]
        return (f"LiftResult({self['kind']} {self['method']}, brand {self.get('brand') or 'all'}, "
                f"{_span(self['window'])}: {'; '.join(arms) or 'no treated arm'})")


class CampaignPI(Result):
    """The purchase-intent index (PI, 0–100) of exposed and control consumers over a campaign (`groups`: n, pi and
    each behaviour's rate r_b), the `weights` used and where they came from, the `lift` on PI with its interval,
    and the behaviours credited to each channel (`credit`); what `campaign_pi` returns.

    >>> pi = CampaignPI(campaign="sim_double11", brand="B01", kind="randomised", experiment="sim_holdout",
    ...                 window={"start": "2026-09-15", "end": "2026-10-24"}, weights={}, weights_source="equal",
    ...                 groups=[{"group": "exposed", "n": 345, "pi": 5.43}, {"group": "control", "n": 55, "pi": 4.77}],
    ...                 lift={"effect": 0.66, "ci_low": -1.47, "ci_high": 2.80}, credit=[])
    >>> pi
    CampaignPI(sim_double11 for B01, 2026-09-15 … 2026-10-24, randomised: PI exposed 5.43 (345) vs control 4.77 (55),
               lift +0.66 [-1.47, +2.80])
    >>> pi.lift["effect"], pi.groups[0]["pi"]
    (0.66, 5.43)
    """

    campaign: str
    brand: str
    kind: str
    experiment: str | None
    window: dict[str, str]
    weights: dict[str, float]
    weights_source: str
    groups: list[dict]
    lift: dict
    credit: list[dict]

    def __repr__(self) -> str:
        groups = " vs ".join(f"{g['group']} {g['pi']:.2f} ({g['n']:,})" for g in self["groups"])
        lift = self["lift"]
        return (f"CampaignPI({self['campaign']} for {self['brand']}, {_span(self['window'])}, {self['kind']}: "
                f"PI {groups}, lift {lift['effect']:+.2f} [{lift['ci_low']:+.2f}, {lift['ci_high']:+.2f}])")


class PiWeights(Result):
    """An industry's learned PI weights (summing to 1), from how many consumer-brand `pairs` and later `buyers`,
    as of which day; what `learn_weights` returns.

    >>> w = PiWeights(industry="beauty", weights={"pdp_view": 0.2, "favorite": 0.5, "add_to_cart": 0.3}, pairs=216,
    ...               buyers=15, as_of="2026-10-01", horizon_days=30, lookback_days=30)
    >>> w
    PiWeights(beauty as of 2026-10-01 from 216 pairs, 15 buyers: favorite 0.500, add_to_cart 0.300, pdp_view 0.200)
    >>> w.weights["favorite"]
    0.5
    """

    industry: str
    weights: dict[str, float]
    pairs: int
    buyers: int
    as_of: str
    horizon_days: int
    lookback_days: int

    def __repr__(self) -> str:
        top = sorted(self["weights"].items(), key=lambda kv: -kv[1])[:3]
        return (f"PiWeights({self['industry']} as of {self['as_of']} from {self['pairs']:,} pairs, "
                f"{self['buyers']:,} buyers: {', '.join(f'{b} {w:.3f}' for b, w in top)})")


class Postmortem(Result):
    """A campaign's post-mortem (结案) for one brand: `totals` in the narrow (窄) and wide (宽) scopes (spend,
    impressions, clicks, CTR, CPC, CPM, 收藏加购, orders, GMV, CVR with its numerator and denominator, ROI, new
    customers), the same `cuts` by channel, crowd, creative, phase, customer (new/returning) and strategy crowd,
    new and returning `customers` (新客: no purchase in the `new_customer_days` before the campaign), the AIPL
    `flow` over the campaign, the `lift` (a LiftResult, {"error": …} when none can be measured, or None) and its
    `lift_cuts` (customer, strategy crowd, phase; outcomes by channel, crowd, creative), the purchase-intent
    index `pi` (a CampaignPI with its `cuts`) and the `definitions` of the scopes, CVRs and cuts; what
    `postmortem` returns.

    >>> pm = Postmortem(campaign="sim_double11", brand="B01", start="2026-09-15", end="2026-10-24",
    ...                 attribution_days=15, phases=[], totals={"narrow": {"spend": 21.24, "gmv": 0.0, "roi": 0.0},
    ...                 "wide": {"spend": 21.24, "gmv": 4816.86, "roi": 226.78}}, cuts={}, customers=[
    ...                 {"customer": "new", "buyers": 8}, {"customer": "returning", "buyers": 2}], flow={}, lift=None,
    ...                 pi={"groups": [{"group": "exposed", "pi": 5.43}, {"group": "control", "pi": 4.77}]})
    >>> pm
    Postmortem(sim_double11 for B01, 2026-09-15 … 2026-10-24: spend 21.24, GMV 4,816.86 宽 / 0.00 窄, ROI 226.78 宽,
               buyers 8 new / 2 returning, PI 5.43 vs 4.77)
    >>> pm.totals["wide"]["gmv"]
    4816.86
    """

    campaign: str
    brand: str
    start: str
    end: str
    attribution_days: int
    phases: list[dict]
    totals: dict[str, dict]
    cuts: dict[str, dict[str, list[dict]]]
    customers: list[dict]
    flow: dict
    lift: dict | None
    lift_cuts: dict | None
    pi: dict | None
    new_customer_days: int
    definitions: dict[str, str]

    def to_dict(self) -> dict:
        """JSON-ready, the flow, the lift and the PI as plain dicts.

        >>> from aipl.assets import Flow
        >>> d = Postmortem(campaign="c", flow=Flow({"from": "2026-10-01"}), lift=None).to_dict()
        >>> d, type(d["flow"]).__name__
        ({'campaign': 'c', 'flow': {'from': '2026-10-01'}, 'lift': None}, 'dict')
        """
        return {k: v.to_dict() if isinstance(v, Result) else v for k, v in self.items()}

    def __repr__(self) -> str:
        wide, narrow = self["totals"]["wide"], self["totals"]["narrow"]
        roi = "—" if wide["roi"] is None else f"{wide['roi']:,.2f}"
        buyers = " / ".join(f"{c['buyers']:,} {c['customer']}" for c in self["customers"])
        groups = (self.get("pi") or {}).get("groups")
        pi = f", PI {groups[0]['pi']:.2f} vs {groups[1]['pi']:.2f}" if groups else ""
        return (f"Postmortem({self['campaign']} for {self['brand']}, {self['start']} … {self['end']}: "
                f"spend {wide['spend']:,.2f}, GMV {wide['gmv']:,.2f} 宽 / {narrow['gmv']:,.2f} 窄, ROI {roi} 宽, "
                f"buyers {buyers}{pi})")


class UpliftTargets(Result):
    """Who to contact for a treated arm: the learners' held-out `evaluation` (Qini, AUUC), the consumers chosen
    under the budget (`selected`: consumer_id and uplift, best first), the increment expected against as many
    consumers at random, the held-out Qini curve of the chosen learner (`qini`: x, y) and the list the choice
    was saved as (`saved_as`, with `target_uplift`); what `uplift_targets` and `target_uplift` return.

    >>> import numpy as np
    >>> t = UpliftTargets(experiment="hillstrom_2008", arm="Womens E-Mail", metric="visit", learner="x",
    ...     features=["womens", "recency"], window={"start": "2008-03-01", "end": "2008-03-14"}, train=500, test=500,
    ...     evaluation=[], scored=1000, selected=pd.DataFrame({"consumer_id": ["c1", "c2"], "uplift": [0.18, 0.17]}),
    ...     expected_incremental=0.35, expected_incremental_untargeted=0.2, qini=(np.arange(3.0), np.zeros(3)),
    ...     saved_as=None)
    >>> t
    UpliftTargets(hillstrom_2008 · Womens E-Mail on visit, x-learner: 2 of 1,000 chosen, expected +0.35 against
                  +0.2 at random)
    >>> t.selected.consumer_id.tolist(), t.saved_as
    (['c1', 'c2'], None)
    """

    experiment: str
    arm: str
    metric: str
    learner: str
    features: list[str]
    window: dict[str, str]
    train: int
    test: int
    evaluation: list[dict]
    scored: int
    selected: pd.DataFrame
    expected_incremental: float
    expected_incremental_untargeted: float
    qini: tuple
    saved_as: str | None

    def to_dict(self) -> dict:
        """JSON-ready: the selection as a count (`chosen`), without the ids and the Qini curve.

        >>> d = UpliftTargets(experiment="exp", selected=pd.DataFrame({"consumer_id": ["c1"]}), qini=(),
        ...                   saved_as=None).to_dict()
        >>> d
        {'experiment': 'exp', 'saved_as': None, 'chosen': 1}
        """
        return {**{k: v for k, v in self.items() if k not in ("selected", "qini")}, "chosen": len(self["selected"])}

    def __repr__(self) -> str:
        saved = f"; saved as {self['saved_as']}" if self.get("saved_as") else ""
        return (f"UpliftTargets({self['experiment']} · {self['arm']} on {self['metric']}, {self['learner']}-learner: "
                f"{len(self['selected']):,} of {self['scored']:,} chosen, expected "
                f"{self['expected_incremental']:+,.4g} against {self['expected_incremental_untargeted']:+,.4g} "
                f"at random{saved})")
