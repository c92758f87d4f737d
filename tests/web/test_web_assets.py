"""The consumer-assets view in a browser: the counts, the trend, last year's line, the funnel, the flows and the
DEEPLINK flows show the API's numbers, each state in its one colour; for a brand and for a category (whose health
view is checked here too), in zh-CN on a laptop and a phone and in English on a phone."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest

from tests.web.pagecheck import fits, house, num, option, rerender, shows  # noqa: F401  (house: a fixture)

AIPL = ["A", "I", "P", "L"]
DEEPLINK = ["discover", "engage", "enthuse", "perform", "initial", "numerous", "keen"]


@pytest.fixture(scope="module")
def last(api) -> str:
    return api.get("/api/brands").json()["last_day"]


def _back(day: str, days: int) -> str:
    return str(date.fromisoformat(day) - timedelta(days=days))


def _check_trend(page, series: dict, states: list[str], colours: dict) -> dict:
    """The trend's lines are the API's series, last year's under the same name, each in its state's colour."""
    opt = option(page, "#trend")
    days = [r["day"] for r in series["items"]]
    assert opt["xAxis"][0]["data"] == days
    lines = {s["id"]: s for s in opt["series"]}
    before = {_back(r["day"], -365): r for r in series["last_year"]}
    for k in states:
        assert lines[k]["data"] == [r[k] for r in series["items"]], k
        assert lines[k]["color"] == colours[k]
        if series["last_year"]:
            assert lines[f"{k}-last-year"]["data"] == [before.get(d, {}).get(k) for d in days]
            dashed = lines[f"{k}-last-year"]
            assert dashed["name"] == lines[k]["name"] and dashed["color"] == colours[k]
    return lines


def _check_counts(page, snap: dict) -> None:
    for s in AIPL:
        assert num(page.inner_text(f"[data-testid=count-{s}]")) == snap["counts"][s]
    assert num(page.inner_text("[data-testid=count-total]")) == sum(snap["counts"].values())


def test_brand_assets_in_zh_on_a_laptop(open_page, api, last, shots):
    page = open_page("assets", lang="zh-CN", width="laptop")
    colours = page.evaluate("STATE_COLORS")
    snap = api.get(f"/api/assets/snapshot?key=B01&day={last}").json()
    assert snap["counts"] == api.get("/api/assets/B01/snapshot").json()["counts"]  # the brand route agrees
    _check_counts(page, snap)
    start = _back(last, 29)
    series = api.get(f"/api/assets/series?key=B01&start={start}&end={last}").json()
    assert len(series["items"]) == 30 and series["last_year"]
    _check_trend(page, series, AIPL, colours)
    assert {s["name"] for s in option(page, "#trend")["series"]} == {"认知", "兴趣", "购买", "忠诚"}  # zh only

    funnel = option(page, "#funnel-box .chart")  # bars by stage, as wide as the counts, centred: no diamond
    assert {s["type"] for s in funnel["series"]} == {"bar"}
    assert funnel["yAxis"][0]["data"] == ["认知", "兴趣", "购买", "忠诚"]
    bars = next(s for s in funnel["series"] if s.get("id") == "funnel")["data"]
    assert [b["value"] for b in bars] == [snap["counts"][k] for k in AIPL]
    assert [b["itemStyle"]["color"] for b in bars] == [colours[k] for k in AIPL]
    pads = next(s for s in funnel["series"] if s.get("id") != "funnel")["data"]
    top = max(snap["counts"].values())
    assert pads == pytest.approx([(top - snap["counts"][k]) / 2 for k in AIPL])
    dl = option(page, "#deeplink-box .chart")["series"][0]["data"]
    assert [b["value"] for b in dl] == [snap["deeplink"][k] for k in DEEPLINK]
    assert [b["itemStyle"]["color"] for b in dl] == [colours[k] for k in DEEPLINK]

    flow = api.get(f"/api/assets/flow?key=B01&start={start}&end={last}").json()
    assert page.locator("#flow-box svg path").count() > 5  # the Sankey drew its links
    sankey = option(page, "#flow-box .chart")["series"][0]
    for node in sankey["data"]:  # every node in its state's colour, whichever brand
        assert node["itemStyle"]["color"] == colours[node["name"].split("@")[0]]
    links = {(x["source"], x["target"]): x["value"] for x in sankey["links"]}
    assert links[(f"A@{start}", f"I@{last}")] == flow["matrix"]["A"]["I"]
    for kind, n in flow["kinds"].items():
        assert num(page.inner_text(f"[data-testid=kind-{kind}]")) == n

    moves = api.get(f"/api/assets/deeplink-flow?key=B01&start={start}&end={last}").json()["flows"]
    shown = page.locator("[data-testid^=dl-]")
    assert shown.count() >= 5
    for r in sorted(moves, key=lambda r: -r["n"])[:5]:
        assert num(page.inner_text(f"[data-testid=dl-{r['from']}-{r['to']}]")) == r["n"]
    page.screenshot(path=str(shots / "assets-brand-zh-CN-laptop.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()


def test_brand_assets_in_en_on_a_phone_with_the_deeplink_trend_and_the_band(open_page, api, last, shots):
    page = open_page("assets", lang="en", width="phone")
    colours = page.evaluate("STATE_COLORS")
    _check_counts(page, api.get(f"/api/assets/snapshot?key=B01&day={last}").json())
    assert fits(page)
    page.click("#trend-kind button[data-kind=deeplink]")
    page.wait_for_function("document.querySelector('#trend').dataset.kind === 'deeplink'")
    series = api.get(f"/api/assets/series?key=B01&start={_back(last, 29)}&end={last}").json()
    _check_trend(page, series, DEEPLINK, colours)
    assert option(page, "#trend")["series"][0]["name"] == "Discover"

    # the peers' band: the demo has too few peers to show one, so the answer is given one here
    band = {"P25": {k: 100 + i for i, k in enumerate(AIPL)}, "P50": {k: 150 for k in AIPL},
            "P75": {k: 200 + i for i, k in enumerate(AIPL)}, "peers": 5, "withheld": None}

    def with_band(route):
        body = route.fetch().json()
        route.fulfill(status=200, content_type="application/json", body=json.dumps({**body, "benchmark": band}))

    page.route("**/api/assets/series?*", with_band)
    rerender(page, lambda: page.select_option("#preset", "7"), "assets")
    series = api.get(f"/api/assets/series?key=B01&start={_back(last, 6)}&end={last}").json()
    lines = _check_trend(page, series, AIPL, colours)
    for k in AIPL:
        area = lines[k]["markArea"]
        assert [p["yAxis"] for p in area["data"][0]] == [band["P25"][k], band["P75"][k]]
        assert area["itemStyle"]["color"] == colours[k]
    assert fits(page)
    page.screenshot(path=str(shots / "assets-band-en-phone.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()


def test_a_category_in_zh_on_a_phone_assets_and_health(open_page, server, service, house, last, shots):  # noqa: F811
    client = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {service['tokens'][house]}"}, timeout=60)
    assert client.get("/api/me").json()["categories"] == ["makeup", "skincare"]
    page = open_page("assets", lang="zh-CN", width="phone", who=house)
    h = rerender(page, lambda: page.select_option("#scope", "skincare"), "assets")
    assert "scope=category" in h and "key=skincare" in h
    snap = client.get(f"/api/assets/snapshot?key=skincare&scope=category&day={last}").json()
    _check_counts(page, snap)
    series = client.get(f"/api/assets/series?key=skincare&scope=category&start={_back(last, 29)}&end={last}").json()
    assert series["benchmark"] is None
    _check_trend(page, series, AIPL, page.evaluate("STATE_COLORS"))
    assert page.locator("#flow-box svg path").count() > 5
    assert fits(page)
    page.screenshot(path=str(shots / "assets-category-zh-CN-phone.png"), full_page=True)

    page.click("nav a[data-view=health]")  # the category's industry percentiles and 榜单; GROW is per brand
    page.wait_for_selector("#page[data-ready=health]")
    fast = client.get(f"/api/health/fast?start={_back(last, 29)}&end={last}").json()
    bench = {b["metric"]: b for b in fast["benchmarks"] if b["category_id"] == "skincare"}
    for m in ("F", "S"):
        for p in ("P25", "P50", "P75", "P90"):
            assert shows(page.inner_text(f"[data-testid=bench-{m}-{p}]"), bench[m][p], 0.51), (m, p)
    ranked = client.get(f"/api/health/ranking?limit=500&category=skincare&start={_back(last, 29)}&end={last}").json()
    assert page.locator("#rank tbody tr").count() == len(ranked["items"])
    assert "请在顶部选择一个品牌" in page.inner_text("#grow-out")
    assert fits(page)
    page.screenshot(path=str(shots / "health-category-zh-CN-phone.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()
