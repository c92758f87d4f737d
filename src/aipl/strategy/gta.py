"""GTA (GMV TO AIPL) back-calculation, DOMAIN.md §6 [P]: from a GMV target to the buyers it needs, the
buyers each consumer pool must yield (last year's shares), the pool sizes that takes (last year's conversion
rates), and the gap to where the pools are heading (today's pools × last year's same-period growth).

Pools, counted on the eve of the presale (D0), in precedence order — a consumer belongs to the first that
holds them: L (忠诚), P (活动前P), I_xu (蓄水期I), A_xu (蓄水期A) — the brand's AIPL state on D0; I_act and
A_act (活动期I/A) — in no brand state on D0 but in I (else A) during the selling period; O (机会人群) — in the
brand's category on D0 but not the brand; and `direct` — buyers from none of them. A buyer's origin pool is
the pool that held them; every figure carries the data it came from.

The plan reads the consumer assets as last built and never builds them (the CLI brings them up to date before
a command, the service at start and after each load; in a notebook call `aipl.assets.ensure_built(wh)`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis.common.exceptions import TableNotFound

from aipl.assets import intervals, states
from aipl.assets.health import brand_categories
from aipl.config import parse_day
from aipl.privacy import PrivacyError, foreign, peer_shortfall
from aipl.strategy.calendar import Campaign, last_year, load_campaign
from aipl.strategy.results import PoolSizes, Season
from aipl.warehouse import Warehouse

POOLS = ("L", "P", "I_xu", "A_xu", "I_act", "A_act", "O", "direct")
POOL_LABELS = {
    "L": "忠诚 L (活动前)", "P": "活动前 P", "I_xu": "蓄水期 I", "A_xu": "蓄水期 A", "I_act": "活动期 I",
    "A_act": "活动期 A", "O": "机会 O", "direct": "直接成交 direct",
}
D0_POOLS = ("L", "P", "I_xu", "A_xu", "O")  # sized on a day; the act pools form during the selling period
STATE_POOL = {"L": "L", "P": "P", "I": "I_xu", "A": "A_xu"}
NEW_CUSTOMER_DAYS = 365


def _category_keys(wh: Warehouse, brand: str) -> list[str]:
    bc = brand_categories(wh)
    return sorted(bc[bc.brand_id == brand].category_id)


def pools_on(wh: Warehouse, brand: str, day: date) -> pd.DataFrame:
    """consumer_id, pool for every consumer in L, P, I_xu, A_xu or O of the brand on `day`.

    >>> from datetime import date
    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> pools = pools_on(wh, "B01", date(2026, 10, 7))
    >>> list(pools.columns), set(pools.pool) <= set(POOLS), pools.consumer_id.is_unique
    (['consumer_id', 'pool'], True, True)
    """
    b = states(wh, "brand", day, brand).select("consumer_id", "aipl").execute()
    b["pool"] = b.aipl.map(STATE_POOL)
    cats = _category_keys(wh, brand)
    c = states(wh, "category", day)
    c = c.filter(c.key.isin(cats)).select("consumer_id").distinct().execute() if cats else pd.DataFrame(
        {"consumer_id": []})
    o = c[~c.consumer_id.isin(b.consumer_id)].assign(pool="O")
    return pd.concat([b[["consumer_id", "pool"]], o[["consumer_id", "pool"]]], ignore_index=True)


def pool_sizes(wh: Warehouse, brand: str, day: date) -> PoolSizes:
    """How many consumers each D0 pool holds on `day`.

    >>> from datetime import date
    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> sizes = pool_sizes(wh, "B01", date(2026, 10, 7))
    >>> sizes  # doctest: +ELLIPSIS
    PoolSizes(L ..., P ..., I_xu ..., A_xu ..., O ...)
    >>> list(sizes), sum(sizes.values()) == len(pools_on(wh, "B01", date(2026, 10, 7)))
    (['L', 'P', 'I_xu', 'A_xu', 'O'], True)
    """
    counts = pools_on(wh, brand, day).pool.value_counts()
    return PoolSizes({p: int(counts.get(p, 0)) for p in D0_POOLS})


def _act_pools(wh: Warehouse, brand: str, c: Campaign, exclude: pd.Series) -> pd.DataFrame:
    iv = intervals(wh)
    iv = iv.filter((iv.scope == "brand") & (iv.key == brand) & iv.cond.isin(["A", "I"])
                   & (iv.start <= ibis.literal(c.selling_end)) & (iv.end > ibis.literal(c.presale_start)))
    g = iv.group_by("consumer_id").aggregate(has_i=(iv.cond == "I").any()).execute()
    g = g[~g.consumer_id.isin(exclude)]
    return g.assign(pool=np.where(g.has_i, "I_act", "A_act"))[["consumer_id", "pool"]]


def _require_assets(wh: Warehouse) -> None:
    """A clear error when the consumer assets were never built (a plan reads them and never builds them)."""
    try:
        intervals(wh)
    except TableNotFound:
        raise ValueError("the consumer assets are not built yet: run `aipl assets build` "
                         "(in Python: aipl.assets.ensure_built(wh))") from None


def season(wh: Warehouse, brand: str, c: Campaign) -> Season:
    """One brand's campaign, measured: pool sizes on D0, and each pool's buyers, GMV, conversion rate, share of
    buyers and GMV per buyer over the selling period; new buyers (no purchase in the 365 days before).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> s = season(wh, "B01", load_campaign(wh, "sim_double11"))
    >>> s  # doctest: +ELLIPSIS
    Season(B01 in sim_double11, 2026-10-08 … 2026-10-22: ... buyers (... new), GMV ...)
    >>> s["d0"], s["selling"], list(s["pools"]) == list(POOLS)
    ('2026-10-07', ['2026-10-08', '2026-10-22'], True)
    >>> sorted(s["pools"]["L"])
    ['aov', 'buyers', 'cvr', 'gmv', 'share', 'size']
    >>> s["buyers"] == sum(p["buyers"] for p in s["pools"].values())
    True
    """
    _require_assets(wh)
    d0 = pools_on(wh, brand, c.d0)
    brand_pools = d0[d0.pool != "O"]
    act = _act_pools(wh, brand, c, brand_pools.consumer_id)
    members = pd.concat([d0, act], ignore_index=True)
    members["rank"] = members.pool.map({p: i for i, p in enumerate(POOLS)})
    members = members.sort_values("rank").drop_duplicates("consumer_id")
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    buys = ev.filter((ev.brand_id == brand) & (ev.event_type == "purchase"))
    sold = buys.filter((day >= ibis.literal(c.presale_start)) & (day <= ibis.literal(c.selling_end)))
    per = sold.group_by("consumer_id").aggregate(gmv=sold.amount.sum().cast("float64"), orders=sold.count())
    before = buys.filter((day < ibis.literal(c.presale_start))
                         & (day >= ibis.literal(c.presale_start - timedelta(days=NEW_CUSTOMER_DAYS))))
    old = before.select("consumer_id").distinct().mutate(returning=ibis.literal(True))
    b = per.left_join(old, "consumer_id").select(per.consumer_id, per.gmv, per.orders, "returning").execute()
    b["returning"] = b.returning.fillna(False).astype(bool)
    b = b.merge(members[["consumer_id", "pool"]], on="consumer_id", how="left").fillna({"pool": "direct"})
    sizes = members.pool.value_counts()
    total_buyers = len(b)
    rows = {}
    for p in POOLS:
        g = b[b.pool == p]
        size = int(sizes.get(p, 0)) if p != "direct" else None
        rows[p] = {"size": size, "buyers": len(g), "gmv": float(g.gmv.sum()),
                   "cvr": len(g) / size if size else None,
                   "share": len(g) / total_buyers if total_buyers else None,
                   "aov": float(g.gmv.mean()) if len(g) else None}
    return Season(campaign=c.campaign_id, brand=brand, d0=str(c.d0), selling=[str(c.presale_start), str(c.selling_end)],
                  buyers=total_buyers, gmv=float(b.gmv.sum()), new_buyers=int((~b.returning).sum()),
                  aov=float(b.gmv.sum() / total_buyers) if total_buyers else None, pools=rows)


def _peers(wh: Warehouse, brand: str) -> list[str]:
    bc = brand_categories(wh)
    cat = bc[bc.brand_id == brand].category_id
    if cat.empty:
        return []
    return sorted(bc[(bc.category_id == cat.iloc[0]) & (bc.brand_id != brand)].brand_id)


def _industry(wh: Warehouse, brand: str, ly: Campaign, viewer: Iterable[str] | None = None) -> tuple[dict, str]:
    """Median CVR, share and GMV per buyer per pool over the peer brands' last-year campaign, and their names
    (for a `viewer`: over the peers it is not granted, unnamed, and none below [privacy] min_peer_brands)."""
    peers = _peers(wh, brand)
    others = foreign(peers, viewer)
    reason = peer_shortfall(wh.config.min_peer_brands, "an industry benchmark", "this category", len(others))
    if reason:
        raise PrivacyError(f"brand {brand!r} had no buyers in {ly.campaign_id}, so its rates would come from its "
                           f"peers: {reason}")
    peers = others or peers
    seasons = [s for s in (season(wh, p, ly) for p in peers) if s["buyers"]]
    if not seasons:
        raise ValueError(f"brand {brand!r} had no buyers in {ly.campaign_id} and no peer brand of its category "
                         "did either: nothing to plan from")
    med = {}
    for p in POOLS:
        vals = {k: [s["pools"][p][k] for s in seasons if s["pools"][p][k] is not None] for k in ("cvr", "share", "aov")}
        med[p] = {k: float(np.median(v)) if v else None for k, v in vals.items()}
    med["_aov"] = float(np.median([s["aov"] for s in seasons]))
    names = f"{len(seasons)} peer brands" if others else ", ".join(s["brand"] for s in seasons)
    return med, names


def gta_plan(wh: Warehouse, brand: str, campaign: str, gmv_target: float | None = None,
             day: str | date | None = None, baseline: str | None = None, aov: float | None = None,
             viewer: Iterable[str] | None = None) -> dict:
    """The GTA figures of a brand's plan for a campaign as of `day` (default: the last data day; at the latest
    the eve of the presale): last year's pools and rates, this year's projected pools, and — with a GMV target —
    the buyers and pool sizes it needs and the gap per pool (see the module doc). The public `plan` adds the
    progress, recommendations and action plan. For a `viewer` (a tenant's brands) rates taken from the
    industry are its peers' and need [privacy] min_peer_brands of them."""
    _require_assets(wh)
    cur = load_campaign(wh, campaign)
    ly = load_campaign(wh, baseline) if baseline else last_year(wh, cur, brand)
    if ly is None:
        raise ValueError(f"no campaign named {cur.name!r} about a year before {campaign!r}: give the baseline")
    wanted = parse_day(day) if day else wh.last_day()
    if wanted is None:
        raise ValueError("the workspace holds no events yet: nothing to plan from")
    as_of = min(wanted, cur.d0)
    if as_of <= ly.selling_end:
        raise ValueError(f"day {as_of} is before last year's campaign {ly.campaign_id} ended ({ly.selling_end}): "
                         "plan from a later day")
    k = (cur.d0 - as_of).days
    ly_as_of = ly.d0 - timedelta(days=k)
    last = season(wh, brand, ly)
    sources = {}
    if last["buyers"]:
        rates = {p: {x: last["pools"][p][x] for x in ("cvr", "share", "aov")} for p in POOLS}
        base_aov, rate_source = last["aov"], f"{brand} in {ly.campaign_id}"
    else:
        rates, peers = _industry(wh, brand, ly, viewer)
        base_aov, rate_source = rates.pop("_aov"), f"industry median of {peers} in {ly.campaign_id}"
    given_aov, aov = aov is not None, aov or base_aov
    then, now = pool_sizes(wh, brand, ly_as_of), pool_sizes(wh, brand, as_of)
    brand_then = sum(then[p] for p in D0_POOLS if p != "O")
    brand_now = sum(now[p] for p in D0_POOLS if p != "O")
    g_all = brand_now / brand_then if brand_then else 1.0
    rows = []
    for p in POOLS:
        lp, r = last["pools"][p], rates[p]
        if p in D0_POOLS:
            growth = (lp["size"] / then[p]) if then[p] else 1.0
            current, projected = now[p], now[p] * growth
            src = (f"{now[p]:,} on {as_of} × growth {growth:.3f} (= {lp['size']:,} on {ly.d0} / {then[p]:,} on "
                   f"{ly_as_of}, the same {k} days before last year's presale)")
        elif p == "direct":
            growth, current, projected = g_all, None, None
            src = "buyers from no pool: last year's count × the brand's pool growth"
        else:
            growth, current, projected = g_all, None, (lp["size"] or 0) * g_all
            src = (f"forms during the selling period: last year's {lp['size']:,} × the brand's pool growth "
                   f"{g_all:.3f} ({brand_now:,} in L/P/I/A on {as_of} / {brand_then:,} on {ly_as_of})")
        if p == "direct":
            f_buyers = lp["buyers"] * g_all if last["buyers"] else 0.0
        else:
            f_buyers = projected * r["cvr"] if r["cvr"] is not None else 0.0
        row = {"pool": p, "label": POOL_LABELS[p], "last_size": lp["size"], "last_buyers": lp["buyers"],
               "last_gmv": lp["gmv"], "cvr": r["cvr"], "share": r["share"], "aov": r["aov"], "growth": growth,
               "current": current, "projected": projected, "forecast_buyers": f_buyers,
               "forecast_gmv": f_buyers * (r["aov"] or aov)}
        sources[p] = {"projected": src, "cvr": (f"{lp['buyers']:,} buyers / {lp['size']:,} in the pool on {ly.d0}"
                                                if last["buyers"] and p != "direct" and lp["size"] else rate_source),
                      "share": f"{lp['buyers']:,} of {last['buyers']:,} buyers" if last["buyers"] else rate_source}
        rows.append(row)
    out = {"brand": brand, "campaign": cur.to_dict(), "baseline": ly.to_dict(), "as_of": str(as_of),
           "days_to_presale": k, "last_year": {x: last[x] for x in ("buyers", "gmv", "new_buyers", "aov")},
           "rates_from": rate_source, "aov": aov, "aov_source": "given" if given_aov else
           f"last year's GMV / buyers ({rate_source})", "pools": rows, "sources": sources,
           "brand_growth": g_all, "forecast_buyers": sum(r["forecast_buyers"] for r in rows),
           "forecast_gmv": sum(r["forecast_gmv"] for r in rows)}
    if gmv_target is not None:
        set_target(out, gmv_target)
    return out


def set_target(out: dict, target: float) -> dict:
    """Add a GMV target to a plan: buyers needed, per pool buyers and sizes needed, gaps, the new/old split.

    On GTA figures (of `gta_plan`) reduced to what the target needs: GMV per buyer 100, last year 40 buyers (10 new):

    >>> out = {"aov": 100.0, "forecast_gmv": 3000.0, "last_year": {"buyers": 40, "new_buyers": 10, "gmv": 4000.0},
    ...        "pools": [{"pool": "L", "share": 0.75, "cvr": 0.5, "projected": 40.0, "forecast_buyers": 20.0},
    ...                  {"pool": "O", "share": 0.25, "cvr": 0.05, "projected": 200.0, "forecast_buyers": 10.0}]}
    >>> out = set_target(out, 5000)
    >>> out["buyers_needed"], out["new_buyers_needed"], out["gmv_gap"], out["growth_needed"]
    (50.0, 12.5, 2000.0, 1.25)
    >>> [(r["pool"], r["buyers_needed"], r["size_needed"], r["gap"]) for r in out["pools"]]
    [('L', 37.5, 75.0, 35.0), ('O', 12.5, 250.0, 50.0)]
    """
    last = out["last_year"]
    if target <= 0:
        raise ValueError("the GMV target must be positive")
    need = target / out["aov"]
    new_share = last["new_buyers"] / last["buyers"] if last["buyers"] else None
    for r in out["pools"]:
        r["buyers_needed"] = need * (r["share"] or 0.0)
        r["size_needed"] = r["buyers_needed"] / r["cvr"] if r["cvr"] else None
        r["gap"] = r["size_needed"] - r["projected"] if r["size_needed"] is not None else None
        r["buyers_gap"] = r["buyers_needed"] - r["forecast_buyers"]
    out.update(gmv_target=target, buyers_needed=need, new_share=new_share,
               new_buyers_needed=need * new_share if new_share is not None else None,
               gmv_gap=target - out["forecast_gmv"], growth_needed=target / last["gmv"] if last["gmv"] else None)
    return out


def brand_backtest(wh: Warehouse, brand: str, campaign: str, days_before: int = 0, baseline: str | None = None,
                   viewer: Iterable[str] | None = None) -> dict:
    """Plan `days_before` the presale of a past campaign from the one a year before it, then compare the
    forecast buyers and GMV per pool with what happened: 预计 vs 实际 and 完成率 per pool, and the MAPE (one
    brand's part of the public `backtest`)."""
    cur = load_campaign(wh, campaign)
    p = gta_plan(wh, brand, campaign, day=cur.d0 - timedelta(days=days_before), baseline=baseline, viewer=viewer)
    actual = season(wh, brand, cur)
    rows, errors = [], []
    for r in p["pools"]:
        a = actual["pools"][r["pool"]]
        ape = abs(r["forecast_gmv"] - a["gmv"]) / a["gmv"] if a["gmv"] else None
        if ape is not None:
            errors.append(ape)
        rows.append({"pool": r["pool"], "label": r["label"], "predicted_buyers": r["forecast_buyers"],
                     "actual_buyers": a["buyers"], "predicted_gmv": r["forecast_gmv"], "actual_gmv": a["gmv"],
                     "predicted_size": r["projected"], "actual_size": a["size"],
                     "completion": a["gmv"] / r["forecast_gmv"] if r["forecast_gmv"] else None, "ape": ape})
    total_ape = abs(p["forecast_gmv"] - actual["gmv"]) / actual["gmv"] if actual["gmv"] else None
    naive = p["last_year"]["gmv"]  # the baseline forecast: last year's GMV again
    return {"brand": brand, "campaign": campaign, "baseline": p["baseline"]["campaign_id"], "as_of": p["as_of"],
            "pools": rows, "predicted_gmv": p["forecast_gmv"], "actual_gmv": actual["gmv"],
            "predicted_buyers": p["forecast_buyers"], "actual_buyers": actual["buyers"],
            "completion": actual["gmv"] / p["forecast_gmv"] if p["forecast_gmv"] else None,
            "total_ape": total_ape, "pool_mape": float(np.mean(errors)) if errors else None,
            "naive_gmv": naive, "naive_ape": abs(naive - actual["gmv"]) / actual["gmv"] if actual["gmv"] else None}
