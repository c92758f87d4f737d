"""No benchmark, ranking or category-level crowd figure lets a tenant derive one other brand's value. acme holds
B01, whose category (skincare) has one other brand, the rival's B07: each test tries a derivation the issue
names, or a sibling of it, and requires that the figure it needs is withheld (or refused, 403), with the reason.
Controls: the owner (no viewer) and a tenant holding a whole category still see the figures."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aipl.audience as audience
from aipl.assets import benchmarks
from aipl.warehouse import open_warehouse
from tests.adversarial.conftest import auth

PERIOD = "start=2026-09-25&end=2026-10-24"
GROW = "/api/health/grow/B01?start0=2026-09-15&end0=2026-09-30&start1=2026-10-01&end1=2026-10-16"
REASON = "needs ≥ 5 other brands"


def _table(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"brand_id": list(values), "category_id": "c", "F": list(values.values())})


@pytest.fixture(scope="module")
def acme(service):
    """GET as acme's viewer: the JSON body (status 200 required)."""
    def get(path: str) -> dict:
        r = service["client"].get(path, headers=auth(service, "viewer"))
        assert r.status_code == 200, r.text
        return r.json()
    return get


# --- benchmarks in the engine: every derivation from a small peer group -------------------------------------------

@pytest.mark.parametrize("peers", [1, 2, 3, 4])
def test_percentiles_of_too_few_peers_are_withheld(peers):
    values = {"own": 100.0, **{f"p{i}": 100.0 + 37 * (i + 1) for i in range(peers)}}
    owner = benchmarks(_table(values), metrics=("F",))
    assert owner.P50.iloc[0] is not None  # the owner sees the category
    row = benchmarks(_table(values), metrics=("F",), viewer={"own"}).iloc[0]
    # 2 × P50 − own (two brands), P25/P75 with two peers, P90 − own … all need a percentile
    assert [row.P25, row.P50, row.P75, row.P90] == [None] * 4 and REASON in row.withheld


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=5, max_size=9), st.floats(0, 1e6), st.floats(0, 1e6))
def test_a_tenants_benchmark_does_not_move_with_its_own_value(peers, own, other_own):
    """Over ≥ 5 peers a tenant sees its peers' percentiles: no arithmetic with its own value takes one back out."""
    a = {"own": own, **{f"p{i}": v for i, v in enumerate(peers)}}
    b = {**a, "own": other_own}
    pa = benchmarks(_table(a), metrics=("F",), viewer={"own"})
    pb = benchmarks(_table(b), metrics=("F",), viewer={"own"})
    assert pa.withheld.iloc[0] is None
    assert pa.drop(columns="withheld").equals(pb.drop(columns="withheld"))


# --- the API as acme sees it ---------------------------------------------------------------------------------------

def test_fast_hides_every_figure_of_the_two_brand_category(acme):
    body = acme(f"/api/health/fast?{PERIOD}")
    own = body["brands"][0]
    assert own["brand_id"] == "B01" and REASON in own["withheld"]
    # F_index = 100 × F / median(F, F_B07) gives F_B07 = 200 F / F_index − F; the percentiles order the two
    assert own["F_index"] is None and {own[f"{m}_pct"] for m in "FAST"} == {None}
    for b in body["benchmarks"]:  # 2 × P50 − own = B07's figure
        assert [b["P25"], b["P50"], b["P75"], b["P90"]] == [None] * 4 and REASON in b["withheld"]


def test_the_ranking_gives_no_place_among_two(acme):
    body = acme(f"/api/health/ranking?{PERIOD}")
    rows = body["items"]
    assert [r["brand_id"] for r in rows] == ["B01"]  # no 同行 peer row: its place would be B07's
    assert rows[0]["rank"] is None and rows[0]["score"] is None and REASON in rows[0]["withheld"]
    assert acme(f"/api/health/ranking?{PERIOD}&category=makeup")["items"] == []  # another tenant's category


def test_grow_new_product_index_is_withheld(acme):
    w = acme(GROW)["W_fmcg"]
    assert set(w["index"].values()) == {None} and w["score"] is None and REASON in w["withheld"]


