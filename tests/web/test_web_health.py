"""The brand-health view in a browser: FAST, the ranking and GROW show the API's numbers for the chosen period;
GROW is red-up/green-down in zh-CN and green-up in English. A category's health: tests/web/test_web_assets.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.web.pagecheck import fits, num, option, rerender, rgb, shows

RED, GREEN, GREY = "#dc2626", "#16a34a", "#6b7280"


def _year_back(day: str) -> str:
    return f"{int(day[:4]) - 1}{day[4:]}"


def _check(page, api, start: str, end: str, up: str, down: str) -> None:
    """FAST, the score and GROW over start…end as the API gives them; GROW's changes in the up/down colours."""
    fast = api.get(f"/api/health/fast?start={start}&end={end}").json()
    mine = next(b for b in fast["brands"] if b["brand_id"] == "B01")
    shown = lambda tid: page.inner_text(f"[data-testid={tid}]")  # noqa: E731
    assert num(shown("fast-F")) == mine["F"] and num(shown("fast-S")) == mine["S"]
    assert num(shown("fast-A")) == pytest.approx(100 * mine["A"], abs=0.051)
    grow = api.get(f"/api/health/grow/B01?start0={_year_back(start)}&end0={_year_back(end)}&start1={start}"
                   f"&end1={end}").json()
    for k in ("gmv0", "gmv1", "delta", "G", "R", "O", "W"):
        assert shows(shown(f"grow-{k}"), grow[k], 0.51), k
    rank = [r for r in api.get(f"/api/health/ranking?limit=500&start={start}&end={end}").json()["items"]
            if r["brand_id"] == "B01"]
    assert shows(shown("score-B01"), rank[0]["score"], 0.051)
    colour = lambda v: up if v > 0 else down if v < 0 else GREY  # noqa: E731
    for k in ("delta", "G", "R", "O"):
        shown_colour = page.eval_on_selector(f"[data-testid=grow-{k}]", "e => getComputedStyle(e).color")
        assert shown_colour == rgb(colour(grow[k])), k
    bars = option(page, "#grow")["series"][0]["data"]
    assert [b["itemStyle"]["color"] for b in bars] == [colour(grow[k]) for k in ("G", "R", "O", "W")]


def test_health_in_zh_on_a_laptop_is_red_up(open_page, api, shots):
    page = open_page("health", lang="zh-CN", width="laptop")
    end = api.get("/api/brands").json()["last_day"]
    _check(page, api, str(date.fromisoformat(end) - timedelta(days=29)), end, up=RED, down=GREEN)
    assert "红色为增长" in page.inner_text("#grow-out")
    page.screenshot(path=str(shots / "health-brand-zh-CN-laptop.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()


def test_health_in_en_on_a_phone_is_green_up_and_follows_the_period(open_page, api, shots):
    page = open_page("health", lang="en", width="phone")
    end = api.get("/api/brands").json()["last_day"]
    _check(page, api, str(date.fromisoformat(end) - timedelta(days=29)), end, up=GREEN, down=RED)
    assert fits(page)
    rerender(page, lambda: page.select_option("#preset", "7"), "health")
    _check(page, api, str(date.fromisoformat(end) - timedelta(days=6)), end, up=GREEN, down=RED)
    assert page.input_value("#start") == str(date.fromisoformat(end) - timedelta(days=6))
    page.screenshot(path=str(shots / "health-period-en-phone.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()
