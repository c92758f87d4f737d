"""What the reports show, drawn from the engines' public functions and shaped for the templates (no drawing
here: see charts and render)."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd

from aipl import schema
from aipl.assets import (
    AIPL_STATES,
    DEEPLINK_LABELS,
    DEEPLINK_STATES,
    AssetRules,
    GmvClub,
    asset_growth,
    benchmarks,
    deeplink_flow,
    ensure_built,
    fast,
    flow,
    gmv_club,
    grow,
    last_year,
    ranking,
    series,
    state_counts,
)
from aipl.audience import BUILT_IN, STRATEGY_CROWDS, TagIndex, insight, parse, tag_day
from aipl.autopilot import fit_brand, scene_plan
from aipl.clv import asset_value, member_status, member_summary, member_value
from aipl.measure import campaign_lift, postmortem
from aipl.strategy import Plan, latest_plan
from aipl.warehouse import Warehouse

DAILY_WINDOW = 120  # days shown in the daily chart
TOP_BRANDS = 20  # rows of the brand tables
FAST_DAYS = 30  # the FAST window and GROW's second period, ending on the last day
TREND_DAYS = 90  # days of the asset trend (fewer when the data spans fewer)
EXAMPLE_GROWTH = 1.2  # the report's example target: last year's GMV + 20 %
PROFILE_TAGS = ("gender", "city_tier", "strategy_crowd", "purchasing_power", "top_category")


def gather_report(wh: Warehouse, truth: dict | None = None) -> dict:
    """Every section of the workspace report, in the order a marketer reads them: consumer assets (brand
    scope, or category scope when the data has no brand) with their trend, flows and health, the GTA plan,
    campaign results, crowds and autopilot of the top brand, then the data overview and ingestion (a section is
    None when its data is missing).

    >>> sorted(gather_report(wh))  # doctest: +SKIP
    ['assets', 'autopilot', 'batches', 'brands', 'by_day', 'by_type', 'calendar', 'club', 'counts', 'crowds', ...]
    """
    data = overview(wh)
    data["assets"] = gather_assets(wh)
    top = data["assets"]["top"] if data["assets"] and data["assets"]["scope"] == "brand" else None
    data["measure"] = gather_measure(wh, truth)
    data["club"] = gather_club(wh, simulated=truth is not None)
    data["strategy"] = gather_plan(wh, top)
    data["crowds"] = gather_crowds(wh, top)
    data["autopilot"] = gather_autopilot(wh, top, data["measure"]["campaign"] if data["measure"] else None)
    return data


def overview(wh: Warehouse) -> dict:
    """What is in the warehouse: rows per table, the ingestion batches, quarantined rows (reasons and a sample),
    events by type and by day (the latest DAILY_WINDOW days), purchases by brand (by category when no purchase
    names a brand) and the campaign calendar."""
    q = wh.table("quarantine")
    reasons = (q.group_by(["target", "field"]).aggregate(n=q.count(), example=q.reason.min())
               .order_by(ibis.desc("n")).limit(20))
    ev = wh.table("events")
    daily = ev.group_by(d=wh.local_day(ev.ts)).aggregate(n=ev.count())
    recent = daily.filter(daily.d > daily.d.max() - ibis.interval(days=DAILY_WINDOW))
    buys = ev.filter(ev.event_type == "purchase")
    branded = buys.filter(buys.brand_id.notnull())
    by = "brand_id" if int(branded.count().execute()) else "category_id"
    buys = buys.filter(buys[by].notnull())
    brands = (buys.group_by(buys[by].name("key"))
              .aggregate(buyers=buys.consumer_id.nunique(), orders=buys.count(), gmv=buys.amount.sum())
              .order_by([ibis.desc("gmv"), ibis.desc("orders"), "key"]).limit(TOP_BRANDS))
    return {
        "counts": {name: wh.count(name) for name in schema.TABLES},
        "batches": wh.table("batches").order_by("loaded_at").execute(),
        "reasons": reasons.execute(),
        "samples": q.order_by(["source", "line"]).limit(15).execute(),
        "by_type": ev.group_by("event_type").aggregate(n=ev.count()).order_by([ibis.desc("n"), "event_type"]).execute(),
        "by_day": recent.order_by("d").execute(),
        "brands": brands.execute(), "purchases_by": by.removesuffix("_id"),
        "calendar": wh.table("campaigns").order_by(["campaign_id", "start_date"]).execute(),
    }


def periods(first: date, last: date) -> tuple[date, date]:
    """The first day of the asset trend (TREND_DAYS to `last`, or the data's `first` day when later) and of the
    flows (FAST_DAYS before `last`, or half the data's span when shorter: a flow needs both days in the data).

    >>> periods(date(2017, 11, 25), date(2017, 12, 3))
    (datetime.date(2017, 11, 25), datetime.date(2017, 11, 29))
    >>> periods(date(2025, 1, 1), date(2026, 11, 11))
    (datetime.date(2026, 8, 14), datetime.date(2026, 10, 12))
    """
    span = (last - first).days
    return (max(first, last - timedelta(days=TREND_DAYS - 1)),
            last - timedelta(days=FAST_DAYS if span >= FAST_DAYS else max(1, span // 2)))


def gather_assets(wh: Warehouse) -> dict | None:
    """The consumer-asset sections on the last day: AIPL and DEEPLINK counts of the TOP_BRANDS largest brands (of
    the largest categories when the data has no brand), the top one's trend with last year's line, its
    消费者资产同比, its AIPL and DEEPLINK flows (with 环比 rates and channel contributions) over FAST_DAYS (half
    the data's span when shorter); for brands, FAST against the category median with the ranking, GROW, CLV and
    member value (None without events)."""
    last = wh.last_day(with_brand=True)
    scope = "brand"
    if last is None:
        last, scope = wh.last_day(), "category"
    if last is None:
        return None
    ensure_built(wh)
    counts = state_counts(wh, scope, last).execute()
    if counts.empty:
        return None
    aipl = counts.pivot_table(index="key", columns="aipl", values="n", aggfunc="sum", fill_value=0)
    dl = counts.pivot_table(index="key", columns="deeplink", values="n", aggfunc="sum", fill_value=0)
    table = aipl.reindex(columns=list(AIPL_STATES), fill_value=0).join(
        dl.reindex(columns=list(DEEPLINK_STATES), fill_value=0)).fillna(0).astype(int)
    table["total"] = table[list(AIPL_STATES)].sum(axis=1)
    table = table.sort_values(["total", "P"], ascending=False).head(TOP_BRANDS)
    top = str(table.index[0])
    t0, start = periods(wh.first_day() or last, last)
    out = {"scope": scope, "day": str(last), "labels": DEEPLINK_LABELS, "brands": table.reset_index(names="key"),
           "top": top,
           "funnel": {s: int(table.loc[top, s]) for s in AIPL_STATES},
           "trend": series(wh, scope, top, t0, last), "last_year": last_year(wh, scope, top, t0, last),
           "growth": asset_growth(wh, scope, top, last),
           "flow": flow(wh, scope, top, start, last), "deeplink": deeplink_flow(wh, scope, top, start, last),
           "fast": None, "rank": None, "grow": None, "clv": None, "members": None}
    if scope == "brand":
        fast_t = with_medians(fast(wh, start, last))
        out.update(fast=fast_t, rank=ranking(fast_t), clv=gather_clv(wh, top, last),
                   grow=grow(wh, top, (start - timedelta(days=(last - start).days + 1), start - timedelta(days=1)),
                             (start, last)),
                   members=member_value(wh, top, last - timedelta(days=364), last))
    return out


def gather_club(wh: Warehouse, simulated: bool = False) -> GmvClub | None:
    """亿元俱乐部 of the latest campaign: brands at or past [assets] gmv_club_line (times simulated_gmv_scale for a
    simulated market); None without a campaign."""
    rules = AssetRules.of(wh.config)
    line = rules.gmv_club_line * (rules.simulated_gmv_scale if simulated else 1.0)
    club = gmv_club(wh, line)
    return club if club.campaign is not None and len(club.brands) else None


def with_medians(fast_t: pd.DataFrame) -> pd.DataFrame:
    """The FAST table with each brand's category median (P50) of F, A and T beside its own value."""
    bench = benchmarks(fast_t).set_index(["category_id", "metric"])
    out = fast_t.copy()
    for m in ("F", "A", "T"):
        out[f"{m}_P50"] = [bench.loc[(c, m), "P50"] if (c, m) in bench.index else None for c in out.category_id]
    return out


def gather_clv(wh: Warehouse, brand: str, day: date) -> dict:
    """The brand's consumer-asset value by state, its fit warnings, holdout check and seasonality, and its member
    buckets (or why the value cannot be shown)."""
    out: dict = {"brand": brand, "members": member_summary(member_status(wh, brand, day))}
    try:
        by_state = asset_value(wh, brand, day, time_unit="day").by_state
    except ValueError as exc:
        out["error"] = str(exc)
        return out
    out.update(by_state=by_state, total=float(by_state.value.sum()), meta=by_state.attrs,
               warnings=by_state.attrs["warnings"])  # fits that did not converge: shown above the values
    return out


def gather_measure(wh: Warehouse, truth: dict | None = None, limit: int = 12) -> dict | None:
    """The lift of the latest campaign with ad delivery, per brand (the `limit` largest spenders): incremental
    purchases and GMV with their intervals and the incremental ROI; against the simulation's truth when given
    (None without ad delivery)."""
    spend = campaign_spend(wh)
    if spend.empty:
        return None
    campaign = str(spend.campaign_id.iloc[0])
    rows = [_lift_row(wh, campaign, r.brand_id, float(r.cost), truth)
            for r in spend[spend.campaign_id == campaign].head(limit).itertuples()]
    return {"campaign": campaign, "rows": rows}


def campaign_spend(wh: Warehouse) -> pd.DataFrame:
    """Ad spend per campaign and brand, the latest campaign first and the largest spender first within it."""
    ad = wh.table("ad_delivery")
    spend = ad.filter(ad.campaign_id.notnull()).group_by(["campaign_id", "brand_id"]).aggregate(cost=ad.cost.sum())
    c = wh.table("campaigns")
    starts = c.group_by("campaign_id").aggregate(first=c.start_date.min())
    return spend.inner_join(starts, "campaign_id").order_by([ibis.desc("first"), ibis.desc("cost")]).execute()


def _lift_row(wh: Warehouse, campaign: str, brand: str, cost: float, truth: dict | None) -> dict:
    try:
        res = campaign_lift(wh, campaign, brand, metrics=("purchases", "spend"))
    except ValueError as exc:
        return {"brand": brand, "error": str(exc)}
    arm = next(a for a in res["arms"] if a.get("lift"))
    p, g = arm["lift"]["purchases"], arm["lift"]["spend"]
    row = {"brand": brand, "kind": res["kind"], "method": res["method"], "n": p["n_treated"],
           "control": p["n_control"], "purchases": p, "gmv": g, "spend": cost,
           "iroi": g["incremental"] / cost if cost else None}
    bt = (truth or {}).get("brands", {}).get(brand)
    if bt and res["kind"] == "randomised":
        row["true_purchases"] = bt["true_itt_purchases_per_consumer"] * p["n_treated"]
        row["covered"] = p["ci_low"] <= bt["true_itt_purchases_per_consumer"] <= p["ci_high"]
    return row


def gather_crowds(wh: Warehouse, brand: str | None) -> dict | None:
    """Built-in crowd sizes and the profile (TGI) of the brand's buyers (P or L), when the tag index exists."""
    if not brand or tag_day(wh) is None:
        return None
    index = TagIndex.load(wh)
    sizes = [{"name": k, "zh": zh, "expr": expr, "n": index.count(parse(expr))} for k, (zh, expr) in BUILT_IN.items()]
    out = {"day": str(index.day), "sizes": sizes, "brand": brand, "universe": len(index.universe), "profile": None}
    buyers = index.evaluate(parse(f'aipl(brand="{brand}") in ("P", "L")'))
    if buyers:
        prof = insight(index, buyers, min_share=0.02)
        prof = prof[prof.tag.isin(PROFILE_TAGS)]
        out.update(buyers=len(buyers), profile=prof.sort_values("tgi", ascending=False).head(15))
    return out


def gather_autopilot(wh: Warehouse, brand: str | None, campaign: str | None) -> dict | None:
    """The brand's response curve per channel and the 爆发收割 split of its mean daily spend over its last 14
    days of delivery (None without a campaign or with fewer than 10 such days)."""
    if not brand or not campaign:
        return None
    a = wh.table("ad_delivery")
    a = a.filter(a.brand_id == brand)
    days = a.group_by("day").aggregate(cost=a.cost.sum()).order_by(ibis.desc("day")).limit(14).execute()
    if len(days) < 10:
        return None
    budget = float(days.cost.mean())
    try:
        fits = fit_brand(wh, brand, holdout_days=14, boot=0)  # the report shows no intervals
        plan = scene_plan(wh, brand, "爆发收割", budget, campaign, boot=0)
    except ValueError as exc:
        return {"brand": brand, "error": str(exc)}
    return {"brand": brand, "campaign": campaign, "budget": budget, "fits": fits, "plan": plan}


def gather_plan(wh: Warehouse, brand: str | None) -> dict | None:
    """The brand's GTA plan for its latest campaign with last year's counterpart, with an example target of
    last year's GMV × EXAMPLE_GROWTH, and its progress, recommendations and actions (see plan_page)."""
    p = latest_plan(wh, brand, growth=EXAMPLE_GROWTH) if brand else None
    return None if p is None else {**plan_page(p), "example_growth": EXAMPLE_GROWTH}


def plan_page(p: Plan) -> dict:
    """A plan as its page shows it: the GTA figures (`plan`), `progress`, `recommendations` and `actions`."""
    return {"plan": p.gta, "progress": p.progress, "recommendations": p.recommendations, "actions": p.actions}


def gather_postmortem(wh: Warehouse, campaign: str, brand: str | None = None) -> dict:
    """The campaign's post-mortem (see measure.postmortem) with the narrow cuts keyed by value and the
    incremental GMV and ROI of its first treated arm."""
    pm = postmortem(wh, campaign, brand)
    narrow = {by: {r[by]: r for r in rows} for by, rows in pm["cuts"]["narrow"].items()}
    labels = {"customer": {"new": "新客", "returning": "老客"}, "strategy_crowd": STRATEGY_CROWDS}
    return {"pm": pm, "narrow": narrow, "incremental": incremental(pm), "labels": labels}


def incremental(pm: dict) -> dict | None:
    """Incremental GMV with its interval and the incremental ROI, from the first treated arm's spend lift (None
    when an observational estimate is withheld because balance fails)."""
    if not ((pm.get("lift") or {}).get("verdict") or {"presented": True})["presented"]:
        return None
    for arm in (pm.get("lift") or {}).get("arms", []):
        e = arm.get("lift", {}).get("spend")
        if e:
            spend = pm["totals"]["wide"]["spend"]
            return {"gmv": e["incremental"], "low": e["ci_low"] * e["n_treated"],
                    "high": e["ci_high"] * e["n_treated"], "iroi": e["incremental"] / spend if spend else None}
    return None
