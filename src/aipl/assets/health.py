"""FAST (DOMAIN.md §4), GROW (§5), industry benchmarks and the FAST ranking (榜单) per category."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl import schema
from aipl.assets.build import intervals
from aipl.assets.query import RANK, ordered_days, states
from aipl.assets.results import FastSummary, Grow, NewProductStrength
from aipl.config import parse_day
from aipl.privacy import PEER, foreign, peer_shortfall
from aipl.vocab import MEMBER_ACTIVITY
from aipl.warehouse import Warehouse

PERCENTILES = (0.25, 0.50, 0.75, 0.90)
METRICS = ("F", "A", "S", "T")
PERIOD_DAYS = 30  # the default FAST period: the 30 days to the last day with events
BENCHMARK = "industry benchmark"
NO_BRANDS = ("FAST and its ranking compare brands, and this workspace's events carry no brand (category-only data, "
             "such as UserBehavior): categories have AIPL, DEEPLINK, their trend and flows (scope category), not FAST")


def period(start: str | date | None = None, end: str | date | None = None, last_day: date | None = None,
           days: int = PERIOD_DAYS) -> tuple[date, date]:
    """A FAST period: `end` defaults to `last_day` (the data's last day), `start` to `days` days to `end`.

    >>> period(end="2026-11-11")
    (datetime.date(2026, 10, 13), datetime.date(2026, 11, 11))
    >>> period("2026-11-01", last_day=date(2026, 11, 11))
    (datetime.date(2026, 11, 1), datetime.date(2026, 11, 11))
    """
    if end is None and last_day is None:
        raise ValueError("the workspace has no events yet: give the period's end, or ingest some first")
    d1 = parse_day(end, "end") if end is not None else last_day
    if start is None and d1 < date.min + timedelta(days=days - 1):
        raise ValueError(f"end {d1} leaves no {days}-day period before it; give start")
    return ordered_days(start if start is not None else d1 - timedelta(days=days - 1), d1)


def brand_categories(wh: Warehouse) -> pd.DataFrame:
    """Each brand's category: the level-2 category most of its events carry (its industry for benchmarks);
    columns brand_id, category_id.

    >>> from aipl.simulate import sample_warehouse
    >>> bc = brand_categories(sample_warehouse())
    >>> dict(sorted(zip(bc.brand_id, bc.category_id)))
    {'B01': 'skincare', 'B02': 'makeup', 'B03': 'womenswear', 'B04': 'menswear'}
    """
    ev = wh.table("events")
    ev = ev.filter(ev.brand_id.notnull() & ev.category_id.notnull())
    n = ev.group_by(["brand_id", "category_id"]).aggregate(n=lambda t: t.count())
    top = n.group_by("brand_id").aggregate(category_id=n.category_id.argmax(n.n))
    return top.execute()


def category_brands(wh: Warehouse) -> pd.DataFrame:
    """Every (brand_id, category_id) pair with events: the brands whose data a category's figures hold (a brand
    that sells in several categories is in each), which is what a category's peer count must count.

    >>> from aipl.simulate import sample_warehouse
    >>> sorted(category_brands(sample_warehouse()).itertuples(index=False, name=None))
    [('B01', 'skincare'), ('B02', 'makeup'), ('B03', 'womenswear'), ('B04', 'menswear')]
    """
    ev = wh.table("events")
    ev = ev.filter(ev.brand_id.notnull() & ev.category_id.notnull())
    return ev.select("brand_id", "category_id").distinct().execute()


def fast(wh: Warehouse, start: str | date, end: str | date, advancing_days: int = 7) -> pd.DataFrame:
    """F, A, S, T of every brand over [start, end], plus F's index against its category's median (= 100).

    F = consumers in any AIPL state on any day of the period (their union); A = share of the AIPL consumers
    of `end - advancing_days` who stand in a higher state on `end` (周加深率); S = active members across
    the brand's shops on `end`; T = members with 加购/收藏/权益/购买 in the 30 days to `end`, over S.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> t = fast(wh, "2026-09-25", "2026-10-24")
    >>> list(t.columns)
    ['brand_id', 'category_id', 'F', 'F_index', 'A', 'S', 'T', 'aipl_start', 'advanced', 'active']
    >>> t[["brand_id", "F", "S"]].to_dict("records")[:2]
    [{'brand_id': 'B01', 'F': 182, 'S': 4}, {'brand_id': 'B02', 'F': 184, 'S': 5}]
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


