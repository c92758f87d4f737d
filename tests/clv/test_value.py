"""The value of a brand's consumer assets by AIPL state, checked against direct computation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.assets import snapshot
from aipl.cli import app
from aipl.clv import BetaGeo, GammaGamma, asset_value, fit_clv, predict_clv, rfm_summary
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import open_warehouse

END = "2026-11-13"


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = init_workspace(tmp_path_factory.mktemp("value"))
    simulate_market(MarketSpec(consumers=6000, brands=2, seed=3), root / "market")
    wh = open_warehouse(root)
    load_market(wh, root / "market")
    yield wh
    wh.close()


def test_value_by_state_adds_up_and_matches_the_models(market):
    value = asset_value(market, "B01", END, time_unit="day")
    consumers, by_state = value.consumers, value.by_state
    assert repr(value).startswith(f"AssetValue(B01 at {END} over 36 months: {len(consumers):,} consumers worth ")
    as_json = json.loads(json.dumps(value.to_dict()))
    assert as_json["total"] == pytest.approx(by_state.value.sum()) and len(as_json["by_state"]) == len(by_state)
    assert value.params == by_state.attrs["params"] and "consumers" not in as_json  # per consumer: a file
    snap = snapshot(market, "brand", "B01", END)
    assert by_state.groupby("aipl").consumers.sum().to_dict() == {k: v for k, v in snap["counts"].items() if v}
    assert by_state.value.sum() == pytest.approx(consumers.clv.sum())
    # buyers: BG/NBD x Gamma-Gamma with the fitted parameters, recomputed here from the summary
    # (60 days of history leave the dropout parameters on a flat ridge, so a refit may stop elsewhere)
    s = rfm_summary(market, END, "day", brand="B01")
    params = by_state.attrs["params"]
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = {k: params[k] for k in ("r", "alpha", "a", "b")}
    gg.params_ = {k: params[k] for k in ("p", "q", "gamma")}
    s["clv"] = gg.clv(bg, s.frequency, s.recency, s["T"], s.monetary, units_per_month=365.25 / 12)
    buyers = consumers[consumers.aipl.isin(["P", "L"])].merge(s[["consumer_id", "clv"]], on="consumer_id")
    assert len(buyers) == (consumers.aipl.isin(["P", "L"])).sum() > 0
    np.testing.assert_allclose(buyers.clv_x, buyers.clv_y, rtol=1e-6)
    # non-buyers: the 30-day conversion of their state times a new customer's value
    meta = by_state.attrs
    for st in ("A", "I"):
        vals = consumers[consumers.aipl == st].clv.unique()
        assert len(vals) == 1 and vals[0] == pytest.approx(meta["conversion"][st] * meta["new_customer_value"])
    assert 0 < meta["conversion"]["A"] < meta["conversion"]["I"] < 1  # interest converts better than awareness
    # every value carries its fits' checks, a holdout back-test and what it assumes about seasonality
    assert value.reliable == all(c["ok"] for c in value.checks.values())
    assert len(value.warnings) == sum(not c["ok"] for c in value.checks.values())
    h = value.holdout
    assert h["holdout_end"] == END and h["calibration_end"] < END and h["actual"] > 0 and len(h["by_frequency"]) > 1
    assert not value.seasonality["applied"] and "steady purchase rate" in value.seasonality["note"]
    assert {"reliable", "warnings", "holdout", "seasonality"} <= set(as_json)


def test_cli_value_json(market, tmp_path):
    root = str(market.config.root)
    r = CliRunner().invoke(app, ["clv", "value", "--brand", "B01", "--calibration-end", END, "--time-unit", "day",
                                 "-w", root, "--json", "--out", str(tmp_path / "v.csv")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["total"] == pytest.approx(sum(x["value"] for x in body["by_state"]))
    assert (tmp_path / "v.csv").exists()
    r = CliRunner().invoke(app, ["clv", "value", "--brand", "nope", "--calibration-end", END, "-w", root])
    assert r.exit_code == 2 and "fewer than 10 repeat buyers" in r.output


def test_cli_fit_and_predict_call_the_library_use_cases(market, tmp_path):
    root = str(market.config.root)
    fit = fit_clv(market, END, "bgnbd", "day", "B01")
    r = CliRunner().invoke(app, ["clv", "fit", "--calibration-end", END, "--time-unit", "day", "--brand", "B01",
                                 "-w", root, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == fit.to_dict()
    lib = predict_clv(market, END, 30, "day", "B01")
    r = CliRunner().invoke(app, ["clv", "predict", "--calibration-end", END, "--time-unit", "day", "--horizon", "30",
                                 "--brand", "B01", "--out", str(tmp_path / "p.csv"), "-w", root])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(tmp_path / "p.csv", dtype={"consumer_id": str})
    assert list(cli.columns) == list(lib.columns) and cli.columns[-1] == "clv_36m"
    np.testing.assert_allclose(cli.clv_36m, lib.clv_36m, rtol=1e-9)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        fit_clv(market, END, "nope")
    with pytest.raises(ValueError, match="no purchases before the calibration end for brand B01"):
        fit_clv(market, "2020-01-01", brand="B01")


def test_predict_refuses_to_pool_brands(market, tmp_path):
    root = str(market.config.root)
    with pytest.raises(ValueError, match=r"the purchases are of 2 brands \(B01, B02\): name one brand"):
        predict_clv(market, END, 30, "day")
    out = tmp_path / "p.csv"
    r = CliRunner().invoke(app, ["clv", "predict", "--calibration-end", END, "--time-unit", "day", "--out", str(out),
                                 "-w", root])
    assert r.exit_code == 2 and "name one brand (--brand) or a cohort" in r.output and not out.exists()
    r = CliRunner().invoke(app, ["clv", "fit", "--calibration-end", END, "--time-unit", "day", "--cohort", "2026-10",
                                 "-w", root, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["scope"] == "cohort 2026-10" and body["converged"] == body["check"]["ok"]
    assert (body["warnings"] == []) == body["converged"]
