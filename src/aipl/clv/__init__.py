"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood, and the
calibration summary they need, computed in the warehouse; member operations (lapsed buckets, lists)."""

from aipl.clv.holdout import campaign_windows, holdout_check, purchase_days, seasonality
from aipl.clv.lists import MemberReport, member_list, member_report
from aipl.clv.members import LIST_KINDS, member_status, member_summary, save_list, select_list
from aipl.clv.membership import MemberValue, member_value
from aipl.clv.models import MODELS, BetaGeo, GammaGamma, NotFittedError, ParetoNBD
from aipl.clv.results import AssetValue, FitCheck, HoldoutCheck, MemberSummary, Seasonality
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.clv.value import ClvFit, asset_value, calibration_summary, fit_clv, fit_warnings, parse_cohort, predict_clv

__all__ = [
    "LIST_KINDS",
    "MODELS",
    "TIME_UNITS",
    "AssetValue",
    "BetaGeo",
    "ClvFit",
    "FitCheck",
    "GammaGamma",
    "HoldoutCheck",
    "MemberReport",
    "MemberSummary",
    "MemberValue",
    "NotFittedError",
    "ParetoNBD",
    "Seasonality",
    "asset_value",
    "calibration_summary",
    "campaign_windows",
    "fit_clv",
    "fit_warnings",
    "holdout_check",
    "member_list",
    "member_report",
    "member_status",
    "member_summary",
    "member_value",
    "parse_cohort",
    "predict_clv",
    "purchase_days",
    "rfm_summary",
    "save_list",
    "seasonality",
    "select_list",
]
