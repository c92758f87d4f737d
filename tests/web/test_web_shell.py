"""The dashboard's shell in a browser: the sign-in with a bad token, the language switch, the tab bar at 390 px,
and the scope and date pickers kept in the URL hash (a link that opens the same view)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.web.pagecheck import fits, num, rerender

NAV = {"zh-CN": ["消费者资产", "品牌健康", "目标规划", "人群圈选", "万相台", "结案"],
       "en": ["Consumer assets", "Brand health", "Plan", "Crowds", "Autopilot", "Post-mortem"]}


def test_a_bad_token_is_refused_with_a_message(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/")
    for lang, words in (("zh-CN", "令牌无效"), ("en", "not accepted")):
        page.evaluate(f"localStorage.setItem('aipl.lang', '{lang}'); localStorage.removeItem('aipl.token')")
        page.reload()
        assert page.inner_text("#login-error") == ""  # a first visit: the form, no complaint
        page.fill("#token", "aipl_not-a-token")
        page.click("#login-form button")
        page.wait_for_function("document.querySelector('#login-error').textContent !== ''")
        assert page.is_visible("#login") and not page.is_visible("#timebar")
        assert page.locator("#page").inner_text() == ""
        assert words in page.inner_text("#login-error")
    page.close()


def test_phone_tab_bar_pickers_link_and_language(open_page, api, shots):
    page = open_page("assets", lang="en", width="phone")
    last = api.get("/api/brands").json()["last_day"]
    tabs = page.locator("nav a")
    assert tabs.all_inner_texts() == NAV["en"]
    lines = page.evaluate("""[...document.querySelectorAll('nav a')].map((a) =>
        [a.getClientRects().length, a.getBoundingClientRect().top, a.getBoundingClientRect().height])""")
    assert all(n == 1 for n, _, _ in lines), lines  # no tab wraps mid-word
    assert len({round(top) for _, top, _ in lines}) == 1 and max(h for _, _, h in lines) < 40  # one line of tabs
    assert fits(page)
    page.screenshot(path=str(shots / "shell-nav-en-phone.png"))

    # the pickers start at the data's last day and the 30 days to it, and the hash carries them
    assert page.input_value("#day") == last == page.input_value("#end")
    assert page.input_value("#start") == str(date.fromisoformat(last) - timedelta(days=29))
    h = page.evaluate("location.hash")
    assert "scope=brand" in h and "key=B01" in h and f"end={last}" in h

    running = [c for c in api.get("/api/strategy/campaigns").json()["items"] if c["start"] <= last][-1]
    h = rerender(page, lambda: page.select_option("#preset", "campaign"), "assets")  # this campaign, to the data
    assert page.input_value("#start") == running["start"] and page.input_value("#end") == min(running["end"], last)
    assert "preset=campaign" in h
    h = rerender(page, lambda: page.select_option("#preset", "7"), "assets")
    start7 = str(date.fromisoformat(last) - timedelta(days=6))
    assert f"start={start7}" in h and page.input_value("#start") == start7
    h = rerender(page, lambda: page.select_option("#scope", "B02"), "assets")
    assert "key=B02" in h
    snap = api.get(f"/api/assets/snapshot?key=B02&day={last}").json()
    assert num(page.inner_text("[data-testid=count-A]")) == snap["counts"]["A"]
    day = str(date.fromisoformat(last) - timedelta(days=3))
    h = rerender(page, lambda: page.fill("#day", day), "assets")
    assert f"day={day}" in h

    # switching views keeps the choice; the active tab scrolls into sight in the tab bar
    page.click("nav a[data-view=postmortem]")
    page.wait_for_selector("#page[data-ready=postmortem]")
    assert "key=B02" in page.evaluate("location.hash") and f"start={start7}" in page.evaluate("location.hash")
    box, bar = page.locator("nav a.active").bounding_box(), page.locator("nav").bounding_box()
    assert box["x"] >= bar["x"] - 1 and box["x"] + box["width"] <= bar["x"] + bar["width"] + 1
    assert fits(page)

    # a shared link opens the same choice; the language switch keeps it
    link = page.url.replace("#postmortem", "#assets")
    other = page  # a fresh document: nothing kept but the sign-in
    other.goto("about:blank")
    other.goto(link)
    other.wait_for_selector("#page[data-ready=assets]")
    assert other.input_value("#day") == day and other.input_value("#start") == start7
    assert other.eval_on_selector("#scope", "s => s.value") == "brand:B02"
    other.click("#lang")
    other.wait_for_function("document.documentElement.lang === 'zh-CN'")
    other.wait_for_selector("#page[data-ready=assets]")
    assert other.locator("nav a").all_inner_texts() == NAV["zh-CN"]
    assert other.input_value("#day") == day and other.inner_text("#lang") == "EN"
    assert not page.errors, page.errors
    page.close()
