"""Synthetic market with hidden ground truth, for demos, tests and benchmarks."""

from aipl.simulate.market import MarketSpec, calendar, simulate_market

__all__ = ["MarketSpec", "calendar", "simulate_market"]
