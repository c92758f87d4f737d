"""The campaign post-mortem (结案) on a hand-made campaign, every figure checked by hand; then the HTML and PDF
of a simulated campaign with a randomised holdout."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from aipl import schema
from aipl.cli import app
from aipl.config import init_workspace
from aipl.measure import postmortem
from aipl.report.gather import gather_postmortem, incremental
from aipl.report.render import postmortem_charts
from aipl.warehouse import open_warehouse
from tests.assets.test_states import at, ev, load
from tests.measure.conftest import market_workspace
from tests.measure.test_pi import _insert

D = date(2026, 1, 1)


def _day(n: int) -> date:
    return at(n).date()


@pytest.fixture
def ws(tmp_path):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    _insert(wh, schema.CAMPAIGNS, [
        {"campaign_id": "C", "name": "test", "brand_id": "B", "phase": "warmup", "start_date": _day(10),
         "end_date": _day(14)},
        {"campaign_id": "C", "name": "test", "brand_id": "B", "phase": "burst", "start_date": _day(15),
         "end_date": _day(19)},
    ])
    _insert(wh, schema.AD_DELIVERY, [
        {"day": _day(10), "brand_id": "B", "channel": "display", "campaign_id": "C", "crowd_id": "K1",
         "creative_id": "X1", "impressions": 1000, "clicks": 10, "cost": 50.0},
        {"day": _day(15), "brand_id": "B", "channel": "search", "campaign_id": "C", "crowd_id": "K2",
         "creative_id": "X2", "impressions": 500, "clicks": 20, "cost": 100.0},
        {"day": _day(15), "brand_id": "B", "channel": "search", "campaign_id": "OTHER", "impressions": 9,
         "clicks": 9, "cost": 9.0},
        {"day": _day(15), "brand_id": "Z", "channel": "search", "campaign_id": "C", "impressions": 9, "cost": 9.0},
    ])
    touch = {"campaign_id": "C"}
    display = {**touch, "channel": "display", "crowd_id": "K1", "creative_id": "X1"}
    search = {**touch, "channel": "search", "crowd_id": "K2", "creative_id": "X2"}
    load(wh, [
        ev("a", "exposure", 10, **display), ev("a", "purchase", 12, item_id="i1", amount=100.0),  # wide, new
        ev("b", "purchase", -100, item_id="i9", amount=5.0),                                       # b is returning
        ev("b", "ad_click", 15, item_id="i2", **search), ev("b", "purchase", 16, item_id="i2", amount=50.0),
        ev("c", "ad_click", 15, item_id="i2", **search),
        ev("c", "favorite", 15, item_id="i2", ts=at(15, 13)),                                     # narrow 收藏
        ev("c", "purchase", 17, item_id="i3", amount=30.0),                                       # other item: wide
        ev("d", "exposure", 10, **display), ev("d", "purchase", 30, item_id="i1", amount=70.0),   # after the end
        ev("e", "purchase", 16, item_id="i1", amount=40.0),                                       # never touched
        ev("g", "exposure", 10, **display), ev("g", "ad_click", 16, ts=at(16, 9), **search),      # click, no item
        ev("g", "add_to_cart", 16, item_id="i4", ts=at(16, 10)),
        ev("g", "purchase", 18, item_id="i4", amount=20.0),
        ev("h", "exposure", 10, brand_id="Z", **display), ev("h", "purchase", 11, brand_id="Z", amount=1.0),
    ])
    yield wh
    wh.close()


def test_hand_checked_postmortem(ws):
    pm = postmortem(ws, "C", with_lift=False)
    assert pm["brand"] == "B" and (pm["start"], pm["end"]) == (str(_day(10)), str(_day(19)))
    wide, narrow = pm["totals"]["wide"], pm["totals"]["narrow"]
    for t in (wide, narrow):  # delivery is the same in both scopes: only campaign C of brand B
        assert (t["spend"], t["impressions"], t["clicks"]) == (150.0, 1500, 30)
        assert (t["ctr"], t["cpc"], t["cpm"]) == pytest.approx((0.02, 5.0, 100.0))
        assert t["fav_cart"] == 2 and t["fav_cart_cost"] == pytest.approx(75.0)
    # wide: a 100 (display), b 50, c 30, g 20 (search); narrow: b (clicked item) and g (click without item)
    assert (wide["orders"], wide["gmv"], wide["buyers"], wide["new_buyers"]) == (4, 200.0, 4, 3)
    assert wide["new_gmv"] == 150.0 and wide["new_gmv_share"] == pytest.approx(0.75)
    # wide CVR: buyers after any touch / consumers reached (a, b, c, d, g); narrow: orders / clicks
    assert (wide["cvr_numerator"], wide["cvr_denominator"]) == (4, 5) and wide["cvr"] == pytest.approx(4 / 5)
    assert wide["roi"] == pytest.approx(200 / 150)
    assert (narrow["orders"], narrow["gmv"]) == (2, 70.0)
    assert (narrow["cvr_numerator"], narrow["cvr_denominator"]) == (2, 30)
    assert narrow["cvr"] == pytest.approx(2 / 30) and narrow["roi"] == pytest.approx(70 / 150)
    by_channel = {r["channel"]: r for r in pm["cuts"]["wide"]["channel"]}
    assert (by_channel["display"]["spend"], by_channel["display"]["orders"], by_channel["display"]["gmv"]) == (
        50.0, 1, 100.0)
    assert (by_channel["search"]["spend"], by_channel["search"]["orders"], by_channel["search"]["gmv"],
            by_channel["search"]["fav_cart"]) == (100.0, 3, 100.0, 2)
    assert by_channel["search"]["new_gmv_share"] == pytest.approx(50 / 100)
    crowds = {r["crowd_id"]: r["gmv"] for r in pm["cuts"]["wide"]["crowd_id"]}
    assert crowds == {"K2": 100.0, "K1": 100.0}
    phases = [(r["phase"], r["spend"], r["orders"], r["gmv"]) for r in pm["cuts"]["wide"]["phase"]]
    assert phases == [("warmup", 50.0, 1, 100.0), ("burst", 100.0, 3, 100.0)]  # calendar order
    narrow_phase = {r["phase"]: r["gmv"] for r in pm["cuts"]["narrow"]["phase"]}
    assert narrow_phase == {"warmup": 0.0, "burst": 70.0}
    customers = {c["customer"]: (c["buyers"], c["gmv"]) for c in pm["customers"]}
    assert customers == {"new": (3, 150.0), "returning": (1, 50.0)}
    assert pm["flow"]["from"] == str(_day(9)) and pm["flow"]["to"] == str(_day(19))
    with pytest.raises(ValueError, match="no delivery and no attributed behaviour"):
        postmortem(ws, "C", brand="NOBODY", with_lift=False)


def test_the_postmortem_report_shows_the_engines_figures(ws):
    data = gather_postmortem(ws, "C")
    pm = postmortem(ws, "C")
    assert data["pm"]["totals"] == pm["totals"] and data["pm"]["cuts"] == pm["cuts"]
    assert data["narrow"]["phase"]["burst"]["gmv"] == 70.0 and data["narrow"]["channel"]["search"]["orders"] == 2
    drawn = postmortem_charts(data["pm"])
    for text in ("display", "search", ">100<", "成交金额 GMV"):  # both channels made 100 of wide GMV
        assert text in drawn["channel"]
    assert "预热期 warmup" in drawn["phase"] and "burst" in drawn["phase"]
    assert "起 from" in drawn["flow"] and "B 人群流转" in drawn["flow"]
    lift = {"arms": [{"arm": "control"}, {"arm": "t", "lift": {"spend": {"incremental": 300.0, "ci_low": 1.0,
                                                                         "ci_high": 5.0, "n_treated": 100}}}]}
    assert incremental({"lift": lift, "totals": {"wide": {"spend": 150.0}}}) == {
        "gmv": 300.0, "low": 100.0, "high": 500.0, "iroi": 2.0}
    assert incremental({"lift": None}) is None


def test_postmortem_html_and_pdf_of_a_simulated_campaign(tmp_path):
    folder = tmp_path / "m"
    wh, _ = market_workspace(folder, consumers=4000, days=21, brands=3, seed=4, lead_days=14, holdout=0.3)
    pm = postmortem(wh, "sim_double11", "B01")
    assert pm["lift"]["kind"] == "randomised" and pm["totals"]["wide"]["gmv"] >= pm["totals"]["narrow"]["gmv"] > 0
    assert [r["phase"] for r in pm["cuts"]["wide"]["phase"]][:2] == ["daily", "accumulate"]
    wh.close()
    html, pdf = tmp_path / "pm.html", tmp_path / "pm.pdf"
    r = CliRunner().invoke(app, ["report", "-w", str(folder), "--campaign", "sim_double11", "--brand", "B01",
                                 "--out", str(html), "--pdf", str(pdf)])
    assert r.exit_code == 0, r.output
    page = html.read_text(encoding="utf-8")
    for text in ("结案报告", "窄口径 narrow", "宽口径 wide", "新客", "渠道 By channel", "增量 ROI iROI", "<svg"):
        assert text in page
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    r = CliRunner().invoke(app, ["report", "-w", str(folder), "--pdf", str(pdf)])
    assert r.exit_code == 2 and "--pdf goes with --campaign" in r.output


def test_postmortem_command_states_each_cvr_and_its_denominator(ws, tmp_path):
    ws.close()  # the command opens the workspace itself
    folder = str(tmp_path / "ws")
    r = CliRunner().invoke(app, ["postmortem", "C", "-w", folder, "--json"])
    assert r.exit_code == 0, r.output
    pm = json.loads(r.stdout.strip().splitlines()[-1])  # after the asset build's progress (stderr)
    assert (pm["totals"]["wide"]["cvr_numerator"], pm["totals"]["wide"]["cvr_denominator"]) == (4, 5)
    assert (pm["totals"]["narrow"]["cvr_numerator"], pm["totals"]["narrow"]["cvr_denominator"]) == (2, 30)
    assert {r["customer"] for r in pm["cuts"]["wide"]["customer"]} >= {"new", "returning"}
    r = CliRunner().invoke(app, ["postmortem", "C", "-w", folder])
    assert r.exit_code == 0 and "consumers reached" in r.output and "orders (narrow) / clicks" in r.output
    r = CliRunner().invoke(app, ["postmortem", "NOPE", "-w", folder])
    assert r.exit_code == 2 and "unknown campaign 'NOPE'" in r.output and "Traceback" not in r.output

