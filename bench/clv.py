"""CLV fitting speed: aipl's BG/NBD against the `lifetimes` package in one run, and a 10M-customer fit + predict.

    python bench/clv.py [--repeat 3] [--big 10000000] [--skip-lifetimes-1m]

Synthetic customers follow the BG/NBD story with known parameters (r 0.25, α 4, a 0.8, b 2.5), ages of
1–78 weeks and purchase days on a daily grid, so the fit's recovery of the truth is printed too.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np
import pandas as pd
from common import DATA, timed

from aipl.clv import BetaGeo

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def simulate_bgnbd(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in weeks for n customers drawn from BG/NBD with the TRUE parameters."""
    rng = np.random.default_rng(seed)
    T_days = rng.integers(7, 547, size=n)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], size=n) / 7  # purchases per day
    p = rng.beta(TRUE["a"], TRUE["b"], size=n)
    t = np.zeros(n)
    last = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / lam[idx])
        buy = t[idx] <= T_days[idx]
        b = idx[buy]
        x[b] += 1
        last[b] = np.floor(t[b])
        alive[idx[~buy]] = False
        alive[b] = rng.random(len(b)) >= p[b]  # drops out after a purchase with probability p
    return x.astype(float), np.where(x > 0, last, 0) / 7, T_days / 7



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--cdnow", default=str(DATA / "cdnow" / "cdnow_customers_summary.csv"))
    ap.add_argument("--skip-lifetimes-1m", action="store_true")
    args = ap.parse_args()
    import lifetimes

    rows = []
    d = pd.read_csv(args.cdnow)
    cd = (d.frequency.to_numpy(float), d.recency.to_numpy(float), d["T"].to_numpy(float))
    ours, m = timed(lambda: BetaGeo().fit(*cd), args.repeat)
    theirs, _ = timed(lambda: lifetimes.BetaGeoFitter().fit(*cd), args.repeat)
    rows.append(("CDNOW (2,357)", ours, theirs, m.params_))
    print(f"CDNOW fit check: {m.check_!r}")

    sim = simulate_bgnbd(1_000_000)
    ours, m = timed(lambda: BetaGeo().fit(*sim), args.repeat)
    theirs = float("nan")
    if not args.skip_lifetimes_1m:
        theirs, _ = timed(lambda: lifetimes.BetaGeoFitter().fit(*sim), 1)
    rows.append(("synthetic 1M", ours, theirs, m.params_))
    print(f"synthetic 1M fit check: {m.check_!r}")

    print(f"{'data':16} {'aipl s':>8} {'lifetimes s':>12} {'speed-up':>9}  fitted (r, alpha, a, b)")
    for name, a, b, p in rows:
        print(f"{name:16} {a:8.3f} {b:12.3f} {b / a:8.1f}x  " + ", ".join(f"{v:.3f}" for v in p.values()))
    print("truth for synthetic: " + ", ".join(f"{k} {v}" for k, v in TRUE.items()))

    t = time.perf_counter()
    big = simulate_bgnbd(args.big, seed=2)
    print(f"\nsimulated {args.big:,} customers in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    model = BetaGeo().fit(*big)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():  # heavy buyers once overflowed in P(alive); now an overflow is an error
        warnings.simplefilter("error", RuntimeWarning)
        alive = model.p_alive(*big)
        expect = model.predict(52, *big)
    pred_s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.big:,} customers: fit {fit_s:.1f} s + predict (P(alive), next 52 weeks) {pred_s:.1f} s = "
          f"{fit_s + pred_s:.1f} s (target <= 30 s); peak RSS {rss:,.0f} MB")
    print("fitted: " + ", ".join(f"{k} {v:.3f}" for k, v in model.params_.items()) +
          f"; mean P(alive) {alive.mean():.3f}, mean 52-week purchases {expect.mean():.3f}; {model.check_!r}")


if __name__ == "__main__":
    main()
