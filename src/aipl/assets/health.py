"""FAST (DOMAIN.md §4), GROW (§5), industry benchmarks and the FAST ranking (榜单) per category."""

from __future__ import annotations

import math
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl import schema
from aipl.assets.build import intervals
from aipl.assets.query import RANK, ordered_days, states
from aipl.vocab import MEMBER_ACTIVITY
from aipl.warehouse import Warehouse

# member activity for FAST's T: 加购, 收藏, 领取会员权益 (coupon / trial claims), 购买
PERCENTILES = (0.25, 0.50, 0.75, 0.90)


def brand_categories(wh: Warehouse) -> pd.DataFrame:
    """Each brand's category: the level-2 category most of its events carry (its industry for benchmarks)."""
    ev = wh.table("events")
    ev = ev.filter(ev.brand_id.notnull() & ev.category_id.notnull())
    n = ev.group_by(["brand_id", "category_id"]).aggregate(n=lambda t: t.count())
    top = n.group_by("brand_id").aggregate(category_id=n.category_id.argmax(n.n))
    return top.execute()


def fast(wh: Warehouse, start: str | date, end: str | date, advancing_days: int = 7) -> pd.DataFrame:
    """F, A, S, T of every brand over [start, end], plus F's index against its category's median (= 100).

    F = consumers in any AIPL state on any day of the period (their union); A = share of the AIPL consumers
    of `end - advancing_days` who stand in a higher state on `end` (周加深率); S = active members across
    the brand's shops on `end`; T = members with 加购/收藏/权益/购买 in the 30 days to `end`, over S.
    """
    d0, d1 = ordered_days(start, end)
    iv = intervals(wh)
    aipl = iv.filter((iv.scope == "brand") & iv.cond.isin(["A", "I", "P", "L"])
                     & (iv.start <= ibis.literal(d1)) & (iv.end > ibis.literal(d0)))
    f = aipl.group_by(aipl.key.name("brand_id")).aggregate(F=aipl.consumer_id.nunique()).execute()

    before = states(wh, "brand", d1 - timedelta(days=advancing_days)).select("key", "consumer_id", s0="aipl")
    after = states(wh, "brand", d1).select("key", "consumer_id", s1="aipl")
    j = before.left_join(after, ["key", "consumer_id"])
    r0 = j.s0.cases(*[(s, RANK[s]) for s in ("A", "I", "P", "L")])
    r1 = j.s1.fill_null("none").cases(*[(s, RANK[s]) for s in ("none", "A", "I", "P", "L")])
    a = j.group_by(j.key.name("brand_id")).aggregate(
        aipl_start=j.count(), advanced=((r1 > r0) & (j.s0 != "L")).cast("int64").sum()
    ).execute()

    m = wh.table("members")
    m = m.filter((m.status == "active") & (wh.local_day(m.joined_at) <= ibis.literal(d1)))
    s = m.group_by("brand_id").aggregate(S=m.consumer_id.nunique()).execute()
    ev = wh.table("events")
    act = ev.filter(ev.event_type.isin(list(MEMBER_ACTIVITY)) & ev.brand_id.notnull())
    day = wh.local_day(act.ts)
    act = act.filter((day > ibis.literal(d1 - timedelta(days=30))) & (day <= ibis.literal(d1)))
    act = act.select("brand_id", "consumer_id").distinct()
    mem = m.select("brand_id", "consumer_id").distinct()
    t = act.inner_join(mem, ["brand_id", "consumer_id"]).group_by("brand_id").aggregate(active=lambda x: x.count())
    t = t.execute()

    out = f.merge(a, on="brand_id", how="outer").merge(s, on="brand_id", how="outer")
    out = out.merge(t, on="brand_id", how="left")
    out = out.fillna({"F": 0, "aipl_start": 0, "advanced": 0, "S": 0, "active": 0})
    out["A"] = (out.advanced / out.aipl_start).where(out.aipl_start > 0)
    out["T"] = (out.active / out.S).where(out.S > 0)
    cats = brand_categories(wh)
    out = out.merge(cats, on="brand_id", how="left")
    out["F_index"] = 100 * out.F / out.groupby("category_id").F.transform("median")
    cols = ["brand_id", "category_id", "F", "F_index", "A", "S", "T", "aipl_start", "advanced", "active"]
    return out[cols].astype({"F": int, "S": int}).sort_values("brand_id", ignore_index=True)


