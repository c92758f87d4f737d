"""Crowd tags and bitmaps: aipl's own `refresh` (a full build, a refresh touching 1 % of consumers, the next day,
and one with nothing new), then crowd counts on the bitmaps it built against the same WHERE clause in DuckDB SQL,
in one run.

    python bench/crowds.py [--events 10000000] [--consumers 1000000] [--brands 50] [--repeat 3] [--json PATH]

A fresh workspace gets `--consumers` profiles (every consumer: gender, birth year, city tier, purchasing power,
occupation, life stage), `--events` events over 60 days (bench/assets.py's UserBehavior shape: Zipf-like
consumers and brands, 50 categories; purchases have an amount), memberships for 1 % of consumers, each load
recorded as a batch; the asset intervals are built first (their own benchmark, bench/assets.py). The events end
at noon of the last day, so that a later batch of that day is new data for the same tag day.

Timed, each `--repeat` times (the median): the full build (the tag tables and the consumer dictionary dropped
first); a refresh after a batch of events from 1 % of consumers on the tag day; a refresh to the next day after
a day of events from 1 % of consumers (every buyer's recency moves, and the consumers whose events leave the
30-day window are recomputed too); a refresh with nothing new. Checks, before any figure is printed: every
stored bitmap holds exactly the ids of its (tag, key, value) in `consumer_tags` (count, sum, sum of squares, min
and max of the ids), the bitmaps after the incremental refreshes equal a full rebuild at the same day, and each
crowd's count on the bitmaps equals DuckDB's over a wide table of the same tags. A mismatch exits 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np

from aipl.assets import ensure_built
from aipl.audience import TagIndex, parse, refresh
from aipl.config import init_workspace
from aipl.warehouse import open_warehouse

START = date(2026, 8, 1)
DAYS = 60
DAY = START + timedelta(days=DAYS - 1)  # the tag day: events end at its noon
CROWDS = [
    'city_tier in (3, 4, 5, 6) and age between 18 and 30 and active_days_30d >= 3',
    'gender = "F" and age between 25 and 35 and city_tier <= 3 and purchasing_power >= 4',
    'city_tier in (3, 4, 5, 6) and age between 18 and 30 and active_days_30d >= 3 and not aipl(brand="b1") = "P"',
    '(strategy_crowd = "gen_z" or strategy_crowd = "rookie_white_collar") and aipl(brand="b1") in ("A", "I") '
    'and recency_days < 30',
    'gender = "M" and age >= 50 and city_tier >= 4 and purchasing_power <= 2 minus aipl(brand="b1") = "L"',
]
SQL = [
    "city_tier IN (3,4,5,6) AND age BETWEEN 18 AND 30 AND active_days_30d >= 3",
    "gender = 'F' AND age BETWEEN 25 AND 35 AND city_tier <= 3 AND purchasing_power >= 4",
    "city_tier IN (3,4,5,6) AND age BETWEEN 18 AND 30 AND active_days_30d >= 3 AND aipl IS DISTINCT FROM 'P'",
    "strategy_crowd IN ('gen_z', 'rookie_white_collar') AND aipl IN ('A', 'I') AND recency_days < 30",
    "gender = 'M' AND age >= 50 AND city_tier >= 4 AND purchasing_power <= 2 AND aipl IS DISTINCT FROM 'L'",
]
WIDE = """CREATE OR REPLACE TABLE _wide AS SELECT i.id,
  max(value) FILTER (WHERE tag = 'gender') AS gender, max(num) FILTER (WHERE tag = 'age') AS age,
  max(num) FILTER (WHERE tag = 'city_tier') AS city_tier,
  max(num) FILTER (WHERE tag = 'purchasing_power') AS purchasing_power,
  max(num) FILTER (WHERE tag = 'active_days_30d') AS active_days_30d,
  max(num) FILTER (WHERE tag = 'recency_days') AS recency_days,
  max(value) FILTER (WHERE tag = 'strategy_crowd') AS strategy_crowd,
  max(value) FILTER (WHERE tag = 'aipl' AND key = 'b1') AS aipl
