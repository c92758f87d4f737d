"""Every path that writes consumer ids goes through the one guarded, audited export (aipl.privacy.export_ids):
below [privacy] min_crowd_size nothing is written and the command says why in one line (exit 2); at or above it
the file is written and crowd_exports holds a row with its digest. Before, `clv predict --out`, `clv value --out`
and `autopilot sequence --out` wrote the ids of any brand, however few, and left no audit row."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import aipl.cli.measure as cli_measure
from aipl.cli import app
from aipl.schema import CROWD_EXPORTS
from aipl.warehouse import open_warehouse
from tests.adversarial.conftest import auth

EXPORTS_TABLE = CROWD_EXPORTS.name
SRC = Path(__file__).resolve().parents[2] / "src" / "aipl"
runner = CliRunner()

# Each export path as a user runs it; OUT is the file.
PATHS = {
    "crowd export": ["crowd", "export", "age < 60", "--out", "OUT"],
    "lookalike crowd export": ["crowd", "export", "lal", "--out", "OUT"],
    "members list": ["members", "list", "--brand", "B01", "--day", "2026-10-24", "--kind", "active", "--out", "OUT"],
    "clv predict of a cohort": ["clv", "predict", "--calibration-end", "2026-10-01", "--cohort",
                                "2025-09-15..2025-11-30", "--out", "OUT"],
    "clv predict of one brand": ["clv", "predict", "--calibration-end", "2026-10-01", "--brand", "B01", "--out",
                                 "OUT"],
    "clv value": ["clv", "value", "--brand", "B01", "--calibration-end", "2026-10-24", "--out", "OUT"],
    "autopilot sequence": ["autopilot", "sequence", "--brand", "B01", "--out", "OUT"],
}


# The hashed exports a DMP takes (issue 22): consumer ids or the identities table's phones, hashed, with a manifest.
HASHED = {
    "hashed crowd export": ["crowd", "export", "age < 60", "--hash", "md5", "--out", "OUT"],
    "hashed phone export": ["crowd", "export", "age < 60", "--id-type", "phone", "--hash", "sha256", "--out", "OUT"],
}


def _minimum(ws: Path, n: int) -> None:
    cfg = ws / "aipl.toml"
    cfg.write_text(re.sub(r"min_crowd_size = \d+", f"min_crowd_size = {n}", cfg.read_text(encoding="utf-8")),
                   encoding="utf-8")


def _audit(ws: Path) -> pd.DataFrame:
    wh = open_warehouse(ws)
    try:
        return wh.table(EXPORTS_TABLE).execute() if EXPORTS_TABLE in wh.con.list_tables() else pd.DataFrame()
    finally:
        wh.close()


def _run(ws: Path, args: list[str], out: Path):
    return runner.invoke(app, [str(out) if a == "OUT" else a for a in args] + ["-w", str(ws)])


@pytest.fixture(scope="module")
def ws(market) -> Path:
    """The CLI's workspace, with a lookalike crowd saved (its ids leave through a crowd export)."""
    _minimum(market["copy"], 1)
    r = runner.invoke(app, ["crowd", "lookalike", "age < 30", "--k", "1", "--save", "lal", "-w", str(market["copy"])])
    assert r.exit_code == 0, r.output
    return market["copy"]


@pytest.mark.parametrize("name", [*PATHS, *HASHED])
def test_below_the_minimum_nothing_is_written(ws, tmp_path, name):
    command = {**PATHS, **HASHED}[name]
    _minimum(ws, 1_000_000)
    logged = len(_audit(ws))
    out = tmp_path / "ids.csv"
    r = _run(ws, command, out)
    assert r.exit_code == 2, f"{name}: {r.output}"
    assert "below the minimum export size" in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists() and len(_audit(ws)) == logged


