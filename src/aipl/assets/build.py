"""Build the consumer-asset intervals: for every scope key (brand or category) and consumer, the day ranges
[start, end) during which each AIPL / DEEPLINK condition holds. A state on day D is then the highest
condition whose interval covers D, so nothing is stored per consumer × day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from aipl.assets.rules import AssetRules
from aipl.warehouse import Warehouse

SCOPES = ("brand", "category")
INTERVALS = "asset_intervals"
# condition codes stored in asset_intervals.cond
CONDITIONS = ("A", "I", "enthuse", "perform", "P", "L", "keen")
NEVER = date(9999, 12, 31)  # the end of a condition that does not expire (membership)


def daily_facts(wh: Warehouse, rules: AssetRules, scope: str, events: ir.Table | None = None) -> ir.Table:
    """One row per (key, consumer, local day) with what the consumer did that day, by event class."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    ev = wh.table("events") if events is None else events
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
        interactions=et.count(where=et == "interaction"),
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


def conditions(f: ir.Table, rules: AssetRules, members: ir.Table | None = None, since: date | None = None
               ) -> ir.Table:
    """Every condition interval (not yet merged) from the daily facts; with `since`, only those opening on or
    after that day (the facts before it serve as the k-th-day rules' look-back)."""
    r = rules
    d = f if since is None else f.filter(f.day >= ibis.literal(since))  # days whose own spans are wanted
    parts = [
        _span(d.filter(d.passive | d.browse), "A", d.day, _plus(d.day, r.awareness_days)),
        _span(d.filter(d.active), "I", d.day, _plus(d.day, r.interest_days)),
        _kth_day_rule(f.filter(f.browse), r.browse_min_days, r.interest_days, "I"),
        _span(d.filter(d.intent), "perform", d.day, _plus(d.day, r.interest_days)),
        _span(d.filter(d.deep | (d.interactions >= r.enthuse_min_interactions)), "enthuse", d.day,
              _plus(d.day, r.interest_days)),
        _kth_day_rule(f.filter(f.active), r.enthuse_min_active_days, r.interest_days, "enthuse"),
        _span(d.filter(d.purchase), "P", d.day, _plus(d.day, r.purchase_days)),
        _kth_day_rule(f.filter(f.purchase), r.loyal_min_purchase_days, r.loyal_days, "L"),
        _together(f, r.loyal_days, "L"),
        _span(d.filter(d.advocacy), "keen", d.day, _plus(d.day, r.loyal_days)),
        _kth_day_rule(f.filter(f.purchase), r.keen_min_purchase_days, r.loyal_days, "keen"),
        _span(d.filter(d.member), "keen", d.day, ibis.literal(NEVER)),
    ]
    if members is not None:
        parts.append(members)
    iv = ibis.union(*parts, distinct=False)
    return iv if since is None else iv.filter(iv.start >= ibis.literal(since))


def merged(iv: ir.Table, one_island: bool = False) -> ir.Table:
    """Overlapping or touching intervals of one ([scope,] key, consumer, condition) merged into one (gaps and
    islands). `one_island`: the caller knows that each group's intervals all overlap or touch."""
    g = [c for c in ("scope",) if c in iv.columns] + ["key", "consumer_id", "cond"]
    if one_island:
        return iv.group_by(g).aggregate(start=iv.start.min(), end=iv.end.max(), touch=iv.touch.argmin(iv.start))
    upto = ibis.window(group_by=g, order_by=["start", "end"], preceding=None, following=0)
    earlier = ibis.window(group_by=g, order_by=["start", "end"], rows=(None, -1))
    t = iv.mutate(reach=iv.end.max().over(earlier))  # the furthest end among earlier intervals
    t = t.mutate(new=ibis.cases((t.reach.isnull() | (t.start > t.reach), 1), else_=0))
    t = t.mutate(island=t.new.sum().over(upto))
    return t.group_by([*g, "island"]).aggregate(
        start=t.start.min(), end=t.end.max(), touch=t.touch.argmin(t.start)
    ).drop("island")


