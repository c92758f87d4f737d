"""The value of a brand's consumer assets (DOMAIN.md §10): 3-year CLV per consumer, summed by AIPL / DEEPLINK state."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from aipl.assets import consumer_states, ensure_built, flow
from aipl.clv.models import BetaGeo, GammaGamma
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.config import parse_day
from aipl.warehouse import Warehouse

CONVERSION_DAYS = 30  # the look-back for the A / I conversion rates


def asset_value(wh: Warehouse, brand: str, calibration_end: str | date, months: int = 36,
                monthly_discount: float = 0.01, time_unit: str = "week") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per consumer and per state: the discounted value of the next `months` months.

    Buyers (P, L) get BG/NBD × Gamma-Gamma CLV from their purchase history. Consumers who never bought
    (A, I) get an estimate: the share of the brand's A (or I) consumers of 30 days earlier who bought
    within those 30 days, times the value of a newly acquired customer. Returns (consumers, by_state).
    """
    end = parse_day(calibration_end, "calibration end")
    ensure_built(wh)
    s = rfm_summary(wh, end, time_unit, brand=brand)
    if (s.frequency > 0).sum() < 10:
        raise ValueError(f"brand {brand!r} has fewer than 10 repeat buyers before {end}: too few to fit CLV models")
    freq_model = BetaGeo().fit(s.frequency, s.recency, s["T"])
    spend_model = GammaGamma().fit(s.frequency, s.monetary)
    per_month = 365.25 / 12 / TIME_UNITS[time_unit]
    s["clv"] = spend_model.clv(freq_model, s.frequency, s.recency, s["T"], s.monetary, months=months,
                               units_per_month=per_month, monthly_discount=monthly_discount)
    s["p_alive"] = freq_model.p_alive(s.frequency, s.recency, s["T"])

    # a newly acquired customer: expected purchases month by month from E[X(t)], at the population mean spend
    p, q, gamma = (spend_model.params_[k] for k in ("p", "q", "gamma"))
    mean_spend = p * gamma / (q - 1)
    cum = freq_model.expected(np.arange(0, months + 1) * per_month)
    new_value = float(np.sum(np.diff(cum) * mean_spend / (1 + monthly_discount) ** np.arange(1, months + 1)))
    new_value += mean_spend  # the first purchase itself

    f = flow(wh, "brand", brand, end - timedelta(days=CONVERSION_DAYS), end)
    conv = {}
    for st in ("A", "I"):
        n = sum(f["matrix"][st].values())
        conv[st] = (f["matrix"][st]["P"] + f["matrix"][st]["L"]) / n if n else 0.0

    cs = consumer_states(wh, "brand", end, brand)[["consumer_id", "aipl", "deeplink"]]
    out = cs.merge(s[["consumer_id", "clv", "p_alive"]], on="consumer_id", how="left")
    non_buyer = out.aipl.isin(["A", "I"])
    out.loc[non_buyer, "clv"] = out.loc[non_buyer, "aipl"].map(conv) * new_value
    out["clv"] = out.clv.fillna(0.0)
    out["basis"] = np.where(non_buyer, "conversion estimate", "BG/NBD x Gamma-Gamma")
    by_state = out.groupby(["aipl", "deeplink"], as_index=False).agg(
        consumers=("consumer_id", "count"), value=("clv", "sum"), mean_value=("clv", "mean"))
    by_state.attrs.update(brand=brand, calibration_end=str(end), months=months, new_customer_value=new_value,
                          conversion=conv, params={**freq_model.params_, **spend_model.params_})
    return out, by_state
