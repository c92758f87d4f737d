"""Response curves: recovery of known parameters (pure data and the synthetic market's hidden curves), and
the allocator against the oracle that knows the true curves."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from aipl.autopilot import Curve, allocate, fit_brand, fit_curve
from aipl.cli import app
from tests.measure.conftest import market_workspace


def test_fit_recovers_known_curve():
    rng = np.random.default_rng(0)
    true = Curve(reach=500.0, k=80.0, alpha=1.8, theta=0.45)
    spend = rng.lognormal(np.log(60), 0.6, 120)
    y = true.predict(spend) * rng.normal(1, 0.01, 120)
    c = fit_curve(spend, y)
    assert c.reach == pytest.approx(500, rel=0.03) and c.k == pytest.approx(80, rel=0.03)  # 1 % noise, 120 days
    assert c.alpha == pytest.approx(1.8, rel=0.05) and c.theta == pytest.approx(0.45, abs=0.02)
    with pytest.raises(ValueError, match="at least 10 days"):
        fit_curve([1, 2], [1, 2])


def test_synthetic_market_curves_and_allocation(tmp_path):
    wh, truth = market_workspace(tmp_path / "m", consumers=20000, days=60, brands=2, seed=4)
    res = fit_brand(wh, "B01", holdout_days=14, boot=20)
    true = {ch: Curve(t["max_daily_reach"], t["hill_k"], t["hill_alpha"], t["adstock_theta"])
            for ch, t in truth["brands"]["B01"]["curves"].items()}
    for ch, r in res.items():
        c, t = r["curve"], true[ch]
        # impressions count distinct consumers: repeat draws make the observed reach a little lower
        assert c.reach == pytest.approx(t.reach, rel=0.10), ch
        assert c.k == pytest.approx(t.k, rel=0.10), ch
        assert c.alpha == pytest.approx(t.alpha, rel=0.05), ch
        assert c.theta == pytest.approx(t.theta, abs=0.03), ch
        assert r["holdout_mape"] < 0.05 and r["intervals"]["k"][0] < r["intervals"]["k"][1]
    curves = {ch: r["curve"] for ch, r in res.items()}
    budget = 2.0 * sum(t.k for t in true.values())  # enough to saturate some channels
    ours = allocate(curves, budget)
    oracle = allocate(true, budget)
    under_truth = sum(true[ch].steady(w * budget) for ch, w in ours["shares"].items())
    print({"ours": under_truth, "oracle": oracle["objective"], "equal": oracle["equal_split"]})
    assert under_truth >= 0.99 * oracle["objective"] and oracle["objective"] >= oracle["equal_split"]
    capped = allocate(curves, budget, min_share=0.1, max_share=0.3)
    assert all(0.1 - 1e-6 <= w <= 0.3 + 1e-6 for w in capped["shares"].values())
    assert sum(capped["shares"].values()) == pytest.approx(1.0)
    wh.close()
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "100", "-w", str(tmp_path / "m"),
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert sum(json.loads(r.stdout)["shares"].values()) == pytest.approx(1.0)
    r = CliRunner().invoke(app, ["autopilot", "plan", "--brand", "B01", "--budget", "100", "--min-share", "0.5",
                                 "-w", str(tmp_path / "m")])
    assert r.exit_code == 2 and "cannot add up to 1" in r.output


def test_identical_channels_split_evenly():
    c = Curve(100.0, 10.0, 2.0, 0.3)
    res = allocate({"a": c, "b": c}, 30.0)
    assert res["shares"] == pytest.approx({"a": 0.5, "b": 0.5}, abs=1e-3)


def test_curves_per_channel_and_crowd(wh, tmp_path):
    """Delivery that names its crowd gets a curve per channel × crowd; each recovers its hidden parameters
    and the allocator splits the budget across the cells."""
    import pandas as pd

    from aipl.ingest import ingest

    rng = np.random.default_rng(3)
    true, rows = {}, []
    days = pd.date_range("2026-08-01", periods=80, freq="D").date
    for ch in ("search", "display"):
        for crowd in ("c1", "c2", "c3"):
            c = Curve(float(rng.uniform(2e3, 2e4)), float(rng.uniform(50, 300)), float(rng.uniform(1.2, 2.2)),
                      float(rng.uniform(0.1, 0.6)))
            spend = rng.lognormal(np.log(c.k), 0.6, len(days))
            imps = c.predict(spend) * rng.normal(1, 0.01, len(days))
            true[f"{ch}/{crowd}"] = c
            rows += [{"day": d, "brand_id": "B1", "channel": ch, "crowd_id": crowd, "impressions": int(i), "cost": s}
                     for d, s, i in zip(days, spend, imps, strict=True)]
    path = tmp_path / "delivery.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert ingest(wh, path, "ad_delivery").rejected == 0
    res = fit_brand(wh, "B1", holdout_days=14, boot=0)
    assert set(res) == set(true)
    for cell, r in res.items():
        c, t = r["curve"], true[cell]
        assert c.k == pytest.approx(t.k, rel=0.05) and c.alpha == pytest.approx(t.alpha, rel=0.05), cell
        assert c.theta == pytest.approx(t.theta, abs=0.03) and r["holdout_mape"] < 0.03, cell
    curves = {cell: r["curve"] for cell, r in res.items()}
    ours = allocate(curves, 600.0)
    oracle = allocate(true, 600.0)
    assert sum(true[c].steady(w * 600.0) for c, w in ours["shares"].items()) >= 0.99 * oracle["objective"]
