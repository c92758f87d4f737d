"""Every defect is quarantined with its file, line, field and reason; counts reconcile; reloads change nothing."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime

import pytest

from aipl.ingest import SourceError, ingest
from tests.conftest import BUNDLED, counts

DIRTY = BUNDLED / "events_dirty.csv"

# line -> (field, words the reason must contain) for every bad row of events_dirty.csv
EXPECTED = {
    4: ("event_type", "'page_view' is not one of"),
    5: ("ts", "not a valid timestamp: 'not-a-time'"),
    6: ("consumer_id", "missing"),
    7: ("channel", "'tv' is not one of"),
    8: ("amount", "below the minimum 0"),
    9: ("(key)", "duplicate of line 3"),
    10: ("ts", "implausible"),
    11: ("brand_id|category_id", "needs one of brand_id, category_id"),
    12: ("(record)", "Expected Number of Columns"),
}


def quarantined(wh) -> dict[int, tuple[str, str]]:
    q = wh.table("quarantine").execute()
    return {int(r.line): (r.field, r.reason) for r in q.itertuples()}


def test_each_defect_is_quarantined_with_line_field_reason(wh):
    r = ingest(wh, DIRTY, "events")
    assert (r.read, r.accepted, r.rejected) == (12, 3, 9)
    got = quarantined(wh)
    assert set(got) == set(EXPECTED)
    for line, (field, words) in EXPECTED.items():
        assert got[line][0] == field, (line, got[line])
        assert words in got[line][1], (line, got[line])
    q = wh.table("quarantine").execute()
    assert set(q.source) == {str(DIRTY)}
    assert q.raw[q.line == 12].iloc[0].endswith("extra")


def test_good_rows_are_typed_and_nothing_valid_is_lost(wh):
    ingest(wh, DIRTY, "events")
    ev = wh.table("events").order_by("ts").execute()
    assert list(ev.consumer_id) == ["c00000001", "c00000001", "c00000010"]
    assert list(ev.event_type) == ["pdp_view", "purchase", "share"]
    # '2026-10-01T10:00:00+08:00' and '2026-10-01 10:05:00' (no offset: workspace zone Asia/Shanghai)
    assert ev.ts.iloc[0].to_pydatetime().astimezone(UTC) == datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    assert ev.ts.iloc[1].to_pydatetime().astimezone(UTC) == datetime(2026, 10, 1, 2, 5, tzinfo=UTC)
    # epoch seconds
    assert ev.ts.iloc[2].to_pydatetime().astimezone(UTC) == datetime.fromtimestamp(1791936000, UTC)
    assert ev.amount.iloc[1] == 129.0


def test_reloading_the_same_file_changes_nothing(wh, tmp_path, monkeypatch):
    first = ingest(wh, DIRTY, "events")
    before = counts(wh)
    monkeypatch.setattr(wh, "stage_csv", lambda *a, **k: pytest.fail("a file loaded before was read again"))
    again = ingest(wh, DIRTY, "events")
    assert again.skipped and again.read == 0
    assert [(r.target, r.skipped) for r in again.loads] == [("events", True)]
    assert counts(wh) == before
    # the same bytes under another name are the same batch
    copy = tmp_path / "renamed.csv"
    shutil.copy(DIRTY, copy)
    assert ingest(wh, copy, "events").skipped
    assert counts(wh) == before
    assert first.accepted == before["events"]


def test_overlapping_file_rows_already_in_warehouse_are_duplicates(wh, tmp_path):
    ingest(wh, DIRTY, "events")
    other = tmp_path / "more.csv"
    other.write_text(
        "consumer_id,brand_id,event_type,ts,item_id,channel,amount,order_id,event_id\n"
        "c00000001,B01,pdp_view,2026-10-01T10:00:00+08:00,B01-i001,,,,e01\n"
        "c00000099,B01,pdp_view,2026-10-01T10:00:00+08:00,B01-i001,,,,e99\n"
    )
    r = ingest(wh, other, "events")
    assert (r.read, r.accepted, r.rejected) == (2, 1, 1)
    got = {k: v for k, v in quarantined(wh).items() if k == 2}
    q = wh.table("quarantine").filter(lambda t: t.source == str(other)).execute()
    assert list(q.line) == [2] and "already holds" in q.reason.iloc[0]
    assert got


def test_gzip_and_parquet_read_the_same(wh, tmp_path):
    gz = tmp_path / "dirty.csv.gz"
    with open(DIRTY, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    r = ingest(wh, gz, "events")
    assert (r.read, r.accepted, r.rejected) == (12, 3, 9)
    assert set(quarantined(wh)) == set(EXPECTED)

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq_path = tmp_path / "events.parquet"
    pq.write_table(pa.table({
        "consumer_id": ["p1", "p2", None], "brand_id": ["B1", "B1", "B1"],
        "event_type": ["purchase", "nope", "pdp_view"],
        "ts": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("s", tz="UTC")),
        "amount": [10.5, 1.0, None],
    }), pq_path)
    r = ingest(wh, pq_path, "events")
    assert (r.read, r.accepted, r.rejected) == (3, 1, 2)
    q = wh.table("quarantine").filter(lambda t: t.source == str(pq_path)).order_by("line").execute()
    assert list(zip(q.line, q.field, strict=True)) == [(2, "event_type"), (3, "consumer_id")]


def test_structural_errors_keep_later_line_numbers_right(wh, tmp_path):
    f = tmp_path / "broken.csv"
    rows = ["consumer_id,brand_id,event_type,ts"]
    for i in range(1, 40):
        rows.append(f"c{i},B1,pdp_view,2026-01-01 00:00:{i:02d}" + (",x,y" if i in (5, 17, 18) else ""))
    rows.append("c99,B1,badtype,2026-01-01 00:00:00")
    f.write_text("\n".join(rows) + "\n")
    r = ingest(wh, f, "events")
    assert (r.read, r.accepted, r.rejected) == (40, 36, 4)
    got = quarantined(wh)
    assert {k: v[0] for k, v in got.items()} == {6: "(record)", 18: "(record)", 19: "(record)", 41: "event_type"}


@pytest.mark.parametrize(
    "header, message",
    [
        ("consumer_id,brand_id,event_type,ts,colour", "unknown column(s) colour"),
        ("consumer_id,brand_id,event_type", "lacks required column(s): ts"),
        ("consumer_id,event_type,ts", "brand_id or category_id"),
    ],
)
def test_bad_header_is_a_clear_error_and_writes_nothing(wh, tmp_path, header, message):
    f = tmp_path / "h.csv"
    f.write_text(header + "\n")
    before = counts(wh)
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest(wh, f, "events")
    assert counts(wh) == before


def test_missing_and_empty_files_and_unknown_format(wh, tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        ingest(wh, tmp_path / "nope.csv", "events")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceError, match="empty"):
        ingest(wh, empty, "events")
    with pytest.raises(SourceError, match="unknown format 'xml'"):
        ingest(wh, DIRTY, "xml")


def test_dimension_tables_and_row_rules(wh, tmp_path):
    f = tmp_path / "ads.csv"
    f.write_text(
        "day,brand_id,channel,campaign_id,impressions,clicks,cost\n"
        "2026-10-01,B1,search,c1,1000,30,120.5\n"
        "2026-10-01,B1,search,c1,900,20,100\n"
        "2026-10-02,B1,search,c1,10,30,1\n"
        "2026-10-03,B1,display,c1,-1,0,1\n"
    )
    r = ingest(wh, f, "ad_delivery")
    assert (r.read, r.accepted, r.rejected) == (4, 1, 3)
    assert {k: v[0] for k, v in quarantined(wh).items()} == {3: "(key)", 4: "clicks", 5: "impressions"}
    c = tmp_path / "cal.csv"
    c.write_text(
        "campaign_id,name,brand_id,phase,start_date,end_date\n"
        "2026_d11,双11,,presale,2026-10-20,2026-10-31\n"
        "2026_d11,双11,,burst,2026-11-11,2026-11-01\n"
        "2026_d11,双11,,sale,2026-11-01,2026-11-11\n"
    )
    r = ingest(wh, c, "campaigns")
    assert (r.accepted, r.rejected) == (1, 2)
    got = {k: v[0] for k, v in quarantined(wh).items() if k in (3, 4)}
    assert got == {3: "end_date", 4: "phase"}


def test_an_error_mid_load_leaves_the_warehouse_as_it_was(wh, monkeypatch):
    before = counts(wh)
    real = wh.con.insert
    calls = []

    def failing(name, obj, **kw):
        calls.append(name)
        real(name, obj, **kw)
        if name == "quarantine":  # after events were written, inside the transaction
            raise KeyboardInterrupt

    monkeypatch.setattr(wh.con, "insert", failing)
    with pytest.raises(KeyboardInterrupt):
        ingest(wh, DIRTY, "events")
    assert calls == ["events", "quarantine"]
    monkeypatch.setattr(wh.con, "insert", real)
    assert counts(wh) == before
    # and it loads cleanly afterwards
    assert ingest(wh, DIRTY, "events").accepted == 3


def test_two_loads_of_one_ingest_into_one_table_see_each_other(wh, tmp_path):
    """A format whose file feeds the same table twice: the second load's repeats of the first are duplicates,
    although neither is written until both have been checked."""
    from aipl import schema
    from aipl.ingest import FORMATS, Target, register
    from aipl.ingest.formats import stage

    def plan(w, path):
        def cols(t):
            return {c: t[c] for c in ("consumer_id", "brand_id", "event_type", "ts")}

        return [(stage(w, path, stream=False), [Target(schema.EVENTS, cols, label="events:a"),
                                                Target(schema.EVENTS, cols, label="events:b")])]

    register("twice", "test only: the same events twice")(plan)
    try:
        f = tmp_path / "twice.csv"
        f.write_text("consumer_id,brand_id,event_type,ts\n"
                     "c1,B01,pdp_view,2026-10-01T10:00:00+08:00\nc2,B01,purchase,2026-10-01T11:00:00+08:00\n")
        r = ingest(wh, f, "twice")
        assert [(x.target, x.accepted, x.rejected) for x in r.loads] == [("events:a", 2, 0), ("events:b", 0, 2)]
        assert wh.count("events") == 2
        q = wh.table("quarantine").execute()
        assert set(q.target) == {"events:b"} and all("already holds" in x for x in q.reason)
    finally:
        FORMATS.pop("twice")


def test_rows_written_must_reconcile_with_rows_read(wh, monkeypatch):
    """If fewer rows land than were counted as accepted, the load fails and the warehouse is as before."""
    before = counts(wh)
    real = wh.con.insert

    def lossy(name, obj, **kw):
        real(name, obj.limit(1) if name == "events" else obj, **kw)

    monkeypatch.setattr(wh.con, "insert", lossy)
    with pytest.raises(RuntimeError, match="do not reconcile"):
        ingest(wh, DIRTY, "events")
    monkeypatch.setattr(wh.con, "insert", real)
    assert counts(wh) == before


def test_no_session_table_outlives_the_load(wh, tmp_path):
    """Staging copies, validated rows and parser rejects are dropped after a load, and after a failed one (a
    long-lived service connection would otherwise keep a copy of every file it loaded)."""
    def temps():
        return wh.raw.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()

    ingest(wh, DIRTY, "events")
    assert temps() == []
    bad = tmp_path / "bad.csv"
    bad.write_text("consumer_id,brand_id,event_type,ts\nc1,B01,pdp_view,2026-10-01T10:00:00+08:00\n")
    real = wh.con.insert

    def failing(name, obj, **kw):
        raise RuntimeError("disk full")

    wh.con.insert = failing
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            ingest(wh, bad, "events")
    finally:
        wh.con.insert = real
    assert temps() == []
