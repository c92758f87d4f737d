"""The daily pipeline's step times (`aipl run daily`) on a workspace of N events: the first run (full asset build,
tags, CLV, plans, alerts, report), the next day (one day of events dropped in the landing folder as Parquet) and a
run with nothing new.

    python bench/pipeline.py [--events 10000000] [--consumers 1000000] [--brands 50] [--keep] [--json PATH]

Events are generated straight into a fresh warehouse by bench/assets.py's `generate` (UserBehavior shape, Zipf-like
consumers and brands) over 30 days, so the new day's N/30 rows are an average day; purchases get an amount so that
CLV has spend to fit. No campaigns are loaded, so the plans step has no plan to make (it still asks every brand).
The workspace declares a `[[pipeline.landing]]` glob and two alert rules (every brand). Checks: the events count
after the daily run is N + the day's rows, and every brand's AIPL counts on the last day equal bench/assets.py's
plain-SQL recomputation over the events (a mismatch exits 1). Prints each step's seconds (from the `runs` table)
and peak RSS (the process's high-water mark, reset as each step starts), the daily run's ratio to the first run,
wall and CPU seconds, and the peak RSS of the process and its children; `--json` writes them in bench/run.py's
format (the next day's steps with the first run's as baseline, each step against the 8 GiB cap of issue 23).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
from assets import START, generate, sql_snapshot
from common import cpu_seconds, hwm_gib, peak_rss_gib, reset_hwm, row, write_json

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


CAP_GIB = 8.0  # issue 23 item 8: every command under 8 GiB peak RSS at 100M events
STEP_START = re.compile(r"^\[\d+/\d+\] (\w+)$")


class StepCosts:
    """`run_daily`'s `say`: prints each message and keeps each step's peak RSS (GiB) and CPU seconds, read when
    the next step starts and at the end (the high-water mark is reset as each step starts)."""

    def __init__(self):
        self.peaks: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.step: str | None = None
        self.cpu0, self.hwm = 0.0, False

    def __call__(self, message: str) -> None:
        print(f"    {message}", flush=True)
        if m := STEP_START.match(message):
            self.close()
            self.step, self.hwm = m.group(1), reset_hwm()
            self.cpu0 = cpu_seconds()

    def close(self) -> None:
        if self.step is not None:
            self.cpu[self.step] = cpu_seconds() - self.cpu0
            if self.hwm and (peak := hwm_gib()) is not None:
                self.peaks[self.step] = peak
        self.step = None


def timed_run(wh, label: str) -> tuple[RunSummary, float, float, StepCosts]:
    """(summary, wall s, CPU s of the process and its children, each step's peak RSS and CPU) of one `run_daily`."""
    t, c = time.perf_counter(), cpu_seconds()
    peaks = StepCosts()
    run = run_daily(wh, say=peaks)
    peaks.close()
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    print(f"  {label}: {run!r} in {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    if run.outcome == "failed":
        raise SystemExit(f"{label}: step {run.failed_step} failed: {run.message}")
    return run, wall, cpu, peaks


def step_seconds(run: RunSummary) -> dict[str, float]:
    return {s["step"]: (datetime.fromisoformat(s["ended"]) - datetime.fromisoformat(s["started"])).total_seconds()
            for s in run.steps if s["ended"]}


def checks(wh, args, per_day: int, daily: RunSummary, idle: RunSummary) -> list[str]:
    """What is wrong with the workspace after the three runs: events lost or doubled, or AIPL counts that differ
    from plain SQL over the events (empty when all is right)."""
    count = wh.count("events")
    problems = [] if count == args.events + per_day else [
        f"events after the daily run: {count:,}, not {args.events + per_day:,}"]
    if (daily.outcome, idle.outcome) != ("ok", "nothing"):
        problems.append(f"outcomes {daily.outcome}, {idle.outcome}, not ok, nothing")
    last = START + timedelta(days=DAYS)
    if str(wh.last_day()) != str(last):
        problems.append(f"last day {wh.last_day()}, not {last}")
    mine = snapshot_all(wh, "brand", last).melt(id_vars="key", var_name="state", value_name="n").query("n > 0")
    got = sorted((k, s, int(n)) for k, s, n in mine.itertuples(index=False))
    want = sorted((k, s, int(n)) for k, s, n in sql_snapshot(wh, last))
    if got != want:
        problems.append(f"the AIPL snapshot of {last} differs from plain SQL ({len(got)} vs {len(want)} rows)")
    else:
        print(f"checks: {count:,} events = {args.events:,} + {per_day:,}; AIPL counts of all "
              f"{mine.key.nunique()} brands on {last} agree with plain SQL")
    return problems


def report_rows(runs: list[tuple[str, RunSummary, float, float, StepCosts]]) -> list[dict]:
    """The `--json` rows: every step of every run with its peak RSS; the later runs' steps against the first's."""
    cap = f"peak RSS <= {CAP_GIB:g} GiB"
    (_, first, wall1, _, _), out = runs[0], []
    s1 = step_seconds(first)
    for label, run, wall, cpu, costs in runs:
        secs = step_seconds(run)
        for name in STEPS:
            if name in secs:
                peak, base = costs.peaks.get(name), s1.get(name) if run is not first else None
                out.append(row(f"{label}: {name}", secs[name], f"first run: {name}" if base else None, base,
                               cap if peak is not None else None, None if peak is None else peak <= CAP_GIB, peak,
                               costs.cpu.get(name)))
        out.append(row(f"{label}: total", wall, "first run: total" if run is not first else None,
                       wall1 if run is not first else None, cpu_seconds=cpu))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the workspace (its path is printed)")
    ap.add_argument("--json", help="write the results here in bench/run.py's format")
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

    first, wall1, cpu1, costs1 = timed_run(wh, "first run")
    per_day = args.events // DAYS
    new_day(root / LANDING / "day-31.parquet", per_day, args.consumers, args.brands)
    daily, wall2, cpu2, costs2 = timed_run(wh, f"next day ({per_day:,} events in the landing folder)")
    idle, wall3, cpu3, costs3 = timed_run(wh, "nothing new")
    # checks: nothing lost, nothing doubled; the assets agree with plain SQL over the events
    problems = checks(wh, args, per_day, daily, idle)

    s1, s2, s3 = step_seconds(first), step_seconds(daily), step_seconds(idle)
    print(f"\nstep seconds ({args.events:,} events, {args.brands} brands, {args.consumers:,} consumers); "
          "CPU seconds and peak RSS GiB of each step")
    print(f"{'step':8} {'first run':>10} {'next day':>10} {'nothing new':>12} {'next/first':>11} "
          f"{'CPU first':>10} {'CPU next':>9} {'GiB first':>10} {'GiB next':>9}")
    nan = float("nan")
    for name in STEPS:
        a, b, c = s1.get(name), s2.get(name), s3.get(name)
        ratio = f"{b / a:10.2f}x" if a and b is not None else ""
        print(f"{name:8} {a or 0:10.2f} {b or 0:10.2f} {'' if c is None else f'{c:12.2f}':>12} {ratio:>11} "
              f"{costs1.cpu.get(name, nan):10.2f} {costs2.cpu.get(name, nan):9.2f} "
              f"{costs1.peaks.get(name, nan):10.2f} {costs2.peaks.get(name, nan):9.2f}")
    print(f"{'total':8} {sum(s1.values()):10.2f} {sum(s2.values()):10.2f} {sum(s3.values()):12.2f} "
          f"{sum(s2.values()) / sum(s1.values()):10.2f}x")
    print(f"{'wall':8} {wall1:10.2f} {wall2:10.2f} {wall3:12.2f}")
    print(f"{'CPU':8} {cpu1:10.2f} {cpu2:10.2f} {cpu3:12.2f}")
    print("messages: " + "; ".join(f"{s['step']}: {s['message']}" for s in daily.steps))
    own, kids = peak_rss_gib(), peak_rss_gib(resource.RUSAGE_CHILDREN)
    print(f"peak RSS: {own:.2f} GiB (the process), {kids:.2f} GiB (its children)")
    runs = [("first run", first, wall1, cpu1, costs1), ("next day", daily, wall2, cpu2, costs2),
            ("nothing new", idle, wall3, cpu3, costs3)]
    write_json(args.json, "pipeline", vars(args), report_rows(runs), ok=not problems)
    wh.close()
    if args.keep:
        print(f"workspace kept: {root}")
    else:
        shutil.rmtree(tmp)
    if problems:
        raise SystemExit("CHECK FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
