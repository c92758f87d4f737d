"""Synthetic market with hidden ground truth, for demos, tests and benchmarks."""

from aipl.simulate.market import MarketSpec, adstock, calendar, hill, simulate_market

__all__ = ["MarketSpec", "adstock", "calendar", "hill", "simulate_market"]
