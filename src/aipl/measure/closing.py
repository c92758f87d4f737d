"""The campaign post-mortem (结案): delivery (spend, impressions, clicks, CTR, CPC, CPM), engagement (收藏加购 and
its cost), attributed orders and GMV in two scopes (窄: after a click, on the clicked item; 宽: after any touch,
any item of the brand), CVR with its numerator and denominator and ROI, new and returning customers (新客: no
purchase of the brand in the `[measure] new_customer_days` before the campaign), cut by channel, crowd, creative,
phase, customer and strategy crowd; the purchase-intent index (PI) with the same cuts; the AIPL flow over the
campaign; and the randomised or observational lift, cut by customer, strategy crowd and phase when randomised
(with the treated's outcomes by the channel, crowd and creative that reached them).
Formulas: DOMAIN.md §8, §11."""

from __future__ import annotations

from datetime import timedelta

import ibis
import pandas as pd

from aipl.assets import ensure_built, flow
from aipl.attribution import ATTRIBUTION_DAYS, ENGAGEMENT, attributed, campaign_delivery, campaign_window
from aipl.measure.experiment import campaign_lift, lift_cuts
from aipl.measure.pi import campaign_pi
from aipl.measure.results import Postmortem
from aipl.measure.segments import SEGMENTS, consumer_segments, phase_of, spread, touch_frame
from aipl.measure.settings import MeasureSettings
from aipl.warehouse import Warehouse

CUTS = ("channel", "crowd_id", "creative_id", "phase", *SEGMENTS)
SCOPES = ("narrow", "wide")  # 窄 / 宽 口径
LIFT_METRICS = ("conversion", "purchases", "spend")


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def kpis(spend: float, impressions: float, clicks: float, engaged: float, orders: float, gmv: float) -> dict:
    """DOMAIN.md §11: CTR, CPC (ECPC), CPM (ECPM), 收藏加购成本 and ROI = GMV / spend (CVR: see `cvr`).

    >>> k = kpis(spend=100.0, impressions=50_000, clicks=500, engaged=40, orders=20, gmv=3000.0)
    >>> k["ctr"], k["cpc"], k["cpm"], k["fav_cart_cost"], k["roi"]
    (0.01, 0.2, 2.0, 2.5, 30.0)
    >>> kpis(0.0, 0, 0, 0, 0, 0.0)["roi"] is None
    True
    """
    return {
        "spend": float(spend), "impressions": round(float(impressions)), "clicks": round(float(clicks)),
        "fav_cart": int(engaged), "orders": int(orders), "gmv": float(gmv), "ctr": _ratio(clicks, impressions),
        "cpc": _ratio(spend, clicks), "cpm": _ratio(1000 * spend, impressions), "fav_cart_cost": _ratio(spend, engaged),
        "roi": _ratio(gmv, spend),
    }


def cvr(scope: str, orders: int, clicks: float, buyers: int, reached: int) -> dict:
    """The platform's conversion rate in a scope, with what it divides: 窄 narrow = orders of the clicked item
    after a click / clicks; 宽 wide = consumers who bought anything of the brand after any touch / consumers the
    campaign reached (touched at all).

    >>> cvr("narrow", orders=20, clicks=500, buyers=18, reached=9000)
    {'cvr': 0.04, 'cvr_numerator': 20, 'cvr_denominator': 500}
    >>> cvr("wide", orders=90, clicks=500, buyers=72, reached=9000)
    {'cvr': 0.008, 'cvr_numerator': 72, 'cvr_denominator': 9000}
    """
    num, den = (orders, round(float(clicks))) if scope == "narrow" else (buyers, reached)
    return {"cvr": _ratio(num, den), "cvr_numerator": num, "cvr_denominator": den}


