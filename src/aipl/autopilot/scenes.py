"""万相台 scenes (DOMAIN.md §7 [P]): each scene's aim and KPIs, the value of one impression per channel for
that aim (learned from the brand's attributed outcomes), and the scene's budget plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aipl.attribution import ENGAGEMENT, attributed, campaign_delivery, campaign_window
from aipl.autopilot.response import CELL_SEP, Curve, allocate, fit_brand
from aipl.autopilot.results import BudgetPlan
from aipl.warehouse import Warehouse


@dataclass(frozen=True)
class Scene:
    """A scene: its code (taobao.onebp.dkx), the outcome it buys (`aim`), the KPIs it reports, its other seed
    names (`aliases`), and for crowd × channel plans the incremental outcome it maximises (`cell_aim`: on new
    items for 上新快, on best sellers for 货品加速) over the crowds in its DEEPLINK `stages`.

    >>> s = SCENES["预热蓄水"]
    >>> s.code, s.aim, AIMS[s.aim], s.kpis
    ('adStrategyYuRe', 'fav_cart', 'favourites + carts', ('收藏加购', '加购成本', 'A/I 人群增长'))
    >>> sorted({s.aim for s in SCENES.values()}) == sorted(AIMS)
    True
    >>> scene_of("爆款快").name, scene_of("新品快").cell_aim, scene_of("入会快").stages[0]
    ('货品加速', 'new_item_gmv', 'perform')
    """

    name: str
    code: str
    aim: str
    kpis: tuple[str, ...]
    cell_aim: str = ""
    stages: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


_PRE = ("discover", "engage", "enthuse", "perform")  # not yet buyers
SCENES = {s.name: s for s in (
    Scene("拉新快", "adStrategyDkx", "new_customer_gmv", ("新客成交金额", "新客ROI", "新客占比"),
          "new_customer_gmv", _PRE),
    Scene("会员快", "adStrategyRuHui", "member_joins", ("入会量", "会员成交", "入会成本"), "member_joins",
          ("perform", "initial", "numerous", "keen"), ("入会快",)),
    Scene("上新快", "adStrategyShangXin", "gmv", ("新品成交", "新客贡献", "收藏加购"), "new_item_gmv",
          ("engage", "enthuse", "initial", "numerous", "keen"), ("新品快",)),
    Scene("货品加速", "adStrategyProductSpeed", "gmv", ("成交", "ROI", "CVR"), "hero_item_gmv",
          ("enthuse", "perform", "initial", "numerous"), ("爆款快",)),
    Scene("预热蓄水", "adStrategyYuRe", "fav_cart", ("收藏加购", "加购成本", "A/I 人群增长"), "fav_cart",
          ("discover", "engage", "enthuse")),
    Scene("爆发收割", "adStrategyBaoFa", "gmv", ("成交", "ROI", "预售成交"), "gmv",
          ("enthuse", "perform", "initial", "numerous", "keen")),
)}
ALIASES = {a: s.name for s in SCENES.values() for a in s.aliases}
AIMS = {"gmv": "GMV", "new_customer_gmv": "new customers' GMV", "fav_cart": "favourites + carts",
        "member_joins": "member joins"}
CELL_AIMS = AIMS | {"new_item_gmv": "new items' GMV", "hero_item_gmv": "best sellers' GMV"}


def scene_of(name: str) -> Scene:
    """The scene of a seed name or alias (入会快 → 会员快, 新品快 → 上新快, 爆款快 → 货品加速).

    >>> scene_of("入会快").name
    '会员快'
    """
    s = SCENES.get(ALIASES.get(name, name))
    if s is None:
        raise ValueError(f"unknown scene {name!r}; choose one of {', '.join([*SCENES, *ALIASES])}")
    return s


# outcomes in yuan: a ROI; the others are counts: a cost per outcome
MONEY_AIMS = ("gmv", "new_customer_gmv", "new_item_gmv", "hero_item_gmv")
STRATEGIES = ("cost_first", "effect_first")  # 消耗优先 spends the budget; 效率优先 stops where a yuan stops paying
MAX_ITEMS = 10


def impression_values(wh: Warehouse, brand: str, campaign: str, aim: str, items: tuple[str, ...] = (),
                      consumers: set[str] | None = None) -> dict[str, float]:
    """What one impression of each channel brought, for the aim: attributed outcomes (宽 scope, last touch,
    15 days; see aipl.attribution) over the channel's impressions in the campaign; only outcomes on
    `items` (purchases, favourites and carts) and by `consumers` (the target crowds) when given.

    >>> from aipl.simulate import sample_warehouse
    >>> values = impression_values(sample_warehouse(), "B01", "sim_double11", "fav_cart")
    >>> {channel: round(v, 3) for channel, v in values.items()}
    {'affiliate': 0.061, 'content': 0.058, 'display': 0.027, 'live': 0.05, 'search': 0.07}
    """
    window, _ = campaign_window(wh, campaign, 0)
    acts = attributed(wh, campaign, brand)
    if items:
        acts = acts[acts.item_id.isin(items) | (acts.event_type == "member_join")]
    if consumers is not None:
        acts = acts[acts.consumer_id.isin(consumers)]
    pick = {
        "gmv": acts[acts.event_type == "purchase"].assign(v=lambda d: d.amount),
        "new_customer_gmv": acts[(acts.event_type == "purchase") & acts.new].assign(v=lambda d: d.amount),
        "fav_cart": acts[acts.event_type.isin(ENGAGEMENT)].assign(v=1.0),
        "member_joins": acts[acts.event_type == "member_join"].assign(v=1.0),
    }[aim]
    got = pick.groupby("channel").v.sum()
    imps = campaign_delivery(wh, campaign, brand, window.start, window.end).groupby("channel").impressions.sum()
    return {ch: float(got.get(ch, 0.0)) / float(n) for ch, n in imps.items() if n > 0}


def scene_plan(wh: Warehouse, brand: str, scene: str, budget: float, campaign: str,
               min_share: float = 0.0, max_share: float = 1.0, roi_floor: float | None = None,
               items: tuple[str, ...] = (), consumers: set[str] | None = None, strategy: str = "cost_first",
               min_marginal: float | None = None, boot: int = 30) -> BudgetPlan:
    """The daily budget split for a scene (DOMAIN.md §7 [P] inputs): curves fitted per channel (or channel ×
    crowd), each impression valued for the scene's aim on the chosen `items` (≤ 10) and target crowds'
    `consumers`, and the split that maximises the expected outcome.

    - `roi_floor`: the largest spend up to `budget` whose optimal split returns at least this per yuan;
    - `strategy="effect_first"` (效率优先): the largest spend whose next yuan still returns `min_marginal`
      (default 1 for outcomes in yuan; required for counts); `cost_first` (消耗优先) spends the budget.

    The expected outcome comes with a 90% interval: the chosen split under the bootstrap draws of the curves.

    >>> from aipl.simulate import sample_warehouse
    >>> p = scene_plan(sample_warehouse(), "B01", "爆发收割", 3000, "sim_double11")
    >>> p["code"], p["aim"], p["spend"], sorted(p["shares"]), round(sum(p["shares"].values()), 6)
    ('adStrategyBaoFa', 'gmv', 3000, ['affiliate', 'content', 'display', 'live', 'search'], 1.0)
    >>> p["objective"] >= p["equal_split"], sorted(p["expected"]), len(p["objective_interval"])
    (True, ['GMV', 'ROI'], 2)
    """
    scene = scene_of(scene).name
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"a scene promotes at most {MAX_ITEMS} items, not {len(items)}")
    if items:  # only the brand's own products (another brand's item is refused as an unknown one)
        p = wh.table("products")
        own = set(p.filter((p.brand_id == brand) & p.item_id.isin(list(items))).select("item_id").execute().item_id)
        if unknown := sorted(set(items) - own):
            raise ValueError(f"not items of brand {brand}: {', '.join(unknown)}")
    s = SCENES[scene]
    if strategy == "effect_first" and min_marginal is None:
        if s.aim not in MONEY_AIMS:
            raise ValueError(f"effect_first on {scene} ({AIMS[s.aim]}) needs min_marginal: the outcome one more "
                             "yuan must still bring")
        min_marginal = 1.0
    fits = fit_brand(wh, brand, holdout_days=0, boot=boot)
    by_channel = impression_values(wh, brand, campaign, s.aim, tuple(items), consumers)
    values = {cell: by_channel[cell.split(CELL_SEP)[0]] for cell in fits if cell.split(CELL_SEP)[0] in by_channel}
    curves: dict[str, Curve] = {cell: fits[cell]["curve"] for cell in values}
    if not curves:
        raise ValueError(f"no channel of {brand!r} has delivery in campaign {campaign!r}")

    def plan(x: float) -> dict:
        return allocate(curves, x, values, min_share, max_share)

    spend, res = budget, plan(budget)
    if roi_floor is not None and res["objective"] / budget < roi_floor:
        spend, res = _largest_spend(plan, budget, lambda x, r: r["objective"] / x >= roi_floor)
    if strategy == "effect_first" and spend > 0:

        def pays(x: float, r: dict) -> bool:  # the next 1% of spend returns at least min_marginal a yuan
            return (plan(1.01 * x)["objective"] - r["objective"]) / (0.01 * x) >= min_marginal

        if not pays(spend, res):
            spend, res = _largest_spend(plan, spend, pays)
    return BudgetPlan.of(brand, s.aim, budget, spend, res["shares"], res["objective"], res["equal_split"],
                         scene=scene, code=s.code, kpis=s.kpis, campaign=campaign, strategy=strategy, items=items,
                         target_consumers=None if consumers is None else len(consumers), values=values,
                         roi=res["objective"] / spend if spend else None, roi_floor=roi_floor,
                         min_marginal=min_marginal, objective_interval=_interval(fits, values, res["shares"], spend),
                         expected=_kpis(s.aim, res["objective"], spend))


def _interval(fits: dict, values: dict[str, float], shares: dict[str, float], spend: float) -> list[float] | None:
    """5th and 95th percentiles of the split's outcome under the curves' bootstrap draws (draw i of every cell
    together)."""
    draws = [fits[c]["draws"] for c in shares]
    n = min((len(d) for d in draws), default=0)
    if n < 10 or spend <= 0:
        return None
    totals = [sum(values[c] * float(d[i].steady(w * spend)) for c, d, w in zip(shares, draws, shares.values(),
                                                                                 strict=True)) for i in range(n)]
    return [float(np.quantile(totals, 0.05)), float(np.quantile(totals, 0.95))]


def _kpis(aim: str, outcome: float, spend: float) -> dict[str, float | None]:
    """The expected outcome a day with its efficiency: ROI for outcomes in yuan, cost per outcome for counts."""
    if aim in MONEY_AIMS:
        return {CELL_AIMS[aim]: outcome, "ROI": outcome / spend if spend else None}
    return {CELL_AIMS[aim]: outcome, "cost per outcome": spend / outcome if outcome else None}


def _largest_spend(plan, budget: float, ok) -> tuple[float, dict]:
    """The largest spend ≤ budget whose optimal split passes `ok(spend, plan)`: a geometric grid from a
    thousandth of the budget, then bisection up to the next grid point; none at all if no spend passes."""
    grid = (budget * np.logspace(-3, 0, 40)).tolist()
    passing = [(i, x, r) for i, x in enumerate(grid) if ok(x, r := plan(x))]
    if not passing:
        empty = plan(budget)
        return 0.0, {"shares": dict.fromkeys(empty["shares"], 0.0), "objective": 0.0, "equal_split": 0.0}
    i, lo, best = passing[-1]
    hi = grid[min(i + 1, len(grid) - 1)]
    for _ in range(20):
        mid = (lo + hi) / 2
        r = plan(mid)
        if ok(mid, r):
            lo, best = mid, r
        else:
            hi = mid
    return lo, best
