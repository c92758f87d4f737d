"""The 万相台 view in a browser: every seed scene name listed, the crowd × channel plan's incremental outcome (the
API's figure) with the attributed one beside it, the heat-map, the margins on the simulator, and the what-if;
in both languages, on a phone and a laptop (English on a laptop and zh-CN on a phone in
tests/web/test_web_views.py, in its page of every view)."""

from __future__ import annotations

import pytest

SEED_NAMES = ("拉新快", "会员快", "入会快", "上新快", "新品快", "货品加速", "爆款快", "预热蓄水", "爆发收割")
LABELS = {"zh-CN": ("增量产出", "归因产出（宽口径）", "假设分析"),
          "en": ("Incremental outcome", "Attributed (wide scope)", "What-if")}


def _num(text: str) -> float:
    return float(text.replace(",", "").strip())


def check_autopilot(page, api, lang: str) -> None:
    """The autopilot view (open on `page`) lists every seed scene and shows the API's plan and what-if figures."""
    page.wait_for_selector("[data-testid=wi-outcome]", timeout=60_000)
    scenes = page.inner_text("[data-testid=ap-scenes]")
    assert all(name in scenes for name in SEED_NAMES)
    scene = page.eval_on_selector("#scene", "el => el.value")
    plan = api.get("/api/autopilot/cells", params={"scene": scene, "budget": 3000}).json()
    assert _num(page.inner_text("[data-testid=ap-incremental]")) == pytest.approx(plan["incremental"], abs=0.6)
    assert _num(page.inner_text("[data-testid=ap-attributed]")) == pytest.approx(plan["attributed"], abs=0.6)
    top = max(plan["cells"], key=lambda c: c["spend"])
    shown = page.inner_text(f"[data-testid='inc-{top['cell']}']")
    assert _num(shown) == pytest.approx(top["incremental"], abs=0.6)
    incremental, attributed, whatif = LABELS[lang]
    cells = page.inner_text("[data-testid=ap-cells]")
    assert incremental in cells and attributed in cells and whatif in page.inner_text("#page")
    assert "%" in page.inner_text("[data-testid=ap-margins]")
    assert page.locator("#ap-heat svg").count() == 1
    buys = api.get("/api/autopilot/whatif", params={"scene": scene, "days": 10, "budget": 3000}).json()
    assert _num(page.inner_text("[data-testid=wi-outcome]")) == pytest.approx(buys["outcome"], abs=0.6)
    target = float(page.eval_on_selector("#wi-target", "el => el.value"))
    needs = api.get("/api/autopilot/whatif", params={"scene": scene, "days": 10, "target": target}).json()
    assert _num(page.inner_text("[data-testid=wi-budget]")) == pytest.approx(needs["budget"], abs=0.6)


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", "laptop"), ("en", "phone")])
def test_autopilot_view(open_page, api, shots, lang, width):
    page = open_page("autopilot", lang=lang, width=width)
    check_autopilot(page, api, lang)
    page.screenshot(path=str(shots / f"autopilot-cells-{lang}-{width}.png"), full_page=True)
    assert page.errors == []
    page.close()
