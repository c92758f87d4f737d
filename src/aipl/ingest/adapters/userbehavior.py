"""Tianchi Taobao UserBehavior (dataset 649): `user_id,item_id,category_id,behavior_type,timestamp`, no header."""

from __future__ import annotations

from pathlib import Path

from aipl import schema
from aipl.ingest.adapters.common import enum_check, local_window, recode
from aipl.ingest.core import Target
from aipl.ingest.formats import register, stage
from aipl.warehouse import Warehouse

COLUMNS = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
BEHAVIOURS = {"pv": "pdp_view", "fav": "favorite", "cart": "add_to_cart", "buy": "purchase"}
# The dataset covers 2017-11-25 .. 2017-12-03 in China time; anything else is dirty data.
WINDOW = local_window("2017-11-25", "2017-12-04")


def events_target() -> Target:
    """UserBehavior rows as category-scope events (the dataset has no brand).

    >>> target = events_target()
    >>> target.table.name, [t.date().isoformat() for t in target.ts_window]
    ('events', ['2017-11-25', '2017-12-04'])
    """
    return Target(
        schema.EVENTS,
        lambda t: {
            "consumer_id": t.user_id, "item_id": t.item_id, "category_id": t.category_id,
            "event_type": recode(t.behavior_type, BEHAVIOURS), "ts": t.timestamp,
        },
        checks=lambda t, typed: [enum_check(t.behavior_type, "behavior_type", BEHAVIOURS)],
        ts_window=WINDOW,
    )


@register(
    "userbehavior",
    "Taobao UserBehavior CSV (no header: user_id,item_id,category_id,behavior_type,timestamp); "
    "pv→pdp_view, fav→favorite, cart→add_to_cart, buy→purchase; rows outside 2017-11-25..12-03 are quarantined.",
)
def plan(wh: Warehouse, path: Path):
    """The `userbehavior` format: the header-less CSV staged for `events_target`.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> wh = open_warehouse(init_workspace(root))
    >>> rows = ["1,10,100,pv,1511658000", "1,10,100,buy,1511661600", "2,11,100,like,1511661600"]
    >>> _ = (root / "ub.csv").write_text("\\n".join(rows) + "\\n")
    >>> done = ingest(wh, root / "ub.csv", "userbehavior")
    >>> done.accepted, done.rejected, done.loads[0].reasons
    (2, 1, {'behavior_type': 1})
    >>> wh.close()
    """
    return [(stage(wh, path, COLUMNS, stream=True), [events_target()])]  # one target, rows one for one
