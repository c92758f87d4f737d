"""The 结案's cuts (new/old customer, crowd, creative, strategy crowd, phase), its CVRs and PI, each checked against
an independent DuckDB SQL computation over the workspace's tables; and the observational lift's refusal and
sensitivity on confounded data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.measure import Window, exposure_lift, postmortem
from aipl.measure.lift import Estimate, doubly_robust, e_value, sensitivity, verdict
from aipl.report.gather import incremental
from aipl.report.render import POSTMORTEM_CUTS, postmortem_charts, render
from tests.measure.conftest import market_workspace

TZ = "Asia/Shanghai"
BRAND, CAMPAIGN, DAYS, NEW_DAYS = "B01", "sim_double11", 15, 365


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A market with 40 days of history before the campaign (so some buyers are returning) and a 30 % holdout."""
    wh, _ = market_workspace(tmp_path_factory.mktemp("cuts"), consumers=1500, days=21, brands=2, seed=5,
                                 lead_days=40, holdout=0.3)
    pm = postmortem(wh, CAMPAIGN, BRAND)
    yield wh, pm
    wh.close()


def sql(wh, query: str) -> pd.DataFrame:
    return wh.con.sql(query).execute()


def window(pm) -> str:
    return f"DATE '{pm['start']}' AND DATE '{pm['end']}'"


def attributed_sql(pm) -> str:
    """Every purchase of the brand in the window with a touch of the campaign in the 15 days before it, its last
    touch (ties broken as the engine documents), the buyer's status at the campaign start and the phase."""
    return f"""
    WITH buys AS (
      SELECT row_number() OVER () AS id, consumer_id, ts, item_id, coalesce(amount, 0) AS amount,
             timezone('{TZ}', ts)::DATE AS day
      FROM events WHERE brand_id = '{BRAND}' AND event_type = 'purchase'
        AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)}),
    touches AS (
      SELECT consumer_id, ts AS touch_ts, event_type AS touch_type, item_id AS touch_item,
             coalesce(channel, '(none)') AS channel, coalesce(crowd_id, '(none)') AS crowd_id,
             coalesce(creative_id, '(none)') AS creative_id
      FROM events WHERE campaign_id = '{CAMPAIGN}' AND brand_id = '{BRAND}'
        AND event_type IN ('exposure', 'ad_click')),
    joined AS (
      SELECT b.*, t.* EXCLUDE (consumer_id),
             bool_or(t.touch_type = 'ad_click' AND (t.touch_item IS NULL OR t.touch_item = b.item_id))
               OVER (PARTITION BY b.id) AS narrow,
             row_number() OVER (PARTITION BY b.id ORDER BY t.touch_ts DESC, t.channel, t.crowd_id, t.creative_id)
               AS k
      FROM buys b JOIN touches t ON t.consumer_id = b.consumer_id AND t.touch_ts <= b.ts
        AND t.touch_ts > b.ts - INTERVAL {DAYS} DAY),
    old AS (
      SELECT DISTINCT consumer_id FROM events WHERE brand_id = '{BRAND}' AND event_type = 'purchase'
        AND timezone('{TZ}', ts)::DATE < DATE '{pm['start']}'
        AND timezone('{TZ}', ts)::DATE >= DATE '{pm['start']}' - INTERVAL {NEW_DAYS} DAY)
    SELECT j.*, CASE WHEN o.consumer_id IS NULL THEN 'new' ELSE 'returning' END AS customer,
           coalesce((SELECT any_value(phase) FROM campaigns c WHERE c.campaign_id = '{CAMPAIGN}'
                     AND j.day BETWEEN c.start_date AND c.end_date), 'outside') AS phase
    FROM joined j LEFT JOIN old o USING (consumer_id) WHERE k = 1"""


