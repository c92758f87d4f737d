"""Measurement speed: experiment lift from the warehouse, uplift learners and Qini, each against a baseline
measured in the same run.

    python bench/measure.py [--consumers 1000000] [--uplift-rows 640000] [--repeat 3]

1. A randomised experiment of N consumers (half treated) with ~4 events each in the window and the pre-period
   is written straight into a DuckDB workspace; aipl's `experiment_lift` (all four outcomes, CUPED on the
   pre-period) runs against a pandas baseline that reads the events and computes per-consumer outcomes and
   Welch t-tests (no CUPED).
2. T- and X-learner fit + predict on Hillstrom-like rows against scikit-uplift's `TwoModels` with the same
   base learners; aipl's Qini coefficient against scikit-uplift's `qini_auc_score` on the same scores.
"""

from __future__ import annotations

import argparse
import resource
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
from scipy import stats

from aipl.config import init_workspace
from aipl.measure import experiment_lift
from aipl.measure.uplift import TLearner, XLearner, qini_coefficient
from aipl.warehouse import open_warehouse

START = datetime(2026, 10, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def build_experiment(root: Path, n: int, seed: int = 0) -> None:
    """N consumers, half treated (+20% purchase propensity), events over 30 pre-days and 14 window days."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n).astype(str))
    treated = rng.random(n) < 0.5
    activity = rng.gamma(1.0, 1.0, n)
    wh = open_warehouse(init_workspace(root))
    wh.con.insert("assignments", pa.table({
        "experiment_id": np.full(n, "E"), "consumer_id": ids, "arm": np.where(treated, "treated", "control"),
        "is_control": ~treated, "assigned_at": pa.array(np.full(n, START), type=pa.timestamp("us", "UTC")),
    }))
    cols: dict[str, list] = {"consumer_id": [], "brand_id": [], "event_type": [], "ts": [], "amount": []}
    for lo, hi, boost in ((-30, 0, 1.0), (0, 14, 1.2)):
        k = rng.poisson(activity * (hi - lo) / 14)
        who = np.repeat(np.arange(n), k)
        buy = rng.random(len(who)) < 0.05 * np.where(treated[who] & (lo >= 0), boost, 1.0)
        secs = rng.integers(lo * 86400, hi * 86400, len(who))
        cols["consumer_id"].append(ids[who])
        cols["brand_id"].append(np.full(len(who), "B"))
        cols["event_type"].append(np.where(buy, "purchase", "pdp_view"))
        utc0 = np.datetime64(START.replace(tzinfo=None) - timedelta(hours=8))  # START in UTC
        cols["ts"].append(utc0 + secs.astype("timedelta64[s]"))
        cols["amount"].append(np.where(buy, rng.gamma(2.0, 50.0, len(who)), np.nan))
    ev = {k: np.concatenate(v) for k, v in cols.items()}
    wh.con.insert("events", pa.table({
        "consumer_id": ev["consumer_id"], "brand_id": ev["brand_id"], "event_type": ev["event_type"],
        "ts": pa.array(ev["ts"].astype("datetime64[us]"), type=pa.timestamp("us", "UTC")),
        "amount": pa.array(ev["amount"], mask=np.isnan(ev["amount"])),
    }))
    print(f"experiment: {n:,} consumers, {len(ev['ts']):,} events")
    wh.close()


def pandas_baseline(root: Path) -> dict:
    """Read everything into pandas, outcomes per consumer, Welch t-test per metric."""
    wh = open_warehouse(root)
    a = wh.raw.execute("SELECT consumer_id, is_control FROM assignments").df()
    e = wh.raw.execute("SELECT consumer_id, event_type, ts, amount FROM events").df()
    wh.close()
    e = e[(e.ts >= pd.Timestamp(START)) & (e.ts < pd.Timestamp(START) + pd.Timedelta(days=14))]
    buy = e[e.event_type == "purchase"]
    per = pd.DataFrame({
        "visit": e[e.event_type == "pdp_view"].groupby("consumer_id").size().clip(upper=1),
        "conversion": buy.groupby("consumer_id").size().clip(upper=1),
        "purchases": buy.groupby("consumer_id").size(), "spend": buy.groupby("consumer_id").amount.sum(),
    })
    df = a.set_index("consumer_id").join(per).fillna(0)
    t = ~df.is_control.astype(bool)
    return {m: stats.ttest_ind(df.loc[t, m], df.loc[~t, m], equal_var=False) for m in per.columns}


def hillstrom_like(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(1, 13, n), rng.gamma(1.0, 240.0, n), rng.random(n) < 0.55,
                         rng.random(n) < 0.55, rng.random(n) < 0.5]).astype(float)
    t = rng.random(n) < 0.5
    base = 0.10 + 0.05 * x[:, 2]
    y = (rng.random(n) < base + t * (0.03 + 0.06 * x[:, 3] * (x[:, 0] < 6))).astype(int)
    return x, t, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--uplift-rows", type=int, default=640_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        build_experiment(root, args.consumers)
        print(f"  built in {time.perf_counter() - t0:.1f} s")

        def ours():
            wh = open_warehouse(root)
            try:
                return experiment_lift(wh, "E", "B", method="cuped")
            finally:
                wh.close()

        t_ours, res = timed(ours, args.repeat)
        t_pd, base = timed(lambda: pandas_baseline(root), args.repeat)
        lift = res["arms"][1]["lift"]
        print(f"lift, {args.consumers:,} consumers, 4 outcomes: aipl (CUPED) {t_ours:.2f} s, pandas + Welch "
              f"(no CUPED) {t_pd:.2f} s, ratio {t_pd / t_ours:.2f}x")
        for m in ("purchases", "spend"):
            print(f"  {m}: effect {lift[m]['effect']:+.5f} ± {1.96 * lift[m]['se']:.5f} (CUPED variance "
                  f"reduction {lift[m]['variance_reduction']:.1%}); baseline t = {base[m].statistic:.2f}")

    x, t, y = hillstrom_like(args.uplift_rows)
    half = len(y) // 2
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklift.models import TwoModels

    def hgb():
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=100, random_state=0)

    def sklift_t():
        m = TwoModels(estimator_trmnt=hgb(), estimator_ctrl=hgb(), method="vanilla")
        return m.fit(x[:half], y[:half], t[:half].astype(int)).predict(x[half:])

    t_sk, s_sk = timed(sklift_t, args.repeat)
    t_t, s_t = timed(lambda: TLearner().fit(x[:half], t[:half], y[:half]).predict(x[half:]), args.repeat)
    t_x, s_x = timed(lambda: XLearner().fit(x[:half], t[:half], y[:half]).predict(x[half:]), args.repeat)
    print(f"uplift, {half:,} rows to fit and {len(y) - half:,} to score: T-learner {t_t:.2f} s, X-learner "
          f"{t_x:.2f} s, scikit-uplift TwoModels {t_sk:.2f} s (T ratio {t_sk / t_t:.2f}x)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sklift.metrics import qini_auc_score

        t_q_sk, q_sk = timed(lambda: qini_auc_score(y[half:], s_t, t[half:].astype(int)), args.repeat)
    t_q, q = timed(lambda: qini_coefficient(y[half:], t[half:], s_t), args.repeat)
    print(f"Qini coefficient on {len(y) - half:,} rows: aipl {t_q:.3f} s ({q:.4f}), scikit-uplift {t_q_sk:.3f} s "
          f"({q_sk:.4f}), ratio {t_q_sk / t_q:.2f}x; X-learner Qini {qini_coefficient(y[half:], t[half:], s_x):.4f}, "
          f"scikit-uplift TwoModels {qini_coefficient(y[half:], t[half:], s_sk):.4f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
