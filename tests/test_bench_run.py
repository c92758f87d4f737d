"""bench/run.py: the size → arguments mapping, running a benchmark as a child (with stand-in scripts that finish at
once), and the scale tables written from canned reports."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    yield mod
    del sys.modules["bench_run"]


def test_every_benchmark_is_mapped_at_every_size(run):
    scripts = {p.stem for p in BENCH.glob("*.py")} - {"run", "common"}
    for name, events in run.SIZES.items():
        todo = run.benchmarks(run.Size(name, events))
        assert set(todo) == scripts  # a new benchmark gets its arguments here
    tiny = run.benchmarks(run.Size("tiny", run.SIZES["tiny"]))
    assert tiny["pipeline"][0] == ["--events", "100000", "--consumers", "10000", "--brands", "10"]
    assert tiny["ingest"] == (["--rows", "100000", "--repeat", "1"], True)
    big = run.benchmarks(run.Size("100m", run.SIZES["100m"]))
    assert big["assets"][0][:4] == ["--events", "100000000", "--consumers", "10000000"]
    assert "--no-pandas" in big["assets"][0] and "--repeat" in big["clv"][0]
    assert big["serve"][1] is False  # not a function of the events: no growth exponent


def test_dry_run_prints_the_commands_only(run, capsys):
    assert run.main(["--size", "tiny", "--only", "pipeline", "clv", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "pipeline.py --events 100000" in out[0] and out[1].endswith("--json clv.json")
    with pytest.raises(SystemExit):
        run.main(["--size", "tiny", "--only", "nosuch", "--dry-run"])


FAKE = """
import argparse, json, sys, tempfile
assert tempfile.gettempdir() == {tmp!r}  # the runner's own folder beside the logs
ap = argparse.ArgumentParser()
ap.add_argument("--events")
{json_arg}
a = ap.parse_args()
print("working", flush=True)
if {report}:
    json.dump({{"bench": "fake", "args": vars(a), "ok": {ok}, "rows": [{{"step": "s", "seconds": 0.5,
        "baseline": "b", "baseline_seconds": 1.0, "ratio": 0.5, "target": None, "met": None,
        "peak_rss_gib": {peak}}}]}},
        open(a.json, "w"))
