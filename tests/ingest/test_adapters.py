"""Adapters for public dataset layouts: hand-made fixtures, and the real samples checked against independent counts."""

from __future__ import annotations

import duckdb
import pytest

from aipl.ingest import ingest
from tests.conftest import BUNDLED, DATA, shared


def reasons(wh) -> dict[tuple[str, int], str]:
    q = wh.table("quarantine").execute()
    return {(r.source.split("/")[-1], int(r.line)): r.field for r in q.itertuples()}


def test_userbehavior_fixture(wh):
    r = ingest(wh, DATA / "userbehavior_small.csv", "userbehavior")
    # line 11 repeats line 10 to the second: without an event id, two identical rows are two page views
    assert (r.read, r.accepted, r.rejected) == (13, 9, 4)
    f = "userbehavior_small.csv"
    assert reasons(wh) == {(f, 7): "behavior_type", (f, 8): "ts", (f, 9): "ts", (f, 13): "ts"}
    ev = wh.table("events").execute()
    assert sorted(ev.event_type.unique()) == ["add_to_cart", "favorite", "pdp_view", "purchase"]
    assert ev.brand_id.isna().all() and ev.category_id.notna().all()


def test_ali_four_tables(wh):
    r = ingest(wh, DATA / "ali", "ali_display_ad")
    by = {(lr.source.split("/")[-1], lr.target): (lr.read, lr.accepted, lr.rejected) for lr in r.loads}
    assert by == {
        ("user_profile.csv", "consumers"): (3, 2, 1),
        ("raw_sample.csv", "events"): (5, 3, 2),
        ("behavior_log.csv", "events"): (4, 3, 1),
    }
    assert reasons(wh) == {
        ("user_profile.csv", 4): "city_tier", ("raw_sample.csv", 5): "adgroup_id",
        ("raw_sample.csv", 6): "clk", ("behavior_log.csv", 5): "btag",
    }
    c = wh.table("consumers").order_by("consumer_id").execute()
    assert list(c.gender) == ["F", "M"] and list(c.occupation.fillna("-")) == ["student", "-"]
    ev = wh.table("events").execute()
    ads = ev[ev.channel == "display"].sort_values("ts")
    assert list(ads.event_type) == ["exposure", "ad_click", "exposure"]
    assert list(ads.brand_id.fillna("-")) == ["ali:95471", "ali:95471", "-"]
    assert set(ads.touchpoint) == {"430548_1007", "430539_1007"}


def test_tmall_folder(wh):
    r = ingest(wh, DATA / "tmall", "tmall_repeat")
    by = {lr.target: (lr.read, lr.accepted, lr.rejected) for lr in r.loads}
    assert by == {"labels": (3, 2, 1), "consumers": (3, 2, 1), "events": (6, 4, 2)}
    assert reasons(wh) == {
        ("train_format1.csv", 4): "(key)", ("user_info_format1.csv", 4): "age_range",
        ("user_log_format1.csv", 6): "ts", ("user_log_format1.csv", 7): "action_type",
    }
    c = wh.table("consumers").order_by("consumer_id").execute()
    assert list(c.gender) == ["F", "M"] and c.birth_year.iloc[1] == 1970


def test_cdnow_sample_totals(wh):
    path = BUNDLED / "CDNOW_sample.txt"
    r = ingest(wh, path, "cdnow")
    assert (r.read, r.accepted, r.rejected) == (6919, 6919, 0)
    ev = wh.table("events").execute()
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    assert ev.consumer_id.nunique() == len({ln[0] for ln in lines}) == 2357
    assert round(ev.amount.sum(), 2) == round(sum(float(ln[4]) for ln in lines), 2)
    assert int(ev.quantity.sum()) == sum(int(ln[3]) for ln in lines)
    # one order per customer-day (identical repeats on a day get a -2, -3 … suffix): no row is merged or lost
    assert ev.order_id.str.rsplit("-", n=1).str[0].nunique() == len({(ln[0], ln[2]) for ln in lines})


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "name",
    ["UserBehavior_head_fattydelivery.csv", "UserBehavior_tail_betashepherd.csv", "UserBehavior_timewindow_rdav27.csv"],
)
def test_userbehavior_real_slices_match_independent_counts(wh, name):
    path = shared(f"taobao_userbehavior/{name}")
    r = ingest(wh, path, "userbehavior")
    cols = "{'u':'BIGINT','i':'BIGINT','c':'BIGINT','b':'VARCHAR','t':'BIGINT'}"
    raw = f"read_csv('{path}', header=false, columns={cols})"
    lo, hi = 1511539200, 1512316800  # 2017-11-25 00:00 and 2017-12-04 00:00, Asia/Shanghai
    total, out_of_window = duckdb.sql(f"SELECT count(*), count(*) FILTER (t < {lo} OR t >= {hi}) FROM {raw}").fetchone()
    in_window_dups = duckdb.sql(
        f"SELECT count(*) - count(DISTINCT (u, i, c, b, t)) FROM {raw} WHERE t >= {lo} AND t < {hi}"
    ).fetchone()[0]
    assert r.read == total
    assert r.rejected == out_of_window + in_window_dups
    assert r.loads[0].reasons.get("ts", 0) == out_of_window > 0
    assert r.accepted == total - out_of_window - in_window_dups


