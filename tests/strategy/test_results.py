"""The Strategy Center's results are typed: a one-line repr with the headline numbers, keys read as attributes, and
JSON-ready through `to_dict()`."""

from __future__ import annotations

import json

from aipl.strategy import Plan, PoolSizes, Season, load_campaign, plan, pool_sizes, season
from tests.assets.test_states import at


def test_strategy_results_read_at_a_glance_and_dump_as_json(ws):
    _, wh = ws
    s = season(wh, "B", load_campaign(wh, "LY"))
    assert isinstance(s, Season) and repr(s).startswith("Season(B in LY, ") and "8 buyers (6 new), GMV 520" in repr(s)
    sizes = pool_sizes(wh, "B", at(380).date())
    assert isinstance(sizes, PoolSizes) and repr(sizes) == "PoolSizes(L 1, P 9, I_xu 1, A_xu 2, O 1)"
    p = plan(wh, "B", "TY", gmv_target=1300, day=at(380).date())
    assert isinstance(p, Plan) and p.brand == "B" and p.gmv_target == 1300 and "\n" not in repr(p)
    assert set(p.gta) | {"progress", "recommendations", "actions", "goal"} == set(p)
    assert list(p.frame.index) == [r["pool"] for r in p.pools]
    for r in (s, sizes, p):  # Backtest's: tests/strategy/test_center.py
        assert json.loads(json.dumps(r.to_dict(), allow_nan=False)).keys() == r.keys()
