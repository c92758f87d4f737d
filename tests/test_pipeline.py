"""Whole-workspace use cases: the demo workspace, built once for the module by `aipl demo` (the library's `demo`,
then the post-mortem): its steps and loads reconcile, and its report shows the warehouse's own numbers."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import aipl.cli.workspace
from aipl.cli import app
from aipl.ingest import warehouse_status
from aipl.pipeline import BUNDLED
from aipl.pipeline import demo as build_demo
from aipl.warehouse import open_warehouse


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """`aipl demo` on 300 consumers (a 12-brand, 60-day market whatever the number), with what the library's `demo`
    reported to the command (its progress messages and fractions) and returned."""
    ws = tmp_path_factory.mktemp("demo") / "demo"
    seen: dict = {"steps": [], "fractions": []}

    def spy(root, consumers, progress):
        def both(message: str, fraction: float | None) -> None:
            (seen["steps"].append(message) if fraction is None else seen["fractions"].append(fraction))
            progress(message, fraction)

        seen["result"] = build_demo(root, consumers, progress=both)
        return seen["result"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aipl.cli.workspace, "build_demo", spy)
        r = CliRunner().invoke(app, ["demo", "--workspace", str(ws), "--consumers", "300"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return {"ws": ws, **seen}


def test_demo_builds_a_reconciled_workspace_and_reports_each_step(demo):
    steps, fractions, res, ws = demo["steps"], demo["fractions"], demo["result"], demo["ws"]
    assert [s[:5] for s in steps if s.startswith("[")] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0  # the simulation's days
    assert (res.root, res.campaign, res.brand) == (ws.resolve(), "sim_double11", "B01")
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


def test_demo_writes_a_report_that_matches_the_warehouse(demo):
    ws = demo["ws"]
    html = (ws / "report.html").read_text(encoding="utf-8")
    wh = open_warehouse(ws)
    try:
        b = wh.table("batches").execute()
        assert (b.read == b.accepted + b.rejected).all()
        assert set(b.format) >= {"events", "consumers", "cdnow", "campaigns", "ad_delivery"}
        n_events = wh.count("events")
        n_quarantine = wh.count("quarantine")
    finally:
        wh.close()
    # a marketer's sections first (assets, trend, flows, health, plan, campaign results), the data at the end
    order = [html.index(h) for h in ("消费者资产 <", "资产趋势", "人群流转", "健康度", "策略中心 GTA", "活动增量",
                                     "数据接入")]
    assert order == sorted(order)
    measure, ingestion = html.split("数据接入")  # covered truths above, ✔ marks reconciled batches below
    measure = measure[measure.index("活动增量"):measure.index("亿元俱乐部")]
    assert "✘" not in ingestion and ingestion.count("✔") == len(b)
    assert "真值 true" in measure and measure.count("✔") + measure.count("✘") == 12  # a row per brand
    assert "结案报告" in (ws / "postmortem-B01.html").read_text(encoding="utf-8")
    assert f"<td>events</td><td class=\"num\">{n_events:,}</td>" in html
    assert n_quarantine == 9 and "page_view" in html  # the dirty demo file's rows are shown with reasons
    for heading in ("数据接入", "行为事件", "品牌成交", "大促日历", "模拟市场真值", "人群", "策略中心 GTA",
                    "万相台 自动投放", "消费者资产同比", "DEEPLINK 流转与环比", "会员价值", "亿元俱乐部"):
        assert heading in html
    assert re.search(r"<svg class=\"chart\"", html)
