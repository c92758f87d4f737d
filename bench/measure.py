"""Measurement speed: experiment lift and PI from the warehouse, uplift learners and Qini, each against the
strongest plain baseline measured in the same run, every method the same number of times (median of --repeat),
and every result checked equal to its baseline before any time is reported (a mismatch exits 1).

    python bench/measure.py [--consumers 1000000] [--uplift-rows 640000] [--repeat 3] [--json PATH]

1. A randomised experiment of N consumers (half treated) is written straight into a DuckDB workspace: events of
   the brand and of another brand over 30 pre-days and the 14 days of a campaign (product views, the other PI
   behaviours, purchases), and the campaign's exposures of the treated consumers over three channels.
   - lift: aipl's `experiment_lift` (four outcomes, CUPED on the pre-period covariates) against pandas reading
     the events of the span and computing per-consumer outcomes and covariates, CUPED (θ by least squares on the
     pooled pre-period covariates, as aipl) and Welch standard errors. Effects, SEs, intervals, means and
     variance reductions must agree to 1e-9 relative. A second reference, without a target: DuckDB SQL computes
     the per-consumer rows and numpy the same CUPED (checked equal too).
   - PI: aipl's `campaign_pi` (groups, behaviour rates, PI lift and linear channel credit) against pandas
     computing the same from the events. Every figure must agree to 1e-9 relative.
2. T-learner fit + predict on Hillstrom-like rows against scikit-uplift's `TwoModels` with the same base
   learners (scores must be equal); aipl's Qini coefficient against scikit-uplift's `qini_auc_score` on the
   same scores (equal). The X-learner is timed beside them (no baseline).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
from common import timed

from aipl.config import init_workspace
from aipl.measure import OUTCOMES, XLearner, campaign_pi, experiment_lift
from aipl.measure.pi import PI_BEHAVIOURS
from aipl.measure.uplift import TLearner, qini_coefficient
from aipl.warehouse import open_warehouse

START = datetime(2026, 10, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
DAYS, PRE_DAYS, CREDIT_DAYS = 14, 30, 15
BRAND, OTHER, EXPERIMENT, CAMPAIGN = "B", "O", "E", "C"
CHANNELS = ("search", "display", "live")
# what a brand event is, and how often (the rest of the PI behaviours share the remaining weight)
KINDS = ("pdp_view", "favorite", "add_to_cart", "search_brand_word", "store_home_view", "live_view", "share",
         "coupon_claim")
KIND_P = np.array([0.55, 0.08, 0.08, 0.06, 0.07, 0.06, 0.05, 0.05])
VISITS = ("pdp_view", "store_home_view", "live_view", "video_view")
RTOL, ATOL = 1e-9, 1e-12


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def build_experiment(root: Path, n: int, seed: int = 0) -> int:
    """N consumers, half treated (+20 % purchase propensity in the window); events over 30 pre-days and 14
    campaign days; the treated are exposed to the campaign. Returns the number of events."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n).astype(str))
    treated = rng.random(n) < 0.5
    activity = rng.gamma(1.0, 1.0, n)
    wh = open_warehouse(init_workspace(root))
    wh.con.insert("assignments", pa.table({
        "experiment_id": np.full(n, EXPERIMENT), "consumer_id": ids,
        "arm": np.where(treated, "treated", "control"), "is_control": ~treated,
        "assigned_at": pa.array(np.full(n, START), type=pa.timestamp("us", "UTC"))}))
    wh.con.insert("campaigns", pa.table({
        "campaign_id": [CAMPAIGN], "name": ["bench"], "brand_id": [BRAND], "phase": ["burst"],
        "start_date": [START.date()], "end_date": [START.date() + timedelta(days=DAYS - 1)]}))
    utc0 = np.datetime64(START.replace(tzinfo=None) - timedelta(hours=8))  # START in UTC
    cols: dict[str, list] = {k: [] for k in ("consumer_id", "brand_id", "category_id", "event_type", "ts",
                                             "amount", "campaign_id", "channel")}
    for lo, hi in ((-PRE_DAYS, 0), (0, DAYS)):
        k = rng.poisson(activity * (hi - lo) / DAYS)
        who = np.repeat(np.arange(n), k)
        m = len(who)
        mine = rng.random(m) < 0.8
        boost = np.where(treated[who] & (lo >= 0), 1.2, 1.0)
        buy = rng.random(m) < 0.05 * boost
        kind = np.where(buy, "purchase", np.array(KINDS)[rng.choice(len(KINDS), m, p=KIND_P)])
        cols["consumer_id"].append(ids[who])
        cols["brand_id"].append(np.where(mine, BRAND, OTHER))
        cols["category_id"].append(np.where(mine | (rng.random(m) < 0.5), "K1", "K2"))
        cols["event_type"].append(kind)
        cols["ts"].append(utc0 + rng.integers(lo * 86400, hi * 86400, m).astype("timedelta64[s]"))
        cols["amount"].append(np.where(buy, rng.gamma(2.0, 50.0, m), np.nan))
        cols["campaign_id"].append(np.full(m, None, dtype=object))
        cols["channel"].append(np.full(m, None, dtype=object))
    exposed = np.flatnonzero(treated)
    who = np.repeat(exposed, rng.poisson(1.0, len(exposed)))
    m = len(who)
    cols["consumer_id"].append(ids[who])
    cols["brand_id"].append(np.full(m, BRAND))
    cols["category_id"].append(np.full(m, "K1"))
    cols["event_type"].append(np.full(m, "exposure"))
    cols["ts"].append(utc0 + rng.integers(0, DAYS * 86400, m).astype("timedelta64[s]"))
    cols["amount"].append(np.full(m, np.nan))
    cols["campaign_id"].append(np.full(m, CAMPAIGN, dtype=object))
    cols["channel"].append(np.array(CHANNELS)[rng.integers(0, len(CHANNELS), m)])
    ev = {k: np.concatenate(v) for k, v in cols.items()}
    wh.con.insert("events", pa.table({
        "consumer_id": ev["consumer_id"], "brand_id": ev["brand_id"], "category_id": ev["category_id"],
        "event_type": ev["event_type"], "campaign_id": pa.array(ev["campaign_id"], type=pa.string()),
        "channel": pa.array(ev["channel"], type=pa.string()),
        "ts": pa.array(ev["ts"].astype("datetime64[us]"), type=pa.timestamp("us", "UTC")),
        "amount": pa.array(ev["amount"], mask=np.isnan(ev["amount"]))}))
    wh.close()
    return len(ev["ts"])


