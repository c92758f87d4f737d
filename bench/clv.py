"""CLV fitting speed: aipl's BG/NBD against the `lifetimes` package in one run, and a 10M-customer fit + predict.

    python bench/clv.py [--repeat 3] [--synthetic 1000000] [--big 10000000] [--skip-lifetimes] [--json PATH]

Synthetic customers follow the BG/NBD story with known parameters (r 0.25, α 4, a 0.8, b 2.5), ages of
1–78 weeks and purchase days on a daily grid, so the fit's recovery of the truth is printed too. Both fits get
`--repeat` runs (the median is reported) and are checked before any time is: aipl's optimum must be at least
as likely as lifetimes' (log-likelihood within 1e-6 relative) and pass its own fit check; the big fit must pass
its fit check and recover the truth within 10 %. A failed check exits 1.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from common import DATA, peak_rss_gib, row, timed, write_json

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



def agree(name: str, ours: BetaGeo, theirs, data: tuple[np.ndarray, ...]) -> list[str]:
    """What is wrong with aipl's fit next to lifetimes' on the same data: a less likely optimum or a failed
    fit check (empty when all is right)."""
    x = BetaGeo()
    ll_theirs = float(np.sum(x._loglik(tuple(float(theirs.params_[k]) for k in BetaGeo.param_names), *data)))
    gap = max(abs(v / float(theirs.params_[k]) - 1) for k, v in ours.params_.items())
    print(f"{name}: log-likelihood aipl {ours.loglik_:.4f}, lifetimes {ll_theirs:.4f}; parameters differ by "
          f"{gap:.2%} at most")
    problems = [] if ours.check_["ok"] else [f"{name}: aipl's fit check failed: {ours.check_['problems']}"]
    if ours.loglik_ < ll_theirs - 1e-6 * abs(ll_theirs):
        problems.append(f"{name}: aipl's optimum is less likely than lifetimes' ({ours.loglik_} < {ll_theirs})")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic customers fitted by both")
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--cdnow", default=str(DATA / "cdnow" / "cdnow_customers_summary.csv"))
    ap.add_argument("--skip-lifetimes", action="store_true", help="no lifetimes fit on the synthetic customers")
    ap.add_argument("--json", help="write the results here in bench/run.py's format")
    args = ap.parse_args()
    import lifetimes

    rows, problems, report = [], [], []
    d = pd.read_csv(args.cdnow)
    cd = (d.frequency.to_numpy(float), d.recency.to_numpy(float), d["T"].to_numpy(float))
    sim = simulate_bgnbd(args.synthetic)
    for name, data, step in ((f"CDNOW ({len(d):,})", cd, "fit CDNOW"),
                             (f"synthetic {args.synthetic:,}", sim, "fit synthetic")):
        ours, m = timed(lambda data=data: BetaGeo().fit(*data), args.repeat)
        theirs, lt = float("nan"), None
        if not (args.skip_lifetimes and step == "fit synthetic"):
            theirs, lt = timed(lambda data=data: lifetimes.BetaGeoFitter().fit(*data), args.repeat)
            problems += agree(name, m, lt, data)
        rows.append((name, ours, theirs, m.params_))
        report.append(row(step, ours, None if lt is None else "lifetimes BetaGeoFitter", None if lt is None else theirs,
                          "faster than lifetimes" if lt else None, None if lt is None else ours < theirs))
        print(f"{name} fit check: {m.check_!r}")

    print(f"{'data':18} {'aipl s':>8} {'lifetimes s':>12} {'speed-up':>9}  fitted (r, alpha, a, b)")
    for name, a, b, p in rows:
        print(f"{name:18} {a:8.3f} {b:12.3f} {b / a:8.1f}x  " + ", ".join(f"{v:.3f}" for v in p.values()))
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
    rss = peak_rss_gib()
    print(f"{args.big:,} customers: fit {fit_s:.1f} s + predict (P(alive), next 52 weeks) {pred_s:.1f} s = "
          f"{fit_s + pred_s:.1f} s (target <= 30 s at 10M); peak RSS {rss:.2f} GiB")
    print("fitted: " + ", ".join(f"{k} {v:.3f}" for k, v in model.params_.items()) +
          f"; mean P(alive) {alive.mean():.3f}, mean 52-week purchases {expect.mean():.3f}; {model.check_!r}")
    off = {k: v / TRUE[k] - 1 for k, v in model.params_.items() if abs(v / TRUE[k] - 1) > 0.1}
    if not model.check_["ok"] or off:
        problems.append(f"big fit: check {model.check_['ok']}, parameters off the truth by more than 10 %: {off}")
    report.append(row("fit + predict big", fit_s + pred_s, target="<= 30 s (the target at 10M customers)",
                      met=fit_s + pred_s <= 30, peak_rss_gib=rss))
    write_json(args.json, "clv", vars(args), report, ok=not problems)
    if problems:
        raise SystemExit("CHECK FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
