"""The budget that fills a brand's GTA gaps (aipl.pipeline.gap_budget behind GET /api/autopilot/{brand}/gaps): the
strategy plan's pool and GMV gaps, each turned into a daily budget with its interval on the crowd × channel
cells; on the session's two-season demo service (shared with the API tests)."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth, client, service  # noqa: F401  (the session's demo service)


def test_gap_budget_ties_the_gta_gaps_to_a_budget(client, service):  # noqa: F811
    head = auth(service, "analyst")
    plan = client.get("/api/strategy/B01/plan", params={"campaign": "sim_double11"}, headers=head).json()
    target = 1.3 * plan["forecast_gmv"]
    r = client.get("/api/autopilot/B01/gaps", headers=head,
                   params={"gmv_target": target, "gmv_days": 3, "campaign": "sim_double11"})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["gmv_gap"] == pytest.approx(0.3 * plan["forecast_gmv"], rel=1e-6) and g["gmv_days"] == 3
    assert g["campaign"] == "sim_double11" and "simulated" in g["source"]
    for part in (g["pools"], g["gmv"]):
        if part and part["budget"] is not None:
            lo, hi = part["budget_interval"]
            assert lo <= part["budget"] <= (hi if hi is not None else float("inf"))
    assert g["gmv"]["scene"] == "爆发收割" and g["gmv"]["target"] == pytest.approx(g["gmv_gap"])
    if g["total"] is not None:
        spent = sum(p["budget"] * p["days"] for p in (g["pools"], g["gmv"]) if p)
        assert g["total"] == pytest.approx(spent)
    assert client.get("/api/autopilot/B03/gaps", params={"gmv_target": 1}, headers=head).status_code == 403
    bad = client.get("/api/autopilot/B01/gaps", params={"gmv_target": -1}, headers=head)
    assert bad.status_code == 422