@pytest.mark.parametrize("name", PATHS)
def test_an_export_is_written_and_audited(ws, tmp_path, name):
    command = PATHS[name]
    _minimum(ws, 1)
    out = tmp_path / "ids.csv"
    logged = len(_audit(ws))
    r = _run(ws, command, out)
    assert r.exit_code == 0, f"{name}: {r.output}"
    audit = _audit(ws)
    assert len(audit) == logged + 1
    row = audit.sort_values("exported_at").iloc[-1]
    ids = pd.read_csv(out)
    assert "consumer_id" in ids.columns and row["rows"] == len(ids) and row["path"] == str(out.resolve())
    assert row["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_hashed_export_is_written_audited_and_described_by_its_manifest(ws, tmp_path):
    _minimum(ws, 1)
    out = tmp_path / "ids.txt"
    r = _run(ws, [*HASHED["hashed crowd export"][:-2], "--json", "--out", "OUT"], out)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    wh = open_warehouse(ws, read_only=True)
    try:
        people = wh.table("consumers").execute()
        ids = wh.table("consumer_ids").execute()
        tags = wh.table("consumer_tags").execute()
    finally:
        wh.close()
    young = set(ids.set_index("id").consumer_id.reindex(tags[(tags.tag == "age") & (tags.num < 60)].id))
    assert young <= set(people.consumer_id)
    assert set(out.read_text().split()) == {hashlib.md5(c.encode()).hexdigest() for c in young}
    manifest = json.loads(Path(res["manifest"]).read_text(encoding="utf-8"))
    assert manifest["audit_id"] == res["export_id"] and manifest["count"] == len(young) == res["rows"]
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    row = _audit(ws).set_index("export_id").loc[res["export_id"]]
    assert (row["id_type"], row["hash"], row["rows"]) == ("consumer_id", "md5", len(young))


def test_identifiers_leave_only_hashed(ws, tmp_path):
    _minimum(ws, 1)
    out = tmp_path / "phones.csv"
    logged = len(_audit(ws))
    r = _run(ws, ["crowd", "export", "age < 60", "--id-type", "phone", "--out", "OUT"], out)
    assert r.exit_code == 2 and "only hashed" in r.output and len(r.output.strip().splitlines()) == 1
    r = _run(ws, ["crowd", "export", "age < 60", "--id-type", "imei", "--hash", "md5", "--out", "OUT"], out)
    assert r.exit_code == 2 and "unknown id type" in r.output
    assert not out.exists() and len(_audit(ws)) == logged


def test_api_exports_are_the_tenants_own(service):
    c, acme = service["client"], auth(service, "analyst")
    body = {"expr": 'aipl(brand="B01") in ("A", "I", "P", "L") or age > 0', "hash": "sha256"}
    done = c.post("/api/crowds/export", json=body, headers=acme)
    assert done.status_code == 201, done.text
    link = done.json()["download"]
    assert c.get(link, headers=acme).status_code == 200
    for other in ("rival", "agency"):
        assert c.get(link, headers=auth(service, other)).status_code == 404  # another tenant's file is not there
        assert c.post("/api/crowds/export", json=body, headers=auth(service, other)).status_code == 403
    assert c.get("/api/crowds/exports/..%2F..%2Faipl.toml", headers=acme).status_code in (404, 422)
    small = c.post("/api/crowds/export", json={**body, "expr": 'aipl(brand="B01") = "L" and age = 18'}, headers=acme)
    assert small.status_code == 403 and "below the minimum export size" in small.json()["detail"]


def test_uplift_targets_go_through_the_guard(ws, tmp_path, monkeypatch):
    """`aipl uplift --out` (its model is slow to fit, so the targets are given) writes through the guard too."""
    class Few:
        arm = "coupon"
        selected = pd.DataFrame({"consumer_id": [f"c{i:08d}" for i in range(5)], "uplift": 0.1})

    monkeypatch.setattr(cli_measure, "target_uplift", lambda *a, **k: Few())
    _minimum(ws, 100)
    out = tmp_path / "targets.csv"
    r = _run(ws, ["uplift", "--brand", "B01", "--budget", "5", "--out", "OUT"], out)
    assert r.exit_code == 2 and "5 consumers, below the minimum export size 100" in r.output and not out.exists()


# Files written by code that holds no consumer ids: the simulator's synthetic market, the per-merchant subsidy plan.
WITHOUT_IDS = {"simulate/market.py": None, "cli/autopilot.py": "alloc.to_csv(out_file, index=False)"}
WRITE = re.compile(r"\.(to_csv|to_parquet|to_excel)\b|write_table\(")  # to_json() without a path is a string


def test_no_other_code_writes_a_table_to_a_file():
    """A new writer of rows must use aipl.privacy.export_ids, or be listed here with why it writes no ids."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.split("#", 1)[0].strip()
            allowed = rel == "privacy.py" or (rel in WITHOUT_IDS and WITHOUT_IDS[rel] in (None, code))
            if WRITE.search(code) and not code.startswith(">>>") and not allowed:
                found.append(f"{rel}: {code}")
    assert not found, "write consumer ids through aipl.privacy.export_ids:\n" + "\n".join(found)
