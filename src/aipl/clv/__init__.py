"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood, and the
calibration summary they need, computed in the warehouse; member operations (lapsed buckets, lists)."""

from aipl.clv.lists import MemberReport, member_list, member_report
from aipl.clv.members import LIST_KINDS, member_status, member_summary, save_list, select_list
from aipl.clv.membership import MemberValue, member_value
from aipl.clv.models import MODELS, BetaGeo, GammaGamma, NotFittedError, ParetoNBD
from aipl.clv.results import AssetValue, MemberSummary
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.clv.value import ClvFit, asset_value, calibration_summary, fit_clv, predict_clv

__all__ = [
    "LIST_KINDS",
    "MODELS",
    "TIME_UNITS",
    "AssetValue",
    "BetaGeo",
    "ClvFit",
    "GammaGamma",
    "MemberReport",
    "MemberSummary",
    "MemberValue",
    "NotFittedError",
    "ParetoNBD",
    "asset_value",
    "calibration_summary",
    "fit_clv",
    "member_list",
    "member_report",
    "member_status",
    "member_summary",
    "member_value",
    "predict_clv",
    "rfm_summary",
    "save_list",
    "select_list",
]
