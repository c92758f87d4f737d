"""Measurement: lift of campaigns and experiments (randomised or observational), the purchase-intent index,
uplift models for targeting, and the campaign post-mortem (结案)."""

from aipl.measure.closing import postmortem
from aipl.measure.experiment import (
    OUTCOMES,
    PRE_TREATMENT_LABELS,
    Window,
    campaign_lift,
    campaign_window,
    consumer_outcomes,
    experiment_lift,
    exposure_lift,
    measure_lift,
    only_experiment,
    pre_treatment_labels,
)
from aipl.measure.lift import METHODS, Estimate, balance, cuped, difference_in_means, doubly_robust, estimate, ipw
from aipl.measure.pi import campaign_pi, learn_weights
from aipl.measure.results import CampaignPI, LiftResult, PiWeights, Postmortem, UpliftTargets
from aipl.measure.targeting import target_uplift
from aipl.measure.uplift import LEARNERS, TLearner, XLearner, uplift_targets

__all__ = [
    "LEARNERS",
    "METHODS",
    "OUTCOMES",
    "PRE_TREATMENT_LABELS",
    "CampaignPI",
    "Estimate",
    "LiftResult",
    "PiWeights",
    "Postmortem",
    "TLearner",
    "UpliftTargets",
    "Window",
    "XLearner",
    "balance",
    "campaign_lift",
    "campaign_pi",
    "campaign_window",
    "consumer_outcomes",
    "cuped",
    "difference_in_means",
    "doubly_robust",
    "estimate",
    "experiment_lift",
    "exposure_lift",
    "ipw",
    "learn_weights",
    "measure_lift",
    "only_experiment",
    "postmortem",
    "pre_treatment_labels",
    "target_uplift",
    "uplift_targets",
]
