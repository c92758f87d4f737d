"""Per-consumer outcomes and pre-period covariates read from the warehouse, and the lift of a campaign or an
experiment: randomised (arms of `assignments` against their control) or observational (consumers exposed
to a campaign against those who were not), each estimate labelled with how it was obtained."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from aipl.attribution import TOUCH_TYPES, Window, campaign_window
from aipl.ingest import PRE_TREATMENT_LABELS
from aipl.measure.lift import (
    ASSUMPTIONS,
    METHODS,
    OBSERVATIONAL,
    RANDOMISED,
    balance,
    estimate,
    sensitivity,
    verdict,
)
from aipl.measure.results import LiftResult
from aipl.measure.settings import MeasureSettings
from aipl.warehouse import Warehouse

# outcome -> how it is computed per consumer over the window
OUTCOMES = {
    "visit": "visited the brand (product page, shop home, live or video view) at least once: 0/1",
    "conversion": "bought from the brand at least once: 0/1",
    "purchases": "number of purchases of the brand",
    "spend": "paid amount of the brand's purchases (GMV per head)",
}
VISIT_TYPES = ("pdp_view", "store_home_view", "live_view", "video_view")
PRE_COVARIATES = ("pre_visit", "pre_purchases", "pre_spend", "pre_events", "pre_category", "pre_all_brands")


def _in_days(wh: Warehouse, t: ir.Table, start: date, end: date) -> ir.BooleanValue:
    day = wh.local_day(t.ts)
    return (day >= ibis.literal(start)) & (day <= ibis.literal(end))


def consumer_outcomes(wh: Warehouse, people: ir.Table, brand: str | None, window: Window,
                      labels: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per consumer of `people` (consumer_id plus any columns it carries): the OUTCOMES over the
    window, the PRE_COVARIATES over the pre-period, and the named numeric labels (0 when absent).

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> window = Window(date(2026, 10, 8), date(2026, 10, 24), pre_days=14)
    >>> df = consumer_outcomes(wh, wh.table("consumers").select("consumer_id"), "B01", window)
    >>> len(df), list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
    (400, ['consumer_id', 'visit', 'conversion', 'purchases', 'spend', 'pre_visit', 'pre_purchases',
           'pre_spend', 'pre_events', 'pre_category', 'pre_all_brands'])
    """
    ev = wh.table("events")
    cats = ev.filter(ev.brand_id == brand).select("category_id").distinct() if brand else None

    def per_consumer(start: date, end: date, prefix: str) -> ir.Table:
        e = ev.filter(_in_days(wh, ev, start, end))
        mine = e.brand_id == brand if brand else e.brand_id.notnull()
        in_cat = e.category_id.isin(cats.category_id) if brand else e.category_id.notnull()
        buy = (e.event_type == "purchase") & mine
        return e.group_by("consumer_id").aggregate(**{
            f"{prefix}visit": (e.event_type.isin(VISIT_TYPES) & mine).any().cast("int64"),
            f"{prefix}conversion": buy.any().cast("int64"),
            f"{prefix}purchases": e.count(where=buy),
            f"{prefix}spend": e.amount.sum(where=buy).cast("float64"),
            f"{prefix}events": e.count(where=mine),
            f"{prefix}category": e.count(where=in_cat),
            f"{prefix}all_brands": e.count(),
        })

    t = people.left_join(per_consumer(window.start, window.end, ""), "consumer_id")
    t = t.select(*people.columns, *OUTCOMES)
    if window.pre_days > 0:
        pre = per_consumer(window.pre_start, window.pre_last, "pre_")
        t = t.left_join(pre, "consumer_id").select(*t.columns, *PRE_COVARIATES)
    if labels:
        lb = wh.table("labels")
        lb = lb.filter(lb.name.isin(list(labels)) & (lb.brand_id == brand if brand else True))
        wide = lb.group_by("consumer_id").aggregate(**{n: lb.value.max(where=lb.name == n) for n in labels})
        t = t.left_join(wide, "consumer_id").select(*t.columns, *labels)
    df = t.execute()
    numeric = [c for c in df.columns if c not in people.columns]
    df[numeric] = df[numeric].astype(float).fillna(0.0)
    return df.sort_values("consumer_id", ignore_index=True)


