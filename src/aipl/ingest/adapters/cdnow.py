"""CDNOW transaction logs: the master file (`customer_id date number_of_cds dollar_value`, whitespace-separated,
with a header) or the 1/10 sample (`master_id sample_id yyyymmdd number_of_cds dollar_value`, no header)."""

from __future__ import annotations

from pathlib import Path

import ibis

from aipl import schema
from aipl.ingest.adapters.common import local_window
from aipl.ingest.core import Target
from aipl.ingest.formats import register, stage
from aipl.warehouse import SourceError, Warehouse

BRAND = "cdnow"
WINDOW = local_window("1997-01-01", "1998-07-01")


@register(
    "cdnow",
    "CDNOW transaction log (master: customer_id date number_of_cds dollar_value, whitespace-separated; or the "
    "1/10 sample without header); each row is a purchase of brand 'cdnow'.",
)
def plan(wh: Warehouse, path: Path):
    """The `cdnow` format: each line of a CDNOW log (master or 1/10 sample) as a purchase event.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> wh = open_warehouse(init_workspace(root))
    >>> _ = (root / "cdnow.txt").write_text("00001 19970101 1 11.77\\n00002 19970112 2 20.00\\n")
    >>> ingest(wh, root / "cdnow.txt", "cdnow").accepted
    2
    >>> e = wh.table("events")
    >>> e.order_by("consumer_id").select("consumer_id", "event_type", "amount").execute().to_dict("list")
    {'consumer_id': ['00001', '00002'], 'event_type': ['purchase', 'purchase'], 'amount': [11.77, 20.0]}
    >>> wh.close()
    """
    staged = stage(wh, path, ["line"], delim="\x1f", stream=False)
    head = staged.rel.filter(staged.rel._line <= 2).order_by("_line").line.execute().tolist()
    if not head:
        raise SourceError(f"{path}: the file is empty")
    header = any(ch.isalpha() for ch in str(head[0]))
    if header:
        staged.rel = staged.rel.filter(staged.rel._line > 1)
    sample = str(head[1] if header and len(head) > 1 else head[0])
    fields = len(sample.split())
    if fields not in (4, 5):
        raise SourceError(f"{path}: the first record has {fields} fields; CDNOW files have 4 (master) or 5 (sample)")
    offset = fields - 4  # the sample has an extra sample_id column

    def prepare(t):
        parts = t.line.re_replace(r"^\s+|\s+$", "").re_split(r"\s+")
        t = t.select(
            "_line", _raw=t.line, n=parts.length(), cust=parts[0], day=parts[1 + offset],
            cds=parts[2 + offset], dollars=parts[3 + offset],
        )
        # identical rows on one day are separate purchases: number them so each keeps its own order id
        same = ibis.window(group_by=[t.cust, t.day, t.cds, t.dollars], order_by=t._line)
        return t.mutate(seq=ibis.row_number().over(same) + 1)

    def columns(t):
        day = t.day
        iso = day.substr(0, 4) + "-" + day.substr(4, 2) + "-" + day.substr(6, 2)
        return {
            "consumer_id": t.cust, "brand_id": ibis.literal(BRAND), "event_type": ibis.literal("purchase"),
            "ts": ibis.cases((day.re_search(r"^[0-9]{8}$"), iso), else_=day), "quantity": t.cds,
            "amount": t.dollars, "order_id": t.cust + "-" + day + "-" + t.seq.cast("string"),
        }

    def checks(t, typed):
        return [(t.n != fields, "(record)", ibis.literal(f"expected {fields} whitespace-separated fields, found ")
                 + t.n.cast("string"))]

    return [(staged, [Target(schema.EVENTS, columns, checks=checks, ts_window=WINDOW, prepare=prepare)])]
