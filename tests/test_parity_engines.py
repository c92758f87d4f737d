"""Every engine gives the same outputs on DuckDB and Spark (the table in tests/test_parity.py's docstring), on one
simulated market. In its own file so that the suite's two workers can run it beside the other Spark tests."""

from __future__ import annotations

import pytest

from aipl.assets import AssetRules, build, flow, snapshot_all
from aipl.assets.health import fast, grow, ranking
from aipl.audience import TagIndex, parse, refresh
from aipl.audience.crowds import save
from aipl.audience.lookalike import features, lookalike
from aipl.autopilot import fit_brand
from aipl.autopilot.scenes import scene_plan
from aipl.clv import asset_value, member_status, member_summary, rfm_summary, save_list, select_list
from aipl.measure import campaign_lift
from aipl.measure.closing import postmortem
from aipl.measure.pi import campaign_pi, learn_weights
from aipl.measure.uplift import uplift_targets
from aipl.strategy import plan
from tests.test_parity import (  # noqa: F401  (session: the module's Spark session fixture)
    CROWDS,
    ENGINE_MARKET,
    EXACT,
    REL,
    compare,
    engine_market,
    engine_workspace,
    plain,
    session,
)

pytestmark = pytest.mark.spark


def test_every_engine_agrees(tmp_path, session):  # noqa: F811
    market = engine_market(tmp_path / "market", ENGINE_MARKET)
    duck = engine_workspace(tmp_path / "duck", market, "duckdb")
    spark = engine_workspace(tmp_path / "parity_engines", market, "spark", session=session)
    try:
        d = engine_outputs(duck)
        s = engine_outputs(spark)
    finally:
        duck.close()
        spark.close()
    assert set(d) == set(s)
    for name in d:
        compare(d[name], s[name], name, rel=TOLERANCE.get(name, EXACT))


TOLERANCE = {"clv_value": REL, "clv_params": REL, "autopilot_fit": REL, "autopilot_scene": REL,
             "lookalike": REL, "uplift": REL, "pi_learn": REL, "lift": REL, "pi": REL, "postmortem": REL}


def engine_outputs(wh) -> dict:
    """Every engine's outputs on the engine market (plain values)."""

    out: dict = {}
    day = wh.last_day()
    camp, brand = "sim_double11", "B01"
    # what was loaded first, so that a difference in the build names its cause: the input, or the build
    out["loaded"] = {t: wh.count(t) for t in ("events", "quarantine", "members", "campaigns", "consumers")}
    out["built"] = build(wh, AssetRules.of(wh.config))
    out["assets"] = {s: plain(snapshot_all(wh, s, day)) for s in ("brand", "category")}
    out["flow"] = plain(flow(wh, "brand", brand, "2025-09-20", day))
    f = fast(wh, "2026-09-15", day)
    out["fast"] = plain(f)
    out["ranking"] = plain(ranking(f))
    out["grow"] = plain(grow(wh, brand, ("2025-09-15", "2025-10-05"), ("2026-09-15", "2026-10-05")))
    rfm = rfm_summary(wh, day, "day")
    out["rfm"] = plain(rfm)
    value = asset_value(wh, brand, day, time_unit="day")
    consumers, by_state = value.consumers, value.by_state
    out["clv_value"] = {"consumers": plain(consumers), "by_state": plain(by_state)}
    out["clv_params"] = plain(by_state.attrs)
    status = member_status(wh, brand, day)
    out["members"] = plain(member_summary(status))
    for _ in range(2):  # re-saving replaces
        save_list(wh, "lapsed", brand, day, select_list(status, "lapsed_30"))
    out["member_list"] = plain(wh.table("consumer_lists").execute().drop(columns=["saved_at"]))
    out["refresh"] = {k: v for k, v in refresh(wh, day).items() if k != "day"}
    index = TagIndex.load(wh)
    out["crowds"] = {e: len(index.evaluate(parse(e))) for e in CROWDS}
    for e in CROWDS[:2]:
        save(wh, "mine", e, index=index)  # re-saved: one row
    out["saved_crowds"] = plain(wh.table("crowds").execute()[["name", "expr", "coverage"]])
    lal = lookalike(features(wh), index.evaluate(parse(CROWDS[2])), k=2)
    out["lookalike"] = {"summary": plain(lal.to_dict()), "scores": plain(lal.scores)}
    p = plan(wh, brand, camp, gmv_target=50_000.0)
    out["gta_plan"] = plain(p.gta)
    out["gta_progress"] = plain(p.progress)
    out["autopilot_fit"] = plain({ch: r["curve"] for ch, r in fit_brand(wh, brand, holdout_days=5, boot=5).items()})
    out["autopilot_scene"] = plain(scene_plan(wh, brand, "爆发收割", 60.0, camp, boot=5))
    out["lift"] = plain(campaign_lift(wh, camp, brand, metrics=("purchases", "visit")))
    out["pi_learn"] = plain(learn_weights(wh, "beauty", "2026-09-25", horizon=7, lookback=14))
    out["pi"] = plain(campaign_pi(wh, camp, brand))
    out["uplift"] = plain({k: v for k, v in uplift_targets(wh, "sim_holdout", brand=brand, days=7, pre_days=10)
                           .items()})
    out["postmortem"] = plain(postmortem(wh, camp, brand))
    return out


