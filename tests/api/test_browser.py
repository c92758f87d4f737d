"""The dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) opens every page
against the demo workspace, in zh-CN and English, and the numbers it shows are the API's. Screenshots go
to $AIPL_SCREENSHOTS (docs/screenshots when refreshing the committed ones), else to a temporary folder."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.api.conftest import auth

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/test.sh installs it)")
PAGES = ("assets", "health", "plan", "crowds", "autopilot", "postmortem")


@pytest.fixture(scope="module")
def server(service):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(service["app"], host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _year_back(day: str) -> str:
    return f"{int(day[:4]) - 1}{day[4:]}"


def _num(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def _shows(text: str, value: float | None, abs: float) -> bool:
    """The page shows the API's `value`, or "—" where the API withholds it (None: fewer peers than the minimum)."""
    return text.strip() == "—" if value is None else _num(text) == pytest.approx(value, abs=abs)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_shows_the_apis_numbers(service, server, browser, tmp_path, lang):
    shots = Path(os.environ.get("AIPL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    headers = auth(service, "analyst")
    api = httpx.Client(base_url=server, headers=headers, timeout=60)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale=lang)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/")
    page.evaluate(f"""() => {{ localStorage.setItem('aipl.token', '{service['tokens']['analyst']}');
                     localStorage.setItem('aipl.lang', '{lang}'); localStorage.setItem('aipl.brand', 'B01'); }}""")
    for name in PAGES:
        page.goto(f"{server}/web/index.html#{name}")
        page.reload()
        page.wait_for_selector(f"#page[data-ready={name}]", timeout=60_000)
        shown = lambda tid: page.inner_text(f"[data-testid={tid}]")  # noqa: E731
        if name == "assets":
            snap = api.get("/api/assets/B01/snapshot").json()
            for s in ("A", "I", "P", "L"):
                assert _num(shown(f"count-{s}")) == snap["counts"][s]
            assert _num(shown("count-total")) == sum(snap["counts"].values())
            assert page.locator("#sankey svg path").count() > 5  # the Sankey drew its links
        elif name == "health":
            mine = next(b for b in api.get("/api/health/fast").json()["brands"] if b["brand_id"] == "B01")
            assert _num(shown("fast-F")) == mine["F"] and _num(shown("fast-S")) == mine["S"]
            assert _num(shown("fast-A")) == pytest.approx(100 * mine["A"], abs=0.051)
            end = api.get("/api/brands").json()["last_day"]
            start = str(date.fromisoformat(end) - timedelta(days=29))
            grow = api.get(f"/api/health/grow/B01?start0={_year_back(start)}&end0={_year_back(end)}&start1={start}"
                           f"&end1={end}").json()
            for k in ("gmv0", "gmv1", "delta", "G", "R", "O", "W"):
                assert _shows(shown(f"grow-{k}"), grow[k], 0.51), k
            rank = [r for r in api.get("/api/health/ranking?limit=500").json()["items"] if r["brand_id"] == "B01"]
            assert _shows(shown("score-B01"), rank[0]["score"], 0.051)
        elif name == "plan":
            target = _num(page.input_value("#target"))
            p = api.get(f"/api/strategy/B01/plan?campaign=sim_double11&gmv_target={target}").json()
            assert _num(shown("forecast")) == pytest.approx(p["forecast_gmv"], abs=0.51)
            for pool in p["pools"]:
                if pool.get("gap") is not None:
                    assert _num(shown(f"gap-{pool['pool']}")) == pytest.approx(pool["gap"], abs=0.51)
        elif name == "crowds":
            expr = 'aipl(brand="B01") = "A" and gender = "F"'
            page.fill("#expr", expr)
            want = api.post("/api/crowds/count", json={"expr": expr}).json()["count"]
            page.wait_for_function(f"document.querySelector('[data-testid=crowd-count]').textContent"
                                   f".replace(/,/g, '') === '{want}'", timeout=10_000)
        elif name == "autopilot":
            page.wait_for_selector("[data-testid=ap-incremental]", timeout=60_000)  # crowd × channel cells
            p = api.get("/api/autopilot/cells?scene=拉新快&budget=3000").json()
            assert _num(shown("ap-incremental")) == pytest.approx(p["incremental"], abs=0.51)
            assert _num(shown("ap-attributed")) == pytest.approx(p["attributed"], abs=0.51)
        elif name == "postmortem":
            page.click("#pm-form button")
            page.wait_for_function("document.querySelector('[data-testid=pm-status]').textContent.includes('done')",
                                   timeout=120_000)
            page.wait_for_timeout(500)
            assert "结案" in page.frame_locator("#pm-frame").locator("body").inner_text()
        page.screenshot(path=str(shots / f"{name}-{lang}.png"), full_page=True)
    assert not errors, errors
    page.close()


def test_login_page_refuses_a_bad_token(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/")
    page.fill("#token", "aipl_not-a-token")
    page.click("#login-form button")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator("#page").inner_text() == ""
    page.close()
