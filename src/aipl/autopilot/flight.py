"""In-flight reallocation: a flight runs day by day against response curves the policy never sees (the
simulated market's hidden ones), with daily noise; each policy splits the daily budget from what it has
observed so far. Regret is measured against the oracle that allocates on the true curves."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aipl.autopilot.response import Curve, allocate, fit_curve
from aipl.vocab import hill

Policy = Callable[[int, dict[str, list[tuple[float, float]]]], dict[str, float]]


def run_flight(true: dict[str, Curve], budget: float, days: int, policy: Policy, noise: float = 0.05,
               seed: int = 0) -> dict:
    """Total response over the flight when `policy(day, history)` sets each day's shares; history holds each
    channel's observed (spend, response) pairs so far. Carry-over runs on the true curves.

    Half of 100 a day on each channel, at their half-saturation 50 (no noise, no carry-over):

    >>> from aipl.autopilot import Curve
    >>> true = {"search": Curve(1000.0, 50.0, 2.0, 0.0), "display": Curve(400.0, 50.0, 2.0, 0.0)}
    >>> run_flight(true, 100.0, 3, fixed({"search": 0.5, "display": 0.5}), noise=0.0)
    {'total': 2100.0, 'daily': [700.0, 700.0, 700.0]}
    """
    rng = np.random.default_rng(seed)
    chans = sorted(true)
    stock = dict.fromkeys(chans, 0.0)
    history: dict[str, list[tuple[float, float]]] = {c: [] for c in chans}
    total, daily = 0.0, []
    for t in range(days):
        shares = policy(t, history)
        day_total = 0.0
        for c in chans:
            spend = shares.get(c, 0.0) * budget
            stock[c] = spend + true[c].theta * stock[c]
            y = float(true[c].reach * hill(np.array([stock[c]]), true[c].k, true[c].alpha)[0])
            y *= float(rng.lognormal(0.0, noise))
            history[c].append((spend, y))
            day_total += y
        total += day_total
        daily.append(day_total)
    return {"total": total, "daily": daily}


def fixed(shares: dict[str, float]) -> Policy:
    """The same split every day (the oracle's, or an equal split).

    >>> fixed({"search": 0.7, "display": 0.3})(5, {})
    {'search': 0.7, 'display': 0.3}
    """
    return lambda t, history: shares


def proportional_to_roi(chans: list[str]) -> Policy:
    """Equal on day 0, then each channel's share ∝ its response per unit spend on the previous day.

    >>> policy = proportional_to_roi(["a", "b"])
    >>> policy(0, {}), policy(1, {"a": [(10.0, 30.0)], "b": [(10.0, 10.0)]})
    ({'a': 0.5, 'b': 0.5}, {'a': 0.75, 'b': 0.25})
    """
    def policy(t, history):
        if t == 0:
            return {c: 1 / len(chans) for c in chans}
        roi = {c: history[c][-1][1] / history[c][-1][0] if history[c][-1][0] > 0 else 0.0 for c in chans}
        s = sum(roi.values())
        return {c: roi[c] / s for c in chans} if s > 0 else {c: 1 / len(chans) for c in chans}
    return policy


def thompson(chans: list[str], budget: float, explore_days: int = 7, seed: int = 0,
             min_share: float = 0.02) -> Policy:
    """Random splits for `explore_days`, then each day: fit every channel's curve on what was observed,
    draw a plausible curve (refit on the fit plus resampled residuals: a bootstrap posterior draw), and
    allocate on the draws. Every channel keeps `min_share` so that it stays observed.

    >>> shares = thompson(["a", "b"], 100.0)(0, {"a": [], "b": []})  # exploring: a random split
    >>> sorted(shares), round(sum(shares.values()), 6), min(shares.values()) >= 0.02
    (['a', 'b'], 1.0, True)
    """
    rng = np.random.default_rng(seed)

    def policy(t, history):
        if t < explore_days:
            w = rng.dirichlet(np.full(len(chans), 4.0))  # varied but not extreme splits
            w = np.maximum(w, min_share)
            return dict(zip(chans, (w / w.sum()).tolist(), strict=True))
        draws = {}
        for c in chans:
            s = np.array([h[0] for h in history[c]])
            y = np.array([h[1] for h in history[c]])
            try:
                fit = fit_curve(s, y, thetas=(0.2, 0.5, 0.8))
                resid = y - fit.predict(s)
                boot = np.maximum(fit.predict(s) + rng.choice(resid, size=len(resid)), 0.0)
                draws[c] = fit_curve(s, boot, thetas=(fit.theta,))
            except ValueError:
                draws[c] = Curve(1.0, 1.0, 1.0, 0.5)
        return allocate(draws, budget, min_share=min_share)["shares"]

    return policy


def compare(true: dict[str, Curve], budget: float, days: int = 30, seed: int = 0, noise: float = 0.05) -> dict:
    """The flight under the oracle, Thompson sampling, an equal split and "proportional to last ROI"; each
    policy's total and its gap to the oracle.

    >>> from aipl.autopilot import Curve
    >>> true = {"search": Curve(1000.0, 50.0, 2.0, 0.0), "display": Curve(400.0, 50.0, 2.0, 0.0)}
    >>> res = compare(true, 100.0, days=10)
    >>> res["oracle_shares"], res["regret"]["oracle"], min(res["regret"].values()) >= 0
    ({'display': 0.0, 'search': 1.0}, 0.0, True)
    """
    chans = sorted(true)
    oracle_shares = allocate(true, budget)["shares"]
    policies = {
        "oracle": fixed(oracle_shares),
        "thompson": thompson(chans, budget, seed=seed),
        "equal_split": fixed({c: 1 / len(chans) for c in chans}),
        "proportional_to_last_roi": proportional_to_roi(chans),
    }
    res = {name: run_flight(true, budget, days, p, noise, seed)["total"] for name, p in policies.items()}
    best = res["oracle"]
    return {"budget": budget, "days": days, "totals": res,
            "regret": {k: (best - v) / best for k, v in res.items()}, "oracle_shares": oracle_shares}
