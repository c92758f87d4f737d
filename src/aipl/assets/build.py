"""Build the consumer-asset intervals: for every scope key (brand or category) and consumer, the day ranges
[start, end) during which each AIPL / DEEPLINK condition holds. A state on day D is then the highest
condition whose interval covers D, so nothing is stored per consumer × day. The intervals that can still grow
live in the live store (assets/live.py), the rest in `asset_closed`; `intervals()` gives them all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.assets import live
from aipl.assets.live import CLOSED, LIVE, PAIR, intervals
from aipl.assets.results import AssetBuild, AssetUpdate
from aipl.assets.rules import CONDITIONS, NEVER, AssetRules, held
from aipl.warehouse import Warehouse

SCOPES = ("brand", "category")
TOUCHES = 2**27  # room for this many distinct (event type, channel, touchpoint) in the daily facts' touch score
KINDS = "_asset_fact_kinds"  # the session's table of the kinds of events of each scope's daily facts
FACT_CLASSES = ("passive", "browse", "active", "intent", "deep", "purchase", "advocacy")  # flags of AssetRules


def daily_facts(wh: Warehouse, rules: AssetRules, scope: str, events: ir.Table | None = None) -> ir.Table:
    """One row per (key, consumer, local day) with what the consumer did that day, by event class, and the day's
    touch. Over all events (`events` None) the expression reads a session table of the distinct kinds of events,
    replaced by the next build: execute it before then.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> f = daily_facts(wh, AssetRules.of(wh.config), "brand")
    >>> f.columns[:5], int(f.count().execute())
    (('key', 'consumer_id', 'day', 'passive', 'browse'), 3030)
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    ev = wh.table("events") if events is None else events
    key = ev.brand_id if scope == "brand" else ev.category_id
    ev = ev.mutate(key=key, day=wh.local_day(ev.ts)).filter(lambda t: t.key.notnull())
    if scope == "category":  # brand-attribute touchpoints never move category AIPL; a purchase counts on any channel
        ev = ev.filter(
            ~ev.event_type.isin(list(rules.brand_only_event_types))
            & (ev.channel.isnull() | ~ev.channel.isin(list(rules.brand_only_channels))
               | ev.event_type.isin(list(rules.purchase) + list(rules.advocacy)))
        )
    # each distinct (event type, channel, touchpoint) once, in touch order, with its class flags and rank: the
    # aggregate below then reads flags and one integer per event, and no string is built or compared per event
    ev = ev.mutate(_ch=ev.channel.fill_null(""), _tp=ev.touchpoint.fill_null(""))
    kinds = ev.select("event_type", "_ch", "_tp").distinct()
    kinds = kinds.mutate(touch=kinds.event_type + "|" + kinds._ch + "|" + kinds._tp)
    et = kinds.event_type
    kinds = kinds.mutate(
        code=ibis.row_number().over(order_by="touch").cast("int64"), rank=ibis.cases(
            (et.isin(list(rules.purchase) + list(rules.advocacy)), 4), (et.isin(list(rules.active)), 3),
            (et.isin(list(rules.browse)), 2), (et.isin(list(rules.passive)), 1), else_=0).cast("int64"),
        **{f"is_{c}": et.isin(list(getattr(rules, c))) for c in FACT_CLASSES},
        is_interaction=et == "interaction", is_member=et == "member_join")
    if events is None:  # all events: a known small table, so that the join below builds on it
        kinds = wh.materialize(f"{KINDS}_{scope}", kinds)
        if (n := int(kinds.count().execute())) > TOUCHES:
            raise ValueError(f"{n:,} distinct (event type, channel, touchpoint): at most {TOUCHES:,} are supported")
    ev = ev.inner_join(kinds, ["event_type", "_ch", "_tp"])
    # the day's touch: its highest-ranked event, the latest of those, then the greatest touch among events of the
    # same second, so that every build and backend picks the same one (rank, epoch second and touch code, packed)
    score = (ev["rank"] * 10_000_000_000 + ev.ts.epoch_seconds().cast("int64")) * TOUCHES + ev.code
    facts = ev.group_by(["key", "consumer_id", "day"]).aggregate(
        **{c: ev[f"is_{c}"].any() for c in FACT_CLASSES[:5]},
        interactions=ev.is_interaction.cast("int64").sum(),
        **{c: ev[f"is_{c}"].any() for c in FACT_CLASSES[5:]},
        member=ev.is_member.any(), _score=score.max())
    facts = facts.mutate(code=(facts._score % TOUCHES + TOUCHES) % TOUCHES)  # ≥ 0: an event before 1970 too
    return facts.inner_join(kinds.select("code", "touch"), "code").drop("_score", "code")


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
    r, d = rules, f
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
    return ibis.union(*parts, distinct=False)


