"""Recommended strategies (phase × AIPL layer) and the dated action plan built from them.

Each rule names the pool gap it addresses, when it runs, the crowd it targets and the autopilot scene that
would run it; a rule fires when its pool falls short of the plan's need (or of last year's when the plan has
no target). The expected effect is the consumers it can add (the gap, capped by its crowd's size) times the
pool's conversion rate and GMV per buyer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from aipl.assets import brand_categories
from aipl.clv import member_status
from aipl.strategy.calendar import Campaign
from aipl.warehouse import Warehouse


@dataclass(frozen=True)
class Rule:
    """A recommended strategy: `crowd` describes its target, `expr` is the same crowd in the crowd language
    ({brand} and {category} are filled in; see docs/crowds.md).

    >>> r = RULES["blue_ocean_acquisition"]
    >>> r.pool, r.phases, r.scene
    ('A_xu', ('daily', 'accumulate'), '拉新快 (new-customer acquisition)')
    >>> sorted(RULES)  # doctest: +NORMALIZE_WHITESPACE
    ['blue_ocean_acquisition', 'campaign_harvest', 'close_benchmark_gap', 'interest_guidance', 'lapsed_recall',
     'member_activation']
    """

    lookup_name: str
    label: str
    pool: str
    phases: tuple[str, ...]
    crowd: str
    scene: str
    expr: str = ""


RULES = {r.lookup_name: r for r in (
    Rule("blue_ocean_acquisition", "蓝海人群拉新 · reach category shoppers new to the brand", "A_xu",
         ("daily", "accumulate"),
         "机会 O: shoppers of the brand's category in no brand state (蓝海 strategy crowds "
         "都市银发/小镇中老年/都市蓝领 first)", "拉新快 (new-customer acquisition)",
         'top_category = "{category}" and strategy_crowd in ("urban_gray_hair", "small_town_mature", '
         '"urban_blue_collar") and not aipl(brand="{brand}") in ("A", "I", "P", "L")'),
    Rule("interest_guidance", "种草后向旗舰店兴趣引导 · turn content-seeded awareness into shop interest", "I_xu",
         ("accumulate", "warmup"), "A: consumers aware of the brand in the last 15 days, content- and live-exposed "
         "first", "预热蓄水 (warm-up accumulation)", 'aipl(brand="{brand}") = "A"'),
    Rule("close_benchmark_gap", "缩小与标杆 gap · lift interest where the 标杆 brands are ahead", "I_xu",
         ("presale",), "I: consumers interested in the brand (favourite, cart, repeat views) in the last 15 days",
         "爆发收割 (burst harvest) with presale deposits", 'aipl(brand="{brand}") = "I"'),
    Rule("lapsed_recall", "30/60/180 天未购召回 · recall lapsed buyers with a repurchase coupon", "P",
         ("presale", "burst"), "P: buyers with no purchase for 30, 60 or 180 days (aipl members list --kind "
         "lapsed_30|lapsed_60|lapsed_180)", "会员快 (member and CRM reach)",
         'aipl(brand="{brand}") in ("P", "L") and recency_days >= 30 and '
         'not count(event="purchase", brand="{brand}", days=30) >= 1'),
    Rule("member_activation", "会员激活 · reactivate loyal members before the burst", "L", ("warmup", "burst"),
         "L: members with no purchase or member activity in 60 days (aipl members list --kind reactivation)",
         "会员快 (member and CRM reach)", 'member(brand="{brand}") = "yes" and '
         'not count(event="purchase", brand="{brand}", days=60) >= 1'),
    Rule("campaign_harvest", "爆发收割 · convert consumers who turn interested during the campaign", "I_act",
         ("burst",), "I during the campaign: new carts and favourites since the presale", "爆发收割 (burst harvest)"),
)}


def _crowd_sizes(wh: Warehouse, plan: dict) -> dict[str, int]:
    """How many consumers each rule can reach now."""
    pools = {r["pool"]: r for r in plan["pools"]}
    status = member_status(wh, plan["brand"], plan["as_of"])
    lapsed = int(status.bucket.isin(["lapsed_30", "lapsed_60", "lapsed_180"]).sum())
    return {
        "blue_ocean_acquisition": int(pools["O"]["current"] or 0),
        "interest_guidance": int(pools["A_xu"]["current"] or 0),
        "close_benchmark_gap": int(pools["I_xu"]["current"] or 0),
        "lapsed_recall": lapsed,
        "member_activation": int(status.reactivation.sum()),
        "campaign_harvest": round(pools["I_act"]["projected"] or 0),
    }


def _expr(wh: Warehouse, rule: Rule, brand: str) -> str | None:
    """The rule's crowd in the crowd language for this brand (None when it has none)."""
    if not rule.expr:
        return None
    bc = brand_categories(wh)
    cat = bc[bc.brand_id == brand].category_id
    return rule.expr.format(brand=brand, category=cat.iloc[0] if len(cat) else "")


