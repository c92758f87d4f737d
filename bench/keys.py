"""What integer surrogate keys (issue 23, item 1) would buy, measured before the warehouse switches to them: the
same events stored with string ids and with integer ids, and aipl's own engines and loads timed on both in one run.

    python bench/keys.py [--events 1000000] [--consumers 100000] [--brands 200] [--repeat 3] [--json PATH]

- **asset build**: aipl's one-off build (intervals, live store, count changes) on each copy; the count changes of
  both must be equal, id for id (`b17` is 17), before a time is reported.
- **incremental day**: one more day of events, then aipl's `update`, each run from the same copy; the new day's
  counts must be equal on both.
- **load**: the canonical columns of a UserBehavior-shaped file inserted as string ids (what the warehouse stores
  today) against the same file with its consumer, item and category ids encoded through append-only dictionaries
  (new ids appended, `key = max + row_number`) and inserted as integers; the decoded rows must equal the string
  rows (count and order-free checksum).

Every method runs `--repeat` times; medians of wall seconds are reported, with the ratio integer / string.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import ibis
from assets import DAYS, START, generate
from common import row, write_json
from ingest import COLS, EVENT_TYPE, make_file

from aipl.assets import AssetRules, build, update
from aipl.config import init_workspace
from aipl.warehouse import open_warehouse

# The integer copy: the generated ids are 'c<n>', 'b<n>' and 'cat<n>'.
TO_INT = {"consumer_id": "substr(consumer_id, 2)", "brand_id": "substr(brand_id, 2)",
          "category_id": "substr(category_id, 4)"}
CHANGES = ("SELECT scope, {key} AS key, aipl, deeplink, day, sum(change) AS n FROM asset_count_changes "
           "GROUP BY ALL HAVING sum(change) != 0")


def to_integers(wh, table: str, columns: list[str]) -> None:
    """Replace `table` by a copy whose id `columns` are BIGINT (same names, same order)."""
    cast = ", ".join(f"{TO_INT[c]}::BIGINT AS {c}" for c in columns)
    wh.raw.execute(f"CREATE TABLE _int AS SELECT * REPLACE ({cast}) FROM {table}")
    wh.raw.execute(f"DROP TABLE {table}; ALTER TABLE _int RENAME TO {table}")


def changes(wh, ints: bool) -> set:
    """The net count changes, keys written as the string ids."""
    key = "CASE scope WHEN 'brand' THEN 'b' ELSE 'cat' END || key::VARCHAR" if ints else "key"
    return set(wh.raw.execute(CHANGES.format(key=key)).fetchall())


def workspace(base: Path, name: str, args, ints: bool) -> Path:
    """A workspace with `DAYS` days of generated events (and the day after held back in `_next`)."""
    root = init_workspace(base / name)
    with open_warehouse(root) as wh:
        generate(wh, args.events, args.consumers, args.brands)
        generate(wh, args.events // DAYS, args.consumers, args.brands, first_day=DAYS, days=1)
        cut = datetime.combine(START + timedelta(days=DAYS), datetime.min.time(), wh.config.tz).astimezone(UTC)
        wh.raw.execute("CREATE TABLE _next AS SELECT * FROM events WHERE ts >= $1", [cut])
        wh.raw.execute("DELETE FROM events WHERE ts >= $1", [cut])
        if ints:
            to_integers(wh, "events", list(TO_INT))
            to_integers(wh, "_next", list(TO_INT))
            to_integers(wh, "members", ["consumer_id", "brand_id"])
        wh.raw.execute("CHECKPOINT")
    return root


class Mismatch(Exception):
    """A result on integer ids that differs from the same on string ids: the run fails before its time is shown."""


def assets_part(base: Path, args, rows: list) -> None:
    roots = {k: workspace(base, k, args, k == "int") for k in ("str", "int")}
    built, upd, after = {}, {}, {}
    for _ in range(args.repeat):  # interleaved, so that both see the same machine
        for k, root in roots.items():
            with open_warehouse(root) as wh:
                rules = AssetRules.of(wh.config)
                t = time.perf_counter()
                build(wh, rules)
                built.setdefault(k, []).append(time.perf_counter() - t)
                after[k] = changes(wh, k == "int")
    if after["str"] != after["int"]:
        raise Mismatch(f"the build's count changes differ on integer ids ({len(after['str'] ^ after['int'])})")
    print(f"checked: the build's {len(after['str']):,} net count changes are equal on string and integer ids")
    for k, root in roots.items():
        db = root / "warehouse.duckdb"
        saved = base / f"{k}.before-update.duckdb"
        shutil.copy(db, saved)
        for _ in range(args.repeat):
            shutil.copy(saved, db)
            with open_warehouse(root) as wh:
                wh.raw.execute("INSERT INTO events SELECT * FROM _next")
                wh.con.insert("batches", ibis.memtable({
                    "batch_id": ["new-day"], "format": ["events"], "source": ["bench"], "target": ["events"],
                    "read": [1], "accepted": [1], "rejected": [0], "loaded_at": [datetime.now(UTC)],
                }).cast(wh.table("batches").schema()))
                t = time.perf_counter()
                done = update(wh, AssetRules.of(wh.config))
                upd.setdefault(k, []).append(time.perf_counter() - t)
                if "touched" not in done:
                    raise Mismatch(f"the update fell back to a full build on {k} ids: {done}")
                after[k] = changes(wh, k == "int")
    if after["str"] != after["int"]:
        raise Mismatch("the updated count changes differ on integer ids")
    print(f"checked: after the incremental day, the {len(after['str']):,} net count changes are equal")
    for step, times in (("asset build", built), ("incremental day", upd)):
        s, i = statistics.median(times["str"]), statistics.median(times["int"])
        rows.append(row(step, i, "the same on string ids", s))
        print(f"{step}: string ids {s:.2f} s, integer ids {i:.2f} s: {i / s:.2f}x")


def load_part(base: Path, args, rows: list) -> None:
    path = base / "userbehavior.csv"
    make_file(path, args.load_rows)
    typed = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLS.items()) + "}"
    src = f"read_csv('{path}', header=false, columns={typed})"
    strings = [f"""INSERT INTO events SELECT user_id::VARCHAR, item_id::VARCHAR, category_id::VARCHAR, {EVENT_TYPE},
                   to_timestamp("timestamp") FROM {src}"""]
    encoded = [f"""CREATE TEMP TABLE staged AS SELECT user_id::VARCHAR AS c, item_id::VARCHAR AS i,
                   category_id::VARCHAR AS g, {EVENT_TYPE} AS et, to_timestamp("timestamp") AS ts FROM {src}"""]
    for kind, col in (("consumer", "c"), ("item", "i"), ("category", "g")):
        encoded.append(f"""INSERT INTO keys_{kind} SELECT (SELECT coalesce(max(key), 0) FROM keys_{kind})
                           + row_number() OVER (), id FROM (SELECT DISTINCT {col} AS id FROM staged
                           WHERE {col} IS NOT NULL) ANTI JOIN keys_{kind} USING (id)""")
    encoded.append("""INSERT INTO events SELECT kc.key, ki.key, kg.key, et, ts FROM staged
                      LEFT JOIN keys_consumer kc ON kc.id = c LEFT JOIN keys_item ki ON ki.id = i
                      LEFT JOIN keys_category kg ON kg.id = g""")
    digest = "SELECT count(*), sum(hash(c, i, g, et, ts))::VARCHAR FROM ({q})"
    decoded = ("SELECT kc.id AS c, ki.id AS i, kg.id AS g, et, ts FROM events e JOIN keys_consumer kc ON kc.key = "
               "e.c JOIN keys_item ki ON ki.key = e.i JOIN keys_category kg ON kg.key = e.g")
    times, sums = {}, {}
    for _ in range(args.repeat):
        for kind, statements in (("str", strings), ("int", encoded)):
            db = base / f"load-{kind}.duckdb"
            db.unlink(missing_ok=True)
            con = duckdb.connect(str(db))
            idt = "VARCHAR" if kind == "str" else "BIGINT"
            con.execute(f"CREATE TABLE events (c {idt}, i {idt}, g {idt}, et VARCHAR, ts TIMESTAMPTZ)")
            for k in ("consumer", "item", "category"):
                con.execute(f"CREATE TABLE keys_{k} (key BIGINT, id VARCHAR)")
            t = time.perf_counter()
            for s in statements:
                con.execute(s)
            con.execute("CHECKPOINT")
            times.setdefault(kind, []).append(time.perf_counter() - t)
            sums[kind] = con.execute(digest.format(q="FROM events" if kind == "str" else decoded)).fetchone()
            con.close()
            db.unlink()
    if sums["str"] != sums["int"]:
        raise Mismatch(f"the decoded integer rows differ from the string rows: {sums}")
    print(f"checked: the {sums['str'][0]:,} decoded rows equal the string rows (count and checksum)")
    s, i = statistics.median(times["str"]), statistics.median(times["int"])
    rows.append(row(f"load {args.load_rows:,} rows", i, "insert as string ids", s))
    print(f"load: string ids {s:.2f} s, dictionary-encoded integer ids {i:.2f} s: {i / s:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--consumers", type=int, default=100_000)
    ap.add_argument("--brands", type=int, default=200)
    ap.add_argument("--load-rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the figures here (bench/run.py's format)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="aipl-bench-keys-"))
    rows: list = []
    try:
        assets_part(base, args, rows)
        load_part(base, args, rows)
    except Mismatch as e:
        print(f"MISMATCH: {e}", flush=True)
        write_json(args.json, "keys", vars(args), rows, False)
        raise SystemExit(1) from None
    finally:
        shutil.rmtree(base, ignore_errors=True)
    write_json(args.json, "keys", vars(args), rows, True)


if __name__ == "__main__":
    main()
