"""GTA forecast accuracy on two synthetic markets in one run: one whose brands' budgets change before this year's
campaign and a stationary one. Every brand's plan (its method chosen by a rolling backtest on its own history,
with a 90 % interval) is compared with what happened, next to the naive forecast (last year's GMV again).

    python bench/strategy.py [--consumers 20000] [--brands 12] [--days-before 0 28] [--keep DIR]
        [--markets "budgets change" stationary] [--json PATH]

Each market has three seasons (two past campaigns, so each brand's own history holds one backtest point) and a
year of history (with everyday ads) before the first; the workspace counts P as bought within 365 days, so that
pools are settled. In the first market each brand's ad budget changes from 90 days before this year's campaign
(× U(0.5, 1.5)): a forecast must read today's pools, not repeat last year.

Targets (issue 20), per market and planning day: total GMV error ≤ 5 % and at most 1 point worse than naive;
median brand error ≤ naive's; the 90 % intervals cover the actual GMV in 80–95 % of brand-campaigns (counted
over all markets and days). The script exits 1 when a target is missed.

The noise floor: the actual GMV is itself a draw (purchases × prices), so even the oracle that knew each brand's
expected GMV would miss it. Per market the script prints the actual total's compound-Poisson standard deviation
(√Σ amount² / Σ amount over the selling period's purchases) and the error such an oracle expects (√(2/π) of it).

Correctness (exit 1, "ok": false in `--json`): every brand's actual GMV and its naive forecast (last year's GMV)
equal a plain DuckDB query over the market's own events file, independent of the warehouse.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

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


def reference(root: Path, start, end) -> dict[str, tuple[float, float]]:
    """Per brand, (GMV, Σ amount²) of the purchases with a local day in [start, end], by a plain DuckDB query over
    the market's events file (not the warehouse)."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT brand_id, sum(amount), sum(amount * amount) FROM read_parquet(?) WHERE event_type = 'purchase' "
            "AND CAST(timezone('Asia/Shanghai', ts) AS DATE) BETWEEN ? AND ? GROUP BY brand_id",
            [str(root / "market" / "events.parquet"), start, end]).fetchall()
    finally:
        con.close()
    return {b: (float(g), float(g2)) for b, g, g2 in rows}


def measure(root: Path, days_before: int, wrong: list[str]) -> list[dict]:
    """One row per brand: our forecast, the naive one, the interval and the actual GMV (both checked against the
    plain query: mismatches are added to `wrong`)."""
    wh = open_warehouse(root)
    brands = sorted(wh.table("events").select("brand_id").distinct().execute().brand_id.dropna())
    cur = load_campaign(wh, CAMPAIGN)
    ref = reference(root, cur.presale_start, cur.selling_end)
    rows, ly_ref = [], {}
    for b in brands:  # the plan's GTA figures and forecast (its progress and action plan do not change them)
        gta = gta_plan(wh, b, CAMPAIGN, day=cur.d0 - timedelta(days=days_before))
        p = choose_forecast(wh, gta, brands)
        actual = season(wh, b, cur)["gmv"]
        if gta["baseline"]["campaign_id"] not in ly_ref:
            ly = load_campaign(wh, gta["baseline"]["campaign_id"])
            ly_ref[ly.campaign_id] = reference(root, ly.presale_start, ly.selling_end)
        for what, ours, sql in (("actual", actual, ref.get(b, (0.0, 0.0))[0]),
                                ("naive", p["naive_gmv"], ly_ref[gta["baseline"]["campaign_id"]].get(b, (0.0,))[0])):
            if not math.isclose(ours, sql, rel_tol=1e-9, abs_tol=0.01):
                wrong.append(f"{root.name} {b}: {what} GMV {ours:.2f} but the plain query gives {sql:.2f}")
        rows.append({"brand": b, "ours": p["forecast_gmv"], "naive": p["naive_gmv"], "actual": actual,
                     "method": p["method"], "low": p["gmv_interval"]["low"], "high": p["gmv_interval"]["high"],
                     "warnings": [w["code"] for w in p["warnings"]], "methods": p["methods"],
                     "sum_sq": ref.get(b, (0.0, 0.0))[1]})
        print(f"  {b}: {rows[-1]}", flush=True)
    wh.close()
    return rows


def row(step: str, seconds: float | None, target: str | None = None, met: bool | None = None, **figures) -> dict:
    """One result in bench/run.py's report format (no timed baseline: the baseline here is an accuracy)."""
    return {"step": step, "seconds": seconds, "baseline": "naive (last year's GMV again)", "baseline_seconds": None,
            "ratio": None, "target": target, "met": met,
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 3), **figures}


