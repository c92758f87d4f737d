"""The campaign post-mortem (结案): delivery (spend, impressions, clicks, CTR, CPC, CPM), engagement (收藏加购 and
its cost), attributed orders and GMV in two scopes (窄: after a click, on the clicked item; 宽: after any touch,
any item of the brand), CVR and ROI, new and returning customers (新客: no purchase of the brand in the prior
365 days), cut by channel, crowd, creative and phase; the AIPL flow over the campaign; and the randomised or
observational lift when one can be measured. Formulas: DOMAIN.md §11."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from aipl.assets import ensure_built, flow
from aipl.attribution import ATTRIBUTION_DAYS, ENGAGEMENT, attributed, campaign_delivery, campaign_window
from aipl.measure.experiment import campaign_lift
from aipl.measure.results import Postmortem
from aipl.warehouse import Warehouse

CUTS = ("channel", "crowd_id", "creative_id", "phase")
SCOPES = ("narrow", "wide")  # 窄 / 宽 口径


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def kpis(spend: float, impressions: float, clicks: float, engaged: float, orders: float, gmv: float) -> dict:
    """DOMAIN.md §11: CTR, CPC (ECPC), CPM (ECPM), 收藏加购成本, CVR = orders / clicks, ROI = GMV / spend.

    >>> k = kpis(spend=100.0, impressions=50_000, clicks=500, engaged=40, orders=20, gmv=3000.0)
    >>> k["ctr"], k["cpc"], k["cpm"], k["fav_cart_cost"], k["cvr"], k["roi"]
    (0.01, 0.2, 2.0, 2.5, 0.04, 30.0)
    >>> kpis(0.0, 0, 0, 0, 0, 0.0)["roi"] is None
    True
    """
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
               with_lift: bool = True) -> Postmortem:
    """The whole post-mortem of a campaign for one brand (the campaign's own brand by default).

    >>> from aipl.simulate import sample_warehouse
    >>> pm = postmortem(sample_warehouse(), "sim_double11", "B01")
    >>> sorted(pm)  # doctest: +NORMALIZE_WHITESPACE
    ['attribution_days', 'brand', 'campaign', 'customers', 'cuts', 'end', 'flow', 'lift', 'phases', 'start',
     'totals']
    >>> pm["start"], pm["end"], [p["phase"] for p in pm["phases"]][:3]
    ('2026-09-15', '2026-10-24', ['daily', 'accumulate', 'presale'])
    >>> narrow = pm["totals"]["narrow"]
    >>> narrow["impressions"], narrow["clicks"], round(narrow["spend"], 2), round(narrow["ctr"], 4)
    (454, 7, 21.24, 0.0154)
    >>> sorted(pm["cuts"]["wide"]), pm["lift"]["kind"]
    (['channel', 'creative_id', 'crowd_id', 'phase'], 'randomised')
    """
    window, own = campaign_window(wh, campaign, 0)
    brand = brand or own
    if not brand:
        raise ValueError(f"campaign {campaign!r} is platform-wide: name the brand")
    c = wh.table("campaigns")
    phases = c.filter(c.campaign_id == campaign).order_by("start_date").execute()
    delivery = campaign_delivery(wh, campaign, brand, window.start, window.end)
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
    return Postmortem(campaign=campaign, brand=brand, start=str(window.start), end=str(window.end),
                      attribution_days=days, phases=phases[["phase", "start_date", "end_date"]].astype(str)
                      .to_dict(orient="records"), totals=totals, cuts=cuts, customers=customers, flow=asset_flow,
                      lift=lift)