def _read(root: Path, *queries: str) -> list[pd.DataFrame]:
    """The answers of the queries as pandas frames, over one read-only connection."""
    with open_warehouse(root, read_only=True) as wh:
        return [wh.con.con.sql(q).df() for q in queries]


def _span(lo: datetime, hi: datetime) -> str:
    return f"ts >= TIMESTAMPTZ '{lo.isoformat()}' AND ts < TIMESTAMPTZ '{hi.isoformat()}'"


def welch(yt: np.ndarray, yc: np.ndarray) -> dict:
    effect = yt.mean() - yc.mean()
    se = np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc))
    z = 1.959963984540054
    return {"effect": effect, "se": se, "ci_low": effect - z * se, "ci_high": effect + z * se, "n_treated": len(yt),
            "n_control": len(yc)}


def pandas_lift(root: Path) -> dict:
    """The plain form: read the span's events, outcomes and pre-period covariates per consumer with pandas,
    CUPED with θ from the pooled covariates (least squares), Welch standard errors."""
    lo, end = START - timedelta(days=PRE_DAYS), START + timedelta(days=DAYS)
    a, e, cats = _read(root, f"SELECT consumer_id, is_control FROM assignments WHERE experiment_id = '{EXPERIMENT}'",
                       "SELECT consumer_id, brand_id, category_id, event_type, ts, amount FROM events WHERE "
                       + _span(lo, end), f"SELECT DISTINCT category_id FROM events WHERE brand_id = '{BRAND}'")
    cats = set(cats.category_id)
    win = e.ts >= pd.Timestamp(START)
    mine = e.brand_id == BRAND
    buy = mine & (e.event_type == "purchase")
    f = pd.DataFrame({"consumer_id": e.consumer_id, "win": win,
                      "visit": mine & e.event_type.isin(VISITS), "buy": buy, "spend": e.amount.where(buy, 0.0),
                      "mine": mine, "cat": e.category_id.isin(cats), "all": True})
    g = f.groupby(["consumer_id", "win"])[["visit", "buy", "spend", "mine", "cat", "all"]].sum().unstack("win",
                                                                                                       fill_value=0)
    per = pd.DataFrame({
        "visit": (g["visit"][True] > 0), "conversion": (g["buy"][True] > 0), "purchases": g["buy"][True],
        "spend": g["spend"][True], "pre_visit": g["visit"][False] > 0, "pre_purchases": g["buy"][False],
        "pre_spend": g["spend"][False], "pre_events": g["mine"][False], "pre_category": g["cat"][False],
        "pre_all_brands": g["all"][False]})
    return cuped_welch(a.set_index("consumer_id").join(per).fillna(0).astype(float))


