"""Ingestion throughput: aipl's validated, quarantining load of a UserBehavior-format file against plain loads of
the same file, in one run.

    python bench/ingest.py [--rows 10000000] [--repeat 3] [--file PATH] [--keep] [--json PATH]

Baselines (none validates, numbers lines, quarantines or checks for repeats):
- DuckDB's bare typed `read_csv` mapped into the canonical `events` table (string ids, the event-type recoding,
  16 columns): what storing the rows alone costs. Target: aipl reaches at least 0.6x its throughput.
- pandas `read_csv` (C engine and pyarrow engine, typed) + insert into the same `events` table through DuckDB.
  Target: aipl beats the faster of the two.
- DuckDB's bare typed `read_csv` into a table of integers (reported: the canonical table stores string ids, so this
  is what integer surrogate keys could approach).

Every method runs `--repeat` times, interleaved, each run in a fresh process (so its peak RSS is its own); medians
are compared. Before any time is reported, every run's loaded rows are checked against the file: the count and
an order-free checksum of the rows aipl accepted must equal those of the baseline's rows inside the dataset's
window, aipl's read = accepted + rejected = the baseline's row count, and every quarantined row names the line
of the file that holds its record. A mismatch exits 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb

COLS = {"user_id": "BIGINT", "item_id": "BIGINT", "category_id": "BIGINT", "behavior_type": "VARCHAR",
        "timestamp": "BIGINT"}
TYPED = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLS.items()) + "}"
EVENT_TYPE = """CASE behavior_type WHEN 'pv' THEN 'pdp_view' WHEN 'fav' THEN 'favorite' WHEN 'cart' THEN 'add_to_cart'
                WHEN 'buy' THEN 'purchase' END"""
# the canonical mapping every baseline applies (aipl's userbehavior adapter does the same, and validates)
CANONICAL = f"""INSERT INTO events (consumer_id, item_id, category_id, event_type, ts)
    SELECT user_id::VARCHAR, item_id::VARCHAR, category_id::VARCHAR, {EVENT_TYPE}, to_timestamp("timestamp")
    FROM {{source}}"""
TARGET_BARE = 0.6  # aipl's throughput / the bare canonical load's


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


def _window_filter() -> str:
    from aipl.ingest.adapters.userbehavior import WINDOW

    lo, hi = (w.isoformat() for w in WINDOW)
    return f"ts >= TIMESTAMPTZ '{lo}' AND ts < TIMESTAMPTZ '{hi}'"


def _digest(con, table: str, columns: str, where: str) -> dict:
    """Row count, and count and order-free checksum of the rows inside the dataset's window."""
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    n, checksum = con.execute(
        f"SELECT count(*), sum(hash({columns})::HUGEINT)::VARCHAR FROM (SELECT {columns} FROM {table}) WHERE {where}"
    ).fetchone()
    return {"rows": int(total), "window_rows": int(n), "checksum": checksum}


EVENT_COLUMNS = "consumer_id, item_id, category_id, event_type, ts"


def _workspace(tmp: Path, prefix: str):
    from aipl.config import init_workspace
    from aipl.warehouse import open_warehouse

    root = init_workspace(tmp / f"{prefix}{time.time_ns()}")
    return root, open_warehouse(root)


def run_aipl(path: Path, tmp: Path) -> dict:
    from aipl.ingest import ingest

    root, wh = _workspace(tmp, "ws")
    t = time.perf_counter()
    r = ingest(wh, path, "userbehavior")
    dt = time.perf_counter() - t
    out = {"seconds": dt, "read": r.read, "accepted": r.accepted, "rejected": r.rejected,
           "reasons": r.loads[0].reasons, **_digest(wh.raw, "events", EVENT_COLUMNS, _window_filter()),
           "misplaced": _misplaced(path, dict(wh.raw.execute("SELECT line, raw FROM quarantine").fetchall()))}
    wh.close(publish=False)
    shutil.rmtree(root)
    return out


