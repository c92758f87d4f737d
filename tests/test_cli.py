"""The `aipl` command as a user runs it: JSON output, readable errors, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aipl.cli import app
from aipl.ingest import quarantined, warehouse_status
from aipl.pipeline import file_warehouse
from aipl.warehouse import open_warehouse
from tests.conftest import BUNDLED, DATA

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_init_ingest_json_quarantine_status(tmp_path):
    ws = str(tmp_path / "ws")
    assert run("init", ws).exit_code == 0
    r = run("ingest", str(BUNDLED / "events_dirty.csv"), "--format", "events", "--workspace", ws, "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert (body["read"], body["accepted"], body["rejected"]) == (12, 3, 9)
    assert body["read"] == body["accepted"] + body["rejected"]
    again = json.loads(run("ingest", str(BUNDLED / "events_dirty.csv"), "-f", "events", "-w", ws, "--json").stdout)
    assert again["already_loaded"] is True and again["accepted"] == 0
    q = json.loads(run("quarantine", "-w", ws, "--json").stdout)
    assert q["total"] == 9 and {"line", "field", "reason", "source"} <= set(q["rows"][0])
    s = json.loads(run("status", "-w", ws, "--json").stdout)
    assert s["tables"]["events"] == 3 and s["tables"]["quarantine"] == 9


def test_workspace_from_environment(tmp_path, monkeypatch):
    ws = tmp_path / "envws"
    run("init", str(ws))
    monkeypatch.setenv("AIPL_WORKSPACE", str(ws))
    r = run("ingest", str(DATA / "userbehavior_small.csv"), "-f", "userbehavior", "--json")
    assert json.loads(r.stdout)["accepted"] == 9  # line 11 repeats line 10: two page views, not a duplicate


def test_errors_are_clear_and_exit_2(tmp_path):
    ws = str(tmp_path / "ws")
    run("init", ws)
    r = run("ingest", str(tmp_path / "missing.csv"), "-f", "events", "-w", ws)
    assert r.exit_code == 2 and "missing.csv: no such file" in r.output
    r = run("ingest", str(BUNDLED / "events_dirty.csv"), "-f", "nope", "-w", ws)
    assert r.exit_code == 2 and "unknown format 'nope'" in r.output
    r = run("status", "-w", str(tmp_path / "not-a-workspace"))
    assert r.exit_code == 2 and "aipl init" in r.output
    r = run("status", "-w", str(tmp_path / "not-a-workspace"), "--json")  # machine output: a JSON error too
    assert r.exit_code == 2 and "aipl init" in json.loads(r.stdout)["error"]
    r = run("init", str(tmp_path / "bad"), "--timezone", "Mars/Olympus")
    assert r.exit_code == 2 and "not a known time zone" in r.output


def test_status_and_quarantine_are_the_ingest_functions_results(tmp_path):
    ws = tmp_path / "ws"
    run("init", str(ws))
    run("ingest", str(BUNDLED / "events_dirty.csv"), "-f", "events", "-w", str(ws))
    wh = open_warehouse(ws)
    try:
        status, q = warehouse_status(wh).to_dict(), quarantined(wh, "dirty", limit=4).to_dict()
    finally:
        wh.close()
    body = json.loads(run("status", "-w", str(ws), "--json").stdout)
    assert body.pop("freshness")["status"] == "never"  # never run by the daily pipeline (docs/pipeline.md)
    assert body == {"workspace": str(ws), **status}
    assert json.loads(run("quarantine", "-w", str(ws), "--source", "dirty", "--limit", "4", "--json").stdout) == q
    assert q["total"] == 9 and len(q["rows"]) == 4 and [r["line"] for r in q["rows"]] == sorted(
        r["line"] for r in q["rows"])


def test_a_file_read_directly_is_validated_like_an_ingested_one(tmp_path):
    with file_warehouse(BUNDLED / "events_dirty.csv", "events") as (wh, report):
        assert (report.read, report.accepted, report.rejected) == (12, 3, 9)
        assert quarantined(wh).total == 9
    r = run("clv", "fit", str(BUNDLED / "events_dirty.csv"), "-f", "events", "--calibration-end", "2026-01-01")
    assert r.exit_code == 2 and "9 of 12 rows" in r.output and "no purchases before the calibration end" in r.output


def test_formats_lists_every_adapter():
    r = run("formats")
    for name in ("events", "userbehavior", "ali_display_ad", "tmall_repeat", "cdnow", "hillstrom"):
        assert name in r.stdout


def test_bad_config_and_bad_days_exit_2_with_the_reason(tmp_path):
    ws = tmp_path / "ws"
    run("init", str(ws))
    cfg = ws / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("interest_days = 15", "interest_days = 0"), encoding="utf-8")
    r = run("status", "-w", str(ws))
    assert r.exit_code == 2 and "[assets] interest_days must be at least 1 day" in r.output
    good = tmp_path / "good"
    run("init", str(good))
    for args in (["assets", "snapshot", "--key", "B", "--day", "2026-13-01"],
                 ["members", "summary", "--brand", "B", "--day", "nope"],
                 ["fast", "--start", "2026-01-01", "--end", "2026-02-30"]):
        r = run(*args, "-w", str(good))
        assert r.exit_code == 2 and "is not a valid day (YYYY-MM-DD)" in r.output, (args, r.output)
