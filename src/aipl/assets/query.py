"""Questions answered from the asset intervals: a consumer's state on a day, counts per state, flows."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.assets.build import CHANGES, CONDITIONS, SCOPES, held, intervals
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
    """Whether any consumer of the brand or category (`scope`, `key`) was ever in a state."""
    c = wh.table(CHANGES)
    return bool(int(c.filter((c.scope == scope) & (c.key == key)).limit(1).count().execute()))


def states(wh: Warehouse, scope: str, day: str | date, key: str | None = None) -> ir.Table:
    """key, consumer_id, aipl, deeplink of every consumer in a state on `day` (consumers in none are absent)."""
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
    """Each consumer's AIPL and DEEPLINK state on `day`, with `state_since` and the touchpoint that put them there."""
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
    parts = df.touch.fillna("||").str.split("|", n=2, expand=True)
    return df.drop(columns="touch").assign(
        via_event=parts[0].replace("", None), via_channel=parts[1].replace("", None),
        via_touchpoint=parts[2].replace("", None),
    )


def state_counts(wh: Warehouse, scope: str, day: str | date, key: str | None = None) -> ir.Table:
    """key, aipl, deeplink, n: how many consumers each state of each key (or of `key`) holds on `day`, summed
    from the daily count changes (no consumer is read)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    c = wh.table(CHANGES)
    c = c.filter((c.scope == scope) & (c.day <= ibis.literal(_day(day))))
    if key is not None:
        c = c.filter(c.key == key)
    n = c.group_by(["key", "aipl", "deeplink"]).aggregate(n=c.change.sum())
    return n.filter(n.n > 0)


def snapshot(wh: Warehouse, scope: str, key: str, day: str | date) -> dict:
    """Counts per AIPL and DEEPLINK state of one brand or category on one day."""
    df = state_counts(wh, scope, day, key).execute()
    a, dl = df.groupby("aipl").n.sum(), df.groupby("deeplink").n.sum()
    return {
        "scope": scope, "key": key, "date": str(_day(day)),
        "counts": {st: int(a.get(st, 0)) for st in AIPL_STATES},
        "deeplink": {st: int(dl.get(st, 0)) for st in DEEPLINK_STATES},
    }


def snapshot_all(wh: Warehouse, scope: str, day: str | date) -> pd.DataFrame:
    """AIPL counts of every key on one day: one row per key, columns A, I, P, L."""
    s = state_counts(wh, scope, day)
    long = s.group_by(["key", "aipl"]).aggregate(n=s.n.sum()).execute()
    wide = long.pivot_table(index="key", columns="aipl", values="n", fill_value=0)
    return wide.reindex(columns=list(AIPL_STATES), fill_value=0).astype(int).reset_index()


def flow(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> dict:
    """The 5×5 flow matrix over {none, A, I, P, L} between two dates, with 流转率 and the flow kinds.

    Only start and end states count (Databank's 链路流转分析): moves inside the interval are not seen.
    """
    start, end = ordered_days(start, end, "flow", distinct=True)
    a = states(wh, scope, start, key).select("consumer_id", s0="aipl")
    b = states(wh, scope, end, key).select("consumer_id", s1="aipl")
    j = a.outer_join(b, a.consumer_id == b.consumer_id)
    j = j.select(s0=j.s0.fill_null("none"), s1=j.s1.fill_null("none"))
    cells = j.group_by(["s0", "s1"]).aggregate(n=lambda t: t.count()).execute()
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
    return {"scope": scope, "key": key, "from": str(_day(start)), "to": str(_day(end)), "matrix": matrix,
            "rates": rates, "kinds": kinds}


def movers(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> ir.Table:
    """consumer_id, s0, s1 of every consumer of `key` whose state differs between the two days."""
    start, end = ordered_days(start, end, "flow", distinct=True)
    a = states(wh, scope, start, key).select("consumer_id", s0="aipl")
    b = states(wh, scope, end, key).select("consumer_id", s1="aipl")
    j = a.outer_join(b, a.consumer_id == b.consumer_id)
    return j.select(consumer_id=ibis.coalesce(j.consumer_id, j.consumer_id_right),
                    s0=j.s0.fill_null("none"), s1=j.s1.fill_null("none"))


def attribution(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date,
                by: str = "channel") -> pd.DataFrame:
    """Credit for upward moves between two days, by channel (or touchpoint, or event_type).

    Each consumer who moved up is credited to their behaviour events of the key in (start, end]:
    last-touch gives the latest one the whole credit, linear splits it equally among them all.
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
