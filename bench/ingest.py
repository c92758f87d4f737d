"""Ingestion throughput: aipl's validated load of a UserBehavior-format file against two baselines, in one run.

    python bench/ingest.py [--rows 10000000] [--repeat 3] [--file PATH] [--keep]

Baselines (no validation, no line numbers, no quarantine, no duplicate check): pandas `read_csv` + insert
into DuckDB, DuckDB's bare typed `read_csv` into a table of integers, and the same read mapped into the
canonical `events` table (string ids, the event-type recoding, 15 columns): what storing the rows alone
costs. Prints medians (rows/s) and the ratios of aipl to each.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse

COLS = {"user_id": "BIGINT", "item_id": "BIGINT", "category_id": "BIGINT", "behavior_type": "VARCHAR",
        "timestamp": "BIGINT"}


def make_file(path: Path, rows: int) -> None:
    """UserBehavior shape: Zipf-like users, Taobao's pv/cart/fav/buy mix, 0.01 % out-of-window, 0.01 % repeats."""
    duckdb.sql(f"""
        COPY (
          SELECT 1 + floor(pow(1000000, (h1 % 1000000) / 1000000.0))::BIGINT AS user_id,
                 h2 % 4000000 AS item_id, h3 % 9000 AS category_id,
                 CASE WHEN r < 0.8972 THEN 'pv' WHEN r < 0.9525 THEN 'cart' WHEN r < 0.9814 THEN 'fav' ELSE 'buy' END,
                 CASE WHEN k % 10000 = 3 THEN 1505117799 ELSE 1511539200 + h4 % 777600 END AS ts
          FROM (
            SELECT k, hash(k) AS h1, hash(k + 1) AS h2, hash(k + 2) AS h3, hash(k + 3) AS h4,
                   (hash(k + 4) % 1000000) / 1000000.0 AS r
            FROM (SELECT CASE WHEN i % 10000 = 7 THEN i - 1 ELSE i END AS k FROM range({rows}) t(i))
          )
        ) TO '{path}' (FORMAT csv, HEADER false)
    """)


def run_aipl(path: Path, tmp: Path) -> float:
    root = init_workspace(tmp / f"ws{time.time_ns()}")
    wh = open_warehouse(root)
    t = time.perf_counter()
    r = ingest(wh, path, "userbehavior")
    dt = time.perf_counter() - t
    assert r.read == r.accepted + r.rejected
    run_aipl.last = r  # type: ignore[attr-defined]
    wh.close()
    shutil.rmtree(root)
    return dt


def run_duckdb_bare(path: Path, tmp: Path) -> float:
    db = tmp / f"bare{time.time_ns()}.duckdb"
    con = duckdb.connect(str(db))
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLS.items()) + "}"
    t = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header = false, columns = {cols})")
    dt = time.perf_counter() - t
    con.close()
    db.unlink()
    return dt


def run_duckdb_canonical(path: Path, tmp: Path) -> float:
    root = init_workspace(tmp / f"wc{time.time_ns()}")
    wh = open_warehouse(root)
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLS.items()) + "}"
    t = time.perf_counter()
    wh.raw.execute(f"""
        INSERT INTO events (consumer_id, item_id, category_id, event_type, ts)
        SELECT user_id::VARCHAR, item_id::VARCHAR, category_id::VARCHAR,
               CASE behavior_type WHEN 'pv' THEN 'pdp_view' WHEN 'fav' THEN 'favorite'
                    WHEN 'cart' THEN 'add_to_cart' WHEN 'buy' THEN 'purchase' END, to_timestamp("timestamp")
        FROM read_csv('{path}', header = false, columns = {cols})""")
    dt = time.perf_counter() - t
    wh.close()
    shutil.rmtree(root)
    return dt


def run_pandas(path: Path, tmp: Path) -> float:
    db = tmp / f"pd{time.time_ns()}.duckdb"
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    df = pd.read_csv(path, header=None, names=list(COLS))
    con.execute("CREATE TABLE t AS SELECT * FROM df")
    dt = time.perf_counter() - t
    con.close()
    db.unlink()
    del df
    gc.collect()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, help="an existing UserBehavior-format file to load instead")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-bench-"))
    path = args.file
    if path is None:
        path = tmp / f"userbehavior_{args.rows}.csv"
        t = time.perf_counter()
        make_file(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    rows = sum(1 for _ in open(path, "rb")) if args.file else args.rows
    print(f"cores: {os.cpu_count()}, rows: {rows:,}, repeats: {args.repeat} (interleaved; medians)")
    runners = {"aipl validated load": run_aipl, "pandas read_csv + insert": run_pandas,
               "duckdb bare read_csv": run_duckdb_bare, "duckdb bare into events": run_duckdb_canonical}
    times: dict[str, list[float]] = {k: [] for k in runners}
    for i in range(args.repeat):
        for name, fn in runners.items():
            times[name].append(fn(path, tmp))
            print(f"  run {i + 1} {name}: {times[name][-1]:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    r = run_aipl.last  # type: ignore[attr-defined]
    print(f"\naipl: read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,} "
          f"({', '.join(f'{k}: {v:,}' for k, v in r.loads[0].reasons.items())})")
    print(f"\n{'method':28} {'median s':>9} {'M rows/s':>9}")
    for k, v in med.items():
        print(f"{k:28} {v:9.2f} {rows / v / 1e6:9.2f}")
    ours = med["aipl validated load"]
    print(f"\nratio aipl / pandas+insert throughput: {med['pandas read_csv + insert'] / ours:.2f}x")
    print(f"ratio aipl / duckdb bare throughput:   {med['duckdb bare read_csv'] / ours:.2f}x")
    print(f"ratio aipl / duckdb bare into events:  {med['duckdb bare into events'] / ours:.2f}x")
    print(f"target >= 3.0 M validated rows/s: {'met' if rows / ours >= 3e6 else 'NOT met'} ({rows / ours / 1e6:.2f})")
    if not args.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
