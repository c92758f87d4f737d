"""The synthetic market: reproducible, shaped like Taobao, holdout never exposed, truth consistent with its data."""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from aipl.simulate import MarketSpec, MarketTruth, calendar, find_truth, simulate_market
from aipl.simulate.market import FUNNEL
from aipl.vocab import adstock, hill


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    out = tmp_path_factory.mktemp("market")
    truth = simulate_market(MarketSpec(consumers=20_000, seed=11), out)
    return out, truth


def test_same_seed_same_market(market, tmp_path):
    out, truth = market
    again = simulate_market(MarketSpec(consumers=20_000, seed=11), tmp_path)
    assert json.dumps(again, sort_keys=True) == json.dumps(truth, sort_keys=True)
    for name in ("events.parquet", "consumers.parquet", "ad_delivery.parquet", "members.parquet"):
        assert pq.read_table(out / name).equals(pq.read_table(tmp_path / name)), name
    other = simulate_market(MarketSpec(consumers=2_000, seed=12, days=10), tmp_path / "other")
    assert other["brands"]["B01"]["curves"] != truth["brands"]["B01"]["curves"]


def test_the_truth_is_typed_and_read_back_as_written(market, tmp_path):
    out, truth = market
    assert repr(truth).startswith("MarketTruth(20,000 consumers over 60 days, seed 11: ")
    assert truth.channels[0] == "search"
    (tmp_path / "market").mkdir()
    (tmp_path / "market" / "truth.json").write_text((out / "truth.json").read_text(encoding="utf-8"), encoding="utf-8")
    back = find_truth(tmp_path)
    assert isinstance(back, MarketTruth) and back == json.loads(json.dumps(truth.to_dict()))


def test_funnel_mix_is_taobao_like(market):
    out, _ = market
    n = dict(duckdb.sql(f"SELECT event_type, count(*) FROM '{out / 'events.parquet'}' GROUP BY 1").fetchall())
    assert n["favorite"] / n["pdp_view"] == pytest.approx(FUNNEL["favorite"], rel=0.1)
    assert n["add_to_cart"] / n["pdp_view"] == pytest.approx(FUNNEL["add_to_cart"], rel=0.1)
    assert 0.015 < n["purchase"] / n["pdp_view"] < 0.06  # 2.2 % a view, lifted in the burst
    assert n["pdp_view"] > n["add_to_cart"] > n["favorite"]


def test_holdout_is_never_exposed_and_ad_delivery_matches_events(market):
    out, truth = market
    exposed_holdout = duckdb.sql(
        f"SELECT count(*) FROM '{out / 'events.parquet'}' e JOIN '{out / 'assignments.parquet'}' a USING (consumer_id) "
        "WHERE a.is_control AND e.event_type IN ('exposure', 'ad_click')"
    ).fetchone()[0]
    assert exposed_holdout == 0
    assert duckdb.sql(f"SELECT count(*) FILTER (is_control) FROM '{out / 'assignments.parquet'}'").fetchone()[0] == (
        truth["holdout_consumers"])
    mismatch = duckdb.sql(f"""
        WITH ev AS (SELECT brand_id, channel, (ts AT TIME ZONE 'Asia/Shanghai')::DATE AS day,
                           count(*) AS imp, count(*) FILTER (event_type = 'ad_click') AS clk
                    FROM '{out / 'events.parquet'}' WHERE event_type IN ('exposure', 'ad_click') GROUP BY ALL)
        SELECT count(*) FROM '{out / 'ad_delivery.parquet'}' d LEFT JOIN ev USING (brand_id, channel, day)
        WHERE d.impressions <> coalesce(ev.imp, 0) OR d.clicks <> coalesce(ev.clk, 0)
    """).fetchone()[0]
    assert mismatch == 0


def test_randomised_holdout_recovers_the_true_lift(market):
    """Purchases per eligible consumer minus per holdout consumer ≈ the true ITT (within 3 standard errors)."""
    out, truth = market
    per = duckdb.sql(f"""
        SELECT a.is_control, count(e.consumer_id) AS buys
        FROM '{out / 'assignments.parquet'}' a
        LEFT JOIN (SELECT consumer_id FROM '{out / 'events.parquet'}' WHERE event_type = 'purchase') e
          USING (consumer_id)
        GROUP BY a.consumer_id, a.is_control
    """).df()
    t, c = per[~per.is_control].buys, per[per.is_control].buys
    diff = t.mean() - c.mean()
    se = math.sqrt(t.var() / len(t) + c.var() / len(c))
    true_itt = sum(b["true_itt_purchases_per_consumer"] for b in truth["brands"].values())
    assert true_itt > 0
    assert abs(diff - true_itt) < 3 * se, (diff, true_itt, se)


def test_response_curve_math():
    assert hill(np.array([2.0]), 2.0, 1.7)[0] == pytest.approx(0.5)
    assert hill(np.array([0.0]), 2.0, 1.7)[0] == 0
    a = adstock(np.array([[10.0, 0.0, 0.0, 5.0]]), 0.5)
    assert a.tolist() == [[10.0, 5.0, 2.5, 6.25]]


def test_calendar_covers_every_day_once():
    from datetime import date, timedelta

    cal = calendar(date(2026, 9, 15), 60)
    days = [a + timedelta(days=i) for _, a, b in cal for i in range((b - a).days + 1)]
    assert len(days) == len(set(days)) == 60
    assert [p for p, _, _ in cal] == ["daily", "accumulate", "presale", "burst", "warmup", "burst", "encore"]
