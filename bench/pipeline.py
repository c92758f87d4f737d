"""The daily pipeline's step times (`aipl run daily`) on a workspace of N events: the first run (full asset build,
tags, CLV, plans, alerts, report), the next day (one day of events dropped in the landing folder as Parquet) and a
run with nothing new.

    python bench/pipeline.py [--events 10000000] [--consumers 1000000] [--brands 50] [--keep]

Events are generated straight into a fresh warehouse by bench/assets.py's `generate` (UserBehavior shape, Zipf-like
consumers and brands) over 30 days, so the new day's N/30 rows are an average day; purchases get an amount so that
CLV has spend to fit. No campaigns are loaded, so the plans step has no plan to make (it still asks every brand).
The workspace declares a `[[pipeline.landing]]` glob and two alert rules (every brand). Checks: the events count
after the daily run is N + the day's rows, and every brand's AIPL counts on the last day equal bench/assets.py's
plain-SQL recomputation over the events. Prints each step's seconds (from the `runs` table), the daily run's ratio
to the first run, wall and CPU seconds, and the peak RSS of the process and its children.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
from assets import SQL_SNAPSHOT, START, generate

from aipl.assets import snapshot_all
from aipl.config import init_workspace
from aipl.pipeline import STEPS, RunSummary, run_daily
from aipl.warehouse import open_warehouse

DAYS = 30
LANDING = "landing/events"
TOML = f"""
[[pipeline.landing]]
glob = "{LANDING}/*.parquet"
format = "events"

[[alerts]]
kind = "flow_drop"

[[alerts]]
kind = "fast_below_p25"
metric = "A"
"""
# a purchase's amount: 10 … 209, fixed by the row
AMOUNT = "CASE WHEN event_type = 'purchase' THEN 10 + hash(consumer_id, ts) % 200 END"


def new_day(path: Path, rows: int, consumers: int, brands: int) -> None:
    """One more day of events (day DAYS after START) as a Parquet file of canonical columns."""
    con = duckdb.connect()
    con.execute("CREATE TABLE events (consumer_id VARCHAR, brand_id VARCHAR, category_id VARCHAR, "
                "event_type VARCHAR, ts TIMESTAMPTZ)")
    generate(SimpleNamespace(raw=con), rows, consumers, brands, first_day=DAYS, days=1)
    con.execute(f"COPY (SELECT *, ({AMOUNT})::DOUBLE AS amount FROM events) TO '{path}' (FORMAT parquet)")
    con.close()


def timed_run(wh, label: str) -> tuple[RunSummary, float, float]:
    """(summary, wall s, CPU s of the process and its children) of one `run_daily`."""
    t, c = time.perf_counter(), _cpu()
    run = run_daily(wh, say=lambda m: print(f"    {m}", flush=True))
    wall, cpu = time.perf_counter() - t, _cpu() - c
    print(f"  {label}: {run!r} in {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    if run.outcome == "failed":
        raise SystemExit(f"{label}: step {run.failed_step} failed: {run.message}")
    return run, wall, cpu


def step_seconds(run: RunSummary) -> dict[str, float]:
    return {s["step"]: (datetime.fromisoformat(s["ended"]) - datetime.fromisoformat(s["started"])).total_seconds()
            for s in run.steps if s["ended"]}


def _cpu() -> float:
    self_, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the workspace (its path is printed)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-bench-pipeline-"))
    root = init_workspace(tmp / "ws")
    with open(root / "aipl.toml", "a", encoding="utf-8") as f:
        f.write(TOML)
    (root / LANDING).mkdir(parents=True)
    wh = open_warehouse(root)
    t = time.perf_counter()
    generate(wh, args.events, args.consumers, args.brands, days=DAYS)
    wh.raw.execute(f"UPDATE events SET amount = {AMOUNT} WHERE event_type = 'purchase'")
    print(f"generated {args.events:,} events over {DAYS} days ({args.brands} brands) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    first, wall1, cpu1 = timed_run(wh, "first run")
    per_day = args.events // DAYS
    new_day(root / LANDING / "day-31.parquet", per_day, args.consumers, args.brands)
    daily, wall2, cpu2 = timed_run(wh, f"next day ({per_day:,} events in the landing folder)")
    idle, wall3, cpu3 = timed_run(wh, "nothing new")

    # checks: nothing lost, nothing doubled; the assets agree with plain SQL over the events
    count = wh.count("events")
    assert count == args.events + per_day, f"events after the daily run: {count:,}, not {args.events + per_day:,}"
    assert daily.outcome == "ok" and idle.outcome == "nothing", (daily.outcome, idle.outcome)
    last = START + timedelta(days=DAYS)
    assert str(wh.last_day()) == str(last), (wh.last_day(), last)
    mine = snapshot_all(wh, "brand", last).melt(id_vars="key", var_name="state", value_name="n").query("n > 0")
    ref = wh.raw.execute(SQL_SNAPSHOT.format(D=last)).df()
    got = sorted((k, s, int(n)) for k, s, n in mine.itertuples(index=False))
    want = sorted((k, s, int(n)) for k, s, n in ref.itertuples(index=False))
    assert got == want, f"the AIPL snapshot of {last} differs from plain SQL ({len(got)} vs {len(want)} rows)"
    print(f"checks: {count:,} events = {args.events:,} + {per_day:,}; AIPL counts of all {mine.key.nunique()} "
          f"brands on {last} agree with plain SQL")

    s1, s2, s3 = step_seconds(first), step_seconds(daily), step_seconds(idle)
    print(f"\nstep seconds ({args.events:,} events, {args.brands} brands, {args.consumers:,} consumers)")
    print(f"{'step':8} {'first run':>10} {'next day':>10} {'nothing new':>12} {'next/first':>11}")
    for name in STEPS:
        a, b, c = s1.get(name), s2.get(name), s3.get(name)
        ratio = f"{b / a:10.2f}x" if a and b is not None else ""
        print(f"{name:8} {a or 0:10.2f} {b or 0:10.2f} {'' if c is None else f'{c:12.2f}':>12} {ratio:>11}")
    print(f"{'total':8} {sum(s1.values()):10.2f} {sum(s2.values()):10.2f} {sum(s3.values()):12.2f} "
          f"{sum(s2.values()) / sum(s1.values()):10.2f}x")
    print(f"{'wall':8} {wall1:10.2f} {wall2:10.2f} {wall3:12.2f}")
    print(f"{'CPU':8} {cpu1:10.2f} {cpu2:10.2f} {cpu3:12.2f}")
    print("messages: " + "; ".join(f"{s['step']}: {s['message']}" for s in daily.steps))
    own, kids = (resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak RSS: {own:,.0f} MiB (the process), {kids:,.0f} MiB (its children)")
    wh.close()
    if args.keep:
        print(f"workspace kept: {root}")
    else:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
