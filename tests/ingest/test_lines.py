"""Line numbers from the parallel read: a CSV is copied in parallel and each row's line told from its place in the
copy (rejected records counted in); files whose lines are not one record each are numbered as before."""

from __future__ import annotations

import pytest

from aipl.config import init_workspace
from aipl.ingest import ingest, quarantined
from aipl.warehouse import LineEnds, TextSource, open_warehouse

HEAD = "consumer_id,brand_id,event_type,ts\n"


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = open_warehouse(init_workspace(tmp_path_factory.mktemp("lines")))
    yield w
    w.close(publish=False)


def _lines(wh, path) -> dict[int, tuple[str, str]]:
    """The quarantine of `path`'s load: line -> (field, raw)."""
    rows = quarantined(wh).rows
    rows = rows[rows.source == str(path)]
    return {int(r.line): (r.field, r.raw) for r in rows.itertuples()}


def _body(n: int, bad: dict[int, str], tag: str) -> list[str]:
    """n event records (of consumers named after `tag`); the record at index i replaced by bad[i]."""
    return [bad.get(i, f"{tag}{i},B01,ad_click,2026-01-0{1 + i % 9}") for i in range(n)]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_rejected_records_and_bad_values_keep_their_lines(wh, tmp_path, end):
    bad = {0: "c0,B01,ad_click,2026-01-01,extra", 5: "c5,B01,nope,2026-01-01", 6: "c6,B01", 7: "c7,B01,x,y,z",
           40: "c40,B01,ad_click,20x6-01-01", 99: "c99,B01,ad_click,2026-01-01,extra"}
    path = tmp_path / f"e{len(end)}.csv"
    records = _body(100, bad, path.stem)
    path.write_bytes((HEAD + "".join(r + end for r in records) + end).encode())  # a blank line at the very end
    done = ingest(wh, path, "events")
    assert (done.read, done.accepted, done.rejected) == (100, 94, 6)
    got = _lines(wh, path)
    assert sorted(got) == [2 + i for i in sorted(bad)]
    for i, record in bad.items():  # each quarantined row names the line holding its record
        field, raw = got[2 + i]
        assert raw.rstrip("\r\n") == record, (i, field)
    assert got[2 + 5][0] == "event_type" and got[2 + 40][0] == "ts" and got[2][0] == "(record)"


def test_a_blank_line_or_a_line_break_in_a_value_is_numbered_by_the_old_path(wh, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(HEAD + 'c1,B01,ad_click,2026-01-01\n"c\n2",B01,nope,2026-01-01\nc3,B01,ad_click,bad\n')
    assert ingest(wh, path, "events").rejected == 2
    assert sorted(_lines(wh, path)) == [3, 5]  # the record on lines 3-4, then line 5


def test_line_ends(tmp_path):
    p = tmp_path / "x.csv"
    for body, ends in [(b"a\n1\n2", LineEnds(3, False)), (b"a\r\n1\r\n\r\n\r\n", LineEnds(2, False)),
                       (b"a\r1\r", LineEnds(None, False)), (b"a\r\n1\n2\n", LineEnds(3, True))]:
        p.write_bytes(body)
        assert TextSource(p, "none", "utf-8", False, False).line_ends() == ends, body