FROM consumer_ids i LEFT JOIN consumer_tags t USING (id) GROUP BY i.id"""


def events_sql(n: int, consumers: int, brands: int, seed: int, start: datetime, seconds: int, share: float = 1.0
               ) -> str:
    """n events from `start` over `seconds`; with `share` < 1, from that share of the consumers only (drawn
    uniformly), else Zipf-like as in bench/assets.py."""
    who = (f"(hash(i + 11) % {max(1, int(consumers * share))}) * {int(1 / share)}" if share < 1
           else f"floor(pow({consumers}, (hash(i) % 1000000) / 1000000.0))::BIGINT")
    return f"""
        INSERT INTO events (consumer_id, brand_id, category_id, event_type, ts, amount)
        SELECT 'c' || ({who}), 'b' || (floor(pow({brands}, (hash(i + 7) % 1000000) / 1000000.0)))::BIGINT,
               'cat' || (hash(i + 9) % 50), et, ts,
               CASE WHEN et = 'purchase' THEN (5 + hash(i + 13) % 300)::DOUBLE END
        FROM (SELECT i, CASE WHEN r < 0.8972 THEN 'pdp_view' WHEN r < 0.9525 THEN 'add_to_cart'
                             WHEN r < 0.9814 THEN 'favorite' ELSE 'purchase' END AS et,
                     TIMESTAMPTZ '{start.isoformat()}' + to_seconds((hash(i + 3) % {seconds})::BIGINT) AS ts
              FROM (SELECT i, (hash(i + 5) % 1000000) / 1000000.0 AS r
                    FROM range({seed}::BIGINT * 1000000007, {seed}::BIGINT * 1000000007 + {n}) t(i)))
    """


def batch(wh, name: str, target: str, rows: int) -> None:
    wh.con.insert("batches", ibis.memtable({
        "batch_id": [name], "format": [target], "source": ["bench"], "target": [target], "read": [rows],
        "accepted": [rows], "rejected": [0], "loaded_at": [datetime.now(UTC)],
    }).cast(wh.table("batches").schema()))


def generate(wh, events: int, consumers: int, brands: int) -> None:
    wh.raw.execute(f"""
        INSERT INTO consumers SELECT 'c' || i, ['F', 'M', 'U'][1 + (h % 100 >= 55)::INT + (h % 100 >= 98)::INT],
            1946 + hash(i + 1) % 62, 1 + hash(i + 2) % 6, 1 + hash(i + 3) % 5,
            ['white_collar', 'blue_collar', 'service', 'student', 'civil_servant', 'other'][(1 + hash(i + 4) % 6)::INT],
            ['single', 'married', 'pregnant', 'parent', 'retired'][(1 + hash(i + 5) % 5)::INT]
        FROM (SELECT i, hash(i) AS h FROM range({consumers}) t(i))""")
    batch(wh, "profiles", "consumers", consumers)
    start = datetime.combine(START, datetime.min.time(), wh.config.tz)
    wh.raw.execute(events_sql(events, consumers, brands, 0, start, (DAYS - 1) * 86400 + 43200))
    batch(wh, "events", "events", events)
    wh.raw.execute(f"""
        INSERT INTO members (consumer_id, brand_id, shop_id, joined_at, status)
        SELECT 'c' || i, 'b' || (1 + hash(i + 6) % {brands}), 's' || (1 + hash(i + 6) % {brands}),
               TIMESTAMPTZ '{start.isoformat()}' + to_seconds((hash(i + 7) % ({DAYS} * 86400))::BIGINT), 'active'
        FROM range({consumers}) t(i) WHERE hash(i + 8) % 100 = 0""")
    batch(wh, "members", "members", wh.count("members"))


def one_percent(wh, args, k: int, day: date, hour: int) -> None:
    """A batch of events from 1 % of the consumers on `day`, from `hour` on (about their share of a day's events)."""
    start = datetime.combine(day, datetime.min.time(), wh.config.tz) + timedelta(hours=hour)
    n = max(100, args.events // DAYS // 10)
    wh.raw.execute(events_sql(n, args.consumers, args.brands, 100 + k, start, 3600, share=0.01))
    batch(wh, f"one-percent-{k}", "events", n)


def drop_tags(wh, ids: bool) -> None:
    for t in ("consumer_tags", "tag_bitmaps", "tag_meta", *(("consumer_ids",) if ids else ())):
        wh.drop_table(t)


def median(fn, repeat: int, before=None) -> tuple[float, list]:
    times, outs = [], []
    for k in range(repeat):
        if before:
            before(k)
        t = time.perf_counter()
        outs.append(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times), outs


def check_bitmaps(wh) -> str | None:
    """None when every stored bitmap holds exactly its rows' ids in consumer_tags, else what differs."""
    index = TagIndex.load(wh)
    mine = {}
    for (tag, key), values in index.bitmaps.items():
        for v, bm in values.items():
            a = np.asarray(bm.to_array() if hasattr(bm, "to_array") else list(bm), dtype=np.uint64)
            # the sum of squares modulo 2^64 (numpy's unsigned arithmetic wraps; the SQL side takes the same modulus)
            mine[(tag, key or "", str(v))] = (len(a), int(a.sum()), int((a * a).sum(dtype=np.uint64)), int(a.min()),
                                              int(a.max()))
    ref = wh.raw.execute("""SELECT tag, coalesce(key, ''), value, count(*), sum(id),
        (sum(id::HUGEINT * id) % 18446744073709551616)::UBIGINT, min(id), max(id)
        FROM consumer_tags GROUP BY ALL""").fetchall()
    theirs = {(t, k, v): (int(n), int(s), int(q), int(lo), int(hi)) for t, k, v, n, s, q, lo, hi in ref}
    if mine == theirs:
        return None
    bad = sorted(set(mine) ^ set(theirs)) or sorted(k for k in mine if mine[k] != theirs[k])
    return f"{len(bad)} bitmaps differ from consumer_tags, e.g. {bad[:3]}"


def same_bitmaps(a: TagIndex, b: TagIndex) -> bool:
    return a.bitmaps.keys() == b.bitmaps.keys() and all(
        a.bitmaps[k].keys() == b.bitmaps[k].keys() and all(a.bitmaps[k][v] == b.bitmaps[k][v] for v in a.bitmaps[k])
        for k in a.bitmaps)


def reach(outs: list, consumers: int) -> str:
    """How many consumers' tags the refreshes recomputed and changed (medians), as text with their shares."""
    rec, chg = (statistics.median(o[k] for o in outs) for k in ("recomputed", "changed"))
    return (f"tags of {rec:,.0f} consumers recomputed ({100 * rec / consumers:.1f} %), "
            f"{chg:,.0f} changed ({100 * chg / consumers:.1f} %)")


def row(step, seconds, baseline=None, baseline_s=None, target=None, met=None, rss=None) -> dict:
    return {"step": step, "seconds": round(seconds, 7), "baseline": baseline,
            "baseline_seconds": None if baseline_s is None else round(baseline_s, 7),
            "ratio": None if baseline_s is None else round(seconds / baseline_s, 4), "target": target, "met": met,
            "peak_rss_gib": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--crowd-repeat", type=int, default=15, help="runs per crowd count (median)")
    ap.add_argument("--json", type=Path, help="write the figures here (bench/run.py's format)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-bench-crowds-"))
    wh = open_warehouse(init_workspace(tmp / "ws"))
    failures: list[str] = []
    try:
        t = time.perf_counter()
        generate(wh, args.events, args.consumers, args.brands)
        print(f"generated {args.consumers:,} profiles and {wh.count('events'):,} events in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        ensure_built(wh)
        print(f"asset intervals (one-off, bench/assets.py's subject): {time.perf_counter() - t:.1f} s", flush=True)

        full, outs = median(lambda: refresh(wh, DAY), args.repeat, before=lambda k: drop_tags(wh, ids=True))
        n_ids, n_rows, n_maps = wh.count("consumer_ids"), wh.count("consumer_tags"), wh.count("tag_bitmaps")
        rss_full = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"full build: {full:.2f} s ({n_ids:,} consumers, {n_rows:,} tag rows, {n_maps:,} bitmaps)", flush=True)
        if (bad := check_bitmaps(wh)) is not None:
            failures.append(f"full build: {bad}")

        nothing, outs = median(lambda: refresh(wh, DAY), args.repeat)
        if any(o.bitmaps_rewritten for o in outs):
            failures.append("nothing new: bitmaps were rewritten")
        print(f"nothing new: {nothing:.3f} s", flush=True)

        def add_same_day(k: int) -> None:
            one_percent(wh, args, k, DAY, 12 + k)
            ensure_built(wh)  # the assets step of the daily run comes first

        same, outs = median(lambda: refresh(wh, DAY), args.repeat, before=add_same_day)
        same_share = reach(outs, n_ids)
        print(f"1 % of consumers, same day: {same:.2f} s ({statistics.median(o.bitmaps_rewritten for o in outs):,.0f}"
              f" bitmaps rewritten of {wh.count('tag_bitmaps'):,}; {same_share})", flush=True)
        if (bad := check_bitmaps(wh)) is not None:
            failures.append(f"1 % same day: {bad}")

        def add_next_day(k: int) -> None:
            one_percent(wh, args, 10 + k, DAY + timedelta(days=k + 1), 1)
            ensure_built(wh)

        days = iter(range(1, args.repeat + 1))
        nxt, outs = median(lambda: refresh(wh, DAY + timedelta(days=next(days))), args.repeat, before=add_next_day)
        last = DAY + timedelta(days=args.repeat)
        next_share = reach(outs, n_ids)
        print(f"next day, 1 % of consumers active: {nxt:.2f} s "
              f"({statistics.median(o.bitmaps_rewritten for o in outs):,.0f} bitmaps rewritten; {next_share})",
              flush=True)
        if (bad := check_bitmaps(wh)) is not None:
            failures.append(f"next day: {bad}")
        incremental = TagIndex.load(wh)
        drop_tags(wh, ids=False)
        refresh(wh, last)
        if not same_bitmaps(incremental, TagIndex.load(wh)):
            failures.append("the bitmaps after the incremental refreshes differ from a full rebuild")

        index = TagIndex.load(wh)
        wh.raw.execute(WIDE)
        crowd_rows = []
        for text, where in zip(CROWDS, SQL, strict=True):
            tree = parse(text)
            ours, got = median(lambda tree=tree: index.count(tree), args.crowd_repeat)
            sql, want = median(lambda where=where: wh.raw.execute(
                f"SELECT count(*) FROM _wide WHERE {where}").fetchone()[0], args.crowd_repeat)
            if got[-1] != want[-1]:
                failures.append(f"crowd count differs: {text}: bitmaps {got[-1]}, SQL {want[-1]}")
            crowd_rows.append(row(f"crowd count: {text}", ours, "DuckDB SQL over a wide table", sql))
            print(f"  {1000 * ours:7.2f} ms bitmap, {1000 * sql:7.2f} ms DuckDB SQL ({sql / ours:5.1f}x), "
                  f"{got[-1]:>10,} consumers: {text}", flush=True)
    finally:
        wh.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
    ok = not failures
    rows = [
        row(f"full build of tags and bitmaps ({n_ids:,} consumers, {args.events:,} events)", full,
            target="≤ 15 s at 10M consumers", met=full <= 15 if n_ids >= 10_000_000 else None, rss=round(rss_full, 3)),
        row("refresh: 1 % of consumers, same day", same, "full build", full, "≤ 0.10", same / full <= 0.10),
        row("refresh: next day, 1 % of consumers active", nxt, "full build", full, "≤ 0.10", nxt / full <= 0.10),
        row("refresh: nothing new", nothing, target="< 1 s", met=nothing < 1),
        *crowd_rows,
    ]
    print(f"\nfull build {full:.2f} s; 1 % same day {same:.2f} s = {same / full:.3f}x ({same_share}); next day "
          f"{nxt:.2f} s = {nxt / full:.3f}x ({next_share}); nothing new {nothing:.3f} s; crowd counts: median "
          f"{statistics.median(r['baseline_seconds'] / r['seconds'] for r in crowd_rows):.1f}x faster than SQL")
    if args.json:
        args.json.write_text(json.dumps({"bench": "crowds", "args": vars(args) | {"json": str(args.json)},
                                         "rows": rows, "ok": ok}, indent=1, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
