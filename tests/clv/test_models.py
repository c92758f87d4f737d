"""CLV models reproduce the published CDNOW estimates and agree with the `lifetimes` package."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.clv import BetaGeo, GammaGamma, NotFittedError, ParetoNBD, rfm_summary
from aipl.ingest import ingest
from tests.conftest import BUNDLED, shared

SAMPLE = BUNDLED / "CDNOW_sample.txt"
# FHL 2005 (Marketing Science) and Fader & Hardie's Pareto/NBD note, as in the public datasets' README ($AIPL_DATA)
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    from aipl.config import init_workspace
    from aipl.warehouse import open_warehouse

    wh = open_warehouse(init_workspace(tmp_path_factory.mktemp("clv")))
    ingest(wh, SAMPLE, "cdnow")
    s = rfm_summary(wh, "1997-09-30", "week")
    wh.close()
    return s


def test_summary_from_raw_transactions_equals_the_published_one(summary):
    ref = pd.read_csv(shared("cdnow/cdnow_customers_summary_with_transactions.csv"))
    sample_id = {ln.split()[0]: int(ln.split()[1]) for ln in SAMPLE.read_text().splitlines() if ln.strip()}
    m = summary.assign(ID=summary.consumer_id.map(sample_id)).merge(ref, on="ID")
    assert len(summary) == 2357 and len(m) == len(ref)
    assert (m.frequency == m.x).all()
    assert np.abs(m.recency - m.t_x).max() <= 0.005 + 1e-9  # published to 2 decimals
    assert np.abs(m["T_x"] - m["T_y"]).max() <= 0.005 + 1e-9
    assert np.abs(m.monetary - m.zbar).max() <= 0.005 + 1e-9


def test_bgnbd_reproduces_fader_hardie_lee_2005(summary):
    m = BetaGeo().fit(summary.frequency, summary.recency, summary["T"])
    for k, v in BGNBD.items():
        assert m.params_[k] == pytest.approx(v, abs=6e-4), k
    assert m.loglik_ == pytest.approx(-9582.4, abs=0.05)


def test_pareto_nbd_reproduces_the_published_fit(summary):
    m = ParetoNBD().fit(summary.frequency, summary.recency, summary["T"])
    for k, v in PARETO.items():
        assert m.params_[k] == pytest.approx(v, rel=2e-3), k
    assert m.loglik_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_reproduces_the_published_fit(summary):
    m = GammaGamma().fit(summary.frequency, summary.monetary)
    assert m.n_customers_ == 946
    for k, v in GG.items():
        assert m.params_[k] == pytest.approx(v, abs=0.01), k


def test_agreement_with_lifetimes(summary):
    lifetimes = pytest.importorskip("lifetimes")
    x, tx, T, mv = summary.frequency, summary.recency, summary["T"], summary.monetary
    ours = BetaGeo().fit(x, tx, T)
    theirs = lifetimes.BetaGeoFitter().fit(x, tx, T)
    for k in ours.params_:
        assert ours.params_[k] == pytest.approx(theirs.params_[k], rel=1e-3)
    # predictions from the same parameters agree to numerical precision
    theirs.params_ = pd.Series(ours.params_)
    np.testing.assert_allclose(ours.predict(39, x, tx, T),
                               theirs.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-8)
    np.testing.assert_allclose(ours.p_alive(x, tx, T), theirs.conditional_probability_alive(x, tx, T), rtol=1e-8)
    np.testing.assert_allclose(ours.expected(np.array([10.0, 52.0, 78.0])),
                               theirs.expected_number_of_purchases_up_to_time(np.array([10.0, 52.0, 78.0])), rtol=1e-8)

    p = ParetoNBD().fit(x, tx, T)
    pf = lifetimes.ParetoNBDFitter()
    pf.params_ = pd.Series(p.params_)
    np.testing.assert_allclose(p.predict(39, x, tx, T),
                               pf.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(p.p_alive(x, tx, T), pf.conditional_probability_alive(x, tx, T), rtol=1e-6)

    g = GammaGamma().fit(x, mv)
    gf = lifetimes.GammaGammaFitter().fit(x[x > 0], mv[x > 0])
    assert g.params_["p"] == pytest.approx(gf.params_["p"], rel=2e-3)
    assert g.params_["gamma"] == pytest.approx(gf.params_["v"], rel=2e-3)
    gf.params_ = pd.Series({"p": g.params_["p"], "q": g.params_["q"], "v": g.params_["gamma"]})
    np.testing.assert_allclose(g.expected_spend(x, mv), gf.conditional_expected_average_profit(x, mv), rtol=1e-8)
    clv = g.clv(ours, x, tx, T, mv, months=12, units_per_month=4.345, monthly_discount=0.01)  # lifetimes' month
    ref = gf.customer_lifetime_value(theirs, x, tx, T, mv, time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(clv, ref, rtol=1e-6)


def test_weights_give_the_same_fit_as_repeated_rows(summary):
    s = summary.assign(recency=summary.recency.round(2), T=summary["T"].round(2))
    g = s.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    assert len(g) < len(s) / 2  # histories repeat: the fit works on unique rows
    a = BetaGeo().fit(s.frequency, s.recency, s["T"])
    b = BetaGeo().fit(g.frequency, g.recency, g["T"], weights=g.n)
    assert a.loglik_ == pytest.approx(b.loglik_, abs=1e-6)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-4)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="recency <= T"):
        BetaGeo().fit([1], [50.0], [40.0])
    with pytest.raises(ValueError, match="finite"):
        BetaGeo().fit([1, np.nan], [1.0, 2.0], [3.0, 4.0])
    with pytest.raises(ValueError, match="frequency 0 must have recency 0"):
        ParetoNBD().fit([0], [3.0], [10.0])
    with pytest.raises(ValueError, match="no repeat customers"):
        GammaGamma().fit([0, 0], [0.0, 0.0])
    with pytest.raises(NotFittedError):
        BetaGeo().p_alive([1], [1.0], [2.0])


def test_cli_fit_prints_the_documented_json():
    r = CliRunner().invoke(app, ["clv", "fit", "--format", "cdnow", str(SAMPLE), "--calibration-end", "1997-09-30",
                                 "--time-unit", "week", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["model"] == "bgnbd" and set(body["params"]) == {"r", "alpha", "a", "b"}
    for k, v in BGNBD.items():
        assert body["params"][k] == pytest.approx(v, abs=6e-4)
    assert body["loglik"] == pytest.approx(-9582.4, abs=0.05)
    for model, keys in (("pareto_nbd", {"r", "alpha", "s", "beta"}), ("gamma_gamma", {"p", "q", "gamma"})):
        r = CliRunner().invoke(app, ["clv", "fit", "-f", "cdnow", str(SAMPLE), "--calibration-end", "1997-09-30",
                                     "--model", model, "--json"])
        assert set(json.loads(r.stdout)["params"]) == keys
    r = CliRunner().invoke(app, ["clv", "fit", "-f", "cdnow", str(SAMPLE), "--calibration-end", "1997-09-30",
                                 "--model", "nope"])
    assert r.exit_code == 2 and "unknown model 'nope'" in r.output


def test_bgnbd_gradient_matches_finite_differences(summary):
    from aipl.clv import transformers as tf

    x, tx, T = summary.frequency.to_numpy(float), summary.recency.to_numpy(), summary["T"].to_numpy()
    p = np.array([0.3, 4.0, 0.9, 2.2])
    ll, grad = tf.bgnbd_loglik_grad(p, x, tx, T)
    np.testing.assert_allclose(ll, tf.bgnbd_loglik(p, x, tx, T), rtol=1e-12)
    for i in range(4):
        h = np.zeros(4)
        h[i] = 1e-6 * p[i]
        num = (tf.bgnbd_loglik(p + h, x, tx, T).sum() - tf.bgnbd_loglik(p - h, x, tx, T).sum()) / (2 * h[i])
        assert grad[i].sum() == pytest.approx(num, rel=1e-5)
