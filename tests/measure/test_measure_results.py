"""Measurement returns typed results: a one-line repr with the headline numbers, key and attribute access, and a
`to_dict()` that `json.dumps` takes as it is."""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from aipl.measure import (
    CampaignPI,
    LiftResult,
    PiWeights,
    Postmortem,
    Window,
    campaign_lift,
    campaign_pi,
    exposure_lift,
    learn_weights,
    measure_lift,
    postmortem,
)
from aipl.simulate import sample_warehouse
from tests.results_check import reads_at_a_glance

CAMPAIGN, BRAND = "sim_double11", "B01"
WINDOW = Window(date(2026, 10, 8), date(2026, 10, 24), pre_days=14)

CASES = {
    "randomised lift": (LiftResult, lambda wh: campaign_lift(wh, CAMPAIGN, BRAND, metrics=("conversion",), pre_days=0),
                        ["randomised cuped", "brand B01", "eligible (345) vs holdout (55): conversion +0.02609"]),
    "observational lift": (LiftResult, lambda wh: exposure_lift(wh, CAMPAIGN, BRAND, WINDOW, metrics=("spend",)),
                           ["observational doubly_robust", "exposed (105) vs not exposed (239): spend "]),
    "PI": (CampaignPI, lambda wh: campaign_pi(wh, CAMPAIGN, BRAND),
           ["sim_double11 for B01", "randomised", "PI exposed 5.43 (345) vs control 4.77 (55)", "lift +0.66"]),
    "PI weights": (PiWeights, lambda wh: learn_weights(wh, "beauty", "2026-10-01", save=False),
                   ["beauty as of 2026-10-01 from 216 pairs, 15 buyers: favorite "]),
    "post-mortem": (Postmortem, lambda wh: postmortem(wh, CAMPAIGN, BRAND),
                    ["sim_double11 for B01, 2026-09-15 … 2026-10-24: spend 21.24, GMV 4,816.86 宽 / 0.00 窄",
                     "buyers 8 new / 0 returning, PI 5.43 vs 4.77"]),
}


@pytest.fixture(scope="module")
def results():
    wh = sample_warehouse()
    return {name: build(wh) for name, (_, build, _) in CASES.items()}


@pytest.mark.parametrize("name", CASES)
def test_result_reads_at_a_glance_and_dumps_to_json(results, name):
    cls, _, shown = CASES[name]
    reads_at_a_glance(results[name], cls, shown)


def test_lift_fields_a_kind_of_estimate_lacks_read_as_none(results):
    randomised, observational = results["randomised lift"], results["observational lift"]
    assert randomised.warning is None and randomised.balance is None and "warning" not in randomised
    assert observational.experiment is None and observational.warning.startswith("observational")
    with pytest.raises(AttributeError):
        _ = randomised.nope
    # the JSON of `aipl lift`: the fields in one order, only those the estimate has
    assert list(randomised.to_dict()) == ["kind", "method", "brand", "window", "covariates", "arms", "campaign",
                                          "experiment"]


def test_measure_lift_returns_the_campaign_lift_itself():
    wh = sample_warehouse()
    res = measure_lift(wh, campaign=CAMPAIGN, brand=BRAND, metrics=("conversion",), pre_days=0)
    assert res == campaign_lift(wh, CAMPAIGN, BRAND, metrics=("conversion",), pre_days=0)
    assert type(res) is LiftResult


def test_post_mortem_holds_typed_flow_and_lift_and_dumps_them_plain(results):
    pm = results["post-mortem"]
    assert type(pm.lift) is LiftResult and pm.lift.kind == "randomised"
    body = pm.to_dict()
    assert type(body["flow"]) is dict and type(body["lift"]) is dict
    assert body["lift"] == pm.lift.to_dict()


def test_postmortem_is_a_function_not_a_module():
    assert callable(importlib.import_module("aipl.measure").postmortem)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("aipl.measure.postmortem")
