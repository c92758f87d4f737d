"""The demo end to end: every file reconciles and the report shows the warehouse's own numbers."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from aipl.cli import app
from aipl.warehouse import open_warehouse


def test_demo_writes_a_report_that_matches_the_warehouse(tmp_path):
    ws = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--workspace", str(ws), "--consumers", "3000"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
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
    ingestion, measure = html.split("活动增量")  # ✔ marks reconciled batches above, covered truths below
    assert "✘" not in ingestion and ingestion.count("✔") == len(b)
    assert "真值 true" in measure and measure.count("✔") + measure.count("✘") == 12  # a row per brand
    assert "结案报告" in (ws / "postmortem-B01.html").read_text(encoding="utf-8")
    assert f"<td>events</td><td class=\"num\">{n_events:,}</td>" in html
    assert n_quarantine == 9 and "page_view" in html  # the dirty demo file's rows are shown with reasons
    for heading in ("数据接入", "行为事件", "品牌成交", "大促日历", "模拟市场真值", "人群", "策略中心 GTA",
                    "万相台 自动投放"):
        assert heading in html
    assert re.search(r"<svg class=\"chart\"", html)