def benchmarks(table: pd.DataFrame, metrics: tuple[str, ...] = ("F", "A", "S", "T")) -> pd.DataFrame:
    """P25 / P50 / P75 / P90 of each metric across the brands of each category."""
    rows = []
    for cat, g in table.groupby("category_id"):
        for mname in metrics:
            vals = g[mname].dropna()
            row = {"category_id": cat, "metric": mname, "brands": len(vals)}
            for p in PERCENTILES:
                row[f"P{int(p * 100)}"] = float(vals.quantile(p)) if len(vals) else None
            rows.append(row)
    return pd.DataFrame(rows, columns=["category_id", "metric", "brands", *(f"P{int(p * 100)}" for p in PERCENTILES)])


def ranking(table: pd.DataFrame, category: str | None = None) -> pd.DataFrame:
    """The FAST health ranking per category: the mean of each brand's percentile rank on F, A, S and T.

    (Tmall's 榜单 formula is not public; this score is our documented default.)
    """
    t = table if category is None else table[table.category_id == category]
    if t.empty:
        raise ValueError(f"no brand in category {category!r}")
    t = t.copy()
    pct = [t.groupby("category_id")[m].rank(pct=True) for m in ("F", "A", "S", "T")]
    t["score"] = 100 * pd.concat(pct, axis=1).mean(axis=1, skipna=True)
    t["rank"] = t.groupby("category_id").score.rank(ascending=False, method="min").astype(int)
    return t.sort_values(["category_id", "rank"], ignore_index=True)


def _lmdi(v1: float, v0: float) -> float:
    """The logarithmic mean L(a, b) = (a − b) / (ln a − ln b), with L(a, a) = a."""
    if v1 == v0:
        return v1
    return (v1 - v0) / (math.log(v1) - math.log(v0))


def _decompose(b0: int, o0: int, g0: float, b1: int, o1: int, g1: float) -> dict[str, float]:
    """LMDI: a segment's ΔGMV split exactly into G (buyers), R (occasions per buyer), O (GMV per occasion)."""
    if g0 > 0 and g1 > 0:
        w = _lmdi(g1, g0)
        return {"G": w * math.log(b1 / b0), "R": w * math.log((o1 / b1) / (o0 / b0)),
                "O": w * math.log((g1 / o1) / (g0 / o0))}
    return {"G": g1 - g0, "R": 0.0, "O": 0.0}  # a segment that appears or vanishes: all of it is penetration


def _strategy_crowds(wh: Warehouse) -> ir.Table | None:
    """consumer_id, crowd from the crowd tags (None before the first `aipl crowd refresh`)."""
    if schema.CONSUMER_TAGS.name not in wh.con.list_tables():
        return None
    t = wh.table(schema.CONSUMER_TAGS.name)
    t = t.filter(t.tag == "strategy_crowd")
    return t.inner_join(wh.table(schema.CONSUMER_IDS.name), "id").select("consumer_id", crowd=t.value)


