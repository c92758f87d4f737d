"""The calibration summary of each customer (frequency, recency, T, monetary) computed in the warehouse."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.config import parse_day
from aipl.warehouse import Warehouse

TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 30.0}


def rfm_summary(wh: Warehouse, calibration_end: str | date, time_unit: str = "week",
                brand: str | None = None, cohort: tuple[date, date] | None = None) -> pd.DataFrame:
    """Per consumer: frequency (repeat purchase days), recency and T in `time_unit`, monetary (mean repeat-day spend).

    A purchase day is a day of the workspace time zone; several purchases on one day are one transaction
    (as in Fader, Hardie & Lee 2005). Only purchases up to `calibration_end` (inclusive) count; with a `cohort`
    (first day, last day), only the customers whose first purchase falls in it.

    >>> from aipl.simulate import sample_warehouse
    >>> rfm_summary(sample_warehouse(), "2026-10-24").head(2).round(2)
      consumer_id  frequency  recency     T  monetary
    0   c00000008          1     2.57  3.00    191.48
    1   c00000010          0     0.00  3.43      0.00
    """
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, not {time_unit!r}")
    end = parse_day(calibration_end, "calibration end")
    return _summary(wh, end, brand, cohort).execute().assign(
        recency=lambda d: d.recency_days / TIME_UNITS[time_unit],
        T=lambda d: d.T_days / TIME_UNITS[time_unit],
    )[["consumer_id", "frequency", "recency", "T", "monetary"]].sort_values("consumer_id", ignore_index=True)


def _summary(wh: Warehouse, end: date, brand: str | None, cohort: tuple[date, date] | None = None) -> ir.Table:
    ev = wh.table("events")
    buys = ev.filter(ev.event_type == "purchase")
    if brand is not None:
        buys = buys.filter(buys.brand_id == brand)
    day = wh.local_day(buys.ts)
    days = (
        buys.mutate(day=day).filter(lambda t: t.day <= ibis.literal(end))
        # exact decimal sums: a float sum's value depends on the order a parallel scan adds in, and the fits
        # built on this summary must not change from one run to the next
        .group_by(["consumer_id", "day"]).aggregate(spend=lambda t: t.amount.cast("decimal(38, 6)").sum())
    )
    first = days.group_by("consumer_id").aggregate(first=days.day.min())
    if cohort is not None:
        first = first.filter((first["first"] >= ibis.literal(cohort[0])) & (first["first"] <= ibis.literal(cohort[1])))
    d = days.inner_join(first, "consumer_id")
    repeat = d.day > d.first
    end_lit = ibis.literal(end)
    return d.group_by("consumer_id").aggregate(
        frequency=(d.day.nunique() - 1),
        recency_days=d.day.max().delta(d.first.min(), unit="day"),
        T_days=end_lit.delta(d.first.min(), unit="day"),
        repeat_spend=ibis.cases((repeat, d.spend), else_=ibis.null("decimal(38, 6)")).sum(),
        repeat_days=repeat.sum(),
    ).mutate(monetary=lambda t: ibis.cases(
        (t.repeat_days > 0, t.repeat_spend.cast("float64") / t.repeat_days), else_=0.0,
    )).drop("repeat_spend", "repeat_days")
