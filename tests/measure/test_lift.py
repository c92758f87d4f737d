"""Lift: the estimators against known answers, Hillstrom's published experiment, and interval coverage on
the synthetic market's hidden truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.measure import (
    balance,
    campaign_lift,
    cuped,
    difference_in_means,
    doubly_robust,
    estimate,
    ipw,
    measure_lift,
)
from tests.conftest import shared
from tests.measure.conftest import market_workspace

# Hillstrom (2008), the public datasets' README ($AIPL_DATA): n, visit rate, conversion rate, spend per customer by arm
HILLSTROM = {
    "Mens E-Mail": (21_307, 0.1828, 0.01253, 1.4226),
    "Womens E-Mail": (21_387, 0.1514, 0.00884, 1.0772),
    "No E-Mail": (21_306, 0.1062, 0.00573, 0.6528),
}


def test_difference_in_means_matches_welch_by_hand():
    y = np.array([3.0, 5.0, 4.0, 6.0, 1.0, 2.0, 2.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0], dtype=bool)
    e = difference_in_means(y, t)
    assert e.effect == pytest.approx(4.5 - 5 / 3)
    se = np.sqrt(np.var([3, 5, 4, 6], ddof=1) / 4 + np.var([1, 2, 2], ddof=1) / 3)
    assert e.se == pytest.approx(se)
    assert e.ci_low == pytest.approx(e.effect - 1.959964 * se, rel=1e-6)
    assert e.incremental == pytest.approx(e.effect * 4)


def test_cuped_keeps_the_effect_and_narrows_the_interval():
    rng = np.random.default_rng(2)
    n = 20_000
    x = rng.normal(10, 3, n)  # pre-period spend
    t = rng.random(n) < 0.5
    y = 2.0 * x + 0.5 * t + rng.normal(0, 1, n)
    plain, adj = difference_in_means(y, t), cuped(y, t, x)
    assert adj.covers(0.5) and abs(adj.effect - 0.5) < 0.05
    assert adj.se < plain.se / 3
    assert adj.variance_reduction == pytest.approx(36 / 37, abs=0.01)  # var(2x) / (var(2x) + 1)


def test_observational_estimators_remove_confounding_that_fools_the_naive_difference():
    rng = np.random.default_rng(1)
    n = 40_000
    x = rng.normal(0, 1, (n, 2))
    p = 1 / (1 + np.exp(-(0.8 * x[:, 0] - 0.5 * x[:, 1])))
    t = rng.random(n) < p
    y = 1.0 + 2.0 * x[:, 0] + 1.0 * x[:, 1] + 0.3 * t + rng.normal(0, 1, n)
    naive = difference_in_means(y, t)
    assert not naive.covers(0.3)  # exposed consumers were more active anyway
    for est in (ipw(y, t, x), doubly_robust(y, t, x)):
        assert est.observational and est.covers(0.3), est
    b = balance(pd.DataFrame(x, columns=["a", "b"]), t)
    assert (b.smd_before.abs() > 0.3).all() and b.balanced.all()


def test_estimate_rejects_bad_requests():
    with pytest.raises(ValueError, match="unknown lift method"):
        estimate("magic", [1, 2], [True, False])
    with pytest.raises(ValueError, match="at least two treated"):
        difference_in_means([1.0, 2.0, 3.0], [True, False, False])
    with pytest.raises(ValueError, match="needs covariates"):
        estimate("cuped", [1.0, 2.0, 3.0, 4.0], [True, True, False, False])


def test_hillstrom_lift_reproduces_the_published_arms_and_lifts():
    path = shared("hillstrom/hillstrom.csv")
    r = CliRunner().invoke(app, ["lift", str(path), "--format", "hillstrom", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["kind"] == "randomised" and res["covariates"] == ["history", "recency", "mens", "womens", "newbie"]
    arms = {a["arm"]: a for a in res["arms"]}
    for arm, (n, visit, conv, spend) in HILLSTROM.items():
        a = arms[arm]
        assert a["n"] == n
        assert a["visit_rate"] == pytest.approx(visit, abs=5e-5)
        assert a["conversion_rate"] == pytest.approx(conv, abs=5e-6)
        assert a["spend_per_head"] == pytest.approx(spend, abs=5e-5)
    assert "lift" not in arms["No E-Mail"]
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        for metric, rate in (("visit", 1), ("conversion", 2), ("spend", 3)):
            lift = arms[arm]["lift"][metric]
            raw = HILLSTROM[arm][rate] - HILLSTROM["No E-Mail"][rate]
            # CUPED moves the point estimate a little; it must stay near the raw lift and cover it
            assert lift["effect"] == pytest.approx(raw, rel=0.02, abs=2e-4)
            assert lift["ci_low"] < raw < lift["ci_high"] and lift["ci_low"] > 0
            assert lift["variance_reduction"] >= 0
    # the published lifts (Hillstrom 2008): men's e-mail +7.66 pt visits, +0.68 pt conversion, +$0.77 spend
    plain = CliRunner().invoke(app, ["lift", str(path), "--format", "hillstrom", "--json",
                                     "--method", "difference_in_means"])
    mens = {a["arm"]: a for a in json.loads(plain.stdout)["arms"]}["Mens E-Mail"]["lift"]
    assert (round(mens["visit"]["effect"], 4), round(mens["conversion"]["effect"], 4),
            round(mens["spend"]["effect"], 2)) == (0.0766, 0.0068, 0.77)


def test_synthetic_market_holdout_intervals_cover_the_true_lift(tmp_path):
    """Across seeds and brands, the 95% interval of the holdout lift holds the true incremental purchases
    per eligible consumer in about 95% of cases, for the plain and the CUPED estimate."""
    covered = {"difference_in_means": [], "cuped": []}
    reduction = []
    for seed in range(20):  # 80 intervals; markets large enough that every arm holds buyers
        wh, truth = market_workspace(tmp_path / f"m{seed}", consumers=4000, days=14, brands=4, seed=seed,
                                     lead_days=14, holdout=0.3)
        for brand, bt in truth["brands"].items():
            for method in covered:
                res = campaign_lift(wh, "sim_double11", brand, method=method, metrics=("purchases",))
                assert res["kind"] == "randomised" and res["window"]["pre_days"] == 30
                est = res["arms"][0]["lift"]["purchases"]
                covered[method].append(est["ci_low"] <= bt["true_itt_purchases_per_consumer"] <= est["ci_high"])
                if method == "cuped":
                    reduction.append(est["variance_reduction"])
        wh.close()
    for method, hits in covered.items():
        rate = float(np.mean(hits))
        print(f"{method}: {rate:.3f} of {len(hits)} intervals cover the truth")
        assert 0.88 <= rate <= 0.995, (method, rate)
    assert np.median(reduction) > 0.02  # the pre-period explains some of the variance


def test_campaign_lift_without_holdout_is_observational_and_says_so(tmp_path):
    folder = tmp_path / "m"
    wh, _ = market_workspace(folder, consumers=3000, days=14, brands=3, seed=3, lead_days=14, holdout=0.0)
    wh.raw.execute("DELETE FROM assignments")  # no randomised control at all
    res = campaign_lift(wh, "sim_double11", "B01", metrics=("purchases", "visit"))
    assert res["kind"] == "observational" and res["method"] == "doubly_robust"
    assert "not randomised" in res["warning"]
    bal = pd.DataFrame(res["balance"])
    assert (bal.smd_after.abs() <= bal.smd_before.abs() + 1e-9).all()
    with pytest.raises(ValueError, match="platform-wide: name the brand"):
        campaign_lift(wh, "sim_double11")
    with pytest.raises(ValueError, match="unknown campaign 'nope'; known: sim_double11"):
        campaign_lift(wh, "nope", "B01")
    r = CliRunner().invoke(app, ["lift", "--campaign", "sim_double11", "--brand", "B01", "-w", str(folder)])
    assert r.exit_code == 0, r.output
    assert "OBSERVATIONAL" in r.stdout
    # the CLI calls the library's use case with the same arguments: the same answer
    lib = measure_lift(wh, campaign="sim_double11", brand="B01", metrics=("purchases", "visit"))
    r = CliRunner().invoke(app, ["lift", "--campaign", "sim_double11", "--brand", "B01", "--metric", "purchases",
                                 "--metric", "visit", "-w", str(folder), "--json"])
    assert json.loads(r.stdout) == json.loads(json.dumps(lib.to_dict(), default=str))
    assert lib.kind == "observational" and "arms" not in repr(lib) and "doubly_robust" in repr(lib)
    with pytest.raises(ValueError, match="name the experiment: the workspace has no experiment"):
        measure_lift(wh)
    r = CliRunner().invoke(app, ["lift", "-w", str(folder)])
    assert r.exit_code == 2 and "name the experiment: the workspace has no experiment" in r.output
    wh.close()


def test_a_file_read_directly_reports_its_quarantined_rows(tmp_path):
    src = shared("hillstrom/hillstrom.csv").read_bytes().split(b"\r\n")
    bad = tmp_path / "hs.csv"
    bad.write_bytes(b"\r\n".join([*src[:301], b"x,2) $0 - $100,abc,1,0,Surburban,0,Web,Womens E-Mail,0,0,0",
                                   b"5,1) $0 - $100,29.99,1,0,Urban,1,Web,Bogus Arm,0,0,0", b""]))
    r = CliRunner().invoke(app, ["lift", str(bad), "--format", "hillstrom", "--metric", "visit", "--json"])
    assert r.exit_code == 0, r.output
    assert "line 302 (labels.value): not a valid float: 'x'" in r.output
    assert "line 303 (assignments.segment): 'Bogus Arm' is not one of" in r.output
    body = json.loads(r.stdout)
    assert sum(a["n"] for a in body["arms"]) == 301  # 300 good rows and the row with bad covariates
