"""The autopilot returns typed results: a one-line repr with the headline numbers, key and attribute access, and a
`to_dict()` that `json.dumps` takes as it is."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from aipl.assets import ensure_built
from aipl.autopilot import (
    Allocation,
    BrandFit,
    BudgetPlan,
    Cap,
    Curve,
    FlightComparison,
    SequenceComparison,
    SequenceConfig,
    SequencePlan,
    SubsidyComparison,
    SubsidyPlan,
    allocate,
    allocate_subsidy,
    compare_sequence,
    compare_subsidy,
    fit_brand,
    plan_budget,
    plan_sequence,
    plan_subsidy,
    scene_plan,
    sequence_config,
    simulate_flight,
)
from aipl.config import Config
from aipl.simulate import sample_warehouse
from aipl.simulate.journeys import Journeys
from aipl.simulate.merchants import simulate_merchants
from tests.results_check import reads_at_a_glance

CURVE = Curve(reach=100.0, k=10.0, alpha=2.0, theta=0.3)


@cache
def _comparison() -> SubsidyComparison:
    return compare_subsidy(*simulate_merchants(12, seed=0), pool=1000, floors={"new": 0.2})


CASES = {
    "allocation": (Allocation, lambda wh: allocate({"search": CURVE, "display": CURVE}, budget=30.0),
                   ["objective ", "split equally: display 50%, search 50%"]),
    "curves": (BrandFit, lambda wh: fit_brand(wh, "B01", holdout_days=7, boot=0),
               ["5 cells over up to 40 days, holdout error ", "affiliate, content, display, live, search"]),
    "impressions plan": (BudgetPlan, lambda wh: plan_budget(wh, "B01", 300),
                         ["B01 impressions: 300.00 of 300.00 a day → ", "split equally: search"]),
    "scene plan": (BudgetPlan, lambda wh: scene_plan(wh, "B01", "爆发收割", 300.0, "sim_double11", boot=10),
                   ["B01 爆发收割 (gmv): 300.00 of 300.00 a day → ", "(90% "]),
    "sequence flight": (SequenceComparison, lambda wh: compare_sequence(
        np.random.default_rng(0).integers(0, 6, 300), Journeys.draw(seed=0), days=5),
        ["300 consumers, 5 days: moved up untargeted ", "oracle "]),
    "sequence plan": (SequencePlan, lambda wh: plan_sequence(wh, "B01", day="2026-10-24"),
                      ["B01 on 2026-10-24, cap 3 contacts in 7 days: 145 consumers, content 99, conversion_ad 21"]),
    "subsidy comparison": (SubsidyComparison, lambda wh: _comparison(),
                           ["12 merchants, pool 1,000.00: share of the oracle learned 91."]),
    "subsidy split": (SubsidyPlan, lambda wh: allocate_subsidy(_comparison().fitted, 1000, {"new": 0.2}),
                      ["pool 1,000.00: spent 1,000.00 → incremental GMV ", "head 10%, new 37%"]),
    "subsidy plan": (SubsidyPlan, lambda wh: plan_subsidy(1000, simulate=12, floors={"new": 0.2}),
                     ["pool 1,000.00: spent 1,000.00 → incremental GMV "]),
    "flight": (FlightComparison, lambda wh: simulate_flight(wh, "B01", days=5),
               ["5 days at ", "regret oracle 0.0%, thompson "]),
}


@pytest.fixture(scope="module")
def results():
    wh = sample_warehouse()
    ensure_built(wh)
    return {name: build(wh) for name, (_, build, _) in CASES.items()}


@pytest.mark.parametrize("name", CASES)
def test_result_reads_at_a_glance_and_dumps_to_json(results, name):
    cls, _, shown = CASES[name]
    reads_at_a_glance(results[name], cls, shown, same_keys=False)


def test_plans_carry_every_field_in_the_order_of_the_json(results):
    fields = list(BudgetPlan.__annotations__)
    for name in ("impressions plan", "scene plan"):
        assert list(results[name]) == fields == list(results[name].to_dict())
    plan = results["impressions plan"]
    assert plan.scene is None and plan["items"] == [] and plan["values"] == {} and plan.kpis == []


def test_subsidy_plan_keeps_the_fitted_curves_but_not_in_its_json(results):
    plan = results["subsidy plan"]
    assert type(plan.comparison) is SubsidyComparison and len(plan.comparison.fitted) == 12
    body = plan.to_dict()
    assert "allocation" not in body and "fitted" not in body["comparison"]
    assert results["subsidy split"].comparison is None


def test_curves_dump_as_their_parameters(results):
    body = results["curves"].to_dict()
    assert set(body["search"]["curve"]) == {"reach", "k", "alpha", "theta"}
    assert body["search"]["draws"] == [] and body["search"]["days"] == 40


def test_sequence_config_is_typed_and_not_a_pair():
    c = sequence_config(Config(root=".", raw={"sequence": {"perform": "conversion_ad", "cap_days": 14}}))
    assert type(c) is SequenceConfig and c.cap == Cap(contacts=3, days=14) and c.mapping["perform"] == "conversion_ad"
    assert repr(c) == ("SequenceConfig(content ← discover; conversion_ad ← engage, enthuse, perform; member_offer ← "
                       "initial, numerous, keen; cap 3 contacts in 14 days)")
    assert json.loads(json.dumps(c.to_dict())) == {"mapping": c.mapping, "cap": [3, 14]}
    with pytest.raises(TypeError):
        _mapping, _cap = c  # a frozen dataclass: unpacking the old pair fails loudly