def strategy_crowds_sql(wh, year: int) -> pd.DataFrame:
    """DOMAIN.md §9.4's rule chain over the profile, in SQL, in the campaign's year."""
    return sql(wh, f"""
      SELECT consumer_id, CASE
        WHEN gender = 'F' AND life_stage IN ('pregnant', 'parent') AND city_tier <= 3 THEN 'supermom'
        WHEN birth_year >= 1995 AND {year} - birth_year <= 24 AND city_tier <= 3 THEN 'gen_z'
        WHEN {year} - birth_year BETWEEN 25 AND 35 AND city_tier <= 3 AND occupation = 'white_collar'
          THEN 'rookie_white_collar'
        WHEN {year} - birth_year BETWEEN 36 AND 49 AND city_tier <= 3 AND purchasing_power >= 4
          THEN 'wealthy_middle_class'
        WHEN {year} - birth_year BETWEEN 25 AND 49 AND city_tier <= 3 AND occupation IN ('blue_collar', 'service')
          THEN 'urban_blue_collar'
        WHEN {year} - birth_year >= 50 AND city_tier <= 3 THEN 'urban_gray_hair'
        WHEN {year} - birth_year BETWEEN 18 AND 34 AND city_tier >= 4 THEN 'small_town_youth'
        WHEN {year} - birth_year >= 35 AND city_tier >= 4 THEN 'small_town_mature'
        ELSE 'other' END AS strategy_crowd
      FROM consumers""")


def by_key(rows: list[dict], by: str, *fields: str) -> dict:
    return {r[by]: tuple(round(float(r[f]), 2) for f in fields) for r in rows if r["orders"] or r["gmv"]}


def expected(df: pd.DataFrame, by: str) -> dict:
    g = df.groupby(by).agg(orders=("amount", "size"), gmv=("amount", "sum"))
    return {k: (float(r.orders), round(float(r.gmv), 2)) for k, r in g.iterrows()}


def test_new_old_crowd_creative_and_phase_cuts_match_sql(market):
    wh, pm = market
    buys = sql(wh, attributed_sql(pm))
    assert len(buys) > 20 and set(buys.customer) == {"new", "returning"}  # the history makes both kinds
    assert buys.crowd_id.nunique() >= 3 and buys.creative_id.nunique() >= 5  # the demo's cuts are populated
    for by in ("customer", "crowd_id", "creative_id", "channel", "phase"):
        assert by_key(pm["cuts"]["wide"][by], by, "orders", "gmv") == expected(buys, by), by
        assert by_key(pm["cuts"]["narrow"][by], by, "orders", "gmv") == expected(buys[buys.narrow], by), by
    customers = {c["customer"]: (c["buyers"], c["orders"], round(c["gmv"], 2)) for c in pm["customers"]}
    for name, g in buys.groupby("customer"):
        assert customers[name] == (g.consumer_id.nunique(), len(g), round(g.amount.sum(), 2))
    wide = pm["totals"]["wide"]
    assert wide["new_gmv_share"] == pytest.approx(buys[buys.customer == "new"].amount.sum() / buys.amount.sum())
    strategy = pm["cuts"]["wide"]["strategy_crowd"]  # a partition of the same orders
    assert sum(r["orders"] for r in strategy) == wide["orders"] == len(buys)
    crowds = strategy_crowds_sql(wh, int(str(pm["start"])[:4]))
    buys = buys.merge(crowds, on="consumer_id", how="left").fillna({"strategy_crowd": "(unknown)"})
    assert buys.strategy_crowd.nunique() >= 3
    assert by_key(strategy, "strategy_crowd", "orders", "gmv") == expected(buys, "strategy_crowd")
    narrow = pm["cuts"]["narrow"]["strategy_crowd"]
    assert by_key(narrow, "strategy_crowd", "orders", "gmv") == expected(buys[buys.narrow], "strategy_crowd")
    assert "(none)" not in {r["crowd_id"] for r in pm["cuts"]["wide"]["crowd_id"] if r["gmv"]}


