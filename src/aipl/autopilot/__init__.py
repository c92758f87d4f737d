"""Autopilot (万相台): response curves per brand × channel (× crowd) learned from ad-delivery history, the
budget split that maximises a scene's objective, in-flight reallocation, sequenced delivery by DEEPLINK
stage, and the platform-side subsidy split across merchant tiers."""

from aipl.autopilot.response import Curve, ResponseCurve, allocate, delivery, fit_brand, fit_curve
from aipl.autopilot.scenes import scene_plan
from aipl.autopilot.sequence import NEXT_ACTION, Cap, compare_sequence, next_actions
from aipl.autopilot.subsidy import allocate_subsidy, compare_subsidy, fit_merchants

__all__ = [
    "NEXT_ACTION",
    "Cap",
    "Curve",
    "ResponseCurve",
    "allocate",
    "allocate_subsidy",
    "compare_sequence",
    "compare_subsidy",
    "delivery",
    "fit_brand",
    "fit_curve",
    "fit_merchants",
    "next_actions",
    "scene_plan",
]
