"""万相台 scenes (DOMAIN.md §7 [P]): each scene's aim and KPIs, the value of one impression per channel for
that aim (learned from the brand's attributed outcomes), and the scene's budget plan."""

from __future__ import annotations

from dataclasses import dataclass

from aipl.autopilot.response import CELL_SEP, Curve, allocate, fit_brand
from aipl.warehouse import Warehouse


@dataclass(frozen=True)
class Scene:
    """A scene: its code (taobao.onebp.dkx), the outcome it buys (`aim`) and the KPIs it reports."""

    name: str
    code: str
    aim: str
    kpis: tuple[str, ...]


SCENES = {s.name: s for s in (
    Scene("拉新快", "adStrategyDkx", "new_customer_gmv", ("新客成交金额", "新客ROI", "新客占比")),
    Scene("会员快", "adStrategyRuHui", "member_joins", ("入会量", "会员成交", "入会成本")),
    Scene("上新快", "adStrategyShangXin", "gmv", ("新品成交", "新客贡献", "收藏加购")),
    Scene("货品加速", "adStrategyProductSpeed", "gmv", ("成交", "ROI", "CVR")),
    Scene("预热蓄水", "adStrategyYuRe", "fav_cart", ("收藏加购", "加购成本", "A/I 人群增长")),
    Scene("爆发收割", "adStrategyBaoFa", "gmv", ("成交", "ROI", "预售成交")),
)}
AIMS = {"gmv": "GMV", "new_customer_gmv": "new customers' GMV", "fav_cart": "favourites + carts",
        "member_joins": "member joins"}


def impression_values(wh: Warehouse, brand: str, campaign: str, aim: str) -> dict[str, float]:
    """What one impression of each channel brought, for the aim: attributed outcomes (宽 scope, last touch,
    15 days; see measure.postmortem) over the channel's impressions in the campaign."""
    from aipl.measure.experiment import campaign_window
    from aipl.measure.postmortem import ENGAGEMENT, _delivery, attributed

    window, _ = campaign_window(wh, campaign, 0)
    acts = attributed(wh, campaign, brand)
    pick = {
        "gmv": acts[acts.event_type == "purchase"].assign(v=lambda d: d.amount),
        "new_customer_gmv": acts[(acts.event_type == "purchase") & acts.new].assign(v=lambda d: d.amount),
        "fav_cart": acts[acts.event_type.isin(ENGAGEMENT)].assign(v=1.0),
        "member_joins": acts[acts.event_type == "member_join"].assign(v=1.0),
    }[aim]
    got = pick.groupby("channel").v.sum()
    imps = _delivery(wh, campaign, brand, window.start, window.end).groupby("channel").impressions.sum()
    return {ch: float(got.get(ch, 0.0)) / float(n) for ch, n in imps.items() if n > 0}


def scene_plan(wh: Warehouse, brand: str, scene: str, budget: float, campaign: str,
               min_share: float = 0.0, max_share: float = 1.0, roi_floor: float | None = None) -> dict:
    """The daily budget split for a scene: curves fitted per channel, each impression valued for the scene's
    aim, the split that maximises the expected outcome; with a ROI floor (outcome per unit spend), the
    largest budget up to `budget` whose optimal split still meets it."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}")
    s = SCENES[scene]
    curves: dict[str, Curve] = {ch: r["curve"] for ch, r in fit_brand(wh, brand, holdout_days=0, boot=0).items()}
    by_channel = impression_values(wh, brand, campaign, s.aim)
    values = {cell: by_channel[cell.split(CELL_SEP)[0]] for cell in curves if cell.split(CELL_SEP)[0] in by_channel}
    curves = {cell: c for cell, c in curves.items() if cell in values}
    if not curves:
        raise ValueError(f"no channel of {brand!r} has delivery in campaign {campaign!r}")
    spend, res = budget, allocate(curves, budget, values, min_share, max_share)
    if roi_floor is not None and res["objective"] / budget < roi_floor:
        spend, res = _within_floor(curves, values, budget, roi_floor, min_share, max_share)
    return {"brand": brand, "scene": scene, "code": s.code, "aim": s.aim, "kpis": list(s.kpis),
            "campaign": campaign, "budget": budget, "spend": spend, "values": values, **res,
            "roi": res["objective"] / spend if spend else None, "roi_floor": roi_floor}


def _within_floor(curves, values, budget, floor, min_share, max_share) -> tuple[float, dict]:
    """The largest spend ≤ budget whose optimal split returns at least `floor` per unit spent (a grid, then
    bisection next to the last spend that meets it); none at all if no spend does."""
    def plan(x):
        return allocate(curves, x, values, min_share, max_share)

    grid = [budget * (i + 1) / 40 for i in range(40)]
    ok = [(x, r) for x in grid if (r := plan(x))["objective"] / x >= floor]
    if not ok:
        return 0.0, {"shares": dict.fromkeys(curves, 0.0), "objective": 0.0, "equal_split": 0.0}
    lo, best = ok[-1]
    hi = min(budget, lo + budget / 40)
    for _ in range(20):
        mid = (lo + hi) / 2
        r = plan(mid)
        if r["objective"] / mid >= floor:
            lo, best = mid, r
        else:
            hi = mid
    return lo, best
