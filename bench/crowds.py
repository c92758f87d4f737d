"""Crowd counting speed: the roaring-bitmap index against the same query as SQL in DuckDB, in one run.

    python bench/crowds.py [--consumers 10000000] [--repeat 15]

Ten million consumers get seven tags drawn from plausible distributions (gender, age, city tier, purchasing
power, active days, AIPL state with one brand, strategy crowd). Both sides see the same data: the index as
bitmaps per tag value (number tags with their "≥ v" bitmaps), DuckDB as one wide in-memory table. Each crowd
of 3–5 clauses is counted `--repeat` times; the figure is the median, and the counts must agree.
"""

from __future__ import annotations

import argparse
import statistics
import time

import duckdb
import numpy as np
import pandas as pd
from pyroaring import BitMap, FrozenBitMap

from aipl.audience import TagIndex, parse

CROWDS = [
    'city_tier in (3, 4, 5, 6) and age between 18 and 30 and active_days_30d >= 10',
    'gender = "F" and age between 25 and 35 and city_tier <= 3 and purchasing_power >= 4',
    'city_tier in (3, 4, 5, 6) and age between 18 and 30 and active_days_30d >= 10 and not aipl(brand="B") = "P"',
    '(strategy_crowd = "gen_z" or strategy_crowd = "rookie_white_collar") and aipl(brand="B") in ("A", "I") '
    'and active_days_30d >= 3',
    'gender = "M" and age >= 50 and city_tier >= 4 and purchasing_power <= 2 minus aipl(brand="B") = "L"',
]
SQL = [
    "city_tier IN (3,4,5,6) AND age BETWEEN 18 AND 30 AND active_days_30d >= 10",
    "gender = 'F' AND age BETWEEN 25 AND 35 AND city_tier <= 3 AND purchasing_power >= 4",
    "city_tier IN (3,4,5,6) AND age BETWEEN 18 AND 30 AND active_days_30d >= 10 AND aipl IS DISTINCT FROM 'P'",
    "strategy_crowd IN ('gen_z', 'rookie_white_collar') AND aipl IN ('A', 'I') AND active_days_30d >= 3",
    "gender = 'M' AND age >= 50 AND city_tier >= 4 AND purchasing_power <= 2 AND aipl IS DISTINCT FROM 'L'",
]


def tags(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.uint32),
        "gender": rng.choice(["F", "M", "U"], n, p=[0.55, 0.43, 0.02]),
        "age": np.clip(rng.normal(34, 11, n).round(), 16, 80).astype(np.int64),
        "city_tier": rng.choice(np.arange(1, 7), n, p=[0.08, 0.17, 0.2, 0.2, 0.2, 0.15]),
        "purchasing_power": rng.integers(1, 6, n),
        "active_days_30d": np.minimum(rng.geometric(0.15, n) - 1, 30),
        "aipl": rng.choice(["", "A", "I", "P", "L"], n, p=[0.6, 0.2, 0.1, 0.07, 0.03]),
        "strategy_crowd": rng.choice(["gen_z", "rookie_white_collar", "supermom", "small_town_youth", "other"], n),
    })


def index_of(df: pd.DataFrame) -> TagIndex:
    maps: dict = {}
    for col in ("gender", "age", "city_tier", "purchasing_power", "active_days_30d", "strategy_crowd", "aipl"):
        order = np.argsort(df[col].to_numpy(), kind="stable")
        values, starts = np.unique(df[col].to_numpy()[order], return_index=True)
        ids = df.id.to_numpy()[order]
        for v, a, b in zip(values, starts, [*starts[1:], len(order)], strict=True):
            if v == "":
                continue
            key = ("aipl", "B") if col == "aipl" else (col, None)
            maps.setdefault(key, {})[v.item() if hasattr(v, "item") else v] = FrozenBitMap(BitMap(np.sort(ids[a:b])))
    return TagIndex(maps, FrozenBitMap(BitMap(df.id.to_numpy())), None)


def median_ms(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--consumers", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    t = time.perf_counter()
    df = tags(args.consumers)
    index = index_of(df)
    print(f"{args.consumers:,} consumers: tags and bitmaps built in {time.perf_counter() - t:.1f} s")
    con = duckdb.connect()
    con.register("df", df)
    con.execute("CREATE TABLE t AS SELECT * REPLACE (nullif(aipl, '') AS aipl) FROM df")
    ours_all, sql_all = [], []
    for text, where in zip(CROWDS, SQL, strict=True):
        tree = parse(text)
        ours, n = median_ms(lambda tree=tree: index.count(tree), args.repeat)
        sql, m = median_ms(lambda where=where: con.execute(f"SELECT count(*) FROM t WHERE {where}").fetchone()[0],
                           args.repeat)
        assert n == m, (text, n, m)
        ours_all.append(ours)
        sql_all.append(sql)
        print(f"  {ours:6.2f} ms bitmap, {sql:6.2f} ms DuckDB SQL ({sql / ours:5.1f}x), {n:>10,} consumers: {text}")
    print(f"median over the {len(CROWDS)} crowds: bitmap {statistics.median(ours_all):.2f} ms, DuckDB SQL "
          f"{statistics.median(sql_all):.2f} ms, ratio {statistics.median(sql_all) / statistics.median(ours_all):.1f}x")


if __name__ == "__main__":
    main()
