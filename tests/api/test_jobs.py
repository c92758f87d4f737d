"""The jobs router and the CLI call the same ingest and post-mortem functions; job answers follow their
response models; a query parameter an endpoint does not take is refused."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import aipl.api.routers.jobs as jobs_router
import aipl.cli.workspace as cli_workspace
from aipl.cli import app
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.report import write_postmortem
from tests.api.conftest import auth


def test_both_faces_use_the_same_ingest_and_postmortem_functions():
    assert cli_workspace.load_file is jobs_router.ingest is ingest
    assert cli_workspace.write_postmortem is jobs_router.write_postmortem is write_postmortem


def test_an_upload_loads_what_aipl_ingest_loads(service, client, tmp_path):
    rows = "consumer_id,brand_id,event_type,ts\n" + "".join(
        f"same{i},B02,pdp_view,2026-11-12T11:{i:02d}:00\n" for i in range(12)) + "samebad,B02,nope,2026-11-12\n"
    path = tmp_path / "same.csv"
    path.write_text(rows, encoding="utf-8")
    ws = init_workspace(tmp_path / "ws")
    cli = CliRunner().invoke(app, ["ingest", str(path), "--format", "events", "-w", str(ws), "--json"])
    assert cli.exit_code == 0, cli.output
    body = json.loads(cli.stdout)
    h = auth(service, "admin")
    r = client.post("/api/jobs/ingest?format=events", files={"file": ("same.csv", rows.encode())}, headers=h)
    assert r.status_code == 202 and r.json()["kind"] == "ingest" and r.json()["result"] is None, r.text
    service["app"].state.jobs.wait(120)
    job = client.get(f"/api/jobs/{r.json()['id']}", headers=h).json()
    assert job["status"] == "done", job
    assert {k: job["result"][k] for k in ("read", "accepted", "rejected")} == {
        k: body[k] for k in ("read", "accepted", "rejected")} == {"read": 13, "accepted": 12, "rejected": 1}
    listed = client.get("/api/jobs?limit=1", headers=h).json()
    assert listed["limit"] == 1 and "result" not in listed["items"][0]


def test_unknown_query_parameters_are_refused(service, client):
    h = auth(service, "admin")
    files = {"file": ("x.csv", b"consumer_id,brand_id,event_type,ts\n")}
    r = client.post("/api/jobs/ingest?fmt=events", files=files, headers=h)  # the old name of `format`
    assert r.status_code == 422
    r = client.post("/api/jobs/ingest?format=events&fmt=events", files=files, headers=h)
    assert r.status_code == 422 and "fmt" in json.dumps(r.json()["detail"])
    r = client.get("/api/jobs?limt=5", headers=h)
    assert r.status_code == 422 and "limt" in r.json()["detail"]
    assert client.get("/api/jobs?limit=5&offset=0", headers=h).status_code == 200
