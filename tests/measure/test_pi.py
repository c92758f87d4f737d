"""The purchase-intent index on a hand-made campaign (every number checked by hand), learned weights against
a known generating model, and the CLI."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pytest
from typer.testing import CliRunner

from aipl import schema
from aipl.cli import app
from aipl.config import init_workspace
from aipl.measure.pi import PI_BEHAVIOURS, campaign_pi, fit_weights, learn_weights
from aipl.warehouse import ibis_schema, open_warehouse
from tests.assets.test_states import at, ev, load
from tests.measure.conftest import market_workspace
from tests.test_parity import compare


def _insert(wh, table, rows):
    cols = {c: [r.get(c) for r in rows] for c in table.names}
    wh.con.insert(table.name, ibis.memtable(cols).cast(ibis_schema(table)))


@pytest.fixture
def campaign_ws(tmp_path):
    root = init_workspace(tmp_path / "ws")
    wh = open_warehouse(root)
    _insert(wh, schema.CAMPAIGNS, [{"campaign_id": "C", "name": "test", "brand_id": "B", "phase": "burst",
                                    "start_date": at(10).date(), "end_date": at(19).date()}])
    _insert(wh, schema.ASSIGNMENTS, [
        {"experiment_id": "E", "consumer_id": c, "arm": "ad" if c in "abcd" else "holdout",
         "is_control": c not in "abcd", "assigned_at": at(10, 0)} for c in "abcdef"])
    load(wh, [
        ev("a", "exposure", 10, channel="display", campaign_id="C"),
        ev("a", "ad_click", 11, channel="search", campaign_id="C"),
        ev("a", "pdp_view", 12), ev("a", "add_to_cart", 12),                 # 2 behaviours, 2 touches before
        ev("b", "exposure", 11, channel="display", campaign_id="C"),
        ev("b", "favorite", 11, ts=at(11, 18)),                              # 1 behaviour, 1 touch
        ev("c", "exposure", 12, channel="live", campaign_id="C"),            # exposed, no behaviour
        ev("d", "search_brand_word", 13),                                     # treated arm, never reached
        ev("e", "pdp_view", 15),                                              # holdout
        ev("f", "pdp_view", 25),                                              # after the campaign: ignored
        ev("a", "favorite", 12, brand_id="OTHER"),                            # another brand: ignored
    ])
    yield wh
    wh.close()


def test_hand_checked_campaign_pi(campaign_ws):
    res = campaign_pi(campaign_ws, "C")
    assert res["kind"] == "randomised" and res["experiment"] == "E" and res["brand"] == "B"
    assert res["weights_source"] == "equal (default)"
    exp, ctl = res["groups"]
    assert (exp["n"], ctl["n"]) == (4, 2)
    # exposed arm: a shows pdp_view + add_to_cart, b favorite, d brand_search → 4 behaviours of 8 × 4 consumers
    assert exp["rates"]["pdp_view"] == 0.25 and exp["rates"]["brand_search"] == 0.25
    assert exp["pi"] == pytest.approx(100 * (2 + 1 + 0 + 1) / 8 / 4)   # 12.5
    assert ctl["pi"] == pytest.approx(100 * (1 + 0) / 8 / 2)           # 6.25
    lift = res["lift"]
    assert lift["effect"] == pytest.approx(6.25)
    scores_t, scores_c = np.array([25, 12.5, 0, 12.5]), np.array([12.5, 0])
    se = np.sqrt(scores_t.var(ddof=1) / 4 + scores_c.var(ddof=1) / 2)
    assert lift["se"] == pytest.approx(se)
    # linear credit: a's two behaviours each split between display (day 10) and search (day 11) → 1 and 1;
    # b's favorite goes to display; c's exposure precedes nothing
    credit = {c["channel"]: c["behaviours"] for c in res["credit"]}
    assert credit == pytest.approx({"display": 2.0, "search": 1.0})


def test_fit_weights_recovers_the_generating_model():
    rng = np.random.default_rng(0)
    n = 200_000
    flags = (rng.random((n, len(PI_BEHAVIOURS))) < 0.2).astype(int)
    true = np.array([0.02, 0.0, 0.06, 0.08, 0.04, 0.0, 0.0, 0.0])
    bought = (rng.random(n) < 0.01 + flags @ true).astype(int)
    w = fit_weights(flags, bought)
    np.testing.assert_allclose(w, true / true.sum(), atol=0.02)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()


def test_learned_weights_are_used_and_errors_are_clear(tmp_path):
    folder = tmp_path / "m"
    wh, _ = market_workspace(folder, consumers=4000, days=30, brands=4, seed=2)
    res = learn_weights(wh, "beauty", "2026-09-30", horizon=14, lookback=14)
    assert res["pairs"] > 1000 and sum(res["weights"].values()) == pytest.approx(1.0, abs=1e-5)
    pi = campaign_pi(wh, "sim_double11", "B01")
    assert pi["weights_source"] == "learned for beauty" and pi["weights"] == pytest.approx(res["weights"])
    assert campaign_pi(wh, "sim_double11", "B03")["weights_source"] == "equal (default)"  # apparel: not learned
    with pytest.raises(ValueError, match="no brand of industry 'toys'"):
        learn_weights(wh, "toys", "2026-09-30")
    wh.close()
    r = CliRunner().invoke(app, ["pi", "learn", "--industry", "beauty", "--day", "2026-09-30", "--horizon", "30",
                                 "-w", str(folder), "--json"])
    assert r.exit_code == 0, r.output
    wh = open_warehouse(folder)
    assert json.loads(r.stdout) == learn_weights(wh, "beauty", "2026-09-30", 30, save=False)
    pi = campaign_pi(wh, "sim_double11", "B01")
    wh.close()
    r = CliRunner().invoke(app, ["pi", "campaign", "sim_double11", "--brand", "B01", "-w", str(folder), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    lib = json.loads(json.dumps(pi, default=str))  # the CLI calls the same function: the same answer, except
    credit, lib_credit = body.pop("credit"), lib.pop("credit")  # sums in the warehouse's (parallel) order
    compare(body, lib, "pi", rel=1e-9)  # every key and count equal, floats to the last digits a sum's order moves
    assert [(c["channel"], c["touches"]) for c in credit] == [(c["channel"], c["touches"]) for c in lib_credit]
    assert [c["share"] for c in credit] == pytest.approx([c["share"] for c in lib_credit], rel=1e-9)
    assert body["groups"][0]["group"] == "exposed" and body["lift"]["ci_low"] < body["lift"]["ci_high"]
    r = CliRunner().invoke(app, ["pi", "campaign", "nope", "--brand", "B01", "-w", str(folder)])
    assert r.exit_code == 2 and "unknown campaign 'nope'" in r.output
