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

__all__ = [
    "METHODS", "OUTCOMES", "Estimate", "Window", "balance", "campaign_lift", "campaign_window",
    "consumer_outcomes", "cuped", "difference_in_means", "doubly_robust", "estimate", "experiment_lift",
    "exposure_lift", "ipw", "learn_weights",
]
