"""A small ready-made workspace for examples, notebooks and doctests: a simulated market loaded through the
ordinary validated ingestion, made once per process and arguments."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from aipl.config import init_workspace
from aipl.simulate.load import load_market
from aipl.simulate.market import MarketSpec, simulate_market
from aipl.warehouse import Warehouse, open_warehouse


@cache
def sample_warehouse(consumers: int = 400, days: int = 40, brands: int = 4, seed: int = 3) -> Warehouse:
    """The warehouse of a small simulated 双11 market (brands B01…, one campaign `sim_double11`), in a temporary
    workspace removed when the process ends. Every public engine function can be tried on it.

    >>> wh = sample_warehouse()
    >>> wh.count("events") > 0, wh.last_day().isoformat()
    (True, '2026-10-24')
    """
    root = Path(tempfile.mkdtemp(prefix="aipl-sample-"))
    atexit.register(shutil.rmtree, root, True)
    simulate_market(MarketSpec(consumers=consumers, days=days, brands=brands, seed=seed), root / "market")
    wh = open_warehouse(init_workspace(root))
    atexit.register(wh.close)
    load_market(wh, root / "market")
    return wh
