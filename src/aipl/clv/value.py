"""The value of a brand's consumer assets (DOMAIN.md §10): 3-year CLV per consumer, summed by AIPL / DEEPLINK
state; and the CLV use cases on a calibration summary: fit one model, predict every customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd

from aipl.assets import consumer_states, ensure_built, flow
from aipl.clv.holdout import holdout_check, seasonality
from aipl.clv.models import MODELS, BetaGeo, GammaGamma
from aipl.clv.results import AssetValue, Seasonality
from aipl.clv.rfm import TIME_UNITS, rfm_summary
from aipl.config import parse_day
from aipl.warehouse import Warehouse

CONVERSION_DAYS = 30  # the look-back for the A / I conversion rates
HOLDOUT_SHARE = 1 / 3  # asset_value's back-test holds out the last third of the brand's purchase history
DAYS_PER_MONTH = 365.25 / 12


def fit_warnings(**checks: dict) -> list[str]:
    """One line per fit that is not a proper optimum (named by keyword), for every face to show.

    >>> fit_warnings(bgnbd={"ok": False, "problems": ["parameters at a boundary: a = 2e-06"]}, gamma_gamma={"ok": True})
    ['bgnbd fit did not converge (parameters at a boundary: a = 2e-06): read its values with care']
    """
    return [f"{name} fit did not converge ({'; '.join(c['problems'])}): read its values with care"
            for name, c in checks.items() if not c["ok"]]


def _seasonal_extra(bg: BetaGeo, s: pd.DataFrame, season: Seasonality, end: date, unit: float) -> np.ndarray:
    """Extra expected purchases of each customer in the campaign window: (multiplier − 1) × the model's own."""
    if not season["applied"]:
        return np.zeros(len(s))
    first, last = (parse_day(d) for d in season["window"])
    x, tx, T = s.frequency, s.recency, s["T"]  # the window covers days ((first - end) - 1, last - end] after end
    inside = bg.predict((last - end).days / unit, x, tx, T) - bg.predict(((first - end).days - 1) / unit, x, tx, T)
    return (season["multiplier"] - 1.0) * inside


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
    >>> bool((by_state.value > 0).all()), sorted(by_state.attrs)[:6]
    (True, ['brand', 'calibration_end', 'checks', 'conversion', 'holdout', 'months'])
    >>> v.reliable, v.warnings, v.checks["bgnbd"]  # doctest: +ELLIPSIS
    (True, [], FitCheck(ok: gradient ..., smallest Hessian eigenvalue ..., 1 start))
    """
    end = parse_day(calibration_end, "calibration end")
    ensure_built(wh)
    s = rfm_summary(wh, end, time_unit, brand=brand)
    if (s.frequency > 0).sum() < 10:
        raise ValueError(f"brand {brand!r} has fewer than 10 repeat buyers before {end}: too few to fit CLV models")
    freq_model = BetaGeo().fit(s.frequency, s.recency, s["T"])
    spend_model = GammaGamma().fit(s.frequency, s.monetary)
    per_month = DAYS_PER_MONTH / TIME_UNITS[time_unit]
    s["clv"] = spend_model.clv(freq_model, s.frequency, s.recency, s["T"], s.monetary, months=months,
                               units_per_month=per_month, monthly_discount=monthly_discount)
    season = seasonality(wh, brand, end, months * DAYS_PER_MONTH, time_unit)
    if season["applied"]:  # the campaign window's extra purchases, discounted from the month it starts in
        month = (parse_day(season["window"][0]) - end).days // DAYS_PER_MONTH + 1
        s["clv"] += (_seasonal_extra(freq_model, s, season, end, TIME_UNITS[time_unit])
                     * spend_model.expected_spend(s.frequency, s.monetary) / (1 + monthly_discount) ** month)
    s["p_alive"] = freq_model.p_alive(s.frequency, s.recency, s["T"])
    checks = {"bgnbd": freq_model.check_, "gamma_gamma": spend_model.check_}
    holdout = _backtest(wh, brand, end, s, time_unit)

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
               "conversion": conv, "params": {**freq_model.params_, **spend_model.params_},
               "reliable": all(c["ok"] for c in checks.values()), "warnings": fit_warnings(**checks),
               "checks": checks, "holdout": holdout, "seasonality": season}
    by_state.attrs.update(figures)
    return AssetValue(**figures, consumers=out, by_state=by_state)


def _backtest(wh: Warehouse, brand: str, end: date, s: pd.DataFrame, time_unit: str) -> dict:
    """The holdout check of a fit made a third of the brand's purchase history before `end` (or why none)."""
    history = float(s["T"].max()) * TIME_UNITS[time_unit]
    cut = end - timedelta(days=max(1, round(history * HOLDOUT_SHARE)))
    try:
        return holdout_check(wh, cut, end, time_unit, brand).to_dict()
    except ValueError as exc:
        return {"unavailable": f"no holdout check: {exc}"}


