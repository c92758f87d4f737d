"""Crowds on a simulated market: tags checked by hand, bitmap counts against the SQL reference on random
crowds, incremental refresh equal to a rebuild, insight, built-in crowds, export with its audit log."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aipl.audience import (
    TagIndex,
    brands_of,
    count_crowd,
    create_crowd,
    crowd_members,
    crowd_tree,
    list_crowds,
    parse,
    refresh,
    sql_ids,
)
from aipl.audience.crowds import BUILT_IN, export, insight, overlap, penetration, save
from aipl.cli import app
from aipl.warehouse import open_warehouse
from tests.measure.conftest import market_workspace

DAY = "2026-10-10"


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crowds") / "m"
    wh, _ = market_workspace(folder, consumers=2000, days=30, brands=4, seed=5)
    refresh(wh, DAY)
    wh.close()
    return folder


@pytest.fixture
def wh(market):
    w = open_warehouse(market)
    yield w
    w.close()


def test_tags_by_hand(wh):
    tags = wh.table("consumer_tags").execute()
    ids = wh.table("consumer_ids").execute().set_index("id").consumer_id
    prof = wh.table("consumers").execute().set_index("consumer_id")
    age = tags[tags.tag == "age"].assign(c=lambda d: d.id.map(ids)).set_index("c").num
    assert (age == 2026 - prof.birth_year.reindex(age.index)).all()
    sc = tags[tags.tag == "strategy_crowd"].assign(c=lambda d: d.id.map(ids)).set_index("c").value
    p = prof.reindex(sc.index)
    a = 2026 - p.birth_year
    mom = (p.gender == "F") & p.life_stage.isin(["pregnant", "parent"]) & (p.city_tier <= 3)
    assert (sc[mom] == "supermom").all()
    assert (sc[~mom & (a >= 50) & (p.city_tier <= 3) & (p.birth_year < 1995)] == "urban_gray_hair").all()
    assert (sc[~mom & (a >= 35) & (p.city_tier >= 4)] == "small_town_mature").all()
    ev = wh.raw.execute("""SELECT consumer_id, count(DISTINCT CAST(timezone('Asia/Shanghai', ts) AS DATE)) n
        FROM events WHERE CAST(timezone('Asia/Shanghai', ts) AS DATE) BETWEEN DATE '2026-09-11' AND DATE '2026-10-10'
        GROUP BY 1""").df().set_index("consumer_id").n
    act = tags[tags.tag == "active_days_30d"].assign(c=lambda d: d.id.map(ids)).set_index("c").num
    pd.testing.assert_series_equal(act.sort_index(), ev.reindex(act.index).sort_index(), check_names=False,
                                   check_dtype=False)


leaf = st.one_of(
    st.builds(lambda op, v: {"tag": "age", "key": None, "op": op, "value": v},
              st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), st.integers(15, 75)),
    st.builds(lambda a, b: {"tag": "age", "key": None, "op": "between", "value": [a, a + b]},
              st.integers(15, 70), st.integers(0, 20)),
    st.builds(lambda v: {"tag": "city_tier", "key": None, "op": "in", "value": v},
              st.lists(st.integers(1, 6), min_size=1, max_size=4, unique=True)),
    st.builds(lambda v: {"tag": "gender", "key": None, "op": "=", "value": v}, st.sampled_from(["F", "M", "U"])),
    st.builds(lambda b, v: {"tag": "aipl", "key": b, "op": "in", "value": v},
              st.sampled_from(["B01", "B02", "B03"]), st.lists(st.sampled_from("AIPL"), min_size=1, unique=True)),
    st.builds(lambda v: {"tag": "active_days_30d", "key": None, "op": ">=", "value": v}, st.integers(0, 12)),
    st.builds(lambda v: {"tag": "recency_days", "key": None, "op": "<", "value": v}, st.integers(0, 1000)),
    st.builds(lambda v: {"tag": "strategy_crowd", "key": None, "op": "!=", "value": v},
              st.sampled_from(["gen_z", "supermom", "other"])),
)
trees = st.recursive(leaf, lambda kids: st.one_of(
    st.builds(lambda xs: {"and": xs}, st.lists(kids, min_size=2, max_size=5)),
    st.builds(lambda xs: {"or": xs}, st.lists(kids, min_size=2, max_size=3)),
    st.builds(lambda a, b: {"minus": [a, b]}, kids, kids),
    st.builds(lambda a: {"not": a}, kids)), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_bitmap_counts_agree_with_sql(wh, tree):
    index = TagIndex.load(wh)
    assert set(index.evaluate(tree)) == sql_ids(wh, tree)


def test_behaviour_predicates_and_penetration(wh):
    index = TagIndex.load(wh)
    tree = parse('count(event="add_to_cart", brand="B01", days=30) >= 2')
    ref = wh.raw.execute("""SELECT i.id FROM events e JOIN consumer_ids i USING (consumer_id)
        WHERE e.event_type = 'add_to_cart' AND e.brand_id = 'B01'
          AND CAST(timezone('Asia/Shanghai', e.ts) AS DATE) BETWEEN DATE '2026-09-11' AND DATE '2026-10-10'
        GROUP BY 1 HAVING count(*) >= 2""").df().id
    assert set(index.evaluate(tree)) == set(ref) and len(ref) > 0
    pen = parse(penetration("skincare", "makeup"))
    got = index.evaluate(pen)
    buyers = wh.raw.execute("""SELECT i.id, e.category_id FROM events e JOIN consumer_ids i USING (consumer_id)
        WHERE e.event_type = 'purchase' AND CAST(timezone('Asia/Shanghai', e.ts) AS DATE) <= DATE '2026-10-10'
        """).df()
    want = set(buyers[buyers.category_id == "skincare"].id) - set(buyers[buyers.category_id == "makeup"].id)
    assert set(got) == want and len(want) > 0


def test_built_in_crowds_and_insight(wh):
    index = TagIndex.load(wh)
    tags = wh.table("consumer_tags").execute()
    for name, (_, expr) in BUILT_IN.items():
        assert set(index.evaluate(parse(expr))) == sql_ids(wh, parse(expr)), name
    gen_z = index.evaluate(parse(BUILT_IN["strategy_gen_z"][1]))
    assert len(gen_z) == (tags[tags.tag == "strategy_crowd"].value == "gen_z").sum() > 0
    crowd = index.evaluate(parse('city_tier <= 2'))
    prof = insight(index, crowd, min_share=0.0).set_index(["tag", "value"])
    gender = tags[tags.tag == "gender"].set_index("id").value
    share_f = (gender.reindex(list(crowd)) == "F").mean()
    base_f = (gender == "F").mean()
    assert prof.loc[("gender", "F"), "crowd_share"] == pytest.approx(share_f)
    assert prof.loc[("gender", "F"), "tgi"] == pytest.approx(100 * share_f / base_f)
    assert prof.loc[("city_tier", 5), "crowd_share"] == 0  # the crowd is tiers 1–2 only
    ov = overlap({"a": crowd, "z": gen_z}).iloc[0]
    assert ov.both == len(crowd & gen_z) and ov.jaccard == pytest.approx(len(crowd & gen_z) / len(crowd | gen_z))


def test_incremental_refresh_equals_a_rebuild(market, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(market, copy)
    w = open_warehouse(copy)
    from aipl.ingest import ingest

    extra = tmp_path / "extra.csv"
    extra.write_text("consumer_id,brand_id,category_id,event_type,ts,amount\n"
                     "c00000001,B01,skincare,purchase,2026-10-09 10:00:00,50\n"
                     "newbie,B02,makeup,favorite,2026-10-09 11:00:00,\n", encoding="utf-8")
    ingest(w, extra, "events")
    res = refresh(w, DAY)
    assert res["new_ids"] == 1 and 0 < res["bitmaps_rewritten"] < 60
    # events older than the last refresh's last one: every consumer's tags are recomputed, two consumers' change
    assert (res["recomputed"], res["changed"]) == (w.count("consumer_ids"), 2)
    assert repr(res) == (f"TagRefresh({DAY}: 1 new consumer ids, {res.recomputed:,} consumers recomputed, "
                         f"{res.changed} changed, {res.bitmaps_rewritten} bitmaps rewritten)")
    assert json.loads(json.dumps(res.to_dict())) == res
    inc = TagIndex.load(w).bitmaps
    w.raw.execute("DROP TABLE consumer_tags; DROP TABLE tag_bitmaps; DROP TABLE tag_meta")
    refresh(w, DAY)
    full = TagIndex.load(w).bitmaps
    assert inc.keys() == full.keys()
    assert all(inc[k].keys() == full[k].keys() and all(inc[k][v] == full[k][v] for v in inc[k]) for k in inc)
    w.close()


def test_saved_crowds_export_and_cli(market, tmp_path):
    w = open_warehouse(market)
    row = save(w, "young", "age < 30")
    assert repr(row) == f"CrowdRecord(young = age < 30: {row.coverage:,} consumers, valid until {row.valid_until})"
    assert json.loads(json.dumps(row.to_dict()))["tree"] == row.tree == {"tag": "age", "key": None, "op": "<",
                                                                          "value": 30}
    save(w, "young_f", 'crowd("young") and gender = "F"')
    index = TagIndex.load(w)
    young = index.evaluate(parse('crowd("young")'))
    assert index.count(parse('crowd("young_f")')) == len(young & index.evaluate(parse('gender = "F"')))
    with pytest.raises(ValueError, match="below the minimum export size 100"):
        export(w, "tiny", index.evaluate(parse("age > 200")), tmp_path / "x.csv")
    row = export(w, "young", young, tmp_path / "young.csv", actor="analyst@agency")
    assert row["rows"] == len(young) == len(pd.read_csv(tmp_path / "young.csv"))
    log = w.table("crowd_exports").execute()
    assert list(log.actor) == ["analyst@agency"] and log.rows.iloc[0] == len(young)
    w.close()
    r = CliRunner().invoke(app, ["crowd", "count", "age between 20 and 29 and city_tier in (1,2)", "-w",
                                 str(market), "--json"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["crowd", "count", "age between 20 and", "-w", str(market)])
    assert r.exit_code == 2 and "at column 19: expected a number" in r.output
    r = CliRunner().invoke(app, ["crowd", "count", "nosuchtag = 1", "-w", str(market)])
    assert r.exit_code == 2 and "unknown tag 'nosuchtag'" in r.output


def test_crowd_commands(market, tmp_path):
    def run(*args):
        r = CliRunner().invoke(app, ["crowd", *args, "-w", str(market)])
        assert r.exit_code == 0, r.output
        return r.stdout

    import json

    body = json.loads(run("insight", 'aipl(brand="B01") in ("P", "L")', "--compare", "strategy_gen_z", "--brand",
                          "B01", "--start", "2026-09-20", "--end", DAY, "--json"))
    assert body["size"] > 0 and body["flow"]["consumers"] == body["size"] and len(body["overlap"]) == 1
    lal = json.loads(run("lookalike", "age < 30", "--k", "1", "--save", "young_lal", "--json"))
    assert lal["saved"] == "young_lal" and lal["size"] > 100
    assert "young_lal" in run("list")
    n = json.loads(run("count", 'list("young_lal")', "--json"))["count"]
    assert n == lal["size"]
    out = tmp_path / "ids.parquet"
    run("export", "young_lal", "--out", str(out), "--actor", "tester")
    assert len(pd.read_parquet(out)) == n
    tags = CliRunner().invoke(app, ["crowd", "tags", "--json"])
    assert tags.exit_code == 0 and "strategy_crowd" in {t["name"] for t in json.loads(tags.stdout)}


def test_namespaces_and_brands_named():
    """A namespace (the API's tenant) owns the saved crowds and lists a tree names; built-in crowds are shared;
    the brands a crowd names are the keys of brand-keyed tags and the brand of behaviour counts."""
    tree = crowd_tree('crowd("mine") and not list("recall") or crowd("strategy_gen_z")', namespace="acme")
    assert tree == {"or": [{"and": [{"crowd": "acme:mine"}, {"not": {"list": "acme:recall"}}]},
                           {"crowd": "strategy_gen_z"}]}
    assert crowd_tree("young") == {"crowd": "young"} and crowd_tree("young", "acme") == {"crowd": "acme:young"}
    with pytest.raises(ValueError, match="does not parse at column 19: expected a number"):
        crowd_tree("age between 20 and")
    named = crowd_tree('aipl(brand="B01") = "A" and member(brand="B02") = "yes" and top_category = "B03" '
                       'or count(event="purchase", brand="B04", days=30) >= 1 or category_share(category="B05") > 5')
    assert brands_of(named) == {"B01", "B02", "B04"}


def test_use_cases_in_a_namespace(market):
    w = open_warehouse(market)
    made = create_crowd(w, "ns_young", "age < 30", namespace="t1")
    assert made.name == "ns_young" and made.coverage == count_crowd(w, 'crowd("t1:ns_young")').count
    assert count_crowd(w, "ns_young", namespace="t1").count == made.coverage
    with pytest.raises(ValueError, match="no crowd named 'ns_young'") as err:
        count_crowd(w, "ns_young", namespace="t2")  # another namespace's crowd is not found, nor named
    assert "t1" not in str(err.value) and "t2" not in str(err.value)
    mine = list_crowds(w, namespace="t1")
    assert "ns_young" in set(mine.name) and not mine.name.str.contains(":").any()
    assert set(list_crowds(w).name) >= {"t1:ns_young", *BUILT_IN}
    members = crowd_members(w, ["ns_young", "strategy_gen_z"], namespace="t1")
    index = TagIndex.load(w)
    assert len(members) == len(index.evaluate(parse("age < 30")) | index.evaluate(parse(BUILT_IN["strategy_gen_z"][1])))
    w.close()
