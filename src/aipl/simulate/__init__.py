"""Synthetic market with hidden ground truth, for demos, tests and benchmarks."""

from aipl.simulate.load import MARKET_FILES, find_truth, load_market
from aipl.simulate.market import MarketSpec, adstock, calendar, hill, simulate_market

__all__ = [
    "MARKET_FILES",
    "MarketSpec",
    "adstock",
    "calendar",
    "find_truth",
    "hill",
    "load_market",
    "simulate_market",
]
