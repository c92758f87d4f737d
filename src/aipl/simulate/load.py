"""Loading a simulated market's files into a warehouse through the ordinary validated ingestion."""

from __future__ import annotations

import json
from pathlib import Path

from aipl.ingest import IngestReport, ingest
from aipl.simulate.results import MarketTruth
from aipl.warehouse import Warehouse

# file -> canonical format, in load order
MARKET_FILES = (
    ("consumers.parquet", "consumers"), ("products.parquet", "products"), ("campaigns.csv", "campaigns"),
    ("assignments.parquet", "assignments"), ("members.parquet", "members"), ("ad_delivery.parquet", "ad_delivery"),
    ("events.parquet", "events"),
)


def load_market(wh: Warehouse, folder: str | Path) -> list[IngestReport]:
    """Ingest every file of a simulated market folder; each file is its own all-or-nothing batch. Returns one
    report per file, in load order (MARKET_FILES).

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.simulate import MarketSpec, load_market, simulate_market
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = simulate_market(MarketSpec(consumers=50, days=7, brands=1), root / "market")
    >>> wh = open_warehouse(init_workspace(root))
    >>> [(r.format, r.accepted, r.rejected) for r in load_market(wh, root / "market")][:3]
    [('consumers', 50, 0), ('products', 20, 0), ('campaigns', 5, 0)]
    >>> all(r.skipped for r in load_market(wh, root / "market"))  # loaded before: nothing changes
    True
    >>> wh.close()
    """
    folder = Path(folder)
    return [ingest(wh, folder / name, fmt) for name, fmt in MARKET_FILES if (folder / name).exists()]


def find_truth(root: str | Path) -> MarketTruth | None:
    """The ground truth of the market simulated into this workspace (its `market/truth.json`), if any.

    >>> import pathlib, tempfile
    >>> from aipl.simulate import MarketSpec, find_truth, simulate_market
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> find_truth(root) is None
    True
    >>> _ = simulate_market(MarketSpec(consumers=200, days=20, brands=2), root / "market")
    >>> find_truth(root)["spec"]["consumers"], find_truth(root)["channels"][:2]
    (200, ['search', 'display'])
    """
    path = Path(root) / "market" / "truth.json"
    return MarketTruth(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None
