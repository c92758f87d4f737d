"""Platform-side subsidy (红包) allocation across merchant tiers (DOMAIN.md seed S002: head, waist and new
merchants; a 30-day cold start for new ones): a response curve of incremental GMV to a daily subsidy per
merchant, learned from its history (a tier prior while it is in its cold start), and the split of a daily
pool that maximises incremental GMV under per-tier floors and a least amount per cold-start merchant."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from aipl.autopilot.results import SubsidyComparison, SubsidyPlan
from aipl.vocab import hill

HISTORY_COLUMNS = ("merchant_id", "tier", "day", "subsidy", "gmv")


def check_history(history: pd.DataFrame) -> pd.DataFrame:
    """The history with every column present and every row valid: ids and tier given, a day, subsidy and GMV
    numbers ≥ 0, one row per merchant and day. An error names the first bad row (file line: the header is
    line 1), the field, the value and how many rows share the problem.

    >>> import pandas as pd
    >>> h = pd.DataFrame({"merchant_id": ["m1", "m1"], "tier": ["head", "head"], "day": ["2026-10-01", "2026-10-02"],
    ...                   "subsidy": [10, -1], "gmv": [100, 120]})
    >>> check_history(h)
    Traceback (most recent call last):
    ...
    ValueError: subsidy history: row 3, field subsidy: '-1' is not a number ≥ 0 (1 such row(s)); nothing was planned
    >>> str(check_history(h.assign(subsidy=[10, 0])).day.iloc[1].date())
    '2026-10-02'
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"subsidy history: missing column(s) {', '.join(missing)}; "
                         f"needs {', '.join(HISTORY_COLUMNS)}")
    h = history.reset_index(drop=True)
    day = pd.to_datetime(h["day"], errors="coerce")
    num = {c: pd.to_numeric(h[c], errors="coerce") for c in ("subsidy", "gmv")}
    problems = [
        *((c, h[c].isna() | (h[c].astype(str).str.strip() == ""), "is missing") for c in ("merchant_id", "tier")),
        ("day", day.isna(), "is not a day"),
        *((c, ~np.isfinite(v) | (v < 0), "is not a number ≥ 0") for c, v in num.items()),
        ("merchant_id, day", h.assign(day=day).duplicated(["merchant_id", "day"]), "repeats an earlier row"),
    ]
    for field, bad, why in problems:
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            value = h.loc[i, field] if field in h.columns else f"{h.loc[i, 'merchant_id']} {h.loc[i, 'day']}"
            raise ValueError(f"subsidy history: row {i + 2}, field {field}: '{value}' {why} "
                             f"({int(bad.sum())} such row(s)); nothing was planned")
    return h.assign(day=day, subsidy=num["subsidy"], gmv=num["gmv"])