def test_spend_impressions_and_clicks_by_crowd_match_sql(market):
    """Delivery names no crowd on the simulator: it is shared by the touches of its day and channel."""
    wh, pm = market
    share = sql(wh, f"""
      WITH t AS (
        SELECT timezone('{TZ}', ts)::DATE AS day, channel, crowd_id, event_type
        FROM events WHERE campaign_id = '{CAMPAIGN}' AND brand_id = '{BRAND}'
          AND event_type IN ('exposure', 'ad_click') AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)}),
      n AS (SELECT day, channel, crowd_id, count(*) AS k, count(*) FILTER (event_type = 'ad_click') AS c
            FROM t GROUP BY ALL),
      d AS (SELECT day, channel, sum(cost) AS cost, sum(impressions) AS imp, sum(clicks) AS clicks
            FROM ad_delivery WHERE campaign_id = '{CAMPAIGN}' AND brand_id = '{BRAND}' AND day BETWEEN {window(pm)}
            GROUP BY ALL),
      s AS (SELECT *, k / sum(k) OVER (PARTITION BY day, channel) AS share FROM n)
      SELECT s.crowd_id, sum(d.cost * s.share) AS spend, sum(d.imp * s.share) AS impressions, sum(s.c) AS clicks
      FROM s JOIN d USING (day, channel) GROUP BY s.crowd_id""")
    got = {r["crowd_id"]: r for r in pm["cuts"]["wide"]["crowd_id"]}
    for r in share.itertuples():
        assert got[r.crowd_id]["spend"] == pytest.approx(r.spend)
        assert got[r.crowd_id]["impressions"] == round(r.impressions) and got[r.crowd_id]["clicks"] == r.clicks
    assert sum(r["spend"] for r in got.values()) == pytest.approx(pm["totals"]["wide"]["spend"])


def test_cvr_numerators_and_denominators_match_sql(market):
    wh, pm = market
    buys = sql(wh, attributed_sql(pm))
    reached = sql(wh, f"""SELECT count(DISTINCT consumer_id) AS n FROM events WHERE campaign_id = '{CAMPAIGN}'
        AND brand_id = '{BRAND}' AND event_type IN ('exposure', 'ad_click')
        AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)}""").n.iloc[0]
    clicks = sql(wh, f"""SELECT sum(clicks) AS n FROM ad_delivery WHERE campaign_id = '{CAMPAIGN}'
        AND brand_id = '{BRAND}' AND day BETWEEN {window(pm)}""").n.iloc[0]
    wide, narrow = pm["totals"]["wide"], pm["totals"]["narrow"]
    assert (wide["cvr_numerator"], wide["cvr_denominator"]) == (buys.consumer_id.nunique(), reached)
    assert (narrow["cvr_numerator"], narrow["cvr_denominator"]) == (int(buys.narrow.sum()), clicks)
    assert wide["cvr"] == pytest.approx(buys.consumer_id.nunique() / reached)
    assert wide["cvr"] < 0.5 and wide["orders"] / wide["clicks"] > 1  # not orders-from-any-touch over clicks
    assert "clicks" in pm["definitions"]["cvr_narrow"] and "reached" in pm["definitions"]["cvr_wide"]


def pi_sql(pm, days: str) -> str:
    """Each assigned consumer's PI score over the days (12.5 per behaviour shown, equal weights), exposure arm and
    status at the campaign start."""
    behaviours = [("pdp_view",), ("live_view", "video_view"), ("favorite",), ("add_to_cart",),
                  ("search_brand_word",), ("follow", "store_home_view"), ("interaction", "share"),
                  ("coupon_claim", "trial_claim")]
    flags = " + ".join(f"max(CASE WHEN event_type IN ({', '.join(repr(t) for t in b)}) THEN 1 ELSE 0 END)"
                       for b in behaviours)
    return f"""
    WITH s AS (SELECT consumer_id, 100.0 * ({flags}) / 8 AS pi FROM events
               WHERE brand_id = '{BRAND}' AND (timezone('{TZ}', ts)::DATE BETWEEN {days}) GROUP BY consumer_id),
    old AS (SELECT DISTINCT consumer_id FROM events WHERE brand_id = '{BRAND}' AND event_type = 'purchase'
            AND timezone('{TZ}', ts)::DATE < DATE '{pm['start']}'
            AND timezone('{TZ}', ts)::DATE >= DATE '{pm['start']}' - INTERVAL {NEW_DAYS} DAY)
    SELECT a.consumer_id, NOT a.is_control AS treated, coalesce(s.pi, 0) AS pi,
           CASE WHEN old.consumer_id IS NULL THEN 'new' ELSE 'returning' END AS customer
    FROM assignments a LEFT JOIN s USING (consumer_id) LEFT JOIN old USING (consumer_id)"""


