"""The GTA forecast backtested on a synthetic market with two seasons: last year's campaign predicts this
year's, pool by pool."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from aipl.assets import ensure_built
from aipl.cli import app
from aipl.strategy import backtest, load_campaign
from tests.measure.conftest import market_workspace


def test_backtest_on_two_seasons(tmp_path):
    folder = tmp_path / "m"
    # a year of history (ads included) before last year's campaign; P = bought within 365 days
    wh, _ = market_workspace(folder, purchase_days=365, consumers=6000, days=45, brands=3, seed=3, seasons=2,
                             start="2025-09-15", lead_days=365, lead_ads=True)
    ensure_built(wh)  # a plan reads the assets as last built; it never builds them
    res = backtest(wh, "sim_double11", ["B01", "B02", "B03"], days_before=14).brands
    as_of = str(load_campaign(wh, "sim_double11").d0 - timedelta(days=14))
    wh.close()
    pred, act = sum(r["predicted_gmv"] for r in res), sum(r["actual_gmv"] for r in res)
    print({r["brand"]: round(r["total_ape"], 3) for r in res}, "total", round(abs(pred - act) / act, 3))
    for r in res:
        assert r["baseline"] == "sim_double11_2025" and r["as_of"] == as_of
        assert r["actual_gmv"] == pytest.approx(sum(p["actual_gmv"] for p in r["pools"]))
        assert r["completion"] == r["actual_gmv"] / r["predicted_gmv"]
        assert r["total_ape"] < 0.35  # small brands are noisy; see the issue note for a 20,000-consumer market
    assert abs(pred - act) / act < 0.15
    r = CliRunner().invoke(app, ["backtest-plan", "-w", str(folder), "--campaign", "sim_double11",
                                 "--days-before", "14", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["total_ape"] < 0.15
