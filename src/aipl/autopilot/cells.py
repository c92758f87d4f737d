"""万相台 over crowd × channel cells, valued by incremental outcome: per cell a response curve of impressions to
spend (with sandwich intervals) and the incremental outcome one impression buys for each aim, measured against a
holdout (the `lift_<aim>` columns of a delivery log); the scene's plan over its target crowds × the channels, with
attributed (宽) figures only beside the incremental ones; what a budget buys and what budget a target needs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from aipl.autopilot.response import CELL_SEP, Curve, ResponseCurve, allocate
from aipl.autopilot.results import BudgetNeed, CellFit, CellPlan
from aipl.autopilot.scenes import CELL_AIMS, MONEY_AIMS, scene_of
from aipl.vocab import hill

LOG_COLUMNS = ("day", "channel", "crowd", "cost", "impressions")
ALL_CROWDS = "all"  # the crowd of a channel-only log (every crowd together)


def check_log(log: pd.DataFrame) -> pd.DataFrame:
    """A cell delivery log checked once at the boundary: the LOG_COLUMNS, at least one `lift_<aim>` column,
    finite non-negative spend and impressions; `stage` defaults to the crowd's name.

    >>> check_log(pd.DataFrame({"day": [1], "channel": ["search"]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the cell log lacks columns: crowd, cost, impressions, lift_<aim>
    """
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if not any(c.startswith("lift_") for c in log.columns):
        missing.append("lift_<aim>")
    if missing:
        raise ValueError(f"the cell log lacks columns: {', '.join(missing)}")
    nums = log[["cost", "impressions"]].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(nums.to_numpy(dtype=float)).all(axis=1) | (nums < 0).any(axis=1).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"cell log row {i + 1}: cost and impressions must be numbers ≥ 0")
    log = log.assign(cost=nums.cost, impressions=nums.impressions)
    if "stage" not in log.columns:
        log = log.assign(stage=log.crowd)
    return log


def channel_log(log: pd.DataFrame, crowds: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The log summed over crowds (optionally only `crowds`): one cell per channel, crowd ALL_CROWDS — what a
    channel-only autopilot sees.

    >>> from aipl.simulate.cells import simulate_cells
    >>> log, _ = simulate_cells(days=20)
    >>> sorted(channel_log(log).crowd.unique()), len(channel_log(log))
    (['all'], 100)
    """
    log = check_log(log)
    if crowds is not None:
        log = log[log.crowd.isin(crowds)]
    nums = ["cost", "impressions", *[c for c in log.columns if c.startswith(("lift_", "attributed_"))]]
    return log.groupby(["channel", "day"], as_index=False)[nums].sum().assign(crowd=ALL_CROWDS, stage=ALL_CROWDS)


def fit_cells(log: pd.DataFrame, confidence: float = 0.9) -> CellFit:
    """Per crowd × channel cell: the impressions curve (reach · hill(adstock(spend))) with its parameters'
    intervals at `confidence`, and per aim the incremental outcome per impression (Σ lift / Σ impressions, with
    a day-level standard error) beside the attributed one.

    >>> from aipl.simulate.cells import simulate_cells
    >>> log, truth = simulate_cells(days=40, seed=2)
    >>> fit = fit_cells(log)
    >>> fit
    CellFit(35 cells: 5 channels × 7 crowds, 40 days, 90% intervals)
    >>> cell = fit.cells["affiliate/discover"]
    >>> lo, hi = cell["intervals"]["k"]
    >>> bool(lo < truth["cells"]["affiliate/discover"]["k"] < hi), sorted(cell["value"])[:2]
    (True, ['fav_cart', 'gmv'])
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is between 0 and 1, not {confidence}")
    log = check_log(log)
    aims = [c.removeprefix("lift_") for c in log.columns if c.startswith("lift_")]
    cells = {}
    for (ch, crowd), g in log.sort_values("day").groupby(["channel", "crowd"], sort=True):
        m = ResponseCurve().fit(g.cost.to_numpy(float), g.impressions.to_numpy(float))
        imps = g.impressions.to_numpy(float)
        n, total = len(g), max(imps.sum(), 1.0)
        q = float(student_t.ppf(0.5 + confidence / 2, max(1, n - 1)))
        value, attributed = {}, {}
        for aim in aims:
            lift = g[f"lift_{aim}"].to_numpy(float)
            v = lift.sum() / total
            se = float(np.sqrt(((lift - v * imps) ** 2).sum() * n / max(1, n - 1)) / total)
            value[aim] = {"value": float(v), "se": se, "interval": [float(v - q * se), float(v + q * se)],
                          "source": "holdout"}
            if f"attributed_{aim}" in g.columns:
                attributed[aim] = float(g[f"attributed_{aim}"].sum() / total)
        cells[f"{ch}{CELL_SEP}{crowd}"] = {"channel": ch, "crowd": crowd, "stage": str(g.stage.iloc[0]),
                                           "curve": m.curve_, "model": m, "intervals": m.intervals(confidence),
                                           "value": value, "attributed": attributed, "days": n,
                                           "impressions": float(imps.sum())}
    return CellFit(cells=cells, confidence=confidence, aims=aims)


EXPERIMENT_COLUMNS = ("channel", "aim", "impressions", "lift", "se")
AGREE_Z = 1.96  # a holdout and an experiment further apart than this many joint standard errors disagree


def _check_experiments(experiments: pd.DataFrame | list[dict], fit: CellFit) -> pd.DataFrame:
    """Experiments checked once at the boundary: EXPERIMENT_COLUMNS, `crowd` (default ALL_CROWDS) and
    `experiment` (default its row number); impressions and se > 0, a finite lift, a known channel, crowd and aim."""
    e = pd.DataFrame(experiments)
    if missing := [c for c in EXPERIMENT_COLUMNS if c not in e.columns]:
        raise ValueError(f"the experiments lack columns: {', '.join(missing)}")
    e = e.assign(crowd=e.crowd.fillna(ALL_CROWDS) if "crowd" in e.columns else ALL_CROWDS,
                 experiment=e.experiment if "experiment" in e.columns else [f"#{i + 1}" for i in range(len(e))])
    nums = e[["impressions", "lift", "se"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    known = {(c["channel"], c["crowd"]) for c in fit.cells.values()} | {(c["channel"], ALL_CROWDS)
                                                                       for c in fit.cells.values()}
    for i, row in enumerate(e.itertuples()):
        if not (np.isfinite(nums[i]).all() and nums[i, 0] > 0 and nums[i, 2] > 0):
            raise ValueError(f"experiment {row.experiment}: impressions and se must be numbers > 0 and lift a number")
        if (row.channel, row.crowd) not in known:
            raise ValueError(f"experiment {row.experiment}: no cell {row.channel}{CELL_SEP}{row.crowd} in the fit")
        if row.aim not in fit.aims:
            raise ValueError(f"experiment {row.experiment}: the fit has no aim {row.aim!r} ({', '.join(fit.aims)})")
    return e.assign(impressions=nums[:, 0], lift=nums[:, 1], se=nums[:, 2])


def calibrate_cells(fit: CellFit, experiments: pd.DataFrame | list[dict]) -> CellFit:
    """The fit with its incremental values calibrated by experiments (e.g. a randomised lift test of one
    channel, or one crowd × channel): per experiment — `channel`, `crowd` (default every crowd of the channel),
    `aim`, `impressions` it delivered, the incremental `lift` it measured and its standard error `se` (from an
    `aipl.measure` estimate: `incremental` and `se × n_treated`) — the holdout-based prediction of that lift
    (the covered cells' values over their impression mix in the log) and the measured one are combined by
    their precisions when they agree (within AGREE_Z joint standard errors), else the randomised experiment
    decides (the holdout was biased); the covered cells' values are rescaled by one factor to that lift, their
    standard errors and intervals scaled as its standard error is. Experiments apply in order; each is recorded
    in `calibration` (predicted, measured, combined, whether they agreed, the factor).

    >>> from aipl.simulate.cells import simulate_cells
    >>> log, truth = simulate_cells(days=40, seed=2)
    >>> fit = fit_cells(log)
    >>> exp = {"experiment": "search A/B", "channel": "search", "crowd": "perform", "aim": "gmv",
    ...        "impressions": 50_000, "lift": 50_000 * truth["cells"]["search/perform"]["value"]["gmv"], "se": 10.0}
    >>> cal = calibrate_cells(fit, [exp])
    >>> v = cal.cells["search/perform"]["value"]["gmv"]
    >>> true = truth["cells"]["search/perform"]["value"]["gmv"]
    >>> v["source"], round(v["value"] / true, 2), v["se"] < v["holdout"]["se"]
    ('holdout + experiment search A/B', 1.0, True)
    >>> cal.calibration[0]["cells"], fit.cells["search/perform"]["value"]["gmv"]["source"]
    (['search/perform'], 'holdout')
    """
    e = _check_experiments(experiments, fit)
    cells = {k: {**c, "value": {a: dict(v) for a, v in c["value"].items()}} for k, c in fit.cells.items()}
    records = []
    for x in e.itertuples():
        names = [k for k, c in cells.items() if c["channel"] == x.channel and x.crowd in (ALL_CROWDS, c["crowd"])]
        vals = [cells[k]["value"][x.aim] for k in names]
        mix = np.array([cells[k]["impressions"] for k in names], dtype=float)
        mix = mix / mix.sum() if mix.sum() > 0 else np.full(len(names), 1 / len(names))
        v, s = np.array([d["value"] for d in vals]), np.array([d["se"] for d in vals])
        pred, pred_se = x.impressions * float(mix @ v), max(x.impressions * float(np.sqrt(((mix * s) ** 2).sum())),
                                                              1e-12)
        agree = abs(x.lift - pred) <= AGREE_Z * float(np.hypot(pred_se, x.se))
        if agree:  # both unbiased estimates of one lift: weigh them by their precisions
            w_hold, w_exp = pred_se ** -2, x.se ** -2
            combined, combined_se = (pred * w_hold + x.lift * w_exp) / (w_hold + w_exp), (w_hold + w_exp) ** -0.5
        else:  # they disagree beyond their noise: the randomised experiment decides, the holdout was biased
            combined, combined_se = x.lift, x.se
        shrink = combined_se / pred_se
        for k, d in zip(names, vals, strict=True):
            new = d["value"] * combined / pred if pred > 0 else combined / x.impressions
            half = (d["interval"][1] - d["interval"][0]) / 2 * shrink
            cells[k]["value"][x.aim] = {"value": float(new), "se": float(d["se"] * shrink),
                                        "interval": [float(new - half), float(new + half)],
                                        "source": f"{d['source']} + experiment {x.experiment}",
                                        "holdout": d.get("holdout") or {k2: d[k2] for k2 in ("value", "se")}}
        records.append({"experiment": x.experiment, "aim": x.aim, "cells": names, "predicted": pred,
                        "predicted_se": pred_se, "measured": x.lift, "measured_se": x.se, "combined": combined,
                        "combined_se": combined_se, "agree": agree,
                        "factor": combined / pred if pred > 0 else None})
    return CellFit(cells=cells, confidence=fit.confidence, aims=fit.aims,
                   calibration=[*fit.get("calibration", []), *records])


def target_cells(fit: CellFit, scene: str, crowds: tuple[str, ...] = ()) -> list[str]:
    """The cells a scene plans over: the named `crowds`, else the crowds in the scene's DEEPLINK stages (every
    crowd when none is), × every channel.

    >>> from aipl.simulate.cells import simulate_cells
    >>> fit = fit_cells(simulate_cells(days=20)[0])
    >>> target_cells(fit, "预热蓄水")[:3]
    ['affiliate/discover', 'affiliate/engage', 'affiliate/enthuse']
    """
    s = scene_of(scene)
    if crowds:
        known = {c["crowd"] for c in fit.cells.values()}
        if unknown := sorted(set(crowds) - known):
            raise ValueError(f"crowds not in the log: {', '.join(unknown)}")
        return [k for k, c in fit.cells.items() if c["crowd"] in crowds]
    staged = [k for k, c in fit.cells.items() if c["stage"] in s.stages]
    return staged or list(fit.cells)


def plan_cells(fit: CellFit, scene: str, budget: float, crowds: tuple[str, ...] = (), min_share: float = 0.0,
               max_share: float = 1.0, draws: int = 200, seed: int = 0) -> CellPlan:
    """The daily budget split over the scene's crowd × channel cells that maximises its incremental outcome
    (`cell_aim`); per cell the spend, the incremental outcome with its interval, and the attributed (宽) figure
    beside it; the total with an interval from `draws` joint draws of the curves and values.

    >>> from aipl.simulate.cells import simulate_cells
    >>> fit = fit_cells(simulate_cells(days=40, seed=2)[0])
    >>> p = plan_cells(fit, "爆发收割", 5000)
    >>> p  # doctest: +ELLIPSIS
    CellPlan(爆发收割 (gmv): 5,000.00 a day over 25 cells → incremental ... (90% ...), attributed ...)
    >>> round(sum(p.shares.values()), 6), p.interval[0] < p.incremental < p.interval[1]
    (1.0, True)
    """
    s = scene_of(scene)
    if s.cell_aim not in fit.aims:
        raise ValueError(f"the log has no lift_{s.cell_aim} column for {s.name}")
    if not (0 < budget < 1e12):
        raise ValueError(f"the budget is a positive amount a day, not {budget}")
    names = target_cells(fit, s.name, crowds)
    cells = {k: fit.cells[k] for k in names}
    value = {k: max(0.0, c["value"][s.cell_aim]["value"]) for k, c in cells.items()}
    res = allocate({k: c["curve"] for k, c in cells.items()}, budget, value, min_share, max_share)
    sims = _draws(cells, s.cell_aim, res.shares, budget, draws, seed)
    conf = fit.confidence
    rows = []
    for k, c in cells.items():
        spend = res.shares[k] * budget
        imps = float(c["curve"].steady(spend))
        lo, hi = np.quantile(sims[:, names.index(k)], [(1 - conf) / 2, (1 + conf) / 2]) if len(sims) else (None,) * 2
        rows.append({"cell": k, "channel": c["channel"], "crowd": c["crowd"], "stage": c["stage"],
                     "share": res.shares[k], "spend": spend, "impressions": imps,
                     "incremental": value[k] * imps, "incremental_low": _num(lo), "incremental_high": _num(hi),
                     "attributed": c["attributed"].get(s.cell_aim, float("nan")) * imps})
    table = pd.DataFrame(rows)
    totals = sims.sum(axis=1) if len(sims) else np.array([])
    interval = np.quantile(totals, [(1 - conf) / 2, (1 + conf) / 2]).tolist() if len(totals) else None
    money = s.cell_aim in MONEY_AIMS
    return CellPlan(scene=s.name, code=s.code, aim=s.cell_aim, aim_label=CELL_AIMS[s.cell_aim], budget=budget,
                    shares=res.shares, incremental=float(res.objective), interval=interval,
                    attributed=float(np.nansum(table.attributed)), equal_split=float(res.equal_split),
                    roi=float(res.objective / budget) if money else None,
                    cost_per_outcome=float(budget / res.objective) if not money and res.objective > 0 else None,
                    confidence=conf, cells=table)


def _num(x) -> float | None:
    return None if x is None else float(x)


def _draws(cells: dict, aim: str, shares: dict[str, float], budget: float, n: int, seed: int) -> np.ndarray:
    """`n` joint draws (rows) of each cell's incremental outcome (columns) at its planned spend: the curve's
    log-parameters from their sampling distribution and the value per impression from a normal around its
    estimate."""
    if n <= 0:
        return np.empty((0, len(cells)))
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(cells)))
    for j, (k, c) in enumerate(cells.items()):
        m, v = c["model"], c["value"][aim]
        p = np.clip(rng.multivariate_normal(m.coef_, m.cov_, size=n, method="eigh"), -30, 30)
        theta = 1 / (1 + np.exp(-p[:, 3]))
        imps = np.exp(p[:, 0]) * hill(shares[k] * budget / (1 - theta), np.exp(p[:, 1]), np.exp(p[:, 2]))
        out[:, j] = np.maximum(rng.normal(v["value"], v["se"], n), 0.0) * imps
    return out


def budget_for(fit: CellFit, scene: str, target: float, days: int = 1, crowds: tuple[str, ...] = (),
               draws: int = 200, most: float = 1e9) -> BudgetNeed:
    """The daily budget whose plan buys `target` of the scene's incremental outcome over `days` days, with the
    budgets at which the plan's interval bounds reach it (the pessimistic bound needs the larger budget); None
    where not even `most` a day gets there.

    >>> from aipl.simulate.cells import simulate_cells
    >>> fit = fit_cells(simulate_cells(days=40, seed=2)[0])
    >>> need = budget_for(fit, "预热蓄水", 2000, days=10)
    >>> need.budget > 0, need.interval[0] <= need.budget <= need.interval[1]
    (True, True)
    >>> abs(plan_cells(fit, "预热蓄水", need.budget).incremental * 10 - 2000) < 4
    True
    """
    if not (target > 0 and days >= 1):
        raise ValueError(f"the target must be positive and days at least 1, not {target} and {days}")
    per_day = target / days

    def solve(pick, n: int) -> float | None:  # bisection: each bound of the plan grows with the budget
        lo, hi = 0.0, 1.0
        while pick(plan_cells(fit, scene, hi, crowds, draws=n)) < per_day:
            lo, hi = hi, hi * 4
            if hi > most:
                return None
        while hi - lo > 1e-3 * hi:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if pick(plan_cells(fit, scene, mid, crowds, draws=n)) < per_day else (lo, mid)
        return hi

    best = solve(_mid, 0)
    optimistic, pessimistic = solve(_high, draws), solve(_low, draws)
    s = scene_of(scene)
    return BudgetNeed(scene=s.name, aim=s.cell_aim, target=target, days=days, budget=best,
                      interval=[optimistic, pessimistic], total=None if best is None else best * days)


def _mid(p: CellPlan) -> float:
    return p.incremental


def _low(p: CellPlan) -> float:
    return p.interval[0] if p.interval else p.incremental


def _high(p: CellPlan) -> float:
    return p.interval[1] if p.interval else p.incremental


def true_outcome(truth: dict, aim: str, shares: dict[str, float], budget: float) -> float:
    """The incremental outcome a day of a split of `budget` over cells (`channel/crowd`, or `channel/all` split
    within the channel by `shares` already) under the simulator's hidden truth.

    >>> from aipl.simulate.cells import simulate_cells
    >>> _, truth = simulate_cells(days=20)
    >>> true_outcome(truth, "gmv", {"search/perform": 1.0}, 100.0) > 0
    True
    """
    total = 0.0
    for k, w in shares.items():
        c = truth["cells"][k]
        total += c["value"][aim] * float(Curve(c["reach"], c["k"], c["alpha"], c["theta"]).steady(w * budget))
    return total


def compare_cells(log: pd.DataFrame, truth: dict, scene: str, budget: float, fit: CellFit | None = None) -> dict:
    """On a simulated log with its truth: the true incremental outcome a day of the crowd × channel plan, the
    channel-only plan (one curve per channel over the scene's crowds, each channel's spend split over them as
    in the log), an equal split over the cells and the oracle (the same allocator on the true curves and
    values) and the same cells valued by attributed (宽) outcomes; margins over the baselines and regret against
    the oracle.

    >>> from aipl.simulate.cells import simulate_cells
    >>> log, truth = simulate_cells(days=40, seed=2)
    >>> res = compare_cells(log, truth, "爆发收割", 5000)
    >>> sorted(res["outcome"]), res["regret"]["oracle"]
    (['attributed', 'cells', 'channels', 'equal_split', 'oracle'], 0.0)
    """
    s = scene_of(scene)
    fit = fit or fit_cells(log)
    plan = plan_cells(fit, s.name, budget, draws=0)
    names = list(plan.shares)
    crowds = tuple(sorted({fit.cells[k]["crowd"] for k in names}))
    per_channel = plan_cells(fit_cells(channel_log(log, crowds)), s.name, budget, draws=0).shares
    mix = log[log.crowd.isin(crowds)].groupby(["channel", "crowd"]).cost.sum()
    mix = mix / mix.groupby(level="channel").transform("sum")
    channels = {f"{ch}{CELL_SEP}{crowd}": per_channel[f"{ch}{CELL_SEP}{ALL_CROWDS}"] * w
                for (ch, crowd), w in mix.items()}
    true = {k: truth["cells"][k] for k in names}
    oracle = allocate({k: Curve(c["reach"], c["k"], c["alpha"], c["theta"]) for k, c in true.items()}, budget,
                      {k: c["value"][s.cell_aim] for k, c in true.items()})
    wide = allocate({k: fit.cells[k]["curve"] for k in names}, budget,
                    {k: fit.cells[k]["attributed"].get(s.cell_aim, 0.0) for k in names})
    outcome = {"cells": true_outcome(truth, s.cell_aim, plan.shares, budget),
               "attributed": true_outcome(truth, s.cell_aim, wide.shares, budget),
               "channels": true_outcome(truth, s.cell_aim, channels, budget),
               "equal_split": true_outcome(truth, s.cell_aim, dict.fromkeys(names, 1 / len(names)), budget),
               "oracle": true_outcome(truth, s.cell_aim, oracle.shares, budget)}
    return {"scene": s.name, "aim": s.cell_aim, "budget": budget, "cells": len(names), "outcome": outcome,
            "margin": {k: outcome["cells"] / outcome[k] - 1 for k in ("channels", "equal_split", "attributed")},
            "regret": {k: 1 - v / outcome["oracle"] for k, v in outcome.items()}}
