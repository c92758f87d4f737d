"""Crowds by name: the built-in strategy and 下沉 crowds (DOMAIN.md §9.3, §9.4 [P]) and those saved in the
`crowds` table, which any crowd expression can name with `crowd("name")`."""

from __future__ import annotations

import json

from aipl import schema
from aipl.audience.lang import parse
from aipl.audience.tags import STRATEGY_CROWDS
from aipl.warehouse import Warehouse

CROWDS_TABLE = schema.CROWDS.name
LOWER_TIER = 'city_tier in (3, 4, 5, 6)'  # 下沉: third-tier cities and below (DOMAIN.md §9.3 [P])
BUILT_IN = {  # name -> (zh, expression)
    **{f"strategy_{k}": (v, f'strategy_crowd = "{k}"') for k, v in STRATEGY_CROWDS.items() if k != "other"},
    "lower_tier_active_youth": ("小镇高活青年", f"{LOWER_TIER} and age between 18 and 30 and active_days_30d >= 10"),
    "lower_tier_bargain_hunters": ("9块9包邮党", f"{LOWER_TIER} and cheap_share_180d >= 60"),
    "lower_tier_upgraders": ("消费升级人群", f"{LOWER_TIER} and aup_growth >= 130"),
    "lower_tier_high_spenders": ("下沉市场高消费力人群", f"{LOWER_TIER} and purchasing_power >= 4"),
    "lower_tier_beauty_lovers": ("美妆偏好人群", f'{LOWER_TIER} and top_category in ("skincare", "makeup")'),
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
