"""Category scope: category AIPL counts purchases from every channel; only brand-attribute touchpoints are left out
(DOMAIN.md §2.5)."""

from __future__ import annotations

from pathlib import Path

from aipl.assets import ensure_built, series, snapshot
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse

DATA = Path(__file__).parents[1] / "data"


def test_purchases_through_a_paid_channel_count_for_the_category(tmp_path):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    try:
        assert ingest(wh, DATA / "category_search_buyers.csv", "events").accepted == 7
        ensure_built(wh)
        cat = snapshot(wh, "category", "snacks", "2026-03-03")
        assert cat.counts == {"A": 1, "I": 0, "P": 3, "L": 0}  # u5's one organic view is A; u4's paid exposure: none
        assert snapshot(wh, "brand", "BX", "2026-03-03").counts["P"] == 2
        assert snapshot(wh, "brand", "BY", "2026-03-03").counts == {"A": 2, "I": 0, "P": 1, "L": 0}
        assert series(wh, "category", "snacks", "2026-03-01", "2026-03-03").P.tolist() == [1, 2, 3]
    finally:
        wh.close()