def _covariates(df: pd.DataFrame, labels: tuple[str, ...], pre_days: int) -> list[str]:
    cols = [*(PRE_COVARIATES if pre_days > 0 else ()), *labels]
    return [c for c in cols if df[c].std() > 0]


def _arm_stats(df: pd.DataFrame, metrics: tuple[str, ...]) -> list[dict]:
    rows = []
    for arm, g in df.groupby("arm", sort=True):
        row = {"arm": arm, "control": bool(g.is_control.iloc[0]), "n": len(g)}
        row.update({f"{m}_rate" if m in ("visit", "conversion") else f"{m}_per_head": float(g[m].mean())
                    for m in metrics})
        rows.append(row)
    return rows


def experiment_frame(wh: Warehouse, experiment: str, brand: str | None = None, window: Window | None = None,
                     labels: tuple[str, ...] = (), days: int = 14, pre_days: int = 30
                     ) -> tuple[pd.DataFrame, Window, list[str]]:
    """Every consumer of a randomised experiment with arm, is_control, outcomes and pre-treatment covariates,
    the window used (default: `days` days from the first assignment day, after a `pre_days` pre-period) and
    the covariates that vary.

    >>> from aipl.simulate import sample_warehouse
    >>> df, window, covs = experiment_frame(sample_warehouse(), "sim_holdout", "B01")
    >>> len(df), int(df.is_control.sum()), str(window.start), str(window.end), covs
    (400, 55, '2026-09-15', '2026-09-28', [])
    """
    a = wh.table("assignments")
    a = a.filter(a.experiment_id == experiment)
    meta = a.aggregate(n=a.count(), first=a.assigned_at.min(), controls=a.count(where=a.is_control)).execute()
    if not int(meta.n.iloc[0]):
        known = sorted(wh.table("assignments").select("experiment_id").distinct().execute().experiment_id)
        raise ValueError(f"unknown experiment {experiment!r}" + (f"; known: {', '.join(known)}" if known else ""))
    if not int(meta.controls.iloc[0]):
        raise ValueError(f"experiment {experiment!r} has no control arm (is_control is never true)")
    first = pd.Timestamp(meta["first"].iloc[0])
    assigned = None if pd.isna(first) else (first.tz_convert(wh.config.timezone) if first.tzinfo else first).date()
    if window is None:
        if assigned is None:
            raise ValueError(f"experiment {experiment!r} has no assignment time; give the window")
        window = Window(assigned, assigned + timedelta(days=days - 1), pre_days)
    if assigned is not None and assigned < window.start:  # behaviour after assignment is not pre-treatment
        window = Window(window.start, window.end, window.pre_days, assigned - timedelta(days=1))
    people = a.group_by("consumer_id").aggregate(arm=a.arm.min(), is_control=a.is_control.max())
    df = consumer_outcomes(wh, people, brand, window, labels)
    return df, window, _covariates(df, labels, window.pre_days)


