"""`aipl run daily` as a scheduler runs it: a first run, a rerun with nothing new, a new landing file, a failing
step, freshness, alerts, and a kill -9 at every point of every step followed by a resume that ends with the same
tables as an uninterrupted run (the first run, made once for the module)."""

from __future__ import annotations

import ast
import json
import multiprocessing
import re
import shlex
import signal
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aipl import schema
from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.api.deps import close_all
from aipl.cli import app
from aipl.config import ConfigError, init_workspace, load_config
from aipl.pipeline import (
    EXIT_NOTHING,
    STEPS,
    AlertRule,
    fast_below_p25,
    flow_drop,
    freshness,
    plan_gap_growing,
    run_daily,
)
from aipl.simulate import MARKET_FILES, MarketSpec, simulate_market
from aipl.warehouse import ibis_schema, open_warehouse
from tests.conftest import ROOT

runner = CliRunner()
RULES = """
[[alerts]]
kind = "flow_drop"
threshold = 20
[[alerts]]
kind = "fast_below_p25"
metric = "A"
[[alerts]]
kind = "plan_gap_growing"
days = 2
"""


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Path:
    """A small two-season market (so that plans have last year), simulated once for the module."""
    folder = tmp_path_factory.mktemp("market")
    simulate_market(MarketSpec(consumers=200, days=40, brands=2, seed=1, seasons=2, start="2025-09-15",
                               lead_days=30), folder)
    return folder