def _scope_kpis(scope: str, spend: float, impressions: float, clicks: float, acts: pd.DataFrame,
                reached: int) -> dict:
    a = acts if scope == "wide" else acts[acts.narrow]
    buys = a[a.event_type == "purchase"]
    new = buys[buys.customer == "new"]
    k = kpis(spend, impressions, clicks, a.event_type.isin(ENGAGEMENT).sum(), len(buys), buys.amount.sum())
    k.update(cvr(scope, len(buys), clicks, buys.consumer_id.nunique(), reached))
    k.update(buyers=int(buys.consumer_id.nunique()), new_buyers=int(new.consumer_id.nunique()),
             new_gmv=float(new.amount.sum()), new_gmv_share=_ratio(new.amount.sum(), buys.amount.sum()))
    return k


def _cut(delivery: pd.DataFrame, touches: pd.DataFrame, acts: pd.DataFrame, by: str, scope: str) -> list[dict]:
    d = spread(delivery, touches, by)
    reached = touches.groupby(by).consumer_id.nunique()
    keys = d.index.union(acts[by].unique()).union(reached.index)
    rows = []
    for key in keys:
        r = d.loc[key] if key in d.index else {"cost": 0.0, "impressions": 0, "clicks": 0}
        k = _scope_kpis(scope, r["cost"], r["impressions"], r["clicks"], acts[acts[by] == key],
                        int(reached.get(key, 0)))
        rows.append({by: key, **k})
    return sorted(rows, key=lambda r: (-r["spend"], -r["gmv"], str(r[by])))


def _definitions(days: int, new_days: int) -> dict:
    return {
        "narrow": f"an order or 收藏加购 of the clicked item within {days} days after a click of the campaign (any "
                  "item of the brand when the click names none)",
        "wide": f"an order or 收藏加购 of any item of the brand within {days} days after any exposure or click",
        "cvr_narrow": "orders (narrow) / clicks",
        "cvr_wide": "buyers (wide: bought after any touch) / consumers reached (touched at least once)",
        "new_customer": f"no purchase of the brand in the {new_days} days before the campaign",
        "cuts": "orders credit the last touch (its channel, crowd, creative); phase is the order's day; spend of "
                "delivery that names no crowd, creative, customer or strategy crowd is shared among the values of "
                "the touches of its day and channel, in proportion to the touches",
    }


