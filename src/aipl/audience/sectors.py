"""The seeds' sector views of crowds: how much a crowd's buyers spend per head against the market's (the apparel
strategy crowds GenZ, 潮流人群 and 奢品人群 "spend about twice the market per head", S004), and cross-category
penetration (Fashion × Beauty): of the buyers of one category group, the share who also bought another."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd
from pyroaring import BitMap

from aipl.audience.saved import bought
from aipl.audience.tags import IDS_TABLE
from aipl.config import parse_day
from aipl.warehouse import Warehouse


def crowd_spend(wh: Warehouse, crowds: dict[str, BitMap], start: str | date, end: str | date,
                brand: str | None = None, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per crowd (dense ids, see TagIndex): its `consumers`, its `buyers` from `start` to `end` (of the `brand`
    and the `categories` when given), their `gmv`, the `per_capita` spend (GMV ÷ buyers), the market's (every
    buyer's) `market_per_capita`, the `index` (100 × per_capita ÷ market_per_capita) and the crowd's
    `gmv_share` of the market's GMV.

    >>> from aipl.audience import TagIndex, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> index = TagIndex.load(wh)
    >>> spend = crowd_spend(wh, {"everyone": BitMap(index.universe)}, "2026-09-15", "2026-10-24")
    >>> spend.columns.tolist()
    ['crowd', 'consumers', 'buyers', 'gmv', 'per_capita', 'market_per_capita', 'index', 'gmv_share']
    >>> round(float(spend["index"].iloc[0]), 6), float(spend.gmv_share.iloc[0])
    (100.0, 1.0)
    """
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    buy = ev.filter((ev.event_type == "purchase") & (day >= ibis.literal(parse_day(start)))
                    & (day <= ibis.literal(parse_day(end))))
    if brand is not None:
        buy = buy.filter(buy.brand_id == brand)
    if categories:
        buy = buy.filter(buy.category_id.isin(list(categories)))
    per = buy.group_by("consumer_id").aggregate(spend=buy.amount.sum().fill_null(0.0))
    per = per.inner_join(wh.table(IDS_TABLE), "consumer_id").select("id", "spend").execute()
    spend = pd.Series(per.spend.to_numpy(float), index=per.id.to_numpy("int64"))
    buyers = BitMap(spend.index.tolist())
    market_gmv, market_buyers = float(spend.sum()), len(spend)
    market = market_gmv / market_buyers if market_buyers else None
    rows = []
    for name, ids in crowds.items():
        mine = ids & buyers
        gmv = float(spend.loc[list(mine)].sum()) if mine else 0.0
        per_capita = gmv / len(mine) if mine else None
        rows.append({"crowd": name, "consumers": len(ids), "buyers": len(mine), "gmv": gmv, "per_capita": per_capita,
                     "market_per_capita": market,
                     "index": 100 * per_capita / market if per_capita is not None and market else None,
                     "gmv_share": gmv / market_gmv if market_gmv else None})
    return pd.DataFrame(rows, columns=["crowd", "consumers", "buyers", "gmv", "per_capita", "market_per_capita",
                                       "index", "gmv_share"])


def category_groups(wh: Warehouse) -> dict[str, tuple[str, ...]]:
    """The level-1 categories (products' category_l1) with their level-2 categories; a level-2 category without
    a level-1 one is its own group.

    >>> from aipl.simulate import sample_warehouse
    >>> category_groups(sample_warehouse())
    {'apparel': ('menswear', 'womenswear'), 'beauty': ('makeup', 'skincare')}
    """
    p = wh.table("products")
    pairs = p.filter(p.category_id.notnull()).select("category_id", "category_l1").distinct().execute()
    pairs = pairs.assign(group=pairs.category_l1.fillna(pairs.category_id)).sort_values(["group", "category_id"])
    return {str(g): tuple(str(c) for c in d.category_id) for g, d in pairs.groupby("group", sort=True)}


def cross_category(wh: Warehouse, day: str | date, days: int = 365,
                   groups: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """Cross-category penetration over the `days` up to `day`: for each ordered pair of category groups (default
    `category_groups`), the buyers of `a`, of `b` and of both, `penetration` = both ÷ buyers of a, `base_rate`
    = buyers of b ÷ every buyer of a group, `tgi` = 100 × penetration ÷ base_rate, and the crowd `expr` of the
    buyers of both (e.g. Fashion × Beauty).

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> pen = cross_category(wh, wh.last_day())
    >>> pen[["a", "b"]].values.tolist()
    [['apparel', 'beauty'], ['beauty', 'apparel']]
    >>> row = pen.iloc[0]
    >>> bool(row.penetration == row.both / row.buyers_a)
    True
    """
    groups = groups if groups is not None else category_groups(wh)
    d = parse_day(day)
    ev = wh.table("events")
    local = wh.local_day(ev.ts)
    buy = ev.filter((ev.event_type == "purchase") & ev.category_id.notnull()
                    & (local > ibis.literal(d - timedelta(days=days))) & (local <= ibis.literal(d)))
    mapping = ibis.memtable(pd.DataFrame([(c, g) for g, cats in groups.items() for c in cats],
                                         columns=["category_id", "grp"]), schema={"category_id": "string",
                                                                                  "grp": "string"})
    g = buy.inner_join(mapping, "category_id").select("consumer_id", "grp").distinct()
    everyone = int(g.consumer_id.nunique().execute())
    n = g.group_by("grp").aggregate(buyers=g.count()).execute().set_index("grp").buyers
    other = g.select(consumer_id="consumer_id", grp_b="grp")
    both = (g.inner_join(other, "consumer_id").filter(lambda t: t.grp != t.grp_b)
            .group_by(["grp", "grp_b"]).aggregate(both=lambda t: t.count()).execute()
            .set_index(["grp", "grp_b"])["both"])
    rows = []
    for a in groups:
        for b in groups:
            if a == b:
                continue
            na, nb, nab = int(n.get(a, 0)), int(n.get(b, 0)), int(both.get((a, b), 0))
            pen = nab / na if na else None
            base = nb / everyone if everyone else None
            rows.append({"a": a, "b": b, "buyers_a": na, "buyers_b": nb, "both": nab, "penetration": pen,
                         "base_rate": base, "tgi": 100 * pen / base if pen is not None and base else None,
                         "expr": f"{bought(groups[a], days)} and {bought(groups[b], days)}"})
    return pd.DataFrame(rows, columns=["a", "b", "buyers_a", "buyers_b", "both", "penetration", "base_rate", "tgi",
                                       "expr"])


__all__ = ["category_groups", "cross_category", "crowd_spend"]