def sql_lift(root: Path) -> dict:
    """The other plain form: DuckDB SQL computes every consumer's outcomes and covariates (one row per consumer
    comes back), numpy does CUPED and Welch as in the pandas baseline."""
    lo, end = START - timedelta(days=PRE_DAYS), START + timedelta(days=DAYS)
    win = f"ts >= TIMESTAMPTZ '{START.isoformat()}'"
    buy = f"brand_id = '{BRAND}' AND event_type = 'purchase'"
    visit = f"brand_id = '{BRAND}' AND event_type IN {VISITS}"

    def period(cond: str, p: str) -> str:
        return (f"count(*) FILTER ({cond} AND {visit}) > 0 AS {p}visit, count(*) FILTER ({cond} AND {buy}) AS "
                f"{p}purchases, coalesce(sum(amount) FILTER ({cond} AND {buy}), 0) AS {p}spend, "
                f"count(*) FILTER ({cond} AND brand_id = '{BRAND}') AS {p}events, count(*) FILTER ({cond} AND "
                f"category_id IN (SELECT category_id FROM events WHERE brand_id = '{BRAND}')) AS {p}category, "
                f"count(*) FILTER ({cond}) AS {p}all_brands")

    (df,) = _read(root, f"""
      WITH per AS (SELECT consumer_id, {period(win, '')}, {period('NOT ' + win, 'pre_')} FROM events
                   WHERE {_span(lo, end)} GROUP BY consumer_id)
      SELECT a.consumer_id, a.is_control, coalesce(visit, false) AS visit, coalesce(purchases, 0) > 0 AS conversion,
             coalesce(purchases, 0) AS purchases, coalesce(spend, 0) AS spend,
             coalesce(pre_visit, false) AS pre_visit, coalesce(pre_purchases, 0) AS pre_purchases,
             coalesce(pre_spend, 0) AS pre_spend, coalesce(pre_events, 0) AS pre_events,
             coalesce(pre_category, 0) AS pre_category, coalesce(pre_all_brands, 0) AS pre_all_brands
      FROM assignments a LEFT JOIN per USING (consumer_id) WHERE a.experiment_id = '{EXPERIMENT}'""")
    return cuped_welch(df.set_index("consumer_id").astype(float))


def cuped_welch(df: pd.DataFrame) -> dict:
    """CUPED on the varying pre_* covariates (θ by least squares, pooled), Welch standard errors, per outcome."""
    covs = [c for c in df.columns if c.startswith("pre_") and df[c].std() > 0]
    x = df[covs].to_numpy()
    xc = x - x.mean(axis=0)
    t = ~df.is_control.astype(bool).to_numpy()
    out = {"n": (int(t.sum()), int((~t).sum()))}
    for m in OUTCOMES:
        y = df[m].to_numpy()
        theta, *_ = np.linalg.lstsq(xc, y - y.mean(), rcond=None)
        adj = y - xc @ theta
        out[m] = {**welch(adj[t], adj[~t]), "treated_mean": y[t].mean(), "control_mean": y[~t].mean(),
                  "variance_reduction": 1 - adj.var() / y.var()}
    return out


def pandas_pi(root: Path) -> dict:
    """PI the plain way: the window's events of the brand, a 0/1 flag per behaviour and consumer, equal weights,
    group means and Welch; the linear channel credit by a merge of behaviours with the touches before them."""
    end = START + timedelta(days=DAYS)
    a, e = _read(root, f"SELECT consumer_id, NOT is_control AS exposed FROM assignments "
                       f"WHERE experiment_id = '{EXPERIMENT}'",
                 f"SELECT consumer_id, event_type, ts, campaign_id, channel FROM events WHERE brand_id = '{BRAND}' "
                 f"AND {_span(START, end)}")
    flags = pd.DataFrame({"consumer_id": e.consumer_id})
    for b, types in PI_BEHAVIOURS.items():
        flags[b] = e.event_type.isin(types)
    flags = flags.groupby("consumer_id").max()
    df = a.set_index("consumer_id").join(flags).fillna(False)
    score = df[list(PI_BEHAVIOURS)].to_numpy(dtype=float).sum(axis=1) * (100 / len(PI_BEHAVIOURS))
    t = df.exposed.to_numpy(dtype=bool)
    groups = [{"n": int(mask.sum()), "pi": score[mask].mean(), **df.loc[mask, list(PI_BEHAVIOURS)].mean().to_dict()}
              for mask in (t, ~t)]
    touches = e[(e.campaign_id == CAMPAIGN) & e.event_type.isin(("exposure", "ad_click"))]
    touches = touches[["consumer_id", "ts", "channel"]].rename(columns={"ts": "touch_ts"})
    acts = e[e.event_type.isin([x for v in PI_BEHAVIOURS.values() for x in v])][["consumer_id", "ts"]]
    acts = acts[acts.consumer_id.isin(touches.consumer_id)].reset_index(drop=True).rename_axis("act").reset_index()
    j = acts.merge(touches, on="consumer_id")
    j = j[(j.touch_ts <= j.ts) & (j.touch_ts > j.ts - pd.Timedelta(days=CREDIT_DAYS))]
    j = j.assign(share=1 / j.groupby("act").act.transform("size"))
    credit = j.groupby("channel").agg(behaviours=("share", "sum"), touches=("share", "size"))
    return {"groups": groups, "lift": welch(score[t], score[~t]), "credit": credit}


