"""An independent, deliberately naive reading of DOMAIN.md §2.5 and §3: evaluate one consumer on one day."""

from __future__ import annotations

from datetime import date, timedelta

from aipl.assets.rules import AssetRules


def in_window(days: set[date], d: date, n: int) -> set[date]:
    return {x for x in days if d - timedelta(days=n - 1) <= x <= d}


def state_on(events: list[tuple[date, str]], d: date, r: AssetRules, member_since: date | None = None):
    """(aipl, deeplink) of a consumer with `events` [(local day, event_type)] on day d, or (None, None)."""
    by: dict[str, set[date]] = {}
    inter_per_day: dict[date, int] = {}
    for day, et in events:
        if day > d:
            continue
        by.setdefault(et, set()).add(day)
        if et == "interaction":
            inter_per_day[day] = inter_per_day.get(day, 0) + 1

    def days_of(types) -> set[date]:
        return set().union(*[by.get(t, set()) for t in types])

    buys_l = in_window(days_of(r.purchase), d, r.loyal_days)
    adv_l = in_window(days_of(r.advocacy), d, r.loyal_days)
    loyal = len(buys_l) >= r.loyal_min_purchase_days or (bool(buys_l) and bool(adv_l))
    bought = bool(in_window(days_of(r.purchase), d, r.purchase_days))
    active = in_window(days_of(r.active), d, r.interest_days)
    browse = in_window(days_of(r.browse), d, r.interest_days)
    interest = bool(active) or len(browse) >= r.browse_min_days
    aware = bool(in_window(days_of(r.passive) | days_of(r.browse), d, r.awareness_days))
    member = bool(by.get("member_join")) or (member_since is not None and member_since <= d)
    if loyal:
        keen = member or bool(adv_l) or len(buys_l) >= r.keen_min_purchase_days
        return "L", "keen" if keen else "numerous"
    if bought:
        return "P", "initial"
    if interest:
        if in_window(days_of(r.intent), d, r.interest_days):
            return "I", "perform"
        many = any(n >= r.enthuse_min_interactions for x, n in inter_per_day.items()
                   if x in in_window(set(inter_per_day), d, r.interest_days))
        if in_window(days_of(r.deep), d, r.interest_days) or many or len(active) >= r.enthuse_min_active_days:
            return "I", "enthuse"
        return "I", "engage"
    if aware:
        return "A", "discover"
    return None, None