def test_pi_and_its_cuts_match_sql(market):
    wh, pm = market
    pi = pm["pi"]
    scores = sql(wh, pi_sql(pm, window(pm)))
    means = scores.groupby("treated").pi.mean()
    assert (pi["groups"][0]["pi"], pi["groups"][1]["pi"]) == (pytest.approx(means[True]), pytest.approx(means[False]))
    cut = {r["customer"]: r for r in pi["cuts"]["customer"]}
    for (name, treated), g in scores.groupby(["customer", "treated"]):
        side = "treated_mean" if treated else "control_mean"
        assert cut[name]["pi"][side] == pytest.approx(g.pi.mean())
        assert cut[name]["n_treated" if treated else "n_control"] == len(g)
    crowds = scores.merge(strategy_crowds_sql(wh, int(str(pm["start"])[:4])), on="consumer_id", how="left")
    by_crowd = {r["strategy_crowd"]: r for r in pi["cuts"]["strategy_crowd"]}
    assert crowds.strategy_crowd.nunique() >= 3
    for (name, treated), g in crowds.fillna({"strategy_crowd": "(unknown)"}).groupby(["strategy_crowd", "treated"]):
        assert by_crowd[name]["pi"]["treated_mean" if treated else "control_mean"] == pytest.approx(g.pi.mean())
        assert by_crowd[name]["n_treated" if treated else "n_control"] == len(g)
    new = scores[scores.customer == "new"]
    assert cut["new"]["pi"]["effect"] == pytest.approx(new[new.treated].pi.mean() - new[~new.treated].pi.mean())
    reached = sql(wh, f"""SELECT DISTINCT consumer_id, coalesce(channel, '(none)') AS channel,
          coalesce(creative_id, '(none)') AS creative_id, coalesce(crowd_id, '(none)') AS crowd_id FROM events
        WHERE campaign_id = '{CAMPAIGN}' AND brand_id = '{BRAND}' AND event_type IN ('exposure', 'ad_click')
          AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)}""").merge(scores, on="consumer_id")
    for by in ("channel", "creative_id", "crowd_id"):
        want = reached[["consumer_id", by, "pi"]].drop_duplicates().groupby(by).pi.agg(["size", "mean"])
        got = {r[by]: (r["n"], r["pi"]) for r in pi["cuts"][by]}
        assert got == {k: (int(r["size"]), pytest.approx(r["mean"])) for k, r in want.iterrows()}
    burst = [p for p in pm["phases"] if p["phase"] == "burst"]
    days = " OR timezone('Asia/Shanghai', ts)::DATE BETWEEN ".join(
        f"DATE '{p['start_date']}' AND DATE '{p['end_date']}'" for p in burst)
    phase = sql(wh, pi_sql(pm, days)).groupby("treated").pi.mean()
    row = next(r for r in pi["cuts"]["phase"] if r["phase"] == "burst")
    assert row["pi"]["treated_mean"] == pytest.approx(phase[True]) and row["pi"]["control_mean"] == pytest.approx(
        phase[False])


