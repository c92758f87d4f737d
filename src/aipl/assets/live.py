"""The live store: one row per (scope, key, consumer) pair whose state can still change, holding each condition's
latest interval and the recent days its rules look back to. Every other interval is in the closed table, so
the intervals are `asset_closed` ∪ the live rows unpivoted, and a new day rewrites only the rows of the pairs it
touches, by per-row arithmetic (no window over history), plus the rows whose last interval ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from aipl.assets.rules import CONDITIONS, NEVER, AssetRules, held
from aipl.vocab import DEEPLINK_STATES
from aipl.warehouse import Warehouse

LIVE = "asset_live"
CLOSED = "asset_closed"
PAIR = ["scope", "key", "consumer_id"]
IV_COLUMNS = [*PAIR, "cond", "start", "end", "touch"]
DAY0 = date(1, 1, 1)  # the keep-until of a row with nothing left (an evictable row)


@dataclass(frozen=True)
class LookBack:
    """A list of recent days of one fact class, kept while a rule can still reach them."""

    column: str  # the list column in the live store (days ascending)
    fact: str  # the daily fact that adds the day
    window: int  # a day x still counts for a new day d when x > d - window


def look_backs(rules: AssetRules) -> list[LookBack]:
    """The k-th-day and together rules' look-back lists."""
    return [LookBack("browse_days", "browse", rules.interest_days),
            LookBack("active_days", "active", rules.interest_days),
            LookBack("buy_days", "purchase", rules.loyal_days),
            LookBack("adv_days", "advocacy", rules.loyal_days)]


def pair_ids(t: ir.Table) -> dict[str, ir.IntegerValue]:
    """Two independent 64-bit hashes of the pair: together the live store's key (a collision is ~1e-25 likely).
    The ids may be strings or integer keys (an integer is hashed as its decimal text).

    >>> import ibis
    >>> t = ibis.memtable({"scope": ["brand"], "key": [7], "consumer_id": [42]})
    >>> s = ibis.memtable({"scope": ["brand"], "key": ["7"], "consumer_id": ["42"]})
    >>> t.select(**pair_ids(t)).execute().equals(s.select(**pair_ids(s)).execute())
    True
    """
    sep = "\x1f"
    key, consumer = (v if v.type().is_string() else v.cast("string") for v in (t.key, t.consumer_id))
    return {"pid": (t.scope + sep + key + sep + consumer).hash(),
            "pid2": ("#" + consumer + sep + key + sep + t.scope).hash()}


def hash_probe(wh: Warehouse) -> int:
    """The backend's hash of a fixed string: the live keys are valid only while it is the same."""
    return int(wh.con.execute(ibis.literal("aipl live store").hash()))


def unpivot(live: ir.Table) -> ir.Table:
    """The live rows' latest intervals, one row each."""
    parts = [live.filter(live[f"{c}_start"].notnull()).select(
        *PAIR, cond=ibis.literal(c), start=live[f"{c}_start"], end=live[f"{c}_end"], touch=live[f"{c}_touch"])
        for c in CONDITIONS]
    return ibis.union(*parts, distinct=False)


def intervals(wh: Warehouse) -> ir.Table:
    """Every condition interval: scope, key, consumer_id, cond, start, end, touch.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> iv = intervals(wh)
    >>> iv.columns
    ('scope', 'key', 'consumer_id', 'cond', 'start', 'end', 'touch')
    >>> sorted(iv.select("cond").distinct().execute().cond) == sorted(CONDITIONS)
    True
    """
    return ibis.union(wh.table(CLOSED).select(*IV_COLUMNS), unpivot(wh.table(LIVE)), distinct=False)