def benchmarks(table: pd.DataFrame, metrics: tuple[str, ...] = METRICS, viewer: Iterable[str] | None = None,
               min_peers: int = 5) -> pd.DataFrame:
    """P25 / P50 / P75 / P90 of each metric across the brands of each category (a table like `fast`'s).

    For a `viewer` (a tenant's granted brands; None: the owner, who sees every brand) they are its peers'
    percentiles, over the category's brands it is not granted, so that its own figures cannot be taken back out
    of them; a category with fewer than `min_peers` such brands (but some) is withheld, with the reason.

    >>> t = pd.DataFrame({"brand_id": ["B1", "B2", "B3"], "category_id": ["c"] * 3, "F": [100, 200, 300]})
    >>> benchmarks(t, metrics=("F",))
      category_id metric  brands    P25    P50    P75    P90 withheld
    0           c      F       3  150.0  200.0  250.0  280.0     None
    >>> benchmarks(t, metrics=("F",), viewer={"B1"})[["brands", "P50", "withheld"]].to_dict("records")
    [{'brands': 2, 'P50': None, 'withheld': 'industry benchmark needs ≥ 5 other brands; category c has 2'}]
    >>> benchmarks(t, metrics=("F",), viewer={"B1"}, min_peers=2)[["brands", "P50"]].to_dict("records")
    [{'brands': 2, 'P50': 250.0}]
    """
    rows = []
    for cat, g in table.groupby("category_id"):
        others = foreign(g.brand_id, viewer)
        reason = peer_shortfall(min_peers, BENCHMARK, f"category {cat}", len(others))
        group = g[g.brand_id.isin(others)] if others else g
        for mname in metrics:
            vals = group[mname].dropna()
            row = {"category_id": cat, "metric": mname, "brands": len(others) if reason else len(vals)}
            for p in PERCENTILES:
                row[f"P{int(p * 100)}"] = float(vals.quantile(p)) if len(vals) and not reason else None
            rows.append({**row, "withheld": reason})
    cols = ["category_id", "metric", "brands", *(f"P{int(p * 100)}" for p in PERCENTILES), "withheld"]
    return pd.DataFrame(rows, columns=cols).astype({f"P{int(p * 100)}": object for p in PERCENTILES})


def _withheld(table: pd.DataFrame, viewer: Iterable[str] | None, min_peers: int) -> pd.Series:
    """Per row of a FAST table: why its category's peer figures are withheld from `viewer` (None: shown)."""
    reasons = {cat: peer_shortfall(min_peers, BENCHMARK, f"category {cat}", len(foreign(g.brand_id, viewer)))
               for cat, g in table.groupby("category_id")}
    return table.category_id.map(reasons).astype(object).where(table.category_id.map(reasons).notna(), None)


def ranking(table: pd.DataFrame, category: str | None = None) -> pd.DataFrame:
    """The FAST health ranking per category: the mean of each brand's percentile rank on F, A, S and T.

    (Tmall's 榜单 formula is not public; this score is our documented default.)

    >>> t = pd.DataFrame({"brand_id": ["B1", "B2", "B3"], "category_id": ["c"] * 3, "F": [100, 200, 300],
    ...                   "A": [0.1, 0.2, 0.3], "S": [5, 6, 7], "T": [0.5, 0.6, 0.7]})
    >>> ranking(t)[["brand_id", "score", "rank"]].round(1)
      brand_id  score  rank
    0       B3  100.0     1
    1       B2   66.7     2
    2       B1   33.3     3
    """
    t = table if category is None else table[table.category_id == category]
    if t.empty:
        raise ValueError(f"no brand in category {category!r}")
    t = t.copy()
    pct = [t.groupby("category_id")[m].rank(pct=True) for m in METRICS]
    t["score"] = 100 * pd.concat(pct, axis=1).mean(axis=1, skipna=True)
    # a brand with no category, or no metric to rank, has no place (NA, not a crash)
    t["rank"] = t.groupby("category_id").score.rank(ascending=False, method="min").astype("Int64")
    return t.sort_values(["category_id", "rank"], ignore_index=True)


