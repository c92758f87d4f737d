"""The GTA plan on a hand-made brand (the `ws` fixture of conftest.py): every number of the plan computed by hand
(pools, rates, growth, projection, forecast, need and gap), calendars from aipl.toml, and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.strategy import calendars_from_config, load_campaign, plan, season
from tests.assets.test_states import at


def test_last_years_season_by_hand(ws):
    _, wh = ws
    s = season(wh, "B", load_campaign(wh, "LY"))
    assert (s["buyers"], s["gmv"], s["new_buyers"], s["aov"]) == (8, 520.0, 6, 65.0)  # l1 and p1 bought before
    sizes = {p: v["size"] for p, v in s["pools"].items()}
    assert sizes == {"L": 1, "P": 2, "I_xu": 3, "A_xu": 4, "I_act": 2, "A_act": 2, "O": 1, "direct": None}
    gmv = {p: v["gmv"] for p, v in s["pools"].items()}
    assert gmv == {"L": 100, "P": 50, "I_xu": 80, "A_xu": 60, "I_act": 40, "A_act": 30, "O": 70, "direct": 90}
    assert all(v["buyers"] == 1 and v["share"] == 1 / 8 for v in s["pools"].values())


def test_every_number_of_a_small_plan(ws):
    _, wh = ws
    p = plan(wh, "B", "TY", gmv_target=1300, day=at(380).date())
    assert p["baseline"]["campaign_id"] == "LY" and p["days_to_presale"] == 4 and p["aov"] == 65.0
    rows = {r["pool"]: r for r in p["pools"]}
    cvr = {"L": 1.0, "P": 0.5, "I_xu": 1 / 3, "A_xu": 0.25, "I_act": 0.5, "A_act": 0.5, "O": 1.0, "direct": None}
    assert {k: r["cvr"] for k, r in rows.items()} == pytest.approx(cvr)
    # pools on day 380 (l1 … d1 bought within 913 days: P) and last year's growth from day 15 to day 19
    assert {k: rows[k]["current"] for k in ("L", "P", "I_xu", "A_xu", "O")} == {
        "L": 1, "P": 9, "I_xu": 1, "A_xu": 2, "O": 1}
    assert {k: rows[k]["growth"] for k in ("L", "P", "I_xu", "A_xu", "O")} == pytest.approx(
        {"L": 1.0, "P": 1.0, "I_xu": 3 / 2, "A_xu": 1.0, "O": 1.0})  # i2 joined I after day 15
    g_all = 13 / 9  # L+P+I+A now (1+9+1+2) over last year's on day 15 (1+2+2+4)
    projected = {"L": 1, "P": 9, "I_xu": 1.5, "A_xu": 2, "I_act": 2 * g_all, "A_act": 2 * g_all, "O": 1}
    assert {k: rows[k]["projected"] for k in projected} == pytest.approx(projected)
    buyers = {"L": 1, "P": 4.5, "I_xu": 0.5, "A_xu": 0.5, "I_act": g_all, "A_act": g_all, "O": 1, "direct": g_all}
    assert {k: r["forecast_buyers"] for k, r in rows.items()} == pytest.approx(buyers)
    gmv = {"L": 100, "P": 225, "I_xu": 40, "A_xu": 30, "I_act": 40 * g_all, "A_act": 30 * g_all, "O": 70,
           "direct": 90 * g_all}
    assert {k: r["forecast_gmv"] for k, r in rows.items()} == pytest.approx(gmv)
    assert p["pool_gmv"] == pytest.approx(sum(gmv.values()))  # the pool model; forecast_gmv: the chosen method
    # the target: 1300 / 65 = 20 buyers, 2.5 from each pool (last year's shares are 1/8 each)
    assert p["buyers_needed"] == pytest.approx(20) and p["new_buyers_needed"] == pytest.approx(15)
    need = {"L": 2.5, "P": 5, "I_xu": 7.5, "A_xu": 10, "I_act": 5, "A_act": 5, "O": 2.5}
    assert {k: rows[k]["size_needed"] for k in need} == pytest.approx(need)
    assert {k: rows[k]["gap"] for k in need} == pytest.approx({k: need[k] - projected[k] for k in need})
    assert rows["direct"]["size_needed"] is None
    assert p["gmv_gap"] == pytest.approx(1300 - p["forecast_gmv"])
    assert p["growth_needed"] == pytest.approx(1300 / 520)
    assert "3 on 2026-01-20 / 2 on 2026-01-16" in p["sources"]["I_xu"]["projected"].replace(",", "")


def test_a_brand_without_history_plans_from_its_industry(ws):
    _, wh = ws
    p = plan(wh, "Z", "TY", gmv_target=650, day=at(380).date(), aov=65.0)  # Z sold nothing last year
    assert p["rates_from"] == "industry median of B in LY" and p["aov_source"] == "given"
    rows = {r["pool"]: r for r in p["pools"]}
    assert rows["P"]["cvr"] == 0.5 and rows["A_xu"]["cvr"] == 0.25 and rows["O"]["share"] == 1 / 8
    assert p["buyers_needed"] == pytest.approx(10)


def test_plan_errors_and_calendars_from_config(ws, tmp_path):
    root, wh = ws
    with pytest.raises(ValueError, match="unknown campaign 'nope'; known: LY, TY"):
        plan(wh, "B", "nope")
    with pytest.raises(ValueError, match="no campaign named '双11' about a year before 'LY'"):
        plan(wh, "B", "LY")
    df = calendars_from_config({"d11": {"name": "双11", "brand": "B", "presale": [["2026-10-20", "2026-10-31"],
                                                                                   ["2026-11-04", "2026-11-10"]],
                                        "burst": [["2026-10-31", "2026-11-03"], ["2026-11-11", "2026-11-11"]]}})
    assert len(df) == 4 and set(df.phase) == {"presale", "burst"}  # a two-wave (双截棍) calendar
    with pytest.raises(ValueError, match=r"\[campaigns.x\] burst\[0\] ends \(2026-01-01\) before it starts"):
        calendars_from_config({"x": {"burst": [["2026-01-02", "2026-01-01"]]}})
    with pytest.raises(ValueError, match="unknown key"):
        calendars_from_config({"x": {"bursts": []}})
    cfg = root / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[campaigns.d11]\nname = "双11"\nburst = [["2026-11-11", '
                   '"2026-11-11"]]\n', encoding="utf-8")
    wh.close()
    r = CliRunner().invoke(app, ["calendars", "-w", str(root)])
    assert r.exit_code == 0 and "d11 双11 (platform-wide): burst 2026-11-11..2026-11-11" in r.stdout


def test_plan_cli(ws):
    root, wh = ws
    wh.close()
    r = CliRunner().invoke(app, ["plan", "-w", str(root), "--brand", "B", "--campaign", "TY", "--gmv-target",
                                 "1300", "--day", str(at(380).date()), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["buyers_needed"] == pytest.approx(20) and body["actions"][0]["day"] == str(at(381).date())
    assert {a["stage"] for a in body["actions"]} == {"提效期 build", "冲刺期 sprint"}
    assert {r["rule"] for r in body["recommendations"]} >= {"interest_guidance"}
    from aipl.audience import parse

    for r in body["recommendations"]:  # each names its crowd in the crowd language
        assert r["crowd_expr"] is None or parse(r["crowd_expr"])
    guide = next(r for r in body["recommendations"] if r["rule"] == "interest_guidance")
    assert guide["crowd_expr"] == 'aipl(brand="B") = "A"'
    out = root / "plan.html"
    r = CliRunner().invoke(app, ["plan", "-w", str(root), "--brand", "B", "--campaign", "TY", "--gmv-target",
                                 "1300", "--day", str(at(380).date()), "--out", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    for text in ("策略中心 GTA 计划", "人群池", "行动计划", "<svg", "缺口 gap", "朴素预测 naive", "90% 区间 interval",
                 "预测方法 method", "peer reference (n=1)"):
        assert text in page
    r = CliRunner().invoke(app, ["plan", "-w", str(root), "--brand", "B", "--campaign", "TY", "--gmv-target", "-5"])
    assert r.exit_code == 2 and "must be positive" in r.output