def _benchmark_gap(progress: dict | None, pool: str) -> float | None:
    """The pool's latest gap to the benchmark in the progress table (None without a benchmark)."""
    rows = [g for g in (progress or {}).get("phases", []) if g["pool"] == pool and g["gap_to_benchmark"] is not None]
    return rows[-1]["gap_to_benchmark"] if rows else None


def recommend(wh: Warehouse, plan: dict, progress: dict | None = None) -> list[dict]:
    """The rules that fire for a plan, largest expected GMV first; 缩小与标杆 gap fires only where the progress
    table shows the pool behind its benchmark."""
    pools = {r["pool"]: r for r in plan["pools"]}
    sizes = _crowd_sizes(wh, plan)
    out = []
    for rule in RULES.values():
        p = pools[rule.pool]
        if rule.lookup_name == "close_benchmark_gap":
            gap, basis = _benchmark_gap(progress, rule.pool), "the benchmark (P75 of peers)"
            if gap is None:
                continue
        elif "gap" in p and p["gap"] is not None:
            gap, basis = p["gap"], "the plan's need"
        else:
            gap = (p["last_size"] or 0) - (p["projected"] or 0)
            basis = "last year's pool"
        reach = min(gap, sizes[rule.lookup_name])
        if reach <= 0 or not p["cvr"]:
            continue
        buyers = reach * p["cvr"]
        out.append({"rule": rule.lookup_name, "label": rule.label, "pool": rule.pool, "phases": list(rule.phases),
                    "gap": gap, "gap_basis": basis, "crowd": rule.crowd, "crowd_size": sizes[rule.lookup_name],
                    "crowd_expr": _expr(wh, rule, plan["brand"]),
                    "scene": rule.scene, "consumers": reach, "expected_buyers": buyers,
                    "expected_gmv": buyers * (p["aov"] or plan["aov"])})
    return sorted(out, key=lambda r: -r["expected_gmv"])


STAGES = ("筹备期 prepare", "提效期 build", "冲刺期 sprint")


def action_plan(plan: dict, recommendations: list[dict], cur: Campaign) -> list[dict]:
    """Day by day from the plan's day to the last selling day (like the 38-day growth plan): the stage
    (筹备期 until the 蓄水期, 提效期 through it, 冲刺期 from the presale), the campaign phase, and each running
    strategy with its crowd and its share of the day's budget (by expected GMV)."""
    start = date.fromisoformat(plan["as_of"]) + timedelta(days=1)
    acc_start = cur.accumulate[0]
    days = []
    d = start
    while d <= cur.selling_end:
        phase = cur.phase_on(d) or "daily"
        stage = STAGES[0] if d < acc_start else STAGES[1] if d < cur.presale_start else STAGES[2]
        running = [r for r in recommendations if phase in r["phases"]]
        total = sum(r["expected_gmv"] for r in running)
        days.append({"day": str(d), "stage": stage, "phase": phase, "actions": [
            {"rule": r["rule"], "label": r["label"], "crowd": r["crowd"], "scene": r["scene"],
             "budget_share": r["expected_gmv"] / total if total else 1 / len(running)} for r in running]})
        d += timedelta(days=1)
    return days
