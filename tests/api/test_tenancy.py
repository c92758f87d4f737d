"""Tenants and roles: every endpoint answers only for the caller's brands; roles cannot be escalated;
malformed and oversized input gets a clear 4xx; jobs are the tenant's own; nothing is lost."""

from __future__ import annotations

import json

import pytest

from aipl.api.auth import TENANTS_FILE
from tests.api.conftest import auth

B = "B01"  # acme's
FOREIGN = "B03"  # rival's
GETS = [
    "/api/assets/{b}/snapshot", "/api/assets/{b}/flow?start=2026-10-01", "/api/autopilot/{b}/sequence",
    "/api/health/grow/{b}?start0=2026-09-15&end0=2026-10-14&start1=2026-10-15&end1=2026-11-13",
    "/api/strategy/{b}/plan?campaign=sim_double11",
    "/api/autopilot/{b}/plan?scene=拉新快&campaign=sim_double11&budget=100",
]


def test_docs_and_dashboard_are_served_without_a_cdn(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/web/vendor/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert client.get("/web/vendor/swagger-ui-bundle.js").status_code == 200
    page = client.get("/web/index.html")
    assert page.status_code == 200 and "vendor/echarts.min.js" in page.text and "http" not in page.text
    assert client.get("/openapi.json").json()["info"]["title"] == "aipl"


def test_tokens_are_required_and_stored_hashed(service, client):
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    r = client.get("/api/me", headers=auth(service, "viewer"))
    body = r.json()
    assert body.pop("categories") is not None  # the categories it may read (tests/assets/test_trend.py)
    assert body == {"tenant": "acme", "role": "viewer", "brands": ["B01", "B02"]}
    stored = (service["root"] / TENANTS_FILE).read_text(encoding="utf-8")
    for token in service["tokens"].values():
        assert token not in stored  # only hashes
    assert len(json.loads(stored)["tokens"]) == 4


@pytest.mark.parametrize("path", GETS)
def test_own_brand_answers_and_foreign_brand_is_refused(service, client, path):
    own = client.get(path.format(b=B), headers=auth(service, "viewer"))
    assert own.status_code == 200, own.text
    for brand in (FOREIGN, "B99"):  # a rival's brand and one that does not exist: the same answer
        r = client.get(path.format(b=brand), headers=auth(service, "viewer"))
        assert r.status_code == 403 and "not granted" in r.json()["detail"], r.text
    assert client.get(path.format(b=FOREIGN), headers=auth(service, "rival")).status_code == 200


def test_lists_show_only_the_tenants_data(service, client):
    brands = client.get("/api/brands", headers=auth(service, "viewer")).json()
    assert [b["brand_id"] for b in brands["items"]] == ["B01", "B02"]
    fast = client.get("/api/health/fast", headers=auth(service, "viewer")).json()
    assert {b["brand_id"] for b in fast["brands"]} == {"B01", "B02"}
    rank = client.get("/api/health/ranking", headers=auth(service, "viewer")).json()
    assert rank["items"] and {r["brand_id"] for r in rank["items"]} <= {"B01", "B02", "同行 peer"}
    for r in rank["items"]:
        if not r["own"]:
            assert r["F"] is None and r["A"] is None and r["S"] is None and r["T"] is None
    text = json.dumps(rank) + json.dumps(fast)
    assert FOREIGN not in text and "B04" not in text


def test_roles_cannot_be_escalated(service, client):
    body = {"name": "young", "expr": f'aipl(brand="{B}") = "I"'}
    assert client.post("/api/crowds", json=body, headers=auth(service, "viewer")).status_code == 403
    r = client.post("/api/crowds", json=body, headers=auth(service, "analyst"))
    assert r.status_code == 201, r.text
    files = {"file": ("e.csv", b"consumer_id,brand_id,event_type,ts\nc1,B01,pdp_view,2026-11-01T10:00:00\n")}
    r = client.post("/api/jobs/ingest?format=events", files=files, headers=auth(service, "analyst"))
    assert r.status_code == 403
    pm = {"brand": B, "campaign": "sim_double11"}
    assert client.post("/api/jobs/postmortem", json=pm, headers=auth(service, "viewer")).status_code == 403


def test_crowds_are_scoped_to_the_tenant(service, client):
    expr = f'aipl(brand="{FOREIGN}") = "P"'
    r = client.post("/api/crowds/count", json={"expr": expr}, headers=auth(service, "analyst"))
    assert r.status_code == 403 and FOREIGN in r.json()["detail"]
    client.post("/api/crowds", json={"name": "mine", "expr": f'aipl(brand="{B}") = "A"'},
                headers=auth(service, "analyst"))
    r = client.post("/api/crowds", json={"name": "theirs", "expr": f'aipl(brand="{FOREIGN}") = "A"'},
                    headers=auth(service, "rival"))
    assert r.status_code == 201
    mine = client.get("/api/crowds", headers=auth(service, "viewer")).json()
    assert "mine" in {c["name"] for c in mine["items"]} and "theirs" not in {c["name"] for c in mine["items"]}
    # naming the rival's saved crowd finds nothing of theirs: names resolve within the tenant
    r = client.post("/api/crowds/count", json={"expr": 'crowd("theirs")'}, headers=auth(service, "viewer"))
    assert r.status_code == 422 and "theirs" in r.json()["detail"] and "rival" not in r.json()["detail"]
    ok = client.post("/api/crowds/count", json={"expr": 'crowd("mine")'}, headers=auth(service, "viewer"))
    assert ok.status_code == 200 and ok.json()["count"] > 0


def test_malformed_and_oversized_input(service, client):
    h = auth(service, "analyst")
    cases = [
        client.post("/api/crowds/count", json={"expr": "age >>> 3"}, headers=h),  # does not parse
        client.post("/api/crowds/count", json={"expr": ""}, headers=h),
        client.post("/api/crowds/count", json={"expr": "x" * 5000}, headers=h),
        client.post("/api/crowds/count", content=b"{not json", headers={**h, "Content-Type": "application/json"}),
        client.post("/api/crowds", json={"name": "../../etc", "expr": "age > 3"}, headers=h),
        client.get(f"/api/assets/{B}/snapshot?day=2026-13-45", headers=h),
        client.get(f"/api/assets/{B}/flow?start=2026-11-10&end=2026-11-01", headers=h),
        client.get("/api/health/fast?start=2026-11-10&end=2026-11-01", headers=h),
        client.get(f"/api/health/grow/{B}?start0=2026-10-14&end0=2026-09-15&start1=2026-10-15&end1=2026-11-13",
                   headers=h),
        client.get("/api/brands?limit=100000", headers=h),
        client.get("/api/brands?offset=-1", headers=h),
        client.get(f"/api/autopilot/{B}/plan?scene=nope&campaign=sim_double11&budget=1", headers=h),
        client.get(f"/api/autopilot/{B}/plan?scene=拉新快&campaign=sim_double11&budget=-5", headers=h),
        client.get(f"/api/strategy/{B}/plan?campaign=no_such_campaign", headers=h),
    ]
    for r in cases:
        assert r.status_code == 422, (r.request.url, r.status_code, r.text)
        assert r.json()["detail"]
    reversed_grow = cases[8].json()["detail"]
    assert reversed_grow == "the base period ends (2026-09-15) before it starts (2026-10-14)", reversed_grow
    big = client.post("/api/crowds/count", content=b"{" + b" " * (2 << 20) + b"}",
                      headers={**h, "Content-Type": "application/json"})
    assert big.status_code == 413
    assert "Authorization" not in json.dumps(big.json())


def test_scene_plan_for_items_and_target_crowds(service, client):
    h = auth(service, "analyst")
    client.post("/api/crowds", json={"name": "buyers", "expr": f'aipl(brand="{B}") in ("P", "L")'}, headers=h)
    url = f"/api/autopilot/{B}/plan?scene=爆发收割&campaign=sim_double11&budget=200"
    whole = client.get(url, headers=h).json()
    part = client.get(f"{url}&crowd=buyers&strategy=effect_first", headers=h)
    assert part.status_code == 200, part.text
    body = part.json()
    assert 0 < body["target_consumers"] and body["strategy"] == "effect_first" and 0 < body["spend"] <= 200
    assert all(body["values"][c] <= whole["values"][c] + 1e-9 for c in body["values"])  # a crowd's share of outcomes
    assert body["objective_interval"][0] <= body["objective"] <= body["objective_interval"][1]
    assert client.get(f"{url}&crowd=theirs", headers=h).status_code == 422  # the rival's crowd is not found
    assert client.get(f"{url}&strategy=fastest", headers=h).status_code == 422


def test_pagination(service, client):
    h = auth(service, "analyst")
    for i in range(5):
        client.post("/api/crowds", json={"name": f"page_{i}", "expr": f'aipl(brand="{B}") = "A"'}, headers=h)
    first = client.get("/api/crowds?limit=2", headers=h).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2 and first["total"] >= 5
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/api/crowds?limit=2&offset={offset}", headers=h).json()
        seen += [c["name"] for c in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == first["total"] == len(set(seen))


def test_ingest_job_is_checked_and_loses_nothing(service, client):
    h = auth(service, "admin")
    before = client.get(f"/api/assets/{B}/snapshot", headers=h).json()
    rows = "consumer_id,brand_id,event_type,ts\n" + "".join(
        f"api{i},B01,pdp_view,2026-11-12T10:{i:02d}:00\n" for i in range(30)) + "apibad,B01,pdp_view,not-a-time\n"
    r = client.post("/api/jobs/ingest?format=events", files={"file": ("events.csv", rows.encode())}, headers=h)
    assert r.status_code == 202, r.text
    service["app"].state.jobs.wait(120)
    job = client.get(f"/api/jobs/{r.json()['id']}", headers=h).json()
    assert job["status"] == "done" and job["progress"] == 1.0, job
    assert job["result"]["read"] == 31 and job["result"]["accepted"] == 30 and job["result"]["rejected"] == 1
    after = client.get(f"/api/assets/{B}/snapshot", headers=h).json()
    assert sum(after["counts"].values()) >= sum(before["counts"].values())
    # another tenant cannot see the job; a file with a foreign brand loads nothing
    assert client.get(f"/api/jobs/{r.json()['id']}", headers=auth(service, "rival")).status_code == 404
    foreign = "consumer_id,brand_id,event_type,ts\nz1,B03,pdp_view,2026-11-12T10:00:00\n"
    r = client.post("/api/jobs/ingest?format=events", files={"file": ("f.csv", foreign.encode())}, headers=h)
    assert r.status_code == 202, r.text  # the rows are checked as stored, inside the load job
    service["app"].state.jobs.wait(120)
    job = client.get(f"/api/jobs/{r.json()['id']}", headers=h).json()
    assert job["status"] == "failed" and "nothing was loaded" in job["error"] and "B03" not in job["error"], job
    r = client.post("/api/jobs/ingest?format=nope", files={"file": ("f.csv", b"a\n1\n")}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/jobs/ingest?format=events", files={"file": ("f.exe", b"MZ")}, headers=h)
    assert r.status_code == 415
    listed = client.get("/api/jobs", headers=h).json()
    assert listed["total"] >= 1 and all(j["tenant"] == "acme" for j in listed["items"])


def test_postmortem_job(service, client):
    h = auth(service, "analyst")
    r = client.post("/api/jobs/postmortem", json={"brand": B, "campaign": "sim_double11"}, headers=h)
    assert r.status_code == 202
    service["app"].state.jobs.wait(180)
    job_id = r.json()["id"]
    assert client.get(f"/api/jobs/{job_id}", headers=h).json()["status"] == "done"
    html = client.get(f"/api/jobs/{job_id}/html", headers=h)
    assert html.status_code == 200 and "结案" in html.text and B in html.text
    assert client.get(f"/api/jobs/{job_id}/html", headers=auth(service, "rival")).status_code == 404
    pm = client.get(f"/api/jobs/{job_id}/json", headers=h)  # the figures: every cut of issue 20 on the API
    assert pm.status_code == 200 and pm.json()["brand"] == B, pm.text
    cuts = {"channel", "crowd_id", "creative_id", "phase", "customer", "strategy_crowd"}
    pm = pm.json()
    assert set(pm["cuts"]["wide"]) == set(pm["cuts"]["narrow"]) == set(pm["pi"]["cuts"]) == cuts
    if pm["lift"]["kind"] == "randomised":
        assert cuts <= set(pm["lift_cuts"]) and pm["lift_cuts"]["phase"]
    assert client.get(f"/api/jobs/{job_id}/json", headers=auth(service, "rival")).status_code == 404
    r = client.post("/api/jobs/postmortem", json={"brand": FOREIGN, "campaign": "sim_double11"}, headers=h)
    assert r.status_code == 403


def test_tenant_cli(tmp_path):
    from typer.testing import CliRunner

    from aipl.api.auth import authenticate
    from aipl.cli import app
    from aipl.config import init_workspace

    root = init_workspace(tmp_path / "ws")
    run = CliRunner().invoke
    assert run(app, ["tenant", "add", "agency", "--brands", "B01, B02", "-w", str(root)]).exit_code == 0
    r = run(app, ["tenant", "token", "agency", "--role", "admin", "-w", str(root)])
    assert r.exit_code == 0
    who = authenticate(root, r.stdout.strip())
    assert who.tenant == "agency" and who.role == "admin" and who.brands == {"B01", "B02"}
    assert run(app, ["tenant", "token", "nobody", "-w", str(root)]).exit_code == 2
    assert run(app, ["tenant", "token", "agency", "--role", "root", "-w", str(root)]).exit_code == 2
    assert run(app, ["tenant", "add", "bad name!", "--brands", "B01", "-w", str(root)]).exit_code == 2
    listed = run(app, ["tenant", "list", "-w", str(root), "--json"])
    assert json.loads(listed.stdout) == {"agency": {"brands": ["B01", "B02"], "tokens": 1}}
    assert run(app, ["tenant", "revoke", "agency", "-w", str(root)]).exit_code == 0
    assert authenticate(root, r.stdout.strip()) is None
