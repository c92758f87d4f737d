"""The dashboard's Plan view: the forecast with its 90 % interval, the naive forecast beside it, the method and why,
the warnings, the benchmark's peer count, and goal progress of a finished campaign (actual against target and
forecast), matching the API, in both languages and at phone and laptop widths (English on a laptop and zh-CN on a
phone in tests/web/test_web_views.py, in its page of every view)."""

from __future__ import annotations

import pytest

CAMPAIGN = "sim_double11"


@pytest.fixture(scope="module")
def warm(api):
    """The service's first plan waits for its start-up asset build: ask once before timing a page."""
    assert api.get(f"/api/strategy/B01/plan?campaign={CAMPAIGN}", timeout=600).status_code == 200


def _fmt(v: float) -> str:  # app.js fmt: a whole number with thousands separators
    return f"{round(v):,}"


def _bench_shown(bench: dict, lang: str, text: str) -> bool:
    """The benchmark is named honestly in the page's language: its peer count, and "industry" only when it is one."""
    if bench["source"] != "peers":
        return bench["source"] in text
    industry = ("industry" in text) if lang == "en" else ("行业标杆" in text)
    return industry == bench["industry"] and (str(bench["peers"]) in text if bench["peers"] else True)


def check_plan(page, api, lang: str) -> None:
    """The plan view (open on `page`) shows the API's plan for its target: forecast, naive, interval, method,
    benchmark, warnings and the finished campaign's goal."""
    page.wait_for_selector("[data-testid=naive]", timeout=60_000)
    target = page.input_value("#target")
    p = api.get(f"/api/strategy/B01/plan?campaign={CAMPAIGN}&gmv_target={target}").json()
    assert page.inner_text("[data-testid=forecast]") == _fmt(p["forecast_gmv"])
    assert page.inner_text("[data-testid=naive]") == _fmt(p["naive_gmv"])
    iv = page.inner_text("[data-testid=interval]")
    assert _fmt(p["gmv_interval"]["low"]) in iv and _fmt(p["gmv_interval"]["high"]) in iv
    assert ("90% 区间" if lang == "zh-CN" else "90% interval") in iv
    method = page.inner_text("[data-testid=method]")
    assert p["method"] in method
    assert _bench_shown(p["progress"]["benchmark"], lang, page.inner_text("[data-testid=bench]"))
    codes = page.inner_text("[data-testid=warnings]")
    assert all(w["code"] in codes for w in p["warnings"]) and p["warnings"]  # two seasons: at least no_backtest
    assert p["goal"]["status"] == "finished"  # the demo's data runs past the campaign
    assert page.inner_text("[data-testid=actual]") == _fmt(p["goal"]["gmv"])
    assert ("已结束" if lang == "zh-CN" else "Finished") in page.inner_text("#plan-out")


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", "laptop"), ("en", "phone")])
def test_plan_shows_interval_naive_method_warnings_and_goal(warm, open_page, api, shots, lang, width):
    page = open_page("plan", lang=lang, width=width)
    check_plan(page, api, lang)
    page.screenshot(path=str(shots / f"plan-forecast-{lang}-{width}.png"), full_page=True)
    assert page.errors == []
    page.close()
