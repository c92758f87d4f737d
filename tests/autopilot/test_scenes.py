"""Scenes: each channel's impression valued for the scene's aim from attributed outcomes, the plan, the ROI
floor, and the CLI (plan by scene, package budgets, flights against the simulated market's curves)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aipl.attribution import attributed
from aipl.autopilot.scenes import SCENES, impression_values, scene_plan
from aipl.cli import app
from tests.measure.conftest import market_workspace


def test_scene_plans_on_a_simulated_market(tmp_path):
    wh, _ = market_workspace(tmp_path / "m", consumers=8000, days=40, brands=2, seed=6)
    acts = attributed(wh, "sim_double11", "B01")
    values = impression_values(wh, "B01", "sim_double11", "gmv")
    imps = wh.raw.execute("""SELECT channel, sum(impressions) n FROM ad_delivery WHERE brand_id = 'B01'
        GROUP BY 1""").df().set_index("channel").n
    buys = acts[acts.event_type == "purchase"]
    for ch, v in values.items():  # attributed GMV over the channel's impressions
        assert v == pytest.approx(buys[buys.channel == ch].amount.sum() / imps[ch])
    for name in SCENES:
        p = scene_plan(wh, "B01", name, 60.0, "sim_double11")
        assert sum(p["shares"].values()) == pytest.approx(1.0) and p["objective"] >= p["equal_split"] * 0.999
    full = scene_plan(wh, "B01", "爆发收割", 60.0, "sim_double11")
    floor = 1.5 * full["roi"]
    capped = scene_plan(wh, "B01", "爆发收割", 60.0, "sim_double11", roi_floor=floor)
    assert capped["spend"] < 60.0 and capped["roi"] >= floor * 0.999
    with pytest.raises(ValueError, match="unknown scene"):
        scene_plan(wh, "B01", "nope", 60.0, "sim_double11")
    # the expected outcome's interval holds it; KPIs per aim
    assert full["objective_interval"][0] <= full["objective"] <= full["objective_interval"][1]
    assert full["expected"]["ROI"] == pytest.approx(full["objective"] / full["spend"])
    joins = scene_plan(wh, "B01", "会员快", 60.0, "sim_double11")
    assert joins["expected"]["cost per outcome"] == pytest.approx(60.0 / joins["objective"])
    # items: only outcomes on the chosen items count, so each impression is worth less than on all items
    top = acts[acts.event_type == "purchase"].groupby("item_id").amount.sum().nlargest(2).index.tolist()
    some = impression_values(wh, "B01", "sim_double11", "gmv", items=tuple(top))
    for ch, v in some.items():
        sel = buys[(buys.channel == ch) & buys.item_id.isin(top)]
        assert v == pytest.approx(sel.amount.sum() / imps[ch]) and v <= values[ch]
    # target crowds: only their consumers' outcomes count
    crowd = set(buys.consumer_id.iloc[::2])
    mine = impression_values(wh, "B01", "sim_double11", "gmv", consumers=crowd)
    for ch, v in mine.items():
        assert v == pytest.approx(buys[(buys.channel == ch) & buys.consumer_id.isin(crowd)].amount.sum() / imps[ch])
    # effect_first (效率优先) stops where the next yuan returns less than min_marginal; cost_first spends it all
    big = 50 * full["spend"]
    eff = scene_plan(wh, "B01", "爆发收割", big, "sim_double11", strategy="effect_first", min_marginal=2.0)
    assert 0 < eff["spend"] < big
    step = eff["spend"] / 100
    before = scene_plan(wh, "B01", "爆发收割", eff["spend"] - step, "sim_double11", boot=0)["objective"]
    assert (eff["objective"] - before) / step >= 2.0
    after = scene_plan(wh, "B01", "爆发收割", eff["spend"] * 1.2, "sim_double11", boot=0)["objective"]
    assert (after - eff["objective"]) / (0.2 * eff["spend"]) < 2.0
    with pytest.raises(ValueError, match="needs min_marginal"):
        scene_plan(wh, "B01", "会员快", 60.0, "sim_double11", strategy="effect_first")
    with pytest.raises(ValueError, match="at most 10 items"):
        scene_plan(wh, "B01", "货品加速", 60.0, "sim_double11", items=tuple(f"i{i}" for i in range(11)))
    wh.close()
    root = str(tmp_path / "m")
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "2400", "--budget-mode",
                                 "package", "--scene", "拉新快", "-w", root, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["aim"] == "new_customer_gmv" and body["spend"] == pytest.approx(2400 / 40)
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "3000", "--budget-mode",
                                 "package", "--start", "2026-10-20", "--end", "2026-10-29", "--scene", "货品加速",
                                 "--item", top[0], "--item", top[1], "--strategy", "effect_first", "-w", root,
                                 "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["budget"] == pytest.approx(300.0) and body["items"] == top and body["strategy"] == "effect_first"
    assert body["spend"] <= 300.0 and body["min_marginal"] == 1.0
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "10", "--scene", "拉新快",
                                 "--strategy", "fastest", "-w", root])
    assert r.exit_code == 2 and "cost_first" in r.output
    r = CliRunner().invoke(app, ["autopilot", "simulate", "--brand", "B01", "--days", "20", "-w", root, "--json"])
    assert r.exit_code == 0, r.output
    regret = json.loads(r.stdout)["regret"]
    assert regret["oracle"] == 0 and regret["thompson"] < regret["equal_split"]
