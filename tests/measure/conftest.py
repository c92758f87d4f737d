"""Shared by the measurement tests."""

from __future__ import annotations

from pathlib import Path

from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import Warehouse, open_warehouse


def market_workspace(folder: Path, **spec) -> tuple[Warehouse, dict]:
    """A workspace in `folder` holding a freshly simulated market, and the market's truth."""
    truth = simulate_market(MarketSpec(**spec), folder / "market")
    wh = open_warehouse(init_workspace(folder))
    load_market(wh, folder / "market")
    return wh, truth