def experiment_lift(wh: Warehouse, experiment: str, brand: str | None = None, window: Window | None = None,
                    metrics: tuple[str, ...] = tuple(OUTCOMES), method: str = "cuped",
                    labels: tuple[str, ...] = (), days: int = 14, pre_days: int = 30,
                    confidence: float = 0.95) -> LiftResult:
    """The lift of each treated arm of a randomised experiment over its control arm, per metric.

    `method` is difference_in_means or cuped (covariates: the pre-period behaviour and the named labels,
    all measured before treatment); the window is as in experiment_frame.

    >>> from aipl.simulate import sample_warehouse
    >>> res = experiment_lift(sample_warehouse(), "sim_holdout", "B01", metrics=("conversion",))
    >>> res["kind"], res["method"], res["window"]["start"], res["window"]["end"]
    ('randomised', 'cuped', '2026-09-15', '2026-09-28')
    >>> [(arm["arm"], arm["control"], arm["n"]) for arm in res["arms"]]
    [('eligible', False, 345), ('holdout', True, 55)]
    >>> sorted(res["arms"][0]["lift"]["conversion"])  # doctest: +NORMALIZE_WHITESPACE
    ['ci_high', 'ci_low', 'confidence', 'control_mean', 'effect', 'incremental', 'method', 'metric',
     'n_control', 'n_treated', 'notes', 'observational', 'relative', 'se', 'treated_mean', 'variance_reduction']
    """
    if method not in RANDOMISED:
        raise ValueError(f"a randomised experiment uses {' or '.join(RANDOMISED)}, not {method!r}")
    _check_metrics(metrics)
    df, window, covs = experiment_frame(wh, experiment, brand, window, labels, days, pre_days)
    control = df[df.is_control]
    arms = _arm_stats(df, metrics)
    for row in arms:
        if row["control"]:
            continue
        both = pd.concat([df[df.arm == row["arm"]], control])
        treated = ~both.is_control.to_numpy()
        x = both[covs].to_numpy() if covs else np.zeros((len(both), 1))  # no covariate: CUPED = plain
        row["lift"] = {m: estimate(method, both[m].to_numpy(), treated, x, metric=m, confidence=confidence).to_dict()
                       for m in metrics}
    return LiftResult(kind="randomised", experiment=experiment, brand=brand, method=method,
                      window=_window_dict(window), covariates=covs if method == "cuped" else [], arms=arms)


def exposure_lift(wh: Warehouse, campaign: str, brand: str, window: Window,
                  metrics: tuple[str, ...] = tuple(OUTCOMES), method: str = "doubly_robust",
                  labels: tuple[str, ...] = (), confidence: float = 0.95) -> LiftResult:
    """Observational lift of a campaign: consumers it exposed (an exposure or click of the campaign for the
    brand in the window) against consumers active in the window or pre-period that it did not expose,
    adjusted for pre-period behaviour by IPW or doubly robust estimation, with balance diagnostics.

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> window = Window(date(2026, 10, 8), date(2026, 10, 24), pre_days=14)
    >>> res = exposure_lift(sample_warehouse(), "sim_double11", "B01", window, metrics=("spend",))
    >>> res["kind"], res["method"], res["window"]["pre_period"]
    ('observational', 'doubly_robust', ['2026-09-24', '2026-10-07'])
    >>> [(arm["arm"], arm["n"]) for arm in res["arms"]]
    [('exposed', 105), ('not exposed', 239)]
    >>> res["arms"][0]["lift"]["spend"]["observational"], sorted(res["balance"][0])
    (True, ['balanced', 'control_mean', 'covariate', 'smd_after', 'smd_before', 'treated_mean'])
    """
    if method not in OBSERVATIONAL:
        raise ValueError(f"without a randomised control use {' or '.join(OBSERVATIONAL)}, not {method!r}")
    if window.pre_days <= 0:
        raise ValueError("an observational estimate needs a pre-period (pre_days > 0) to adjust for")
    _check_metrics(metrics)
    ev = wh.table("events")
    span = ev.filter(_in_days(wh, ev, window.pre_start, window.end))
    touched = ev.filter(_in_days(wh, ev, window.start, window.end) & (ev.campaign_id == campaign)
                        & (ev.brand_id == brand) & ev.event_type.isin(TOUCH_TYPES))
    touched = touched.select("consumer_id").distinct().mutate(exposed=ibis.literal(1))
    people = span.select("consumer_id").distinct().left_join(touched, "consumer_id")
    people = people.select("consumer_id", exposed=people.exposed.fill_null(0))
    df = consumer_outcomes(wh, people, brand, window, labels)
    t = df.exposed.to_numpy() == 1
    if t.sum() < 2:
        raise ValueError(f"campaign {campaign!r} exposed {int(t.sum())} consumers of brand {brand!r} in "
                         f"{window.start}..{window.end}")
    covs = _covariates(df, labels, window.pre_days)
    if not covs:
        raise ValueError("no pre-period behaviour varies between consumers: nothing to adjust for")
    x = df[covs].to_numpy()
    threshold = MeasureSettings.of(wh).balance_threshold
    bal = balance(np.log1p(df[covs]), t, threshold)
    lift, checks = {}, {}
    for m in metrics:
        est = {k: estimate(k, df[m].to_numpy(), t, x, metric=m, confidence=confidence) for k in OBSERVATIONAL}
        lift[m] = {**est[method].to_dict(), "sensitivity": sensitivity(est[method])}
        checks[m] = verdict(bal, list(est.values()), threshold)
    first = checks[metrics[0]]
    return LiftResult(kind="observational", campaign=campaign, brand=brand, method=method,
                      window=_window_dict(window), covariates=covs,
                      warning="observational: exposure was not randomised; the estimate is only as good as the "
                              "pre-period covariates are at explaining who was exposed",
                      arms=[{**_arm_stats(df[t].assign(arm="exposed", is_control=False), metrics)[0], "lift": lift},
                            *_arm_stats(df[~t].assign(arm="not exposed", is_control=True), metrics)],
                      balance=bal.to_dict(orient="records"), assumptions=list(ASSUMPTIONS),
                      verdict={"presented": first["presented"], "reason": first["reason"],
                               "unbalanced": first["unbalanced"], "threshold": threshold,
                               "ranges": {m: c["range"] for m, c in checks.items()}})