def _close(got: float, want: float) -> bool:
    return bool(np.isclose(got, want, rtol=RTOL, atol=ATOL))


def check_lift(res, base: dict) -> list[str]:
    bad = []
    arm = next(a for a in res["arms"] if not a["control"])
    if (arm["lift"]["visit"]["n_treated"], arm["lift"]["visit"]["n_control"]) != base["n"]:
        bad.append(f"lift: arms of {arm['lift']['visit']['n_treated']}/{arm['lift']['visit']['n_control']} "
                   f"consumers, baseline {base['n']}")
    for m in OUTCOMES:
        for k, want in base[m].items():
            got = arm["lift"][m][k]
            if not _close(got, want):
                bad.append(f"lift {m} {k}: aipl {got!r}, baseline {want!r}")
    return bad


def check_pi(res, base: dict) -> list[str]:
    bad = []
    for ours, theirs in zip(res["groups"], base["groups"], strict=True):
        for k, want in theirs.items():
            got = ours["n"] if k == "n" else ours["pi"] if k == "pi" else ours["rates"][k]
            if not _close(got, want):
                bad.append(f"PI {ours['group']} {k}: aipl {got!r}, baseline {want!r}")
    for k, want in base["lift"].items():
        if not _close(res["lift"][k], want):
            bad.append(f"PI lift {k}: aipl {res['lift'][k]!r}, baseline {want!r}")
    credit = {c["channel"]: c for c in res["credit"]}
    if set(credit) != set(base["credit"].index):
        bad.append(f"PI credit channels: aipl {sorted(credit)}, baseline {sorted(base['credit'].index)}")
    for ch, r in base["credit"].iterrows():
        for k in ("behaviours", "touches"):
            if ch in credit and not _close(credit[ch][k], r[k]):
                bad.append(f"PI credit {ch} {k}: aipl {credit[ch][k]!r}, baseline {r[k]!r}")
    return bad


def hillstrom_like(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(1, 13, n), rng.gamma(1.0, 240.0, n), rng.random(n) < 0.55,
                         rng.random(n) < 0.55, rng.random(n) < 0.5]).astype(float)
    t = rng.random(n) < 0.5
    base = 0.10 + 0.05 * x[:, 2]
    y = (rng.random(n) < base + t * (0.03 + 0.06 * x[:, 3] * (x[:, 0] < 6))).astype(int)
    return x, t, y


def row(step: str, seconds: float, baseline: str | None = None, baseline_seconds: float | None = None,
        target: str | None = None) -> dict:
    ratio = seconds / baseline_seconds if baseline_seconds else None
    met = None if target is None or ratio is None else ratio <= 1.0
    return {"step": step, "seconds": seconds, "baseline": baseline, "baseline_seconds": baseline_seconds,
            "ratio": ratio, "target": target, "met": met, "peak_rss_gib": round(peak_gib(), 3)}


def say(r: dict) -> None:
    base = "" if r["baseline"] is None else (f"; {r['baseline']} {r['baseline_seconds']:.3f} s, ratio "
                                             f"{r['ratio']:.2f} (ours / baseline)")
    target = "" if r["target"] is None else f", target {r['target']}: {'met' if r['met'] else 'MISSED'}"
    print(f"  {r['step']}: {r['seconds']:.3f} s{base}{target}")


