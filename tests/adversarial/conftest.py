"""A small two-season market (8 brands: two per category, so skincare holds B01 and B07) served with tenants:
acme (B01) with a token per role, rival (B07, acme's only peer in skincare) and agency (B02 and B08, the whole of
makeup). Small enough that every adversarial test runs in well under a second once it is built."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.api.deps import close_all
from aipl.assets import ensure_built
from aipl.audience import refresh
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, simulate_market
from aipl.simulate.load import load_market
from aipl.warehouse import open_warehouse

TENANTS = {"acme": ["B01"], "rival": ["B07"], "agency": ["B02", "B08"]}
RIVAL_DAY = '\n[campaigns.b07_day]\nname = "B07 品牌日"\nbrand = "B07"\nburst = [["2026-10-20", "2026-10-20"]]\n'


@pytest.fixture(scope="session")
def market(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adversarial")
    simulate_market(MarketSpec(consumers=600, days=40, brands=8, seed=3, seasons=2, start="2025-09-15",
                               lead_days=30), folder / "market")
    root = init_workspace(folder)
    with (root / "aipl.toml").open("a", encoding="utf-8") as f:
        f.write(RIVAL_DAY)  # a campaign of the rival's brand: its calendar is the rival's data
    wh = open_warehouse(root)
    load_market(wh, folder / "market")
    ensure_built(wh)
    refresh(wh, wh.last_day())
    wh.close()
    copy = tmp_path_factory.mktemp("exports") / "ws"  # a second workspace for the CLI, which the service never opens
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("market"))
    for tenant, brands in TENANTS.items():
        add_tenant(folder, tenant, brands)
    tokens = {role: issue_token(folder, "acme", role) for role in ("viewer", "analyst", "admin")}
    tokens |= {t: issue_token(folder, t, "admin") for t in ("rival", "agency")}
    return {"root": folder, "tokens": tokens, "copy": copy}


@pytest.fixture(scope="session")
def service(market):
    app = create_app(market["root"])
    with TestClient(app) as client:
        yield {**market, "app": app, "client": client}
    app.state.jobs.wait(120)
    close_all()


def auth(service, who: str) -> dict:
    """Headers for one of the fixture's tokens (viewer, analyst, admin of acme; rival; agency)."""
    return {"Authorization": f"Bearer {service['tokens'][who]}"}
