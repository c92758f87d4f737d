"""Shared by the measurement tests."""

from __future__ import annotations

from pathlib import Path

from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import Warehouse, open_warehouse


def market_workspace(folder: Path, purchase_days: int | None = None, **spec) -> tuple[Warehouse, dict]:
    """A workspace in `folder` holding a freshly simulated market, and the market's truth; `purchase_days`
    overrides the P window of [assets]."""
    truth = simulate_market(MarketSpec(**spec), folder / "market")
    root = init_workspace(folder)
    if purchase_days is not None:
        cfg = root / "aipl.toml"
        text = cfg.read_text(encoding="utf-8").replace("purchase_days = 913", f"purchase_days = {purchase_days}")
        cfg.write_text(text, encoding="utf-8")
    wh = open_warehouse(root)
    load_market(wh, folder / "market")
    return wh, truth
