"""The post-mortem view in both languages, on a phone and a laptop: the report written by one API job
(tests/web/conftest.py `written`) shows the new/returning, strategy crowd, crowd and creative cuts, both CVRs with
their denominators, and PI, with the figures of the engine. English on a laptop and zh-CN on a phone are checked by
tests/web/test_web_views.py, in its page of every view."""

from __future__ import annotations

import re

import pytest


def _text(frame, testid: str) -> str:
    return frame.locator(f"[data-testid='{testid}']").first.inner_text()


def check_postmortem(page, pm: dict, lang: str) -> None:
    """The post-mortem view (open on `page`) shows the latest post-mortem, whose cuts, CVRs and PI are `pm`'s."""
    status = page.locator("[data-testid=pm-status]").inner_text()
    assert ("最近一次结案" if lang == "zh-CN" else "Latest post-mortem") in status
    page.wait_for_function("document.querySelector('#pm-frame').contentDocument.body"
                           " && document.querySelector('#pm-frame').contentDocument.body.innerText.includes('PI')",
                           timeout=30_000)
    frame = page.frame_locator("#pm-frame")
    wide = pm["totals"]["wide"]
    assert f"{wide['cvr_numerator']:,} / {wide['cvr_denominator']:,}" in _text(frame, "cvr-wide")
    narrow = pm["totals"]["narrow"]
    assert f"{narrow['cvr_numerator']:,} / {narrow['cvr_denominator']:,}" in _text(frame, "cvr-narrow")
    assert f"{pm['pi']['groups'][0]['pi']:.2f}" in _text(frame, "pi-summary")
    for by in ("customer", "strategy_crowd", "crowd_id", "creative_id"):
        table = _text(frame, f"cut-{by}")
        top = pm["cuts"]["wide"][by][0]
        assert str(top[by]) in table and f"{top['spend']:,.2f}" in table, by
    assert "新客" in _text(frame, "cut-customer") and "(none)" not in _text(frame, "cut-creative_id")
    for by in ("customer", "phase", "channel", "creative_id"):
        assert re.search(r"\d", _text(frame, f"pi-cut-{by}")), by
    assert page.locator("#page h1").inner_text() == ("结案报告" if lang == "zh-CN" else "Campaign post-mortem")


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", "laptop"), ("en", "phone")])
def test_postmortem_view_shows_the_cuts_cvrs_and_pi(open_page, written, shots, lang, width):
    page = open_page("postmortem", lang=lang, width=width)
    check_postmortem(page, written, lang)
    page.screenshot(path=str(shots / f"postmortem-cuts-{lang}-{width}.png"), full_page=width == "laptop")
    assert page.errors == []
    page.close()