DAYS = "asset_days"
META = "asset_meta"
# How many consumers enter (+) or leave (−) each (scope, key, AIPL, DEEPLINK) state on each day: the count on
# day D is the sum of the changes up to D, so counts and daily series never touch consumers.
CHANGES = "asset_count_changes"
PAIR = ["scope", "key", "consumer_id"]


def held(has: dict[str, ir.BooleanValue]) -> tuple[ir.StringValue, ir.StringValue]:
    """The AIPL and DEEPLINK state from which conditions hold (highest first; null when none does)."""
    aipl = ibis.cases((has["L"], "L"), (has["P"], "P"), (has["I"], "I"), (has["A"], "A"), else_=ibis.null("string"))
    deeplink = ibis.cases(
        (has["L"] & has["keen"], "keen"), (has["L"], "numerous"), (has["P"], "initial"),
        (has["I"] & has["perform"], "perform"), (has["I"] & has["enthuse"], "enthuse"), (has["I"], "engage"),
        (has["A"], "discover"), else_=ibis.null("string"),
    )
    return aipl, deeplink


def state_changes(iv: ir.Table, old: ir.Table | None = None) -> ir.Table:
    """scope, key, aipl, deeplink, day, change: how many consumers enter (+) or leave (−) each state on each day,
    for the states the condition intervals `iv` give; with `old`, the changes that turn the states `old` gives
    into those of `iv` (the consumers of both, on the days of both).

    One sweep per consumer over merged intervals (those of one condition never overlap): each condition is a
    bit (of `iv`, and shifted past them of `old`), +bit on the day its interval starts and −bit on the day it
    ends; the running sum over the cut days is the set of conditions that hold until the next cut. A piece of
    the timeline counts +1 for its state on its first day and −1 after it, and the reverse for its old state.
    """
    bit = {c: 1 << i for i, c in enumerate(CONDITIONS)}
    shift = len(CONDITIONS)

    def bounds(t: ir.Table, by: int) -> list[ir.Table]:
        flag = ibis.cases(*[(t.cond == c, b << by) for c, b in bit.items()], else_=0).cast("int64")
        return [t.select(*PAIR, day=t.start.cast("date"), d=flag), t.select(*PAIR, day=t.end.cast("date"), d=-flag)]

    b = ibis.union(*bounds(iv, 0), *(bounds(old, shift) if old is not None else []), distinct=False)
    cuts = b.group_by([*PAIR, "day"]).aggregate(d=b.d.sum())
    pieces = cuts.mutate(
        until=cuts.day.lead().over(ibis.window(group_by=PAIR, order_by="day")),
        held=cuts.d.sum().over(ibis.window(group_by=PAIR, order_by="day", preceding=None, following=0)),
    )
    aipl, deeplink = held({c: (pieces.held & b) != 0 for c, b in bit.items()})
    states = {"aipl": aipl, "deeplink": deeplink}
    if old is not None:
        was = held({c: (pieces.held & (b << shift)) != 0 for c, b in bit.items()})
        states.update(old_aipl=was[0], old_deeplink=was[1])
    pieces = pieces.select("scope", "key", "day", "until", **states)
    changed = pieces.deeplink.notnull() if old is None else ~pieces.deeplink.identical_to(pieces.old_deeplink)
    pieces = pieces.filter(pieces.until.notnull() & changed)
    parts = []
    for state, sign in (("", 1), ("old_", -1)) if old is not None else (("", 1),):
        p = pieces.filter(pieces[f"{state}aipl"].notnull())
        p = p.select("scope", "key", "day", "until", aipl=p[f"{state}aipl"], deeplink=p[f"{state}deeplink"])
        parts += [p.select("scope", "key", "aipl", "deeplink", "day", change=ibis.literal(sign, "int64")),
                  p.select("scope", "key", "aipl", "deeplink", day=p.until, change=ibis.literal(-sign, "int64"))]
    moves = ibis.union(*parts, distinct=False)
    moves = moves.group_by(["scope", "key", "aipl", "deeplink", "day"]).aggregate(change=moves.change.sum())
    return moves.filter(moves.change != 0)


