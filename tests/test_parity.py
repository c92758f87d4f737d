"""DuckDB and Spark run the same pipeline code: the same inputs give the same tables, quarantine, aggregates and
every engine's outputs.

Engine outputs compared on one simulated market (see `engine_outputs`); counts, sets and texts must be equal,
sums (added in another order by each backend) agree within `EXACT` (relative), fitted numbers within `REL`:

| engine      | outputs                                                    | agreement | measured (2026-12-02) |
|-------------|------------------------------------------------------------|-----------|-----------------------|
| assets      | AIPL/DEEPLINK counts per brand and category, flow matrix   | equal     | equal                 |
| health      | FAST table and percentiles, ranking, GROW (LMDI split)     | 1e-9      | ≤ 4.4e-16             |
| clv         | RFM summary; BG/NBD + Gamma-Gamma parameters and values    | 1e-3      | RFM equal; ≤ 1.5e-4   |
| members     | buckets, activity, saved list (re-saved: no duplicates)    | equal     | equal                 |
| audience    | tag refresh, crowd counts, saved crowds, lookalike scores  | 1e-3      | equal                 |
| strategy    | GTA plan (pools, rates, gaps) and progress series          | 1e-9      | ≤ 1.7e-16             |
| autopilot   | response curves per channel, scene budget split            | 1e-3      | equal                 |
| measure     | lift, PI (learned weights), uplift evaluation, post-mortem | 1e-3      | ≤ 2.0e-16             |

The fits run the same optimiser on the same numbers (every engine sorts its frames before fitting) and mostly
come out identical; but this market's BG/NBD dropout parameters sit on a flat likelihood ridge (a, b ≈ 1e-8),
where a last-bit difference in a spend average moves the optimum: one run of three gave CLV values 1.5e-4 apart.
"""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aipl import schema
from aipl.assets import AssetRules, build, ensure_built, states
from aipl.audience import TagIndex, refresh
from aipl.audience.crowds import save
from aipl.config import init_workspace, load_config
from aipl.ingest import ingest
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import open_warehouse, spark_session_for
from tests.conftest import BUNDLED, DATA

pytestmark = pytest.mark.spark

REL, ABS = 1e-3, 1e-12
EXACT = 1e-9  # floats that are sums in another order
# a market small enough for Spark in CI, with two seasons (GTA needs last year), a holdout and enough buyers
ENGINE_MARKET = MarketSpec(consumers=1200, days=20, brands=3, seed=5, seasons=2, lead_days=10, holdout=0.3)
CLUSTER_MARKET = MarketSpec(consumers=600, days=12, brands=2, seed=3)


def spark_ready() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One local SparkSession for the module's tests (each workspace in its own database)."""
    if not spark_ready():
        pytest.skip("the Spark backend needs pyspark and Java 17 (scripts/test.sh installs them)")
    root = init_workspace(tmp_path_factory.mktemp("session"), backend="spark")
    s = spark_session_for(load_config(root))
    yield s
    s.stop()


def open_config(root):

    return load_config(root)


def spark_workspace(path: Path, database: str, extra: str = "") -> Path:
    """A Spark workspace whose tables sit in their own catalog database (several share one session)."""
    root = init_workspace(path, backend="spark")
    cfg = root / "aipl.toml"
    text = cfg.read_text(encoding="utf-8").replace('database = "aipl"', f'database = "{database}"')
    if extra:  # a [spark] section replaces the default one
        text = text[: text.index("[spark]")] + extra
    cfg.write_text(text, encoding="utf-8")
    return root


# ------------------------------------------------------------------------------------ ingestion and assets
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
    build(wh, AssetRules.of(wh.config))
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


def test_duckdb_and_spark_agree(tmp_path, session):
    inputs = _inputs(tmp_path)
    duck = open_warehouse(init_workspace(tmp_path / "duck"))
    spark = open_warehouse(spark_workspace(tmp_path / "spark", "parity_ingest"), spark_session=session)
    try:
        d = _snapshot(duck, inputs)
        s = _snapshot(spark, inputs)
    finally:
        duck.close()
        spark.close()
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


# ------------------------------------------------------------------------------------------- every engine
# the markets run past today, and ingestion quarantines an instant after now + [ingest] latest_days_ahead: rows
# after this fixed instant are cut, so that what loads does not depend on the clock (two loads a minute apart
# differed by the one event that came within reach in between)
MARKET_CUTOFF = pd.Timestamp("2026-11-30", tz="UTC")


