"""Build the consumer-asset intervals: for every scope key (brand or category) and consumer, the day ranges
[start, end) during which each AIPL / DEEPLINK condition holds. A state on day D is then the highest
condition whose interval covers D, so nothing is stored per consumer × day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir

from aipl.assets.rules import AssetRules
from aipl.warehouse import Warehouse

SCOPES = ("brand", "category")
INTERVALS = "asset_intervals"
# condition codes stored in asset_intervals.cond
CONDITIONS = ("A", "I", "enthuse", "perform", "P", "L", "keen")
NEVER = date(9999, 12, 31)  # the end of a condition that does not expire (membership)


def daily_facts(wh: Warehouse, rules: AssetRules, scope: str) -> ir.Table:
    """One row per (key, consumer, local day) with what the consumer did that day, by event class."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    ev = wh.table("events")
    key = ev.brand_id if scope == "brand" else ev.category_id
    ev = ev.mutate(key=key, day=wh.local_day(ev.ts)).filter(lambda t: t.key.notnull())
    if scope == "category":  # brand-attribute touchpoints never move category AIPL
        ev = ev.filter(
            ~ev.event_type.isin(list(rules.brand_only_event_types))
            & (ev.channel.isnull() | ~ev.channel.isin(list(rules.brand_only_channels)))
        )
    et = ev.event_type
    rank = ibis.cases(
        (et.isin(list(rules.purchase) + list(rules.advocacy)), 4),
        (et.isin(list(rules.active)), 3), (et.isin(list(rules.browse)), 2), (et.isin(list(rules.passive)), 1),
        else_=0,
    )
    touch = et + "|" + ev.channel.fill_null("") + "|" + ev.touchpoint.fill_null("")
    return ev.group_by(["key", "consumer_id", "day"]).aggregate(
        passive=et.isin(list(rules.passive)).any(),
        browse=et.isin(list(rules.browse)).any(),
        active=et.isin(list(rules.active)).any(),
        intent=et.isin(list(rules.intent)).any(),
        deep=et.isin(list(rules.deep)).any(),
        interactions=(et == "interaction").cast("int64").sum(),
        purchase=et.isin(list(rules.purchase)).any(),
        advocacy=et.isin(list(rules.advocacy)).any(),
        member=(et == "member_join").any(),
        touch=touch.argmax(rank * 100_000 + ev.ts.epoch_seconds() % 100_000),
    )


def _span(t: ir.Table, cond: str, start: ir.DateValue, end: ir.DateValue) -> ir.Table:
    return t.select("key", "consumer_id", cond=ibis.literal(cond), start=start, end=end, touch=t.touch)


def _plus(day: ir.DateValue, days: int) -> ir.DateValue:
    return day + ibis.interval(days=days)


def _kth_day_rule(days: ir.Table, k: int, window: int, cond: str) -> ir.Table:
    """Holds on D when D's window (D-window+1 .. D) holds k distinct qualifying days.

    Each qualifying day opens [day, (k-1)th previous qualifying day + window).
    """
    if k <= 1:
        return _span(days, cond, days.day, _plus(days.day, window))
    w = ibis.window(group_by=["key", "consumer_id"], order_by="day")
    t = days.mutate(prev=days.day.lag(k - 1).over(w))
    t = t.filter(t.prev.notnull() & (t.prev > _plus(t.day, -window)))
    return _span(t, cond, t.day, _plus(t.prev, window))


def _together(f: ir.Table, window: int, cond: str) -> ir.Table:
    """L by advocacy: a purchase and a review/share both inside the window ending on D."""
    both = f.filter(f.purchase | f.advocacy)
    w = ibis.window(group_by=["key", "consumer_id"], order_by="day", preceding=None, following=0)
    t = both.mutate(
        last_buy=ibis.cases((both.purchase, both.day), else_=ibis.null("date")).max().over(w),
        last_adv=ibis.cases((both.advocacy, both.day), else_=ibis.null("date")).max().over(w),
    )
    # on a day with advocacy, pair with the latest purchase so far, and vice versa
    partner = ibis.cases(
        (t.advocacy & t.purchase, t.day),
        (t.advocacy, t.last_buy),
        else_=t.last_adv,
    )
    t = t.mutate(partner=partner).filter(lambda x: x.partner.notnull() & (x.partner > _plus(x.day, -window)))
    return _span(t, cond, t.day, _plus(t.partner, window))