def uplift_rows(n: int, repeat: int) -> tuple[list[dict], list[str]]:
    x, t, y = hillstrom_like(n)
    half = len(y) // 2
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklift.models import TwoModels

    def hgb():
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=100, random_state=0)

    def sklift_t():
        m = TwoModels(estimator_trmnt=hgb(), estimator_ctrl=hgb(), method="vanilla")
        return m.fit(x[:half], y[:half], t[:half].astype(int)).predict(x[half:])

    t_sk, s_sk = timed(sklift_t, repeat)
    t_t, s_t = timed(lambda: TLearner().fit(x[:half], t[:half], y[:half]).predict(x[half:]), repeat)
    t_x, _ = timed(lambda: XLearner().fit(x[:half], t[:half], y[:half]).predict(x[half:]), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sklift.metrics import qini_auc_score

        t_q_sk, q_sk = timed(lambda: qini_auc_score(y[half:], s_t, t[half:].astype(int)), repeat)
    t_q, q = timed(lambda: qini_coefficient(y[half:], t[half:], s_t), repeat)
    bad = []
    if not np.allclose(s_t, s_sk, rtol=RTOL, atol=ATOL):
        bad.append(f"T-learner scores differ from TwoModels' (max |Δ| {np.abs(s_t - s_sk).max():.3g})")
    if not _close(q, q_sk):
        bad.append(f"Qini coefficient: aipl {q!r}, scikit-uplift {q_sk!r}")
    rows = [row(f"T-learner fit+score ({half:,}+{len(y) - half:,} rows)", t_t, "scikit-uplift TwoModels", t_sk),
            row(f"X-learner fit+score ({half:,}+{len(y) - half:,} rows)", t_x),
            row(f"Qini coefficient ({len(y) - half:,} rows)", t_q, "scikit-uplift qini_auc_score", t_q_sk)]
    return rows, bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--uplift-rows", type=int, default=640_000, help="0 skips the uplift part")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="write the rows as JSON (bench/run.py reads it)")
    args = ap.parse_args()

    rows, bad = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        events = build_experiment(root, args.consumers)
        print(f"experiment: {args.consumers:,} consumers, {events:,} events, written in "
              f"{time.perf_counter() - t0:.1f} s (setup, not timed)")

        def ours_lift():
            with open_warehouse(root, read_only=True) as wh:
                return experiment_lift(wh, EXPERIMENT, BRAND, method="cuped", days=DAYS, pre_days=PRE_DAYS)

        def ours_pi():
            with open_warehouse(root, read_only=True) as wh:
                return campaign_pi(wh, CAMPAIGN, BRAND, EXPERIMENT)

        t_ours, res = timed(ours_lift, args.repeat)
        t_pd, base = timed(lambda: pandas_lift(root), args.repeat)
        t_sql, base_sql = timed(lambda: sql_lift(root), args.repeat)
        bad += check_lift(res, base) + [f"(SQL reference) {b}" for b in check_lift(res, base_sql)]
        step = f"lift, CUPED, 4 outcomes ({args.consumers:,} consumers)"
        rows.append(row(step, t_ours, "pandas + CUPED + Welch", t_pd, "≤ 1.0 (at least as fast as the baseline)"))
        rows.append(row(step, t_ours, "DuckDB SQL per consumer + numpy CUPED + Welch", t_sql))
        t_pi, pi = timed(ours_pi, args.repeat)
        t_pd_pi, base_pi = timed(lambda: pandas_pi(root), args.repeat)
        bad += check_pi(pi, base_pi)
        rows.append(row(f"PI with lift and channel credit ({args.consumers:,} consumers)", t_pi,
                        "pandas flags + Welch + merge credit", t_pd_pi, "≤ 1.0 (at least as fast as the baseline)"))
    if args.uplift_rows:
        more, wrong = uplift_rows(args.uplift_rows, args.repeat)
        rows += more
        bad += wrong
    if bad:
        print("FAILED: results differ from their baselines; no time is reported", *bad, sep="\n  ")
    else:
        print(f"every result equals its baseline (rtol {RTOL:g}); medians of {args.repeat} runs each:")
        for r in rows:
            say(r)
        lift = res["arms"][1]["lift"] if res["arms"][1].get("lift") else res["arms"][0]["lift"]
        for m in ("purchases", "spend"):
            print(f"  {m}: effect {lift[m]['effect']:+.5f} ± {1.96 * lift[m]['se']:.5f}, CUPED variance reduction "
                  f"{lift[m]['variance_reduction']:.1%}")
    if args.json:
        args.json.write_text(json.dumps({
            "bench": "measure", "args": {"consumers": args.consumers, "uplift_rows": args.uplift_rows,
                                         "repeat": args.repeat},
            "rows": rows, "ok": not bad, **({"errors": bad} if bad else {})}, indent=2), encoding="utf-8")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
