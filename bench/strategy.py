"""GTA forecast accuracy and speed on a two-season synthetic market: the plan's forecast of this year's
campaign GMV against what happened, next to the naive forecast (last year's GMV again), in the same run.

    python bench/strategy.py [--consumers 20000] [--brands 12] [--days-before 0 28] [--keep DIR]

The market has a year of history (with everyday ads) before last year's campaign, and the workspace counts
P as bought within 365 days, so that last year's pools are as settled as this year's. Each brand's ad budget
changes from 90 days before this year's campaign (× U(0.5, 1.5) by default): a forecast must read today's
pools, not repeat last year.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aipl.assets import ensure_built
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.strategy import backtest
from aipl.warehouse import open_warehouse


def build(root: Path, consumers: int, brands: int, spend_change: float) -> None:
    t = time.perf_counter()
    simulate_market(MarketSpec(consumers=consumers, days=60, brands=brands, seed=1, seasons=2, start="2025-09-15",
                               lead_days=365, lead_ads=True, spend_change=spend_change), root / "market")
    init_workspace(root)
    cfg = root / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("purchase_days = 913", "purchase_days = 365"),
                   encoding="utf-8")
    wh = open_warehouse(root)
    n = sum(r.accepted for r in load_market(wh, root / "market"))
    ensure_built(wh)
    wh.close()
    print(f"market: {consumers:,} consumers, {brands} brands, {n:,} rows, built in {time.perf_counter() - t:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=20_000)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--days-before", type=int, nargs="+", default=[0, 28])
    ap.add_argument("--spend-change", type=float, default=0.5,
                    help="Brands' budgets this year × U(1 − x, 1 + x) (0: a stationary market).")
    ap.add_argument("--keep", type=Path, help="Build the market here and keep it (reused when present).")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp()) / "ws"
    if not (root / "aipl.toml").exists():
        build(root, args.consumers, args.brands, args.spend_change)
    wh = open_warehouse(root)
    brands = sorted(wh.table("events").select("brand_id").distinct().execute().brand_id.dropna())
    for k in args.days_before:
        t = time.perf_counter()
        res = backtest(wh, "sim_double11", brands, days_before=k).brands
        secs = (time.perf_counter() - t) / len(brands)
        pred, act, naive = (sum(r[x] for r in res) for x in ("predicted_gmv", "actual_gmv", "naive_gmv"))
        gta, base = abs(pred - act) / act, abs(naive - act) / act
        med_gta = statistics.median(r["total_ape"] for r in res)
        med_naive = statistics.median(r["naive_ape"] for r in res)
        pools = statistics.median(r["pool_mape"] for r in res if r["pool_mape"] is not None)
        print(f"{k} days before the presale: all brands' GMV error GTA {gta:.1%} vs last year's GMV {base:.1%} "
              f"(ratio {base / gta:.1f}x); median brand {med_gta:.1%} vs {med_naive:.1%}; median pool MAPE "
              f"{pools:.1%}; {secs:.2f} s per brand")
    wh.close()
    if not args.keep:
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
