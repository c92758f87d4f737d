"""Issue 19, class 9: valid repeats and updates are not lost. Events without an id are a multiset (two
identical clicks on a day are two clicks; a reload of overlapping rows adds only the extra copies); an
`event_id` keys an event where given; consumers, products and members keep the latest row, with history."""

from __future__ import annotations

import pytest

from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse
from tests.conftest import DATA, counts

LOG_HEAD = "user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n"
# a Tmall 2014 brand log: day-level MMDD timestamps, so real repeats are exact copies of a row
LOG = [
    "1,11,5,7,2661,1111,0", "1,11,5,7,2661,1111,0", "1,11,5,7,2661,1111,0",  # three clicks on Nov 11
    "1,11,5,7,2661,1111,2", "1,11,5,7,2661,1111,2",  # two purchases the same day
    "2,12,5,7,2661,1110,0", "2,12,5,7,2661,1111,0", "2,12,5,7,2661,1111,3",
]


def _tally(wh) -> dict[str, int]:
    ev = wh.table("events")
    got = ev.group_by("event_type").aggregate(n=ev.count()).execute()
    return dict(zip(got.event_type, got.n.astype(int), strict=True))


def test_day_level_repeats_are_all_kept_and_reloads_add_nothing(wh, tmp_path):
    folder = tmp_path / "tmall"
    folder.mkdir()
    (folder / "user_log_format1.csv").write_text(LOG_HEAD + "\n".join(LOG) + "\n")
    r = ingest(wh, folder / "user_log_format1.csv", "tmall_repeat")
    assert (r.read, r.accepted, r.rejected) == (8, 8, 0)
    assert _tally(wh) == {"pdp_view": 5, "purchase": 2, "favorite": 1}  # the file's counts, nothing halved
    before = counts(wh)
    # an overlapping file: the same rows plus one more click and one more purchase → only those two are new
    (tmp_path / "user_log_format1.csv").write_text(
        LOG_HEAD + "\n".join([*LOG, "1,11,5,7,2661,1111,0", "1,11,5,7,2661,1111,2"]) + "\n")
    r = ingest(wh, tmp_path / "user_log_format1.csv", "tmall_repeat")
    assert (r.read, r.accepted, r.rejected) == (10, 2, 8)
    assert _tally(wh) == {"pdp_view": 6, "purchase": 3, "favorite": 1}
    assert r.loads[0].reasons == {"(key)": 8}
    q = wh.table("quarantine").filter(lambda t: t.source == str(tmp_path / "user_log_format1.csv")).execute()
    assert all("already holds" in x for x in q.reason)
    # the same overlapping rows once more, in a file of other bytes: nothing changes in events
    (tmp_path / "again.csv").write_text(LOG_HEAD + "\n".join(reversed([*LOG, *LOG[:1], LOG[3]])) + "\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "again.csv").rename(tmp_path / "a" / "user_log_format1.csv")
    r = ingest(wh, tmp_path / "a" / "user_log_format1.csv", "tmall_repeat")
    assert r.accepted == 0 and counts(wh)["events"] == before["events"] + 2


def test_the_tmall_fixture_log_keeps_its_counts(wh):
    r = ingest(wh, DATA / "tmall" / "user_log_format1.csv", "tmall_repeat")
    lines = (DATA / "tmall" / "user_log_format1.csv").read_text().splitlines()[1:]
    assert r.read == len(lines) and r.accepted == wh.count("events") == r.read - r.rejected
    assert set(r.loads[0].reasons) <= {"ts", "action_type"}  # only real defects are quarantined


def test_event_id_keys_events_where_given(wh, tmp_path):
    head = "consumer_id,brand_id,event_type,ts,event_id\n"
    f = tmp_path / "ids.csv"
    f.write_text(head + "c1,B1,ad_click,2026-10-01,e1\nc1,B1,ad_click,2026-10-01,e2\nc1,B1,ad_click,2026-10-01,e1\n"
                 "c1,B1,ad_click,2026-10-01,\nc1,B1,ad_click,2026-10-01,\n")
    r = ingest(wh, f, "events")
    assert (r.read, r.accepted, r.rejected) == (5, 4, 1)  # e1 twice is one event; two rows without an id are two
    q = wh.table("quarantine").execute()
    assert list(q.line) == [4] and "duplicate of line 2" in q.reason.iloc[0]
    g = tmp_path / "ids2.csv"
    g.write_text(head + "c1,B1,ad_click,2026-10-01,e2\nc1,B1,ad_click,2026-10-01,e3\n")
    r = ingest(wh, g, "events")
    assert (r.accepted, r.rejected) == (1, 1) and wh.count("events") == 5


def test_changed_profiles_load_and_history_keeps_the_old_rows(wh, tmp_path):
    a = tmp_path / "c1.csv"
    a.write_text("consumer_id,gender,birth_year,city_tier\nc1,F,1990,2\nc2,M,1985,3\n")
    assert ingest(wh, a, "consumers").accepted == 2
    b = tmp_path / "c2.csv"  # c1 moves city, c2 unchanged, c3 new; a partial file keeps what it does not give
    b.write_text("consumer_id,city_tier\nc1,1\nc2,3\nc3,4\nc3,5\n")
    r = ingest(wh, b, "consumers")
    assert (r.read, r.accepted, r.rejected) == (4, 3, 1)
    cur = wh.table("consumers").order_by("consumer_id").execute()
    assert list(cur.consumer_id) == ["c1", "c2", "c3"] and list(cur.city_tier) == [1, 3, 5]
    assert list(cur.birth_year.fillna(0).astype(int)) == [1990, 1985, 0]
    assert list(cur.gender.fillna("-")) == ["F", "M", "-"]
    h = wh.table("consumers_history").order_by(["consumer_id", "line"]).execute()
    assert list(zip(h.consumer_id, h.city_tier, h.line, strict=True)) == [("c1", 2, 2), ("c3", 4, 5)]
    assert h.superseded_at.notnull().all() and set(h.batch_id) == {r.loads[0].batch_id}
    q = wh.table("quarantine").execute()
    assert list(q.line) == [3] and "unchanged" in q.reason.iloc[0]
    before = counts(wh)
    c = tmp_path / "c3.csv"  # the same rows again in other bytes: nothing changes
    c.write_text("consumer_id,city_tier\nc3,5\nc1,1\n")
    assert ingest(wh, c, "consumers").accepted == 0
    data = [k for k in before if k not in ("quarantine", "batches")]  # the batch and its repeats are recorded
    assert {k: counts(wh)[k] for k in data} == {k: before[k] for k in data}


@pytest.mark.parametrize(("table", "first", "second", "changed"), [
    ("members", "consumer_id,brand_id,shop_id,joined_at,status\nc1,B1,S1,2026-01-01,active\n",
     "consumer_id,brand_id,shop_id,joined_at,status,tier\nc1,B1,S1,2026-01-01,lapsed,gold\n", "status"),
    ("products", "item_id,brand_id,price\ni1,B1,10\n", "item_id,brand_id,price\ni1,B1,8.5\n", "price"),
])
def test_members_and_products_take_the_latest_row(wh, tmp_path, table, first, second, changed):
    (tmp_path / "a.csv").write_text(first)
    (tmp_path / "b.csv").write_text(second)
    assert ingest(wh, tmp_path / "a.csv", table).accepted == 1
    old = wh.table(table).execute()[changed].iloc[0]
    assert ingest(wh, tmp_path / "b.csv", table).accepted == 1
    assert wh.count(table) == 1 and wh.table(table).execute()[changed].iloc[0] != old
    assert wh.table(f"{table}_history").execute()[changed].tolist() == [old]


def test_a_workspace_made_before_event_id_gains_the_column(tmp_path):
    root = init_workspace(tmp_path / "old")
    w = open_warehouse(root)
    w.raw.execute("ALTER TABLE events DROP COLUMN event_id")  # as an older aipl created it
    w.close()
    w = open_warehouse(root)
    try:
        assert "event_id" in w.table("events").columns
        f = tmp_path / "e.csv"
        f.write_text("consumer_id,brand_id,event_type,ts\nc1,B1,ad_click,2026-10-01\n")
        assert ingest(w, f, "events").accepted == 1
    finally:
        w.close()