def merged(iv: ir.Table) -> ir.Table:
    """Overlapping or touching intervals of one ([scope,] key, consumer, condition) merged into one (gaps and
    islands); an island's touch is the least of those of its earliest intervals, so that every build picks the
    same one; `last` marks the latest island of its condition.

    In one ordered pass each interval learns the furthest end before it (`reach`) and the next start: it opens
    an island when it starts after that reach, and closes one when the next interval starts after its own reach.
    Only the openers and closers go on, and only the islands of more than one interval need a second pass."""
    g = [c for c in ("scope",) if c in iv.columns] + ["key", "consumer_id", "cond"]
    order = ["start", "touch", "end"]  # the least touch first among intervals starting on the same day
    t = iv.mutate(reach=iv.end.max().over(ibis.window(group_by=g, order_by=order, rows=(None, -1))),
                  following=iv.start.lead().over(ibis.window(group_by=g, order_by=order)))
    upto = ibis.greatest(t.end, t.reach.fill_null(t.end))
    t = t.mutate(opens=t.reach.isnull() | (t.start > t.reach),
                 closes=t.following.isnull() | (t.following > upto), upto=upto)
    t = t.filter(t.opens | t.closes)
    alone = t.filter(t.opens & t.closes).select(*g, start=t.start, end=t.upto, touch=t.touch,
                                                last=t.following.isnull())
    many = t.filter(~(t.opens & t.closes))
    # identical intervals tie on `order`: the opener goes first, so that its closer's lag finds it
    w = ibis.window(group_by=g, order_by=[*order, ibis.desc("opens")])
    many = many.mutate(first=many.start.lag().over(w), first_touch=many.touch.lag().over(w))
    many = many.filter(many.closes).select(*g, start=many.first, end=many.upto, touch=many.first_touch,
                                           last=many.following.isnull())
    return ibis.union(alone, many, distinct=False)


DAYS = "asset_days"
META = "asset_meta"
# How many consumers enter (+) or leave (−) each (scope, key, AIPL, DEEPLINK) state on each day: the count on
# day D is the sum of the changes up to D, so counts and daily series never touch consumers.
CHANGES = "asset_count_changes"

def state_changes(iv: ir.Table) -> ir.Table:
    """scope, key, aipl, deeplink, day, change: how many consumers enter (+) or leave (−) each state on each day,
    for the states the merged condition intervals `iv` give.

    One sweep per consumer over merged intervals (those of one condition never overlap): each condition is a
    bit, +bit on the day its interval starts and −bit on the day it ends; the running sum over the cut days is
    the set of conditions that hold until the next cut. A piece of the timeline counts +1 for its state on its
    first day and −1 after it.
    """
    bit = {c: 1 << i for i, c in enumerate(CONDITIONS)}
    flag = ibis.cases(*[(iv.cond == c, b) for c, b in bit.items()], else_=0).cast("int64")
    b = ibis.union(iv.select(*PAIR, day=iv.start.cast("date"), d=flag),
                   iv.select(*PAIR, day=iv.end.cast("date"), d=-flag), distinct=False)
    cuts = b.group_by([*PAIR, "day"]).aggregate(d=b.d.sum())
    pieces = cuts.mutate(
        until=cuts.day.lead().over(ibis.window(group_by=PAIR, order_by="day")),
        held=cuts.d.sum().over(ibis.window(group_by=PAIR, order_by="day", preceding=None, following=0)),
    )
    aipl, deeplink = held({c: (pieces.held & b) != 0 for c, b in bit.items()})
    p = pieces.select("scope", "key", "day", "until", aipl=aipl, deeplink=deeplink)
    p = p.filter(p.until.notnull() & p.aipl.notnull())
    moves = ibis.union(p.select("scope", "key", "aipl", "deeplink", "day", change=ibis.literal(1, "int64")),
                       p.select("scope", "key", "aipl", "deeplink", day=p.until, change=ibis.literal(-1, "int64")),
                       distinct=False)
    moves = moves.group_by(["scope", "key", "aipl", "deeplink", "day"]).aggregate(change=moves.change.sum())
    return moves.filter(moves.change != 0)


