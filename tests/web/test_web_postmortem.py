"""The post-mortem view in both languages, on a phone and a laptop: the report written by one API job shows the
new/returning, strategy crowd, crowd and creative cuts, both CVRs with their denominators, and PI, with the
figures of the engine."""

from __future__ import annotations

import re
import time

import pytest

from aipl.measure import postmortem
from aipl.warehouse import open_warehouse


@pytest.fixture(scope="module")
def written(api, service):
    """One post-mortem job of B01 (the views show the latest one) and the engine's result to compare with."""
    job = api.post("/api/jobs/postmortem", json={"brand": "B01", "campaign": "sim_double11"}).json()
    for _ in range(600):
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
        job = api.get(f"/api/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    wh = open_warehouse(service["root"])
    try:
        pm = postmortem(wh, "sim_double11", "B01", with_lift=False)
    finally:
        wh.close()
    return pm


def _text(frame, testid: str) -> str:
    return frame.locator(f"[data-testid='{testid}']").first.inner_text()


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", "laptop"), ("en", "phone"), ("en", "laptop"),
                                             ("zh-CN", "phone")])
def test_postmortem_view_shows_the_cuts_cvrs_and_pi(open_page, written, shots, lang, width):
    pm = written
    page = open_page("postmortem", lang=lang, width=width)
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
    page.screenshot(path=str(shots / f"postmortem-cuts-{lang}-{width}.png"), full_page=width == "laptop")
    assert page.errors == []
    page.close()
