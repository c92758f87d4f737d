"""GTA forecast accuracy on two synthetic markets in one run: one whose brands' budgets change before this year's
campaign and a stationary one. Every brand's plan (its method chosen by a rolling backtest on its own history,
with a 90 % interval) is compared with what happened, next to the naive forecast (last year's GMV again).

    python bench/strategy.py [--consumers 20000] [--brands 12] [--days-before 0 28] [--keep DIR]

Each market has three seasons (two past campaigns, so each brand's own history holds one backtest point) and a
year of history (with everyday ads) before the first; the workspace counts P as bought within 365 days, so that
pools are settled. In the first market each brand's ad budget changes from 90 days before this year's campaign
(× U(0.5, 1.5)): a forecast must read today's pools, not repeat last year.

Targets (issue 20), per market and planning day: total GMV error ≤ 5 % and at most 1 point worse than naive;
median brand error ≤ naive's; the 90 % intervals cover the actual GMV in 80–95 % of brand-campaigns (counted
over all markets and days). The script exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aipl.assets import ensure_built
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.strategy import load_campaign, season
from aipl.strategy.forecast import choose_forecast
from aipl.strategy.gta import gta_plan
from aipl.warehouse import open_warehouse

CAMPAIGN = "sim_double11"
MARKETS = {"budgets change": 0.5, "stationary": 0.0}


def build(root: Path, consumers: int, brands: int, spend_change: float) -> None:
    t = time.perf_counter()
    simulate_market(MarketSpec(consumers=consumers, days=60, brands=brands, seed=1, seasons=3, start="2024-09-15",
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


def measure(root: Path, days_before: int) -> list[dict]:
    """One row per brand: our forecast, the naive one, the interval and the actual GMV."""
    wh = open_warehouse(root)
    brands = sorted(wh.table("events").select("brand_id").distinct().execute().brand_id.dropna())
    cur = load_campaign(wh, CAMPAIGN)
    rows = []
    for b in brands:  # the plan's GTA figures and forecast (its progress and action plan do not change them)
        p = choose_forecast(wh, gta_plan(wh, b, CAMPAIGN, day=cur.d0 - timedelta(days=days_before)), brands)
        actual = season(wh, b, cur)["gmv"]
        rows.append({"brand": b, "ours": p["forecast_gmv"], "naive": p["naive_gmv"], "actual": actual,
                     "method": p["method"], "low": p["gmv_interval"]["low"], "high": p["gmv_interval"]["high"],
                     "warnings": [w["code"] for w in p["warnings"]]})
        print(f"  {b}: {rows[-1]}", flush=True)
    wh.close()
    return rows


def report(name: str, k: int, rows: list[dict]) -> list[str]:
    """Print one market's figures; the targets it misses."""
    act = sum(r["actual"] for r in rows)
    ours, naive = (abs(sum(r[x] for r in rows) - act) / act for x in ("ours", "naive"))
    med_ours, med_naive = (statistics.median(abs(r[x] - r["actual"]) / r["actual"] for r in rows if r["actual"])
                           for x in ("ours", "naive"))
    cover = sum(r["low"] <= r["actual"] <= r["high"] for r in rows)
    methods = statistics.multimode(r["method"] for r in rows)
    print(f"{name}, {k} days before: total GMV error ours {ours:.1%} vs naive {naive:.1%}; median brand {med_ours:.1%} "
          f"vs {med_naive:.1%}; 90% interval covers {cover}/{len(rows)}; methods "
          + ", ".join(f"{m} ×{sum(r['method'] == m for r in rows)}" for m in sorted({r['method'] for r in rows}))
          + f" (most: {', '.join(methods)})")
    missed = []
    if ours > 0.05:
        missed.append(f"{name} {k}d: total error {ours:.1%} > 5%")
    if ours > naive + 0.01:
        missed.append(f"{name} {k}d: total error {ours:.1%} worse than naive {naive:.1%} by more than 1 point")
    if med_ours > med_naive + 1e-9:
        missed.append(f"{name} {k}d: median brand error {med_ours:.1%} > naive's {med_naive:.1%}")
    return missed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=20_000)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--days-before", type=int, nargs="+", default=[0, 28])
    ap.add_argument("--keep", type=Path, help="Build the markets under this folder and keep them (reused).")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp())
    missed, covered, total = [], 0, 0
    for name, change in MARKETS.items():
        root = base / name.replace(" ", "_")
        if not (root / "aipl.toml").exists():
            build(root, args.consumers, args.brands, change)
        for k in args.days_before:
            t = time.perf_counter()
            rows = measure(root, k)
            missed += report(name, k, rows)
            covered += sum(r["low"] <= r["actual"] <= r["high"] for r in rows)
            total += len(rows)
            print(f"  {(time.perf_counter() - t) / len(rows):.2f} s per brand's plan")
    share = covered / total
    print(f"90% intervals cover the actual GMV in {covered}/{total} brand-campaigns ({share:.0%}; target 80-95%)")
    if not 0.8 <= share <= 0.95:
        missed.append(f"interval coverage {share:.0%} outside 80-95%")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    for m in missed:
        print("MISSED:", m)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