def _misplaced(path: Path, quarantined: dict[int, str]) -> int:
    """How many quarantined rows do not name the line of the file that holds their record."""
    found = 0
    with open(path, encoding="utf-8", newline="") as f:
        for n, text in enumerate(f, start=1):
            if n in quarantined:
                found += text.rstrip("\r\n") == quarantined[n]
    return len(quarantined) - found


def run_duckdb_canonical(path: Path, tmp: Path) -> dict:
    root, wh = _workspace(tmp, "wc")
    t = time.perf_counter()
    wh.raw.execute(CANONICAL.format(source=f"read_csv('{path}', header = false, columns = {TYPED})"))
    dt = time.perf_counter() - t
    out = {"seconds": dt, **_digest(wh.raw, "events", EVENT_COLUMNS, _window_filter())}
    wh.close(publish=False)
    shutil.rmtree(root)
    return out


def run_duckdb_integers(path: Path, tmp: Path) -> dict:
    db = tmp / f"bare{time.time_ns()}.duckdb"
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header = false, columns = {TYPED})")
    dt = time.perf_counter() - t
    mapped = (f'(SELECT user_id::VARCHAR AS consumer_id, item_id::VARCHAR AS item_id, category_id::VARCHAR AS '
              f'category_id, {EVENT_TYPE} AS event_type, to_timestamp("timestamp") AS ts FROM t)')
    out = {"seconds": dt, **_digest(con, mapped, EVENT_COLUMNS, _window_filter())}
    con.close()
    db.unlink()
    return out


def _run_pandas(path: Path, tmp: Path, engine: str) -> dict:
    import pandas as pd

    root, wh = _workspace(tmp, "wp")
    # typed as the file is: numpy integers for the C engine, Arrow columns for the pyarrow engine (no copy to DuckDB)
    typed = {"dtype": {k: "int64" for k, v in COLS.items() if v == "BIGINT"}} if engine == "c" else \
        {"dtype_backend": "pyarrow"}
    t = time.perf_counter()
    wh.raw.register("df", pd.read_csv(path, header=None, names=list(COLS), engine=engine, **typed))
    wh.raw.execute(CANONICAL.format(source="df"))
    dt = time.perf_counter() - t
    out = {"seconds": dt, **_digest(wh.raw, "events", EVENT_COLUMNS, _window_filter())}
    wh.close(publish=False)
    shutil.rmtree(root)
    return out


def run_pandas_c(path: Path, tmp: Path) -> dict:
    return _run_pandas(path, tmp, "c")


def run_pandas_pyarrow(path: Path, tmp: Path) -> dict:
    return _run_pandas(path, tmp, "pyarrow")


def _in_child(fn, path: Path, tmp: Path) -> dict:
    out = fn(path, tmp)
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    return out


AIPL = "aipl validated load"
BARE = "duckdb bare read_csv into events"
INTEGERS = "duckdb bare read_csv into integers"
PANDAS = ("pandas read_csv (C) + insert into events", "pandas read_csv (pyarrow) + insert into events")
RUNNERS = {AIPL: run_aipl, BARE: run_duckdb_canonical, PANDAS[0]: run_pandas_c, PANDAS[1]: run_pandas_pyarrow,
           INTEGERS: run_duckdb_integers}