sys.exit({code})
"""


def fake(tmp_path: Path, name: str, json_arg: bool = True, report: bool = True, ok: bool = True,
         code: int = 0, peak: float | None = None) -> Path:
    p = tmp_path / f"{name}.py"
    p.write_text(FAKE.format(json_arg='ap.add_argument("--json")' if json_arg else "", report=report, ok=ok,
                             code=code, tmp=str(tmp_path / "tmp"), peak=peak))
    return p


@pytest.mark.parametrize(("kw", "status"), [
    ({}, "ok"),
    ({"ok": False, "code": 1}, "failed"),  # a wrong answer
    ({"code": 1}, "missed"),  # a correct answer that missed a target
    ({"report": False, "code": 3}, "failed"),  # a crash without a report
    ({"json_arg": False, "report": False}, "not reported"),  # no --json yet: retried without it
])
def test_a_child_is_classified_by_its_report_and_exit(run, tmp_path, kw, status):
    rec = run.run_bench("fake", ["--events", "10", "--consumers", "1"], True, 30, 0, tmp_path,
                        script=fake(tmp_path, "fake", **kw))
    assert rec["status"] == status, rec
    assert "--consumers" in rec["ignored"] and "--consumers" not in rec["command"]  # an unknown option is dropped
    assert rec["command"].startswith("python ") and rec["command"].endswith("fake.py --events 10")
    assert rec["peak_rss_gib"] > 0 and rec["wall"] > 0
    assert run.failed(rec) == (status == "failed")
    if status == "not reported":
        assert "--json" in rec["ignored"] and "no --json option" in rec["reason"]
    elif status in ("ok", "missed"):
        assert rec["rows"][0]["ratio"] == 0.5


def test_a_step_peak_above_the_childs_last_high_water_mark_is_its_peak(run, tmp_path):
    """A benchmark that restarts its high-water mark per step (bench/assets.py) hides its earlier peaks from wait4:
    the highest step peak of its report is its peak, and the 8 GiB cap is judged on it."""
    rec = run.run_bench("fake", [], True, 30, 0, tmp_path, script=fake(tmp_path, "fake", peak=11.57))
    assert rec["status"] == "ok" and rec["peak_rss_gib"] == 11.57
    low = run.run_bench("fake", [], True, 30, 0, tmp_path, script=fake(tmp_path, "fake", peak=0.001))
    assert low["peak_rss_gib"] > 0.001  # the child's own measured peak (a Python process) when it is the higher


def test_a_child_past_its_timeout_is_killed(run, tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import argparse, time\nap = argparse.ArgumentParser()\nap.add_argument('--json')\n"
                      "ap.parse_args()\ntime.sleep(60)\n")
    rec = run.run_bench("slow", [], True, 0.3, 0, tmp_path, script=script)
    assert rec["status"] == "timeout" and run.failed(rec) and rec["wall"] < 10


def record(bench: str, wall: float, rss: float, steps: dict[str, float], scales: bool = True) -> dict:
    rows = [{"step": s, "seconds": v, "baseline": "plain SQL", "baseline_seconds": v / 2, "ratio": 2.0,
             "target": "<= 10x", "met": True, "peak_rss_gib": rss / 2} for s, v in steps.items()]
    return {"bench": bench, "status": "ok", "reason": "", "wall": wall, "peak_rss_gib": rss, "rows": rows,
            "scales": scales, "exit": 0, "ignored": [], "args": {}, "command": bench}


def test_tables_and_growth_exponents_from_canned_reports(run):
    store = {}
    run.merge(store, run.Size("1m", 10**6), [record("assets", 10.0, 1.0, {"build": 4.0}),
                                             record("serve", 30.0, 0.5, {"p99": 0.2}, scales=False)], "2026-12-02T22")
    run.merge(store, run.Size("10m", 10**7), [record("assets", 100.0, 2.0, {"build": 40.0})], "2026-12-02T23")
    run.merge(store, run.Size("10m", 10**7), [record("assets", 100.0, 2.0, {"build": 40.0, "update": 1.0})],
              "2026-12-02T23")  # a rerun replaces that benchmark at that size only
    assert set(store["sizes"]) == {"1m", "10m"} and set(store["sizes"]["1m"]["benches"]) == {"assets", "serve"}
    assert run.exponent((10**6, 4.0), (10**7, 40.0)) == pytest.approx(1.0)
    assert run.exponent((10**6, 4.0), (10**7, None)) is None
    text = run.render(store)
    assert "### 1M events (100k consumers)" in text and "### 10M events (1M consumers)" in text
    assert "| assets | build | 4.00 |  | 0.50 | plain SQL | 2.00 | 2.00x | <= 10x | met |" in text
    growth = text.split("### Growth with size")[1]
    cells = {line.split(" | ")[1]: [c.strip() for c in line.strip("| ").split(" | ")]
             for line in growth.splitlines() if line.startswith("| assets |")}
    assert cells["build"][-2:] == ["1.00", "0.30"]  # time grows in proportion; memory 0.5 → 1.0 GiB: 10^0.30
    assert cells["(whole run)"][2:] == ["10.00", "100", "1.00", "2.00", "1.00", "0.30"]
    assert "| serve |" not in growth and "| assets | update |" not in growth  # not scaled; only one size
    run.merge(store, run.Size("tiny", 10**5), [record("assets", 1.0, 0.3, {"build": 0.4})], "2026-12-02T21")
    assert "@tiny" not in run.render(store)  # a smoke test: fixed costs rule, no exponent


def test_the_scale_section_is_added_then_replaced_in_place(run):
    store = run.merge({}, run.Size("tiny", 10**5), [record("assets", 1.0, 0.3, {"build": 0.4})], "2026-12-02")
    doc = run.write_doc("# Performance\n\n## Assets\n\ntext\n", store)
    assert doc.count("## Scale") == 1 and doc.index("## Assets") < doc.index("## Scale") and run.INTRO in doc
    store["sizes"]["tiny"]["benches"]["assets"]["status"] = "failed"
    again = run.write_doc(doc + "\n## Later\n\nkept\n", store)
    assert again.count(run.BEGIN) == 1 and "| assets | failed |" in again and again.endswith("## Later\n\nkept\n")


def test_main_writes_the_store_and_the_doc_and_render_rewrites_them(run, tmp_path):
    doc, store = tmp_path / "performance.md", tmp_path / "performance.json"
    doc.write_text("# Performance\n\nintro\n")
    run.write(doc, store, [record("assets", 1.0, 0.3, {"build": 0.4})], run.Size("1m", 10**6))
    assert "1m" in json.loads(store.read_text())["sizes"] and "| assets | ok |" in doc.read_text()
    doc.write_text(doc.read_text().replace("| assets | ok |", "| edited by hand |"))
    assert run.main(["--render", "--doc", str(doc), "--store", str(store)]) == 0
    assert "| assets | ok |" in doc.read_text() and doc.read_text().startswith("# Performance\n\nintro\n")