def ensure_built(wh: Warehouse, report: Callable[[str], None] | None = None) -> bool:
    """Bring the intervals up to date with the loaded batches (incrementally when it can) and with the settings
    (a change of `[assets]` or the time zone rebuilds them); True when it worked, False when they already were.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> _ = ensure_built(wh)  # True the first time in a process
    >>> ensure_built(wh)  # nothing loaded since: nothing to do
    False
    """
    batches = wh.count("batches")
    tables = set(wh.con.list_tables())
    if {LIVE, CLOSED, META, CHANGES} <= tables and not wh.stale([LIVE]):  # built with other [assets]: rebuilt
        meta = wh.table(META).execute()
        if len(meta) and int(meta.batches.iloc[0]) == batches:
            return False
        if len(meta):
            update(wh, AssetRules.of(wh.config), report)
            return True
    build(wh, AssetRules.of(wh.config), report)
    return True


def _member_conditions(wh: Warehouse) -> ir.Table:
    m = wh.table("members")
    m = m.filter(m.status == "active")
    return m.select(key=m.brand_id, consumer_id=m.consumer_id, cond=ibis.literal("keen"),
                    start=wh.local_day(m.joined_at), end=ibis.literal(NEVER), touch=ibis.literal("member||"))


def _intervals(wh: Warehouse, rules: AssetRules, days: ir.Table, members: ir.Table | None) -> ir.Table:
    """Both scopes' condition intervals, merged (with `last`: the latest of its condition)."""
    parts = []
    for scope in SCOPES:
        f = days.filter(days.scope == scope).drop("scope")
        mem = members.filter(members.scope == scope).drop("scope") if members is not None and scope == "brand" else None
        parts.append(merged(conditions(f, rules, mem)).mutate(scope=ibis.literal(scope)))
    return ibis.union(*parts, distinct=False).select(*live.IV_COLUMNS, "last")


def _meta(wh: Warehouse, through: date | None, counted: pd.DataFrame | None = None) -> ir.Table:
    """The build's record: batches and events it has seen (those of `counted` when given), the last day built."""
    seen = counted if counted is not None else {"batches": [wh.count("batches")], "events": [wh.count("events")]}
    return ibis.memtable({
        "batches": [int(seen["batches"][0])], "events": [int(seen["events"][0])],
        "built_through": [None if through is None else str(through)], "hash_probe": [live.hash_probe(wh)],
    }, schema={"batches": "int64", "events": "int64", "built_through": "string", "hash_probe": "int64"})


MERGED = "_asset_merged"
OBSOLETE = ("asset_intervals",)  # the table of earlier versions


