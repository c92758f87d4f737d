"""The report's parts: inline SVG charts, the figures it gathers from the engines, and a category-only workspace
(UserBehavior) that still gives a useful report. The demo's report end to end: tests/test_pipeline.py."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.assets import AssetRules, asset_growth, deeplink_flow, fast, flow, series, snapshot
from aipl.cli import app
from aipl.clv import member_value
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.report import charts, gather, plan_context, write_report
from aipl.strategy import plan
from aipl.warehouse import open_warehouse
from tests.assets.test_states import at
from tests.conftest import shared
from tests.strategy import conftest as strategy_conftest


def auth_header(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_charts_are_inline_svg_with_their_labels_and_no_date():
    svg = charts.bar(["page_view", "purchase"], [1200.0, 30.0], title="行为事件 events by type", xlabel="events")
    assert svg.startswith('<svg class="chart" role="img" aria-label="行为事件 events by type"')
    for text in ("page_view", "purchase", "1,200", ">30<", "行为事件 events by type", "events"):
        assert text in svg
    assert "<script" not in svg and "<dc:date>" not in svg and "<?xml" not in svg
    assert svg == charts.bar(["page_view", "purchase"], [1200.0, 30.0], title="行为事件 events by type",
                             xlabel="events")  # deterministic
    assert charts.RED in svg.lower() or charts.RED.upper() in svg
    days = [f"D{k:+d}" for k in range(-10, 6)]
    svg = charts.lines(days, {"今年 this year": [*range(10), None, None, None, None, None, None],
                              "去年 last year": list(range(16))}, title="A_xu 人群池 pool size", mark="D+0")
    for text in ("今年 this year", "去年 last year", "A_xu 人群池 pool size", "D+0", "D-10"):
        assert text in svg
    svg = charts.flow({"none": {"none": 0, "A": 30}, "A": {"none": 10, "A": 30}}, title="B 人群流转 flow",
                      labels={"none": "无 none", "A": "认知 A"})
    for text in ("认知 A", "无 none", "起 from", "止 to", ">30<", "75%", "100%"):
        assert text in svg  # A → A: 30 consumers, 75 % of A's row; none → A: all of the row
    assert charts.bar([], []) == charts.lines(["D+0"], {"x": [1.0]}) == charts.EMPTY


@pytest.fixture
def shop(tmp_path):
    """The hand-made brand B of tests/strategy/conftest.py, with this year's campaign TY and last year's LY."""
    yield from strategy_conftest.ws.__wrapped__(tmp_path)


def test_gather_draws_the_engines_figures(shop):
    _, wh = shop
    data = gather.overview(wh)
    assert data["counts"]["events"] == wh.count("events") and data["by_type"].n.sum() == wh.count("events")
    a = gather.gather_assets(wh)
    last = wh.last_day(with_brand=True)
    start = last - timedelta(days=gather.FAST_DAYS)
    snap = snapshot(wh, "brand", a["top"], last)
    assert a["day"] == str(last) and a["funnel"] == snap["counts"]
    row = a["brands"].set_index("key").loc[a["top"]]
    assert {s: row[s] for s in snap["deeplink"]} == snap["deeplink"] and row["total"] == sum(snap["counts"].values())
    assert a["flow"] == flow(wh, "brand", a["top"], start, last)
    assert a["fast"][["brand_id", "F", "S"]].equals(fast(wh, start, last)[["brand_id", "F", "S"]])
    top = a["top"]  # the trend (with last year's days), 同比, DEEPLINK flows, member value and the club
    assert a["trend"].day.iloc[-1].date() == last
    assert a["trend"].equals(series(wh, "brand", top, a["trend"].day.iloc[0].date(), last))
    assert {s: int(a["trend"][s].iloc[-1]) for s in ("A", "I", "P", "L")} == a["funnel"]
    assert a["growth"] == asset_growth(wh, "brand", top, last)
    assert a["deeplink"] == deeplink_flow(wh, "brand", top, start, last)
    assert a["members"] == member_value(wh, top, last - timedelta(days=364), last)
    club = gather.gather_club(wh)
    assert club is None or club.line == AssetRules().gmv_club_line
    p = plan(wh, "B", "TY", gmv_target=1300, day=at(380).date())
    ctx = plan_context(p)
    assert ctx["plan"] == p.gta and "progress" not in ctx["plan"]
    for key in ("progress", "recommendations", "actions"):  # as JSON: NaN (no benchmark) equals NaN
        assert json.dumps(ctx[key], default=str) == json.dumps(p[key], default=str)
    assert list(ctx["charts"]) == ["A_xu", "I_xu", "P", "L"]
    assert all(c.startswith('<svg class="chart"') and "D+0" in c for c in ctx["charts"].values())
    example = gather.gather_plan(wh, "B")
    assert example["plan"]["campaign"]["campaign_id"] == "TY" and example["plan"]["baseline"]["campaign_id"] == "LY"
    assert example["plan"]["gmv_target"] == pytest.approx(gather.EXAMPLE_GROWTH * example["plan"]["last_year"]["gmv"])
    assert gather.gather_plan(wh, None) is None and gather.gather_crowds(wh, "B") is None  # no tag index yet


def test_category_only_userbehavior_gives_a_useful_report(tmp_path):
    """UserBehavior has no brand: the report shows category assets, trend and flows with the engines' figures,
    never a brand "nan"; FAST and the ranking say why they have nothing."""
    src = shared("taobao_userbehavior/UserBehavior_head_fattydelivery.csv")
    ws = init_workspace(tmp_path / "ub")
    wh = open_warehouse(ws)
    try:
        ingest(wh, src, "userbehavior")
        out = write_report(wh, tmp_path / "ub.html")
        a = gather.gather_assets(wh)
        top, day = a["top"], a["day"]
        snap = snapshot(wh, "category", top, day)
        dl = deeplink_flow(wh, "category", top, a["flow"]["from"], day)
        trend = series(wh, "category", top, a["trend"].day.iloc[0].date(), day)
    finally:
        wh.close()
    assert a["scope"] == "category" and a["funnel"] == snap.counts and a["deeplink"] == dl
    assert a["trend"].equals(trend) and len(trend) >= 7  # the data's nine days, not a 90-day stretch of zeros
    html = out.read_text(encoding="utf-8")
    assert "nan" not in re.sub(r"<svg.*?</svg>", "", html, flags=re.S) and "这份数据没有品牌" in html
    row = "".join(f'<td class="num">{snap.counts[s]:,}</td>' for s in ("A", "I", "P", "L"))
    assert f"<tr><td>{top}</td>{row}" in html  # the top category's counts, as the engine gives them
    assert "资产趋势" in html and "DEEPLINK 流转与环比" in html and "类目成交" in html
    assert html.index("消费者资产 <") < html.index("数据接入")
    for cmd in ("fast", "rank"):  # one line saying why, not empty tables nor a pandas error
        r = CliRunner().invoke(app, [cmd, "-w", str(ws)])
        assert r.exit_code == 2 and "no brand" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    r = CliRunner().invoke(app, ["fast", "-w", str(ws), "--json"])
    assert r.exit_code == 2 and "no brand" in json.loads(r.stdout)["error"]
    # the API (the dashboard's source): an admin reads every category, a viewer none; FAST says why it is empty
    add_tenant(ws, "open", ["UB"])
    admin, viewer = (auth_header(issue_token(ws, "open", role)) for role in ("admin", "viewer"))
    with TestClient(create_app(ws)) as c:
        assert top in c.get("/api/me", headers=admin).json()["categories"]
        assert c.get("/api/me", headers=viewer).json()["categories"] == []
        body = c.get(f"/api/assets/series?key={top}&scope=category&end={day}", headers=admin).json()
        assert {s: body["items"][-1][s] for s in ("A", "I", "P", "L")} == snap.counts and body["benchmark"] is None
        flows = c.get(f"/api/assets/deeplink-flow?key={top}&scope=category&start={dl['from']}&end={day}",
                      headers=admin).json()
        assert flows["flows"] == dl.flows
        assert c.get(f"/api/assets/snapshot?key={top}&scope=category", headers=viewer).status_code == 403
        r = c.get("/api/health/fast", headers=admin)
        assert r.status_code == 422 and "no brand" in r.json()["detail"]
