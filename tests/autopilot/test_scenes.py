"""Scenes: each channel's impression valued for the scene's aim from attributed outcomes, the plan, the ROI
floor, and the CLI (plan by scene, package budgets, flights against the simulated market's curves)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aipl.autopilot.scenes import SCENES, impression_values, scene_plan
from aipl.cli import app
from aipl.measure.postmortem import attributed
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
    wh.close()
    root = str(tmp_path / "m")
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "2400", "--budget-mode",
                                 "package", "--scene", "拉新快", "-w", root, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["aim"] == "new_customer_gmv" and body["spend"] == pytest.approx(2400 / 40)
    r = CliRunner().invoke(app, ["autopilot", "simulate", "--brand", "B01", "--days", "20", "-w", root, "--json"])
    assert r.exit_code == 0, r.output
    regret = json.loads(r.stdout)["regret"]
    assert regret["oracle"] == 0 and regret["thompson"] < regret["equal_split"]
