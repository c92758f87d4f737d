"""Typed results of the CLV engine (`aipl.results.Result` subclasses): dicts whose fields also read as attributes,
with a one-line repr."""

from __future__ import annotations

import pandas as pd

from aipl.results import Result, records


class FitCheck(Result):
    """Whether a maximum-likelihood fit is a proper optimum (`ok`), and the `problems` when it is not: the
    optimiser's `optimizer` message and `success`, the `grad_norm` (largest gradient of the mean log-likelihood
    in log-parameters), the Hessian's `min_eigenvalue` and the number of `starts` tried (a model's `check_`).

    >>> FitCheck(ok=True, problems=[], optimizer="Optimization terminated successfully.", success=True,
    ...          grad_norm=2e-9, min_eigenvalue=0.004, starts=1)
    FitCheck(ok: gradient 2e-09, smallest Hessian eigenvalue 0.004, 1 start)
    >>> FitCheck(ok=False, problems=["parameters at a boundary: a = 2e-06"], starts=7)
    FitCheck(NOT CONVERGED after 7 starts: parameters at a boundary: a = 2e-06)
    """

    ok: bool
    problems: list[str]
    optimizer: str
    success: bool
    grad_norm: float
    min_eigenvalue: float
    starts: int

    def __repr__(self) -> str:
        n = self.get("starts", 1)
        if self["ok"]:
            return (f"FitCheck(ok: gradient {self['grad_norm']:.2g}, smallest Hessian eigenvalue "
                    f"{self['min_eigenvalue']:.2g}, {n} start{'s' if n != 1 else ''})")
        return f"FitCheck(NOT CONVERGED after {n} start{'s' if n != 1 else ''}: {'; '.join(self['problems'])})"


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


class HoldoutCheck(Result):
    """A fit checked on a holdout period (Fader, Hardie & Lee 2005, figure 5): BG/NBD fitted up to
    `calibration_end`, its expected repeat purchases of the `customers` over the `length` time units to
    `holdout_end` against the `actual` ones (`predicted`, relative `error`), the fit's `fit` check and
    `by_frequency`, the mean actual and predicted per customer by calibration-period count (0 … 7+).

    >>> h = HoldoutCheck(calibration_end="1997-09-30", holdout_end="1998-06-30", length=39.0, time_unit="week",
    ...                  customers=2357, actual=1788.0, predicted=1744.2, error=-0.0245, fit={"ok": True},
    ...                  by_frequency=pd.DataFrame({"frequency": ["0", "7+"], "customers": [1411, 35],
    ...                                             "actual": [0.24, 7.1], "predicted": [0.23, 6.9]}))
    >>> h
    HoldoutCheck(2,357 customers, 39.0 weeks after 1997-09-30: predicted 1,744 repeat purchases, actual 1,788 \
(-2.5%))
    >>> h.to_dict()["by_frequency"][0]
    {'frequency': '0', 'customers': 1411, 'actual': 0.24, 'predicted': 0.23}
    """

    calibration_end: str
    holdout_end: str
    length: float
    time_unit: str
    customers: int
    actual: float
    predicted: float
    error: float | None
    fit: dict
    by_frequency: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: the figures and `by_frequency` as a list of rows.

        >>> HoldoutCheck(actual=3.0, by_frequency=pd.DataFrame({"frequency": ["0"], "actual": [3.0]})).to_dict()
        {'actual': 3.0, 'by_frequency': [{'frequency': '0', 'actual': 3.0}]}
        """
        return {**{k: v for k, v in self.items() if k != "by_frequency"}, "by_frequency": records(self["by_frequency"])}

    def __repr__(self) -> str:
        err = f" ({self['error']:+.1%})" if self["error"] is not None else ""
        return (f"HoldoutCheck({self['customers']:,} customers, {self['length']:.1f} {self['time_unit']}s after "
                f"{self['calibration_end']}: predicted {self['predicted']:,.0f} repeat purchases, actual "
                f"{self['actual']:,.0f}{err})")


class Seasonality(Result):
    """How campaign seasonality enters a prediction: whether a multiplier is `applied`, its value, the campaign
    `window` it scales ([start, end] or None) and the campaign it was `learnt_from`, with a one-line `note`.

    >>> Seasonality(applied=True, multiplier=1.8, window=["2026-11-01", "2026-11-11"], learnt_from="2025_double11",
    ...             note="…")
    Seasonality(× 1.80 over 2026-11-01..2026-11-11, learnt from 2025_double11)
    >>> Seasonality(applied=False, multiplier=1.0, window=None, learnt_from=None, note="no campaign in the horizon")
    Seasonality(not applied: no campaign in the horizon)
    """

    applied: bool
    multiplier: float
    window: list[str] | None
    learnt_from: str | None
    note: str

    def __repr__(self) -> str:
        if self["applied"]:
            w = self["window"]
            return f"Seasonality(× {self['multiplier']:.2f} over {w[0]}..{w[1]}, learnt from {self['learnt_from']})"
        return f"Seasonality(not applied: {self['note']})"