def workspace(root: Path, market: Path, report: str = "") -> Path:
    """A workspace whose landing globs are the market's files and its own landing/*.csv events."""
    root = init_workspace(root)
    landing = "".join(f'[[pipeline.landing]]\nglob = "{market / name}"\nformat = "{fmt}"\n'
                      for name, fmt in MARKET_FILES)
    landing += '[[pipeline.landing]]\nglob = "landing/*.csv"\nformat = "events"\n'
    cfg = root / "aipl.toml"
    text = cfg.read_text(encoding="utf-8").replace('report = "report.html"', f'report = "{report}"')
    cfg.write_text(f"{text}\n{landing}{RULES}", encoding="utf-8")
    return root


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def example_command() -> str:
    """The command the cron line of docs/pipeline.md and the Airflow DAG of docs/examples run (the same one)."""
    dag = ast.parse((ROOT / "docs" / "examples" / "aipl_daily_dag.py").read_text(encoding="utf-8"))
    [bash] = [kw.value.value for node in ast.walk(dag) if isinstance(node, ast.Call) for kw in node.keywords
              if kw.arg == "bash_command"]
    cron = re.search(r"```cron\n(.*?)\n```", (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8"), re.S)
    line = shlex.split(cron.group(1))
    assert line[5].startswith("AIPL_WORKSPACE=") and " ".join(line[6:line.index(">>")]) == bash
    return bash


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, market) -> dict:
    """A workspace after one uninterrupted `aipl run daily --json` with a report: the command's result, and every
    table as it left them (before a test goes on from there), for the kill -9 test to compare with."""
    ws = workspace(tmp_path_factory.mktemp("first") / "ws", market, report="report.html")
    first = cli("run", "daily", "-w", str(ws), "--json")
    return {"ws": ws, "result": first, "tables": _tables(ws) if first.exit_code == 0 else None}


def test_run_rerun_new_file_failure_and_status(first_run, monkeypatch):
    ws, first = first_run["ws"], first_run["result"]
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["outcome"] == "ok" and [s["step"] for s in body["steps"]] == list(STEPS)
    assert all(s["outcome"] == "ok" and s["ended"] for s in body["steps"])
    assert body["steps"][0]["rows"] > 0 and (ws / "report.html").exists()
    assert {"rule", "kind", "brand_id", "value", "reference", "message"} <= set().union(*body["alerts"]) or \
        body["alerts"] == []

    monkeypatch.setenv("AIPL_WORKSPACE", str(ws))  # the scheduler examples' exact command, on this workspace
    again = cli(*shlex.split(example_command())[1:])  # nothing new: nothing done, its own exit code
    assert again.exit_code == EXIT_NOTHING and json.loads(again.stdout)["outcome"] == "nothing"

    (ws / "aipl.toml").write_text((ws / "aipl.toml").read_text().replace('report = "report.html"', 'report = ""'))
    (ws / "landing").mkdir()
    (ws / "landing" / "next.csv").write_text("consumer_id,brand_id,category_id,event_type,ts\n"
                                             "c00000001,B01,skincare,pdp_view,2026-10-25T10:00:00+08:00\n")
    new = json.loads(cli("run", "daily", "-w", str(ws), "--json").stdout)
    assert new["outcome"] == "ok" and new["steps"][0]["rows"] == 1 and new["as_of"] == "2026-10-25"

    fine = cli("status", "-w", str(ws), "--json")
    assert fine.exit_code == 0 and json.loads(fine.stdout)["freshness"]["status"] == "ok"

    (ws / "landing" / "broken.csv").write_text("")  # an empty file: the ingest step fails, naming it
    bad = cli("run", "daily", "-w", str(ws), "--json")
    assert bad.exit_code == 2
    failed = json.loads(bad.stdout)
    assert failed["failed_step"] == "ingest" and "broken.csv" in failed["error"] and "step ingest" in failed["error"]
    status = cli("status", "-w", str(ws), "--json")
    assert status.exit_code == 1 and json.loads(status.stdout)["freshness"]["status"] == "failed"
    assert json.loads(status.stdout)["freshness"]["last_run"]["failed_step"] == "ingest"
    assert "step ingest failed" in cli("status", "-w", str(ws)).output

    add_tenant(ws, "acme", ["B01"])  # the service tells every reader how fresh its answer is
    headers = {"Authorization": f"Bearer {issue_token(ws, 'acme', 'viewer')}"}
    with TestClient(create_app(ws)) as c:
        brands = c.get("/api/brands", headers=headers)
        assert brands.headers["X-AIPL-As-Of"] == "2026-10-25" and brands.headers["X-AIPL-Status"] == "failed"
        assert brands.headers["X-AIPL-Last-Run-Outcome"] == "failed" and brands.headers["X-AIPL-Last-Run"] != "never"
        fresh = c.get("/api/freshness", headers=headers).json()
        assert fresh["status"] == "failed" and fresh["last_run"]["failed_step"] == "ingest"
        got = c.get("/api/alerts", headers=headers).json()
        assert got["alerts"] and {a["brand_id"] for a in got["alerts"]} == {"B01"}  # only the tenant's brands
        assert all(a["value"] is not None and a["reference"] is not None and a["message"] for a in got["alerts"])
    close_all()


def test_a_run_is_late_after_late_hours(tmp_path, market):
    wh = open_warehouse(workspace(tmp_path / "ws", market))
    try:
        assert freshness(wh).status == "never" and freshness(wh).healthy  # never run by the pipeline: not late
        wh.ensure_table("runs", ibis_schema(schema.RUNS))  # a run that found nothing to do, on New Year's Day
        then = pd.Timestamp("2026-01-01T00:00:00Z")
        wh.insert("runs", pd.DataFrame([{"run_id": "r0", "step": "ingest", "started": then, "ended": then, "rows": 0,
                                         "outcome": "nothing", "message": "", "day": None, "batches": 0}]))
        late = freshness(wh, now=then + pd.Timedelta(hours=31))
        assert (late.status, late.late, late.healthy) == ("late", True, False)
        assert freshness(wh, now=then + pd.Timedelta(hours=2)).status == "ok"
    finally:
        wh.close()


def _child(root: str, point: str) -> None:  # pragma: no cover (runs in the killed process)
    import os

    os.environ["AIPL_TEST_KILL_AT"] = point
    wh = open_warehouse(root)
    run_daily(wh)
    wh.close()


def _tables(root: Path) -> dict[str, list]:
    """Every table's rows, sorted, without the columns that say when or in which run (they differ by nature)."""
    volatile = {"loaded_at", "refreshed_at", "started", "ended", "saved_at", "fitted_at", "created", "run_id",
                "built_at"}
    wh = open_warehouse(root)
    try:
        out = {}
        for name in sorted(set(wh.con.list_tables()) - {"runs"}):
            df = wh.table(name).execute()
            df = df[[c for c in df.columns if c not in volatile]]
            out[name] = sorted(map(repr, df.itertuples(index=False, name=None)))
        return out
    finally:
        wh.close()


def test_kill_9_at_each_step_then_resume_equals_an_uninterrupted_run(tmp_path, market, first_run):
    straight = first_run["result"]  # the uninterrupted run (its report is a file, not a table)
    assert straight.exit_code == 0 and json.loads(straight.stdout)["outcome"] == "ok", straight.output

    killed = workspace(tmp_path / "killed", market)
    fork = multiprocessing.get_context("fork")
    points = [f"{step}:{when}" for step in STEPS for when in ("during", "after")]
    survived = []
    for point in points:  # each process resumes where the one before it was killed, and is killed further on
        p = fork.Process(target=_child, args=(str(killed), point))
        p.start()
        p.join(120)
        if p.exitcode != -signal.SIGKILL:
            survived.append(point)
    assert survived == []
    wh = open_warehouse(killed)
    try:
        last = run_daily(wh)
        assert last.outcome == "ok" and last.resumed_from == "report"
        runs = wh.table("runs").execute()
        assert set(runs.outcome) == {"ok"} and runs.run_id.nunique() == 1  # one run, resumed 14 times
    finally:
        wh.close()
    assert _tables(killed) == first_run["tables"]


def test_alert_rules_fire_on_a_constructed_case_and_not_on_a_quiet_one():
    quiet_rates = pd.DataFrame({"brand_id": ["B1"], "category_id": ["c"], "this_week": [0.09], "last_week": [0.10]})
    drop = quiet_rates.assign(this_week=[0.05])
    rule = AlertRule.from_dict({"kind": "flow_drop", "threshold": 20})
    assert flow_drop(quiet_rates, rule) == []
    [fired] = flow_drop(drop, rule)
    assert (fired["value"], fired["reference"], fired["change"]) == (0.05, 0.10, -50.0)

    fast = pd.DataFrame({"brand_id": ["B1", "B2", "B3", "B4"], "category_id": ["c"] * 4, "S": [40, 50, 60, 70]})
    rule = AlertRule.from_dict({"kind": "fast_below_p25", "metric": "S"})
    assert fast_below_p25(fast.assign(S=[50, 50, 50, 50]), rule) == []
    [fired] = fast_below_p25(fast, rule)
    assert (fired["brand_id"], fired["value"], fired["reference"]) == ("B1", 40.0, 47.5)
    assert fast_below_p25(fast, AlertRule.from_dict({"kind": "fast_below_p25", "metric": "S", "brand": "B2"})) == []

    days = list(pd.date_range("2026-10-01", periods=5).date)
    gaps = pd.DataFrame({"brand_id": ["B1"] * 5, "category_id": ["c"] * 5, "pool": ["L"] * 5, "day": days,
                         "gap": [3, 2, 4, 6, 9]})
    rule = AlertRule.from_dict({"kind": "plan_gap_growing", "days": 3})
    [fired] = plan_gap_growing(gaps, rule)
    assert (fired["value"], fired["reference"], fired["metric"]) == (9.0, 2.0, "L")
    assert plan_gap_growing(gaps.assign(gap=[3, 4, 5, 5, 9]), rule) == []  # flat on one day: not growing
    assert plan_gap_growing(gaps.assign(gap=[-9, -8, -6, -3, -1]), rule) == []  # still ahead of the plan


def test_bad_pipeline_settings_are_refused_naming_the_file(tmp_path):
    root = init_workspace(tmp_path / "ws")
    with (root / "aipl.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[alerts]]\nkind = "sales_up"\n')
    with pytest.raises(ConfigError, match=r"aipl\.toml.*kind 'sales_up'"):
        load_config(root)
