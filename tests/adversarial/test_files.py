"""Adversarial files (issue 19, classes 5–8): whatever a careless export holds, a file is either refused whole (one
line, exit 2, nothing written) or read row by row, each bad value quarantined with its reason, and no row's stored
value depends on another row. Every numeric and date column of every canonical table is attacked."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aipl import schema
from aipl.cli import app
from aipl.config import init_workspace
from aipl.ingest import SourceError, ingest
from aipl.warehouse import open_warehouse
from tests.conftest import counts

runner = CliRunner()
HEADER = "consumer_id,brand_id,event_type,ts,amount,quantity\n"


def events(n: int, start: int = 0, ts: str = "2026-10-01 10:00:00") -> str:
    """`n` valid purchase rows, each with its own consumer (and so its own key)."""
    return "".join(f"c{i:06d}{'x' * (i % 7)},B01,purchase,{ts},{i % 500}.25,{1 + i % 3}\n"
                   for i in range(start, start + n))


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """One workspace for the module; each test loads files with their own consumers."""
    root = init_workspace(tmp_path_factory.mktemp("adv") / "ws")
    w = open_warehouse(root)
    yield w
    w.close()


def refused(wh, path, fmt="events", encoding="utf-8") -> str:
    """Load `path`, require a refusal that wrote nothing, and return its one-line message."""
    before = counts(wh)
    with pytest.raises(SourceError) as err:
        ingest(wh, path, fmt, **({"encoding": encoding} if encoding != "utf-8" else {}))
    assert counts(wh) == before, "a refused file wrote something"
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


def quarantine_of(wh, path) -> dict[int, tuple[str, str]]:
    q = wh.table("quarantine")
    rows = q.filter(q.source == str(path)).execute()
    return {int(r.line): (r.field, r.reason) for r in rows.itertuples()}


# ------------------------------------------------------------------------ class 5: compressed files

BODY = HEADER + events(1500)  # ~60 kB, varied enough that every cut lands inside compressed data


def _zip(data: bytes, members: int = 1) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members):
            z.writestr(f"part{i}.csv", data)
    return buf.getvalue()


def _flip(data: bytes, at: float) -> bytes:
    b = bytearray(data)
    i = int(len(b) * at)
    b[i:i + 16] = bytes(x ^ 0x5A for x in b[i:i + 16])
    return bytes(b)


GZ, BZ, XZ, ZP = gzip.compress(BODY.encode()), bz2.compress(BODY.encode()), lzma.compress(BODY.encode()), \
    _zip(BODY.encode())
BROKEN = {
    **{f"gzip cut at {f:.0%}": (GZ[: int(len(GZ) * f)], ".csv.gz") for f in (0.1, 0.38, 0.5, 0.9)},
    "gzip without its last byte": (GZ[:-1], ".csv.gz"),
    "gzip without its trailer": (GZ[:-8], ".csv.gz"),
    "gzip with a wrong CRC": (GZ[:-8] + b"\0" * 8, ".csv.gz"),
    "gzip with flipped bytes": (_flip(GZ, 0.5), ".csv.gz"),
    "gzip with a second, cut member": (GZ + GZ[: len(GZ) // 2], ".csv.gz"),
    "gzip named .csv": (GZ[: len(GZ) // 2], ".csv"),
    "bzip2 cut": (BZ[: len(BZ) // 2], ".csv.bz2"),
    "bzip2 with flipped bytes": (_flip(BZ, 0.5), ".csv.bz2"),
    "xz cut": (XZ[: len(XZ) // 2], ".csv.xz"),
    "xz with flipped bytes": (_flip(XZ, 0.5), ".csv.xz"),
    "zip cut": (ZP[: len(ZP) // 2], ".zip"),
    "zip with flipped bytes": (_flip(ZP, 0.3), ".zip"),
    "zip of two files": (_zip(BODY.encode(), 2), ".zip"),
    "zstd (cannot be checked)": (b"\x28\xb5\x2f\xfd" + b"\0" * 64, ".csv.zst"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_compressed_file_is_refused_whole(ws, tmp_path, case):
    data, suffix = BROKEN[case]
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(data)
    msg = refused(ws, path)
    assert str(path) in msg


def _parquet(tmp_path, n: int = 60_000) -> bytes:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"consumer_id": [f"pq{i}" for i in range(n)], "gender": ["F"] * n}), path,
                   compression="snappy", row_group_size=10_000)
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["cut", "no footer", "flipped page"])
def test_a_broken_parquet_file_is_refused_whole(ws, tmp_path, damage):
    data = _parquet(tmp_path)
    data = {"cut": data[: len(data) // 2], "no footer": data[:-12], "flipped page": _flip(data, 0.3)}[damage]
    path = tmp_path / "broken.parquet"
    path.write_bytes(data)
    refused(ws, path, "consumers")


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "zip"])
def test_a_sound_compressed_file_loads_every_row(tmp_path, kind):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    data = {"gzip": GZ, "bzip2": BZ, "xz": XZ, "zip": ZP}[kind]
    path = tmp_path / "ok.csv.bin"
    path.write_bytes(data)
    r = ingest(wh, path, "events")
    assert (r.read, r.accepted, r.rejected) == (1500, 1500, 0)
    wh.close()


def test_cli_refuses_a_cut_gzip_in_one_line(tmp_path):
    root = init_workspace(tmp_path / "ws")
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(GZ[: len(GZ) // 2])
    res = runner.invoke(app, ["ingest", str(path), "-f", "events", "-w", str(root)])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "gzip" in res.stderr
    res = runner.invoke(app, ["ingest", str(path), "-f", "events", "-w", str(root), "--json"])
    assert res.exit_code == 2 and "gzip" in json.loads(res.stdout)["error"]


# ------------------------------------------------------------------------ class 6: timestamps

SHANGHAI = timedelta(hours=8)
PLAIN = "2026-10-01 10:00:00"  # no offset: the workspace zone (Asia/Shanghai) → 02:00 UTC
PLAIN_UTC = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
UNSUPPORTED = [
    f"{PLAIN} Asia/Tokyo", f"{PLAIN} UTC", f"{PLAIN} America/New_York", f"{PLAIN} CET", f"{PLAIN} PST",
    f"{PLAIN} GMT+9", f"{PLAIN}+09:00 Asia/Tokyo", f"{PLAIN} +09:00", "2026/10/01 10:00:00", "01/10/2026 10:00",
    "2026-10-01T10:00:00+9", "2026-10-01 10:00:00+09:00:00", "1 Oct 2026 10:00", "2026-10-01 10h00", "now",
    "today", "epoch", "1791936000.5", "+1791936000", "1_791_936_000", "2026-W40-4", "2026-274", "2026-10-01+08:00",
    "2026-10-01 25:00:00", "2026-02-30 10:00:00", "2026-10-01 10:00:00.1234567",
    "99999999999999999999", "99999999999999", "9223372036854775807",
    "-9223372036854775808", "-99999999999",  # out-of-range epochs (a ConversionException refused the file)
]


@pytest.mark.parametrize("form", UNSUPPORTED)
def test_an_unsupported_timestamp_is_quarantined_and_changes_no_other_row(ws, tmp_path, form):
    n = 10_000 + 1_000 * UNSUPPORTED.index(form)  # each case its own consumers
    path = tmp_path / "tz.csv"
    path.write_text(HEADER + events(1, n, ts=form) + events(200, n + 1, ts=PLAIN) + events(1, n + 201, ts=form))
    r = ingest(ws, path, "events")
    assert (r.read, r.accepted, r.rejected) == (202, 200, 2), form
    q = quarantine_of(ws, path)
    assert set(q) == {2, 203} and {f for f, _ in q.values()} == {"ts"}
    ev = ws.table("events")
    stored = ev.filter(ev.consumer_id.isin([f"c{i:06d}{'x' * (i % 7)}" for i in range(n + 1, n + 201)])).ts.execute()
    assert len(stored) == 200
    assert {t.to_pydatetime().astimezone(UTC) for t in stored} == {PLAIN_UTC}, form


ACCEPTED = {  # written form → the instant stored
    "2026-10-01 10:00:00": PLAIN_UTC,
    "2026-10-01T10:00:00": PLAIN_UTC,
    "2026-10-01 10:00": PLAIN_UTC,
    "2026-10-01 10:00:00.250": PLAIN_UTC + timedelta(milliseconds=250),
    "2026-10-01T10:00:00Z": datetime(2026, 10, 1, 10, tzinfo=UTC),
    "2026-10-01T10:00:00+09:00": datetime(2026, 10, 1, 1, tzinfo=UTC),
    "2026-10-01 10:00:00-05:30": datetime(2026, 10, 1, 15, 30, tzinfo=UTC),
    "2026-10-01 10:00:00+0900": datetime(2026, 10, 1, 1, tzinfo=UTC),
    "2026-10-01 10:00:00+08": PLAIN_UTC,
    "2026-10-01": datetime(2026, 10, 1, tzinfo=UTC) - SHANGHAI,
    "1791936000": datetime.fromtimestamp(1791936000, UTC),
    "1791936000250": datetime.fromtimestamp(1791936000.25, UTC),
}


def test_every_accepted_timestamp_form_is_read_as_documented(ws, tmp_path):
    path = tmp_path / "forms.csv"
    forms = list(ACCEPTED) * 2  # each form twice, the second after every other form
    path.write_text(HEADER + "".join(f"f{i},B01,purchase,{f},1,1\n" for i, f in enumerate(forms)))
    r = ingest(ws, path, "events")
    assert r.rejected == 0
    ev = ws.table("events")
    got = ev.filter(ev.consumer_id.startswith("f")).execute()
    by_id = {c: t.to_pydatetime().astimezone(UTC) for c, t in zip(got.consumer_id, got.ts, strict=True)}
    for i, f in enumerate(forms):
        assert by_id[f"f{i}"] == ACCEPTED[f], f


# ------------------------------------------------------------------------ class 7: values that mean something else

BAD = {
    schema.INT: ["1.5", "2.5", "+3", "1_000", "1e3", "NaN", "inf", "0x10", "9223372036854775808", "1,000", "3 ", "½"],
    schema.FLOAT: ["NaN", "nan", "inf", "-Infinity", "1e400", "1e300", "-1e16", "1_000.5", "+3", "1,5", "0x1p3",
                   "12.5.1", "€3"],
    schema.DATE: ["1800-01-01", "1899-12-31", "9999-12-31", "2026/11/05", "20261105", "2026-11-05T00:00:00",
                  "2026-13-01", "2026-02-30", "11/05/2026", "2026-11-5"],
    schema.TIMESTAMP: ["1800-01-01 00:00:00", "9999-12-31 23:59:59", "2026/11/05 10:00", f"{PLAIN} UTC",
                       "-62135596800"],
    schema.BOOL: ["maybe", "2", "TRUE!", "oui"],
    schema.STRING: ["a\x00b", "\x00"],
}


def _valid(col: schema.Column, i: int) -> str:
    if col.enum:
        return col.enum[0]
    real = "0.5" if col.max is not None and col.max < 1.5 else "1.5"  # a share's maximum is 1
    return {schema.INT: str(int(col.min or 1)), schema.FLOAT: real, schema.DATE: "2026-10-01",
            schema.TIMESTAMP: "2026-10-01 10:00:00", schema.BOOL: "true"}.get(col.type, f"{col.name}{i}")


def _csv_cell(v: str) -> str:
    return f'"{v}"' if any(c in v for c in ',"\n') else v


@pytest.mark.parametrize("name", list(schema.TABLES))
def test_every_column_quarantines_values_that_are_not_what_it_means(tmp_path, name):
    """For each table, one file: a valid row, then one row per (column, bad value), each bad in that cell only."""
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    table = schema.TABLES[name]
    rows, expect = [], {}
    for col in table.columns:
        for bad in BAD[col.type]:
            if col.enum and col.type == schema.STRING and "\x00" not in bad:
                continue
            i = len(rows) + 1
            rows.append([bad if c is col else _valid(c, i) for c in table.columns])
            expect[i + 2] = col.name  # header line 1, the valid row line 2
    valid = [_valid(c, 0) for c in table.columns]
    path = tmp_path / f"{name}.csv"
    path.write_text(",".join(table.names) + "\n" + "\n".join(",".join(map(_csv_cell, r)) for r in [valid, *rows])
                    + "\n")
    r = ingest(wh, path, name)
    got = quarantine_of(wh, path)
    assert (r.accepted, r.rejected) == (1, len(rows)), got
    assert {line: f for line, (f, _) in got.items()} == expect
    assert counts(wh)[name] == 1
    wh.close()


def test_json_outputs_stay_valid_json_after_hostile_values(tmp_path):
    root = init_workspace(tmp_path / "ws")
    path = tmp_path / "nan.csv"
    path.write_text(HEADER + "n1,B01,purchase,2026-10-01 10:00:00,NaN,1\nn2,B01,purchase,2026-10-01 10:00:00,inf,1\n"
                    "n3,B01,purchase,2026-10-01 10:00:00,-Infinity,1\nn4,B01,purchase,2026-10-01 10:00:00,1e400,1\n"
                    "n5,B01,purchase,2026-10-01 10:00:00,3.5,1\n")

    def strict(text: str):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON output"))

    for args in (["ingest", str(path), "-f", "events"], ["status"], ["quarantine"]):
        res = runner.invoke(app, [*args, "-w", str(root), "--json"])
        assert res.exit_code == 0, res.output
        strict(res.stdout)
    wh = open_warehouse(root)
    assert wh.table("events").amount.execute().tolist() == [3.5]
    wh.close()


def test_a_parquet_list_column_is_refused_and_parquet_nan_is_quarantined(ws, tmp_path):
    lists = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"consumer_id": [["a", "b"]], "gender": ["F"]}), lists)
    assert "consumer_id" in refused(ws, lists, "consumers")
    nums = tmp_path / "nums.parquet"
    pq.write_table(pa.table({"consumer_id": ["pn1", "pn2", "pn3", "pn4"], "city_tier": [2.0, float("nan"), 2.5, 3.0],
                             "birth_year": [1990, 1991, 1992, None]}), nums)
    r = ingest(ws, nums, "consumers")
    assert (r.accepted, r.rejected) == (2, 2)
    assert {f for f, _ in quarantine_of(ws, nums).values()} == {"city_tier"}


# ------------------------------------------------------------------------ class 8: line endings and encodings

@pytest.mark.parametrize("mix", ["crlf then lf", "lf then crlf", "alternating", "crlf header only"])
def test_mixed_line_endings_load_every_row_without_a_stray_cr(tmp_path, mix):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    lines = [HEADER.strip(), *events(40).splitlines()]
    ends = {"crlf then lf": ["\r\n"] * 20 + ["\n"] * 21, "lf then crlf": ["\n"] * 20 + ["\r\n"] * 21,
            "alternating": ["\r\n", "\n"] * 20 + ["\n"], "crlf header only": ["\r\n"] + ["\n"] * 40}[mix]
    path = tmp_path / "mixed.csv"
    path.write_bytes("".join(a + b for a, b in zip(lines, ends, strict=True)).encode())
    r = ingest(wh, path, "events")
    assert (r.read, r.accepted, r.rejected) == (40, 40, 0)
    ev = wh.table("events").execute()
    assert not any("\r" in str(v) for col in ev.columns for v in ev[col])
    assert sorted(ev.quantity.tolist()) == sorted(1 + i % 3 for i in range(40))
    wh.close()


CHINESE = "consumer_id,occupation,life_stage\nz1,白领,已婚\nz2,学生,单身\nz3,公务员,退休\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "big5"])
def test_a_file_in_another_encoding_is_refused_in_one_line_or_read_with_its_encoding(tmp_path, encoding):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    text = CHINESE if encoding != "big5" else "consumer_id,occupation,life_stage\nz1,白領,已婚\nz2,學生,單身\n" \
        "z3,公務員,退休\n"
    path = tmp_path / "zh.csv"
    path.write_bytes(text.encode(encoding))
    msg = refused(wh, path, "consumers")
    assert "utf-8" in msg and "--encoding" in msg
    r = ingest(wh, path, "consumers", encoding=encoding)
    assert (r.accepted, r.rejected) == (3, 0)
    assert ingest(wh, path, "consumers", encoding=encoding).skipped
    got = wh.table("consumers").order_by("consumer_id").execute()
    assert got.occupation.tolist() == [line.split(",")[1] for line in text.splitlines()[1:]]
    wh.close()


def test_invalid_text_deep_in_a_file_refuses_it_naming_the_line(ws, tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes((HEADER + events(30_000, 500_000)).encode() + "白,B01,purchase,2026-10-01 10:00:00,1,1\n"
                     .encode("gbk") + events(5, 600_000).encode())
    msg = refused(ws, path)
    assert "line 30002" in msg and "utf-8" in msg


def test_cli_names_the_encoding_and_takes_encoding(tmp_path):
    root = init_workspace(tmp_path / "ws")
    path = tmp_path / "zh.csv"
    path.write_bytes(CHINESE.encode("gbk"))
    res = runner.invoke(app, ["ingest", str(path), "-f", "consumers", "-w", str(root)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and "--encoding" in res.stderr
    res = runner.invoke(app, ["ingest", str(path), "-f", "consumers", "-w", str(root), "--encoding", "klingon"])
    assert res.exit_code == 2 and "klingon" in res.stderr
    res = runner.invoke(app, ["ingest", str(path), "-f", "consumers", "-w", str(root), "--encoding", "gbk", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["accepted"] == 3


@pytest.mark.parametrize("at", [2, 5_000, 20_480, 30_002])
def test_an_oversized_field_is_quarantined_wherever_it_falls(tmp_path, at):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write(HEADER.strip() + ",touchpoint\n")
        f.write("".join(r + ",t\n" for r in events(at - 2, 700_000).splitlines()))
        f.write("big,B01,purchase,2026-10-01 10:00:00,1,1," + "x" * 3_000_000 + "\n")
        f.write("".join(r + ",t\n" for r in events(10, 800_000).splitlines()))
    r = ingest(wh, path, "events")
    assert (r.read, r.accepted, r.rejected) == (at - 2 + 11, at - 2 + 10, 1)
    q = quarantine_of(wh, path)
    assert list(q) == [at] and q[at][0] == "(record)"
    wh.close()


def test_quarantine_lines_are_physical_lines_after_quoted_line_breaks(ws, tmp_path):
    text = ('consumer_id,occupation,city_tier\n'
            'e1,"two\nlines",1\n'         # lines 2-3
            'e2,ok,9\n'                   # line 4: city_tier above 6
            'e3,"three\r\nline\nvalue",2\n'  # lines 5-7
            'e4,broken,1,extra\n'         # line 8: too many fields
            'e5,"a\n\nb",x\n'             # lines 9-11: not an int
            'e6,ok,2\n'                   # line 12
            'e7,"",7\n')                  # line 13: above 6
    path = tmp_path / "multi.csv"
    path.write_bytes(text.encode())
    r = ingest(ws, path, "consumers")
    assert (r.read, r.accepted, r.rejected) == (7, 3, 4)
    q = quarantine_of(ws, path)
    assert {line: f for line, (f, _) in q.items()} == {4: "city_tier", 8: "(record)", 9: "city_tier",
                                                        13: "city_tier"}
    lines = text.replace("\r\n", "\n").split("\n")
    assert lines[3].startswith("e2") and lines[7].startswith("e4") and lines[8].startswith("e5") \
        and lines[12].startswith("e7")
