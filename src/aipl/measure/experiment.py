"""Per-consumer outcomes and pre-period covariates read from the warehouse, and the lift of a campaign or an
experiment: randomised (arms of `assignments` against their control) or observational (consumers exposed
to a campaign against those who were not), each estimate labelled with how it was obtained."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import add

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from aipl.attribution import TOUCH_TYPES, Window, campaign_window
from aipl.config import parse_day
from aipl.ingest import PRE_TREATMENT_LABELS
from aipl.measure.lift import (
    ASSUMPTIONS,
    METHODS,
    OBSERVATIONAL,
    RANDOMISED,
    Estimate,
    Moments,
    adjusted_lift,
    balance,
    estimate,
    sensitivity,
    verdict,
)
from aipl.measure.results import LiftResult
from aipl.measure.segments import (
    SEGMENTS,
    TOUCH_CUTS,
    consumer_segments,
    reached_means,
    segment_lifts,
    touch_frame,
)
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


def in_days(wh: Warehouse, ts: ir.TimestampValue, start: date, end: date) -> ir.BooleanValue:
    """Whether the instant falls on a day from `start` to `end` (both included) in the workspace time zone,
    compared as instants (the days' bounds), so that no row's time zone is converted.

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> ev = wh.table("events")
    >>> day = wh.local_day(ev.ts)
    >>> a = ev.filter(in_days(wh, ev.ts, date(2026, 10, 8), date(2026, 10, 24))).count().execute()
    >>> a == ev.filter(day.between(date(2026, 10, 8), date(2026, 10, 24))).count().execute()
    True
    """
    lo, hi = (datetime.combine(d, time.min, wh.config.tz).astimezone(UTC) for d in (start, end + timedelta(days=1)))
    return (ts >= ibis.literal(lo)) & (ts < ibis.literal(hi))


def outcome_table(wh: Warehouse, people: ir.Table, brand: str | None, window: Window,
                  labels: tuple[str, ...] = (), spans: list[tuple[date, date]] | None = None) -> ir.Table:
    """The expression of `consumer_outcomes` (one row per consumer of `people`, nothing filled by null), computed
    in one pass over the events of the window and its pre-period. With `spans` (each from–to, both included),
    the outcomes count only the days of the spans inside the window (e.g. a campaign phase's).

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> t = outcome_table(wh, wh.table("consumers").select("consumer_id"), "B01", Window(date(2026, 10, 8),
    ...                   date(2026, 10, 24), pre_days=0))
    >>> list(t.columns), int(t.purchases.sum().execute())
    (['consumer_id', 'visit', 'conversion', 'purchases', 'spend'], 4)
    """
    ev = wh.table("events")
    in_win = ibis.or_(*[in_days(wh, ev.ts, max(a, window.start), min(b, window.end))
                        for a, b in spans or [(window.start, window.end)]])
    in_pre = in_days(wh, ev.ts, window.pre_start, window.pre_last)
    pre = window.pre_days > 0
    e = ev.filter(in_win | in_pre) if pre else ev.filter(in_win)
    e = e.mutate(win=in_win if pre else ibis.literal(True), mine=e.brand_id == brand if brand else e.brand_id.notnull())
    if brand:
        cats = ev.filter(ev.brand_id == brand).select("category_id").distinct()
        e = e.mutate(in_cat=e.category_id.isin(cats.category_id).fill_null(False))
    else:
        e = e.mutate(in_cat=e.category_id.notnull())
    buy = (e.event_type == "purchase") & e.mine

    def per(period: ir.BooleanValue, prefix: str) -> dict:
        return {
            f"{prefix}visit": e.count(where=period & e.event_type.isin(VISIT_TYPES) & e.mine),
            f"{prefix}conversion": e.count(where=period & buy),
            f"{prefix}purchases": e.count(where=period & buy),
            f"{prefix}spend": e.amount.cast("float64").sum(where=period & buy),
            f"{prefix}events": e.count(where=period & e.mine),
            f"{prefix}category": e.count(where=period & e.in_cat),
            f"{prefix}all_brands": e.count(where=period),
        }

    wanted = [*OUTCOMES, *(PRE_COVARIATES if pre else ())]
    aggs = {**per(e.win, ""), **(per(~e.win, "pre_") if pre else {})}
    agg = e.group_by("consumer_id").aggregate(**{k: aggs[k] for k in wanted})
    t = people.left_join(agg, "consumer_id")
    values = {k: t[k].cast("float64").fill_null(0.0) for k in wanted}
    for k in ("visit", "conversion", "pre_visit"):
        if k in values:
            values[k] = ibis.ifelse(values[k] > 0, 1.0, 0.0)
    t = t.select(*people.columns, **values)
    if labels:
        lb = wh.table("labels")
        lb = lb.filter(lb.name.isin(list(labels)) & (lb.brand_id == brand if brand else True))
        wide = lb.group_by("consumer_id").aggregate(**{n: lb.value.max(where=lb.name == n) for n in labels})
        t = t.left_join(wide, "consumer_id")
        t = t.select(*people.columns, *wanted, **{n: t[n].cast("float64").fill_null(0.0) for n in labels})
    return t


def consumer_outcomes(wh: Warehouse, people: ir.Table, brand: str | None, window: Window,
                      labels: tuple[str, ...] = (), spans: list[tuple[date, date]] | None = None) -> pd.DataFrame:
    """One row per consumer of `people` (consumer_id plus any columns it carries): the OUTCOMES over the
    window (only the days of `spans` in it, when given), the PRE_COVARIATES over the pre-period, and the named
    numeric labels (0 when absent).

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> window = Window(date(2026, 10, 8), date(2026, 10, 24), pre_days=14)
    >>> df = consumer_outcomes(wh, wh.table("consumers").select("consumer_id"), "B01", window)
    >>> len(df), list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
    (400, ['consumer_id', 'visit', 'conversion', 'purchases', 'spend', 'pre_visit', 'pre_purchases',
           'pre_spend', 'pre_events', 'pre_category', 'pre_all_brands'])
    """
    df = outcome_table(wh, people, brand, window, labels, spans).execute()
    numeric = [c for c in df.columns if c not in people.columns]
    df[numeric] = df[numeric].astype(float).fillna(0.0)
    return df.sort_values("consumer_id", ignore_index=True)


def group_moments(t: ir.Table, by: str | list[str], columns: list[str]) -> dict[object, Moments]:
    """The `Moments` of the columns of `t` per value of `by` (a tuple of values when `by` is a list), computed in
    the warehouse: one row per value comes back, with the count, the sums and the sums of products.

    >>> import ibis
    >>> t = ibis.memtable({"arm": ["a", "a", "b", "b"], "y": [1.0, 3.0, 2.0, 2.0], "x": [0.0, 1.0, 1.0, 1.0]})
    >>> m = group_moments(t, "arm", ["y", "x"])
    >>> m["a"].n, m["a"].mean(["y", "x"]).tolist(), m["b"].scatter(["y"]).tolist()
    (2, [2.0, 0.5], [[0.0]])
    """
    z = {c: t[c].cast("float64") for c in columns}
    pairs = [(i, j) for i in range(len(columns)) for j in range(i, len(columns))]
    aggs = {"n": t.count(), **{f"s{i}": z[c].sum() for i, c in enumerate(columns)},
            **{f"p{i}_{j}": (z[columns[i]] * z[columns[j]]).sum() for i, j in pairs}}
    rows = t.group_by(by).aggregate(**aggs).execute()
    keys = [by] if isinstance(by, str) else by
    out = {}
    for r in rows.to_dict(orient="records"):
        prod = np.zeros((len(columns), len(columns)))
        for i, j in pairs:
            prod[i, j] = prod[j, i] = r[f"p{i}_{j}"]
        key = r[by] if isinstance(by, str) else tuple(r[k] for k in keys)
        out[key] = Moments(tuple(columns), int(r["n"]), np.array([r[f"s{i}"] for i in range(len(columns))],
                                                                   dtype=float), prod)
    return out


def _covariates(df: pd.DataFrame, labels: tuple[str, ...], pre_days: int) -> list[str]:
    cols = [*(PRE_COVARIATES if pre_days > 0 else ()), *labels]
    return [c for c in cols if df[c].std() > 0]


def _arm_stats(groups: dict[str, tuple[bool, Moments]], metrics: tuple[str, ...]) -> list[dict]:
    rows = []
    for arm in sorted(groups):
        control, m = groups[arm]
        row = {"arm": arm, "control": control, "n": m.n}
        row.update({f"{k}_rate" if k in ("visit", "conversion") else f"{k}_per_head": float(m.mean([k])[0])
                    for k in metrics})
        rows.append(row)
    return rows


def _experiment_people(wh: Warehouse, experiment: str, window: Window | None, days: int, pre_days: int
                       ) -> tuple[ir.Table, Window]:
    """The experiment's consumers (consumer_id, arm, is_control) and the window (see experiment_frame)."""
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
    return a.group_by("consumer_id").aggregate(arm=a.arm.min(), is_control=a.is_control.max()), window


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
    people, window = _experiment_people(wh, experiment, window, days, pre_days)
    df = consumer_outcomes(wh, people, brand, window, labels)
    return df, window, _covariates(df, labels, window.pre_days)


def experiment_lift(wh: Warehouse, experiment: str, brand: str | None = None, window: Window | None = None,
                    metrics: tuple[str, ...] = tuple(OUTCOMES), method: str = "cuped",
                    labels: tuple[str, ...] = (), days: int = 14, pre_days: int = 30,
                    confidence: float = 0.95) -> LiftResult:
    """The lift of each treated arm of a randomised experiment over its control arm, per metric.

    `method` is difference_in_means or cuped (covariates: the pre-period behaviour and the named labels,
    all measured before treatment); the window is as in experiment_frame. The warehouse aggregates the
    consumers' outcomes and covariates into each arm's `Moments` in one pass; only those come back.

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
    people, window = _experiment_people(wh, experiment, window, days, pre_days)
    candidates = [*(PRE_COVARIATES if window.pre_days > 0 else ()), *labels]
    t = outcome_table(wh, people, brand, window, labels)
    parts = group_moments(t, ["arm", "is_control"], [*metrics, *candidates])
    everyone = reduce(add, parts.values())
    covs = [c for c in candidates if everyone.varies(c)]
    control = reduce(add, [m for (_, c), m in parts.items() if c])
    groups: dict[str, tuple[bool, Moments]] = {}
    for (arm, is_control), m in parts.items():
        was = groups.get(arm)
        groups[arm] = (bool(is_control) or (was is not None and was[0]), m if was is None else was[1] + m)
    arms = _arm_stats(groups, metrics)
    for row in arms:
        if row["control"]:
            continue
        treated = parts.get((row["arm"], False)) or parts[(row["arm"], True)]
        use = covs if method == "cuped" else []
        row["lift"] = {m: _randomised(treated, control, m, method, use, confidence).to_dict() for m in metrics}
    return LiftResult(kind="randomised", experiment=experiment, brand=brand, method=method,
                      window=_window_dict(window), covariates=covs if method == "cuped" else [], arms=arms)


def _randomised(treated: Moments, control: Moments, metric: str, method: str, covs: list[str],
                confidence: float) -> Estimate:
    est = adjusted_lift(treated, control, metric, covs, confidence)
    if method == "cuped" and not covs:  # nothing varies: CUPED is the plain difference
        est.method, est.variance_reduction = "cuped", 0.0
        est.notes.append("the covariates are constant: no adjustment")
    return est


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
    span = ev.filter(in_days(wh, ev.ts, window.pre_start, window.end))
    touched = ev.filter(in_days(wh, ev.ts, window.start, window.end) & (ev.campaign_id == campaign)
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
                      arms=[{**_arm_stats({"exposed": (False, Moments.of(df.loc[t, list(metrics)]))}, metrics)[0],
                             "lift": lift},
                            *_arm_stats({"not exposed": (True, Moments.of(df.loc[~t, list(metrics)]))}, metrics)],
                      balance=bal.to_dict(orient="records"), assumptions=list(ASSUMPTIONS),
                      verdict={"presented": first["presented"], "reason": first["reason"],
                               "unbalanced": first["unbalanced"], "threshold": threshold,
                               "ranges": {m: c["range"] for m, c in checks.items()}})


def campaign_lift(wh: Warehouse, campaign: str, brand: str | None = None, experiment: str | None = None,
                  method: str | None = None, metrics: tuple[str, ...] = tuple(OUTCOMES), pre_days: int = 30,
                  labels: tuple[str, ...] = (), confidence: float = 0.95, cuts: bool = False) -> LiftResult:
    """The campaign's lift over its dates: randomised when an experiment (named, or the workspace's only
    one) holds a control arm, else observational. The brand defaults to the campaign's own. With `cuts`, the
    lift is also cut (`lift_cuts`) by new/returning customer, strategy crowd and phase, and the treated
    consumers' outcomes by the channel, crowd and creative that reached them.

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
    res = LiftResult({"campaign": campaign, **res})
    if cuts:
        res["cuts"] = lift_cuts(wh, res, campaign, brand, window, metrics, confidence)
    return res


def lift_cuts(wh: Warehouse, lift: dict, campaign: str, brand: str, window: Window,
              metrics: tuple[str, ...] = tuple(OUTCOMES), confidence: float = 0.95,
              touches: pd.DataFrame | None = None) -> dict:
    """A randomised campaign lift cut: by new/returning customer and strategy crowd (known before the campaign)
    and by phase (the outcomes over the phase's days), each the difference in means of treated and control
    within the cut; and, for channel, crowd and creative, the treated consumers' mean outcomes by the value that
    reached them (no lift: the control was not reached, so who was reached is not randomised). An
    observational lift is not cut. `touches` are the campaign's (`touch_frame`), read when not given.

    >>> from aipl.simulate import sample_warehouse
    >>> res = campaign_lift(sample_warehouse(), "sim_double11", "B01", metrics=("conversion",), cuts=True)
    >>> cuts = res["cuts"]
    >>> [k for k in cuts if k != "note"]
    ['customer', 'strategy_crowd', 'phase', 'channel', 'crowd_id', 'creative_id']
    >>> [(r["phase"], r["n_treated"], r["n_control"]) for r in cuts["phase"]][:2]
    [('daily', 345, 55), ('accumulate', 345, 55)]
    >>> sorted(cuts["channel"][0])
    ['channel', 'conversion', 'n']
    """
    if lift.get("kind") != "randomised":
        return {"note": "observational: the lift is not cut (it is not re-adjusted within a cut)"}
    people, window = _experiment_people(wh, lift["experiment"], window, 14, 0)
    new_days = MeasureSettings.of(wh).new_customer_days
    df = consumer_outcomes(wh, people, brand, window)
    seg = consumer_segments(wh, people.select("consumer_id"), brand, window.start, new_days)
    df = df.merge(seg, on="consumer_id").assign(treated=lambda f: ~f.is_control.astype(bool))
    out: dict = {by: segment_lifts(df, by, metrics, True, confidence) for by in SEGMENTS}
    c = wh.table("campaigns")
    phases = c.filter(c.campaign_id == campaign).order_by("start_date").execute()
    out["phase"] = []
    for phase, rows in phases.groupby("phase", sort=False):
        spans = [(parse_day(a), parse_day(b)) for a, b in zip(rows.start_date, rows.end_date, strict=True)]
        f = consumer_outcomes(wh, people, brand, window, spans=spans)
        f = f.assign(phase=phase, treated=~f.is_control.astype(bool))
        out["phase"] += segment_lifts(f, "phase", metrics, True, confidence)
    touches = touch_frame(wh, campaign, brand, window, phases) if touches is None else touches
    out.update({by: reached_means(df[df.treated], touches, by, list(metrics)) for by in TOUCH_CUTS})
    out["note"] = ("difference in means within each customer, strategy crowd and phase cut (known before the "
                   "campaign, or the same days for both groups); channel, crowd and creative are not randomised, "
                   "so their lift is not identified: the outcomes of the treated each reached are shown instead")
    return out


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
                 confidence: float = 0.95, cuts: bool = False) -> LiftResult:
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
        return campaign_lift(wh, campaign, brand, experiment, method, metrics, pre_days, labels, confidence, cuts)
    if cuts:
        raise ValueError("cuts need a campaign (its phases and touches): give --campaign")
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
           "consumer_outcomes", "experiment_frame", "experiment_lift", "exposure_lift", "group_moments", "in_days",
           "lift_cuts", "measure_lift", "only_experiment", "outcome_table", "pre_treatment_labels"]