def test_lift_by_customer_matches_sql(market):
    wh, pm = market
    conv = sql(wh, f"""
      WITH b AS (SELECT DISTINCT consumer_id FROM events WHERE brand_id = '{BRAND}' AND event_type = 'purchase'
                 AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)}),
      old AS (SELECT DISTINCT consumer_id FROM events WHERE brand_id = '{BRAND}' AND event_type = 'purchase'
              AND timezone('{TZ}', ts)::DATE < DATE '{pm['start']}'
              AND timezone('{TZ}', ts)::DATE >= DATE '{pm['start']}' - INTERVAL {NEW_DAYS} DAY)
      SELECT CASE WHEN old.consumer_id IS NULL THEN 'new' ELSE 'returning' END AS customer, a.is_control,
             avg(CASE WHEN b.consumer_id IS NULL THEN 0 ELSE 1 END) AS rate, count(*) AS n
      FROM assignments a LEFT JOIN b USING (consumer_id) LEFT JOIN old USING (consumer_id) GROUP BY ALL""")
    assert pm["lift"]["kind"] == "randomised"
    cut = {r["customer"]: r for r in pm["lift_cuts"]["customer"]}
    for name, g in conv.groupby("customer"):
        rate = dict(zip(g.is_control, g.rate, strict=True))
        assert cut[name]["conversion"]["effect"] == pytest.approx(rate[False] - rate[True])
        assert cut[name]["n_treated"] + cut[name]["n_control"] == g.n.sum()
    assert "not identified" in pm["lift_cuts"]["note"]


def test_observational_lift_refuses_without_balance_and_reports_sensitivity():
    """A confounded market: a hidden trait drives both exposure and buying, and the campaign does nothing."""
    rng = np.random.default_rng(1)
    n = 6000
    hidden = rng.normal(size=n)
    seen = hidden + rng.normal(scale=2.0, size=n)  # the pre-period sees the trait only dimly
    treated = rng.random(n) < 1 / (1 + np.exp(-2 * hidden))
    bought = (rng.random(n) < 1 / (1 + np.exp(2.5 - 1.5 * hidden))).astype(float)  # no effect at all
    est = doubly_robust(bought, treated, seen[:, None], metric="conversion")
    assert est.effect > 0 and not est.covers(0.0)  # the adjustment cannot remove the hidden confounding
    s = sensitivity(est)
    rr = est.treated_mean / (est.treated_mean - est.effect)
    assert s["risk_ratio"] == pytest.approx(rr) and s["e_value"] == pytest.approx(rr + np.sqrt(rr * (rr - 1)))
    assert 1 < s["e_value_ci"] < s["e_value"] and "risk ratio" in s["reads"]
    table = pd.DataFrame({"covariate": ["pre_spend", "pre_visit"], "smd_after": [0.25, -0.02]})
    v = verdict(table, [est], threshold=0.1)
    assert not v["presented"] and v["unbalanced"] == ["pre_spend"] and "pre_spend (0.25)" in v["reason"]
    assert v["range"] == [est.ci_low, est.ci_high]
    assert verdict(table.assign(smd_after=0.0), [est])["presented"]
    assert e_value(0.1, 0.1) == 1.0 and e_value(0.0, 0.1) is None
    assert isinstance(est, Estimate)


def test_a_withheld_observational_lift_shows_as_a_range_in_the_html(market):
    wh, pm = market
    window = Window(pd.Timestamp(pm["start"]).date(), pd.Timestamp(pm["end"]).date(), pre_days=30)
    lift = exposure_lift(wh, CAMPAIGN, BRAND, window, metrics=("conversion", "purchases", "spend"))
    assert lift.kind == "observational" and len(lift.assumptions) == 4 and lift.balance
    for e in lift.arms[0]["lift"].values():  # an E-value, or why there is none
        assert (e["sensitivity"]["e_value"] or 1) >= 1 and e["sensitivity"]["reads"]
    lift["verdict"] = {**lift.verdict, "presented": False, "reason": "balance fails after weighting: test"}
    shown = {**pm, "lift": lift}
    assert incremental(shown) is None  # no incremental GMV or iROI from a withheld estimate
    narrow = {by: {r[by]: r for r in rows} for by, rows in pm["cuts"]["narrow"].items()}
    page = render("postmortem.html.j2", charts=postmortem_charts(shown), cuts=POSTMORTEM_CUTS, pm=shown,
                  narrow=narrow, labels={}, incremental=None)
    assert "不给出点估计 no point estimate" in page and "balance fails after weighting: test" in page
    lo, hi = lift.verdict["ranges"]["spend"]
    assert f"spend [{lo:+.4f}, {hi:+.4f}]" in page and "E-value" in page
    effect = lift.arms[0]["lift"]["spend"]["effect"]
    assert f'<td class="num">{effect:+.4f}</td>' not in page


