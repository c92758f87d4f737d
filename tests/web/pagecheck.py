"""What the dashboard's browser tests read off a page: numbers as shown, a chart's option, colours, overflow, a
re-render after a picker changes; and `house`, a tenant holding every brand of two categories, so category scope
has a category it may read (the demo's acme holds too few brands of any category)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from aipl.api.auth import TENANTS_FILE, add_tenant, issue_token


def num(text: str) -> float:
    """A number as the page shows it ("1,234", "12.5%", "+2.1 pp")."""
    return float(text.replace(",", "").replace("%", "").replace("pp", "").strip())


def shows(text: str, value: float | None, abs: float) -> bool:
    """The page shows the API's `value`, or "—" where the API withholds it (None: fewer peers than the minimum)."""
    return text.strip() == "—" if value is None else num(text) == pytest.approx(value, abs=abs)


def option(page, selector: str) -> dict:
    """The ECharts option of the chart drawn in `selector` (functions left out)."""
    return page.evaluate("""(s) => JSON.parse(JSON.stringify(echarts.getInstanceByDom(document.querySelector(s))
        .getOption(), (k, v) => (typeof v === "function" ? undefined : v)))""", selector)


def rgb(hex_colour: str) -> str:
    """"#dc2626" → "rgb(220, 38, 38)", as getComputedStyle reports a colour."""
    h = hex_colour.lstrip("#")
    return f"rgb({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)})"


def fits(page) -> bool:
    """No horizontal overflow: the page is no wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def rerender(page, change: Callable[[], object], view: str) -> str:
    """Do `change` (a picker) and wait until `view` has drawn again with new parameters; the new URL hash."""
    before = page.get_attribute("#page", "data-params")
    change()
    page.wait_for_function(f"""() => {{ const p = document.querySelector("#page");
        return p.dataset.ready === {json.dumps(view)} && p.dataset.params !== {json.dumps(before)}; }}""",
                           timeout=60_000)
    return page.evaluate("location.hash")


@pytest.fixture(scope="module")
def house(service) -> Iterator[str]:
    """Signs in as `house` (open_page(..., who="house")): an analyst holding every brand of skincare and makeup.
    The tenants file is restored afterwards, so the other tests see the demo's tenants unchanged."""
    path = service["root"] / TENANTS_FILE
    saved = path.read_bytes()
    add_tenant(service["root"], "house", ["B01", "B02", "B07", "B08"])
    service["tokens"]["house"] = issue_token(service["root"], "house", "analyst")
    yield "house"
    service["tokens"].pop("house")
    path.write_bytes(saved)
