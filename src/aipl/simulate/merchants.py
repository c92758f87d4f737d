"""A synthetic platform of merchants for subsidy (红包) allocation, with hidden truth: head, waist and new
merchants (DOMAIN.md seed S002: tiered 红包 plans, a 30-day cold start for new merchants), each with a daily
baseline GMV and a saturating response of incremental GMV to a daily subsidy."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from aipl.vocab import hill

TIERS = ("head", "waist", "new")
# per tier: share of merchants, median baseline GMV a day, most incremental GMV as a share of the baseline,
# half-saturation subsidy as a share of the baseline
_TIER = {
    "head": (0.05, 400_000.0, 0.10, 0.010),
    "waist": (0.35, 40_000.0, 0.30, 0.015),
    "new": (0.60, 3_000.0, 0.60, 0.030),
}


def simulate_merchants(merchants: int = 500, days: int = 90, end: str = "2026-10-31",
                       seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, truth). history: merchant_id, tier, day, subsidy, gmv, one row per day since the merchant's
    first delivery (new merchants started 5–120 days before `end`; a few are still in their cold start).
    truth: merchant_id, tier, base, reach (most incremental GMV a day), k, alpha.

    >>> history, truth = simulate_merchants(merchants=20, days=30, seed=0)
    >>> history.columns.tolist(), str(history.day.max())
    (['merchant_id', 'tier', 'day', 'subsidy', 'gmv'], '2026-10-31')
    >>> truth.columns.tolist(), truth.tier.value_counts().to_dict()
    (['merchant_id', 'tier', 'base', 'reach', 'k', 'alpha'], {'new': 13, 'head': 4, 'waist': 3})
    """
    rng = np.random.default_rng(seed)
    shares = np.array([_TIER[t][0] for t in TIERS])
    tier = rng.choice(TIERS, size=merchants, p=shares / shares.sum())
    med, rel_reach, rel_k = (np.array([_TIER[t][i] for t in tier]) for i in (1, 2, 3))
    base = med * rng.lognormal(0, 0.5, merchants)
    truth = pd.DataFrame({
        "merchant_id": [f"m{i:05d}" for i in range(merchants)], "tier": tier, "base": base,
        "reach": base * rel_reach * rng.lognormal(0, 0.4, merchants),
        "k": base * rel_k * rng.lognormal(0, 0.3, merchants),
        "alpha": rng.uniform(1.0, 2.2, merchants),
    })
    last = date.fromisoformat(end)
    age = np.where(tier == "new", rng.integers(5, 121, merchants), days)
    rows = []
    for m, a in zip(truth.itertuples(index=False), age, strict=True):
        n = int(min(a, days))
        s = m.k * rng.uniform(0, 2.5, n) * (rng.random(n) < 0.7)  # subsidy on about 70% of days, varied
        week = 1 + 0.1 * np.sin(2 * np.pi * np.arange(n) / 7)
        gmv = m.base * week * rng.lognormal(0, 0.05, n) + m.reach * hill(s, m.k, m.alpha)
        rows.append(pd.DataFrame({"merchant_id": m.merchant_id, "tier": m.tier,
                                  "day": [last - timedelta(days=n - 1 - i) for i in range(n)],
                                  "subsidy": s, "gmv": gmv}))
    return pd.concat(rows, ignore_index=True), truth
