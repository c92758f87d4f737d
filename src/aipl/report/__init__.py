"""The HTML report: what is in the warehouse, what ingestion accepted and quarantined, and each engine's section."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

import ibis
from jinja2 import Environment, PackageLoader, select_autoescape

from aipl import schema
from aipl.warehouse import Warehouse

DAILY_WINDOW = 120  # days shown in the daily chart


def bar_svg(labels: list[str], values: list[float], width: int = 640, bar_h: int = 18) -> str:
    """A horizontal bar chart as inline SVG (no scripts, prints and e-mails as it is)."""
    if not values:
        return "<p>—</p>"
    top = max(values) or 1
    label_w = 150
    rows = []
    for i, (lab, val) in enumerate(zip(labels, values, strict=True)):
        w = (width - label_w - 90) * val / top
        y = i * (bar_h + 6)
        rows.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end">{html.escape(str(lab))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#e4393c"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h - 4}">{val:,.0f}</text>'
        )
    h = len(values) * (bar_h + 6)
    return f'<svg class="chart" width="{width}" height="{h}" role="img">{"".join(rows)}</svg>'


def line_svg(labels: list[str], values: list[float], width: int = 640, height: int = 150) -> str:
    """A small line chart (daily series) as inline SVG, with the first and last label and the peak."""
    if len(values) < 2:
        return "<p>—</p>"
    top = max(values) or 1
    left, bottom = 60, 20
    step = (width - left) / (len(values) - 1)
    plot_h = height - bottom - 8

    def y(v: float) -> float:
        return 8 + plot_h * (1 - v / top)

    pts = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    return (
        f'<svg class="chart" width="{width}" height="{height}" role="img">'
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#ccc"/>'
        f'<text x="{left - 6}" y="{y(top) + 4:.1f}" text-anchor="end">{top:,.0f}</text>'
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{height - 4}">{html.escape(labels[0])}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end">{html.escape(labels[-1])}</text>'
        f'<polyline fill="none" stroke="#e4393c" stroke-width="2" points="{pts}"/></svg>'
    )


def gather(wh: Warehouse) -> dict:
    """The numbers the report shows, read from the warehouse."""
    con = wh.con
    counts = {name: wh.count(name) for name in schema.TABLES}
    batches = con.table("batches").order_by("loaded_at").execute()
    q = con.table("quarantine")
    reasons = (
        q.group_by(["target", "field"]).aggregate(n=q.count(), example=q.reason.min())
        .order_by(ibis.desc("n")).limit(20).execute()
    )
    samples = q.order_by(["source", "line"]).limit(15).execute()
    ev = con.table("events")
    by_type = ev.group_by("event_type").aggregate(n=ev.count()).order_by("event_type").execute()
    day = wh.local_day(ev.ts)
    daily = ev.group_by(d=day).aggregate(n=ev.count())
    recent = daily.filter(daily.d > daily.d.max() - ibis.interval(days=DAILY_WINDOW))  # the latest activity
    by_day = recent.order_by("d").execute()
    buys = ev.filter(ev.event_type == "purchase")
    brands = (
        buys.group_by("brand_id")
        .aggregate(buyers=buys.consumer_id.nunique(), orders=buys.count(), gmv=buys.amount.sum())
        .order_by(ibis.desc("gmv")).limit(20).execute()
    )
    cal = con.table("campaigns").order_by(["campaign_id", "start_date"]).execute()
    return {
        "counts": counts, "batches": batches, "reasons": reasons, "samples": samples,
        "by_type": by_type, "by_day": by_day, "brands": brands, "calendar": cal,
    }


def write_report(wh: Warehouse, out: str | Path, truth: dict | None = None) -> Path:
    """Render the report for the warehouse to `out` and return its path."""
    data = gather(wh)
    env = Environment(loader=PackageLoader("aipl", "report/templates"), autoescape=select_autoescape(["html", "j2"]))
    tpl = env.get_template("report.html.j2")
    by_type = data["by_type"]
    by_day = data["by_day"]
    page = tpl.render(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        workspace=str(wh.config.root), backend=wh.backend, timezone=wh.config.timezone,
        phases=schema.PHASES, truth=truth, truth_json=json.dumps(truth, ensure_ascii=False)[:2000] if truth else "",
        type_chart=bar_svg(list(by_type.event_type), [float(x) for x in by_type.n]),
        day_chart=line_svg([str(d)[:10] for d in by_day.d], [float(x) for x in by_day.n]),
        window=DAILY_WINDOW,
        **data,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
