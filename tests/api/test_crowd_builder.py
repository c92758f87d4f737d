"""The 达摩盘-style crowd builder, library and API, on the demo service workspace (tests/api/conftest.py, shared
with the other API tests): the tag catalogue with its values and counts, TGI against an independent pandas
computation, the built-in crowds with their sizes, per-capita spend and cross-category penetration against
pandas, the hashed-id export against hashlib with its manifest and audit row, and tenancy and the privacy minimum
on every new path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from aipl.audience import (
    TagIndex,
    built_in_crowds,
    category_penetration,
    count_crowd,
    crowd_insight,
    export_crowd,
    parse,
    sector_spend,
    tag_catalogue,
    to_text,
)
from aipl.privacy import PrivacyError
from aipl.warehouse import open_warehouse
from tests.api.conftest import auth

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def ro(service):
    wh = open_warehouse(service["root"], read_only=True)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def data(ro) -> dict:
    """The tables the independent computations read, as pandas frames."""
    tags = ro.table("consumer_tags").execute()
    ids = ro.table("consumer_ids").execute()
    ev = ro.table("events").execute()
    buy = ev[ev.event_type == "purchase"].merge(ids, on="consumer_id")
    buy = buy.assign(day=pd.to_datetime(buy.ts, utc=True).dt.tz_convert(TZ).dt.date)
    return {"tags": tags, "ids": ids, "buy": buy, "index": TagIndex.load(ro),
            "products": ro.table("products").execute()}


def _holders(tags: pd.DataFrame, tag: str, test) -> set[int]:
    t = tags[tags.tag == tag]
    return set(t[test(t)].id)


def test_the_catalogue_names_every_tag_in_both_languages_with_its_values_and_counts(data):
    cat = tag_catalogue(data["index"])
    assert (cat.zh.str.len() > 0).all() and (cat.en.str.len() > 0).all() and (cat.zh_description.str.len() > 0).all()
    got = {(r["name"], v["key"], str(v["value"])): v["count"] for r in cat.to_dict("records") for v in r["values"]}
    t = data["tags"]
    want = t.groupby([t.tag, t.key.fillna("\0"), t.value]).size()
    assert got == {(tag, None if key == "\0" else key, value): n for (tag, key, value), n in want.items()}
    gender = {v["value"]: (v["zh"], v["en"]) for v in cat.set_index("name").loc["gender", "values"]}
    assert gender["F"] == ("女", "Female")


def test_tgi_against_a_comparison_crowd_equals_pandas(ro, data):
    res = crowd_insight(ro, "age < 35", base="city_tier <= 3", index=data["index"])
    t = data["tags"]
    crowd = _holders(t, "age", lambda d: d.num < 35)
    base = _holders(t, "city_tier", lambda d: d.num <= 3)
    g = t.assign(key=t.key.fillna("")).groupby(["tag", "key", "value"]).id.agg(set)
    want = {k: (len(ids & crowd) / len(crowd), len(ids & base) / len(base)) for k, ids in g.items()}
    want = {k: v for k, v in want.items() if v[0] >= 0.01}
    p = res.profile
    got = {(r.tag, r.key if isinstance(r.key, str) else "", str(r.value)): r for r in p.itertuples()}
    assert set(got) == set(want) and res.size == len(crowd)
    for k, (share, base_share) in want.items():
        assert got[k].crowd_share == pytest.approx(share) and got[k].base_share == pytest.approx(base_share)
        assert got[k].tgi == pytest.approx(100 * share / base_share) if base_share else pd.isna(got[k].tgi)


def test_built_in_crowds_are_listed_with_their_sizes(ro, data):
    crowds = built_in_crowds(ro, data["index"]).set_index("name")
    assert {"strategy", "lower_tier", "apparel", "cross_category"} <= set(crowds.group)
    assert {"apparel_gen_z", "apparel_trend", "apparel_luxury", "fashion_x_beauty"} <= set(crowds.index)
    for name in ("strategy_gen_z", "lower_tier_active_youth", "apparel_trend", "fashion_x_beauty"):
        assert crowds.loc[name, "size"] == count_crowd(ro, name, index=data["index"]).count
    assert crowds.loc["apparel_trend", ["zh", "en"]].tolist() == ["潮流人群", "Trend seekers"]


def _groups(products: pd.DataFrame) -> pd.Series:
    p = products.dropna(subset=["category_id"]).drop_duplicates("category_id")
    return p.set_index("category_id").category_l1.fillna(p.set_index("category_id").index.to_series())


def test_cross_category_penetration_equals_pandas(ro, data):
    pen = category_penetration(ro, days=365, index=data["index"])
    day = data["index"].day
    b = data["buy"]
    b = b[(b.day > day - pd.Timedelta(days=365)) & (b.day <= day) & b.category_id.notna()]
    who = b.assign(grp=b.category_id.map(_groups(data["products"]))).groupby("grp").consumer_id.agg(set)
    everyone = set().union(*who)
    assert len(pen) == len(who) * (len(who) - 1) > 0
    for r in pen.itertuples():
        both = who[r.a] & who[r.b]
        assert (r.buyers_a, r.buyers_b, r.both) == (len(who[r.a]), len(who[r.b]), len(both))
        assert r.penetration == pytest.approx(len(both) / len(who[r.a]))
        assert r.tgi == pytest.approx(100 * (len(both) / len(who[r.a])) / (len(who[r.b]) / len(everyone)))
        assert count_crowd(ro, r.expr, index=data["index"]).count == len(both)  # the crowd of the buyers of both
    fxb = pen[(pen.a == "apparel") & (pen.b == "beauty")].iloc[0]
    assert built_in_crowds(ro, data["index"]).set_index("name").loc["fashion_x_beauty", "size"] == fxb.both > 0


def test_per_capita_spend_against_the_market_equals_pandas(ro, data):
    start, end = data["index"].day - pd.Timedelta(days=59), data["index"].day
    got = sector_spend(ro, start, end, index=data["index"]).set_index("crowd")
    b = data["buy"]
    spend = b[(b.day >= start) & (b.day <= end)].groupby("id").amount.sum()
    market = spend.sum() / len(spend)
    assert list(got.index) == ["apparel_gen_z", "apparel_trend", "apparel_luxury"]
    for name in got.index:
        members = data["index"].evaluate(parse(f'crowd("{name}")'))
        mine = spend[spend.index.isin(list(members))]
        r = got.loc[name]
        assert (r.consumers, r.buyers) == (len(members), len(mine))
        assert r.gmv == pytest.approx(mine.sum()) and r.market_per_capita == pytest.approx(market)
        if len(mine):
            assert r["index"] == pytest.approx(100 * mine.mean() / market)


@pytest.fixture(scope="module")
def identities(service) -> pd.DataFrame:
    """Phone numbers (in the forms brands hold them, some consumers with two), OAIDs and a few IDFAs for the
    demo's consumers, loaded into the identities table."""
    with open_warehouse(service["root"]) as wh:
        people = wh.table("consumers").execute().consumer_id.sort_values().tolist()
        rows = [("B01", c, "phone", f"+86 138-{i:04d}-{i % 10000:04d}") for i, c in enumerate(people[:1500])]
        rows += [("B01", c, "phone", f"139{i:08d}") for i, c in enumerate(people[:300])]
        rows += [("B01", c, "oaid", f"ABCD{i:06d}-EF") for i, c in enumerate(people[:1200])]
        rows += [("B01", c, "idfa", f"6d92078a-8246-4ba4-ae5b-{i:012x}") for i, c in enumerate(people[:30])]
        # the rival's CRM (B03) holds other phones and OAIDs of the same consumers: never in acme's exports
        rows += [("B03", c, "phone", f"137{i:08d}") for i, c in enumerate(people[:800])]
        rows += [("B03", c, "oaid", f"FFFF{i:06d}-00") for i, c in enumerate(people[:800])]
        df = pd.DataFrame(rows, columns=["brand_id", "consumer_id", "id_type", "id_value"])
        wh.insert("identities", df)
    return df