def postmortem(wh: Warehouse, campaign: str, brand: str | None = None, days: int = ATTRIBUTION_DAYS,
               with_lift: bool = True, with_pi: bool = True) -> Postmortem:
    """The whole post-mortem of a campaign for one brand (the campaign's own brand by default).

    >>> from aipl.simulate import sample_warehouse
    >>> pm = postmortem(sample_warehouse(), "sim_double11", "B01")
    >>> sorted(pm)  # doctest: +NORMALIZE_WHITESPACE
    ['attribution_days', 'brand', 'campaign', 'customers', 'cuts', 'definitions', 'end', 'flow', 'lift',
     'lift_cuts', 'new_customer_days', 'phases', 'pi', 'start', 'totals']
    >>> pm["start"], pm["end"], [p["phase"] for p in pm["phases"]][:3]
    ('2026-09-15', '2026-10-24', ['daily', 'accumulate', 'presale'])
    >>> narrow = pm["totals"]["narrow"]
    >>> narrow["impressions"], narrow["clicks"], round(narrow["spend"], 2), round(narrow["ctr"], 4)
    (454, 7, 21.24, 0.0154)
    >>> sorted(pm["cuts"]["wide"]), pm["lift"]["kind"], pm["pi"]["kind"]  # doctest: +NORMALIZE_WHITESPACE
    (['channel', 'creative_id', 'crowd_id', 'customer', 'phase', 'strategy_crowd'], 'randomised', 'randomised')
    >>> wide = pm["totals"]["wide"]
    >>> wide["cvr_numerator"], wide["cvr_denominator"], wide["orders"], wide["clicks"]  # 8 buyers of 134 reached
    (8, 134, 10, 7)
    >>> [(r["crowd_id"], r["impressions"], r["orders"]) for r in pm["cuts"]["wide"]["crowd_id"]][:2]
    [('sim_lower_tier', 191, 6), ('sim_broad', 108, 2)]
    """
    window, own = campaign_window(wh, campaign, 0)
    brand = brand or own
    if not brand:
        raise ValueError(f"campaign {campaign!r} is platform-wide: name the brand")
    new_days = MeasureSettings.of(wh).new_customer_days
    c = wh.table("campaigns")
    phases = c.filter(c.campaign_id == campaign).order_by("start_date").execute()
    delivery = campaign_delivery(wh, campaign, brand, window.start, window.end)
    acts = attributed(wh, campaign, brand, days)
    if delivery.empty and acts.empty:
        raise ValueError(f"campaign {campaign!r} has no delivery and no attributed behaviour for brand {brand!r}")
    touches = touch_frame(wh, campaign, brand, window, phases)
    ids = pd.concat([acts.consumer_id, touches.consumer_id]).drop_duplicates()
    seg = consumer_segments(wh, ibis.memtable(pd.DataFrame({"consumer_id": ids.astype(str)})), brand, window.start,
                            new_days) if len(ids) else pd.DataFrame(columns=["consumer_id", *SEGMENTS])
    acts = acts.drop(columns="new").merge(seg, on="consumer_id", how="left")
    touches = touches.merge(seg, on="consumer_id", how="left")
    delivery["phase"] = phase_of(delivery.day, phases)
    acts["phase"] = phase_of(acts.day, phases)
    reached = touches.consumer_id.nunique()
    spend, impressions, clicks = delivery.cost.sum(), delivery.impressions.sum(), delivery.clicks.sum()
    totals = {scope: _scope_kpis(scope, spend, impressions, clicks, acts, reached) for scope in SCOPES}
    cuts = {scope: {by: _cut(delivery, touches, acts, by, scope) for by in CUTS} for scope in SCOPES}
    order = {p: i for i, p in enumerate(dict.fromkeys(phases.phase))}  # phases in calendar order
    for scope in SCOPES:
        cuts[scope]["phase"].sort(key=lambda r: order.get(r["phase"], len(order)))
    buys = acts[acts.event_type == "purchase"]
    customers = [{"customer": name, "buyers": int(g.consumer_id.nunique()), "orders": len(g),
                  "gmv": float(g.amount.sum())}
                 for name, g in (("new", buys[buys.customer == "new"]), ("returning", buys[buys.customer != "new"]))]
    ensure_built(wh)
    asset_flow = flow(wh, "brand", brand, window.start - timedelta(days=1), window.end)
    lift, pi = None, None
    if with_lift:
        try:
            lift = campaign_lift(wh, campaign, brand, metrics=LIFT_METRICS)
        except ValueError as exc:
            lift = {"error": str(exc)}
    if with_pi:
        try:
            pi = campaign_pi(wh, campaign, brand, cuts=True)
        except ValueError as exc:
            pi = {"error": str(exc)}
    return Postmortem(campaign=campaign, brand=brand, start=str(window.start), end=str(window.end),
                      attribution_days=days, new_customer_days=new_days,
                      phases=phases[["phase", "start_date", "end_date"]].astype(str).to_dict(orient="records"),
                      definitions=_definitions(days, new_days), totals=totals, cuts=cuts, customers=customers,
                      flow=asset_flow, lift=lift, lift_cuts=_lift_cuts(wh, lift, campaign, brand, window, touches)
                      if with_lift else None, pi=pi)


def _lift_cuts(wh: Warehouse, lift: dict | None, campaign: str, brand: str, window, touches: pd.DataFrame) -> dict:
    if not lift or lift.get("error"):
        return {"note": "no lift was measured"}
    return lift_cuts(wh, lift, campaign, brand, window, LIFT_METRICS, touches=touches)
