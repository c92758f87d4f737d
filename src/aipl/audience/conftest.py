"""The docstring examples' workspace (`pytest --doctest-modules src/aipl/audience src/aipl/autopilot`): a small
simulated market with consumer assets and crowd tags, as `wh` in every example."""

from __future__ import annotations

import pytest

from aipl.assets import ensure_built
from aipl.audience import refresh
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import open_warehouse


@pytest.fixture(scope="session")
def example_warehouse(tmp_path_factory):
    """A 600-consumer, 30-day, two-brand market (campaign sim_double11) with assets built and tags refreshed."""
    folder = tmp_path_factory.mktemp("examples")
    simulate_market(MarketSpec(consumers=600, days=30, brands=2, seed=5), folder / "market")
    wh = open_warehouse(init_workspace(folder))
    load_market(wh, folder / "market")
    ensure_built(wh)
    refresh(wh, wh.last_day())
    yield wh
    wh.close()


@pytest.fixture(autouse=True)
def _examples_see_wh(request, doctest_namespace):
    """`wh` in the examples that use it (the workspace is made once, on first use)."""
    if "(wh" in (getattr(getattr(request.node, "dtest", None), "docstring", None) or ""):
        doctest_namespace["wh"] = request.getfixturevalue("example_warehouse")
