"""Category-only data in the dashboard: a workspace of Taobao UserBehavior (no brand at all) opens on a category,
its assets and trend are the API's, and the health view says in the page's language why it has no FAST."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse
from tests.conftest import shared
from tests.web.conftest import serve
from tests.web.pagecheck import num

AIPL = ("A", "I", "P", "L")


@pytest.fixture(scope="module")
def userbehavior(tmp_path_factory) -> Iterator[dict]:
    ws = init_workspace(tmp_path_factory.mktemp("ub") / "ws")
    wh = open_warehouse(ws)
    try:
        ingest(wh, shared("taobao_userbehavior/UserBehavior_head_fattydelivery.csv"), "userbehavior")
    finally:
        wh.close()
    add_tenant(ws, "open", ["UB"])  # holds no brand of the data: an admin reads every category
    token = issue_token(ws, "open", "admin")
    with serve(create_app(ws)) as url:
        yield {"url": url, "token": token, "api": httpx.Client(base_url=url, timeout=60,
                                                              headers={"Authorization": f"Bearer {token}"})}


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", "phone"), ("en", "laptop")])
def test_a_brandless_workspace_opens_on_a_category(userbehavior, browser, shots, lang, width):
    api, url = userbehavior["api"], userbehavior["url"]
    me = api.get("/api/me").json()
    assert me["brands"] == ["UB"] and me["categories"]
    page = browser.new_page(viewport={"width": 390 if width == "phone" else 1366, "height": 900}, locale=lang)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/web/style.css")
    page.evaluate(f"""() => {{ localStorage.setItem('aipl.token', '{userbehavior["token"]}');
                     localStorage.setItem('aipl.lang', '{lang}'); localStorage.removeItem('aipl.brand'); }}""")
    page.goto(f"{url}/web/index.html#assets?scope=category&key={me['categories'][0]}")
    page.wait_for_selector("#page[data-ready=assets]", timeout=60_000)
    key = me["categories"][0]
    snap = api.get(f"/api/assets/snapshot?key={key}&scope=category").json()
    assert sum(snap["counts"].values()) > 0
    for s in AIPL:
        assert num(page.inner_text(f"[data-testid=count-{s}]")) == snap["counts"][s]
    page.screenshot(path=str(shots / f"assets-category-only-{lang}-{width}.png"), full_page=True)
    page.click("nav a[data-view=health]")
    page.wait_for_selector("#page[data-ready=health]", timeout=60_000)
    text = page.inner_text("#page")
    assert "Traceback" not in text and "nan" not in text
    assert ("brand" in text.lower()) if lang == "en" else ("品牌" in text)  # why there is no FAST: no brand
    assert not errors, errors
    page.close()