def build(wh: Warehouse, rules: AssetRules, report: Callable[[str], None] | None = None) -> AssetBuild:
    """(Re)build the intervals, the live store and the daily count changes for both scopes from all events and
    members; the number of intervals per scope. Until it has finished, `asset_meta` is absent, so an
    interrupted build is redone, not updated.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(consumers=40, days=10)  # a small one of its own (`update`'s example adds a day)
    >>> build(wh, AssetRules.of(wh.config))
    AssetBuild(full build: brand 47, category 38 intervals)
    """
    with wh.transaction():
        wh.drop_table(META)
    if report:
        report("daily facts of both scopes")
    # the intermediate tables are the session's own (temporary: no log, no compression, gone when it ends)
    days = wh.materialize(DAYS, ibis.union(*[daily_facts(wh, rules, s).mutate(scope=ibis.literal(s))
                                             for s in SCOPES], distinct=False))
    last = days.aggregate(t=days.day.max()).execute().t.iloc[0]
    through = None if last is None or last != last else date.fromisoformat(str(last)[:10])
    if report:
        report("condition intervals")
    members = _member_conditions(wh).mutate(scope=ibis.literal("brand"))
    merged_iv = wh.materialize(MERGED, _intervals(wh, rules, days, members))
    if report:
        report("live store")
    with wh.transaction():
        # rows in keep-until order, so that the rows leaving on a day sit together (min/max per row group)
        wh.replace_table(LIVE, live.live_rows(merged_iv, days, rules, through or NEVER).order_by("keep_until"))
        # the latest interval of each condition stays in the live row of its pair, if the pair has one
        latest = merged_iv.filter(merged_iv["last"]).anti_join(wh.table(LIVE).select(*PAIR), PAIR)
        closed = ibis.union(merged_iv.filter(~merged_iv["last"]), latest, distinct=False)
        wh.replace_table(CLOSED, closed.select(*live.IV_COLUMNS))
    if report:
        report("daily state counts")
    with wh.transaction():
        wh.replace_table(CHANGES, state_changes(merged_iv.select(*live.IV_COLUMNS)).order_by(["scope", "day"]))
        wh.replace_table(META, _meta(wh, through))
    wh.drop_temp(MERGED, DAYS, *(f"{KINDS}_{s}" for s in SCOPES))
    for name in (MERGED, DAYS, *OBSOLETE):  # persistent ones, from earlier versions
        wh.drop_table(name)
    counts = intervals(wh).group_by("scope").aggregate(n=lambda t: t.count()).execute()
    n = {str(r.scope): int(r.n) for r in counts.itertuples()}
    return AssetBuild({s: n[s] for s in SCOPES if s in n})


def update(wh: Warehouse, rules: AssetRules, report: Callable[[str], None] | None = None
           ) -> AssetUpdate | AssetBuild:
    """Add the events of the days after the last build, one day at a time, touching only the live store's rows
    of the pairs with events that day and the rows whose last interval ends.

    Each touched pair's new intervals and look-back days follow from its live row and the day's facts by per-row
    arithmetic; the count changes are the difference of its old and new states from that day on. Falls back to a
    full build when something else changed: a batch for another table (members, profiles …), events for days
    already built (late data), another hash function (DuckDB version), or a backend without the incremental
    update (Spark). Returns the
    pairs touched and the new events (or, after a full build, the intervals per scope).

    >>> from aipl.ingest import ingest
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(consumers=40, days=10)  # a small one of its own: this example adds a day
    >>> rules = AssetRules.of(wh.config); _ = build(wh, rules)
    >>> wh.last_day()
    datetime.date(2026, 9, 24)
    >>> day = wh.config.root / "next_day.csv"
    >>> _ = day.write_text("consumer_id,brand_id,category_id,event_type,ts\\n"
    ...                    "c00000001,B01,skincare,pdp_view,2026-09-25T10:00:00+08:00\\n")
    >>> ingest(wh, day, "events").accepted
    1
    >>> update(wh, rules)  # one consumer's brand and category pairs
    AssetUpdate(incremental: 1 new events, 2 pairs touched)
    """
    meta = wh.table(META).execute()
    if "hash_probe" not in meta.columns or not {LIVE, CLOSED} <= set(wh.con.list_tables()):
        if report:
            report("full rebuild: no live store (built by an earlier version)")
        return build(wh, rules, report)
    through = meta.built_through.iloc[0]
    since_events = wh.count("events") - int(meta.events.iloc[0])
    new_batches = wh.table("batches").order_by("loaded_at").execute().iloc[int(meta.batches.iloc[0]):]
    reason = ("this backend has no incremental update" if not wh.supports("incremental_assets")
              else "nothing built yet" if through is None or through != through  # None, NaN or NaT
              else "batches for other tables than events" if set(new_batches.target) - {"events"}
              else "the live store was keyed by another hash function" if int(meta.hash_probe.iloc[0])
              != live.hash_probe(wh) else None)
    if reason:
        if report:
            report(f"full rebuild: {reason}")
        return build(wh, rules, report)
    first_new = date.fromisoformat(str(through)) + timedelta(days=1)
    ev = wh.table("events")
    midnight = ibis.literal(datetime.combine(first_new, datetime.min.time(), wh.config.tz).astimezone(UTC))
    # row groups of older days are skipped by their min/max; read once, as the facts of both scopes read it often
    new = wh.materialize("_asset_new_events", ev.filter(ev.ts >= midnight))
    if int(new.count().execute()) != since_events:
        wh.drop_temp("_asset_new_events")
        if report:
            report("events for days already built arrived: full rebuild")
        return build(wh, rules, report)
    if report:
        report(f"incremental: {since_events:,} new events from {first_new}")
    fresh = ibis.union(*[daily_facts(wh, rules, s, new).mutate(scope=ibis.literal(s)) for s in SCOPES],
                       distinct=False)
    fresh = wh.materialize("_asset_new_days", fresh.mutate(**live.pair_ids(fresh)))
    last = fresh.aggregate(hi=fresh.day.max()).execute().hi.iloc[0]
    last = first_new if last is None or last != last else date.fromisoformat(str(last)[:10])
    touched, names = 0, live.states_by_bits(wh)
    for k in range((last - first_new).days + 1):
        d = first_new + timedelta(days=k)
        if report and last > first_new:
            report(f"day {d}")
        touched += _add_day(wh, rules, d, names, d == last)
    wh.drop_temp("_asset_new_days", "_asset_new_events")
    return AssetUpdate(touched=touched, new_events=since_events)


