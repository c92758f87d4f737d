"""The calibration/holdout check of a BG/NBD fit (Fader, Hardie & Lee 2005, figure 5): fitted on the purchases up
to the calibration end, the model's expected repeat purchases in the holdout period against the actual ones,
by the number of calibration-period repeat purchases (0 … 7+); and the campaign-window multiplier that carries
last year's campaign uplift into this year's predictions."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd

from aipl.clv.models import BetaGeo
from aipl.clv.results import HoldoutCheck, Seasonality
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.config import parse_day
from aipl.warehouse import Warehouse

TOP_COUNT = 7  # calibration counts of 7 or more are one group, as in the paper


def purchase_days(wh: Warehouse, start: date, end: date, brand: str | None = None) -> pd.Series:
    """Purchase days (transactions) of each consumer from `start` to `end` inclusive, of one brand or all.

    >>> from aipl.simulate import sample_warehouse
    >>> n = purchase_days(sample_warehouse(), date(2026, 10, 1), date(2026, 10, 24))
    >>> n.name, int(n.sum()) > 0
    ('purchases', True)
    """
    ev = wh.table("events")
    buys = ev.filter(ev.event_type == "purchase")
    if brand is not None:
        buys = buys.filter(buys.brand_id == brand)
    day = wh.local_day(buys.ts)
    buys = buys.mutate(day=day).filter((day >= ibis.literal(start)) & (day <= ibis.literal(end)))
    got = buys.group_by("consumer_id").aggregate(purchases=buys.day.nunique()).execute()
    return got.set_index("consumer_id").purchases.astype("int64")


def holdout_check(wh: Warehouse, calibration_end: str | date, holdout_end: str | date, time_unit: str = "week",
                  brand: str | None = None, summary: pd.DataFrame | None = None) -> HoldoutCheck:
    """BG/NBD fitted on the purchases up to `calibration_end`, its expected repeat purchases of each customer in
    the holdout period (the day after it to `holdout_end`) against the actual ones, by calibration-period count.

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     h = holdout_check(wh, "1997-09-30", "1998-06-30")
    >>> h
    HoldoutCheck(2,357 customers, 39.0 weeks after 1997-09-30: predicted 1,653 repeat purchases, actual 1,882 (-12.1%))
    >>> h.by_frequency.columns.tolist()
    ['frequency', 'customers', 'actual', 'predicted']
    """
    end, last = parse_day(calibration_end, "calibration end"), parse_day(holdout_end, "holdout end")
    if last <= end:
        raise ValueError(f"the holdout end {last} must come after the calibration end {end}")
    s = summary if summary is not None else rfm_summary(wh, end, time_unit, brand=brand)
    if (s.frequency > 0).sum() < 10:
        raise ValueError(f"fewer than 10 repeat buyers before {end}: too few to check a fit")
    length = (last - end).days / TIME_UNITS[time_unit]
    bg = BetaGeo().fit(s.frequency, s.recency, s["T"])
    actual = purchase_days(wh, end + timedelta(days=1), last, brand).reindex(s.consumer_id).fillna(0).to_numpy()
    predicted = bg.predict(length, s.frequency, s.recency, s["T"])
    group = np.minimum(s.frequency.to_numpy(), TOP_COUNT)
    by = pd.DataFrame({"frequency": group, "actual": actual, "predicted": predicted}).groupby("frequency")
    table = by.agg(customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
    table = table.reset_index().astype({"frequency": "int64", "customers": "int64"})
    table["frequency"] = table.frequency.astype(str).where(table.frequency < TOP_COUNT, f"{TOP_COUNT}+")
    total_a, total_p = float(actual.sum()), float(predicted.sum())
    return HoldoutCheck(calibration_end=str(end), holdout_end=str(last), length=length, time_unit=time_unit,
                        customers=len(s), actual=total_a, predicted=total_p,
                        error=(total_p - total_a) / total_a if total_a else None, fit=bg.check_,
                        by_frequency=table)


def campaign_windows(wh: Warehouse, brand: str | None = None) -> pd.DataFrame:
    """Each campaign's window (from its first phase to its last, 日销 daily-sales phases left out), platform-wide
    or the brand's.

    >>> from aipl.simulate import sample_warehouse
    >>> campaign_windows(sample_warehouse()).columns.tolist()
    ['campaign_id', 'start', 'end']
    """
    c = wh.table("campaigns")
    c = c.filter(c.brand_id.isnull() | (c.brand_id == brand)) if brand else c.filter(c.brand_id.isnull())
    c = c.filter(c.phase != "daily")
    w = c.group_by("campaign_id").aggregate(start=c.start_date.min(), end=c.end_date.max()).execute()
    return w.assign(start=pd.to_datetime(w.start).dt.date, end=pd.to_datetime(w.end).dt.date) \
        .sort_values("start", ignore_index=True)


def _daily_rate(wh: Warehouse, brand: str | None, first: date, last: date) -> float:
    """Purchase days per calendar day of the brand's buyers from `first` to `last`."""
    return float(purchase_days(wh, first, last, brand).sum()) / ((last - first).days + 1)


def seasonality(wh: Warehouse, brand: str | None, calibration_end: str | date, horizon_days: float,
                time_unit: str = "week") -> Seasonality:
    """How campaign seasonality enters predictions from `calibration_end` over `horizon_days`: the next campaign
    window in the horizon gets the multiplier of the last campaign before it (its purchase rate in the window ÷
    the rate over as many days before it, as far back as the data go); or why nothing is applied.

    >>> from aipl.simulate import sample_warehouse
    >>> seasonality(sample_warehouse(), "B01", "2026-10-24", 30).applied
    False
    """
    end = parse_day(calibration_end, "calibration end")
    w = campaign_windows(wh, brand)
    ahead = w[(w.start > end) & (w.start <= end + timedelta(days=horizon_days))]
    if ahead.empty:
        return Seasonality(applied=False, multiplier=1.0, window=None, learnt_from=None,
                           note="no campaign of the calendar falls in the horizon: a steady purchase rate is assumed")
    nxt = ahead.iloc[0]
    window = [str(nxt.start), str(min(nxt.end, end + timedelta(days=int(horizon_days))))]
    ev = wh.table("events")
    buys = ev.filter((ev.event_type == "purchase") & ((ev.brand_id == brand) if brand else ev.brand_id.notnull()))
    first_day = buys.aggregate(first=wh.local_day(buys.ts).min()).execute()["first"].iloc[0]
    first_day = None if pd.isna(first_day) else pd.Timestamp(first_day).date()
    for prev in w[w.end < end].iloc[::-1].itertuples():
        days = (prev.end - prev.start).days + 1
        lo = prev.start - timedelta(days=days)
        if first_day is not None:
            lo = max(lo, first_day)
        if lo >= prev.start:
            continue
        base = _daily_rate(wh, brand, lo, prev.start - timedelta(days=1))
        if base > 0:
            m = _daily_rate(wh, brand, prev.start, prev.end) / base
            return Seasonality(applied=True, multiplier=m, window=window, learnt_from=str(prev.campaign_id),
                               note=f"purchases in the campaign window {window[0]}..{window[1]} are scaled × "
                                    f"{m:.2f}: the purchase rate in {prev.campaign_id} against the "
                                    f"{(prev.start - lo).days} days before it")
    return Seasonality(applied=False, multiplier=1.0, window=window, learnt_from=None,
                       note=f"campaign {nxt.campaign_id} falls in the horizon but no earlier campaign to learn its "
                            "uplift from: the prediction assumes a steady purchase rate and will run low in the "
                            "campaign window")
