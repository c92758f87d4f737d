"""Progress tracking: each pool's size by day offset from the presale start, this year against last year at the
same offset and against the industry benchmark (标杆: P75 of peer brands' year-on-year growth at that offset;
peers = the brand's category, and its GMV tier when the category has three or more brands), with the gap per
phase."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd

from aipl.assets.build import intervals
from aipl.assets.health import brand_categories
from aipl.privacy import PEER, foreign, peer_shortfall
from aipl.strategy.calendar import Campaign, load_campaign
from aipl.strategy.gta import season
from aipl.warehouse import Warehouse

SERIES_POOLS = {"L": "L", "P": "P", "I": "I_xu", "A": "A_xu"}  # AIPL state -> pool name
BENCHMARK_QUANTILE = 0.75


def state_series(wh: Warehouse, brands: list[str], days: list[date]) -> pd.DataFrame:
    """brand, day, pool, n: how many consumers each brand held in L, P, I and A on each day (one query).

    >>> from datetime import date
    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> df = state_series(wh, ["B01"], [date(2026, 10, 7), date(2026, 10, 24)])
    >>> df.pivot(index="pool", columns="day", values="n").loc[["L", "P", "I_xu", "A_xu"]].to_numpy().tolist()
    [[2, 3], [5, 6], [20, 34], [82, 102]]
    """
    iv = intervals(wh)
    iv = iv.filter((iv.scope == "brand") & iv.key.isin(brands) & iv.cond.isin(list(SERIES_POOLS)))
    d = ibis.memtable({"day": days}, schema={"day": "date"})
    j = iv.inner_join(d, [iv.start <= d.day, iv.end > d.day])
    rank = j.cond.cases(("A", 1), ("I", 2), ("P", 3), ("L", 4))
    top = j.group_by(["key", "consumer_id", "day"]).aggregate(r=rank.max())
    n = top.group_by(["key", "day", "r"]).aggregate(n=lambda t: t.count()).execute()
    n["pool"] = n.r.map({1: "A_xu", 2: "I_xu", 3: "P", 4: "L"})
    n["day"] = pd.to_datetime(n.day).dt.date
    return n.rename(columns={"key": "brand"})[["brand", "day", "pool", "n"]]


def peers(wh: Warehouse, brand: str, ly: Campaign) -> list[str]:
    """The brand's benchmark peers: its category's other brands, in its GMV tier (tercile of last year's
    campaign GMV) when the category has at least three brands."""
    bc = brand_categories(wh)
    cat = bc[bc.brand_id == brand].category_id
    if cat.empty:
        return []
    same = sorted(bc[bc.category_id == cat.iloc[0]].brand_id)
    if len(same) < 3:
        return [b for b in same if b != brand]
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    g = ev.filter(ev.brand_id.isin(same) & (ev.event_type == "purchase") & (day >= ibis.literal(ly.presale_start))
                  & (day <= ibis.literal(ly.selling_end)))
    gmv = g.group_by("brand_id").aggregate(gmv=g.amount.sum()).execute().set_index("brand_id").gmv
    gmv = gmv.reindex(same, fill_value=0.0)
    tier = pd.qcut(gmv.rank(method="first"), 3, labels=False)
    return [b for b in same if tier[b] == tier[brand] and b != brand]


def progress(wh: Warehouse, plan: dict, viewer: Iterable[str] | None = None) -> dict:
    """The pools of a plan (see strategy.plan) by offset from the presale start: this year's size (up to the
    plan's day), last year's, the benchmark, the size needed on that day when the plan has a target (the
    needed size on D0 scaled by last year's curve), and the gap per phase. For a `viewer` (a tenant's brands)
    the benchmark is over the peers it is not granted, shown as 同行 peer, and withheld with the reason when
    they are fewer than [privacy] min_peer_brands."""
    brand = plan["brand"]
    cur = load_campaign(wh, plan["campaign"]["campaign_id"])
    ly = load_campaign(wh, plan["baseline"]["campaign_id"])
    as_of = date.fromisoformat(plan["as_of"])
    first = min((cur.accumulate[0] - cur.presale_start).days, (ly.accumulate[0] - ly.presale_start).days,
                (as_of - cur.presale_start).days - 14)  # from the 蓄水期, or two weeks before the plan's day
    last = max((cur.selling_end - cur.presale_start).days, (ly.selling_end - ly.presale_start).days)
    offsets = list(range(first, last + 1))
    ty_days = [cur.presale_start + timedelta(days=o) for o in offsets if cur.presale_start + timedelta(days=o) <= as_of]
    ly_days = [ly.presale_start + timedelta(days=o) for o in offsets]
    group = peers(wh, brand, ly)
    others = foreign(group, viewer)
    withheld = peer_shortfall(wh.config.min_peer_brands, "industry benchmark", "the brand's peer group", len(others))
    bench_group = [] if withheld else others or group
    external = external_benchmark(wh, brand, cur)
    about = benchmark_label(len(bench_group), wh.config.min_peer_brands, external)
    if external:
        withheld = None
    s = state_series(wh, [brand, *group], ty_days + ly_days)
    this_year = set(ty_days)
    s["offset"] = [(d - (cur.presale_start if d in this_year else ly.presale_start)).days for d in s.day]
    s["year"] = np.where(s.day.isin(this_year), "this", "last")
    wide = s.pivot_table(index=["brand", "pool", "offset"], columns="year", values="n", fill_value=0)
    wide = wide.reindex(columns=["this", "last"], fill_value=0).reset_index()
    needed = {r["pool"]: r.get("size_needed") for r in plan["pools"]}
    rows = []
    mine = wide[wide.brand == brand].set_index(["pool", "offset"])
    peer = wide[wide.brand.isin(bench_group)]
    d0_last = mine.xs(-1, level="offset")["last"] if (-1 in mine.index.get_level_values("offset")) else None
    for pool in SERIES_POOLS.values():
        for o in offsets:
            this = mine["this"].get((pool, o)) if cur.presale_start + timedelta(days=o) <= as_of else None
            last_n = float(mine["last"].get((pool, o), 0))
            pp = peer[(peer.pool == pool) & (peer.offset == o) & (peer["last"] > 0)]
            bench_growth = external["values"].get(pool) if external else float(
                np.quantile(pp["this"] / pp["last"], BENCHMARK_QUANTILE)) if len(pp) and (
                cur.presale_start + timedelta(days=o) <= as_of) else None
            base = float(d0_last.get(pool, 0)) if d0_last is not None else 0.0
            need = needed.get(pool)
            rows.append({
                "pool": pool, "offset": o, "day": str(cur.presale_start + timedelta(days=o)),
                "phase": cur.phase_on(cur.presale_start + timedelta(days=o)), "this_year": this,
                "last_year": last_n, "yoy": (this / last_n) if this is not None and last_n else None,
                "benchmark_yoy": bench_growth,
                "benchmark": bench_growth * last_n if bench_growth is not None else None,
                "needed": need * last_n / base if need is not None and base else None,
            })
    df = pd.DataFrame(rows)
    shown = [PEER if b in others else b for b in group]
    return {"brand": brand, "peers": shown, "as_of": str(as_of), "series": df.to_dict(orient="records"),
            "phases": _phase_gaps(df, cur, as_of), "withheld": withheld, "benchmark": about}


def external_benchmark(wh: Warehouse, brand: str, cur: Campaign) -> dict | None:
    """The brand's category's rows of the `industry_benchmarks` table (metrics yoy_L, yoy_P, yoy_I, yoy_A: a
    pool's size over last year's), for the campaign's id or name as period, else the latest period; None without.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> external_benchmark(wh, "B01", load_campaign(wh, "sim_double11")) is None
    True
    """
    if not wh.has_table("industry_benchmarks"):
        return None
    bc = brand_categories(wh)
    cats = list(bc[bc.brand_id == brand].category_id)
    t = wh.table("industry_benchmarks")
    rows = t.filter(t.category_id.isin(cats) & t.metric.isin([f"yoy_{s}" for s in SERIES_POOLS])).execute() if (
        cats) else pd.DataFrame()
    if rows.empty:
        return None
    periods = set(rows.period)
    period = next((p for p in (cur.campaign_id, cur.name) if p in periods), max(periods))
    rows = rows[rows.period == period]
    source = ", ".join(sorted(set(rows.source)))
    return {"values": {SERIES_POOLS[m.removeprefix("yoy_")]: float(v) for m, v in zip(rows.metric, rows.value,
                                                                                       strict=True)},
            "source": source, "period": period}


def benchmark_label(peers: int, minimum: int, external: dict | None) -> dict:
    """What the benchmark is: an external file's industry averages (its source named), the P75 of at least
    `minimum` ([privacy] min_peer_brands) peer brands (an industry benchmark), or a peer reference (n = peers).

    >>> benchmark_label(1, 5, None)
    {'label': 'peer reference (n=1)', 'peers': 1, 'source': 'peers', 'industry': False}
    >>> benchmark_label(6, 5, None)["label"]
    'industry benchmark: P75 of 6 peer brands'
    >>> benchmark_label(0, 5, {"source": "platform report", "period": "2026-11"})["label"]
    'industry benchmark: platform report (2026-11)'
    """
    if external:
        return {"label": f"industry benchmark: {external['source']} ({external['period']})", "peers": 0,
                "source": f"{external['source']} ({external['period']})", "industry": True}
    if peers >= minimum:
        return {"label": f"industry benchmark: P75 of {peers} peer brands", "peers": peers, "source": "peers",
                "industry": True}
    return {"label": f"peer reference (n={peers})" if peers else "no benchmark (no peer brands)", "peers": peers,
            "source": "peers", "industry": False}


def goal_progress(wh: Warehouse, plan: dict) -> dict:
    """Where a campaign stands against its plan: `upcoming` before the presale; once it runs, the GMV and buyers
    of its selling period so far (through the last data day), and, finished or not, that GMV over the target
    and over the forecast (ours and the naive one)."""
    cur = load_campaign(wh, plan["campaign"]["campaign_id"])
    last = wh.last_day()
    status = ("upcoming" if last is None or last < cur.presale_start
              else "finished" if last >= cur.selling_end else "running")
    out = {"status": status, "through": str(min(last, cur.selling_end)) if last else None}
    if status == "upcoming":
        return {**out, **dict.fromkeys(("gmv", "buyers", "vs_target", "vs_forecast", "vs_naive"))}
    s = season(wh, plan["brand"], cur)
    return {**out, "gmv": s["gmv"], "buyers": s["buyers"],
            **{f"vs_{k}": s["gmv"] / plan[key] if plan.get(key) else None
               for k, key in (("target", "gmv_target"), ("forecast", "forecast_gmv"), ("naive", "naive_gmv"))}}


def _phase_gaps(df: pd.DataFrame, cur: Campaign, as_of: date) -> list[dict]:
    """Per phase begun by the plan's day: each pool at the phase's end (or today) against last year, the
    benchmark and the need."""
    out = []
    for phase, a, b in cur.phases:
        if a > as_of or phase == "encore":
            continue
        at = min(b, as_of)
        o = (at - cur.presale_start).days
        for r in df[df.offset == o].itertuples():
            if r.this_year is None or r.this_year != r.this_year:
                continue
            out.append({"phase": phase, "day": str(at), "pool": r.pool, "this_year": int(r.this_year),
                        "last_year": int(r.last_year),
                        "gap_to_last_year": r.last_year - r.this_year,
                        "gap_to_benchmark": (r.benchmark - r.this_year) if r.benchmark == r.benchmark and
                        r.benchmark is not None else None,
                        "gap_to_needed": (r.needed - r.this_year) if r.needed == r.needed and
                        r.needed is not None else None})
    return out
