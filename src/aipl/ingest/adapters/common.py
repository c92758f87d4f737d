"""Helpers shared by the adapters."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from aipl.ingest.core import Check, clean


def local_window(start: str, end: str, tz: str = "Asia/Shanghai") -> tuple[datetime, datetime]:
    """[start 00:00, end 00:00) in time zone `tz`, for a dataset's documented time window.

    >>> lo, hi = local_window("2017-11-25", "2017-12-04")
    >>> lo.isoformat(), hi.isoformat()
    ('2017-11-25T00:00:00+08:00', '2017-12-04T00:00:00+08:00')
    """
    z = ZoneInfo(tz)
    return datetime.fromisoformat(start).replace(tzinfo=z), datetime.fromisoformat(end).replace(tzinfo=z)


def recode(raw: ir.StringValue, mapping: dict[str, str]) -> ir.StringValue:
    """Map source codes to canonical values; unknown codes become null (pair with `enum_check`).

    >>> t = ibis.memtable({"code": ["pv", "buy", "like"]})
    >>> t.select(v=recode(t.code, {"pv": "pdp_view", "buy": "purchase"})).to_pyarrow()["v"].to_pylist()
    ['pdp_view', 'purchase', None]
    """
    s = clean(raw)
    return ibis.cases(*[(s == k, ibis.literal(v)) for k, v in mapping.items()], else_=ibis.null("string"))


def enum_check(raw: ir.StringValue, name: str, allowed: dict[str, str] | list[str]) -> Check:
    """A check that rejects a source code outside `allowed`, naming the source field: (bad, field, reason).

    >>> t = ibis.memtable({"code": ["pv", "like"]})
    >>> bad, field, reason = enum_check(t.code, "behavior_type", ["pv", "buy"])
    >>> field, t.select(bad=bad).to_pyarrow()["bad"].to_pylist()
    ('behavior_type', [False, True])
    >>> t.filter(bad).select(reason=reason).to_pyarrow()["reason"].to_pylist()
    ["'like' is not one of: pv, buy"]
    """
    s = clean(raw)
    codes = list(allowed)
    return (s.notnull() & ~s.isin(codes), name, ibis.literal("'") + s + f"' is not one of: {', '.join(codes)}")


def prefixed(raw: ir.StringValue, prefix: str) -> ir.StringValue:
    """An id made opaque and source-scoped: `prefix` + the raw id (null stays null).

    >>> t = ibis.memtable({"id": ["42", ""]})
    >>> t.select(v=prefixed(t.id, "ali:")).to_pyarrow()["v"].to_pylist()
    ['ali:42', None]
    """
    s = clean(raw)
    return ibis.cases((s.isnull(), ibis.null("string")), else_=ibis.literal(prefix) + s)
