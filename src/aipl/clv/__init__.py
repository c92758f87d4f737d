"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood, and the
calibration summary they need, computed in the warehouse."""

from aipl.clv.members import LIST_KINDS, member_status, member_summary, save_list, select_list
from aipl.clv.models import MODELS, BetaGeo, GammaGamma, NotFittedError, ParetoNBD
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.clv.value import asset_value

__all__ = [
    "LIST_KINDS", "MODELS", "TIME_UNITS", "BetaGeo", "GammaGamma", "NotFittedError", "ParetoNBD", "asset_value",
    "member_status", "member_summary", "rfm_summary", "save_list", "select_list",
]