def grow(wh: Warehouse, brand: str, period0: tuple[str, str], period1: tuple[str, str],
         new_customer_days: int = 365) -> dict:
    """GROW: ΔGMV between two periods split exactly into G (buyers), R (frequency) and O (spend per occasion),
    by new and returning customers and — once crowd tags exist — by strategy crowd (LMDI); plus W in both
    variants: BCG's (GMV of categories the brand did not sell in period 0) and 快消's new-product score.

    A purchase occasion is a buyer's purchase day; a new customer bought nothing from the brand in the
    `new_customer_days` before the period.
    """
    p0 = ordered_days(*period0, "base period")
    p1 = ordered_days(*period1, "compared period")
    ev = wh.table("events")
    buys = ev.filter((ev.event_type == "purchase") & (ev.brand_id == brand))
    buys = buys.mutate(day=wh.local_day(buys.ts), amount=buys.amount.fill_null(0.0))
    crowds = _strategy_crowds(wh)
    parts = {}
    for label, (a, b) in (("0", p0), ("1", p1)):
        inside = buys.filter((buys.day >= ibis.literal(a)) & (buys.day <= ibis.literal(b)))
        lookback = ibis.literal(a - timedelta(days=new_customer_days))
        prior = buys.filter((buys.day < ibis.literal(a)) & (buys.day >= lookback))
        old_ids = prior.select("consumer_id").distinct().mutate(old=ibis.literal(True))
        seg = inside.left_join(old_ids, "consumer_id")
        seg = seg.select(inside.consumer_id, inside.day, inside.amount,
                         segment=ibis.cases((seg.old.fill_null(False), "returning"), else_="new"))
        if crowds is not None:
            seg = seg.left_join(crowds, "consumer_id")
            seg = seg.select(seg.consumer_id, seg.day, seg.amount, seg.segment, crowd=seg.crowd.fill_null("untagged"))
        else:
            seg = seg.mutate(crowd=ibis.literal("untagged"))

        def measure(t, by):
            per = t.group_by(by).aggregate(
                buyers=t.consumer_id.nunique(),
                occasions=(t.consumer_id.cast("string") + "|" + t.day.cast("string")).nunique(),
                gmv=t.amount.sum(),
            ).execute()
            return {r[0]: (int(r.buyers), int(r.occasions), float(r.gmv)) for r in per.itertuples(index=False)}

        parts[label] = measure(seg, "segment")
        parts["crowd" + label] = measure(seg, "crowd")
        cats = inside.filter(inside.category_id.notnull()).group_by("category_id").aggregate(gmv=inside.amount.sum())
        parts["cats" + label] = dict(cats.execute().itertuples(index=False))
    out = {"brand": brand, "period0": [str(x) for x in p0], "period1": [str(x) for x in p1], "segments": {}}
    total = {"G": 0.0, "R": 0.0, "O": 0.0}
    for segment in ("new", "returning"):
        b0, o0, g0 = parts["0"].get(segment, (0, 0, 0.0))
        b1, o1, g1 = parts["1"].get(segment, (0, 0, 0.0))
        contrib = _decompose(b0, o0, g0, b1, o1, g1)
        out["segments"][segment] = {"gmv0": g0, "gmv1": g1, "buyers0": b0, "buyers1": b1,
                                    "occasions0": o0, "occasions1": o1, **contrib}
        for k in total:
            total[k] += contrib[k]
    if crowds is not None:
        out["crowds"] = {}
        for crowd in sorted(set(parts["crowd0"]) | set(parts["crowd1"])):
            b0, o0, g0 = parts["crowd0"].get(crowd, (0, 0, 0.0))
            b1, o1, g1 = parts["crowd1"].get(crowd, (0, 0, 0.0))
            out["crowds"][crowd] = {"gmv0": g0, "gmv1": g1, "buyers0": b0, "buyers1": b1,
                                    **_decompose(b0, o0, g0, b1, o1, g1)}
    gmv0 = sum(v[2] for v in parts["0"].values())
    gmv1 = sum(v[2] for v in parts["1"].values())
    out.update(gmv0=gmv0, gmv1=gmv1, delta=gmv1 - gmv0, **total)
    out["W"] = float(sum(v for c, v in parts["cats1"].items() if c not in parts["cats0"]))
    out["W_fmcg"] = new_product_strength(wh, brand, p1, new_customer_days)
    return out


