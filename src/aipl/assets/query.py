"""Questions answered from the asset intervals: a consumer's state on a day, counts per state, flows."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.assets.build import CHANGES, CONDITIONS, SCOPES, held, intervals
from aipl.assets.results import Flow, FlowCell, Snapshot
from aipl.config import parse_day
from aipl.vocab import AIPL_STATES, DEEPLINK_STATES
from aipl.warehouse import Warehouse

FLOW_STATES = ("none", *AIPL_STATES)
RANK = {s: i for i, s in enumerate(FLOW_STATES)}
_AIPL_COND = {"A": "A", "I": "I", "P": "P", "L": "L"}


def _day(d: str | date) -> date:
    return parse_day(d, "date")


def ordered_days(start: str | date, end: str | date, what: str = "period",
                 distinct: bool = False) -> tuple[date, date]:
    """The two days parsed; a ValueError when `end` is before `start` (or the same day, when `distinct`)."""
    d0, d1 = _day(start), _day(end)
    if d1 < d0:
        raise ValueError(f"the {what} ends ({d1}) before it starts ({d0})")
    if distinct and d1 == d0:
        raise ValueError(f"the {what} needs two different days, not {d0} twice")
    return d0, d1


def has_key(wh: Warehouse, scope: str, key: str) -> bool:
    """Whether any consumer of the brand or category (`scope`, `key`) was ever in a state.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> has_key(wh, "brand", "B01"), has_key(wh, "brand", "NOPE")
    (True, False)
    """
    c = wh.table(CHANGES)
    return bool(int(c.filter((c.scope == scope) & (c.key == key)).limit(1).count().execute()))


def _require_key(wh: Warehouse, scope: str, key: str) -> None:
    """A ValueError when no consumer of the key was ever in a state (most likely a mistyped brand or category)."""
    if not has_key(wh, scope, key):
        raise ValueError(f"no {scope} {key!r} in the workspace's consumer assets")


def brands(wh: Warehouse) -> list[str]:
    """The brands that have events, sorted.

    >>> from aipl.simulate import sample_warehouse
    >>> brands(sample_warehouse())
    ['B01', 'B02', 'B03', 'B04']
    """
    ev = wh.table("events")
    b = ev.filter(ev.brand_id.notnull()).select("brand_id").distinct().execute().brand_id
    return sorted(b)


def states(wh: Warehouse, scope: str, day: str | date, key: str | None = None) -> ir.Table:
    """key, consumer_id, aipl, deeplink of every consumer in a state on `day` (consumers in none are absent).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> s = states(wh, "brand", "2026-10-24", "B01")
    >>> s.columns, int(s.count().execute())
    (('key', 'consumer_id', 'aipl', 'deeplink'), 145)
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    d = ibis.literal(_day(day))
    iv = intervals(wh)
    iv = iv.filter((iv.scope == scope) & (iv.start <= d) & (iv.end > d))
    if key is not None:
        iv = iv.filter(iv.key == key)
    f = iv.group_by(["key", "consumer_id"]).aggregate(**{f"has_{c}": (iv.cond == c).any() for c in CONDITIONS})
    aipl, deeplink = held({c: f[f"has_{c}"] for c in CONDITIONS})
    return f.select("key", "consumer_id", aipl=aipl, deeplink=deeplink).filter(lambda t: t.aipl.notnull())


def consumer_states(wh: Warehouse, scope: str, day: str | date, key: str | None = None) -> pd.DataFrame:
    """Each consumer's AIPL and DEEPLINK state on `day`, with `state_since` and the touchpoint that put them there.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> cs = consumer_states(wh, "brand", "2026-10-24", "B01")
    >>> list(cs.columns)
    ['key', 'consumer_id', 'aipl', 'deeplink', 'state_since', 'via_event', 'via_channel', 'via_touchpoint']
    >>> cs.iloc[0][["consumer_id", "aipl", "deeplink", "state_since", "via_event"]].tolist()
    ['c00000001', 'A', 'discover', Timestamp('2026-09-21 00:00:00'), 'pdp_view']
    """
    d = ibis.literal(_day(day))
    s = states(wh, scope, day, key)
    iv = intervals(wh)
    iv = iv.filter((iv.scope == scope) & iv.cond.isin(list(_AIPL_COND)))
    if key is not None:
        iv = iv.filter(iv.key == key)
    rank = iv.cond.cases(("A", 1), ("I", 2), ("P", 3), ("L", 4))
    j = s.inner_join(iv, ["key", "consumer_id"])
    srank = j.aipl.cases(("A", 1), ("I", 2), ("P", 3), ("L", 4))
    jr = j.mutate(r=rank, sr=srank)
    cover = jr.filter((jr.r == jr.sr) & (jr.start <= d) & (jr.end > d))
    higher = jr.filter((jr.r > jr.sr) & (jr.end <= d))
    higher_end = higher.group_by(["key", "consumer_id"]).aggregate(dropped=higher.end.max())
    c = cover.group_by(["key", "consumer_id", "aipl", "deeplink"]).aggregate(
        since=cover.start.max(), touch=cover.touch.argmax(cover.start)
    )
    out = c.left_join(higher_end, ["key", "consumer_id"]).select(
        "key", "consumer_id", "aipl", "deeplink",
        state_since=ibis.greatest(c.since, higher_end.dropped.fill_null(c.since)),
        touch=c.touch,
    )
    df = out.order_by(["key", "consumer_id"]).execute()
    parts = df.touch.fillna("||").str.split("|", n=2, expand=True).reindex(columns=[0, 1, 2])  # none: no columns
    return df.drop(columns="touch").assign(
        via_event=parts[0].replace("", None), via_channel=parts[1].replace("", None),
        via_touchpoint=parts[2].replace("", None),
    )


