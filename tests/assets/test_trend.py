"""The asset trend in every face: `series` gives, day by day, exactly what `snapshot` gives; the CLI and the API
answer with the library's figures; category scope and DEEPLINK flows with 环比 rates and channel contributions."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from aipl.assets import (
    AIPL_STATES,
    DEEPLINK_STATES,
    categories,
    deeplink_flow,
    ensure_built,
    last_year,
    series,
    snapshot,
    trend_benchmark,
)
from aipl.cli import app as cli
from aipl.simulate import sample_warehouse
from aipl.warehouse import open_warehouse
from tests.api.conftest import auth, client, service  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def wh():
    """The process's shared sample warehouse (left open for the other tests that use it)."""
    w = sample_warehouse()
    ensure_built(w)
    return w


@pytest.mark.parametrize(("scope", "key"), [("brand", "B01"), ("category", "skincare")])
def test_series_is_the_snapshot_of_each_day(wh, scope, key):
    s = series(wh, scope, key, "2026-10-01", "2026-10-24")
    assert len(s) == 24 and str(s.day.iloc[0])[:10] == "2026-10-01"
    for row in s.iloc[::6].itertuples(index=False):
        snap = snapshot(wh, scope, key, row.day.date())
        assert {st: getattr(row, st) for st in AIPL_STATES} == snap.counts
        assert {st: getattr(row, st) for st in DEEPLINK_STATES} == snap.deeplink
    assert (s[list(AIPL_STATES)].sum(axis=1) == s[list(DEEPLINK_STATES)].sum(axis=1)).all()  # DEEPLINK rolls up


def test_series_refuses_an_unknown_key_and_a_reversed_period(wh):
    with pytest.raises(ValueError, match="no brand 'NOPE'"):
        series(wh, "brand", "NOPE", "2026-10-01", "2026-10-24")
    with pytest.raises(ValueError, match="ends"):
        series(wh, "brand", "B01", "2026-10-24", "2026-10-01")
    assert last_year(wh, "brand", "B01", "2026-10-01", "2026-10-24").empty  # the data does not reach back a year


def test_deeplink_flow_counts_rates_and_channels(wh):
    f = deeplink_flow(wh, "brand", "B01", "2026-10-10", "2026-10-24")
    starts = {s: sum(f.matrix[s].values()) for s in DEEPLINK_STATES}
    assert starts == snapshot(wh, "brand", "B01", "2026-10-10").deeplink
    ends = {t: sum(f.matrix[s][t] for s in f.matrix) for t in DEEPLINK_STATES}
    assert ends == snapshot(wh, "brand", "B01", "2026-10-24").deeplink
    for item in f.flows:
        s = item["from"]
        assert item["rate"] == (item["n"] / starts[s] if s != "none" else None)
        assert item["to"] != "none" and item["from"] != item["to"] and item["n"] > 0
    assert any(item["channels"] for item in f.flows)
    assert f.previous == {"from": "2026-09-26", "to": "2026-10-10"}
    before = deeplink_flow(wh, "brand", "B01", "2026-09-26", "2026-10-10")
    assert f.previous_rates == before.rates


def test_benchmark_and_categories_honour_the_peer_minimum(wh):
    assert categories(wh) == ["makeup", "menswear", "skincare", "womenswear"]
    assert categories(wh, {"B01"}) == ["skincare"]  # alone in its category: nobody else's figures
    assert trend_benchmark(wh, "B01", "2026-10-01", "2026-10-24").withheld  # no other brand in skincare


# ---- the faces: the API and the CLI give the library's figures -------------------------------------------------

def _get(client, service, url, who="viewer"):  # noqa: F811
    r = client.get(url, headers=auth(service, who))
    return r.status_code, r.json()


@pytest.fixture(scope="module")
def span(service, client):  # noqa: F811
    last = client.get("/api/brands", headers=auth(service, "viewer")).json()["last_day"]
    return str(date.fromisoformat(last) - timedelta(days=13)), last


def test_api_series_equals_the_library_and_the_cli(service, client, span):  # noqa: F811
    start, end = span
    code, body = _get(client, service, f"/api/assets/series?key=B01&start={start}&end={end}")
    assert code == 200, body
    assert (body["key"], body["scope"], body["start"], body["end"]) == ("B01", "brand", start, end)
    assert len(body["items"]) == 14 and set(body["items"][0]) == {"day", *AIPL_STATES, *DEEPLINK_STATES}
    with open_warehouse(service["root"], read_only=True) as w:
        lib = series(w, "brand", "B01", start, end)
        snap = snapshot(w, "brand", "B01", end)
        cats = categories(w, {"B01", "B02"})
    assert [r["A"] for r in body["items"]] == lib.A.tolist()
    assert {s: body["items"][-1][s] for s in AIPL_STATES} == snap.counts
    band = body["benchmark"]
    assert band is not None and band["peers"] >= 1 and (band["withheld"] is None) == (band["P50"] is not None)
    r = CliRunner().invoke(cli, ["assets", "series", "--key", "B01", "--from", start, "--to", end,
                                 "-w", str(service["root"]), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"] == body["items"]
    code, me = _get(client, service, "/api/me")
    assert me["categories"] == cats


def test_api_key_and_scope_routes(service, client, span):  # noqa: F811
    start, end = span
    code, snap = _get(client, service, f"/api/assets/snapshot?key=B01&day={end}")
    assert code == 200 and snap == _get(client, service, f"/api/assets/B01/snapshot?day={end}")[1]
    code, fl = _get(client, service, f"/api/assets/flow?key=B01&start={start}&end={end}")
    assert code == 200 and fl == _get(client, service, f"/api/assets/B01/flow?start={start}&end={end}")[1]
    code, dl = _get(client, service, f"/api/assets/deeplink-flow?key=B01&start={start}&end={end}")
    assert code == 200 and dl["stages"][0] == "none" and dl["flows"], dl
    r = CliRunner().invoke(cli, ["assets", "flow", "--key", "B01", "--start", start, "--end", end, "--deeplink",
                                 "-w", str(service["root"]), "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout) == dl, r.output
    for url in (f"/api/assets/series?key=B03&start={start}&end={end}", "/api/assets/snapshot?key=B99",
                f"/api/assets/deeplink-flow?key=B03&start={start}&end={end}"):
        code, body = _get(client, service, url)
        assert code == 403 and "not granted" in body["detail"], body
    _, me = _get(client, service, "/api/me")
    for cat in me["categories"]:
        assert _get(client, service, f"/api/assets/snapshot?key={cat}&scope=category")[0] == 200
    code, body = _get(client, service, "/api/assets/snapshot?key=nope&scope=category")
    assert code == 403, body
    code, body = _get(client, service, "/api/assets/series?key=B01&start=0001-01-01&end=0001-01-03")
    assert code == 200 and body["last_year"] == [] and body["items"][0]["A"] == 0, body  # no year before year 1
    for url in ("/api/assets/deeplink-flow?key=B01&start=0001-01-02&end=0001-01-05",
                "/api/assets/flow?key=B01&end=0001-01-05", f"/api/assets/series?key=B01&start={end}&end={start}"):
        code, body = _get(client, service, url)
        assert code == 422, (url, body)