def live_rows(merged: ir.Table, days: ir.Table, rules: AssetRules, through: date) -> ir.Table:
    """The live store as of `through` from merged intervals (`last` marking the latest of each condition) and daily
    facts (scope, key, consumer_id, day, ...)."""
    by_cond = {}
    last = merged.filter(merged["last"])  # one row per pair and condition
    for c in CONDITIONS:
        w = last.cond == c
        by_cond |= {f"{c}_start": last.start.max(where=w), f"{c}_end": last.end.max(where=w),
                    f"{c}_touch": last.touch.max(where=w)}
    latest = last.group_by(PAIR).aggregate(**by_cond)
    lbs = look_backs(rules)

    def within(t: ir.Table, lb: LookBack) -> ir.BooleanValue:
        return t[lb.fact] & (t.day > ibis.literal(through + timedelta(days=1 - lb.window)))

    recent = days.filter(ibis.or_(*[within(days, lb) for lb in lbs]))
    recent = recent.group_by(PAIR).aggregate(
        **{lb.column: recent.day.collect(where=within(recent, lb)).sort() for lb in lbs},
        **{f"last_{lb.column}": recent.day.max(where=within(recent, lb)) for lb in lbs})
    j = latest.left_join(recent, PAIR)
    none = ibis.literal([], type="array<date>")
    keep = ibis.greatest(*[j[f"{c}_end"] for c in CONDITIONS],
                         *[j[f"last_{lb.column}"] + ibis.interval(days=lb.window) for lb in lbs])
    j = j.select(*PAIR, *by_cond, *[j[lb.column].nullif(none).name(lb.column) for lb in lbs], keep=keep)
    j = j.mutate(keep_until=j.keep.cast("date"), **pair_ids(j)).drop("keep")
    return j.filter(j.keep_until > ibis.literal(through))


def _sql_date(d: date) -> str:
    return f"DATE '{d}'"


def day_step_sql(rules: AssetRules, d: date, facts: str) -> str:
    """For one new day `d`, in DuckDB SQL: the SELECT of each pair touched that day (its facts in table `facts`,
    with pid and pid2) with its new live row, its live row's row id (`_rid`, NULL for a new pair), its old ends
    (o_<cond>_end), and the latest intervals that a new interval of their condition closes (`closing`, a list
    of cond, start, end, touch)."""
    D, r = _sql_date(d), rules
    step = (f"SELECT o.rowid AS _rid, f.*, o.* EXCLUDE (scope, key, consumer_id, pid, pid2, keep_until) "
            f"FROM {facts} AS f LEFT JOIN {LIVE} AS o USING (pid, pid2) WHERE f.day = {D}")

    def plus(x: str, n: int) -> str:
        return f"({x} + {n})"

    def kth(col: str, fact: str, k: int, window: int) -> str:
        if k <= 1:
            return f"CASE WHEN {fact} THEN {plus(D, window)} END"
        prev = f"{col}[-{k - 1}]"
        return f"CASE WHEN {fact} AND len({col}) >= {k - 1} AND {prev} > {D} - {window} THEN {prev} + {window} END"

    def last(col: str, window: int) -> str:
        return f"CASE WHEN {col}[-1] > {D} - {window} THEN {col}[-1] END"

    partner = (f"CASE WHEN advocacy AND purchase THEN {D} WHEN advocacy THEN {last('buy_days', r.loyal_days)} "
               f"WHEN purchase THEN {last('adv_days', r.loyal_days)} END")
    opened = {  # the end of each condition's span opening on d (NULL when none does)
        "A": f"CASE WHEN passive OR browse THEN {plus(D, r.awareness_days)} END",
        "I": f"greatest(CASE WHEN active THEN {plus(D, r.interest_days)} END, "
             f"{kth('browse_days', 'browse', r.browse_min_days, r.interest_days)})",
        "perform": f"CASE WHEN intent THEN {plus(D, r.interest_days)} END",
        "enthuse": f"greatest(CASE WHEN deep OR interactions >= {r.enthuse_min_interactions} "
                   f"THEN {plus(D, r.interest_days)} END, "
                   f"{kth('active_days', 'active', r.enthuse_min_active_days, r.interest_days)})",
        "P": f"CASE WHEN purchase THEN {plus(D, r.purchase_days)} END",
        "L": f"greatest({kth('buy_days', 'purchase', r.loyal_min_purchase_days, r.loyal_days)}, "
             f"({partner}) + {r.loyal_days})",
        "keen": f"greatest(CASE WHEN advocacy THEN {plus(D, r.loyal_days)} END, "
                f"{kth('buy_days', 'purchase', r.keen_min_purchase_days, r.loyal_days)}, "
                f"CASE WHEN member THEN {_sql_date(NEVER)} END)",
    }
    cols, ends = [], []
    for c in CONDITIONS:
        n, live = f"n_{c}", f'"{c}_end" >= {D}'
        cols += [f'CASE WHEN {n} IS NULL OR {live} THEN "{c}_start" ELSE {D} END AS "{c}_start"',
                 f'CASE WHEN {n} IS NULL THEN "{c}_end" WHEN {live} THEN greatest("{c}_end", {n}) ELSE {n} END '
                 f'AS "{c}_end"',
                 f'CASE WHEN {n} IS NULL OR {live} THEN "{c}_touch" ELSE touch END AS "{c}_touch"']
        ends.append(f'"{c}_end"')
    for lb in look_backs(rules):
        added = f"CASE WHEN {lb.fact} THEN list_append(coalesce({lb.column}, []::DATE[]), {D}) ELSE {lb.column} END"
        cols.append(f"nullif(list_filter({added}, x -> x > {D} + {1 - lb.window}), []::DATE[]) AS {lb.column}")
    closing = ", ".join(
        f"CASE WHEN n_{c} IS NOT NULL AND \"{c}_end\" < {D} THEN {{'cond': '{c}', 'start': \"{c}_start\", "
        f"'end': \"{c}_end\", 'touch': \"{c}_touch\"}} END" for c in CONDITIONS)
    cols.append(f"list_filter([{closing}], x -> x IS NOT NULL) AS closing")
    keep = ", ".join([*ends, *[f"{lb.column}[-1] + {lb.window}" for lb in look_backs(rules)]])
    computed = ", ".join(f"{e} AS n_{c}" for c, e in opened.items())
    new_rows = (f"SELECT scope, key, consumer_id, {', '.join(cols)}, pid, pid2, _rid, "
                f"{', '.join(f'{e} AS o_{e[1:-1]}' for e in ends)} FROM (SELECT *, {computed} FROM ({step}))")
    return f"SELECT *, coalesce(greatest({keep}), {_sql_date(DAY0)}) AS keep_until FROM ({new_rows})"


