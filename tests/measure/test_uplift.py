"""Uplift: curves and coefficients against scikit-uplift, learners on a market with a known effect, and
targeting Hillstrom's women's e-mail."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.measure.uplift import (
    LEARNERS,
    TLearner,
    XLearner,
    qini_coefficient,
    qini_curve,
    select_under_budget,
    uplift_auc,
)
from tests.conftest import shared


def _market(n=20_000, seed=0):
    """Only consumers with x0 > 0 respond to the message (+20 points); the rest are unmoved."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.5
    tau = np.where(x[:, 0] > 0, 0.20, 0.0)
    y = (rng.random(n) < 0.10 + 0.05 * (x[:, 1] > 0) + tau * t).astype(int)
    return x, t, y, tau


def test_curves_and_coefficients_agree_with_scikit_uplift():
    from sklift.metrics import qini_auc_score, uplift_auc_score
    from sklift.metrics import qini_curve as sk_qini

    x, t, y, _ = _market(3000)
    rng = np.random.default_rng(5)
    for score in (x[:, 0], rng.random(3000), np.round(x[:, 0], 1)):  # the last has ties
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            sx, sy = sk_qini(y, score, t.astype(int))
            ref_q, ref_u = qini_auc_score(y, score, t.astype(int)), uplift_auc_score(y, score, t.astype(int))
        ox, oy = qini_curve(y, t, score)
        np.testing.assert_allclose(ox, sx)
        np.testing.assert_allclose(oy, sy)
        assert qini_coefficient(y, t, score) == pytest.approx(ref_q, rel=1e-9)
        assert uplift_auc(y, t, score) == pytest.approx(ref_u, rel=1e-9)


@pytest.mark.parametrize("name", list(LEARNERS))
def test_learners_find_who_responds(name):
    x, t, y, tau = _market()
    model = LEARNERS[name]().fit(x[:10_000], t[:10_000], y[:10_000])
    u = model.predict(x[10_000:])
    responders = tau[10_000:] > 0
    assert u[responders].mean() == pytest.approx(0.20, abs=0.04)
    assert abs(u[~responders].mean()) < 0.04
    oracle = qini_coefficient(y[10_000:], t[10_000:], tau[10_000:])  # ranking by the true effect
    assert qini_coefficient(y[10_000:], t[10_000:], u) > 0.8 * oracle > 0
    assert isinstance(model, TLearner | XLearner)


def test_select_under_budget():
    u = np.array([0.05, -0.01, 0.30, 0.10, 0.02])
    assert list(select_under_budget(u, budget=3)) == [2, 3, 0]
    assert list(select_under_budget(u, budget=10)) == [2, 3, 0, 4]  # never a negative uplift
    # a contact costs 2 and a response is worth 10: only uplift above 0.2 pays
    assert list(select_under_budget(u, budget=100, cost_per_contact=2, value_per_response=10)) == [2]
    with pytest.raises(ValueError, match="cost per contact"):
        select_under_budget(u, budget=1, cost_per_contact=0)


def test_hillstrom_womens_email_targeting(tmp_path):
    path = shared("hillstrom/hillstrom.csv")
    out = tmp_path / "chosen.csv"
    r = CliRunner().invoke(app, ["uplift", str(path), "--format", "hillstrom", "--arm", "Womens E-Mail",
                                 "--metric", "visit", "--budget", "5000", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    ev = {e["learner"]: e for e in res["evaluation"]}
    print({k: round(v["qini_coefficient"], 4) for k, v in ev.items()})
    for name in LEARNERS:  # both learners rank held-out consumers far better than chance
        assert ev[name]["qini_coefficient"] > 0.03 > abs(ev["random"]["qini_coefficient"])
    assert res["chosen"] == 5000 and res["scored"] == 64_000
    assert res["expected_incremental"] > 1.5 * res["expected_incremental_untargeted"]
    chosen = pd.read_csv(out)
    assert len(chosen) == 5000 and chosen.uplift.is_monotonic_decreasing
    # Hillstrom: men's e-mail and women's e-mail are the treated arms; naming another fails clearly
    bad = CliRunner().invoke(app, ["uplift", str(path), "--format", "hillstrom", "--arm", "Nope"])
    assert bad.exit_code == 2 and "one of Mens E-Mail, Womens E-Mail" in bad.output