def report(name: str, k: int, rows: list[dict], secs: float) -> tuple[list[str], list[dict]]:
    """Print one market's figures; the targets it misses and its report rows."""
    act = sum(r["actual"] for r in rows)
    ours, naive = (abs(sum(r[x] for r in rows) - act) / act for x in ("ours", "naive"))
    med_ours, med_naive = (statistics.median(abs(r[x] - r["actual"]) / r["actual"] for r in rows if r["actual"])
                           for x in ("ours", "naive"))
    cover = sum(r["low"] <= r["actual"] <= r["high"] for r in rows)
    methods = statistics.multimode(r["method"] for r in rows)
    sd = math.sqrt(sum(r["sum_sq"] for r in rows)) / act  # the actual total's own noise (compound Poisson)
    every = {m: abs(sum(r["methods"][m] for r in rows) - act) / act for m in rows[0]["methods"]}
    print(f"{name}, {k} days before: total GMV error ours {ours:.1%} vs naive {naive:.1%}; median brand {med_ours:.1%} "
          f"vs {med_naive:.1%}; 90% interval covers {cover}/{len(rows)}; methods "
          + ", ".join(f"{m} ×{sum(r['method'] == m for r in rows)}" for m in sorted({r['method'] for r in rows}))
          + f" (most: {', '.join(methods)}); every method's total error: "
          + ", ".join(f"{m} {e:.1%}" for m, e in every.items())
          + f"; noise floor: the actual total's sd {sd:.1%}, an oracle's expected error "
            f"{sd * math.sqrt(2 / math.pi):.1%}")
    missed = []
    if ours > 0.05:
        missed.append(f"{name} {k}d: total error {ours:.1%} > 5%")
    if ours > naive + 0.01:
        missed.append(f"{name} {k}d: total error {ours:.1%} worse than naive {naive:.1%} by more than 1 point")
    if med_ours > med_naive + 1e-9:
        missed.append(f"{name} {k}d: median brand error {med_ours:.1%} > naive's {med_naive:.1%}")
    out = [row(f"{name} {k}d: total GMV error {ours:.1%} (naive {naive:.1%}; noise floor sd {sd:.1%})", secs,
               "≤ 5 % and ≤ naive + 1 pt", ours <= 0.05 and ours <= naive + 0.01, error=ours, naive_error=naive,
               actual_sd=sd, methods_error=every),
           row(f"{name} {k}d: median brand error {med_ours:.1%} (naive {med_naive:.1%})", secs, "≤ naive's",
               med_ours <= med_naive + 1e-9, error=med_ours, naive_error=med_naive)]
    return missed, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=20_000)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--days-before", type=int, nargs="+", default=[0, 28])
    ap.add_argument("--keep", type=Path, help="Build the markets under this folder and keep them (reused).")
    ap.add_argument("--markets", nargs="+", choices=list(MARKETS), default=list(MARKETS))
    ap.add_argument("--json", type=str, help="Write the report for bench/run.py here.")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp())
    missed, wrong, rows, covered, total = [], [], [], 0, 0
    for name in args.markets:
        root = base / name.replace(" ", "_")
        if not (root / "aipl.toml").exists():
            build(root, args.consumers, args.brands, MARKETS[name])
        for k in args.days_before:
            t = time.perf_counter()
            brand_rows = measure(root, k, wrong)
            secs = time.perf_counter() - t
            m, r = report(name, k, brand_rows, secs)
            missed += m
            rows += r
            covered += sum(r["low"] <= r["actual"] <= r["high"] for r in brand_rows)
            total += len(brand_rows)
            print(f"  {secs / len(brand_rows):.2f} s per brand's plan")
    share = covered / total
    print(f"90% intervals cover the actual GMV in {covered}/{total} brand-campaigns ({share:.0%}; target 80-95%)")
    if not 0.8 <= share <= 0.95:
        missed.append(f"interval coverage {share:.0%} outside 80-95%")
    rows.append(row(f"90% intervals cover {covered}/{total} brand-campaigns ({share:.0%})", None, "80–95 %",
                    0.8 <= share <= 0.95, coverage=share))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"bench": "strategy", "args": {k: str(v) if isinstance(v, Path) else v
                                                     for k, v in vars(args).items() if k != "json"},
                       "rows": rows, "ok": not wrong}, f, indent=1, ensure_ascii=False)
    for w in wrong:
        print("WRONG:", w)
    for m in missed:
        print("MISSED:", m)
    sys.exit(1 if missed or wrong else 0)


if __name__ == "__main__":
    main()