def _brand_table(wh: Warehouse, d0: date, d1: date) -> pd.DataFrame:
    """`fast` over [d0, d1]; a ValueError saying why when the workspace's data has no brand at all."""
    table = fast(wh, d0, d1)
    if table.empty and brand_categories(wh).empty:
        raise ValueError(NO_BRANDS)
    return table


def fast_summary(wh: Warehouse, start: str | date, end: str | date, brands: Iterable[str] | None = None,
                 viewer: Iterable[str] | None = None) -> FastSummary:
    """FAST of `brands` (default: every brand) over [start, end], each metric's percentile within its category
    (`F_pct` …), and the P25/P50/P75/P90 of their categories (aggregates only); a ValueError when none of
    `brands` has data. For a `viewer` (a tenant's brands) F's index and the percentiles are against its peers
    (see `benchmarks`), and withheld, with the reason, in a category of fewer than [privacy] min_peer_brands.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> s = fast_summary(wh, "2026-09-25", "2026-10-24", brands=["B01"]); s
    FastSummary(2026-09-25 … 2026-10-24: 1 brands, 1 categories)
    >>> s.brands[["brand_id", "F", "S"]].to_dict("records")
    [{'brand_id': 'B01', 'F': 182, 'S': 4}]
    """
    d0, d1 = ordered_days(start, end)
    table = _brand_table(wh, d0, d1)
    for m in METRICS:
        table[f"{m}_pct"] = table.groupby("category_id")[m].rank(pct=True)
    minimum = wh.config.min_peer_brands
    table["withheld"] = _withheld(table, viewer, minimum)
    if viewer is not None:
        bench = benchmarks(table, viewer=viewer, min_peers=minimum)
        p50 = bench[bench.metric == "F"].set_index("category_id").P50
        table["F_index"] = (100 * table.F / table.category_id.map(p50).astype(float)).astype(object)
        shut = table.withheld.notna()
        table.loc[shut, ["F_index", *(f"{m}_pct" for m in METRICS)]] = None
    mine = table
    if brands is not None:
        wanted = set(brands)
        mine = table[table.brand_id.isin(wanted)].reset_index(drop=True)
        if mine.empty:
            raise ValueError(f"no brand {', '.join(map(repr, sorted(wanted)))} in the workspace")
    bench = benchmarks(table, viewer=viewer, min_peers=minimum)
    bench = bench[bench.category_id.isin(mine.category_id)].reset_index(drop=True)
    return FastSummary({"from": str(d0), "to": str(d1), "brands": mine, "benchmarks": bench})


def fast_ranking(wh: Warehouse, start: str | date, end: str | date, category: str | None = None,
                 brands: Iterable[str] | None = None) -> pd.DataFrame:
    """The FAST 健康度榜单 over [start, end] (of one `category`, or of all): category_id, rank, brand_id, own,
    score, F, A, S, T, withheld. Given a tenant's `brands`, only the categories they sell in, and every other
    brand shown as 同行 peer with its rank and score only; in a category of fewer than [privacy] min_peer_brands
    other brands only the tenant's own rows, with no rank or score and the reason in `withheld`.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> fast_ranking(wh, "2026-09-25", "2026-10-24", brands=["B01"])[["category_id", "rank", "brand_id", "own"]]
      category_id  rank brand_id   own
    0    skincare     1      B01  True
    """
    d0, d1 = ordered_days(start, end)
    table = ranking(_brand_table(wh, d0, d1), category)
    table["own"] = True if brands is None else table.brand_id.isin(set(brands))
    table["withheld"] = _withheld(table, brands, wh.config.min_peer_brands)
    if brands is not None:
        table = table[table.category_id.isin(set(table.category_id[table.own]))].copy()
        table = table[table.own | table.withheld.isna()]
        if table.withheld.notna().any():  # a place among too few is a peer's figure
            table = table.astype({"rank": object, "score": object})
            table.loc[table.withheld.notna(), ["rank", "score"]] = None
        table.loc[~table.own, "brand_id"] = PEER
        table.loc[~table.own, list(METRICS)] = None  # a peer's rank and score are the 榜单; its figures its own
    cols = ["category_id", "rank", "brand_id", "own", "score", *METRICS, "withheld"]
    return table[cols].reset_index(drop=True)


