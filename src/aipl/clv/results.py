"""Typed results of the CLV engine (`aipl.results.Result` subclasses): dicts whose fields also read as attributes,
with a one-line repr."""

from __future__ import annotations

import pandas as pd

from aipl.results import Result, records


class MemberSummary(Result):
    """Buyers and members of a brand, the member activity rate (FAST's T; None without members), the buyers per
    lapsed bucket and the size of the 老会员激活 reactivation list (what `member_summary` returns).

    >>> s = MemberSummary(buyers=9, members=4, member_activity_rate=0.75, buckets={"active": 7, "lapsed_30": 2},
    ...                   reactivation=0)
    >>> s
    MemberSummary(9 buyers, 4 members (75.0% active), active 7, lapsed_30 2; reactivation 0)
    >>> s.buckets["lapsed_30"], s["members"]
    (2, 4)
    """

    buyers: int
    members: int
    member_activity_rate: float | None
    buckets: dict[str, int]
    reactivation: int

    def __repr__(self) -> str:
        rate = self["member_activity_rate"]
        active = f" ({rate:.1%} active)" if rate is not None else ""
        buckets = ", ".join(f"{b} {n:,}" for b, n in self["buckets"].items())
        return (f"MemberSummary({self['buyers']:,} buyers, {self['members']:,} members{active}, {buckets}; "
                f"reactivation {self['reactivation']:,})")


class AssetValue(Result):
    """A brand's consumer-asset value at `calibration_end` over `months` months (what `asset_value` returns):
    `consumers`, one row per consumer (state, discounted CLV, P(alive), basis), and `by_state`, their consumers
    and value per AIPL × DEEPLINK state; with the value of a newly acquired customer, the 30-day conversion of A
    and I consumers that values them, and the fitted parameters.

    >>> v = AssetValue(brand="B01", calibration_end="2026-10-24", months=36, new_customer_value=120.0,
    ...                conversion={"A": 0.02, "I": 0.1}, params={"r": 0.24},
    ...                consumers=pd.DataFrame({"consumer_id": ["c1", "c2"], "aipl": ["A", "P"], "clv": [2.4, 300.0]}),
    ...                by_state=pd.DataFrame({"aipl": ["A", "P"], "consumers": [1, 1], "value": [2.4, 300.0]}))
    >>> v
    AssetValue(B01 at 2026-10-24 over 36 months: 2 consumers worth 302.40)
    >>> v.total, v.by_state.value.tolist()
    (302.4, [2.4, 300.0])
    """

    brand: str
    calibration_end: str
    months: int
    new_customer_value: float
    conversion: dict[str, float]
    params: dict[str, float]
    consumers: pd.DataFrame
    by_state: pd.DataFrame

    @property
    def total(self) -> float:
        """The value of all the brand's consumers.

        >>> AssetValue(by_state=pd.DataFrame({"value": [2.5, 300.0]})).total
        302.5
        """
        return float(self["by_state"].value.sum())

    def to_dict(self) -> dict:
        """JSON-ready: the figures, the `total` and `by_state` as a list of rows (the per-consumer values stay in
        `consumers`: write them to a file).

        >>> AssetValue(brand="B01", consumers=pd.DataFrame({"consumer_id": ["c1"]}),
        ...            by_state=pd.DataFrame({"aipl": ["P"], "value": [3.0]})).to_dict()
        {'brand': 'B01', 'total': 3.0, 'by_state': [{'aipl': 'P', 'value': 3.0}]}
        """
        figures = {k: v for k, v in self.items() if k not in ("consumers", "by_state")}
        return {**figures, "total": self.total, "by_state": records(self["by_state"])}

    def __repr__(self) -> str:
        return (f"AssetValue({self['brand']} at {self['calibration_end']} over {self['months']} months: "
                f"{len(self['consumers']):,} consumers worth {self.total:,.2f})")
