"""Measurement: lift of campaigns and experiments (randomised or observational), the purchase-intent index,
uplift models for targeting, and the campaign post-mortem (结案)."""

from aipl.measure.experiment import (
    OUTCOMES,
    Window,
    campaign_lift,
    campaign_window,
    consumer_outcomes,
    experiment_lift,
    exposure_lift,
)
from aipl.measure.lift import METHODS, Estimate, balance, cuped, difference_in_means, doubly_robust, estimate, ipw
from aipl.measure.pi import learn_weights
from aipl.measure.postmortem import postmortem
from aipl.measure.uplift import LEARNERS, TLearner, XLearner, uplift_targets

__all__ = [
    "LEARNERS",
    "METHODS",
    "OUTCOMES",
    "Estimate",
    "TLearner",
    "Window",
    "XLearner",
    "balance",
    "campaign_lift",
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
    "postmortem",
    "uplift_targets",
]
