"""Member value against non-members: ARPU (GMV per buyer) of the brand's members and of its other buyers over a
period, and the 会员通 (member-connect) order value: the orders members place, their GMV and average value."""

from __future__ import annotations

from datetime import date

import ibis

from aipl.config import parse_day
from aipl.results import Result
from aipl.warehouse import Warehouse


class MemberValue(Result):
    """Members' and non-members' buyers, GMV, orders, ARPU (GMV per buyer) and AOV (GMV per order) over a period,
    and the members' share of the GMV (会员通 order value); what `member_value` returns.

    >>> v = MemberValue(brand="B01", start="2026-09-25", end="2026-10-24", arpu_ratio=2.5, member_share=0.4,
    ...                 groups={"member": {"buyers": 4, "gmv": 400.0, "orders": 8, "arpu": 100.0, "aov": 50.0},
    ...                         "non_member": {"buyers": 15, "gmv": 600.0, "orders": 15, "arpu": 40.0, "aov": 40.0}})
    >>> v
    MemberValue(B01 2026-09-25 … 2026-10-24: member ARPU 100.00 vs 40.00 (×2.50), members 40.0% of GMV)
    >>> v.groups["member"]["aov"]
    50.0
    """

    brand: str
    start: str
    end: str
    groups: dict[str, dict]
    arpu_ratio: float | None
    member_share: float | None

    def __repr__(self) -> str:
        m, n = self["groups"]["member"], self["groups"]["non_member"]

        def num(v: float | None, fmt: str) -> str:
            return "—" if v is None else format(v, fmt)
        return (f"MemberValue({self['brand']} {self['start']} … {self['end']}: member ARPU {num(m['arpu'], ',.2f')} "
                f"vs {num(n['arpu'], ',.2f')} (×{num(self['arpu_ratio'], '.2f')}), members "
                f"{num(self['member_share'], '.1%')} of GMV)")


def member_value(wh: Warehouse, brand: str, start: str | date, end: str | date) -> MemberValue:
    """ARPU and order value of the brand's member buyers against its other buyers, over [start, end]: a member is
    active in one of the brand's shops and joined on or before the day of the order.

    >>> from aipl.simulate import sample_warehouse
    >>> v = member_value(sample_warehouse(), "B01", "2026-09-25", "2026-10-24")
    >>> sorted(v.groups), v.groups["member"]["buyers"] + v.groups["non_member"]["buyers"] > 0
    (['member', 'non_member'], True)
    """
    d0, d1 = parse_day(start, "start"), parse_day(end, "end")
    if d1 < d0:
        raise ValueError(f"the period ends ({d1}) before it starts ({d0})")
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    buys = ev.filter((ev.brand_id == brand) & (ev.event_type == "purchase") & (day >= ibis.literal(d0))
                     & (day <= ibis.literal(d1))).mutate(day=day)
    m = wh.table("members")
    m = m.filter((m.brand_id == brand) & (m.status == "active"))
    joined = m.group_by("consumer_id").aggregate(joined=wh.local_day(m.joined_at).min())
    j = buys.left_join(joined, "consumer_id")
    member = j.joined.notnull() & (j.joined <= j.day)
    t = j.mutate(group=ibis.cases((member, "member"), else_="non_member"), order=ibis.coalesce(j.order_id, j.ts.cast(
        "string") + j.consumer_id))
    g = t.group_by("group").aggregate(buyers=t.consumer_id.nunique(), gmv=t.amount.sum(), orders=t.order.nunique())
    df = g.execute().set_index("group")
    groups = {}
    for name in ("member", "non_member"):
        buyers = int(df.buyers.get(name, 0))
        gmv = float(df.gmv.get(name, 0.0) or 0.0)
        orders = int(df.orders.get(name, 0))
        groups[name] = {"buyers": buyers, "gmv": gmv, "orders": orders, "arpu": gmv / buyers if buyers else None,
                        "aov": gmv / orders if orders else None}
    m_arpu, n_arpu = groups["member"]["arpu"], groups["non_member"]["arpu"]
    total = groups["member"]["gmv"] + groups["non_member"]["gmv"]
    return MemberValue(brand=brand, start=str(d0), end=str(d1), groups=groups,
                       arpu_ratio=m_arpu / n_arpu if m_arpu is not None and n_arpu else None,
                       member_share=groups["member"]["gmv"] / total if total else None)
