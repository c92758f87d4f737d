"""The CLI and the API call the same audience and autopilot use cases: for the same arguments they give the
same answer (the API's saved crowds are the tenant's, `acme:name` for the workspace owner's CLI)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aipl.audience import crowd_lookalike
from aipl.cli import app
from aipl.warehouse import open_warehouse
from tests.api.conftest import auth

B = "B01"
CAMPAIGN = "sim_double11"


def cli(service, *args: str) -> dict | list:
    r = CliRunner().invoke(app, [*args, "-w", str(service["root"]), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_count_create_and_list(service, client):
    h = auth(service, "analyst")
    expr = f'aipl(brand="{B}") in ("I", "P") and age < 40'
    api = client.post("/api/crowds/count", json={"expr": expr}, headers=h).json()
    mine = cli(service, "crowd", "count", expr)
    assert {k: mine[k] for k in ("expr", "count", "of", "day")} == {k: api[k] for k in ("expr", "count", "of", "day")}
    saved = client.post("/api/crowds", json={"name": "par_young", "expr": expr}, headers=h)
    assert saved.status_code == 201, saved.text
    assert saved.json()["coverage"] == api["count"]
    # the tenant's crowd is `acme:par_young` in the workspace: the CLI counts the same consumers
    assert cli(service, "crowd", "count", 'crowd("acme:par_young")')["count"] == api["count"]
    assert client.post("/api/crowds/count", json={"expr": "par_young"}, headers=h).json()["count"] == api["count"]
    listed = {c["name"]: c for c in client.get("/api/crowds?limit=500", headers=h).json()["items"]}
    everyone = {c["name"]: c for c in cli(service, "crowd", "list")}
    assert listed["par_young"]["coverage"] == everyone["acme:par_young"]["coverage"] == api["count"]
    assert listed["par_young"]["expr"] == saved.json()["expr"] == everyone["acme:par_young"]["expr"]
    built_in = {n for n, c in everyone.items() if str(c["source"]).startswith("built-in")}
    assert built_in and built_in <= set(listed)  # built-in crowds are everyone's


def test_insight_and_tags(service, client):
    h = auth(service, "analyst")
    expr = f'aipl(brand="{B}") in ("P", "L")'
    body = {"expr": expr, "compare": ["strategy_gen_z"], "brand": B, "start": "2026-10-20", "end": "2026-11-13",
            "tags": ["gender", "city_tier"]}
    api = client.post("/api/crowds/insight", json=body, headers=h)
    assert api.status_code == 200, api.text
    api = api.json()
    mine = cli(service, "crowd", "insight", expr, "--compare", "strategy_gen_z", "--brand", B, "--start",
               body["start"], "--end", body["end"], "--tag", "gender", "--tag", "city_tier")
    assert api["size"] == mine["size"] > 0
    assert api["flow"] == mine["flow"] and api["flow"]["consumers"] == api["size"]
    assert [(o["b"], o["both"]) for o in api["overlap"]] == [(o["b"], o["both"]) for o in mine["overlap"]]
    assert {r["tag"] for r in api["profile"]} == {"gender", "city_tier"}
    assert [(r["tag"], str(r["value"]), r["tgi"]) for r in api["profile"]] == [
        (r["tag"], str(r["value"]), r["tgi"]) for r in mine["profile"]]
    foreign = client.post("/api/crowds/insight", json={**body, "brand": "B03"}, headers=h)
    assert foreign.status_code == 403
    tags = client.get("/api/crowds/tags", headers=h).json()["items"]
    assert tags == json.loads(CliRunner().invoke(app, ["crowd", "tags", "--json"]).stdout)


def test_scene_plan_with_target_crowd(service, client):
    h = auth(service, "analyst")
    client.post("/api/crowds", json={"name": "par_buyers", "expr": f'aipl(brand="{B}") in ("P", "L")'}, headers=h)
    url = f"/api/autopilot/{B}/plan?scene=爆发收割&campaign={CAMPAIGN}&budget=200&crowd=par_buyers"
    api = client.get(url, headers=h)
    assert api.status_code == 200, api.text
    api = api.json()
    mine = cli(service, "autopilot", "plan", "--brand", B, "--scene", "爆发收割", "--campaign", CAMPAIGN, "--budget",
               "200", "--crowd", 'crowd("acme:par_buyers")')
    assert api["target_consumers"] == mine["target_consumers"] > 0
    assert api["values"] == pytest.approx(mine["values"])
    assert api["shares"] == pytest.approx(mine["shares"], abs=1e-6)
    assert api["objective"] == pytest.approx(mine["objective"], rel=1e-6)
    # a package budget spread over the campaign's days, the same words in both faces
    api = client.get(f"/api/autopilot/{B}/plan?scene=拉新快&budget=3000&budget_mode=package&start=2026-11-01"
                     "&end=2026-11-10", headers=h).json()
    mine = cli(service, "autopilot", "plan", "--brand", B, "--scene", "拉新快", "--budget", "3000", "--budget-mode",
               "package", "--start", "2026-11-01", "--end", "2026-11-10")
    assert api["budget"] == mine["budget"] == pytest.approx(300.0) and api["campaign"] == mine["campaign"]
    expr = client.get(f"/api/autopilot/{B}/plan?scene=拉新快&budget=10&crowd=" + 'aipl(brand="B03") = "P"', headers=h)
    assert expr.status_code == 403


def test_sequence(service, client):
    h = auth(service, "viewer")
    api = client.get(f"/api/autopilot/{B}/sequence", headers=h)
    assert api.status_code == 200, api.text
    api = api.json()
    mine = cli(service, "autopilot", "sequence", "--brand", B, "--day", api["day"])
    assert api["cap"] == mine["cap"] and api["items"] == mine["actions"] and sum(a["consumers"] for a in api["items"])


def test_lookalike(service, client):
    seed = f'aipl(brand="{B}") in ("P", "L")'
    body = {"seed": seed, "k": 1.5, "save": "par_lal"}
    assert client.post("/api/crowds/lookalike", json=body, headers=auth(service, "viewer")).status_code == 403
    api = client.post("/api/crowds/lookalike", json=body, headers=auth(service, "analyst"))
    assert api.status_code == 200, api.text
    api = api.json()
    mine = cli(service, "crowd", "lookalike", seed, "--k", "1.5")
    assert {k: api[k] for k in ("seed", "seed_size", "size")} == {k: mine[k] for k in ("seed", "seed_size", "size")}
    wh = open_warehouse(service["root"])  # the tenant's model learns from the tags it may see: the library's too
    try:
        tenant = crowd_lookalike(wh, seed, 1.5, viewer={"B01", "B02"})
    finally:
        wh.close()
    assert (api["c"], api["top_features"]) == (tenant.c, tenant.top_features)
    assert api["saved"] == "par_lal" and mine["saved"] is None
    h = auth(service, "viewer")
    assert client.post("/api/crowds/count", json={"expr": "par_lal"}, headers=h).json()["count"] == api["size"]
    assert cli(service, "crowd", "count", 'list("acme:par_lal")')["count"] == api["size"]