def ensure_built(wh: Warehouse, report: Callable[[str], None] | None = None) -> bool:
    """Bring the intervals up to date with the loaded batches (incrementally when it can); True when it worked."""
    batches = wh.count("batches")
    tables = set(wh.con.list_tables())
    if {INTERVALS, META, DAYS, CHANGES} <= tables:
        meta = wh.table(META).execute()
        if len(meta) and int(meta.batches.iloc[0]) == batches:
            return False
        if len(meta):
            update(wh, wh.config.assets, report)
            return True
    build(wh, wh.config.assets, report)
    return True


def _member_conditions(wh: Warehouse) -> ir.Table:
    m = wh.table("members")
    m = m.filter(m.status == "active")
    return m.select(key=m.brand_id, consumer_id=m.consumer_id, cond=ibis.literal("keen"),
                    start=wh.local_day(m.joined_at), end=ibis.literal(NEVER), touch=ibis.literal("member||"))


def _intervals(
    wh: Warehouse, rules: AssetRules, days: ir.Table, members: ir.Table | None, since: date | None = None
) -> ir.Table:
    """Both scopes' condition intervals: merged, or with `since` only those opening on or after it, unmerged."""
    parts = []
    for scope in SCOPES:
        f = days.filter(days.scope == scope).drop("scope")
        mem = members.filter(members.scope == scope).drop("scope") if members is not None and scope == "brand" else None
        iv = conditions(f, rules, mem, since)
        parts.append((merged(iv) if since is None else iv).mutate(scope=ibis.literal(scope)))
    return ibis.union(*parts, distinct=False).select("scope", "key", "consumer_id", "cond", "start", "end", "touch")


def _meta(wh: Warehouse) -> ir.Table:
    d = wh.table(DAYS)
    through = d.aggregate(t=d.day.max()).execute().t.iloc[0]
    return ibis.memtable({
        "batches": [wh.count("batches")], "events": [wh.count("events")],
        "built_through": [None if through is None or through != through else str(through)[:10]],
    }, schema={"batches": "int64", "events": "int64", "built_through": "string"})


def build(wh: Warehouse, rules: AssetRules, report: Callable[[str], None] | None = None) -> dict[str, int]:
    """(Re)build the daily facts and `asset_intervals` for both scopes from all events and members."""
    if report:
        report("daily facts of both scopes")
    days = ibis.union(*[daily_facts(wh, rules, s).mutate(scope=ibis.literal(s)) for s in SCOPES], distinct=False)
    with wh.transaction():
        wh.con.create_table(DAYS, days, overwrite=True)
    if report:
        report("condition intervals")
    members = _member_conditions(wh).mutate(scope=ibis.literal("brand"))
    result = _intervals(wh, rules, wh.table(DAYS), members)
    with wh.transaction():
        wh.con.create_table(INTERVALS, result, overwrite=True)
    if report:
        report("daily state counts")
    with wh.transaction():
        wh.con.create_table(CHANGES, state_changes(wh.table(INTERVALS)).order_by(["scope", "day"]), overwrite=True)
        wh.con.create_table(META, _meta(wh), overwrite=True)
    counts = wh.table(INTERVALS).group_by("scope").aggregate(n=lambda t: t.count()).execute()
    return {str(r.scope): int(r.n) for r in counts.itertuples()}


