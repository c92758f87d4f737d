"""Autopilot (万相台), first part: response curves per brand × channel learned from ad-delivery history, and
the daily budget split across channels that maximises the response under share limits."""

from aipl.autopilot.response import Curve, adstock, allocate, delivery, fit_brand, fit_curve, hill

__all__ = ["Curve", "adstock", "allocate", "delivery", "fit_brand", "fit_curve", "hill"]