@dataclass
class ClvFit:
    """One CLV model fitted by maximum likelihood on a calibration summary (what `fit_clv` returns): with its
    `check` (a FitCheck: did it converge to a proper optimum), the `holdout` check where purchases follow the
    calibration end, and the `scope` (the brand, the cohort, or every purchase of a one-brand workspace).

    >>> fit = ClvFit("bgnbd", {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}, -9582.4, 2357, "week", "1997-09-30")
    >>> fit.model, fit.customers, fit.params["r"], fit.converged
    ('bgnbd', 2357, 0.24, True)
    """

    model: str
    params: dict[str, float]
    loglik: float
    customers: int
    time_unit: str
    calibration_end: str
    check: dict = field(default_factory=lambda: {"ok": True, "problems": []})
    holdout: dict | None = None
    scope: str = ""

    @property
    def converged(self) -> bool:
        """Whether the fit is a proper optimum (see `check`).

        >>> ClvFit("bgnbd", {}, 0.0, 1, "day", "2026-11-13", check={"ok": False, "problems": ["a = 2e-06"]}).converged
        False
        """
        return bool(self.check["ok"])

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> d = ClvFit("gamma_gamma", {"p": 6.25}, -1.5, 946, "week", "1997-09-30").to_dict()
        >>> d["params"], d["converged"], d["warnings"]
        ({'p': 6.25}, True, [])
        """
        return {"model": self.model, "params": dict(self.params), "loglik": self.loglik,
                "customers": self.customers, "time_unit": self.time_unit, "calibration_end": self.calibration_end,
                "scope": self.scope, "converged": self.converged, "warnings": fit_warnings(**{self.model: self.check}),
                "check": dict(self.check), "holdout": self.holdout}


def parse_cohort(text: str) -> tuple[date, date]:
    """A cohort of customers by their first purchase day: "FIRST..LAST" (days, inclusive) or one month "YYYY-MM".

    >>> parse_cohort("1997-01-01..1997-03-31"), parse_cohort("1997-02")
    ((datetime.date(1997, 1, 1), datetime.date(1997, 3, 31)), (datetime.date(1997, 2, 1), datetime.date(1997, 2, 28)))
    """
    if ".." in text:
        first, last = (parse_day(p.strip(), "cohort") for p in text.split("..", 1))
    else:
        first = parse_day(f"{text.strip()}-01", "cohort month")
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    if last < first:
        raise ValueError(f"cohort {text!r}: the last day comes before the first")
    return first, last


def _purchase_brands(wh: Warehouse, end: date) -> list[str]:
    ev = wh.table("events")
    buys = ev.filter((ev.event_type == "purchase") & ev.brand_id.notnull())
    buys = buys.filter(wh.local_day(buys.ts) <= ibis.literal(end))
    return sorted(buys.select("brand_id").distinct().execute().brand_id.astype(str))


def calibration_summary(wh: Warehouse, calibration_end: str | date, time_unit: str = "week",
                        brand: str | None = None, cohort: str | None = None) -> pd.DataFrame:
    """`rfm_summary` of one brand, or of one cohort (first purchase days "FIRST..LAST" or a month "YYYY-MM");
    refusing (ValueError) when no customer bought before the calibration end, or when neither is named and the
    purchases are of several brands (one model must not pool, say, a 1997 dataset with 2026 brands).

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> b01 = calibration_summary(wh, "2026-10-24", brand="B01")
    >>> len(b01), len(calibration_summary(wh, "2026-10-24", cohort="2026-10"))
    (9, 30)
    >>> calibration_summary(wh, "2026-10-24")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: the purchases are of 4 brands (B01, B02, B03, B04): name one brand (--brand) or a cohort ...
    >>> calibration_summary(wh, "2026-09-01", brand="B01")
    Traceback (most recent call last):
    ValueError: no purchases before the calibration end for brand B01
    """
    end = parse_day(calibration_end, "calibration end")
    if brand is None and cohort is None:
        names = _purchase_brands(wh, end)
        if len(names) > 1:
            shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
            raise ValueError(f"the purchases are of {len(names)} brands ({shown}): name one brand (--brand) or a "
                             "cohort of first purchase days (--cohort FIRST..LAST) rather than pool them in one model")
    s = rfm_summary(wh, end, time_unit, brand=brand, cohort=parse_cohort(cohort) if cohort else None)
    if s.empty:
        raise ValueError("no purchases before the calibration end" + (f" for brand {brand}" if brand else "")
                         + (f" in cohort {cohort}" if cohort else ""))
    return s


def _scope(brand: str | None, cohort: str | None) -> str:
    return " ".join(p for p in (f"brand {brand}" if brand else "", f"cohort {cohort}" if cohort else "") if p) \
        or "every purchase (one brand)"


def fit_clv(wh: Warehouse, calibration_end: str | date, model: str = "bgnbd", time_unit: str = "week",
            brand: str | None = None, cohort: str | None = None) -> ClvFit:
    """Fit one model of MODELS (bgnbd, pareto_nbd or gamma_gamma) to the purchases up to `calibration_end`
    (inclusive) of one brand or one cohort (see `calibration_summary`), with its convergence check and, where
    purchases follow the calibration end, the holdout check of BG/NBD (see `holdout_check`).

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     fit = fit_clv(wh, "1997-09-30")
    >>> fit.model, fit.customers, sorted(fit.params), fit.converged, fit.scope
    ('bgnbd', 2357, ['a', 'alpha', 'b', 'r'], True, 'every purchase (one brand)')
    >>> fit.holdout["holdout_end"], fit.holdout["actual"], round(fit.holdout["predicted"])
    ('1998-06-30', 1882.0, 1653)
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    end = parse_day(calibration_end, "calibration end")
    s = calibration_summary(wh, end, time_unit, brand, cohort)
    m = MODELS[model]()
    if model == "gamma_gamma":
        m.fit(s.frequency, s.monetary)
    else:
        m.fit(s.frequency, s.recency, s["T"])
    last = wh.last_day()
    holdout = None
    if model == "bgnbd" and last is not None and last > end:
        try:
            holdout = holdout_check(wh, end, last, time_unit, brand, summary=s).to_dict()
        except ValueError as exc:
            holdout = {"unavailable": f"no holdout check: {exc}"}
    return ClvFit(model, dict(m.params_), float(m.loglik_), int(m.n_customers_), time_unit, str(calibration_end),
                  dict(m.check_), holdout, _scope(brand, cohort))


