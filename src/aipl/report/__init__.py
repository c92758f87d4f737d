"""The HTML reports (a face): the workspace report, the campaign post-mortem (结案, also as PDF) and the GTA
plan. `gather` draws the figures from the engines' public functions, `charts` draws them with matplotlib and
`render` fills the templates."""

from __future__ import annotations

import json
from pathlib import Path

from aipl.report.fonts import cjk_font
from aipl.report.gather import DAILY_WINDOW, gather_postmortem, gather_report, plan_page
from aipl.report.render import POSTMORTEM_CUTS, plan_charts, postmortem_charts, render, report_charts, write
from aipl.strategy import Plan
from aipl.warehouse import Warehouse

__all__ = ["cjk_font", "plan_context", "write_plan", "write_postmortem", "write_report"]


def write_report(wh: Warehouse, out: str | Path, truth: dict | None = None) -> Path:
    """Render the workspace report to `out` and return its path; `truth` is the simulation's hidden truth.

    >>> write_report(wh, "shop/report.html")  # doctest: +SKIP
    PosixPath('shop/report.html')
    """
    data = gather_report(wh, truth)
    page = render("report.html.j2", workspace=str(wh.config.root), backend=wh.backend,
                  timezone=wh.config.timezone, truth=truth, window=DAILY_WINDOW,
                  charts=report_charts(data, DAILY_WINDOW), plan_charts=_plan_charts(data["strategy"]), **data)
    return write(page, out)


def write_postmortem(wh: Warehouse, campaign: str, out: str | Path, brand: str | None = None,
                     pdf: str | Path | None = None, json_out: str | Path | None = None) -> Path:
    """Render the campaign's post-mortem (结案) to HTML at `out`, to PDF at `pdf` when given (drawn with the
    bundled Chinese font: see cjk_font), and its figures as JSON at `json_out` when given (`aipl postmortem
    --json`'s document, NaN as null).

    >>> write_postmortem(wh, "sim_double11", "b01.html", brand="B01", pdf="b01.pdf")  # doctest: +SKIP
    PosixPath('b01.html')
    """
    data = gather_postmortem(wh, campaign, brand)
    page = render("postmortem.html.j2", charts=postmortem_charts(data["pm"]), cuts=POSTMORTEM_CUTS, **data)
    if json_out is not None:
        plain = json.loads(json.dumps(data["pm"].to_dict(), default=str), parse_constant=lambda _: None)
        Path(json_out).write_text(json.dumps(plain, ensure_ascii=False), encoding="utf-8")
    return write(page, out, pdf)


def plan_context(plan: Plan) -> dict:
    """Everything a plan's page shows: the GTA figures, their progress with a chart per pool, the
    recommendations and the dated action plan (see aipl.strategy.plan).

    >>> sorted(plan_context(plan))  # doctest: +SKIP
    ['actions', 'charts', 'plan', 'progress', 'recommendations']
    """
    return {**plan_page(plan), "charts": plan_charts(plan.progress)}


def write_plan(plan: Plan, out: str | Path, pdf: str | Path | None = None) -> Path:
    """Render a plan (see aipl.strategy.plan) with its progress, recommendations and action plan to HTML at
    `out`, and to PDF at `pdf` when given.

    >>> write_plan(plan, "plan.html", pdf="plan.pdf")  # doctest: +SKIP
    PosixPath('plan.html')
    """
    return write(render("plan.html.j2", **plan_context(plan)), out, pdf)


def _plan_charts(strategy: dict | None) -> dict[str, str]:
    return plan_charts(strategy["progress"]) if strategy else {}