NEW_PRODUCT_DAYS = 90  # a product launched in the period or the 90 days before it is new [P]
LAUNCH_WINDOW = 30  # 首发期: the first 30 days after a launch (DOMAIN.md §5 [P])


def _new_product_parts(wh: Warehouse, brands: list[str], p1: tuple[date, date], new_customer_days: int
                       ) -> pd.DataFrame:
    """Per brand: new products' share of new customers' GMV, 首发期 GMV and launches per quarter in p1."""
    a, b = p1
    products = wh.table("products")
    new = products.filter(products.brand_id.isin(brands) & products.launch_date.notnull()
                          & (products.launch_date >= ibis.literal(a - timedelta(days=NEW_PRODUCT_DAYS)))
                          & (products.launch_date <= ibis.literal(b)))
    launches = new.filter(new.launch_date >= ibis.literal(a)).group_by("brand_id").aggregate(
        launches=lambda t: t.count()).execute().set_index("brand_id").launches
    ev = wh.table("events")
    buys = ev.filter((ev.event_type == "purchase") & ev.brand_id.isin(brands))
    buys = buys.mutate(day=wh.local_day(buys.ts), amount=buys.amount.fill_null(0.0))
    inside = buys.filter((buys.day >= ibis.literal(a)) & (buys.day <= ibis.literal(b)))
    since = ibis.literal(a - timedelta(days=new_customer_days))
    prior = buys.filter((buys.day < ibis.literal(a)) & (buys.day >= since))
    old = prior.select("brand_id", "consumer_id").distinct().mutate(old=ibis.literal(True))
    t = inside.left_join(old, ["brand_id", "consumer_id"]).left_join(
        new.select("item_id", launched="launch_date"), "item_id")
    is_new_customer = ~t.old.fill_null(False)
    first = t.launched.notnull() & (t.day <= t.launched.cast("date") + ibis.interval(days=LAUNCH_WINDOW - 1))
    agg = t.group_by("brand_id").aggregate(
        new_customer_gmv=t.amount.sum(where=is_new_customer),
        new_product_new_customer_gmv=t.amount.sum(where=is_new_customer & t.launched.notnull()),
        launch_gmv=t.amount.sum(where=first),
    ).execute().set_index("brand_id").reindex(brands)
    quarters = ((b - a).days + 1) / 91.25
    return pd.DataFrame({
        "new_product_share_of_new_customers": (agg.new_product_new_customer_gmv.fillna(0)
                                               / agg.new_customer_gmv.replace(0, float("nan"))).fillna(0.0),
        "launch_gmv": agg.launch_gmv.fillna(0.0),
        "launches_per_quarter": launches.reindex(brands, fill_value=0) / quarters,
    }, index=brands)


def new_product_strength(wh: Warehouse, brand: str, p1: tuple[date, date], new_customer_days: int = 365) -> dict:
    """W in the 快消 version (新品力, DOMAIN.md §5 [P]): the brand's new products' share of its new customers'
    GMV, their GMV in the 30 days after launch (首发期), and launches per quarter — each as an index against
    the median of the brand's category (100 = median), and their equal-weight mean as the score."""
    bc = brand_categories(wh)
    cat = bc[bc.brand_id == brand].category_id
    peers = sorted(bc[bc.category_id == cat.iloc[0]].brand_id) if len(cat) else [brand]
    df = _new_product_parts(wh, peers, p1, new_customer_days)
    med = df.median()
    mine = df.loc[brand]
    index = {k: (100 * mine[k] / med[k]) if med[k] else (100.0 if mine[k] == 0 else None) for k in df.columns}
    vals = [v for v in index.values() if v is not None]
    return {"components": {k: float(v) for k, v in mine.items()}, "index": index, "peers": len(peers),
            "score": float(sum(vals) / len(vals)) if vals else None}