def _normal(id_type: str, v: str) -> str:  # as a DMP hashes them, written out independently
    if id_type == "phone":
        d = "".join(ch for ch in v if ch.isdigit())
        return d[2:] if len(d) == 13 and d.startswith("86") else d
    return v.strip().lower() if id_type == "oaid" else v.strip().upper()


@pytest.mark.parametrize(("id_type", "how", "fmt"), [("phone", "md5", "txt"), ("oaid", "sha256", "csv")])
def test_a_hashed_export_holds_the_digests_with_a_manifest_and_an_audit_row(service, identities, tmp_path, id_type,
                                                                             how, fmt):
    expr = "age < 45"
    out = tmp_path / f"crowd.{fmt}"
    with open_warehouse(service["root"]) as wh:
        members = set(wh.table("consumer_ids").execute().set_index("id").consumer_id.reindex(
            list(TagIndex.load(wh).evaluate(parse(expr)))))
        done = export_crowd(wh, expr, out, actor="analyst@brand", id_type=id_type, hashing=how,
                            viewer=("B01", "B02"))  # acme: its own CRM's identifiers only
        audit = wh.table("crowd_exports").execute()
    mine = identities[(identities.id_type == id_type) & identities.consumer_id.isin(members)
                      & identities.brand_id.isin(["B01", "B02"])]
    want = {getattr(hashlib, how)(_normal(id_type, v).encode()).hexdigest() for v in mine.id_value}
    lines = out.read_text().split() if fmt == "txt" else pd.read_csv(out)[f"{id_type}_{how}"].tolist()
    assert set(lines) == want and len(lines) == len(want) > 100
    manifest = json.loads(Path(done.manifest).read_text(encoding="utf-8"))
    assert manifest == {"audit_id": done.export_id, "crowd": "crowd 'age < 45'", "expression": "age < 45",
                        "count": len(want), "consumers": mine.consumer_id.nunique(), "id_type": id_type, "hash": how,
                        "created": manifest["created"], "who": "analyst@brand", "file": out.name,
                        "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    row = audit[audit.export_id == done.export_id].iloc[0]
    assert (row.id_type, row.hash, row.rows, row.actor, row.sha256) == (id_type, how, len(want), "analyst@brand",
                                                                         manifest["sha256"])


def test_hashed_exports_keep_the_privacy_minimum(service, identities, tmp_path):
    with open_warehouse(service["root"]) as wh:
        logged = wh.count("crowd_exports") if wh.has_table("crowd_exports") else 0  # made by the first export
        with pytest.raises(PrivacyError, match="30 consumers, below the minimum export size"):  # 30 have an IDFA
            export_crowd(wh, "age < 200", tmp_path / "idfa.txt", id_type="idfa", hashing="md5")
        with pytest.raises(ValueError, match="only hashed"):
            export_crowd(wh, "age < 200", tmp_path / "phones.csv", id_type="phone")
        assert (wh.count("crowd_exports") if wh.has_table("crowd_exports") else 0) == logged
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------------- the API
def test_api_catalogue_and_the_language_both_ways(service, client):
    h = auth(service, "analyst")
    items = {t["name"]: t for t in client.get("/api/crowds/tags?values=true", headers=h).json()["items"]}
    assert {v["key"] for v in items["aipl"]["values"]} == {"B01", "B02"}  # only the tenant's brands
    assert items["gender"]["zh_description"] and items["gender"]["values"]
    text = 'aipl(brand="B01") in ("I", "P") and not (age < 20 or city_tier = 1)'
    parsed = client.post("/api/crowds/parse", json={"expr": text}, headers=h).json()
    assert parsed["tree"] == parse(text) and parsed["expr"] == to_text(parse(text))
    back = client.post("/api/crowds/text", json={"tree": parsed["tree"]}, headers=h).json()
    assert back["expr"] == parsed["expr"]
    bad = client.post("/api/crowds/parse", json={"expr": "age between 3"}, headers=h)
    assert bad.status_code == 422 and "column" in bad.json()["detail"]
    assert client.post("/api/crowds/text", json={"tree": {"or": []}}, headers=h).status_code == 422


def test_api_built_in_crowds_spend_and_penetration_respect_the_tenant(service, client):
    h = auth(service, "analyst")
    crowds = {c["name"]: c for c in client.get("/api/crowds/builtin", headers=h).json()["items"]}
    count = client.post("/api/crowds/count", json={"expr": "strategy_gen_z"}, headers=h).json()["count"]
    assert crowds["strategy_gen_z"]["size"] == count
    assert crowds["fashion_x_beauty"]["size"] is None and "other brands" in crowds["fashion_x_beauty"]["withheld"]
    pen = client.get("/api/crowds/penetration", headers=h).json()
    assert pen["items"] == []  # every category holds fewer than five brands acme is not granted
    with open_warehouse(service["root"], read_only=True) as wh:
        assert len(category_penetration(wh)) > 0  # the owner sees them
    day = crowds and client.post("/api/crowds/count", json={"expr": "age > 0"}, headers=h).json()["day"]
    spend = client.get(f"/api/crowds/spend?start=2026-10-01&end={day}&brand=B01", headers=h)
    assert spend.status_code == 200 and [r["crowd"] for r in spend.json()["items"]] == [
        "apparel_gen_z", "apparel_trend", "apparel_luxury"]
    assert client.get(f"/api/crowds/spend?start=2026-10-01&end={day}&brand=B03", headers=h).status_code == 403
    cat = client.get(f"/api/crowds/spend?start=2026-10-01&end={day}&category=skincare", headers=h)
    assert cat.status_code == 403


def test_api_insight_keeps_the_privacy_minimum(service, client):
    h = auth(service, "analyst")
    body = {"expr": 'aipl(brand="B01") in ("I", "P", "L")', "base": "age < 40", "tags": ["gender"]}
    ok = client.post("/api/crowds/insight", json=body, headers=h)
    assert ok.status_code == 200 and {r["value"] for r in ok.json()["profile"]} <= {"F", "M", "U"}
    tiny = client.post("/api/crowds/insight", json={**body, "expr": "age = 18 and city_tier = 1"}, headers=h)
    assert tiny.status_code == 403 and "minimum insight size" in tiny.json()["detail"]
    small_base = client.post("/api/crowds/insight", json={**body, "base": "age = 18 and city_tier = 1"}, headers=h)
    assert small_base.status_code == 403


def test_api_export_is_audited_downloadable_only_by_the_tenant_and_guarded(service, client):
    h, rival = auth(service, "analyst"), auth(service, "rival")
    body = {"expr": 'aipl(brand="B01") in ("A", "I", "P", "L")', "id_type": "consumer_id", "hash": "md5"}
    r = client.post("/api/crowds/export", json=body, headers=h)
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["hash"] == "md5" and res["actor"] == "acme/analyst" and res["rows"] > 100
    got = client.get(res["download"], headers=h)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == res["sha256"]
    assert client.get(res["download"], headers=rival).status_code == 404
    assert client.get(res["download"], headers=auth(service, "viewer")).status_code == 403
    assert client.post("/api/crowds/export", json=body, headers=rival).status_code == 403  # not rival's brand
    tiny = client.post("/api/crowds/export", json={**body, "expr": "age = 18 and city_tier = 1"}, headers=h)
    assert tiny.status_code == 403 and "below the minimum export size" in tiny.json()["detail"]
    plain = client.post("/api/crowds/export", json={**body, "id_type": "phone", "hash": None}, headers=h)
    assert plain.status_code == 422