def test_lift_by_phase_and_outcomes_by_channel_match_sql(market):
    """Issue 20: the lift is cut by phase too (the outcomes over the phase's days, treated against control), and
    the treated's outcomes by the channel, crowd and creative that reached them."""
    wh, pm = market
    cut = {r["phase"]: r for r in pm["lift_cuts"]["phase"]}
    assert set(cut) == {p["phase"] for p in pm["phases"]}
    for phase in cut:
        days = " OR ".join(f"timezone('{TZ}', ts)::DATE BETWEEN DATE '{p['start_date']}' AND DATE '{p['end_date']}'"
                           for p in pm["phases"] if p["phase"] == phase)
        got = sql(wh, f"""
          WITH b AS (SELECT consumer_id, sum(coalesce(amount, 0)) AS spend FROM events WHERE brand_id = '{BRAND}'
                     AND event_type = 'purchase' AND ({days}) GROUP BY consumer_id)
          SELECT a.is_control, avg(CASE WHEN b.consumer_id IS NULL THEN 0 ELSE 1 END) AS conversion,
                 avg(coalesce(b.spend, 0)) AS spend, count(*) AS n
          FROM assignments a LEFT JOIN b USING (consumer_id) GROUP BY ALL""").set_index("is_control")
        row = cut[phase]
        assert (row["n_treated"], row["n_control"]) == (got.n[False], got.n[True])
        for m in ("conversion", "spend"):
            assert row[m]["effect"] == pytest.approx(got[m][False] - got[m][True], abs=1e-12), (phase, m)
    reached = sql(wh, f"""
      WITH b AS (SELECT consumer_id, count(*) AS purchases FROM events WHERE brand_id = '{BRAND}'
                 AND event_type = 'purchase' AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)} GROUP BY consumer_id),
      r AS (SELECT DISTINCT consumer_id, channel FROM events WHERE campaign_id = '{CAMPAIGN}' AND brand_id = '{BRAND}'
            AND event_type IN ('exposure', 'ad_click') AND timezone('{TZ}', ts)::DATE BETWEEN {window(pm)})
      SELECT r.channel, count(*) AS n, avg(coalesce(b.purchases, 0)) AS purchases
      FROM r JOIN assignments a USING (consumer_id) LEFT JOIN b USING (consumer_id)
      WHERE NOT a.is_control GROUP BY ALL""")
    got = {r["channel"]: (r["n"], r["purchases"]) for r in pm["lift_cuts"]["channel"]}
    assert got == {r.channel: (r.n, pytest.approx(r.purchases)) for r in reached.itertuples()}
    assert set(pm["lift_cuts"]) >= {"customer", "strategy_crowd", "phase", "channel", "crowd_id", "creative_id"}


def test_the_cli_cuts_the_lift_as_the_library_does(market):
    wh, pm = market
    args = ["lift", "--campaign", CAMPAIGN, "--brand", BRAND, "--metric", "conversion", "--metric", "purchases",
            "--metric", "spend", "--cuts", "-w", str(wh.config.root)]
    r = CliRunner().invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    cuts = json.loads(r.stdout)["cuts"]
    assert cuts["phase"] == json.loads(json.dumps(pm["lift_cuts"]["phase"]))  # the 结案's cut, the same figures
    assert cuts["customer"] == json.loads(json.dumps(pm["lift_cuts"]["customer"]))
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0 and "lift by phase" in text.stdout and "reached them" in text.stdout, text.output
    r = CliRunner().invoke(app, ["lift", "--cuts", "-w", str(wh.config.root)])
    assert r.exit_code == 2 and "--cuts needs --campaign" in r.output
