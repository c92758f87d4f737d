"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood, and the
calibration summary they need, computed in the warehouse."""

from aipl.clv.models import MODELS, BetaGeo, GammaGamma, NotFittedError, ParetoNBD
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.clv.value import asset_value

__all__ = [
    "MODELS", "TIME_UNITS", "BetaGeo", "GammaGamma", "NotFittedError", "ParetoNBD", "asset_value", "rfm_summary",
]
