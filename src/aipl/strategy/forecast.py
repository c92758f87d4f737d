"""How a plan forecasts: a choice of method per brand by a rolling backtest on the brand's own history, a 90 %
interval from the backtest errors of every brand-campaign, and warnings when the history cannot support a
forecast (see docs/strategy.md, "Forecast methods").

Methods (`METHODS`), each a forecast of the campaign's GMV and of every pool's size from the GTA figures:
`pool` (the GTA pool model: projected pools × last year's CVR × GMV per buyer), `naive` (last year's campaign
again), `growth` (last year × the brand's pool growth: its L+P+I+A now over the same day last year) and `blend`
(the mean of `pool` and `naive`). The rolling backtest plans each of the brand's past campaigns that has its
own last-year counterpart, the same number of days before its presale, and scores every method on it; the plan
uses the method with the lowest mean absolute percentage error (`[strategy] fallback` without such history)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import timedelta
from statistics import NormalDist
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from aipl.assets import AssetRules
from aipl.config import check_section, register_section
from aipl.strategy.calendar import Campaign, last_year, load_campaign
from aipl.strategy.gta import gta_plan, season
from aipl.warehouse import Warehouse

TARGET_APE = 0.05  # the forecast target of issue 20: GMV within 5 %


class StrategySettings(BaseModel):
    """`[strategy]`: the forecast method (`auto`: chosen by backtest), the fallback without a backtest, the
    fewest last-year buyers a forecast trusts, the interval level, how many past campaigns the backtest uses,
    the relative half-width of an interval when too few brand-campaigns back it, how many campaigns' worth
    the other brands' backtest weighs in the choice, and by how much (APE points) a method must beat naive.

    >>> s = StrategySettings()
    >>> s.method, s.fallback, s.min_buyers, s.interval_level
    ('auto', 'growth', 30, 0.9)
    """

    model_config = ConfigDict(extra="forbid")
    method: Literal["auto", "pool", "naive", "growth", "blend"] = "auto"
    fallback: Literal["pool", "naive", "growth", "blend"] = "growth"
    min_buyers: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    interval_level: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.9
    backtest_campaigns: Annotated[int, Field(ge=0, le=10)] = 3
    default_spread: Annotated[float, Field(gt=0.0, le=10.0)] = 0.5
    prior_weight: Annotated[float, Field(ge=0.0, le=100.0)] = 2.0
    min_gain: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01


register_section("strategy", lambda section: check_section("strategy", StrategySettings, section))


def settings(wh: Warehouse) -> StrategySettings:
    """The workspace's `[strategy]` settings (defaults for every key)."""
    return check_section("strategy", StrategySettings, wh.config.raw.get("strategy"))


def _mean(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a + b) / 2


def _pool_sizes(gta: dict, size: Callable[[dict], float | None]) -> dict[str, float | None]:
    return {r["pool"]: (size(r) if r["pool"] != "direct" else None) for r in gta["pools"]}


def _pool(gta: dict) -> dict:
    return {"gmv": gta["forecast_gmv"], "pools": _pool_sizes(gta, lambda r: r["projected"])}


def _naive(gta: dict) -> dict:
    return {"gmv": gta["last_year"]["gmv"], "pools": _pool_sizes(gta, lambda r: float(r["last_size"] or 0))}


def _growth(gta: dict) -> dict:
    g = gta["brand_growth"]
    return {"gmv": gta["last_year"]["gmv"] * g, "pools": _pool_sizes(gta, lambda r: float(r["last_size"] or 0) * g)}


def _blend(gta: dict) -> dict:
    a, b = _pool(gta), _naive(gta)
    return {"gmv": (a["gmv"] + b["gmv"]) / 2, "pools": {p: _mean(v, b["pools"][p]) for p, v in a["pools"].items()}}


METHODS: dict[str, Callable[[dict], dict]] = {"naive": _naive, "growth": _growth, "pool": _pool, "blend": _blend}
METHOD_LABELS = {"naive": "last year's campaign again", "growth": "last year × the brand's pool growth",
                 "pool": "GTA pool model (pools × CVR × GMV per buyer)", "blend": "mean of the pool model and naive"}


