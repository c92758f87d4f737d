"""Experiment-calibrated cell values: a randomised lift test of a channel (or one cell) corrects what a biased
holdout measured, the holdout and the experiment are weighed by their precisions, and bad experiments are refused."""

from __future__ import annotations

import numpy as np
import pytest

from aipl.autopilot import Curve, allocate, calibrate_cells, fit_cells, plan_cells
from aipl.autopilot.cells import true_outcome
from aipl.simulate.cells import simulate_cells

CROWDS = ("discover", "engage", "enthuse", "perform", "initial", "numerous", "keen")
BIAS = 0.4  # the search holdout also saw search ads: it measures 40 % of the true lift


@pytest.fixture(scope="module")
def market():
    log, truth = simulate_cells(days=30, seed=5, channels=3)
    biased = log.copy()
    search = biased.channel == "search"
    biased.loc[search, "lift_gmv"] *= BIAS
    return biased, truth, fit_cells(biased)


def _true_lift(fit, truth, channel: str, impressions: float) -> float:
    """What a perfect test of `impressions` on the channel, spread over its crowds as in the log, would measure."""
    cells = [k for k, c in fit.cells.items() if c["channel"] == channel]
    imps = np.array([fit.cells[k]["impressions"] for k in cells])
    return impressions * float(imps @ [truth["cells"][k]["value"]["gmv"] for k in cells]) / imps.sum()


def test_a_channel_experiment_corrects_a_biased_holdout_and_the_plan(market):
    _, truth, fit = market
    lift = _true_lift(fit, truth, "search", 200_000)
    cal = calibrate_cells(fit, [{"experiment": "search geo test", "channel": "search", "aim": "gmv",
                                 "impressions": 200_000, "lift": lift, "se": 0.03 * lift}])
    for k, c in cal.cells.items():
        true, before, after = truth["cells"][k]["value"]["gmv"], fit.cells[k]["value"]["gmv"], c["value"]["gmv"]
        if c["channel"] == "search":
            assert before["value"] < 0.6 * true and after["value"] == pytest.approx(true, rel=0.2), k
            assert after["source"] == "holdout + experiment search geo test"
            assert after["holdout"]["value"] == before["value"]
            assert after["interval"][0] <= after["value"] <= after["interval"][1]
        else:
            assert after == before  # cells the experiment did not cover keep their holdout values
    rec = cal.calibration[0]
    assert rec["factor"] == pytest.approx(1 / BIAS, rel=0.15) and len(rec["cells"]) == 7 and not rec["agree"]
    assert rec["combined"] == lift and rec["combined_se"] == 0.03 * lift  # the randomised test decided
    budget = 0.5 * sum(truth["cells"][k]["k"] for k in fit.cells)
    true = {k: truth["cells"][k] for k in fit.cells}
    oracle = allocate({k: Curve(c["reach"], c["k"], c["alpha"], c["theta"]) for k, c in true.items()}, budget,
                      {k: c["value"]["gmv"] for k, c in true.items()})
    best = true_outcome(truth, "gmv", oracle.shares, budget)
    biased, fixed = (1 - true_outcome(truth, "gmv", plan_cells(f, "爆发收割", budget, crowds=CROWDS, draws=0).shares,
                                      budget) / best for f in (fit, cal))
    assert fixed < biased and fixed <= 0.05, (biased, fixed)


def test_holdout_and_experiment_are_weighed_by_their_precision(market):
    _, _, fit = market
    cell = fit.cells["display/perform"]["value"]["gmv"]
    imps = 100_000.0
    held, held_se = cell["value"] * imps, cell["se"] * imps  # the holdout's prediction of the test's lift

    def calibrated(lift: float, se: float) -> float:
        exp = {"channel": "display", "crowd": "perform", "aim": "gmv", "impressions": imps, "lift": lift, "se": se}
        return calibrate_cells(fit, [exp]).cells["display/perform"]["value"]["gmv"]["value"] * imps

    assert calibrated(held + held_se, 1e6 * held_se) == pytest.approx(held, rel=1e-6)  # a useless test: no change
    assert calibrated(held + held_se, held_se) == pytest.approx(held + held_se / 2)  # equal precision: halfway
    assert calibrated(2 * held, 1e-6 * held_se) == pytest.approx(2 * held, rel=1e-6)  # a precise one decides
    assert calibrated(2 * held, held_se) == pytest.approx(2 * held)  # 14 joint se apart: the holdout was biased
    exp = {"channel": "display", "crowd": "perform", "aim": "gmv", "impressions": imps, "lift": held + held_se,
           "se": held_se}
    twice = calibrate_cells(calibrate_cells(fit, [exp]), [exp])
    v = twice.cells["display/perform"]["value"]["gmv"]  # applied in turn: the second weighs 1 against 2
    assert v["value"] * imps == pytest.approx(held + held_se * 2 / 3) and len(twice.calibration) == 2
    assert [r["agree"] for r in twice.calibration] == [True, True]
    assert v["holdout"]["value"] == cell["value"]


@pytest.mark.parametrize(("exp", "message"), [
    ({"channel": "search", "aim": "gmv", "impressions": 10}, "lack columns: lift, se"),
    ({"channel": "tv", "aim": "gmv", "impressions": 10, "lift": 1, "se": 1}, "no cell tv/all"),
    ({"channel": "search", "crowd": "x", "aim": "gmv", "impressions": 10, "lift": 1, "se": 1}, "no cell search/x"),
    ({"channel": "search", "aim": "reach", "impressions": 10, "lift": 1, "se": 1}, "no aim 'reach'"),
    ({"channel": "search", "aim": "gmv", "impressions": 10, "lift": 1, "se": 0}, "se must be numbers > 0"),
])
def test_bad_experiments_are_refused(market, exp, message):
    with pytest.raises(ValueError, match=message):
        calibrate_cells(market[2], [exp])
