"""The campaign post-mortem (结案): delivery (spend, impressions, clicks, CTR, CPC, CPM), engagement (收藏加购 and
its cost), attributed orders and GMV in two scopes (窄: after a click, on the clicked item; 宽: after any touch,
any item of the brand), CVR and ROI, new and returning customers (新客: no purchase of the brand in the prior
365 days), cut by channel, crowd, creative and phase; the AIPL flow over the campaign; and the randomised or
observational lift when one can be measured. Formulas: DOMAIN.md §11."""

from __future__ import annotations

from datetime import timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.assets import ensure_built, flow
from aipl.measure.experiment import TOUCH_TYPES, campaign_lift, campaign_window
from aipl.measure.pi import ATTRIBUTION_DAYS
from aipl.warehouse import Warehouse

NEW_CUSTOMER_DAYS = 365
ENGAGEMENT = ("favorite", "add_to_cart")  # 收藏加购
CUTS = ("channel", "crowd_id", "creative_id", "phase")
SCOPES = ("narrow", "wide")  # 窄 / 宽 口径


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def kpis(spend: float, impressions: float, clicks: float, engaged: float, orders: float, gmv: float) -> dict:
    """DOMAIN.md §11: CTR, CPC (ECPC), CPM (ECPM), 收藏加购成本, CVR = orders / clicks, ROI = GMV / spend."""
    return {
        "spend": float(spend), "impressions": int(impressions), "clicks": int(clicks), "fav_cart": int(engaged),
        "orders": int(orders), "gmv": float(gmv), "ctr": _ratio(clicks, impressions), "cpc": _ratio(spend, clicks),
        "cpm": _ratio(1000 * spend, impressions), "fav_cart_cost": _ratio(spend, engaged),
        "cvr": _ratio(orders, clicks), "roi": _ratio(gmv, spend),
    }


def _phase_of(days: pd.Series, phases: pd.DataFrame) -> pd.Series:
    out = pd.Series("outside", index=days.index, dtype=object)
    d = pd.to_datetime(days)
    for r in phases.itertuples():
        out[(d >= pd.Timestamp(r.start_date)) & (d <= pd.Timestamp(r.end_date))] = r.phase
    return out


def _touches(wh: Warehouse, campaign: str, brand: str, start, end) -> ir.Table:
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    t = ev.filter((ev.campaign_id == campaign) & (ev.brand_id == brand) & ev.event_type.isin(TOUCH_TYPES)
                  & (day >= ibis.literal(start)) & (day <= ibis.literal(end)))
    return t.select("consumer_id", touch_ts="ts", touch_type="event_type", touch_item="item_id",
                    channel=t.channel.fill_null("(none)"), crowd_id=t.crowd_id.fill_null("(none)"),
                    creative_id=t.creative_id.fill_null("(none)"))


def attributed(wh: Warehouse, campaign: str, brand: str, days: int = ATTRIBUTION_DAYS) -> pd.DataFrame:
    """Each purchase, 收藏加购 and member join of the brand in the campaign with a touch of the campaign in the
    `days` before it: the last such touch's channel, crowd and creative (wide scope), whether it also counts
    in the narrow scope (a click before it, on the same item when the click names one), and for purchases
    whether the buyer was new (no purchase of the brand in the previous 365 days)."""
    window, _ = campaign_window(wh, campaign, 0)
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    acts = ev.filter((ev.brand_id == brand) & ev.event_type.isin(["purchase", *ENGAGEMENT, "member_join"])
                     & (day >= ibis.literal(window.start)) & (day <= ibis.literal(window.end)))
    acts = acts.select("consumer_id", "ts", "event_type", "item_id", "order_id",
                       amount=acts.amount.fill_null(0.0)).mutate(act_id=ibis.row_number())
    touches = _touches(wh, campaign, brand, window.start - timedelta(days=days), window.end)
    j = acts.inner_join(touches, [acts.consumer_id == touches.consumer_id, touches.touch_ts <= acts.ts,
                                  touches.touch_ts > acts.ts - ibis.interval(days=days)])
    click_ok = (j.touch_type == "ad_click") & (j.touch_item.isnull() | (j.touch_item == j.item_id))
    w = ibis.window(group_by="act_id", order_by=[ibis.desc("touch_ts"), "channel", "crowd_id", "creative_id"])
    j = j.mutate(rank=ibis.row_number().over(w), narrow=click_ok.any().over(ibis.window(group_by="act_id")))
    last = j.filter(j.rank == 0).select("act_id", "consumer_id", "ts", "event_type", "item_id", "amount", "channel",
                                        "crowd_id", "creative_id", "narrow")
    buys = ev.filter((ev.brand_id == brand) & (ev.event_type == "purchase")).select(buyer="consumer_id",
                                                                                     bought="ts")
    prior = last.inner_join(buys, [last.consumer_id == buys.buyer, buys.bought < last.ts,
                                   buys.bought >= last.ts - ibis.interval(days=NEW_CUSTOMER_DAYS)])
    seen = prior.select("act_id").distinct().mutate(returning=ibis.literal(True))
    out = last.left_join(seen, "act_id").select(
        "act_id", "consumer_id", "ts", "event_type", "item_id", "amount", "channel", "crowd_id", "creative_id",
        "narrow", day=wh.local_day(last.ts), new=~seen.returning.fill_null(False))
    return out.execute()