def method_forecasts(gta: dict) -> dict[str, dict]:
    """Every method's forecast of GMV and pool sizes from GTA figures (of `gta_plan`).

    >>> gta = {"forecast_gmv": 1200.0, "brand_growth": 1.1, "last_year": {"gmv": 1000.0},
    ...        "pools": [{"pool": "L", "projected": 30.0, "last_size": 20}, {"pool": "direct"}]}
    >>> {m: f["gmv"] for m, f in method_forecasts(gta).items()}
    {'naive': 1000.0, 'growth': 1100.0, 'pool': 1200.0, 'blend': 1100.0}
    >>> method_forecasts(gta)["blend"]["pools"]
    {'L': 25.0, 'direct': None}
    """
    return {m: f(gta) for m, f in METHODS.items()}


def past_campaigns(wh: Warehouse, cur: Campaign, ly: Campaign, brand: str, limit: int) -> list[tuple[str, str]]:
    """(campaign, its last year) for up to `limit` of the brand's past campaigns before `cur`, newest first,
    starting with `ly`: the points of the rolling backtest."""
    out, c = [], ly
    while c is not None and len(out) < limit:
        prev = last_year(wh, c, brand)
        if prev is None:
            break
        out.append((c.campaign_id, prev.campaign_id))
        c = prev
    return out


def _log_ratio(actual: float | None, forecast: float | None) -> float | None:
    if not actual or not forecast or actual <= 0 or forecast <= 0:
        return None
    return math.log(actual / forecast)


def score(point: dict) -> dict:
    """One backtest point (a brand's past campaign: `gta` figures and the `actual` season) scored for every
    method: the GMV forecast, its absolute percentage error and log ratio actual / forecast, and per pool the
    log ratio of the actual size to the forecast one.

    >>> gta = {"forecast_gmv": 1200.0, "brand_growth": 1.0, "last_year": {"gmv": 1000.0},
    ...        "pools": [{"pool": "L", "projected": 30.0, "last_size": 20}]}
    >>> s = score({"gta": gta, "actual": {"gmv": 1000.0, "pools": {"L": {"size": 20}}}})
    >>> s["naive"]["ape"], round(s["pool"]["ape"], 3), s["naive"]["pools"]["L"]
    (0.0, 0.2, 0.0)
    """
    actual = point["actual"]
    out = {}
    for m, f in method_forecasts(point["gta"]).items():
        ape = abs(f["gmv"] - actual["gmv"]) / actual["gmv"] if actual["gmv"] else None
        pools = {p: _log_ratio(actual["pools"][p]["size"], v) for p, v in f["pools"].items() if v is not None}
        out[m] = {"gmv": f["gmv"], "ape": ape, "log_ratio": _log_ratio(actual["gmv"], f["gmv"]), "pools": pools}
    return out


def _usable(points: list[dict]) -> list[dict]:
    return [e for e in points if e and all(v["ape"] is not None for v in e.values())]


