"""The warehouse owns every backend difference: no engine or face reaches the backend's own connection or asks
which backend it runs on (DESIGN.md, layers)."""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import pandas as pd
import pytest

from aipl.config import ConfigError, init_workspace, load_config

SRC = Path(__file__).resolve().parents[1] / "src" / "aipl"
OWNERS = {"warehouse.py", "config.py"}  # the two places that may know the backend
FORBIDDEN = {
    "the raw backend connection (.raw)": re.compile(r"\b(wh|warehouse)\.raw\b|\.raw\.(execute|sql|fetch\w*)\b"),
    "Ibis's backend connection (con.con)": re.compile(r"\bcon\.con\b"),
    "a branch on the backend (.backend == / !=)": re.compile(r"\.backend\s*(==|!=)|(==|!=)\s*\w+(\.\w+)*\.backend\b"),
    "the Spark session (wh.spark)": re.compile(r"\bwh\.spark\b"),
}


def _offences(text: str) -> list[str]:
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        found += [f"{n}: {what}: {line.strip()}" for what, pattern in FORBIDDEN.items() if pattern.search(code)]
    return found


def test_no_engine_or_face_reaches_the_backend():
    offences = [f"{path.relative_to(SRC)}:{o}" for path in sorted(SRC.rglob("*.py")) if path.name not in OWNERS
                or path.parent != SRC for o in _offences(path.read_text(encoding="utf-8"))]
    assert not offences, "use a warehouse method instead:\n" + "\n".join(offences)


@pytest.mark.parametrize("line", [
    'wh.raw.execute("DELETE FROM t")', "con = wh.con.con", 'if wh.backend == "duckdb":',
    'if "spark" != self.wh.backend:', "df = wh.spark.table('t')", "n = self.wh.raw.execute(q)",
])
def test_the_check_catches_each_form(line):
    assert _offences(line)


@pytest.mark.parametrize("line", [
    'section = wh.config.raw.get("campaigns")', 'sync(wh.config.raw["campaigns"])', "backend=wh.backend,",
    "raw=bad.raw,", '(r.raw or "")[:60]', 'if wh.supports("incremental_assets"):',
])
def test_the_check_lets_these_be(line):
    assert not _offences(line)


def test_replace_rows_is_an_upsert_by_key(wh):
    wh.ensure_table("notes", {"k": "string", "j": "string", "n": "int64"})
    wh.replace_rows("notes", pd.DataFrame({"k": ["a", "a", "b"], "j": ["x", "y", "x"], "n": [1, 2, 3]}), ["k", "j"])
    wh.replace_rows("notes", pd.DataFrame({"k": ["a"], "j": ["x"], "n": [9]}), ["k", "j"])  # replaces one row
    wh.replace_rows("notes", None, ["k"], match=ibis.memtable({"k": ["b"]}))  # deletes only
    assert sorted(wh.table("notes").execute().itertuples(index=False, name=None)) == [("a", "x", 9), ("a", "y", 2)]
    wh.replace_rows("notes", pd.DataFrame({"k": [], "j": [], "n": []}), [])  # no keys: every row, empty frame typed
    assert wh.count("notes") == 0
    assert wh.supports("transactions") and wh.supports("incremental_assets")
    with pytest.raises(ValueError, match="unknown capability"):
        wh.supports("teleport")


def test_spark_settings_are_validated(tmp_path):
    root = init_workspace(tmp_path / "ws", backend="spark")
    s = load_config(root).spark
    assert (s.master, s.database, s.shuffle_partitions, s.conf) == ("local[2]", "aipl", 4, {})
    assert load_config(root).spark_warehouse == (root / "spark-warehouse").as_uri()
    cfg = root / "aipl.toml"
    text = cfg.read_text(encoding="utf-8")
    for old, bad, message in [("shuffle_partitions = 4", "shuffle_partitions = 0", "shuffle_partitions"),
                              ("shuffle_partitions = 4", "colour = 1", "unknown key"),
                              ('database = "aipl"', 'database = "a-b"', "database")]:
        cfg.write_text(text.replace(old, bad), encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(root)
    cfg.write_text(text.replace('master = "local[2]"', 'master = "spark://10.0.0.5:7077"\nwarehouse = "s3a://b/ws"')
                   + '[spark.conf]\n"spark.executor.memory" = "4g"\n"spark.dynamicAllocation.enabled" = true\n',
                   encoding="utf-8")
    s = load_config(root).spark
    assert (s.master, load_config(root).spark_warehouse) == ("spark://10.0.0.5:7077", "s3a://b/ws")
    assert s.conf == {"spark.executor.memory": "4g", "spark.dynamicAllocation.enabled": "true"}
