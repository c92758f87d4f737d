"""Property: random rows in random encodings, line endings and containers never crash the reader; every row is
accepted with exactly the value it states or quarantined with the field at fault, whatever the other rows hold."""

from __future__ import annotations

import bz2
import gzip
from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aipl.config import init_workspace
from aipl.ingest import SourceError, ingest
from aipl.warehouse import open_warehouse

COLUMNS = ["consumer_id", "brand_id", "event_type", "ts", "amount", "quantity", "touchpoint"]
LOCAL = timedelta(hours=8)  # the workspace zone, Asia/Shanghai (no daylight saving)
BASE = datetime(2026, 3, 1, tzinfo=UTC)


def _written(instant: datetime, form: str) -> str:
    """`instant` (UTC, whole milliseconds) written in one of the accepted forms."""
    local = (instant + LOCAL).replace(tzinfo=None)
    if form == "plain":
        return local.isoformat(sep=" ")
    if form == "T":
        return local.isoformat()
    if form == "Z":
        return instant.replace(tzinfo=None).isoformat() + "Z"
    if form == "+09:00":
        return (instant + timedelta(hours=9)).replace(tzinfo=None).isoformat(sep=" ") + "+09:00"
    if form == "-0530":
        return (instant - timedelta(hours=5, minutes=30)).replace(tzinfo=None).isoformat() + "-0530"
    if form == "epoch":
        return str(int(instant.timestamp()))
    return str(int(instant.timestamp() * 1000))  # epoch milliseconds


GOOD_FORMS = ["plain", "T", "Z", "+09:00", "-0530", "epoch", "epoch_ms"]
BAD_TS = [" Asia/Tokyo", " UTC", " Europe/Berlin", " EST", "+09:00 Asia/Tokyo", "/"]
BAD_AMOUNT = ["NaN", "inf", "-inf", "1e400", "1e300", "1_000", "+3", "1,5", "-2"]
BAD_QUANTITY = ["1.5", "2.5", "+3", "1_000", "0", "x", "1e2"]
TEXT = st.text(st.characters(codec="gbk", exclude_characters='\r\x00",', exclude_categories=["Cs"]), max_size=12)


@st.composite
def rows(draw):
    """(cells, expected): expected is ("ok", typed values) or ("bad", the field at fault)."""
    i = draw(st.integers(0, 10**6))
    instant = BASE + timedelta(seconds=draw(st.integers(0, 200 * 86400)), milliseconds=draw(st.integers(0, 999)))
    form = draw(st.sampled_from(GOOD_FORMS))
    if form in ("epoch",):
        instant = instant.replace(microsecond=0)
    if form in ("plain", "T", "Z", "+09:00", "-0530") and draw(st.booleans()):
        instant = instant.replace(microsecond=0)
    amount = draw(st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False))
    cells = {"consumer_id": f"k{i}", "brand_id": "B01", "event_type": "purchase", "ts": _written(instant, form),
             "amount": str(amount), "quantity": str(draw(st.integers(1, 9))), "touchpoint": draw(TEXT)}
    expected = ("ok", {"ts": instant, "amount": float(amount), "quantity": int(cells["quantity"]),
                       "touchpoint": cells["touchpoint"] or None})
    fault = draw(st.sampled_from([None, None, None, "ts", "amount", "quantity"]))
    if fault == "ts":
        bad = draw(st.sampled_from(BAD_TS))
        cells["ts"] = cells["ts"].replace("-", "/") if bad == "/" else _written(instant, "plain") + bad
    elif fault:
        cells[fault] = draw(st.sampled_from(BAD_AMOUNT if fault == "amount" else BAD_QUANTITY))
    if fault:
        expected = ("bad", fault)
    return cells, expected


def _cell(v: str) -> str:
    return f'"{v}"' if any(c in v for c in ',"\n') or v != v.strip() else v


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    data=st.lists(rows(), min_size=1, max_size=25, unique_by=lambda r: r[0]["consumer_id"]),
    encoding=st.sampled_from(["utf-8", "gbk", "utf-16"]),
    ends=st.sampled_from(["\n", "\r\n", "mixed"]),
    container=st.sampled_from(["none", "gzip", "bzip2"]),
)
def test_random_files_are_read_row_by_row(tmp_path_factory, data, encoding, ends, container):
    root = tmp_path_factory.mktemp("prop")
    lines = [",".join(COLUMNS)] + [",".join(_cell(cells[c]) for c in COLUMNS) for cells, _ in data]
    sep = [("\r\n" if ends == "\r\n" or (ends == "mixed" and k % 2) else "\n") for k in range(len(lines))]
    raw = "".join(line + end for line, end in zip(lines, sep, strict=True)).encode(encoding)
    raw = {"none": lambda b: b, "gzip": gzip.compress, "bzip2": bz2.compress}[container](raw)
    path = root / "rows.csv"
    path.write_bytes(raw)
    wh = open_warehouse(init_workspace(root / "ws"))
    try:
        r = ingest(wh, path, "events", encoding=encoding)
    except SourceError as exc:  # a clean refusal is allowed; these files are all readable, so it must not happen
        raise AssertionError(f"a readable file was refused: {exc}") from exc
    assert r.read == len(data) == r.accepted + r.rejected
    ev = wh.table("events").execute().set_index("consumer_id")
    q = wh.table("quarantine").execute()
    faults = dict(zip(q.line, q.field, strict=True))
    line = 2  # the header is line 1; a quoted line break moves the later records down
    for cells, (verdict, want) in data:
        line, at = line + 1 + cells["touchpoint"].count("\n"), line
        if verdict == "bad":
            assert faults.get(at) == want, (cells, faults)
            assert cells["consumer_id"] not in ev.index
            continue
        assert at not in faults, (cells, faults[at])
        got = ev.loc[cells["consumer_id"]]
        assert got.ts.to_pydatetime().astimezone(UTC) == want["ts"], cells
        assert got.amount == want["amount"] and got.quantity == want["quantity"], cells
        assert (None if pd.isna(got.touchpoint) else got.touchpoint) == want["touchpoint"], cells
    wh.close()
