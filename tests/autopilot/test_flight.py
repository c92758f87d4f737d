"""In-flight reallocation against curves the policy never sees: Thompson sampling against the oracle, an equal
split and "proportional to last ROI"."""

from __future__ import annotations

from aipl.autopilot import Curve
from aipl.autopilot.flight import compare, fixed, run_flight


def test_thompson_reallocation_against_the_oracle_and_baselines():
    # five channels shaped like the simulator's; at this budget the curves are still convex, so where the
    # money goes matters
    true = {"search": Curve(280, 7.7, 2.1, 0.49), "display": Curve(136, 12.0, 1.5, 0.38),
            "live": Curve(292, 4.8, 1.3, 0.29), "affiliate": Curve(237, 6.0, 1.4, 0.59),
            "content": Curve(230, 5.9, 1.2, 0.33)}
    res = compare(true, budget=18.0, days=40, seed=1)
    r = res["regret"]
    print(r)
    assert r["oracle"] == 0 and r["thompson"] < 0.06  # exploration days included
    assert r["thompson"] < 0.6 * r["equal_split"]
    assert r["thompson"] < r["proportional_to_last_roi"] + 0.01  # as good as chasing yesterday's ROI


def test_flight_bookkeeping():
    c = Curve(100.0, 10.0, 2.0, 0.5)
    out = run_flight({"a": c}, 10.0, 3, fixed({"a": 1.0}), noise=0.0)
    # carry-over: stock 10, 15, 17.5 → 100·hill
    want = [100 * s**2 / (s**2 + 100) for s in (10.0, 15.0, 17.5)]
    assert [round(x, 9) for x in out["daily"]] == [round(x, 9) for x in want]
