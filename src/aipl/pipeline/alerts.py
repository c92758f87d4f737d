"""Alerts: the `[[alerts]]` rules of aipl.toml evaluated on a day. Each kind is a pure function of a small table
(so that a test can build the case that fires it); `evaluate_alerts` gathers those tables from the engines."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from itertools import pairwise

import pandas as pd

from aipl.assets import brand_categories, brands, fast, flow
from aipl.pipeline.settings import AlertRule
from aipl.warehouse import Warehouse

ALERT_COLUMNS = ["rule", "kind", "brand_id", "category_id", "metric", "value", "reference", "change", "threshold",
                 "message"]
WEEK = 7
FAST_DAYS = 30


def _wanted(rule: AlertRule, table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the brand or category the rule watches (every brand without either)."""
    if rule.brand:
        table = table[table.brand_id == rule.brand]
    if rule.category:
        table = table[table.category_id == rule.category]
    return table


def flow_drop(rates: pd.DataFrame, rule: AlertRule) -> list[dict]:
    """Brands whose A→I rate of this week (`this_week`) is down more than `rule.threshold` % on last week's
    (`last_week`); `rates` has brand_id, category_id, this_week, last_week.

    >>> rates = pd.DataFrame({"brand_id": ["B01", "B02"], "category_id": ["c", "c"], "this_week": [0.05, 0.12],
    ...                       "last_week": [0.10, 0.13]})
    >>> [(a["brand_id"], a["change"]) for a in flow_drop(rates, AlertRule("flow_drop", threshold=20))]
    [('B01', -50.0)]
    """
    out = []
    for r in _wanted(rule, rates).itertuples():
        if not r.last_week or r.this_week is None or pd.isna(r.this_week) or pd.isna(r.last_week):
            continue
        change = round(100 * (r.this_week - r.last_week) / r.last_week, 2)
        if -change > rule.threshold:
            out.append(_alert(rule, r, "A→I", r.this_week, r.last_week, change,
                              f"{r.brand_id}: A→I flow rate {r.this_week:.1%} this week against {r.last_week:.1%} "
                              f"the week before ({change:+.1f} %, alert below −{rule.threshold:g} %)"))
    return out


def fast_below_p25(table: pd.DataFrame, rule: AlertRule) -> list[dict]:
    """Brands whose FAST `rule.metric` is below the P25 of their category's brands; `table` is like `fast`'s
    (brand_id, category_id and the metric). A category of one brand has nothing to compare with.

    >>> t = pd.DataFrame({"brand_id": ["B1", "B2", "B3", "B4"], "category_id": ["c"] * 4, "A": [0.01, 0.2, 0.3, 0.4]})
    >>> [(a["brand_id"], a["value"], a["reference"]) for a in fast_below_p25(t, AlertRule("fast_below_p25"))]
    [('B1', 0.01, 0.1525)]
    """
    m = rule.metric
    p25 = table.groupby("category_id")[m].transform(lambda v: v.dropna().quantile(0.25) if v.count() > 1 else None)
    t = table.assign(p25=p25)
    out = []
    for r in _wanted(rule, t).itertuples():
        value = getattr(r, m)
        if pd.isna(value) or pd.isna(r.p25) or not value < r.p25:
            continue
        out.append(_alert(rule, r, m, float(value), round(float(r.p25), 6), None,
                          f"{r.brand_id}: FAST {m} = {value:,.4g} is below the P25 of {r.category_id} "
                          f"({r.p25:,.4g})"))
    return out