def update(wh: Warehouse, rules: AssetRules, report: Callable[[str], None] | None = None) -> dict[str, int]:
    """Add the events of days after the last build, carrying each touched consumer's state forward.

    Only the touched (scope, key, consumer) pairs are read: their days inside the rules' look-back
    windows give the new condition intervals, which are merged into their intervals still open at the
    last built day; the count changes are the difference of the old and new states from the first new
    day on. Falls back to a full build when something else changed: a batch for another table
    (members, profiles …), events for days already built (late data), or the Spark backend.
    """
    meta = wh.table(META).execute()
    through = meta.built_through.iloc[0]
    since_events = wh.count("events") - int(meta.events.iloc[0])
    new_batches = wh.table("batches").order_by("loaded_at").execute().iloc[int(meta.batches.iloc[0]):]
    if wh.backend != "duckdb" or through is None or set(new_batches.target) - {"events"}:
        return build(wh, rules, report)
    first_new = date.fromisoformat(str(through)) + timedelta(days=1)
    ev = wh.table("events")
    midnight = ibis.literal(datetime.combine(first_new, datetime.min.time(), wh.config.tz).astimezone(UTC))
    new = ev.filter(ev.ts >= midnight)  # row groups of older days are skipped by their min/max
    if int(new.count().execute()) != since_events:
        if report:
            report("events for days already built arrived: full rebuild")
        return build(wh, rules, report)
    if report:
        report(f"incremental: {since_events:,} new events from {first_new}")
    fresh = ibis.union(*[daily_facts(wh, rules, s, new).mutate(scope=ibis.literal(s)) for s in SCOPES],
                       distinct=False)
    fresh = wh.materialize("_asset_new_days", fresh)
    span = fresh.aggregate(lo=fresh.day.min(), hi=fresh.day.max()).execute()
    one_day = str(span.lo.iloc[0])[:10] == str(span.hi.iloc[0])[:10] == str(first_new)
    touched = wh.materialize("_asset_touched", fresh.select(*PAIR).distinct())
    days = wh.table(DAYS)
    history = wh.materialize("_asset_history", ibis.union(_look_back(days, rules, first_new).semi_join(touched, PAIR),
                                                          fresh, distinct=False))
    start = ibis.literal(first_new)
    opened = _intervals(wh, rules, history, None, since=first_new)
    iv = wh.table(INTERVALS)
    # the touched pairs' intervals still open on the first new day, with their row ids for the delete below
    wh.raw.execute(
        f"CREATE OR REPLACE TEMP TABLE _asset_live AS SELECT i.rowid AS _rid, i.* FROM {INTERVALS} AS i "
        f"SEMI JOIN _asset_touched AS t USING ({', '.join(PAIR)}) WHERE i.\"end\" >= DATE '{first_new}'"
    )
    live = wh.table("_asset_live").drop("_rid")
    # when the new events are all of the first new day, every interval opened starts on it and every live one
    # reaches it: one island each
    carried = merged(ibis.union(live, opened, distinct=False), one_island=one_day)
    carried = wh.materialize("_asset_carried", carried.select(*iv.columns))

    def from_first_new(t: ir.Table) -> ir.Table:  # states before the first new day are unchanged
        return t.filter(t.end > start).mutate(start=ibis.greatest(t.start, start))

    moves = wh.materialize("_asset_moves", state_changes(from_first_new(carried), old=from_first_new(live)))
    n_touched, n_live = int(touched.count().execute()), int(live.count().execute())
    with wh.transaction():
        wh.con.insert(CHANGES, moves)
        wh.con.insert(DAYS, fresh.select(*days.columns))
        # nothing writes the intervals between reading the row ids and here; the count makes sure of it
        gone = wh.raw.execute(f"DELETE FROM {INTERVALS} WHERE rowid IN (SELECT _rid FROM _asset_live)").fetchone()[0]
        if gone != n_live:
            raise RuntimeError(f"{INTERVALS} changed during the incremental update ({gone} of {n_live} rows); "
                               "nothing was written: run it again")
        wh.con.insert(INTERVALS, carried)
        wh.con.create_table(META, _meta(wh), overwrite=True)
    wh.drop_temp("_asset_new_days", "_asset_touched", "_asset_history", "_asset_live", "_asset_carried",
                 "_asset_moves")
    return {"touched": n_touched, "new_events": since_events}


def _look_back(days: ir.Table, rules: AssetRules, first_new: date) -> ir.Table:
    """The daily facts a new day's conditions can look back to: the I windows' days, and the purchases and
    reviews of the L window (the k-th-day and together rules)."""
    short = ibis.literal(first_new - timedelta(days=rules.interest_days))
    long = ibis.literal(first_new - timedelta(days=rules.loyal_days))
    return days.filter((days.day >= short) | ((days.purchase | days.advocacy) & (days.day >= long)))