def conditions(f: ir.Table, rules: AssetRules, members: ir.Table | None = None) -> ir.Table:
    """Every condition interval (not yet merged) from the daily facts."""
    r = rules
    parts = [
        _span(f.filter(f.passive | f.browse), "A", f.day, _plus(f.day, r.awareness_days)),
        _span(f.filter(f.active), "I", f.day, _plus(f.day, r.interest_days)),
        _kth_day_rule(f.filter(f.browse), r.browse_min_days, r.interest_days, "I"),
        _span(f.filter(f.intent), "perform", f.day, _plus(f.day, r.interest_days)),
        _span(f.filter(f.deep | (f.interactions >= r.enthuse_min_interactions)), "enthuse", f.day,
              _plus(f.day, r.interest_days)),
        _kth_day_rule(f.filter(f.active), r.enthuse_min_active_days, r.interest_days, "enthuse"),
        _span(f.filter(f.purchase), "P", f.day, _plus(f.day, r.purchase_days)),
        _kth_day_rule(f.filter(f.purchase), r.loyal_min_purchase_days, r.loyal_days, "L"),
        _together(f, r.loyal_days, "L"),
        _span(f.filter(f.advocacy), "keen", f.day, _plus(f.day, r.loyal_days)),
        _kth_day_rule(f.filter(f.purchase), r.keen_min_purchase_days, r.loyal_days, "keen"),
        _span(f.filter(f.member), "keen", f.day, ibis.literal(NEVER)),
    ]
    if members is not None:
        parts.append(members)
    return ibis.union(*parts, distinct=False)


def merged(iv: ir.Table) -> ir.Table:
    """Overlapping or touching intervals of one (key, consumer, condition) merged into one (gaps and islands)."""
    g = ["key", "consumer_id", "cond"]
    upto = ibis.window(group_by=g, order_by=["start", "end"], preceding=None, following=0)
    ordered = ibis.window(group_by=g, order_by=["start", "end"])
    t = iv.mutate(cum_end=iv.end.max().over(upto))
    t = t.mutate(reach=t.cum_end.lag(1).over(ordered))  # the furthest end among earlier intervals
    t = t.mutate(new=ibis.cases((t.reach.isnull() | (t.start > t.reach), 1), else_=0))
    t = t.mutate(island=t.new.sum().over(upto))
    return t.group_by([*g, "island"]).aggregate(
        start=t.start.min(), end=t.end.max(), touch=t.touch.argmin(t.start)
    ).drop("island")


META = "asset_meta"


def ensure_built(wh: Warehouse, report: Callable[[str], None] | None = None) -> bool:
    """Build the intervals if they are missing or older than the last loaded batch; True when it built."""
    batches = wh.count("batches")
    tables = set(wh.con.list_tables())
    if INTERVALS in tables and META in tables:
        meta = wh.table(META).execute()
        if len(meta) and int(meta.batches.iloc[0]) == batches:
            return False
    build(wh, wh.config.assets, report)
    return True


def build(wh: Warehouse, rules: AssetRules, report: Callable[[str], None] | None = None) -> dict[str, int]:
    """(Re)build `asset_intervals` for both scopes from the events (and members); returns rows per scope."""
    parts = []
    for scope in SCOPES:
        if report:
            report(f"{scope} scope: daily facts and condition intervals")
        f = wh.materialize(f"_asset_days_{scope}", daily_facts(wh, rules, scope))
        members = None
        if scope == "brand":
            m = wh.table("members")
            m = m.filter(m.status == "active")
            members = m.select(key=m.brand_id, consumer_id=m.consumer_id, cond=ibis.literal("keen"),
                               start=wh.local_day(m.joined_at), end=ibis.literal(NEVER), touch=ibis.literal("member||"))
        parts.append(merged(conditions(f, rules, members)).mutate(scope=ibis.literal(scope)))
    result = ibis.union(*parts, distinct=False).select("scope", "key", "consumer_id", "cond", "start", "end", "touch")
    meta = ibis.memtable({"batches": [wh.count("batches")]})
    with wh.transaction():
        wh.con.create_table(INTERVALS, result, overwrite=True)
        wh.con.create_table(META, meta, overwrite=True)
    counts = wh.table(INTERVALS).group_by("scope").aggregate(n=lambda t: t.count()).execute()
    return {str(r.scope): int(r.n) for r in counts.itertuples()}