def choose(errors: list[dict], fallback: str, forced: str | None = None, pooled: list[dict] | None = None,
           prior_weight: float = 0.0, min_gain: float = 0.0) -> dict:
    """The method with the lowest mean APE over a brand's backtest points (`errors`, each of `score`), shrunk
    toward the mean over every brand's points (`pooled`) as if they were `prior_weight` more campaigns — naive
    unless another beats it by at least `min_gain` (APE points); with each method's mean APE on the brand's own
    campaigns, their number and why it was chosen.

    >>> pts = [{"naive": {"ape": 0.02}, "pool": {"ape": 0.3}}, {"naive": {"ape": 0.04}, "pool": {"ape": 0.1}}]
    >>> c = choose(pts, "growth")
    >>> c["method"], c["n_campaigns"], c["errors"]
    ('naive', 2, {'naive': 0.03, 'pool': 0.2})
    >>> choose([], "growth")["method"], choose(pts, "growth", forced="pool")["method"]
    ('growth', 'pool')
    >>> others = [{"naive": {"ape": 0.5}, "pool": {"ape": 0.01}}] * 10  # every other brand: pool wins by far
    >>> choose(pts, "growth", pooled=others, prior_weight=2)["method"]
    'pool'
    """
    usable, everyone = _usable(errors), _usable(pooled or [])
    means = {m: float(np.mean([e[m]["ape"] for e in usable])) for m in (usable[0] if usable else {})}
    n = len(usable)
    if forced:
        return {"method": forced, "reason": f"set in aipl.toml ([strategy] method = {forced!r})",
                "errors": {m: round(v, 6) for m, v in means.items()}, "n_campaigns": n}
    if not usable:
        return {"method": fallback, "reason": f"no past campaign of this brand to backtest: the fallback {fallback!r}",
                "errors": {}, "n_campaigns": 0}
    w = prior_weight if everyone else 0.0
    prior = {m: float(np.mean([e[m]["ape"] for e in everyone])) if w else 0.0 for m in means}
    shrunk = {m: (sum(e[m]["ape"] for e in usable) + w * prior[m]) / (n + w) for m in means}
    method = min(shrunk, key=lambda m: (round(shrunk[m], 9), list(METHODS).index(m)))
    if "naive" in shrunk and shrunk[method] > shrunk["naive"] - min_gain:
        method = "naive"  # no method beats last year's campaign by more than the backtest can tell apart
    lead = (f"naive: no method beats it by {min_gain:.0%} on" if method == "naive" and min_gain
            else "lowest backtest error on")
    why = (f"{lead} the brand's {n} past campaign{'s' if n != 1 else ''}"
           + (f", shrunk toward all {len(everyone)} brand-campaigns (weight {w:g})" if w else "") + ": "
           + ", ".join(f"{m} {v:.1%}" for m, v in sorted(shrunk.items(), key=lambda kv: kv[1])))
    return {"method": method, "reason": why, "errors": {m: round(v, 6) for m, v in means.items()}, "n_campaigns": n}


def spread(scores: Iterable[float], level: float) -> tuple[float, float] | None:
    """The centre and half-width of a `level` interval for a new log-ratio score like these: their median m and
    z·σ, σ = 1.4826 × the median absolute deviation from m (a normal scale that one outlying brand-campaign
    cannot set; their standard deviation when most are equal); None when (n + 1)·level > n, too few scores, or
    when every score is the same.

    >>> m, h = spread([0.1, 0.2, 0.3, 0.05, 0.15, 0.25, 0.12, 0.18, 0.22, 0.08], 0.9)
    >>> round(m, 3), round(h, 3)
    (0.165, 0.146)
    >>> spread([0.1, 0.2], 0.9) is None
    True
    """
    s = np.asarray(list(scores), dtype=float)
    if (len(s) + 1) * level > len(s):
        return None
    m = float(np.median(s))
    sigma = 1.4826 * float(np.median(np.abs(s - m))) or float(np.std(s, ddof=1))
    if sigma < 1e-9:  # every score equal: no spread to scale an interval by
        return None
    return m, NormalDist().inv_cdf((1 + level) / 2) * sigma


def interval(value: float | None, scores: list[float], level: float, default: float) -> dict:
    """A `level` interval around a forecast from log-ratio scores (actual / forecast) of past brand-campaigns:
    value × e^(m ± h), (m, h) their `spread`, widened to hold the forecast itself when the median bias m is
    larger than h; ± `default` (relative) when the scores are too few or all equal.

    >>> interval(100.0, [0.1, 0.0, 0.2, 0.05, 0.15, 0.1, 0.12, 0.08, 0.1, 0.6], 0.9, 0.5)
    {'low': 100.0, 'high': 120.36, 'n': 10, 'method': 'robust normal'}
    >>> interval(100.0, [0.1], 0.9, 0.5)["method"]
    'default ±50%'
    """
    mh = spread(scores, level)
    if value is None:
        return {"low": None, "high": None, "n": len(scores), "method": "none"}
    if mh is None:
        return {"low": round(value * (1 - default), 2), "high": round(value * (1 + default), 2), "n": len(scores),
                "method": f"default ±{default:.0%}"}
    m, h = mh
    return {"low": round(value * math.exp(min(m - h, 0.0)), 2), "high": round(value * math.exp(max(m + h, 0.0)), 2),
            "n": len(scores), "method": "robust normal"}


