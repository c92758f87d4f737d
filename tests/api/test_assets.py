"""Assets and health through both faces: the CLI and the API call the same aipl.assets use case with the same
arguments and give the same answer; unknown query parameters are refused on every router; no GET builds."""

from __future__ import annotations

import importlib
import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from aipl.cli import app as cli
from aipl.warehouse import Warehouse
from tests.api.conftest import auth
from tests.api.test_tenancy import GETS

B = "B01"


@pytest.fixture(scope="module")
def days(service, client):
    """The data's last day and a start 20 days before it (ISO strings)."""
    last = client.get("/api/brands", headers=auth(service, "viewer")).json()["last_day"]
    return str(date.fromisoformat(last) - timedelta(days=20)), last


def _cli(service, *args: str):
    r = CliRunner().invoke(cli, [*args, "-w", str(service["root"]), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _flat(value, path: str = "") -> dict:
    """A nested JSON value as {path: leaf}, for comparing floats summed in any order with approx."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{path}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{path}/{i}").items()}
    return {path: value}


def _same(a, b) -> bool:
    fa, fb = _flat(a), _flat(b)
    return fa.keys() == fb.keys() and all(
        fa[k] == pytest.approx(fb[k], rel=1e-9) if isinstance(fa[k], float) else fa[k] == fb[k] for k in fa)


def _api(service, client, url: str):
    r = client.get(url, headers=auth(service, "viewer"))
    assert r.status_code == 200, r.text
    return r.json()


def test_snapshot_and_flow_are_the_same_in_cli_and_api(service, client, days):
    start, end = days
    api = _api(service, client, f"/api/assets/{B}/snapshot?day={end}")
    assert api.pop("labels")["A"] and api == _cli(service, "assets", "snapshot", "--key", B, "--day", end)
    api = _api(service, client, f"/api/assets/{B}/flow?start={start}&end={end}")
    assert api == _cli(service, "assets", "flow", "--key", B, "--start", start, "--end", end)
    assert api["from"] == start and sum(api["kinds"].values()) > 0


def test_fast_and_ranking_are_the_same_in_cli_and_api(service, client, days):
    start, end = days
    api = _api(service, client, f"/api/health/fast?start={start}&end={end}")
    cli_fast = _cli(service, "fast", "--start", start, "--end", end, "--brand", B)
    assert (api["from"], api["to"]) == (cli_fast["from"], cli_fast["to"]) == (start, end)
    # the API answers a tenant: its brand's figures are the owner's (the CLI's), while its categories' peer
    # figures obey [privacy] min_peer_brands (each category here holds one other brand: withheld)
    raw = ["brand_id", "category_id", "F", "A", "S", "T", "aipl_start", "advanced", "active"]
    mine = [b for b in api["brands"] if b["brand_id"] == B]
    assert _same([{k: b[k] for k in raw} for b in mine], [{k: b[k] for k in raw} for b in cli_fast["brands"]])
    assert mine[0]["withheld"] and mine[0]["F_index"] is None and cli_fast["brands"][0]["F_index"] is not None
    assert {b["category_id"] for b in cli_fast["benchmarks"]} <= {b["category_id"] for b in api["benchmarks"]}
    assert all(b["P50"] is None and "other brands" in b["withheld"] for b in api["benchmarks"])
    ranked = _api(service, client, f"/api/health/ranking?start={start}&end={end}&limit=500")["items"]
    everyone = {r["brand_id"]: r for r in _cli(service, "rank", "--start", start, "--end", end)}
    own = [r for r in ranked if r.pop("own")]
    assert {r["brand_id"] for r in own} == {"B01", "B02"} == {r["brand_id"] for r in ranked}
    for r in own:
        assert _same({k: r[k] for k in ("category_id", "F", "A", "S", "T")},
                     {k: everyone[r["brand_id"]][k] for k in ("category_id", "F", "A", "S", "T")})
        assert r["rank"] is None and r["score"] is None and r["withheld"]
    # the API's default period is the CLI's: the 30 days to the last day
    assert _api(service, client, "/api/health/fast")["from"] == str(date.fromisoformat(end) - timedelta(days=29))
    assert _cli(service, "fast", "--brand", B)["from"] == str(date.fromisoformat(end) - timedelta(days=29))


def test_grow_is_the_same_in_cli_and_api(service, client, days):
    start, end = days
    s0, e0 = (str(date.fromisoformat(d) - timedelta(days=21)) for d in days)
    api = _api(service, client, f"/api/health/grow/{B}?start0={s0}&end0={e0}&start1={start}&end1={end}")
    cli_grow = _cli(service, "grow", "--brand", B, "--start0", s0, "--end0", e0, "--start1", start, "--end1", end)
    w_api, w_cli = api.pop("W_fmcg"), cli_grow.pop("W_fmcg")  # 新品力 against the peers: a tenant's is withheld
    assert _same(api, cli_grow) and api["period1"] == [start, end]
    assert w_api["components"] == pytest.approx(w_cli["components"], rel=1e-12)
    assert w_api["score"] is None and w_api["withheld"]
    assert api["G"] + api["R"] + api["O"] == pytest.approx(api["delta"])


@pytest.mark.parametrize("url", [
    "/api/me?brand=B01", "/api/brands?limt=5", f"/api/assets/{B}/snapshot?date=2026-11-01",
    f"/api/assets/{B}/flow?start=2026-10-01&to=2026-11-01", "/api/health/fast?from=2026-10-01",
    "/api/health/ranking?limit=5&categry=x", f"/api/autopilot/{B}/sequence?nope=1", "/api/crowds?x=1",
    "/api/jobs?offset=0&status=done",
])
def test_unknown_query_parameters_are_refused(service, client, url):
    r = client.get(url, headers=auth(service, "analyst"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("unknown query parameter") and "this endpoint takes" in detail, detail


def test_known_query_parameters_still_answer(service, client, days):
    h = auth(service, "analyst")
    assert client.get("/api/brands?limit=1&offset=1", headers=h).json()["items"] == [
        {"brand_id": "B02", "category_id": client.get("/api/brands", headers=h).json()["items"][1]["category_id"]}]
    r = client.post("/api/crowds/count?x=1", json={"expr": "age > 3"}, headers=h)
    assert r.status_code == 422 and "unknown query parameter x" in r.json()["detail"]


def test_no_get_starts_a_build(service, client, monkeypatch):
    """With the assets made to look stale, GETs of every router still answer from what is built."""

    def refuse(*args, **kwargs):
        raise AssertionError("a GET request started an asset build")

    count = Warehouse.count
    monkeypatch.setattr(Warehouse, "count", lambda wh, name: count(wh, name) + (name == "batches"))
    builder = importlib.import_module("aipl.assets.build")  # the module (aipl.assets.build is its function)
    monkeypatch.setattr(builder, "build", refuse)
    monkeypatch.setattr(builder, "update", refuse)
    client.app.state.cache.clear()
    for url in ("/api/me", "/api/brands", "/api/health/fast", "/api/health/ranking", "/api/strategy/campaigns",
                "/api/crowds", "/api/jobs", *(path.format(b=B) for path in GETS)):
        _api(service, client, url)