def state_counts(wh: Warehouse, scope: str, day: str | date, key: str | None = None) -> ir.Table:
    """key, aipl, deeplink, n: how many consumers each state of each key (or of `key`) holds on `day`, summed
    from the daily count changes (no consumer is read).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> state_counts(wh, "brand", "2026-10-24", "B01").order_by(["aipl", "deeplink"]).execute()
       key aipl  deeplink    n
    0  B01    A  discover  102
    1  B01    I    engage   25
    2  B01    I   perform    9
    3  B01    L      keen    3
    4  B01    P   initial    6
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    c = wh.table(CHANGES)
    c = c.filter((c.scope == scope) & (c.day <= ibis.literal(_day(day))))
    if key is not None:
        c = c.filter(c.key == key)
    n = c.group_by(["key", "aipl", "deeplink"]).aggregate(n=c.change.sum())
    return n.filter(n.n > 0)


def snapshot(wh: Warehouse, scope: str, key: str, day: str | date) -> Snapshot:
    """Counts per AIPL and DEEPLINK state of one brand or category on one day; a ValueError for a key that no
    consumer was ever in a state of (a known key with nobody in a state that day counts zeros).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> s = snapshot(wh, "brand", "B01", "2026-10-24"); s
    Snapshot(brand B01 on 2026-10-24: A 102, I 34, P 6, L 3)
    >>> s.counts == s["counts"] == s.to_dict()["counts"]
    True
    """
    df = state_counts(wh, scope, day, key).execute()
    if df.empty:
        _require_key(wh, scope, key)
    a, dl = df.groupby("aipl").n.sum(), df.groupby("deeplink").n.sum()
    return Snapshot(
        scope=scope, key=key, date=str(_day(day)),
        counts={st: int(a.get(st, 0)) for st in AIPL_STATES},
        deeplink={st: int(dl.get(st, 0)) for st in DEEPLINK_STATES},
    )


def snapshot_all(wh: Warehouse, scope: str, day: str | date) -> pd.DataFrame:
    """AIPL counts of every key on one day: one row per key, columns A, I, P, L.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> t = snapshot_all(wh, "brand", "2026-10-24")
    >>> list(t.columns), t.values.tolist()[:2]
    (['key', 'A', 'I', 'P', 'L'], [['B01', 102, 34, 6, 3], ['B02', 78, 37, 15, 2]])
    """
    s = state_counts(wh, scope, day)
    long = s.group_by(["key", "aipl"]).aggregate(n=s.n.sum()).execute()
    wide = long.pivot_table(index="key", columns="aipl", values="n", fill_value=0)
    return wide.reindex(columns=list(AIPL_STATES), fill_value=0).astype(int).reset_index()


def flow(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> Flow:
    """The 5×5 flow matrix over {none, A, I, P, L} between two dates, with 流转率 and the flow kinds; a
    ValueError for a key that no consumer was ever in a state of.

    Only start and end states count (Databank's 链路流转分析): moves inside the interval are not seen.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> f = flow(wh, "brand", "B01", "2026-10-01", "2026-10-24"); f
    Flow(brand B01 2026-10-01 → 2026-10-24: new 63, deepened 21, regressed 8, churned 17, stayed 53)
    >>> f.matrix["A"]["I"], f["from"] == f.start
    (16, True)
    """
    start, end = ordered_days(start, end, "flow", distinct=True)
    a = states(wh, scope, start, key).select("consumer_id", s0="aipl")
    b = states(wh, scope, end, key).select("consumer_id", s1="aipl")
    j = a.outer_join(b, a.consumer_id == b.consumer_id)
    j = j.select(s0=j.s0.fill_null("none"), s1=j.s1.fill_null("none"))
    cells = j.group_by(["s0", "s1"]).aggregate(n=lambda t: t.count()).execute()
    if cells.empty:
        _require_key(wh, scope, key)
    matrix = {s: {t: 0 for t in FLOW_STATES} for s in FLOW_STATES}
    for r in cells.itertuples():
        matrix[r.s0][r.s1] = int(r.n)
    at_start = {s: sum(matrix[s].values()) for s in FLOW_STATES}
    rates = {
        s: {t: (matrix[s][t] / at_start[s] if at_start[s] else None) for t in FLOW_STATES}
        for s in AIPL_STATES
    }
    kinds = {"new": 0, "deepened": 0, "regressed": 0, "churned": 0, "stayed": 0}
    for s in FLOW_STATES:
        for t in FLOW_STATES:
            n = matrix[s][t]
            if s == "none" and t != "none":
                kinds["new"] += n
            elif t == "none" and s != "none":
                kinds["churned"] += n
            elif RANK[t] > RANK[s]:
                kinds["deepened"] += n
            elif RANK[t] < RANK[s]:
                kinds["regressed"] += n
            elif s != "none":
                kinds["stayed"] += n
    return Flow({"scope": scope, "key": key, "from": str(start), "to": str(end), "matrix": matrix,
                 "rates": rates, "kinds": kinds})


def movers(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> ir.Table:
    """consumer_id, s0, s1: the AIPL state on `start` and on `end` ("none" when in none) of every consumer of
    `key` in a state on either day, those who stayed included (the cells of `flow`).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> m = movers(wh, "brand", "B01", "2026-10-01", "2026-10-24")
    >>> m.columns, int(m.count().execute()), int(m.filter((m.s0 == "A") & (m.s1 == "I")).count().execute())
    (('consumer_id', 's0', 's1'), 162, 16)
    """
    start, end = ordered_days(start, end, "flow", distinct=True)
    a = states(wh, scope, start, key).select("consumer_id", s0="aipl")
    b = states(wh, scope, end, key).select("consumer_id", s1="aipl")
    j = a.outer_join(b, a.consumer_id == b.consumer_id)
    return j.select(consumer_id=ibis.coalesce(j.consumer_id, j.consumer_id_right),
                    s0=j.s0.fill_null("none"), s1=j.s1.fill_null("none"))


def flow_cell(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date, cell: str) -> FlowCell:
    """The consumers of one cell `FROM:TO` of the flow between two days (e.g. `A:I`: in A on `start`, in I on
    `end`), with the name their saved list gets.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> flow_cell(wh, "brand", "B01", "2026-10-01", "2026-10-24", "A:I")
    FlowCell(flow_B01_A_to_I_2026-10-01_2026-10-24: 16 consumers)
    """
    s0, _, s1 = cell.partition(":")
    if s0 not in FLOW_STATES or s1 not in FLOW_STATES:
        raise ValueError(f"a cell is FROM:TO over {', '.join(FLOW_STATES)}, not {cell!r}")
    d0, d1 = ordered_days(start, end, "flow", distinct=True)
    m = movers(wh, scope, key, d0, d1)
    ids = m.filter((m.s0 == s0) & (m.s1 == s1)).select("consumer_id").execute()
    return FlowCell(name=f"flow_{key}_{s0}_to_{s1}_{d0}_{d1}", consumers=ids)


def attribution(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date,
                by: str = "channel") -> pd.DataFrame:
    """Credit for upward moves between two days, by channel (or touchpoint, or event_type).

    Each consumer who moved up is credited to their behaviour events of the key in (start, end]:
    last-touch gives the latest one the whole credit, linear splits it equally among them all.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> a = attribution(wh, "brand", "B01", "2026-10-01", "2026-10-24")
    >>> a.head(3).round(2)
       channel  linear  last_touch
    0   (none)   45.65        46.0
    1  display   12.67        13.0
    2     live   10.93        11.0
    >>> round(float(a.linear.sum()), 6), float(a.last_touch.sum())  # one credit per credited consumer, either way
    (84.0, 84.0)
    """
    if by not in ("channel", "touchpoint", "event_type"):
        raise ValueError("by must be channel, touchpoint or event_type")
    m = movers(wh, scope, key, start, end)
    up = m.filter(m.s1.cases(*[(s, r) for s, r in RANK.items()]) > m.s0.cases(*[(s, r) for s, r in RANK.items()]))
    ev = wh.table("events")
    col = ev.brand_id if scope == "brand" else ev.category_id
    day = wh.local_day(ev.ts)
    ev = ev.filter((col == key) & (day > ibis.literal(_day(start))) & (day <= ibis.literal(_day(end))))
    touches = ev.semi_join(up, "consumer_id").select("consumer_id", "ts", label=ev[by].fill_null("(none)"))
    w = ibis.window(group_by="consumer_id")
    t = touches.mutate(n=touches.count().over(w), latest=touches.ts.max().over(w))
    credit = t.group_by("label").aggregate(
        linear=(1.0 / t.n).sum(),
        last_touch=(t.ts == t.latest).cast("float64").sum(),
    ).execute()
    # ties at the same instant share the last touch
    ties = t.filter(t.ts == t.latest).group_by("consumer_id").aggregate(k=lambda x: x.count())
    if int(ties.filter(ties.k > 1).count().execute()):
        tt = t.filter(t.ts == t.latest).inner_join(ties, "consumer_id")
        credit = credit.drop(columns="last_touch").merge(
            tt.group_by("label").aggregate(last_touch=(1.0 / tt.k).sum()).execute(), on="label", how="left"
        ).fillna({"last_touch": 0.0})
    return credit.rename(columns={"label": by}).sort_values("linear", ascending=False, ignore_index=True)