def check(name: str, got: dict, base: dict) -> list[str]:
    """The ways a run of `name` disagrees with the bare canonical load (`base`)."""
    problems = []
    if name == AIPL:
        if (got["read"], got["read"]) != (base["rows"], got["accepted"] + got["rejected"]):
            problems.append(f"aipl read {got['read']} = accepted {got['accepted']} + rejected {got['rejected']}, "
                            f"the file has {base['rows']}")
        if got["rows"] != got["accepted"]:
            problems.append(f"aipl reports {got['accepted']} accepted but events holds {got['rows']}")
        if got["misplaced"]:
            problems.append(f"aipl: {got['misplaced']} quarantined rows name a line that does not hold their record")
        if got["accepted"] != base["window_rows"]:
            problems.append(f"aipl accepted {got['accepted']}, the file has {base['window_rows']} rows in the window")
    elif got["rows"] != base["rows"]:
        problems.append(f"{name} loaded {got['rows']} rows, the bare load {base['rows']}")
    if (got["window_rows"], got["checksum"]) != (base["window_rows"], base["checksum"]):
        problems.append(f"{name}: rows in the window {got['window_rows']} checksum {got['checksum']}, the bare load "
                        f"{base['window_rows']} {base['checksum']}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, help="an existing UserBehavior-format file to load instead")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument("--json", type=Path, help="write the figures as JSON (bench/run.py collects them)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-bench-"))
    path = args.file
    if path is None:
        path = tmp / f"userbehavior_{args.rows}.csv"
        t = time.perf_counter()
        make_file(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    path = path.resolve()
    print(f"cores: {os.cpu_count()}, file: {path.name}, repeats: {args.repeat} (interleaved, one process per run; "
          "medians)")
    runs: dict[str, list[dict]] = {k: [] for k in RUNNERS}
    problems: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    for i in range(args.repeat):
        for name, fn in RUNNERS.items():
            with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                runs[name].append(pool.submit(_in_child, fn, path, tmp).result())
            print(f"  run {i + 1} {name}: {runs[name][-1]['seconds']:.2f} s", flush=True)
        problems += [p for name in RUNNERS for p in check(name, runs[name][-1], runs[BARE][-1])]
    rows_n = runs[BARE][0]["rows"]
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    rss = {k: max(r["peak_rss_gib"] for r in v) for k, v in runs.items()}
    a = runs[AIPL][-1]
    print(f"\naipl: read {a['read']:,} accepted {a['accepted']:,} rejected {a['rejected']:,} ({a['reasons']}); "
          f"every run's rows checked against the bare load: {'equal' if not problems else 'MISMATCH'}")
    print(f"\n{'method':48} {'median s':>9} {'M rows/s':>9} {'peak GiB':>9}")
    for k, v in med.items():
        print(f"{k:48} {v:9.2f} {rows_n / v / 1e6:9.2f} {rss[k]:9.2f}")
    pandas = min(PANDAS, key=med.get)

    def versus(baseline: str, target: str | None, met: bool | None) -> dict:
        return {"step": f"{AIPL} vs {baseline}", "seconds": med[AIPL], "baseline": baseline,
                "baseline_seconds": med[baseline], "ratio": med[AIPL] / med[baseline], "target": target, "met": met,
                "peak_rss_gib": rss[AIPL]}

    out_rows = [
        versus(BARE, f"ratio <= {1 / TARGET_BARE:.3f} (throughput >= {TARGET_BARE}x the bare load)",
               med[BARE] / med[AIPL] >= TARGET_BARE),
        versus(pandas, "ratio < 1 (beats the faster pandas read_csv + insert)", med[AIPL] < med[pandas]),
        versus(INTEGERS, None, None),
        *[{"step": k, "seconds": med[k], "baseline": None, "baseline_seconds": None, "ratio": None, "target": None,
           "met": None, "peak_rss_gib": rss[k]} for k in RUNNERS],
    ]
    print()
    for r in out_rows[:3]:
        print(f"aipl throughput / {r['baseline']}: {1 / r['ratio']:.2f}x"
              + (f"  target {r['target']}: {'met' if r['met'] else 'NOT met'}" if r["target"] else ""))
    for p in problems:
        print(f"MISMATCH: {p}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({
            "bench": "ingest", "args": {"rows": rows_n, "repeat": args.repeat, "file": str(args.file or "")},
            "rows": out_rows, "ok": not problems,
        }, indent=2))
    if not args.keep:
        shutil.rmtree(tmp)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