def _delivery(wh: Warehouse, campaign: str, brand: str, start, end) -> pd.DataFrame:
    a = wh.table("ad_delivery")
    a = a.filter((a.campaign_id == campaign) & (a.brand_id == brand) & (a.day >= ibis.literal(start))
                 & (a.day <= ibis.literal(end)))
    df = a.select("day", "channel", crowd_id=a.crowd_id.fill_null("(none)"),
                  creative_id=a.creative_id.fill_null("(none)"), impressions=a.impressions,
                  clicks=a.clicks.fill_null(0), cost=a.cost.fill_null(0.0)).execute()
    return df


def _cut(delivery: pd.DataFrame, acts: pd.DataFrame, by: str, scope: str) -> list[dict]:
    d = delivery.groupby(by)[["cost", "impressions", "clicks"]].sum()
    a = acts if scope == "wide" else acts[acts.narrow]
    buys = a[a.event_type == "purchase"]
    o = pd.DataFrame({"orders": buys.groupby(by).size(), "gmv": buys.groupby(by).amount.sum(),
                      "new_gmv": buys[buys.new].groupby(by).amount.sum(),
                      "engaged": a[a.event_type.isin(ENGAGEMENT)].groupby(by).size()})
    t = d.join(o, how="outer").fillna(0)
    rows = []
    for key, r in t.sort_values("cost", ascending=False).iterrows():
        k = kpis(r.cost, r.impressions, r.clicks, r.engaged, r.orders, r.gmv)
        rows.append({by: key, **k, "new_gmv_share": _ratio(r.new_gmv, r.gmv)})
    return rows


def postmortem(wh: Warehouse, campaign: str, brand: str | None = None, days: int = ATTRIBUTION_DAYS,
               with_lift: bool = True) -> dict:
    """The whole post-mortem of a campaign for one brand (the campaign's own brand by default)."""
    window, own = campaign_window(wh, campaign, 0)
    brand = brand or own
    if not brand:
        raise ValueError(f"campaign {campaign!r} is platform-wide: name the brand")
    c = wh.table("campaigns")
    phases = c.filter(c.campaign_id == campaign).order_by("start_date").execute()
    delivery = _delivery(wh, campaign, brand, window.start, window.end)
    acts = attributed(wh, campaign, brand, days)
    if delivery.empty and acts.empty:
        raise ValueError(f"campaign {campaign!r} has no delivery and no attributed behaviour for brand {brand!r}")
    delivery["phase"] = _phase_of(delivery.day, phases)
    acts["phase"] = _phase_of(acts.day, phases)
    totals = {}
    for scope in SCOPES:
        a = acts if scope == "wide" else acts[acts.narrow]
        buys = a[a.event_type == "purchase"]
        k = kpis(delivery.cost.sum(), delivery.impressions.sum(), delivery.clicks.sum(),
                 a.event_type.isin(ENGAGEMENT).sum(), len(buys), buys.amount.sum())
        k.update(buyers=int(buys.consumer_id.nunique()), new_buyers=int(buys[buys.new].consumer_id.nunique()),
                 new_gmv=float(buys[buys.new].amount.sum()),
                 new_gmv_share=_ratio(buys[buys.new].amount.sum(), buys.amount.sum()))
        totals[scope] = k
    cuts = {scope: {by: _cut(delivery, acts, by, scope) for by in CUTS} for scope in SCOPES}
    order = {p: i for i, p in enumerate(dict.fromkeys(phases.phase))}  # phases in calendar order
    for scope in SCOPES:
        cuts[scope]["phase"].sort(key=lambda r: order.get(r["phase"], len(order)))
    buys = acts[acts.event_type == "purchase"]
    customers = [{"customer": name, "buyers": int(g.consumer_id.nunique()), "orders": len(g),
                  "gmv": float(g.amount.sum())}
                 for name, g in (("new", buys[buys.new]), ("returning", buys[~buys.new]))]
    ensure_built(wh)
    asset_flow = flow(wh, "brand", brand, window.start - timedelta(days=1), window.end)
    lift = None
    if with_lift:
        try:
            lift = campaign_lift(wh, campaign, brand, metrics=("conversion", "purchases", "spend"))
        except ValueError as exc:
            lift = {"error": str(exc)}
    return {"campaign": campaign, "brand": brand, "start": str(window.start), "end": str(window.end),
            "attribution_days": days, "phases": phases[["phase", "start_date", "end_date"]].astype(str)
            .to_dict(orient="records"), "totals": totals, "cuts": cuts, "customers": customers,
            "flow": asset_flow, "lift": lift}
