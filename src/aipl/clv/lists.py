"""Member-operations use cases: a brand's member summary on a day, and one recall or reactivation list built
(and optionally saved for crowds and the autopilot) in one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from aipl.clv.members import member_status, member_summary, save_list, select_list
from aipl.warehouse import Warehouse


@dataclass
class MemberReport:
    """Buyers and members of a brand on a day by days since their last purchase, the member activity rate
    (None without members) and the size of the 老会员激活 reactivation list; what `member_report` returns.

    >>> from aipl.simulate import sample_warehouse
    >>> member_report(sample_warehouse(), "B01", "2026-10-24")  # doctest: +NORMALIZE_WHITESPACE
    MemberReport(brand='B01', day='2026-10-24', buyers=9, members=4, member_activity_rate=0.75,
                 buckets={'active': 7, 'lapsed_30': 2, 'lapsed_60': 0, 'lapsed_180': 0, 'never_bought': 0},
                 reactivation=0)
    """

    brand: str
    day: str
    buyers: int
    members: int
    member_activity_rate: float | None
    buckets: dict[str, int]
    reactivation: int

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> MemberReport("B01", "2026-10-24", 9, 4, 0.75, {"active": 7}, 0).to_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'brand': 'B01', 'day': '2026-10-24', 'buyers': 9, 'members': 4, 'member_activity_rate': 0.75,
         'buckets': {'active': 7}, 'reactivation': 0}
        """
        return {"brand": self.brand, "day": self.day, "buyers": self.buyers, "members": self.members,
                "member_activity_rate": self.member_activity_rate, "buckets": dict(self.buckets),
                "reactivation": self.reactivation}


def member_report(wh: Warehouse, brand: str, day: str | date) -> MemberReport:
    """The brand's member summary on `day` (30/60/180 天未购 buckets, activity, reactivation).

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> member_report(wh, "B01", "2026-11-11").buyers
    0
    >>> wh.close()
    """
    return MemberReport(brand, str(day), **member_summary(member_status(wh, brand, day)))


def member_list(wh: Warehouse, brand: str, day: str | date, kind: str, save: str | None = None) -> pd.DataFrame:
    """The consumer ids of one list of LIST_KINDS (a bucket such as lapsed_60, never_bought, reactivation);
    saved in the warehouse as list `save` of the brand when a name is given.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> len(member_list(wh, "B01", "2026-11-11", "lapsed_60"))
    0
    >>> wh.close()
    """
    ids = select_list(member_status(wh, brand, day), kind)
    if save:
        save_list(wh, save, brand, day, ids)
    return ids