@pytest.mark.shared_data
def test_cdnow_master(wh):
    path = shared("cdnow/CDNOW_master.txt")
    r = ingest(wh, path, "cdnow")
    assert (r.read, r.accepted, r.rejected) == (69659, 69659, 0)
    ev = wh.table("events")
    assert int(ev.consumer_id.nunique().execute()) == 23570
    lines = [ln.split() for ln in path.read_text().splitlines()[1:] if ln.strip()]
    assert round(float(ev.amount.sum().execute()), 2) == round(sum(float(ln[3]) for ln in lines), 2)


@pytest.mark.shared_data
def test_hillstrom_reproduces_published_arm_figures(wh):
    path = shared("hillstrom/hillstrom.csv")
    r = ingest(wh, path, "hillstrom")
    assert r.rejected == 0
    a = wh.table("assignments")
    ev = wh.table("events")
    visits = ev.filter(ev.event_type == "store_home_view").select(vid=ev.consumer_id, v=1)
    buys = ev.filter(ev.event_type == "purchase").select(bid=ev.consumer_id, c=1, s=ev.amount)
    j = a.left_join(visits, a.consumer_id == visits.vid)
    j = j.left_join(buys, j.consumer_id == buys.bid)
    arms = j.group_by("arm").aggregate(
        n=j.count(), visit=j.v.fill_null(0).mean(), conv=j.c.fill_null(0).mean(), spend=j.s.fill_null(0).mean()
    ).execute().set_index("arm")
    published = {  # MineThatData 2008, as in the public datasets' README ($AIPL_DATA)
        "Mens E-Mail": (21307, 0.1828, 0.01253, 1.4226),
        "Womens E-Mail": (21387, 0.1514, 0.00884, 1.0772),
        "No E-Mail": (21306, 0.1062, 0.00573, 0.6528),
    }
    for arm, (n, visit, conv, spend) in published.items():
        row = arms.loc[arm]
        assert row.n == n
        assert row.visit == pytest.approx(visit, abs=5e-5)
        assert row.conv == pytest.approx(conv, abs=5e-6)
        assert row.spend == pytest.approx(spend, abs=5e-5)
    ex = ev.filter(ev.event_type == "exposure").count().execute()
    assert ex == 21307 + 21387
    assert wh.count("labels") == 64000 * 8


@pytest.mark.shared_data
def test_tmall_train_labels(wh):
    path = shared("tmall_repeat_buyers/train_format1.csv")
    r = ingest(wh, path, "tmall_repeat")
    assert (r.read, r.accepted, r.rejected) == (260864, 260864, 0)
    lab = wh.table("labels")
    assert float(lab.value.mean().execute()) == pytest.approx(0.06115, abs=5e-5)


@pytest.mark.shared_data
def test_ali_joined_sample(wh):
    path = shared("taobao_display_ad/fuxictr_tiny_train_sample.csv")
    r = ingest(wh, path, "ali_display_ad")
    by = {lr.target: (lr.read, lr.accepted, lr.rejected) for lr in r.loads}
    raw = f"read_csv('{path}', all_varchar=true)"
    n, users, clicks = duckdb.sql(
        f"SELECT count(*), count(DISTINCT userid), count(*) FILTER (clk='1') FROM {raw}"
    ).fetchone()
    dup = duckdb.sql(
        "SELECT count(*) - count(DISTINCT (userid, time_stamp, adgroup_id, pid, clk, campaign_id, brand, cate_id)) "
        f"FROM {raw}"
    ).fetchone()[0]
    assert by["events"] == (n, n - dup, dup)
    assert by["consumers"][1] == users
    ev = wh.table("events")
    assert int(ev.filter(ev.event_type == "ad_click").count().execute()) <= clicks