def _lmdi(v1: float, v0: float) -> float:
    """The logarithmic mean L(a, b) = (a − b) / (ln a − ln b), with L(a, a) = a (also for sums that differ
    only by the order they were added in, whose logarithms are equal).

    >>> _lmdi(3841.53, 3841.5300000000007)
    3841.53
    """
    if math.isclose(v1, v0, rel_tol=1e-12):
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


def grow(wh: Warehouse, brand: str, period0: tuple[str | date, str | date], period1: tuple[str | date, str | date],
         new_customer_days: int = 365, viewer: Iterable[str] | None = None) -> Grow:
    """GROW: ΔGMV between two periods split exactly into G (buyers), R (frequency) and O (spend per occasion),
    by new and returning customers and — once crowd tags exist — by strategy crowd (LMDI); plus W in both
    variants: BCG's (GMV of categories the brand did not sell in period 0) and 快消's new-product score.

    A purchase occasion is a buyer's purchase day; a new customer bought nothing from the brand in the
    `new_customer_days` before the period. For a `viewer` (a tenant's brands) W 新品力 is against its peers
    (see `new_product_strength`).

    >>> from aipl.simulate import sample_warehouse
    >>> g = grow(sample_warehouse(), "B01", ("2026-09-15", "2026-09-30"), ("2026-10-01", "2026-10-16")); g
    Grow(B01 2026-09-15 … 2026-09-30 → 2026-10-01 … 2026-10-16: Δ -1,645.92 = G 0.00 + R 0.00 + O -1,645.92)
    >>> round(g.G + g.R + g.O - g.delta, 6) == 0 and set(g.segments) == {"new", "returning"}
    True
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
    out = Grow({"brand": brand, "period0": [str(x) for x in p0], "period1": [str(x) for x in p1], "segments": {}})
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
    out["W_fmcg"] = new_product_strength(wh, brand, p1, new_customer_days, viewer)
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


def new_product_strength(wh: Warehouse, brand: str, p1: tuple[date, date], new_customer_days: int = 365,
                         viewer: Iterable[str] | None = None) -> NewProductStrength:
    """W in the 快消 version (新品力, DOMAIN.md §5 [P]): the brand's new products' share of its new customers'
    GMV, their GMV in the 30 days after launch (首发期), and launches per quarter — each as an index against
    the median of the brand's category (100 = median), and their equal-weight mean as the score. For a
    `viewer` (a tenant's brands) the median is its peers' (see `benchmarks`), and the index and score are
    withheld, with the reason, in a category of fewer than [privacy] min_peer_brands other brands.

    >>> from aipl.simulate import sample_warehouse
    >>> w = new_product_strength(sample_warehouse(), "B01", (date(2026, 10, 1), date(2026, 10, 24)))
    >>> sorted(w)
    ['components', 'index', 'peers', 'score', 'withheld']
    >>> sorted(w["components"])
    ['launch_gmv', 'launches_per_quarter', 'new_product_share_of_new_customers']
    >>> w["peers"], w["score"]  # B01 is alone in its category: every index is the median's
    (1, 100.0)
    """
    bc = brand_categories(wh)
    cat = bc[bc.brand_id == brand].category_id
    peers = sorted(bc[bc.category_id == cat.iloc[0]].brand_id) if len(cat) else [brand]
    others = foreign(peers, viewer)
    reason = peer_shortfall(wh.config.min_peer_brands, BENCHMARK, "this category", len(others))
    df = _new_product_parts(wh, peers, p1, new_customer_days)
    med = df.loc[others].median() if others else df.median()
    mine = df.loc[brand]
    index = {k: None if reason else (100 * mine[k] / med[k]) if med[k] else (100.0 if mine[k] == 0 else None)
             for k in df.columns}
    vals = [v for v in index.values() if v is not None]
    return NewProductStrength(components={k: float(v) for k, v in mine.items()}, index=index,
                              peers=len(others) if viewer is not None else len(peers),
                              score=float(sum(vals) / len(vals)) if vals else None, withheld=reason)