def predict_clv(wh: Warehouse, calibration_end: str | date, horizon: float = 52, time_unit: str = "week",
                brand: str | None = None, months: int = 36, cohort: str | None = None) -> pd.DataFrame:
    """Per customer of one brand or one cohort (see `calibration_summary`): p_alive, expected purchases over
    `horizon` time units, expected spend per purchase and the discounted CLV over `months` months (column
    clv_36m by default; BG/NBD × Gamma-Gamma); a campaign window in the horizon is scaled by the multiplier
    learnt from the last campaign (see `seasonality`).

    `.attrs` holds the fitted `params` (keys bgnbd and gamma_gamma), their `checks`, `warnings` (one line per
    fit that did not converge), `seasonality` and `scope`.

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "CDNOW_sample.txt", "cdnow") as (wh, _):
    ...     p = predict_clv(wh, "1997-09-30")
    >>> list(p.columns[-4:]), sorted(p.attrs["params"]), p.attrs["warnings"], p.attrs["seasonality"].applied
    (['p_alive', 'expected_purchases', 'expected_spend', 'clv_36m'], ['bgnbd', 'gamma_gamma'], [], False)
    """
    end = parse_day(calibration_end, "calibration end")
    s = calibration_summary(wh, end, time_unit, brand, cohort)
    x, tx, T, m = s.frequency, s.recency, s["T"], s.monetary
    bg = BetaGeo().fit(x, tx, T)
    gg = GammaGamma().fit(x, m)
    unit = TIME_UNITS[time_unit]
    season = seasonality(wh, brand, end, horizon * unit, time_unit)
    s["p_alive"] = bg.p_alive(x, tx, T)
    s["expected_purchases"] = bg.predict(horizon, x, tx, T) + _seasonal_extra(bg, s, season, end, unit)
    s["expected_spend"] = gg.expected_spend(x, m)
    s[f"clv_{months}m"] = gg.clv(bg, x, tx, T, m, months=months, units_per_month=DAYS_PER_MONTH / unit)
    checks = {"bgnbd": bg.check_, "gamma_gamma": gg.check_}
    s.attrs.update(params={"bgnbd": dict(bg.params_), "gamma_gamma": dict(gg.params_)}, checks=checks,
                   warnings=fit_warnings(**checks), seasonality=season, scope=_scope(brand, cohort))
    return s
