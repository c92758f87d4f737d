"""DuckDB and Spark run the same pipeline code: the same inputs give the same tables, quarantine and aggregates."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from aipl import schema
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.simulate import MarketSpec, simulate_market
from aipl.warehouse import open_warehouse
from tests.conftest import BUNDLED, DATA

pytestmark = pytest.mark.spark


def _inputs(tmp):
    market = tmp / "market"
    simulate_market(MarketSpec(consumers=1500, days=6, brands=3, seed=5), market)
    return [
        (BUNDLED / "events_dirty.csv", "events"),
        (DATA / "userbehavior_small.csv", "userbehavior"),
        (DATA / "ali", "ali_display_ad"),
        (DATA / "tmall", "tmall_repeat"),
        (BUNDLED / "CDNOW_sample.txt", "cdnow"),
        (market / "campaigns.csv", "campaigns"),
        (market / "members.parquet", "members"),
        (market / "events.parquet", "events"),
        (BUNDLED / "events_dirty.csv", "events"),  # again: unchanged
    ]


def _normal(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            s = out[c]
            s = s.dt.tz_localize("Asia/Shanghai") if s.dt.tz is None else s
            s = s.dt.tz_convert("UTC")
            out[c] = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(6)
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype(str)
    return out.sort_values(list(out.columns)).reset_index(drop=True)


def _snapshot(wh, inputs):
    loads = []
    for path, fmt in inputs:
        r = ingest(wh, path, fmt)
        loads += [(lr.source.split("/")[-1], lr.target, lr.read, lr.accepted, lr.rejected) for lr in r.loads]
    tables = {name: _normal(wh.table(name).execute()) for name in schema.TABLES}
    q = wh.table("quarantine").execute()
    quarantine = sorted(zip(q.source.str.split("/").str[-1], q.line, q.target, q.field, strict=True))
    from aipl.assets import build, states

    build(wh, wh.config.assets)
    asset_states = {
        (scope, d): _normal(states(wh, scope, d).execute())
        for scope in ("brand", "category") for d in ("2026-09-17", "2026-09-20", "2017-11-26")
    }
    ev = wh.table("events")
    daily = (
        ev.group_by(["event_type", ev.ts.date().name("day")])
        .aggregate(n=ev.count(), buyers=ev.consumer_id.nunique(), gmv=ev.amount.sum())
        .execute()
    )
    return loads, tables, quarantine, _normal(daily), asset_states


def test_duckdb_and_spark_agree(tmp_path):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("the Spark backend needs Java 17 (scripts/test.sh installs it)")
    inputs = _inputs(tmp_path)
    duck = open_warehouse(init_workspace(tmp_path / "duck"))
    spark = open_warehouse(init_workspace(tmp_path / "spark", backend="spark"))
    try:
        d = _snapshot(duck, inputs)
        s = _snapshot(spark, inputs)
    finally:
        duck.close()
        spark.spark.stop()
    assert d[0] == s[0]  # per file and target: read, accepted, rejected
    assert d[0][-1][2:] == (0, 0, 0)  # the repeated file changed nothing
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(d[1][name], s[1][name], obj=name)
    assert d[2] == s[2] and len(d[2]) >= 20
    pd.testing.assert_frame_equal(d[3], s[3])
    for k in d[4]:  # the consumer-asset engine: every consumer's AIPL and DEEPLINK state
        pd.testing.assert_frame_equal(d[4][k], s[4][k], obj=str(k))
    assert sum(len(v) for v in d[4].values()) > 1000
    assert len(d[1]["events"]) > 5_000


def test_spark_workspace_persists_across_sessions(tmp_path):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("the Spark backend needs Java 17 (scripts/test.sh installs it)")
    root = init_workspace(tmp_path / "spark", backend="spark")
    wh = open_warehouse(root)
    first = ingest(wh, DATA / "userbehavior_small.csv", "userbehavior")
    wh.spark.stop()
    wh = open_warehouse(root)  # a new Spark session: its catalog starts empty
    try:
        assert wh.count("events") == first.accepted == 8
        assert wh.count("quarantine") == first.rejected == 5
        assert ingest(wh, DATA / "userbehavior_small.csv", "userbehavior").skipped
        assert wh.count("events") == 8
    finally:
        wh.spark.stop()
