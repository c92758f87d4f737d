"""Consumer-asset speed: every brand's AIPL counts for one day and a 30-day daily series, from aipl's condition
intervals against a plain-SQL query over the events, a pandas version, and DuckDB's bare scan (the floor).

    python bench/assets.py [--events 100000000] [--consumers 1000000] [--brands 20000] [--repeat 3] [--no-pandas]

Events are generated straight into a fresh warehouse (UserBehavior shape: Taobao's pv/cart/fav/buy mix,
Zipf-like consumers and brands, 60 days). The one-off interval build is timed too, and so is the incremental
update for one more day, against two floors measured in the same run: the least a day costs in any store kept
in the backend (`day_floor`), and the update's core in its leanest form (`day_core`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
from common import timed

from aipl.assets import AssetRules, build, snapshot_all, update
from aipl.assets.live import LIVE, look_backs, pair_ids
from aipl.assets.rules import CONDITIONS
from aipl.config import init_workspace
from aipl.warehouse import open_warehouse

START = date(2017, 10, 5)
ET = {"pdp_view": 1, "add_to_cart": 2, "favorite": 3, "purchase": 4}  # event-type codes for pandas
DAYS = 60


def generate(wh, events: int, consumers: int, brands: int, first_day: int = 0, days: int = DAYS) -> None:
    wh.raw.execute(f"""
        INSERT INTO events (consumer_id, brand_id, category_id, event_type, ts)
        SELECT 'c' || (floor(pow({consumers}, (hash(i) % 1000000) / 1000000.0)))::BIGINT,
               'b' || (floor(pow({brands}, (hash(i + 7) % 1000000) / 1000000.0)))::BIGINT,
               'cat' || (hash(i + 9) % 50),
               CASE WHEN r < 0.8972 THEN 'pdp_view' WHEN r < 0.9525 THEN 'add_to_cart'
                    WHEN r < 0.9814 THEN 'favorite' ELSE 'purchase' END,
               TIMESTAMPTZ '{START} 00:00:00+08'
                 + to_seconds(({first_day} * 86400 + hash(i + 3) % ({days} * 86400))::BIGINT)
        FROM (SELECT i, (hash(i + 5) % 1000000) / 1000000.0 AS r
              FROM range({first_day}::BIGINT * 1000000007, {first_day}::BIGINT * 1000000007 + {events}) t(i))
    """)


SQL_SNAPSHOT = """
SELECT brand_id, state, count(*) AS n FROM (
  SELECT brand_id, consumer_id,
    CASE WHEN count(DISTINCT d) FILTER (WHERE et = 'purchase' AND d > DATE '{D}' - 365) >= 2 THEN 'L'
         WHEN bool_or(et = 'purchase') THEN 'P'
         WHEN bool_or(et IN ('add_to_cart', 'favorite') AND d > DATE '{D}' - 15)
              OR count(DISTINCT d) FILTER (WHERE et = 'pdp_view' AND d > DATE '{D}' - 15) >= 2 THEN 'I'
         WHEN bool_or(d > DATE '{D}' - 15) THEN 'A' END AS state
  FROM (SELECT brand_id, consumer_id, event_type AS et, (ts AT TIME ZONE 'Asia/Shanghai')::DATE AS d FROM events)
  WHERE d <= DATE '{D}' AND d > DATE '{D}' - 913
  GROUP BY 1, 2
) WHERE state IS NOT NULL GROUP BY 1, 2
"""


def pandas_snapshot(df: pd.DataFrame, d: date) -> pd.DataFrame:
    day = pd.Timestamp(d)
    x = df[(df.d <= day) & (df.d > day - pd.Timedelta(days=913))]
    recent = x.d > day - pd.Timedelta(days=15)
    buy = x.et == ET["purchase"]
    g = pd.DataFrame({
        "b": x.b, "c": x.c,
        "buy_days_l": x.d.where(buy & (x.d > day - pd.Timedelta(days=365))),
        "buy": buy, "intent": x.et.isin([ET["add_to_cart"], ET["favorite"]]) & recent,
        "view_days": x.d.where((x.et == ET["pdp_view"]) & recent), "recent": recent,
    }).groupby(["b", "c"], observed=True).agg(
        buy_days_l=("buy_days_l", "nunique"), buy=("buy", "any"), intent=("intent", "any"),
        view_days=("view_days", "nunique"), recent=("recent", "any"))
    state = pd.Series(None, index=g.index, dtype=object)
    state[g.recent] = "A"
    state[g.intent | (g.view_days >= 2)] = "I"
    state[g.buy] = "P"
    state[g.buy_days_l >= 2] = "L"
    return state.dropna().reset_index().groupby(["b", 0]).size()



def day_floor(wh, since: datetime, touched: int, stored: int, repeat: int) -> tuple[float, float, float]:
    """(group s, probe s, write s): the least an incremental day costs in any store kept in the backend: the
    distinct (brand, consumer) and (category, consumer) pairs of the events since `since`; a semi-join of `touched`
    int64 keys against `stored` int64 keys (count only); `touched` rows of (key, four dates) appended and committed.
    The keys are random ints, so the probe is the keyed lookup alone, without strings."""
    group, _ = timed(lambda: wh.raw.execute(
        "SELECT (SELECT count(*) FROM (SELECT DISTINCT brand_id, consumer_id FROM events WHERE ts >= $1)) + "
        "(SELECT count(*) FROM (SELECT DISTINCT category_id, consumer_id FROM events WHERE ts >= $1))",
        [since]).fetchall(), repeat)
    wh.raw.execute(f"CREATE OR REPLACE TABLE _floor_state AS SELECT i AS pid, DATE '2017-10-05' + (i % 60)::INTEGER AS "
                   f"d0, d0 + 1 AS d1, d0 + 2 AS d2, d0 + 3 AS d3 FROM range({stored}) t(i)")
    wh.raw.execute(f"CREATE OR REPLACE TEMP TABLE _floor_touched AS SELECT DISTINCT (hash(i) % {stored})::BIGINT "
                   f"AS pid FROM range({touched}) t(i)")
    wh.raw.execute("CHECKPOINT")
    probe, _ = timed(lambda: wh.raw.execute(
        "SELECT count(*) FROM _floor_state SEMI JOIN _floor_touched USING (pid)").fetchall(), repeat)

    def write() -> None:
        wh.raw.execute("BEGIN")
        wh.raw.execute("INSERT INTO _floor_state SELECT pid, DATE '2017-12-04', DATE '2017-12-04', DATE '2017-12-04', "
                       "DATE '2017-12-04' FROM _floor_touched")
        wh.raw.execute("COMMIT")

    write_s, _ = timed(write, repeat)
    wh.raw.execute("DROP TABLE _floor_state")
    wh.raw.execute("DROP TABLE _floor_touched")
    return group, probe, write_s


def day_core(wh, since: datetime, repeat: int) -> tuple[float, float, float]:
    """(facts s, join s, write s): the incremental day's core in its leanest form, on the events since `since`
    and a narrow copy of the live store. The day's pairs (both scopes) with their local day and four fact flags
    but no touchpoint; their old state (the seven conditions' ends and the last day of each look-back list) by
    the live store's 128-bit key; then their old rows deleted and new ones appended in one committed transaction.
    It leaves out what the update must also do: touchpoints, interval starts, the count changes, the closed
    intervals and the rows that leave the store."""
    rules = AssetRules.of(wh.config)
    ends = [f'"{c}_end"' for c in CONDITIONS]
    lasts = [f"{lb.column}[-1] AS last_{lb.column}" for lb in look_backs(rules)]
    wh.raw.execute(f"CREATE OR REPLACE TABLE _core_state AS SELECT pid, pid2, {', '.join(ends + lasts)}, keep_until "
                   f"FROM {LIVE}")
    wh.raw.execute("CHECKPOINT")
    ev = wh.table("events")
    new = ev.filter(ev.ts >= ibis.literal(since.astimezone(UTC)))
    parts = []
    for scope, key in (("brand", new.brand_id), ("category", new.category_id)):
        t = new.mutate(scope=ibis.literal(scope), key=key, day=wh.local_day(new.ts)).filter(lambda x: x.key.notnull())
        et = t.event_type
        parts.append(t.group_by(["scope", "key", "consumer_id", "day"]).aggregate(
            **{c: et.isin(list(getattr(rules, c))).any() for c in ("browse", "active", "purchase", "advocacy")}))
    facts = ibis.union(*parts, distinct=False)
    facts = facts.mutate(**pair_ids(facts)).drop("scope", "key", "consumer_id")
    facts_sql = ibis.to_sql(facts, dialect="duckdb")
    times: list[tuple[float, float, float]] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        wh.raw.execute(f"CREATE OR REPLACE TEMP TABLE _core_facts AS {facts_sql}")
        t1 = time.perf_counter()
        wh.raw.execute("CREATE OR REPLACE TEMP TABLE _core_old AS SELECT o.rowid AS _rid, f.*, o.* EXCLUDE (pid, pid2) "
                       "FROM _core_facts AS f LEFT JOIN _core_state AS o USING (pid, pid2)")
        t2 = time.perf_counter()
        wh.raw.execute("BEGIN")
        wh.raw.execute("DELETE FROM _core_state WHERE rowid IN (SELECT _rid FROM _core_old)")
        wh.raw.execute(f"INSERT INTO _core_state SELECT pid, pid2, {', '.join(ends)}, "
                       f"{', '.join(f'last_{lb.column}' for lb in look_backs(rules))}, "
                       f"greatest(keep_until, day + {rules.interest_days}) FROM _core_old")
        wh.raw.execute("COMMIT")
        times.append((t1 - t0, t2 - t1, time.perf_counter() - t2))
    for name in ("_core_facts", "_core_old"):
        wh.raw.execute(f"DROP TABLE {name}")
    wh.raw.execute("DROP TABLE _core_state")
    return tuple(statistics.median(x[i] for x in times) for i in range(3))  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pandas", action="store_true", help="skip pandas (it needs the events in memory)")
    ap.add_argument("--sql-series-days", type=int, default=30,
                    help="time plain SQL on this many of the 30 days and scale up (labelled as such)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-bench-assets-"))
    wh = open_warehouse(init_workspace(tmp / "ws"))
    t = time.perf_counter()
    generate(wh, args.events, args.consumers, args.brands)
    print(f"generated {args.events:,} events in {time.perf_counter() - t:.1f} s")
    d = START + timedelta(days=DAYS - 1)

    floor, _ = timed(lambda: wh.raw.execute(
        "SELECT sum(hash(consumer_id, brand_id, event_type, ts)) FROM events").fetchall(), args.repeat)
    print(f"floor (bare scan of 4 columns): {floor:.2f} s", flush=True)
    t = time.perf_counter()
    rows = build(wh, AssetRules.of(wh.config))
    build_s = time.perf_counter() - t
    print(f"one-off interval build: {build_s:.1f} s ({', '.join(f'{k} {v:,}' for k, v in rows.items())} intervals)",
          flush=True)

    ours, snap = timed(lambda: snapshot_all(wh, "brand", d), args.repeat)
    print(f"aipl snapshot: {ours:.2f} s", flush=True)
    sql, ref = timed(lambda: wh.raw.execute(SQL_SNAPSHOT.format(D=d)).df(), args.repeat)
    print(f"plain SQL snapshot: {sql:.2f} s", flush=True)
    mine = snap.melt(id_vars="key", var_name="state", value_name="n").query("n > 0")
    agree = (mine.set_index(["key", "state"]).n.sort_index()
             == ref.set_index(["brand_id", "state"]).n.sort_index()).all() and len(mine) == len(ref)
    pd_s, pd_agree = float("nan"), None
    if not args.no_pandas:
        # integer codes (the generated ids are 'b<n>' and 'c<n>'): 100M Python strings would not fit in memory
        codes = " ".join(f"WHEN '{k}' THEN {v}" for k, v in ET.items())
        df = wh.raw.execute(
            "SELECT substr(brand_id, 2)::INTEGER AS b, substr(consumer_id, 2)::INTEGER AS c, "
            f"(CASE event_type {codes} END)::TINYINT AS et, "
            "(ts AT TIME ZONE 'Asia/Shanghai')::DATE AS d FROM events").df()
        df["d"] = pd.to_datetime(df.d)
        pd_s, pd_res = timed(lambda: pandas_snapshot(df, d), 1)
        del df
        pd_agree = sorted((f"b{b}", st, int(n)) for (b, st), n in pd_res.items()) == sorted(
            (k, st, int(n)) for k, st, n in mine.itertuples(index=False))
    series_days = [d - timedelta(days=k) for k in range(30)]
    ours30, _ = timed(lambda: [snapshot_all(wh, "brand", x) for x in series_days], 1)
    sample = series_days[: max(1, min(30, args.sql_series_days))]
    sql_part, _ = timed(lambda: [wh.raw.execute(SQL_SNAPSHOT.format(D=x)).fetchall() for x in sample], 1)
    sql30 = sql_part * 30 / len(sample)

    print(f"\nevery brand's AIPL counts for {d} ({len(snap):,} brands; results agree with plain SQL: {agree}, "
          f"with pandas: {pd_agree})")
    print(f"{'method':34} {'median s':>9}")
    for name, v in (("aipl (intervals)", ours), ("plain SQL over events", sql), ("pandas", pd_s),
                    ("floor: bare scan of 4 columns", floor)):
        print(f"{name:34} {v:9.2f}")
    print(f"ratios: aipl is {sql / ours:.1f}x plain SQL, {pd_s / ours:.1f}x pandas, {ours / floor:.2f}x the floor")
    scaled = "" if len(sample) == 30 else f" (timed on {len(sample)} days, scaled to 30)"
    print(f"\n30-day daily series: aipl {ours30:.1f} s, plain SQL {sql30:.1f} s{scaled} ({sql30 / ours30:.1f}x)")
    # one more day of events, loaded as a batch, then the incremental update
    per_day = args.events // DAYS
    generate(wh, per_day, args.consumers, args.brands, first_day=DAYS, days=1)
    wh.con.insert("batches", ibis.memtable({
        "batch_id": ["new-day"], "format": ["events"], "source": ["bench"], "target": ["events"], "read": [per_day],
        "accepted": [per_day], "rejected": [0], "loaded_at": [datetime.now(UTC)],
    }).cast(wh.table("batches").schema()))
    first_new = START + timedelta(days=DAYS)
    # the pairs whose state can still change on the new day (the live store): the least any keyed store must hold
    open_pairs = wh.count("asset_live")
    inc, done = timed(lambda: update(wh, AssetRules.of(wh.config)), 1)
    print(f"incremental update for one new day ({per_day:,} events): {inc:.2f} s "
          f"({build_s / inc:.0f}x faster than the full build)")
    if "touched" not in done:
        raise SystemExit(f"the update fell back to a full build ({done}); no incremental figure")
    ckpt, _ = timed(lambda: wh.raw.execute("CHECKPOINT"), 1)
    print(f"the checkpoint after it (DuckDB compacts the day's deletes and appends into its file; it runs on its "
          f"own when the log grows, or on close): {ckpt:.2f} s; update + checkpoint {inc + ckpt:.2f} s")
    midnight = datetime.combine(first_new, datetime.min.time(), wh.config.tz)
    group, probe, write = day_floor(wh, midnight, done["touched"], open_pairs, args.repeat)
    floor_day = group + probe + write
    print(f"floor for one new day in any store kept in the backend: its events' distinct pairs {group:.2f} s + "
          f"finding its {done['touched']:,} pairs among the {open_pairs:,} whose state can still change (of "
          f"{sum(rows.values()):,} intervals) by int64 key {probe:.2f} s + writing as many rows of state {write:.2f} s"
          f" = {floor_day:.2f} s; the update is {inc / floor_day:.1f}x that floor")
    facts, join, write = day_core(wh, midnight, args.repeat)
    core = facts + join + write
    print(f"the update's core in its leanest form (no touchpoints, starts, count changes or closed intervals): "
          f"the day's facts {facts:.2f} s + the old state of its pairs {join:.2f} s + deleting and appending their "
          f"narrow rows {write:.2f} s = {core:.2f} s; the update is {inc / core:.1f}x that core")
    wh.close()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
