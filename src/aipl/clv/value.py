"""The value of a brand's consumer assets (DOMAIN.md §10): 3-year CLV per consumer, summed by AIPL / DEEPLINK
state; and the CLV use cases on a calibration summary: fit one model, predict every customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from aipl.assets import consumer_states, ensure_built, flow
from aipl.clv.models import MODELS, BetaGeo, GammaGamma
from aipl.clv.results import AssetValue
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.config import parse_day
from aipl.warehouse import Warehouse

CONVERSION_DAYS = 30  # the look-back for the A / I conversion rates


def asset_value(wh: Warehouse, brand: str, calibration_end: str | date, months: int = 36,
                monthly_discount: float = 0.01, time_unit: str = "week") -> AssetValue:
    """Per consumer and per state: the discounted value of the next `months` months.

    Buyers (P, L) get BG/NBD × Gamma-Gamma CLV from their purchase history. Consumers who never bought
    (A, I) get an estimate: the share of the brand's A (or I) consumers of 30 days earlier who bought
    within those 30 days, times the value of a newly acquired customer.

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     v = asset_value(wh, "cdnow", "1997-09-30")  # CDNOW: everyone bought (P or L)
    >>> v  # doctest: +ELLIPSIS
    AssetValue(cdnow at 1997-09-30 over 36 months: 2,357 consumers worth ...)
    >>> consumers, by_state = v.consumers, v.by_state
    >>> list(consumers.columns), len(consumers)
    (['consumer_id', 'aipl', 'deeplink', 'clv', 'p_alive', 'basis'], 2357)
    >>> by_state[["aipl", "deeplink", "consumers"]]
      aipl  deeplink  consumers
    0    L      keen        507
    1    L  numerous        439
    2    P   initial       1411
    >>> bool((by_state.value > 0).all()), sorted(by_state.attrs)
    (True, ['brand', 'calibration_end', 'conversion', 'months', 'new_customer_value', 'params'])
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
    # float also when no consumer is in A or I (an empty map is of the states' string type)
    out.loc[non_buyer, "clv"] = out.loc[non_buyer, "aipl"].map(conv).astype("float64") * new_value
    out["clv"] = out.clv.fillna(0.0)
    out["basis"] = np.where(non_buyer, "conversion estimate", "BG/NBD x Gamma-Gamma")
    by_state = out.groupby(["aipl", "deeplink"], as_index=False).agg(
        consumers=("consumer_id", "count"), value=("clv", "sum"), mean_value=("clv", "mean"))
    figures = {"brand": brand, "calibration_end": str(end), "months": months, "new_customer_value": new_value,
               "conversion": conv, "params": {**freq_model.params_, **spend_model.params_}}
    by_state.attrs.update(figures)
    return AssetValue(**figures, consumers=out, by_state=by_state)


@dataclass
class ClvFit:
    """One CLV model fitted by maximum likelihood on a calibration summary (what `fit_clv` returns).

    >>> fit = ClvFit("bgnbd", {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}, -9582.4, 2357, "week", "1997-09-30")
    >>> fit.model, fit.customers, fit.params["r"]
    ('bgnbd', 2357, 0.24)
    """

    model: str
    params: dict[str, float]
    loglik: float
    customers: int
    time_unit: str
    calibration_end: str

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> ClvFit("gamma_gamma", {"p": 6.25}, -1.5, 946, "week", "1997-09-30").to_dict()["params"]
        {'p': 6.25}
        """
        return {"model": self.model, "params": dict(self.params), "loglik": self.loglik,
                "customers": self.customers, "time_unit": self.time_unit, "calibration_end": self.calibration_end}


def calibration_summary(wh: Warehouse, calibration_end: str | date, time_unit: str = "week",
                        brand: str | None = None) -> pd.DataFrame:
    """`rfm_summary`, refusing (ValueError) when no customer bought before the calibration end.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> len(calibration_summary(wh, "2026-10-24"))
    45
    >>> calibration_summary(wh, "2026-09-01")
    Traceback (most recent call last):
    ValueError: no purchases before the calibration end
    """
    s = rfm_summary(wh, calibration_end, time_unit, brand=brand)
    if s.empty:
        raise ValueError("no purchases before the calibration end" + (f" for brand {brand}" if brand else ""))
    return s


def fit_clv(wh: Warehouse, calibration_end: str | date, model: str = "bgnbd", time_unit: str = "week",
            brand: str | None = None) -> ClvFit:
    """Fit one model of MODELS (bgnbd, pareto_nbd or gamma_gamma) to the purchases up to `calibration_end`
    (inclusive), of one brand or of all.

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     fit = fit_clv(wh, "1997-09-30")
    >>> fit.model, fit.customers, sorted(fit.params)
    ('bgnbd', 2357, ['a', 'alpha', 'b', 'r'])
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    s = calibration_summary(wh, calibration_end, time_unit, brand)
    m = MODELS[model]()
    if model == "gamma_gamma":
        m.fit(s.frequency, s.monetary)
    else:
        m.fit(s.frequency, s.recency, s["T"])
    return ClvFit(model, dict(m.params_), float(m.loglik_), int(m.n_customers_), time_unit, str(calibration_end))


def predict_clv(wh: Warehouse, calibration_end: str | date, horizon: float = 52, time_unit: str = "week",
                brand: str | None = None, months: int = 36) -> pd.DataFrame:
    """Per customer of the calibration summary: p_alive, expected purchases over `horizon` time units,
    expected spend per purchase and the discounted CLV over `months` months (column clv_36m by default;
    BG/NBD × Gamma-Gamma).

    The fitted parameters are in `.attrs["params"]` (keys bgnbd and gamma_gamma).

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     p = predict_clv(wh, "1997-09-30")
    >>> list(p.columns[-4:]), sorted(p.attrs["params"])
    (['p_alive', 'expected_purchases', 'expected_spend', 'clv_36m'], ['bgnbd', 'gamma_gamma'])
    """
    s = calibration_summary(wh, calibration_end, time_unit, brand)
    x, tx, T, m = s.frequency, s.recency, s["T"], s.monetary
    bg = BetaGeo().fit(x, tx, T)
    gg = GammaGamma().fit(x, m)
    s["p_alive"] = bg.p_alive(x, tx, T)
    s["expected_purchases"] = bg.predict(horizon, x, tx, T)
    s["expected_spend"] = gg.expected_spend(x, m)
    s[f"clv_{months}m"] = gg.clv(bg, x, tx, T, m, months=months, units_per_month=365.25 / 12 / TIME_UNITS[time_unit])
    s.attrs["params"] = {"bgnbd": dict(bg.params_), "gamma_gamma": dict(gg.params_)}
    return s
