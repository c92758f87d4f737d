"""Member operations: lapsed-buyer buckets (30/60/180 天未购), member activity, and the recall and
老会员激活 (old-member reactivation) lists, saved to the warehouse for crowds and the autopilot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis
import pandas as pd

from aipl import schema
from aipl.clv.results import MemberSummary
from aipl.config import parse_day
from aipl.vocab import MEMBER_ACTIVITY, MEMBER_BUCKETS
from aipl.warehouse import Warehouse

LISTS_TABLE = schema.CONSUMER_LISTS.name
# bucket -> (min days since last purchase, max days), DOMAIN.md §2.4 / S004 复购券 targeting
BUCKETS = MEMBER_BUCKETS
LIST_KINDS = (*BUCKETS, "never_bought", "reactivation")


def member_status(wh: Warehouse, brand: str, day: str | date, reactivation_days: int = 60) -> pd.DataFrame:
    """Each buyer or member of the brand on `day`: last purchase, days since, bucket, membership, recent activity.

    `reactivation` marks active members with no purchase for `reactivation_days` and no member activity
    (加购, 收藏, 权益, 购买) in the last 30 days: the 老会员激活 list.

    >>> from aipl.simulate import sample_warehouse
    >>> st = member_status(sample_warehouse(), "B01", "2026-10-24")
    >>> list(st.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['consumer_id', 'last_purchase', 'purchase_days', 'joined', 'tier', 'active_30d', 'member',
     'days_since_purchase', 'bucket', 'reactivation']
    >>> st[["consumer_id", "days_since_purchase", "bucket", "member"]].head(2)
      consumer_id  days_since_purchase  bucket  member
    0   c00000016                   18  active    True
    1   c00000053                    2  active    True
    """
    d = parse_day(day, "date")
    ev = wh.table("events")
    ev = ev.filter((ev.brand_id == brand) & (wh.local_day(ev.ts) <= ibis.literal(d)))
    local = wh.local_day(ev.ts)
    buys = ev.filter(ev.event_type == "purchase")
    last = buys.group_by("consumer_id").aggregate(last_purchase=local.max(), purchase_days=local.nunique())
    recent = ev.filter(ev.event_type.isin(list(MEMBER_ACTIVITY)) & (local > ibis.literal(d - timedelta(days=30))))
    recent = recent.select("consumer_id").distinct().mutate(active_30d=ibis.literal(True))
    m = wh.table("members")
    m = m.filter((m.brand_id == brand) & (m.status == "active") & (wh.local_day(m.joined_at) <= ibis.literal(d)))
    mem = m.group_by("consumer_id").aggregate(joined=wh.local_day(m.joined_at).min(), tier=m.tier.max())
    people = last.select("consumer_id").union(mem.select("consumer_id"), distinct=True)
    t = people.left_join(last, "consumer_id").left_join(mem, "consumer_id").left_join(recent, "consumer_id")
    df = t.select("consumer_id", "last_purchase", "purchase_days", "joined", "tier", "active_30d").execute()
    df["member"] = df.joined.notna()
    df["active_30d"] = df.active_30d.fillna(False).astype(bool)
    df["purchase_days"] = df.purchase_days.fillna(0).astype(int)
    since = (pd.Timestamp(d) - pd.to_datetime(df.last_purchase)).dt.days
    df["days_since_purchase"] = since
    df["bucket"] = "never_bought"
    for name, (lo, hi) in BUCKETS.items():
        mask = since.ge(lo) & (since.le(hi) if hi is not None else True)
        df.loc[mask.fillna(False), "bucket"] = name
    df["reactivation"] = df.member & ~df.active_30d & (since.isna() | since.ge(reactivation_days))
    return df.sort_values("consumer_id", ignore_index=True)


def member_summary(status: pd.DataFrame) -> MemberSummary:
    """Counts per bucket and membership, and the member activity rate (FAST's T), from `member_status`.

    >>> from aipl.simulate import sample_warehouse
    >>> member_summary(member_status(sample_warehouse(), "B01", "2026-10-24"))  # doctest: +NORMALIZE_WHITESPACE
    MemberSummary(9 buyers, 4 members (75.0% active), active 7, lapsed_30 2, lapsed_60 0, lapsed_180 0,
                  never_bought 0; reactivation 0)
    """
    members = int(status.member.sum())
    active = int((status.member & status.active_30d).sum())
    return MemberSummary(
        buyers=int(status.last_purchase.notna().sum()), members=members,
        member_activity_rate=active / members if members else None,
        buckets={b: int((status.bucket == b).sum()) for b in (*BUCKETS, "never_bought")},
        reactivation=int(status.reactivation.sum()),
    )


def select_list(status: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The consumers of one list: a bucket (e.g. lapsed_60), never_bought members, or reactivation.

    >>> from aipl.simulate import sample_warehouse
    >>> st = member_status(sample_warehouse(), "B01", "2026-10-24")
    >>> select_list(st, "lapsed_30").consumer_id.tolist()
    ['c00000108', 'c00000316']
    """
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list {kind!r}; choose one of {', '.join(LIST_KINDS)}")
    rows = status[status.reactivation] if kind == "reactivation" else status[status.bucket == kind]
    return rows[["consumer_id"]]


def save_list(wh: Warehouse, name: str, brand: str, day: str | date, consumers: pd.DataFrame) -> int:
    """Replace the saved list `name` of `brand` in the warehouse (the crowds and the autopilot read it); the
    number of consumers saved.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> save_list(wh, "lapsed_30", "B01", "2026-10-24", pd.DataFrame({"consumer_id": ["c1", "c2"]}))
    2
    >>> save_list(wh, "lapsed_30", "B01", "2026-10-25", pd.DataFrame({"consumer_id": ["c3"]}))  # replaces it
    1
    >>> wh.table(LISTS_TABLE).consumer_id.execute().tolist()
    ['c3']
    >>> wh.close()
    """
    wh.ensure_table(LISTS_TABLE, {
        "list_name": "string", "brand_id": "string", "consumer_id": "string", "as_of": "date",
        "saved_at": "timestamp('UTC')"})
    rows = pd.DataFrame({
        "list_name": [name] * len(consumers), "brand_id": [brand] * len(consumers),
        "consumer_id": consumers.consumer_id.astype(str).tolist(),
        "as_of": [parse_day(day, "date")] * len(consumers),
        "saved_at": [datetime.now(UTC)] * len(consumers),
    })
    match = ibis.memtable({"list_name": [name], "brand_id": [brand]})  # an empty list still replaces the old one
    wh.replace_rows(LISTS_TABLE, rows, keys=["list_name", "brand_id"], match=match)
    return len(consumers)