def campaign_lift(wh: Warehouse, campaign: str, brand: str | None = None, experiment: str | None = None,
                  method: str | None = None, metrics: tuple[str, ...] = tuple(OUTCOMES), pre_days: int = 30,
                  labels: tuple[str, ...] = (), confidence: float = 0.95) -> LiftResult:
    """The campaign's lift over its dates: randomised when an experiment (named, or the workspace's only
    one) holds a control arm, else observational. The brand defaults to the campaign's own.

    The sample's campaign is platform-wide, and its workspace holds the randomised holdout `sim_holdout`:

    >>> from aipl.simulate import sample_warehouse
    >>> res = campaign_lift(sample_warehouse(), "sim_double11", "B01", metrics=("conversion",), pre_days=0)
    >>> res["campaign"], res["kind"], res["experiment"], res["window"]["start"], res["window"]["end"]
    ('sim_double11', 'randomised', 'sim_holdout', '2026-09-15', '2026-10-24')
    >>> round(res["arms"][0]["conversion_rate"], 3), res["arms"][1]["conversion_rate"]
    (0.026, 0.0)
    """
    window, own = campaign_window(wh, campaign, pre_days)
    brand = brand or own
    if not brand:
        raise ValueError(f"campaign {campaign!r} is platform-wide: name the brand")
    if experiment is None:
        a = wh.table("assignments")
        known = sorted(a.filter(a.is_control).select("experiment_id").distinct().execute().experiment_id)
        if len(known) > 1:
            raise ValueError(f"several experiments hold a control arm ({', '.join(known)}): name one")
        experiment = known[0] if known else None
    if experiment is not None:
        res = experiment_lift(wh, experiment, brand, window, metrics, method or "cuped", labels,
                              confidence=confidence)
    else:
        res = exposure_lift(wh, campaign, brand, window, metrics, method or "doubly_robust", labels, confidence)
    return LiftResult({"campaign": campaign, **res})


