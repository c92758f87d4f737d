"""Autopilot (万相台): response curves per brand × channel (× crowd) learned from ad-delivery history, the
budget split that maximises a scene's objective, in-flight reallocation, sequenced delivery by DEEPLINK
stage, and the platform-side subsidy split across merchant tiers."""

from aipl.autopilot.cells import budget_for, compare_cells, fit_cells, plan_cells, target_cells
from aipl.autopilot.response import Curve, ResponseCurve, allocate, delivery, fit_brand, fit_curve
from aipl.autopilot.results import (
    Allocation,
    BrandFit,
    BudgetNeed,
    BudgetPlan,
    Cap,
    CellFit,
    CellPlan,
    FlightComparison,
    SequenceComparison,
    SequenceConfig,
    SequencePlan,
    SubsidyComparison,
    SubsidyPlan,
)
from aipl.autopilot.scenes import AIMS, ALIASES, CELL_AIMS, SCENES, Scene, scene_of, scene_plan
from aipl.autopilot.sequence import NEXT_ACTION, STAGES, compare_sequence, next_actions
from aipl.autopilot.subsidy import allocate_subsidy, compare_subsidy, fit_merchants
from aipl.autopilot.usecases import (
    BUDGET_MODES,
    fit_channels,
    latest_campaign,
    plan_budget,
    plan_sequence,
    plan_subsidy,
    sequence_config,
    simulate_flight,
)

__all__ = [
    "AIMS",
    "ALIASES",
    "BUDGET_MODES",
    "CELL_AIMS",
    "NEXT_ACTION",
    "SCENES",
    "STAGES",
    "Allocation",
    "BrandFit",
    "BudgetNeed",
    "BudgetPlan",
    "Cap",
    "CellFit",
    "CellPlan",
    "Curve",
    "FlightComparison",
    "ResponseCurve",
    "Scene",
    "SequenceComparison",
    "SequenceConfig",
    "SequencePlan",
    "SubsidyComparison",
    "SubsidyPlan",
    "allocate",
    "allocate_subsidy",
    "budget_for",
    "compare_cells",
    "compare_sequence",
    "compare_subsidy",
    "delivery",
    "fit_brand",
    "fit_cells",
    "fit_channels",
    "fit_curve",
    "fit_merchants",
    "latest_campaign",
    "next_actions",
    "plan_budget",
    "plan_cells",
    "plan_sequence",
    "plan_subsidy",
    "scene_of",
    "scene_plan",
    "sequence_config",
    "simulate_flight",
    "target_cells",
]