def states_by_bits(wh: Warehouse) -> list[str | None]:
    """The DEEPLINK state (held()) of every set of conditions, indexed by its bit mask (bit i: CONDITIONS[i])."""
    masks = ibis.memtable({"m": list(range(1 << len(CONDITIONS)))}, schema={"m": "int64"})
    deeplink = held({c: (masks.m & (1 << i)) != 0 for i, c in enumerate(CONDITIONS)})[1]
    df = wh.con.execute(masks.select("m", s=deeplink)).sort_values("m")
    return [None if s is None or s != s else str(s) for s in df.s]


def changes_sql(d: date, names: list[str | None]) -> str:
    """The SELECT of scope, key, aipl, deeplink, day, change: the count changes of the touched pairs from `d` on,
    from their new live rows (`_asset_new_live`, with the old ends as o_<cond>_end). At each day t where an old
    or a new interval ends (and on d): +new state −old state on t, and −new +old state of the day before (from
    d + 1 on). A state is its conditions' bit mask looked up in `names` (states_by_bits). Pairs of one key with
    the same old and new ends change the counts alike, so each such pattern is evaluated once, times its pairs."""
    D = _sql_date(d)
    all_ends = [*[f'"{c}_end"' for c in CONDITIONS], *[f"o_{c}_end" for c in CONDITIONS]]
    cut_days = ", ".join([D, *all_ends])
    patterns = f"SELECT scope, key, {', '.join(all_ends)}, count(*) AS n FROM _asset_new_live GROUP BY ALL"

    def state(prefix: str, op: str) -> str:
        mask = " + ".join(f"coalesce({prefix}{c}_end {op} t, false)::INTEGER * {1 << i}"
                          for i, c in enumerate(CONDITIONS))
        return f"_names[{mask} + 1]"

    lookup = "[" + ", ".join("NULL" if n is None else f"'{n}'" for n in names) + "]"
    cuts = (f"SELECT scope, key, t, n, {state('', '>')} AS nd, {state('o_', '>')} AS od, "
            f"CASE WHEN t > {D} THEN {state('', '>=')} END AS ndm, "
            f"CASE WHEN t > {D} THEN {state('o_', '>=')} END AS odm "
            f"FROM (SELECT *, {lookup} AS _names, "
            f"unnest(list_distinct(list_filter([{cut_days}], x -> x >= {D}))) AS t FROM ({patterns}))")
    moves = (f"SELECT scope, key, t AS day, unnest([nd, od, ndm, odm]) AS deeplink, unnest([n, -n, -n, n]) AS change "
             f"FROM ({cuts}) WHERE nd IS DISTINCT FROM od OR ndm IS DISTINCT FROM odm")
    aipl = "CASE deeplink " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in DEEPLINK_STATES.items()) + " END"
    return (f"SELECT scope, key, {aipl} AS aipl, deeplink, day, change FROM (SELECT scope, key, deeplink, day, "
            f"sum(change)::BIGINT AS change FROM ({moves}) WHERE deeplink IS NOT NULL GROUP BY ALL) WHERE change != 0")
