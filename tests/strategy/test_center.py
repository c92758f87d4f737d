"""The Strategy Center's use cases are one function each that the CLI and the API both call: the same answer for
the same arguments; calendars declared in aipl.toml are read without being written; no GET writes or rebuilds."""

from __future__ import annotations

import json

import ibis
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.api.deps import close_all
from aipl.cli import app
from aipl.strategy import backtest, campaigns, load_campaign, plan, save_calendars
from aipl.warehouse import open_warehouse
from tests.assets.test_states import at

DAY = str(at(380).date())
D11 = '\n[campaigns.d11]\nname = "双11"\nburst = [["2027-11-11", "2027-11-11"]]\n'


def _declare(root, text: str) -> None:
    cfg = root / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def service(ws):
    root, wh = ws
    add_tenant(root, "acme", ["B"])
    headers = {"Authorization": f"Bearer {issue_token(root, 'acme', 'analyst')}"}
    with TestClient(create_app(root)) as client:
        yield root, wh, client, headers
    close_all()


def test_config_calendars_are_read_without_writing(ws):
    root, wh = ws
    wh.close()
    _declare(root, D11 + '[campaigns.LY]\nname = "双11"\npresale = [["2026-01-21", "2026-01-25"]]\n'
             'burst = [["2026-01-26", "2026-01-30"]]\n')
    wh = open_warehouse(root)
    try:
        assert [c.campaign_id for c in campaigns(wh)] == ["LY", "TY", "d11"]  # the earliest first
        ly = load_campaign(wh, "LY")  # aipl.toml's calendar replaces the table's rows of the same id
        assert [p for p, _, _ in ly.phases] == ["presale", "burst"] and str(ly.presale_start) == "2026-01-21"
        assert load_campaign(wh, "d11").name == "双11"
        assert wh.count("campaigns") == 6  # read, not written
        assert save_calendars(wh) == 3 and wh.count("campaigns") == 3 + 3  # LY's 3 rows replaced by 2, d11 added
    finally:
        wh.close()
    r = CliRunner().invoke(app, ["calendars", "-w", str(root), "--sync", "--json"])
    assert r.exit_code == 0, r.output
    assert [c["campaign_id"] for c in json.loads(r.stdout)] == ["LY", "TY", "d11"]


def test_cli_and_api_make_the_same_plan(service):
    root, wh, client, headers = service
    mine = plan(wh, "B", "TY", 1300, DAY)
    assert repr(mine).startswith(f"Plan(B for TY as of {DAY}: forecast GMV ")
    r = CliRunner().invoke(app, ["plan", "-w", str(root), "--brand", "B", "--campaign", "TY", "--gmv-target", "1300",
                                 "--day", DAY, "--json"])
    assert r.exit_code == 0, r.output
    api = client.get(f"/api/strategy/B/plan?campaign=TY&gmv_target=1300&day={DAY}", headers=headers)
    assert api.status_code == 200, api.text
    expected = json.loads(json.dumps(mine.to_dict()))
    assert json.loads(r.stdout) == expected  # the CLI is the workspace's owner
    tenants = json.loads(json.dumps(plan(wh, "B", "TY", 1300, DAY, viewer={"B"}).to_dict()))
    assert api.json() == tenants  # a tenant's plan: peers' figures by [privacy]; the response model drops nothing
    assert {x["rule"] for x in expected["recommendations"]} >= {"interest_guidance"}
    r = CliRunner().invoke(app, ["calendars", "-w", str(root), "--json"])
    listed = client.get("/api/strategy/campaigns", headers=headers).json()["items"]
    assert json.loads(r.stdout) == listed == [c.to_dict() for c in campaigns(wh)]


def test_a_plan_refuses_a_day_before_last_years_campaign_ended(service):
    root, wh, client, headers = service
    with pytest.raises(ValueError, match="before last year's campaign LY ended"):
        plan(wh, "B", "TY", day="2026-01-20")
    r = client.get("/api/strategy/B/plan?campaign=TY&day=0001-01-01", headers=headers)
    assert r.status_code == 422 and "before last year's campaign LY ended" in r.text
    r = CliRunner().invoke(app, ["plan", "-w", str(root), "--brand", "B", "--campaign", "TY", "--day", "2026-01-20"])
    assert r.exit_code == 2 and "before last year's campaign LY ended" in r.output


def test_no_get_writes_or_rebuilds(service):
    root, wh, client, headers = service
    wh.close()
    _declare(root, D11)
    wh = open_warehouse(root)
    # a load by another process: the assets are stale, and a GET must not bring them up to date
    wh.con.insert("batches", ibis.memtable({"batch_id": ["x"], "format": ["csv"], "source": ["s"], "target": ["events"],
                                            "read": [0], "accepted": [0], "rejected": [0]}).mutate(
        loaded_at=ibis.now()))

    before = {t: wh.count(t) for t in ("campaigns", "asset_live", "asset_closed")}
    built = wh.table("asset_meta").execute().to_dict("records")  # what the last build had seen
    close_all()  # the service's connections read the new aipl.toml
    listed = client.get("/api/strategy/campaigns", headers=headers).json()["items"]
    assert "d11" in [c["campaign_id"] for c in listed]
    r = client.get(f"/api/strategy/B/plan?campaign=TY&day={DAY}", headers=headers)
    assert r.status_code == 200, r.text  # the last built state
    assert {t: wh.count(t) for t in before} == before
    assert wh.table("asset_meta").execute().to_dict("records") == built
    wh.close()


def test_cli_and_library_backtest_alike(ws):
    root, wh = ws
    mine = backtest(wh, "TY", days_before=2)
    assert [r["brand"] for r in mine.brands] == ["B", "Z"] and mine.brands[0]["as_of"] == str(at(382).date())
    assert list(mine.frame.brand) == ["B", "Z"] and repr(mine).startswith("Backtest(TY, 2 days before, 2 brands")
    wh.close()
    r = CliRunner().invoke(app, ["backtest-plan", "-w", str(root), "--campaign", "TY", "--days-before", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == json.loads(json.dumps(mine.to_dict()))
    r = CliRunner().invoke(app, ["backtest-plan", "-w", str(root), "--campaign", "TY", "--brand", "B"])
    assert r.exit_code == 0 and "B by pool" in r.stdout


def test_cli_and_api_backtest_a_brand_alike(service):
    root, wh, client, headers = service
    r = CliRunner().invoke(app, ["backtest-plan", "-w", str(root), "--campaign", "TY", "--brand", "B", "--days-before",
                                 "3", "--baseline", "LY", "--json"])
    assert r.exit_code == 0, r.output
    api = client.get("/api/strategy/B/backtest?campaign=TY&days_before=3&baseline=LY", headers=headers)
    assert api.status_code == 200, api.text
    expected = json.loads(json.dumps(backtest(wh, "TY", ["B"], 3, "LY").to_dict()))
    assert json.loads(r.stdout) == api.json() == expected
    assert client.get("/api/strategy/Z/backtest?campaign=TY", headers=headers).status_code == 403  # not acme's
