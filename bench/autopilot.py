"""In-flight reallocation on the synthetic market's hidden response curves: Thompson sampling against the
oracle (allocation on the true curves), an equal split and "proportional to last ROI", in one run.

    python bench/autopilot.py [--brands 12] [--days 45] [--budgets 0.5 2]

Budgets are multiples of the brand's summed half-saturation spend (0.5: curves still convex, where the split
matters most; 2: mostly saturated). Regret = (oracle − policy) / oracle over the whole flight, exploration
days included; daily noise 5 %.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from aipl.autopilot import Curve
from aipl.autopilot.flight import compare
from aipl.simulate import MarketSpec, simulate_market


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--days", type=int, default=45)
    ap.add_argument("--budgets", type=float, nargs="+", default=[0.5, 2.0])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        truth = simulate_market(MarketSpec(consumers=2000, days=2, brands=args.brands, seed=7), tmp)
    for mult in args.budgets:
        regrets: dict[str, list[float]] = {}
        t = time.perf_counter()
        for b, bt in truth["brands"].items():
            true = {ch: Curve(c["max_daily_reach"], c["hill_k"], c["hill_alpha"], c["adstock_theta"])
                    for ch, c in bt["curves"].items()}
            res = compare(true, mult * sum(c.k for c in true.values()), days=args.days, seed=int(b[1:]))
            for k, v in res["regret"].items():
                regrets.setdefault(k, []).append(v)
        secs = (time.perf_counter() - t) / len(truth["brands"])
        line = ", ".join(f"{k} {statistics.median(v):.1%}" for k, v in regrets.items() if k != "oracle")
        worst = max(regrets["thompson"])
        print(f"budget {mult}× Σk, {args.days} days, {len(truth['brands'])} brands — median regret: {line}; "
              f"Thompson worst {worst:.1%}; {secs:.1f} s a flight")


if __name__ == "__main__":
    main()
