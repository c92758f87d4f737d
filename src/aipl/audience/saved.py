"""Crowds by name: the built-in strategy and 下沉 crowds (DOMAIN.md §9.3, §9.4 [P]) and those saved in the
`crowds` table, which any crowd expression can name with `crowd("name")`."""

from __future__ import annotations

import json

from aipl import schema
from aipl.audience.lang import parse
from aipl.audience.tags import STRATEGY_CROWDS, STRATEGY_CROWDS_EN
from aipl.warehouse import Warehouse

CROWDS_TABLE = schema.CROWDS.name
LOWER_TIER = 'city_tier in (3, 4, 5, 6)'  # 下沉: third-tier cities and below (DOMAIN.md §9.3 [P])
# The categories of the sector crowds (DOMAIN.md §9.4 [P]; the simulator's and Taobao's level-2 names)
APPAREL, BEAUTY = ("womenswear", "menswear"), ("skincare", "makeup")


def bought(categories: tuple[str, ...], days: int = 365) -> str:
    """Buyers of any of the `categories` in the `days` up to the tag day, as a crowd expression.

    >>> bought(("womenswear", "menswear"), 180)
    '(count(event="purchase", category="womenswear", days=180) >= 1 or count(event="purchase", \
category="menswear", days=180) >= 1)'
    """
    return "(" + " or ".join(f'count(event="purchase", category="{c}", days={days}) >= 1' for c in categories) + ")"


def _listed(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{v}"' for v in values) + ")"


BUILT_IN = {  # name -> (zh, expression)
    **{f"strategy_{k}": (v, f'strategy_crowd = "{k}"') for k, v in STRATEGY_CROWDS.items() if k != "other"},
    "lower_tier_active_youth": ("小镇高活青年", f"{LOWER_TIER} and age between 18 and 30 and active_days_30d >= 10"),
    "lower_tier_bargain_hunters": ("9块9包邮党", f"{LOWER_TIER} and cheap_share_180d >= 60"),
    "lower_tier_upgraders": ("消费升级人群", f"{LOWER_TIER} and aup_growth >= 130"),
    "lower_tier_high_spenders": ("下沉市场高消费力人群", f"{LOWER_TIER} and purchasing_power >= 4"),
    "lower_tier_beauty_lovers": ("美妆偏好人群", f"{LOWER_TIER} and top_category in {_listed(BEAUTY)}"),
    # the apparel sector's strategy crowds of the seeds (DOMAIN.md §9.4 [P]: "潮流人群, 奢品人群, GENZ")
    "apparel_gen_z": ("服饰Z世代", "age between 18 and 28"),
    "apparel_trend": ("潮流人群", f"age between 18 and 35 and city_tier <= 3 and active_days_30d >= 8 and "
                              f"top_category in {_listed(APPAREL)}"),
    "apparel_luxury": ("奢品人群", "purchasing_power >= 4 and spend_level_365d >= 5"),
    # cross-category penetration: buyers of both sectors in 365 days (Fashion × Beauty)
    "fashion_x_beauty": ("服饰×美妆跨品类人群", f"{bought(APPAREL)} and {bought(BEAUTY)}"),
}
# name -> (English name, group): how the dashboard and the API list the built-in crowds
BUILT_IN_INFO = {
    **{f"strategy_{k}": (v, "strategy") for k, v in STRATEGY_CROWDS_EN.items() if k != "other"},
    "lower_tier_active_youth": ("Active small-town youth", "lower_tier"),
    "lower_tier_bargain_hunters": ("¥9.9 free-shipping hunters", "lower_tier"),
    "lower_tier_upgraders": ("Trading up", "lower_tier"),
    "lower_tier_high_spenders": ("Lower-tier high spenders", "lower_tier"),
    "lower_tier_beauty_lovers": ("Beauty lovers", "lower_tier"),
    "apparel_gen_z": ("Apparel Gen Z", "apparel"),
    "apparel_trend": ("Trend seekers", "apparel"),
    "apparel_luxury": ("Luxury buyers", "apparel"),
    "fashion_x_beauty": ("Fashion × Beauty buyers", "cross_category"),
}


def saved(wh: Warehouse, name: str) -> dict:
    """A saved crowd (a built-in one when no saved crowd has the name).

    >>> from aipl.simulate import sample_warehouse
    >>> crowd = saved(sample_warehouse(), "strategy_gen_z")
    >>> crowd["expr"], crowd["source"]
    ('strategy_crowd = "gen_z"', 'built-in')
    """
    if CROWDS_TABLE in wh.con.list_tables():
        t = wh.table(CROWDS_TABLE)
        rows = t.filter(t.name == name).execute()
        if len(rows):
            r = rows.iloc[0].to_dict()
            return {**r, "tree": json.loads(r["tree"])}
    if name in BUILT_IN:
        return {"name": name, "expr": BUILT_IN[name][1], "tree": parse(BUILT_IN[name][1]), "source": "built-in"}
    raise ValueError(f"no crowd named {name!r} (see `aipl crowd list`)")
