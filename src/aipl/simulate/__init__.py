"""Synthetic market with hidden ground truth, for demos, tests and benchmarks."""

from aipl.simulate.market import MarketSpec, calendar, simulate_market
from aipl.simulate.sample import sample_warehouse

__all__ = ["MarketSpec", "calendar", "sample_warehouse", "simulate_market"]