def history_warnings(wh: Warehouse, gta: dict, st: StrategySettings) -> list[dict]:
    """Why the brand's history may not support the forecast: last year's pools counted before the purchase
    window was filled (`unsettled`), too few last-year buyers (`few_buyers`), no buyers at all (`no_history`)."""
    out = []
    start = wh.first_day()
    days = AssetRules.of(wh.config).purchase_days
    ly_as_of = load_campaign(wh, gta["baseline"]["campaign_id"]).d0 - timedelta(days=gta["days_to_presale"])
    if start is not None and (ly_as_of - start).days < days:
        out.append({"code": "unsettled", "message": (
            f"last year's pools were counted on {ly_as_of}, {(ly_as_of - start).days} days after the first data "
            f"day {start}: the {days}-day purchase window was not yet filled, so last year's pools and rates are "
            "not comparable with this year's")})
    buyers = gta["last_year"]["buyers"]
    if not buyers:
        out.append({"code": "no_history", "message": f"the brand had no buyers in {gta['baseline']['campaign_id']}: "
                    f"rates come from {gta['rates_from']}"})
    elif buyers < st.min_buyers:
        out.append({"code": "few_buyers", "message": f"only {buyers} buyers in {gta['baseline']['campaign_id']} "
                    f"(fewer than [strategy] min_buyers = {st.min_buyers}): rates are noisy"})
    return out


def forecast(gta: dict, own: list[dict], pooled: list[dict], st: StrategySettings,
             warnings: list[dict]) -> dict:
    """The plan's forecast from GTA figures (of `gta_plan`): the method chosen on the brand's own backtest
    points (`own`, each of `score`), its GMV and pools with `interval_level` intervals from every brand-campaign's
    errors of that method (`pooled`), the naive forecast beside it, and the warnings (given ones first).

    >>> gta = {"forecast_gmv": 1200.0, "brand_growth": 1.0, "last_year": {"gmv": 1000.0, "buyers": 90},
    ...        "pools": [{"pool": "L", "projected": 30.0, "last_size": 20}]}
    >>> pt = {"naive": {"ape": 0.02, "log_ratio": 0.02, "pools": {"L": 0.1}},
    ...       "pool": {"ape": 0.2, "log_ratio": -0.2, "pools": {"L": -0.3}}}
    >>> pooled = [{**pt, "naive": {**pt["naive"], "log_ratio": r / 100}} for r in range(-6, 6)]
    >>> f = forecast(gta, [pt], pooled, StrategySettings(), [])
    >>> f["method"], f["forecast_gmv"], f["naive_gmv"], f["gmv_interval"]["low"] < 1000 < f["gmv_interval"]["high"]
    ('naive', 1000.0, 1000.0, True)
    >>> [w["code"] for w in f["warnings"]]
    []
    """
    forced = None if st.method == "auto" else st.method
    unsettled = any(w["code"] == "unsettled" for w in warnings)  # pools not comparable: only naive reads none
    pick = choose(own, "naive" if unsettled else st.fallback, forced, pooled, st.prior_weight, st.min_gain)
    if unsettled and not own and not forced:
        pick["reason"] += " (naive: last year's pools were unsettled, so every method reading pools is biased)"
    m = pick["method"]
    fc = method_forecasts(gta)
    mine = fc[m]
    usable = [e[m] for e in pooled if m in e and e[m]["log_ratio"] is not None]
    gmv_iv = interval(mine["gmv"], [e["log_ratio"] for e in usable], st.interval_level, st.default_spread)
    pools = {p: interval(v, [e["pools"][p] for e in usable if e["pools"].get(p) is not None], st.interval_level,
                         st.default_spread) for p, v in mine["pools"].items()}
    warnings = list(warnings)
    if pick["n_campaigns"] == 0:
        warnings.append({"code": "no_backtest", "message": pick["reason"] + (
            f"; its accuracy is unknown: this plan cannot show that it meets the {TARGET_APE:.0%} GMV target")})
    elif (err := pick["errors"].get(m)) is not None and err > TARGET_APE:
        warnings.append({"code": "inaccurate", "message": (
            f"the {m} method was off by {err:.1%} on this brand's past campaigns, above the {TARGET_APE:.0%} "
            "target: treat the forecast as a range")})
    if gmv_iv["method"] != "robust normal":
        need = math.ceil(st.interval_level / (1 - st.interval_level) - 1e-9)
        why = (f"only {gmv_iv['n']} past brand-campaigns to size the interval (a {st.interval_level:.0%} interval "
               f"needs {need})" if gmv_iv["n"] < need else
               f"the {gmv_iv['n']} past brand-campaigns' errors are all equal, so they cannot size the interval")
        warnings.append({"code": "wide_interval", "message": f"{why}: shown as {gmv_iv['method']}"})
    return {"method": m, "method_label": METHOD_LABELS[m], "method_reason": pick["reason"],
            "backtest": {"errors": pick["errors"], "n_campaigns": pick["n_campaigns"],
                         "n_brand_campaigns": len(usable)},
            "methods": {k: v["gmv"] for k, v in fc.items()}, "pool_gmv": fc["pool"]["gmv"],
            "forecast_gmv": mine["gmv"], "naive_gmv": fc["naive"]["gmv"],
            "gmv_interval": {**gmv_iv, "level": st.interval_level}, "pool_forecast": mine["pools"],
            "naive_pools": fc["naive"]["pools"], "pool_intervals": pools, "warnings": warnings}