def only_experiment(wh: Warehouse) -> str:
    """The workspace's one randomised experiment; ValueError naming the choices when there are several or none.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> only_experiment(wh)
    Traceback (most recent call last):
    ValueError: name the experiment: the workspace has no experiment
    >>> wh.close()
    >>> from aipl.simulate import sample_warehouse
    >>> only_experiment(sample_warehouse())
    'sim_holdout'
    """
    a = wh.table("assignments")
    known = sorted(a.select("experiment_id").distinct().execute().experiment_id)
    if len(known) != 1:
        raise ValueError("name the experiment" + (f" (one of {', '.join(known)})" if known else
                                                  ": the workspace has no experiment"))
    return known[0]


def pre_treatment_labels(wh: Warehouse) -> tuple[str, ...]:
    """The labels of the warehouse that were known before treatment (e.g. Hillstrom's history, recency, mens,
    womens, newbie), in PRE_TREATMENT_LABELS order: the default covariates of lift and uplift.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> pre_treatment_labels(wh)
    ()
    >>> wh.close()
    """
    lb = wh.table("labels")
    names = set(lb.filter(lb.name.isin(list(PRE_TREATMENT_LABELS))).select("name").distinct().execute().name)
    return tuple(n for n in PRE_TREATMENT_LABELS if n in names)


def measure_lift(wh: Warehouse, campaign: str | None = None, experiment: str | None = None,
                 brand: str | None = None, method: str | None = None, metrics: tuple[str, ...] | None = None,
                 labels: tuple[str, ...] | None = None, days: int = 14, pre_days: int = 30,
                 confidence: float = 0.95) -> LiftResult:
    """The lift of a campaign (`campaign_lift`: its dates set the window) or of a randomised experiment
    (`experiment_lift`: `days` days from assignment; the workspace's only experiment when none is named).

    `metrics` default to every outcome, `labels` to the pre-treatment labels the warehouse holds, `method`
    to cuped (randomised) or doubly_robust (observational).

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "events_dirty.csv", "events") as (wh, _):
    ...     measure_lift(wh)
    Traceback (most recent call last):
    ValueError: name the experiment: the workspace has no experiment
    >>> from aipl.simulate import sample_warehouse
    >>> res = measure_lift(sample_warehouse(), campaign="sim_double11", brand="B01", metrics=("conversion",))
    >>> res.kind, res.method, res.experiment, res.campaign, [arm["arm"] for arm in res.arms]
    ('randomised', 'cuped', 'sim_holdout', 'sim_double11', ['eligible', 'holdout'])
    >>> lift = res.arms[0]["lift"]["conversion"]
    >>> round(lift["effect"], 3), lift["n_treated"], lift["n_control"]
    (0.026, 345, 55)
    """
    metrics = tuple(metrics or OUTCOMES)
    labels = pre_treatment_labels(wh) if labels is None else tuple(labels)
    if campaign:
        return campaign_lift(wh, campaign, brand, experiment, method, metrics, pre_days, labels, confidence)
    return experiment_lift(wh, experiment or only_experiment(wh), brand, None, metrics, method or "cuped", labels,
                           days, pre_days, confidence)


def _check_metrics(metrics: tuple[str, ...]) -> None:
    bad = [m for m in metrics if m not in OUTCOMES]
    if bad:
        raise ValueError(f"unknown metric {', '.join(bad)}; choose from {', '.join(OUTCOMES)}")


def _window_dict(w: Window) -> dict:
    return {"start": str(w.start), "end": str(w.end), "pre_days": w.pre_days,
            "pre_period": [str(w.pre_start), str(w.pre_last)] if w.pre_days > 0 else None}


__all__ = ["METHODS", "OUTCOMES", "PRE_TREATMENT_LABELS", "Window", "campaign_lift", "campaign_window",
           "consumer_outcomes", "experiment_frame", "experiment_lift", "exposure_lift", "measure_lift",
           "only_experiment", "pre_treatment_labels"]
