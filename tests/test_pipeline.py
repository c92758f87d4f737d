"""Whole-workspace use cases: the demo workspace (what `aipl demo` builds before writing its report)."""

from __future__ import annotations

from aipl.ingest import warehouse_status
from aipl.pipeline import BUNDLED, demo
from aipl.warehouse import open_warehouse


def test_demo_builds_a_reconciled_workspace_and_reports_each_step(tmp_path):
    steps, fractions = [], []
    res = demo(tmp_path / "demo", consumers=300,
               progress=lambda message, f: steps.append(message) if f is None else fractions.append(f))
    assert [s[:5] for s in steps if s.startswith("[")] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0  # the simulation's days
    assert (res.root, res.campaign, res.brand) == ((tmp_path / "demo").resolve(), "sim_double11", "B01")
    assert res.truth is not None and len(res.loads) == 7 + len(BUNDLED)
    assert all(r.read == r.accepted + r.rejected for r in res.loads)
    assert res.loads[-1].rejected == 9  # the deliberately dirty file
    wh = open_warehouse(res.root)
    try:
        tables = warehouse_status(wh).tables
        assert tables["events"] > 0 and tables["quarantine"] == 9
        assert "consumer_tags" in wh.con.list_tables()  # crowd tags are ready for the report
    finally:
        wh.close()
    assert "DemoResult(root=" in repr(res) and "loads" not in repr(res)
