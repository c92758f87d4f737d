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

_OPEN: dict[tuple, Warehouse] = {}


@cache
def _sample_root(consumers: int, days: int, brands: int, seed: int) -> Path:
    """The temporary workspace of a sample market, simulated and loaded once per process and arguments."""
    root = Path(tempfile.mkdtemp(prefix="aipl-sample-"))
    atexit.register(shutil.rmtree, root, True)
    simulate_market(MarketSpec(consumers=consumers, days=days, brands=brands, seed=seed), root / "market")
    with open_warehouse(init_workspace(root)) as wh:
        load_market(wh, root / "market")
    return root


def sample_warehouse(consumers: int = 400, days: int = 40, brands: int = 4, seed: int = 3) -> Warehouse:
    """The warehouse of a small simulated 双11 market (brands B01…, one campaign `sim_double11`), in a temporary
    workspace removed when the process ends. Every public engine function can be tried on it; the same
    warehouse is handed out again (opened anew if someone closed it).

    >>> wh = sample_warehouse()
    >>> wh.count("events") > 0, wh.last_day().isoformat()
    (True, '2026-10-24')
    >>> wh.close()
    >>> sample_warehouse().closed  # closed by someone: opened anew
    False
    """
    key = (consumers, days, brands, seed)
    wh = _OPEN.get(key)
    if wh is None or wh.closed:
        wh = _OPEN[key] = open_warehouse(_sample_root(*key))
        atexit.register(wh.close)
    return wh
