"""The warehouse owns every backend difference: no engine or face reaches the backend's own connection or asks
which backend it runs on (DESIGN.md, layers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
