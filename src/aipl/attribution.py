"""Attribution shared by the autopilot and measurement: a campaign's window, its touches, the last-touch
attribution of purchases, 收藏加购 and member joins to channel, crowd and creative (宽 and 窄 scope, 新客 or not),
and the campaign's ad delivery (DOMAIN.md §7, §8, §11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.config import parse_day
from aipl.warehouse import Warehouse

TOUCH_TYPES = ("exposure", "ad_click")  # the events by which a campaign touches a consumer
ENGAGEMENT = ("favorite", "add_to_cart")  # 收藏加购
ATTRIBUTION_DAYS = 15  # DOMAIN.md §11 [P]: attribution window, default 15 days
NEW_CUSTOMER_DAYS = 365  # 新客: no purchase of the brand in the previous 365 days (DOMAIN.md §11 [P])

__all__ = ["ATTRIBUTION_DAYS", "ENGAGEMENT", "NEW_CUSTOMER_DAYS", "TOUCH_TYPES", "Window", "attributed",
           "campaign_delivery", "campaign_touches", "campaign_window"]


@dataclass
class Window:
    """The days an outcome is counted over (both ends included) and the pre-period before them.

    >>> w = Window(date(2026, 11, 1), date(2026, 11, 11), pre_days=30)
    >>> w.pre_start.isoformat(), w.pre_last.isoformat()
    ('2026-10-02', '2026-10-31')
    """

    start: date
    end: date
    pre_days: int = 30
    pre_end: date | None = None  # the pre-period's last day (default: the day before the window)

    @property
    def pre_last(self) -> date:
        """The pre-period's last day: `pre_end`, else the day before the window.

        >>> Window(date(2026, 11, 1), date(2026, 11, 11)).pre_last.isoformat()
        '2026-10-31'
        """
        return self.pre_end or self.start - timedelta(days=1)

    @property
    def pre_start(self) -> date:
        """The pre-period's first day, `pre_days` before its last.

        >>> Window(date(2026, 11, 1), date(2026, 11, 11), pre_days=7).pre_start.isoformat()
        '2026-10-25'
        """
        return self.pre_last - timedelta(days=self.pre_days - 1)


def campaign_window(wh: Warehouse, campaign: str, pre_days: int = 30) -> tuple[Window, str | None]:
    """The campaign's first to last day over all its phases, and its brand (None for a platform campaign).

    >>> from aipl.simulate import sample_warehouse
    >>> window, brand = campaign_window(sample_warehouse(), "sim_double11", pre_days=0)
    >>> window.start.isoformat(), window.end.isoformat(), brand
    ('2026-09-15', '2026-10-24', None)
    """
    c = wh.table("campaigns")
    rows = c.filter(c.campaign_id == campaign).execute()
    if rows.empty:
        known = sorted(c.select("campaign_id").distinct().execute().campaign_id)
        raise ValueError(f"unknown campaign {campaign!r}" + (f"; known: {', '.join(known)}" if known else
                                                             "; the campaigns table is empty"))
    brands = sorted({b for b in rows.brand_id if isinstance(b, str) and b})
    window = Window(parse_day(rows.start_date.min()), parse_day(rows.end_date.max()), pre_days)
    return window, (brands[0] if len(brands) == 1 else None)


def campaign_touches(wh: Warehouse, campaign: str, brand: str, start: date, end: date) -> ir.Table:
    """The brand's campaign touches (exposures and clicks) between two days: who, when, which item, channel,
    crowd and creative ("(none)" when the event names none).

    >>> from aipl.simulate import sample_warehouse
    >>> t = campaign_touches(sample_warehouse(), "sim_double11", "B01", date(2026, 9, 15), date(2026, 10, 24))
    >>> sorted(t.execute().touch_type.unique())
    ['ad_click', 'exposure']
    """
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
    whether the buyer was new (no purchase of the brand in the previous 365 days).

    >>> from aipl.simulate import sample_warehouse
    >>> acts = attributed(sample_warehouse(), "sim_double11", "B01")
    >>> sorted(acts.event_type.unique())
    ['add_to_cart', 'favorite', 'member_join', 'purchase']
    """
    window, _ = campaign_window(wh, campaign, 0)
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    acts = ev.filter((ev.brand_id == brand) & ev.event_type.isin(["purchase", *ENGAGEMENT, "member_join"])
                     & (day >= ibis.literal(window.start)) & (day <= ibis.literal(window.end)))
    acts = acts.select("consumer_id", "ts", "event_type", "item_id", "order_id",
                       amount=acts.amount.fill_null(0.0)).mutate(act_id=ibis.row_number())
    touches = campaign_touches(wh, campaign, brand, window.start - timedelta(days=days), window.end)
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


def campaign_delivery(wh: Warehouse, campaign: str, brand: str, start: date, end: date) -> pd.DataFrame:
    """The brand's daily ad delivery in the campaign between two days: channel, crowd, creative, impressions,
    clicks and cost ("(none)" for a delivery row that names no crowd or creative).

    >>> from aipl.simulate import sample_warehouse
    >>> d = campaign_delivery(sample_warehouse(), "sim_double11", "B01", date(2026, 9, 15), date(2026, 10, 24))
    >>> sorted(d.channel.unique())
    ['affiliate', 'content', 'display', 'live', 'search']
    """
    a = wh.table("ad_delivery")
    a = a.filter((a.campaign_id == campaign) & (a.brand_id == brand) & (a.day >= ibis.literal(start))
                 & (a.day <= ibis.literal(end)))
    df = a.select("day", "channel", crowd_id=a.crowd_id.fill_null("(none)"),
                  creative_id=a.creative_id.fill_null("(none)"), impressions=a.impressions,
                  clicks=a.clicks.fill_null(0), cost=a.cost.fill_null(0.0)).execute()
    return df
