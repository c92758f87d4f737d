"""A demo workspace for the service (a two-season simulated market, consumer assets, crowd tags) with two
tenants: acme (B01, B02) holding a token per role, and rival (B03) holding an admin token.

The workspace is built once per test run and each user of `service` gets a copy: a module that imports the
fixture (tests/web/conftest.py, tests/assets/test_trend.py, …) holds a session fixture of its own, so copies
keep those modules as independent of each other as separate builds did."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.api.deps import close_all
from aipl.audience import refresh
from tests.conftest import built_once, copy_of
from tests.measure.conftest import market_workspace


def build_demo(folder: Path) -> None:
    """The service's market in `folder`: 12 brands over two seasons, assets and crowd tags as of its last day."""
    wh, _ = market_workspace(folder, consumers=5000, days=60, brands=12, seed=11, seasons=2, start="2025-09-15",
                             lead_days=30)
    try:
        ev = wh.table("events")
        refresh(wh, str(ev.aggregate(d=wh.local_day(ev.ts).max()).execute().d.iloc[0])[:10])
    finally:
        wh.close()


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    folder = copy_of(built_once(tmp_path_factory, "service-workspace", build_demo), tmp_path_factory.mktemp("service"))
    add_tenant(folder, "acme", ["B01", "B02"])
    add_tenant(folder, "rival", ["B03"])
    tokens = {role: issue_token(folder, "acme", role) for role in ("viewer", "analyst", "admin")}
    tokens["rival"] = issue_token(folder, "rival", "admin")
    app = create_app(folder)
    yield {"root": folder, "app": app, "tokens": tokens}
    app.state.jobs.wait(300)
    close_all()


@pytest.fixture(scope="session")
def client(service):
    with TestClient(service["app"]) as c:
        yield c


def auth(service, who: str) -> dict:
    """Headers for one of the fixture's tokens (viewer, analyst, admin of acme; rival)."""
    return {"Authorization": f"Bearer {service['tokens'][who]}"}
