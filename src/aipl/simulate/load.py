"""Loading a simulated market's files into a warehouse through the ordinary validated ingestion."""

from __future__ import annotations

import json
from pathlib import Path

from aipl.ingest import IngestReport, ingest
from aipl.warehouse import Warehouse

# file -> canonical format, in load order
MARKET_FILES = (
    ("consumers.parquet", "consumers"), ("products.parquet", "products"), ("campaigns.csv", "campaigns"),
    ("assignments.parquet", "assignments"), ("members.parquet", "members"), ("ad_delivery.parquet", "ad_delivery"),
    ("events.parquet", "events"),
)


def load_market(wh: Warehouse, folder: str | Path) -> list[IngestReport]:
    """Ingest every file of a simulated market folder; each file is its own all-or-nothing batch."""
    folder = Path(folder)
    return [ingest(wh, folder / name, fmt) for name, fmt in MARKET_FILES if (folder / name).exists()]


def find_truth(root: str | Path) -> dict | None:
    """The ground truth of the market simulated into this workspace, if any."""
    path = Path(root) / "market" / "truth.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