_POINTS: dict[tuple, dict | None] = {}  # backtest points, by workspace, its data, its settings and the point
MAX_POINTS = 20_000


def backtest_point(wh: Warehouse, brand: str, campaign: str, baseline: str, days_before: int,
                   stamp: tuple | None = None) -> dict | None:
    """One point of the rolling backtest: the brand's `campaign` planned `days_before` its presale from
    `baseline`, scored for every method against what happened (of `score`); None when it cannot be planned.
    Kept for the life of the process per workspace state (`stamp`, default its events' count and last day, its
    campaigns' count and the fingerprint of the settings plans are built with), at most MAX_POINTS points."""
    stamp = stamp or (str(wh.config.root), wh.count("events"), wh.last_day(), wh.count("campaigns"),
                      (wh.built_with("plan_progress") or ("",))[0])  # the settings and rules a plan is built with
    key = (*stamp, brand, campaign, baseline, days_before)
    if key not in _POINTS:
        if len(_POINTS) >= MAX_POINTS:  # a long-running service: forget the oldest points
            del _POINTS[next(iter(_POINTS))]
        c = load_campaign(wh, campaign)
        try:
            gta = gta_plan(wh, brand, campaign, day=c.d0 - timedelta(days=days_before), baseline=baseline)
            _POINTS[key] = score({"gta": gta, "actual": season(wh, brand, c)}) if gta["last_year"]["buyers"] else None
        except ValueError:
            _POINTS[key] = None
    return _POINTS[key]


def brands_with_events(wh: Warehouse) -> list[str]:
    """Every brand that has events, in order."""
    ev = wh.table("events")
    return sorted(ev.filter(ev.brand_id.notnull()).select("brand_id").distinct().execute().brand_id)


def choose_forecast(wh: Warehouse, gta: dict, brands: list[str] | None = None) -> dict:
    """The forecast part of a plan (see `forecast`) for GTA figures (of `gta_plan`): the brand's own rolling
    backtest picks the method, every brand's (`brands`, default all with events) sizes the intervals."""
    st = settings(wh)
    cur = load_campaign(wh, gta["campaign"]["campaign_id"])
    ly = load_campaign(wh, gta["baseline"]["campaign_id"])
    k = gta["days_to_presale"]
    chain = past_campaigns(wh, cur, ly, gta["brand"], st.backtest_campaigns)
    stamp = (str(wh.config.root), wh.count("events"), wh.last_day()) if chain else None
    points = {b: [p for c, prev in chain if (p := backtest_point(wh, b, c, prev, k, stamp)) is not None]
              for b in ((brands or brands_with_events(wh)) if chain else [])}
    own = points.get(gta["brand"]) or [p for c, prev in chain
                                       if (p := backtest_point(wh, gta["brand"], c, prev, k, stamp)) is not None]
    pooled = [p for pts in points.values() for p in pts]
    return forecast(gta, own, pooled, st, history_warnings(wh, gta, st))