def plan_gap_growing(gaps: pd.DataFrame, rule: AlertRule) -> list[dict]:
    """Brand pools behind their plan (gap > 0) whose gap grew on each of the last `rule.days` days of their series;
    `gaps` has brand_id, category_id, pool, day and gap (one row per day).

    >>> gaps = pd.DataFrame({"brand_id": ["B1"] * 4 + ["B2"] * 4, "category_id": ["c"] * 8, "pool": ["L"] * 8,
    ...                      "day": list(pd.date_range("2026-10-01", periods=4).date) * 2,
    ...                      "gap": [1, 2, 4, 7, 5, 6, 6, 8]})
    >>> [(a["brand_id"], a["value"], a["reference"]) for a in plan_gap_growing(gaps, AlertRule("plan_gap_growing"))]
    [('B1', 7.0, 1.0)]
    """
    out = []
    for (brand, pool), g in _wanted(rule, gaps).dropna(subset=["gap"]).groupby(["brand_id", "pool"], sort=True):
        last = g.sort_values("day").gap.tail(rule.days + 1).astype(float).tolist()
        if len(last) <= rule.days or last[-1] <= 0 or not all(b > a for a, b in pairwise(last)):
            continue  # too short, ahead of the plan, or not growing every day
        row = g.iloc[0]
        if last[-1] - last[0] <= rule.threshold:
            continue
        out.append(_alert(rule, row, pool, last[-1], last[0], last[-1] - last[0],
                          f"{brand}: the {pool} pool's gap to the plan grew {rule.days} days running, "
                          f"{last[0]:,.0f} → {last[-1]:,.0f}"))
    return out


KINDS: dict[str, Callable[[pd.DataFrame, AlertRule], list[dict]]] = {
    "flow_drop": flow_drop, "fast_below_p25": fast_below_p25, "plan_gap_growing": plan_gap_growing,
}


def _alert(rule: AlertRule, row, metric: str, value, reference, change, message: str) -> dict:
    return {"rule": rule.name, "kind": rule.kind, "brand_id": row.brand_id, "category_id": row.category_id,
            "metric": metric, "value": None if value is None else float(value),
            "reference": None if reference is None else float(reference),
            "change": None if change is None else float(change), "threshold": rule.threshold, "message": message}


def flow_rates(wh: Warehouse, day: date, keys: Iterable[str]) -> pd.DataFrame:
    """brand_id, this_week, last_week: each brand's A→I flow rate over the 7 days to `day` and the 7 before."""
    rows = []
    for b in keys:
        now = flow(wh, "brand", b, day - timedelta(days=WEEK), day).rates.get("A", {}).get("I")
        before = flow(wh, "brand", b, day - timedelta(days=2 * WEEK), day - timedelta(days=WEEK)).rates
        rows.append({"brand_id": b, "this_week": now, "last_week": before.get("A", {}).get("I")})
    return pd.DataFrame(rows, columns=["brand_id", "this_week", "last_week"])


def evaluate_alerts(wh: Warehouse, day: date, rules: Iterable[AlertRule], gaps: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """Every rule evaluated on `day`: one row per alert that fired (ALERT_COLUMNS), with the numbers that fired
    it. `gaps` is the plan gap series (the `plan_progress` table's rows); without it that kind stays quiet.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> gaps = pd.DataFrame({"brand_id": ["B1"] * 3, "pool": ["L"] * 3, "day": ["2026-10-01", "2026-10-02",
    ...                      "2026-10-03"], "gap": [1.0, 2.0, 3.0]})
    >>> found = evaluate_alerts(wh, date(2026, 10, 3), [AlertRule.from_dict({"kind": "plan_gap_growing", "days": 2})],
    ...                         gaps)
    >>> found[["rule", "brand_id", "value", "reference"]].to_dict("records")
    [{'rule': 'plan_gap_growing', 'brand_id': 'B1', 'value': 3.0, 'reference': 1.0}]
    >>> wh.close()
    """
    rules = list(rules)
    cats = brand_categories(wh) if rules else pd.DataFrame(columns=["brand_id", "category_id"])
    watched = [r for r in rules if r.kind == "flow_drop"]
    keys = brands(wh) if any(not r.brand for r in watched) else sorted({r.brand for r in watched})
    inputs: dict[str, Callable[[], pd.DataFrame]] = {
        "flow_drop": lambda: flow_rates(wh, day, keys),
        "fast_below_p25": lambda: fast(wh, day - timedelta(days=FAST_DAYS - 1), day),
        "plan_gap_growing": lambda: gaps if gaps is not None else pd.DataFrame(columns=["brand_id", "pool", "day",
                                                                                         "gap"]),
    }
    got: dict[str, pd.DataFrame] = {}
    found = []
    for rule in rules:
        if rule.kind not in got:
            t = inputs[rule.kind]()
            got[rule.kind] = t if "category_id" in t.columns else t.merge(cats, on="brand_id", how="left")
        found += KINDS[rule.kind](got[rule.kind], rule)
    return pd.DataFrame(found, columns=ALERT_COLUMNS)