def _add_day(wh: Warehouse, rules: AssetRules, d: date, names: list[str | None], final: bool) -> int:
    """Carry the live store and the count changes through day `d` (its facts are in `_asset_new_days`; `names`:
    live.states_by_bits)."""
    new_live = wh.materialize_sql("_asset_new_live", live.day_step_sql(rules, d, "_asset_new_days"))
    moves = wh.materialize_sql("_asset_moves", live.changes_sql(d, names))
    # the rows with nothing left that can grow or be looked back to leave the live store: untouched ones (with
    # their row ids, for the delete) and new ones
    columns = ", ".join(f'"{c}"' for c in wh.table(LIVE).columns)
    evicted = wh.materialize_sql("_asset_evicted", (
        f"SELECT rowid AS _rid, * FROM {LIVE} WHERE keep_until <= DATE '{d}' "
        f"AND rowid NOT IN (SELECT _rid FROM _asset_new_live WHERE _rid IS NOT NULL) "
        f"UNION ALL SELECT NULL, {columns} FROM _asset_new_live WHERE keep_until <= DATE '{d}'"))
    closes = new_live.filter(new_live.closing.length() > 0).select(*PAIR, c=new_live.closing.unnest())
    closes = closes.select(*PAIR, **{f: closes.c[f] for f in ("cond", "start", "end", "touch")})
    closed = ibis.union(closes, live.unpivot(evicted), distinct=False)
    n_touched, n_old = new_live.aggregate(n=new_live.count(), o=new_live._rid.count()).execute().iloc[0]
    n_evicted = int(evicted._rid.count().execute())
    meta = wh.table(META).execute()
    with wh.transaction():
        wh.con.insert(CHANGES, moves)
        wh.con.insert(CLOSED, closed)
        # nothing writes the live store between reading the row ids and here; the count makes sure of it
        gone = wh.delete_row_ids(LIVE, ibis.union(new_live.select("_rid"), evicted.select("_rid"), distinct=False)._rid)
        if gone != n_old + n_evicted:
            raise RuntimeError(f"{LIVE} changed during the incremental update ({gone} of {n_old + n_evicted} rows); "
                               "nothing was written: run it again")
        kept = new_live.filter(new_live.keep_until > ibis.literal(d))
        wh.con.insert(LIVE, kept.select(*wh.table(LIVE).columns).order_by("keep_until"))
        wh.replace_table(META, _meta(wh, d, None if final else meta))
    wh.drop_temp("_asset_new_live", "_asset_moves", "_asset_evicted")
    return int(n_touched)
