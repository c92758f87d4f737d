"""FAST, GROW and the ranking on hand-computed fixtures (every expected number is worked out below)."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import ibis
import pytest
from typer.testing import CliRunner

from aipl import schema
from aipl.assets import build
from aipl.assets.health import benchmarks, fast, grow, ranking
from aipl.cli import app
from aipl.warehouse import ibis_schema
from tests.assets.test_states import D0, RULES, at, ev, load


def day(n: int):
    return D0 + timedelta(days=n)


def test_fast_by_hand(fresh):
    load(fresh, [
        ev("u1", "exposure", 0, brand_id="X"),                           # A on days 0..14
        ev("u2", "pdp_view", 10, brand_id="X"), ev("u2", "ad_click", 20, brand_id="X"),  # A from 10, I from 20
        ev("u3", "purchase", 5, brand_id="X", amount=9.0), ev("u3", "add_to_cart", 25, brand_id="X"),
        ev("u4", "exposure", 15, brand_id="Y"),
    ])
    fresh.con.insert("members", ibis.memtable({
        "consumer_id": ["u3"], "brand_id": ["X"], "shop_id": ["X-shop"], "joined_at": [at(5)],
        "status": ["active"], "tier": [None],
    }).cast(ibis_schema(schema.MEMBERS)))
    build(fresh, RULES)
    t = fast(fresh, day(15), day(21)).set_index("brand_id")
    # F: AIPL on any day of 15..21 → u2 (A, then I) and u3 (P); u1's A ended after day 14
    assert t.loc["X", "F"] == 2 and t.loc["Y", "F"] == 1
    # A: on day 14 u1 A, u2 A, u3 P; on day 21 u1 none, u2 I, u3 P → 1 of 3 advanced
    assert t.loc["X", "A"] == pytest.approx(1 / 3)
    assert math.isnan(t.loc["Y", "A"])  # no AIPL consumer on day 14
    # S: u3 is an active member; T: u3 bought on day 5, inside the 30 days to day 21
    assert t.loc["X", "S"] == 1 and t.loc["X", "T"] == 1.0
    assert t.loc["Y", "S"] == 0 and math.isnan(t.loc["Y", "T"])
    # F index against the category median (2 and 1 → 1.5)
    assert t.loc["X", "F_index"] == pytest.approx(100 * 2 / 1.5)
    b = benchmarks(t.reset_index()).set_index("metric")
    assert b.loc["F", "P50"] == 1.5 and b.loc["F", "P90"] == pytest.approx(1.9)
    r = ranking(t.reset_index()).set_index("brand_id")
    assert r.loc["X", "rank"] == 1 and r.loc["Y", "rank"] == 2


def test_grow_lmdi_by_hand(fresh):
    cat1, cat2 = {"category_id": "cat1"}, {"category_id": "cat2"}
    load(fresh, [
        ev("c1", "purchase", 1, brand_id="G", amount=10.0, **cat1),
        ev("c1", "purchase", 3, brand_id="G", amount=20.0, **cat1),
        ev("c2", "purchase", 2, brand_id="G", amount=30.0, **cat1),
        ev("c1", "purchase", 11, brand_id="G", amount=40.0, **cat1),     # c1 returns
        ev("c3", "purchase", 12, brand_id="G", amount=15.0, **cat1),
        ev("c3", "purchase", 12, brand_id="G", amount=5.0, order_id="x", **cat1),  # same day: one occasion
        ev("c4", "purchase", 13, brand_id="G", amount=50.0, **cat2),     # a category not sold in period 0
    ])
    g = grow(fresh, "G", (day(0), day(9)), (day(10), day(19)))
    assert (g["gmv0"], g["gmv1"], g["delta"]) == (60.0, 110.0, 50.0)
    new = g["segments"]["new"]  # period 0: 2 buyers, 3 occasions, 60; period 1: c3 + c4, 2 occasions, 70
    assert (new["buyers0"], new["occasions0"], new["buyers1"], new["occasions1"]) == (2, 3, 2, 2)
    w = (70 - 60) / math.log(70 / 60)
    assert new["G"] == pytest.approx(0.0)
    assert new["R"] == pytest.approx(w * math.log((2 / 2) / (3 / 2)))
    assert new["O"] == pytest.approx(w * math.log((70 / 2) / (60 / 3)))
    assert g["segments"]["returning"]["G"] == 40.0  # a segment that appears is all penetration
    assert g["G"] + g["R"] + g["O"] == pytest.approx(g["delta"], abs=1e-9)
    assert g["W"] == 50.0


def test_cli_assets_json(fresh, tmp_path):
    load(fresh, [ev("v", "favorite", 0, brand_id="Z"), ev("w", "purchase", 0, brand_id="Z", amount=1.0)])
    fresh.con.insert("batches", ibis.memtable({
        "batch_id": ["t"], "format": ["events"], "source": ["test"], "target": ["events"], "read": [2],
        "accepted": [2], "rejected": [0], "loaded_at": [at(0)],
    }).cast(ibis_schema(schema.BATCHES)))
    root = str(fresh.config.root)
    fresh.close()
    r = CliRunner().invoke(app, ["assets", "snapshot", "--scope", "brand", "--key", "Z", "--day", "2026-01-01",
                                 "-w", root, "--json"], catch_exceptions=False)
    body = json.loads(r.stdout)
    assert body == {"scope": "brand", "key": "Z", "date": "2026-01-01", "counts": {"A": 0, "I": 1, "P": 1, "L": 0},
                    "deeplink": {"discover": 0, "engage": 0, "enthuse": 0, "perform": 1, "initial": 1,
                                 "numerous": 0, "keen": 0}}
    r = CliRunner().invoke(app, ["assets", "flow", "--key", "Z", "--start", "2026-01-01", "--end", "2026-01-20",
                                 "-w", root, "--json"])
    f = json.loads(r.stdout)
    assert f["matrix"]["I"]["none"] == 1 and f["matrix"]["P"]["P"] == 1 and f["kinds"]["churned"] == 1
    r = CliRunner().invoke(app, ["assets", "snapshot", "--scope", "shop", "--key", "Z", "--day", "2026-01-01",
                                 "-w", root])
    assert r.exit_code == 2 and "scope must be one of brand, category" in r.output
    for args, reason in (
            (["assets", "flow", "--key", "Z", "--start", "2026-01-20", "--end", "2026-01-01"],
             "the flow ends (2026-01-01) before it starts (2026-01-20)"),
            (["assets", "flow", "--key", "Z", "--start", "2026-01-20", "--end", "2026-01-20"],
             "the flow needs two different days, not 2026-01-20 twice"),
            (["assets", "snapshot", "--key", "NOPE", "--day", "2026-01-01"],
             "no brand 'NOPE' in the workspace's consumer assets"),
            (["assets", "flow", "--key", "NOPE", "--start", "2026-01-01", "--end", "2026-01-20"],
             "no brand 'NOPE' in the workspace's consumer assets"),
            (["grow", "--brand", "Z", "--start0", "2026-01-10", "--end0", "2026-01-01",
              "--start1", "2026-01-11", "--end1", "2026-01-20"],
             "the base period ends (2026-01-01) before it starts (2026-01-10)")):
        r = CliRunner().invoke(app, [*args, "-w", root])
        assert r.exit_code == 2 and reason in " ".join(r.output.split()), (args, r.output)
    # a known brand with nobody in a state that day is a count of zero, not an error
    r = CliRunner().invoke(app, ["assets", "snapshot", "--key", "Z", "--day", "2025-06-01", "-w", root, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["counts"] == {"A": 0, "I": 0, "P": 0, "L": 0}


def test_attribution_last_touch_and_linear(fresh):
    load(fresh, [
        ev("y", "exposure", 0, brand_id="Q", channel="display"),
        ev("y", "exposure", 3, brand_id="Q", channel="display"),
        ev("y", "ad_click", 5, brand_id="Q", channel="search"),   # A → I: two touches in (0, 6]
        ev("z", "exposure", 4, brand_id="Q", channel="live"),     # none → A: one touch
        ev("s", "exposure", 0, brand_id="Q"), ev("s", "exposure", 6, brand_id="Q"),  # stays A: no credit
    ])
    build(fresh, RULES)
    from aipl.assets import attribution

    c = attribution(fresh, "brand", "Q", day(0), day(6)).set_index("channel")
    assert c.loc["search", "last_touch"] == 1 and c.loc["live", "last_touch"] == 1
    assert c.loc["display", "last_touch"] == 0
    assert c.loc["display", "linear"] == pytest.approx(0.5) and c.loc["search", "linear"] == pytest.approx(0.5)
    assert c.linear.sum() == pytest.approx(2) and "(none)" not in c.index
    root = str(fresh.config.root)
    fresh.close()
    r = CliRunner().invoke(app, ["assets", "flow", "--key", "Q", "--start", "2026-01-01", "--end", "2026-01-07",
                                 "--save-cell", "A:I", "-w", root])
    assert r.exit_code == 0, r.output
    from aipl.warehouse import open_warehouse

    wh = open_warehouse(root)
    saved = wh.table("consumer_lists").execute()
    wh.close()
    assert list(saved.consumer_id) == ["y"] and saved.list_name.iloc[0] == "flow_Q_A_to_I_2026-01-01_2026-01-07"


def test_grow_by_strategy_crowd_and_new_product_strength(fresh):
    """GROW split by strategy crowd (once crowd tags exist) sums exactly per crowd; W 快消 by hand."""
    from aipl.audience import refresh
    from tests.measure.test_pi import _insert

    cat1 = {"category_id": "cat1"}
    _insert(fresh, schema.CONSUMERS, [
        {"consumer_id": "c1", "gender": "F", "birth_year": 1985, "city_tier": 1, "life_stage": "parent"},  # supermom
        {"consumer_id": "c2", "gender": "M", "birth_year": 2003, "city_tier": 2},                        # gen_z
        {"consumer_id": "c3", "gender": "M", "birth_year": 2001, "city_tier": 5},                # small_town_youth
    ])
    _insert(fresh, schema.PRODUCTS, [
        {"item_id": "g_new", "brand_id": "G", "launch_date": day(8)},      # new: launched 2 days before period 1
        {"item_id": "g_new2", "brand_id": "G", "launch_date": day(12)},    # launched in period 1
        {"item_id": "g_old", "brand_id": "G", "launch_date": day(-300)},
        {"item_id": "h_old", "brand_id": "H", "launch_date": day(-300)},
    ])
    load(fresh, [
        ev("c1", "purchase", 1, brand_id="G", amount=10.0, item_id="g_old", **cat1),
        ev("c1", "purchase", 3, brand_id="G", amount=20.0, item_id="g_old", **cat1),
        ev("c2", "purchase", 2, brand_id="G", amount=30.0, item_id="g_old", **cat1),
        ev("c1", "purchase", 11, brand_id="G", amount=40.0, item_id="g_old", **cat1),
        ev("c3", "purchase", 12, brand_id="G", amount=20.0, item_id="g_new", **cat1),   # a new customer, new item
        ev("c4", "purchase", 13, brand_id="G", amount=50.0, item_id="g_old", **cat1),   # no profile: untagged
        ev("c5", "purchase", 15, brand_id="H", amount=10.0, item_id="h_old", **cat1),   # the category's other brand
    ])
    refresh(fresh, day(19))
    g = grow(fresh, "G", (day(0), day(9)), (day(10), day(19)))
    c = g["crowds"]
    assert set(c) == {"supermom", "gen_z", "small_town_youth", "untagged"}
    w = (40 - 30) / math.log(40 / 30)  # supermom c1: 30 over 2 occasions → 40 over 1
    assert (c["supermom"]["G"], c["supermom"]["R"], c["supermom"]["O"]) == pytest.approx(
        (0.0, w * math.log(1 / 2), w * math.log(40 / 15)))
    assert (c["gen_z"]["G"], c["small_town_youth"]["G"], c["untagged"]["G"]) == (-30.0, 20.0, 50.0)
    assert sum(v["G"] + v["R"] + v["O"] for v in c.values()) == pytest.approx(g["delta"])
    wf = g["W_fmcg"]
    assert wf["components"] == pytest.approx({
        "new_product_share_of_new_customers": 20 / 70,   # c3's new item over new customers c3 + c4
        "launch_gmv": 20.0,                              # g_new within 30 days of its launch
        "launches_per_quarter": 1 / (10 / 91.25)})       # g_new2 in a 10-day period
    assert wf["peers"] == 2 and wf["score"] == pytest.approx(200.0)  # H has none: G is twice the median
    assert repr(wf).startswith("NewProductStrength(score 200.0 against the median of 2 brands: ")
    assert json.loads(json.dumps(g.to_dict()))["W_fmcg"]["peers"] == 2


def test_grow_of_a_period_against_itself_is_zero():
    """The same GMV summed in another order (equal logarithms) is no change, not a division by zero."""
    from aipl.assets.health import _decompose

    assert _decompose(3, 5, 3841.53, 3, 5, 3841.5300000000007) == pytest.approx({"G": 0.0, "R": 0.0, "O": 0.0})