def engine_market(folder: Path, spec: MarketSpec) -> Path:
    """A simulated market's files in `folder` (made once), without any row timed after `MARKET_CUTOFF`."""
    if not (folder / "events.parquet").exists():
        simulate_market(spec, folder)
        for f in folder.glob("*.parquet"):
            df = pd.read_parquet(f)
            late = np.zeros(len(df), dtype=bool)
            for c in df.columns:
                if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                    late |= (df[c] >= MARKET_CUTOFF).to_numpy()
            if late.any():
                df[~late].to_parquet(f, index=False)
    return folder


def engine_workspace(path: Path, market: Path, backend: str, extra: str = "", session=None):
    """A workspace at `path` on `backend` holding `market`, loaded through the ordinary ingestion."""
    root = spark_workspace(path, path.name, extra) if backend == "spark" else init_workspace(path)
    wh = open_warehouse(root, spark_session=session)
    load_market(wh, market)
    return wh


def _records(df: pd.DataFrame) -> list[dict]:
    """A frame as records in a backend-independent order (sorted by its non-float columns)."""
    df = df.reset_index(drop=True)
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    order = df[keys].astype(str).sort_values(keys, kind="stable").index if keys else df.index
    return [plain(r) for r in df.loc[order].to_dict("records")]


def plain(x):
    """Python scalars, lists and dicts from frames, numpy values and dates (for comparing and for JSON)."""
    if isinstance(x, pd.DataFrame):
        return _records(x)
    if isinstance(x, pd.Series):
        return plain(x.to_dict())
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set | frozenset):
        items = [plain(v) for v in x]
        return sorted(items, key=repr) if isinstance(x, set | frozenset) else items
    if isinstance(x, np.generic):
        return plain(x.item())
    if isinstance(x, np.ndarray):
        return [plain(v) for v in x.tolist()]
    if isinstance(x, datetime | date | pd.Timestamp):
        return str(pd.Timestamp(x).date()) if not isinstance(x, datetime) or x == pd.Timestamp(x).normalize() \
            else str(x)
    if isinstance(x, float) and math.isnan(x):
        return None
    if x is pd.NA or x is pd.NaT:
        return None
    if hasattr(x, "_asdict"):
        return plain(x._asdict())
    if hasattr(x, "__dataclass_fields__"):
        return plain(vars(x))
    return x


def compare(a, b, path: str = "", rel: float = REL) -> None:
    """Assert two plain outputs agree: equal, except floats within `rel` (or ABS)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b or {})}"
        for k in a:
            compare(a[k], b[k], f"{path}.{k}", rel)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            compare(x, y, f"{path}[{i}]", rel)
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=rel, abs_tol=ABS), f"{path}: {a!r} != {b!r} (rel {rel})"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


CROWDS = ('aipl(brand="B01") in ("A", "I")', 'aipl(brand="B02") = "P"',
          'count(event="purchase", days=30) >= 1', 'not aipl(brand="B01") = "P"')


# ------------------------------------------------------------------------- a new session finds every table
def test_spark_workspace_persists_across_sessions(tmp_path, session):
    """Last in the module: it stops the shared session to start a new one with an empty catalog."""

    root = spark_workspace(tmp_path / "spark", "persist")
    wh = open_warehouse(root, spark_session=session)
    first = ingest(wh, DATA / "userbehavior_small.csv", "userbehavior")
    ensure_built(wh)
    refresh(wh, wh.last_day())
    save(wh, "all", "not aipl(category=\"4022701\") = \"P\"")
    session.stop()
    wh = open_warehouse(root)  # a new Spark session: its catalog starts empty
    try:
        assert wh.count("events") == first.accepted == 9  # line 11: a second page view
        assert wh.count("quarantine") == first.rejected == 4
        assert ingest(wh, DATA / "userbehavior_small.csv", "userbehavior").skipped
        assert wh.count("events") == 9
        assert not ensure_built(wh)  # the asset tables were found: nothing to rebuild
        assert TagIndex.load(wh).day == wh.last_day() and wh.count("crowds") == 1
        save(wh, "all", "not aipl(category=\"4022701\") = \"P\"")
        assert wh.count("crowds") == 1
    finally:
        wh.spark.stop()