def test_the_plan_names_no_peer_and_shows_no_benchmark(acme):
    body = acme("/api/strategy/B01/plan?campaign=sim_double11")
    prog = body["progress"]
    assert "B07" not in json.dumps(body) and REASON in prog["withheld"]
    assert {r["benchmark"] for r in prog["series"]} == {None} and {r["benchmark_yoy"] for r in prog["series"]} == {None}
    assert {g["gap_to_benchmark"] for g in prog["phases"]} <= {None}


# category buyers − own buyers, and its siblings: any crowd term that reads the two-brand category
CATEGORY_CROWDS = [
    'count(event="purchase", category="skincare", days=30) >= 1',
    'count(event="purchase", category="skincare", days=30) >= 1 and not aipl(brand="B01") in ("P", "L")',
    'count(event="add_to_cart", category="skincare", channel="search", days=30) >= 1',
    'category_share(category="skincare") > 0',
    'category_share(category="makeup") >= 50',
    'top_category = "skincare"',
    'top_category in ("makeup", "skincare")',
    '{"tag": "category_share", "key": "skincare", "op": ">", "value": 0}',
]


@pytest.mark.parametrize("expr", CATEGORY_CROWDS)
def test_category_level_crowds_are_refused(service, expr):
    c, h = service["client"], auth(service, "analyst")
    for path, body in (("/api/crowds/count", {"expr": expr}), ("/api/crowds", {"name": "cat", "expr": expr}),
                       ("/api/crowds/insight", {"expr": "age < 60", "base": expr}),  # TGI against the category
                       ("/api/crowds/insight", {"expr": "age < 60", "compare": [expr]}),  # overlap with it
                       ("/api/crowds/lookalike", {"seed": expr, "k": 1})):
        r = c.post(path, json=body, headers=h)
        assert r.status_code == 403 and "other brands" in r.json()["detail"], (path, r.text)


def test_an_own_crowds_insight_and_lookalike_show_no_peer_tag(service):
    c, h = service["client"], auth(service, "analyst")
    # an own crowd of at least [privacy] min_crowd_size consumers: a smaller one gets no insight (issue 22)
    r = c.post("/api/crowds/insight", json={"expr": 'aipl(brand="B01") in ("A", "I", "P", "L")'}, headers=h)
    assert r.status_code == 200, r.text
    rows = r.json()["profile"]
    assert rows and all(p["key"] in (None, "B01") for p in rows)  # no B07 state, no category share
    assert not [p for p in rows if p["tag"] == "top_category"]  # every category here has too few peers
    r = c.post("/api/crowds/lookalike", json={"seed": 'aipl(brand="B01") in ("P", "L")', "k": 1}, headers=h)
    assert r.status_code == 200, r.text
    text = json.dumps(r.json())
    assert all(b not in text for b in ("B02", "B03", "B07", "B08", "category_share"))


@pytest.mark.parametrize("expr", ['count(event="purchase", days=30) >= 1', "purchases_365d >= 1",
                                  "recency_days < 30", "spend_level_365d >= 4"])
def test_platform_wide_terms_need_the_minimum_too(market, expr):
    wh = open_warehouse(market["copy"])
    try:
        four_others = {"B01", "B02", "B03", "B04"}  # the workspace holds 8 brands
        with pytest.raises(ValueError, match="platform-wide crowd data needs ≥ 5 other brands"):
            audience.check_crowd(wh, audience.crowd_tree(expr), four_others)
        audience.check_crowd(wh, audience.crowd_tree(expr), {"B01"})  # seven others: allowed
        audience.check_crowd(wh, audience.crowd_tree("age < 30 and gender = 'F'"), four_others)  # profile tags
    finally:
        wh.close()


# --- controls: the gate is not a blanket -----------------------------------------------------------------------------

def test_a_tenant_holding_the_whole_category_sees_its_benchmarks(service):
    r = service["client"].get(f"/api/health/fast?{PERIOD}", headers=auth(service, "agency"))
    assert r.status_code == 200
    bench = r.json()["benchmarks"]
    assert bench and all(b["P50"] is not None and b["withheld"] is None for b in bench if b["metric"] in ("F", "S"))
    r = service["client"].post("/api/crowds/count", json={"expr": 'category_share(category="makeup") > 0'},
                               headers=auth(service, "agency"))
    assert r.status_code == 200, r.text
