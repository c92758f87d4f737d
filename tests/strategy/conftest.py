"""A hand-made brand B with two campaigns a year apart (LY, TY) and a category peer Z: every pool of the GTA
plan holds known consumers (see test_gta.py for the numbers)."""

from __future__ import annotations

import pytest

from aipl import schema
from aipl.assets import ensure_built
from aipl.config import init_workspace
from aipl.warehouse import open_warehouse
from tests.assets.test_states import at, ev, load
from tests.measure.test_pi import _insert

LY = {"accumulate": (10, 19), "presale": (20, 24), "burst": (25, 29)}   # days after 2026-01-01
TY = {k: (a + 365, b + 365) for k, (a, b) in LY.items()}


def _calendar(wh, cid: str, phases: dict) -> None:
    _insert(wh, schema.CAMPAIGNS, [{"campaign_id": cid, "name": "双11", "phase": p, "start_date": at(a).date(),
                                    "end_date": at(b).date()} for p, (a, b) in phases.items()])


def buy(c: str, day: int, amount: float = 1.0) -> dict:
    return ev(c, "purchase", day, amount=amount)


@pytest.fixture
def ws(tmp_path):
    yield from _hand_made(tmp_path)


@pytest.fixture(scope="module")
def ws_module(tmp_path_factory):
    """The same workspace once per test module, for tests that only read it (or write last)."""
    yield from _hand_made(tmp_path_factory.mktemp("hand"))


def _hand_made(folder):
    root = init_workspace(folder / "ws")
    wh = open_warehouse(root)
    _calendar(wh, "LY", LY)
    _calendar(wh, "TY", TY)
    load(wh, [
        # last year: pools on D0 = day 19 (the eve of the presale on day 20)
        buy("l1", 1), buy("l1", 5), buy("l1", 22, 100.0),          # L (2 purchase days), buys 100
        buy("p1", 2), buy("p1", 26, 50.0), buy("p2", 3),            # P ×2, p1 buys 50
        ev("i1", "favorite", 15), buy("i1", 21, 80.0),              # I_xu ×3, i1 buys 80
        ev("i2", "favorite", 18), ev("i3", "add_to_cart", 12),
        ev("a1", "exposure", 10), buy("a1", 23, 60.0),              # A_xu ×4, a1 buys 60
        *[ev(c, "exposure", 12) for c in ("a2", "a3", "a4")],
        ev("n1", "favorite", 21), buy("n1", 27, 40.0), ev("n2", "favorite", 22),   # I_act ×2, n1 buys 40
        ev("m1", "exposure", 21), ev("m2", "exposure", 22), buy("m2", 24, 30.0),   # A_act ×2, m2 buys 30
        ev("o1", "pdp_view", 14, brand_id="Z"), ev("o1", "pdp_view", 15, brand_id="Z"),  # O: the category only
        buy("o1", 28, 70.0),
        buy("d1", 25, 90.0),                                        # direct: from no pool
        # this year, planned on day 380 (4 days before D0 = day 384)
        buy("t1", 370), buy("t1", 375),                             # L
        ev("t2", "favorite", 378),                                  # I_xu
        ev("t3", "exposure", 379), ev("t4", "exposure", 379),       # A_xu ×2
        ev("t5", "pdp_view", 377, brand_id="Z"), ev("t5", "pdp_view", 378, brand_id="Z"),  # O
    ])
    ensure_built(wh)  # a plan reads the assets as last built; it never builds them
    yield root, wh
    wh.close()
