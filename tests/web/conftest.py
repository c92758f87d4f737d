"""Browser fixtures for the dashboard: the demo service (tests/api/conftest.py) served on a free port, headless
Chromium (Debian's, driven by Playwright), and `open_page` for a signed-in page in a language and width; one
service, server and browser per test session (per xdist worker). Each view's browser tests live in their own file
here (test_web_<view>.py) and hold its checks; test_web_views.py runs them all in one page per language and width
(English on a laptop, zh-CN on a phone), the view's own file in the other two. Screenshots go to
$AIPL_SCREENSHOTS (docs/screenshots when refreshing the committed ones), else to a temporary folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from aipl.measure import postmortem
from aipl.warehouse import open_warehouse
from tests.api.conftest import auth, service  # noqa: F401  (the session's demo service: a copy of the API tests' one)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = {"phone": 390, "laptop": 1366}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs Debian's chromium (scripts/test.sh installs it)")
    for item in items:
        if CHROMIUM is None and "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """`app` served on a free port of 127.0.0.1 for the block; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(10)


@pytest.fixture(scope="session")
def server(service) -> Iterator[str]:  # noqa: F811
    with serve(service["app"]) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def api(service, server) -> httpx.Client:  # noqa: F811
    """The API as the acme analyst sees it, to compare with what the page shows."""
    return httpx.Client(base_url=server, headers=auth(service, "analyst"), timeout=60)


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("AIPL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def open_page(service, server, browser) -> Callable:  # noqa: F811
    """`open_page(view, lang="zh-CN", width="laptop", who="analyst", brand="B01")` → a Playwright page on that view,
    signed in, once the view says it is ready. Page errors and HTTP errors are collected in `page.errors`."""

    def _open(view: str, lang: str = "zh-CN", width: str = "laptop", who: str = "analyst", brand: str = "B01"):
        page = browser.new_page(viewport={"width": WIDTHS[width], "height": 900}, locale=lang)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{server}/web/style.css")  # the origin, without starting the app: its storage is set first
        token = service["tokens"][who]
        page.evaluate(f"""() => {{ localStorage.setItem('aipl.token', '{token}'); localStorage.setItem('aipl.lang',
                         '{lang}'); localStorage.setItem('aipl.brand', '{brand}'); }}""")
        page.goto(f"{server}/web/index.html#{view}")
        page.wait_for_selector(f"#page[data-ready='{view}']", timeout=60_000)
        return page

    return _open


@pytest.fixture(scope="session")
def written(api, service):  # noqa: F811
    """One post-mortem job of B01 through the API (the post-mortem view shows the latest one) and the engine's
    result to compare with."""
    job = api.post("/api/jobs/postmortem", json={"brand": "B01", "campaign": "sim_double11"}).json()
    for _ in range(600):
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
        job = api.get(f"/api/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    wh = open_warehouse(service["root"])
    try:
        return postmortem(wh, "sim_double11", "B01", with_lift=False)
    finally:
        wh.close()