def _fit_one(day: pd.Series, s: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """base, reach, k, alpha for gmv = base · weekday factor + reach · hill(subsidy, k, alpha): the linear part
    (a level per weekday and reach) solved exactly for each (k, alpha), which are found by least squares."""
    dow = np.eye(7)[day.dt.dayofweek.to_numpy()]

    def linear(p):
        k, a = np.exp(p)
        x = np.column_stack([dow, hill(s, k, a)])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        coef[-1] = max(coef[-1], 0.0)
        return coef

    def resid(p):
        k, a = np.exp(p)
        coef = linear(p)
        return (dow @ coef[:7] + coef[-1] * hill(s, k, a) - y) / max(y.mean(), 1.0)

    hi = float(s.max()) if (s > 0).any() else 1.0  # a half-saturation beyond the tried subsidies is a guess
    starts = [np.log([hi * f, a]) for f, a in ((0.15, 1.5), (0.4, 1.0), (0.4, 2.5))]
    bounds = ([np.log(hi) - 5, np.log(0.5)], [np.log(hi), np.log(4.0)])
    best = min((least_squares(resid, p0, bounds=bounds, xtol=1e-6) for p0 in starts), key=lambda r: r.cost)
    coef = linear(best.x)
    k, a = np.exp(best.x)
    return float(coef[:7][dow.any(axis=0)].mean()), float(coef[-1]), float(k), float(a)


def fit_merchants(history: pd.DataFrame, cold_start_days: int = 30) -> pd.DataFrame:
    """A curve per merchant: merchant_id, tier, days, cold_start, base, reach, k, alpha. A merchant with fewer
    than `cold_start_days` days of history is in its cold start: its base is its GMV on days without subsidy
    (or its least GMV), and reach and k are its base times its tier's median ratios among fitted merchants
    (all fitted merchants' if the tier has none); alpha is the tier's median.

    >>> from aipl.simulate.merchants import simulate_merchants
    >>> history, _ = simulate_merchants(12, seed=0)
    >>> list(history.columns)
    ['merchant_id', 'tier', 'day', 'subsidy', 'gmv']
    >>> curves = fit_merchants(history)
    >>> list(curves.columns)
    ['merchant_id', 'tier', 'days', 'cold_start', 'base', 'reach', 'k', 'alpha']
    >>> curves[curves.cold_start][["merchant_id", "tier", "days"]].to_dict("records")
    [{'merchant_id': 'm00005', 'tier': 'new', 'days': 15}]
    """
    h = check_history(history)
    rows = []
    for (m, tier), g in h.sort_values("day").groupby(["merchant_id", "tier"], sort=True):
        n = len(g)
        row = {"merchant_id": m, "tier": tier, "days": n, "cold_start": n < cold_start_days}
        if not row["cold_start"]:
            row.update(zip(("base", "reach", "k", "alpha"),
                           _fit_one(g.day, g.subsidy.to_numpy(), g.gmv.to_numpy()), strict=True))
        else:
            idle = g.gmv[g.subsidy == 0]
            row["base"] = float(idle.median() if len(idle) else g.gmv.min())
        rows.append(row)
    df = pd.DataFrame(rows)
    fitted = df[~df.cold_start]
    if fitted.empty:
        raise ValueError(f"no merchant has {cold_start_days} days of history: nothing to learn a prior from")
    ratios = fitted.assign(r=fitted.reach / fitted.base, q=fitted.k / fitted.base)
    overall = ratios[["r", "q", "alpha"]].median()
    cold = df.cold_start
    prior = ratios.groupby("tier")[["r", "q", "alpha"]].median().reindex(df.tier[cold]).fillna(overall)
    df.loc[cold, "reach"] = df.base[cold].to_numpy() * prior.r.to_numpy()
    df.loc[cold, "k"] = df.base[cold].to_numpy() * prior.q.to_numpy()
    df.loc[cold, "alpha"] = prior.alpha.to_numpy()
    return df


def _hull_segments(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widths and slopes of the upper concave envelope of the points (x increasing)."""
    hull = [0]
    for i in range(1, len(x)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (y[b] - y[a]) * (x[i] - x[a]) <= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    h = np.array(hull)
    dx = np.diff(x[h])
    return dx, np.diff(y[h]) / dx


def allocate_subsidy(curves: pd.DataFrame, pool: float, floors: dict[str, float] | None = None,
                     cold_start_min: float = 0.0, grid: int = 64) -> SubsidyPlan:
    """A daily pool split across merchants to maximise the expected incremental GMV. `floors` maps a tier to
    the least share of the pool it gets; every cold-start merchant gets at least `cold_start_min`. Money
    goes where the next yuan buys the most (on each curve's concave envelope), floors first. Returns the
    per-merchant `allocation` (subsidy, expected incremental GMV), totals per tier, and what stayed unspent
    because every curve is saturated.

    Two alike head merchants share the pool evenly; a 20% floor for the new tier moves money to it:

    >>> import pandas as pd
    >>> curves = pd.DataFrame({"merchant_id": ["m1", "m2", "m3"], "tier": ["head", "head", "new"],
    ...                        "cold_start": [False, False, True], "reach": [500.0, 500.0, 100.0],
    ...                        "k": [100.0, 100.0, 100.0], "alpha": [1.0, 1.0, 1.0]})
    >>> res = allocate_subsidy(curves, 300)
    >>> res["spent"], res["unspent"], res["allocation"].subsidy.round(2).tolist()
    (300.0, 0.0, [145.31, 145.31, 9.38])
    >>> res = allocate_subsidy(curves, 300, floors={"new": 0.2}, cold_start_min=10)
    >>> {tier: round(t["share"], 2) for tier, t in res["tiers"].items()}
    {'head': 0.8, 'new': 0.2}
    """
    floors = dict(floors or {})
    unknown = sorted(set(floors) - set(curves.tier))
    if unknown:
        tiers = ", ".join(sorted(set(curves.tier)))
        raise ValueError(f"floor for unknown tier(s) {', '.join(unknown)}; tiers: {tiers}")
    if any(v < 0 for v in floors.values()) or sum(floors.values()) > 1 + 1e-9:
        raise ValueError("tier floors are shares of the pool: each ≥ 0 and together at most 1")
    c = curves.reset_index(drop=True)
    spend = np.where(c.cold_start, cold_start_min, 0.0).astype(float)
    if spend.sum() > pool:
        raise ValueError(f"the cold-start minimum needs {spend.sum():,.0f}, more than the pool {pool:,.0f}")
    seg_m, seg_dx, seg_slope = [], [], []
    for i, r in c.iterrows():
        top = max(min(pool, 8 * r.k), spend[i])
        x = np.linspace(spend[i], top, grid + 1)
        dx, slope = _hull_segments(x, r.reach * hill(x, r.k, r.alpha))
        seg_m.append(np.full(len(dx), i))
        seg_dx.append(dx)
        seg_slope.append(slope)
    m, dx, slope = np.concatenate(seg_m), np.concatenate(seg_dx), np.concatenate(seg_slope)
    order = np.argsort(-slope, kind="stable")
    taken = np.zeros(len(dx))
    tier_of = c.tier.to_numpy()

    def fill(mask: np.ndarray, amount: float) -> None:
        for j in order[mask[order]]:
            if amount <= 1e-9:
                return
            take = min(dx[j] - taken[j], amount)
            taken[j] += take
            amount -= take

    for tier, share in floors.items():
        need = share * pool - spend[tier_of == tier].sum()
        if need > 0:
            fill(tier_of[m] == tier, need)
    fill(np.ones(len(dx), dtype=bool), pool - spend.sum() - taken.sum())
    spend += np.bincount(m, weights=taken, minlength=len(c))
    gain = c.reach.to_numpy() * hill(spend, c.k.to_numpy(), c.alpha.to_numpy())
    alloc = c[["merchant_id", "tier", "cold_start"]].assign(subsidy=spend, incremental_gmv=gain)
    by_tier = alloc.groupby("tier")[["subsidy", "incremental_gmv"]].sum()
    return SubsidyPlan(pool=pool, spent=float(spend.sum()), unspent=float(pool - spend.sum()),
                       incremental_gmv=float(gain.sum()), roi=float(gain.sum() / spend.sum()) if spend.sum() else None,
                       tiers={t: {"subsidy": float(v.subsidy), "share": float(v.subsidy / pool),
                              "incremental_gmv": float(v.incremental_gmv)} for t, v in by_tier.iterrows()},
                       allocation=alloc, comparison=None)


def tier_budgets(curves: pd.DataFrame, pool: float, floors: dict[str, float]) -> dict[str, float]:
    """Each tier's floor plus the rest of the pool by the tier's share of baseline GMV (the rule-of-thumb
    split the baselines use).

    >>> import pandas as pd
    >>> curves = pd.DataFrame({"merchant_id": ["m1", "m2", "m3"], "tier": ["head", "head", "new"],
    ...                        "cold_start": [False, False, True], "base": [3000.0, 1000.0, 1000.0]})
    >>> {tier: round(b) for tier, b in tier_budgets(curves, 1000, {"new": 0.2}).items()}
    {'head': 640, 'new': 360}
    """
    base = curves.groupby("tier").base.sum()
    rest = pool * (1 - sum(floors.values()))
    return {t: floors.get(t, 0.0) * pool + rest * b / base.sum() for t, b in base.items()}


def rule_of_thumb(curves: pd.DataFrame, pool: float, floors: dict[str, float], how: str,
                  cold_start_min: float = 0.0) -> np.ndarray:
    """A baseline split: tier budgets by `tier_budgets`, then within a tier `by_size` (∝ baseline GMV) or
    `equal` per merchant, after the cold-start minimum.

    >>> import pandas as pd
    >>> curves = pd.DataFrame({"merchant_id": ["m1", "m2", "m3"], "tier": ["head", "head", "new"],
    ...                        "cold_start": [False, False, True], "base": [3000.0, 1000.0, 1000.0]})
    >>> rule_of_thumb(curves, 1000, {"new": 0.2}, "by_size").tolist()
    [480.0, 160.0, 360.0]
    >>> rule_of_thumb(curves, 1000, {"new": 0.2}, "equal").tolist()
    [320.0, 320.0, 360.0]
    """
    c = curves.reset_index(drop=True)
    spend = np.where(c.cold_start, cold_start_min, 0.0).astype(float)
    for tier, budget in tier_budgets(c, pool, floors).items():
        sel = (c.tier == tier).to_numpy()
        left = max(budget - spend[sel].sum(), 0.0)
        w = c.base[sel].to_numpy() if how == "by_size" else np.ones(sel.sum())
        spend[sel] += left * w / w.sum()
    return spend


def true_gain(truth: pd.DataFrame, merchant_ids: pd.Series, spend: np.ndarray) -> float:
    """Incremental GMV a day of a split on the hidden curves (simulated merchants only).

    >>> import numpy as np, pandas as pd
    >>> truth = pd.DataFrame({"merchant_id": ["m1", "m2"], "reach": [500.0, 100.0], "k": [100.0, 100.0],
    ...                       "alpha": [1.0, 1.0]})
    >>> true_gain(truth, pd.Series(["m2", "m1"]), np.array([100.0, 100.0]))  # half of each reach
    300.0
    """
    t = truth.set_index("merchant_id").loc[merchant_ids]
    return float((t.reach.to_numpy() * hill(spend, t.k.to_numpy(), t.alpha.to_numpy())).sum())


def compare_subsidy(history: pd.DataFrame, truth: pd.DataFrame, pool: float, floors: dict[str, float],
                    cold_start_min: float = 0.0, cold_start_days: int = 30) -> SubsidyComparison:
    """True incremental GMV of the split learned from history, of the oracle (the same allocator on the
    hidden curves) and of the by-size and equal rules of thumb, each as a share of the oracle's.

    >>> from aipl.simulate.merchants import simulate_merchants
    >>> history, truth = simulate_merchants(12, seed=0)
    >>> res = compare_subsidy(history, truth, pool=1000, floors={"new": 0.2})
    >>> res["merchants"], res["cold_start"], {k: round(v, 2) for k, v in res["share_of_oracle"].items()}
    (12, 1, {'learned': 0.91, 'oracle': 1.0, 'by_size': 0.38, 'equal': 0.34})
    """
    fitted = fit_merchants(history, cold_start_days)
    plan = allocate_subsidy(fitted, pool, floors, cold_start_min)
    oracle_curves = truth.merge(fitted[["merchant_id", "cold_start"]], on="merchant_id")
    oracle = allocate_subsidy(oracle_curves.set_index("merchant_id").loc[fitted.merchant_id].reset_index(), pool,
                              floors, cold_start_min)
    ids = fitted.merchant_id
    gains = {
        "learned": true_gain(truth, ids, plan["allocation"].subsidy.to_numpy()),
        "oracle": true_gain(truth, ids, oracle["allocation"].subsidy.to_numpy()),
        "by_size": true_gain(truth, ids, rule_of_thumb(fitted, pool, floors, "by_size", cold_start_min)),
        "equal": true_gain(truth, ids, rule_of_thumb(fitted, pool, floors, "equal", cold_start_min)),
    }
    return SubsidyComparison(pool=pool, floors=floors, merchants=len(fitted), cold_start=int(fitted.cold_start.sum()),
                             true_incremental_gmv=gains,
                             share_of_oracle={k: v / gains["oracle"] for k, v in gains.items()},
                             plan_tiers=plan["tiers"], fitted=fitted)
