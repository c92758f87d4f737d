"""Synthetic market with hidden ground truth, for demos, tests and benchmarks."""

from aipl.simulate.load import MARKET_FILES, find_truth, load_market
from aipl.simulate.market import MarketSpec, calendar, simulate_market
from aipl.simulate.results import MarketTruth
from aipl.simulate.sample import sample_warehouse

__all__ = [
    "MARKET_FILES",
    "MarketSpec",
    "MarketTruth",
    "calendar",
    "find_truth",
    "load_market",
    "sample_warehouse",
    "simulate_market",
]
