"""Gathered data → charts → HTML pages (Jinja templates), and HTML → PDF (weasyprint)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from aipl import schema
from aipl.assets import AIPL_LABELS, AIPL_STATES, DEEPLINK_LABELS
from aipl.report import charts
from aipl.report.fonts import pdf_css

POSTMORTEM_CUTS = (("channel", "渠道 By channel"), ("crowd_id", "人群 By crowd"), ("creative_id", "创意 By creative"),
                   ("phase", "阶段 By phase"))
PLAN_POOLS = ("A_xu", "I_xu", "P", "L")
FLOW_LABELS = {"none": "无 none", **{s: label.split()[0] + " " + s for s, label in AIPL_LABELS.items()}}


def render(template: str, **context: object) -> str:
    """The HTML page of a template in report/templates, with the phase names and the time of generation.

    >>> page = render("plan.html.j2", **plan_context(plan))  # doctest: +SKIP
    >>> page.startswith("<!doctype html>")  # doctest: +SKIP
    True
    """
    env = Environment(loader=PackageLoader("aipl", "report/templates"), autoescape=select_autoescape(["html", "j2"]))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template(template).render(phases=schema.PHASES, generated=generated, **context)


def write(page: str, out: str | Path, pdf: str | Path | None = None) -> Path:
    """Write the page to `out`, and as PDF to `pdf` when given (drawn with the bundled Chinese font, see
    fonts.pdf_css); the HTML's path.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write("<html><body><h1>消费者资产 assets</h1></body></html>", folder / "a.html", folder / "a.pdf").name
    'a.html'
    >>> (folder / "a.pdf").read_bytes()[:5]
    b'%PDF-'
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    if pdf is not None:
        from weasyprint import CSS, HTML  # optional heavy dependency, needed only for PDF
        from weasyprint.text.fonts import FontConfiguration

        Path(pdf).parent.mkdir(parents=True, exist_ok=True)
        fonts = FontConfiguration()  # where @font-face rules load their files
        HTML(string=page, base_url=str(out.parent)).write_pdf(
            pdf, stylesheets=[CSS(string=pdf_css(), font_config=fonts)], font_config=fonts)
    return out


def report_charts(data: dict, window: int) -> dict[str, str]:
    """The workspace report's charts from its gathered data (see gather.gather)."""
    by_type, by_day, assets = data["by_type"], data["by_day"], data["assets"]
    out = {
        "types": charts.bar(list(by_type.event_type), [float(x) for x in by_type.n],
                            title="行为事件按类型 Events by type", xlabel="事件数 events"),
        "days": charts.line([str(d)[:10] for d in by_day.d], [float(x) for x in by_day.n],
                            title=f"每天事件数 Events per day, last {window} days", ylabel="事件数 events"),
    }
    if assets:
        funnel, top = assets["funnel"], assets["top"]
        out["funnel"] = charts.bar([AIPL_LABELS[s] for s in funnel], [float(n) for n in funnel.values()],
                                   title=f"{top} AIPL 漏斗 funnel on {assets['day']}", xlabel="消费者 consumers",
                                   colours=[charts.STATE_COLOURS[s] for s in funnel])
        out["flow"] = flow_chart(assets["flow"], top)
        out["trend"] = trend_chart(assets["trend"], assets["last_year"], top)
        dl = assets["deeplink"]
        out["deeplink"] = charts.flow(dl["matrix"], title=f"{top} DEEPLINK 人群流转 flow {dl['from']} → {dl['to']}",
                                      labels={"none": "无 none", **DEEPLINK_LABELS})
    return out


def trend_chart(trend, last_year, key: str) -> str:
    """The AIPL trend of a brand or category (see assets.series), one panel per state, last year's line dashed."""
    labels = [str(d)[5:10] for d in trend.day]
    before = {s: [float(v) for v in last_year[s]] for s in AIPL_STATES} if len(last_year) else None
    return charts.trend(labels, {s: [float(v) for v in trend[s]] for s in AIPL_STATES}, before,
                        title=f"{key} 消费者资产趋势 AIPL trend {str(trend.day.iloc[0])[:10]} → "
                              f"{str(trend.day.iloc[-1])[:10]}", names=FLOW_LABELS)


def flow_chart(fl: dict, key: str) -> str:
    """The heat map of a flow (see assets.flow): consumers by state at the start (rows) and at the end."""
    return charts.flow(fl["matrix"], title=f"{key} 人群流转 flow {fl['from']} → {fl['to']}", labels=FLOW_LABELS)


def plan_charts(progress: dict) -> dict[str, str]:
    """One chart per pool of a plan's progress: this year, last year, the benchmark and (with a target) the
    size needed, by day from the presale start."""
    out = {}
    for pool in PLAN_POOLS:
        rows = [r for r in progress["series"] if r["pool"] == pool]
        series = {"今年 this year": [r["this_year"] for r in rows], "去年 last year": [r["last_year"] for r in rows],
                  "标杆 benchmark": [r["benchmark"] for r in rows]}
        if any(r["needed"] is not None for r in rows):
            series["所需 needed"] = [r["needed"] for r in rows]
        out[pool] = charts.lines([f"D{r['offset']:+d}" for r in rows], series, title=f"{pool} 人群池 pool size",
                                 ylabel="消费者 consumers", mark="D+0", width=charts.HALF)
    return out


def postmortem_charts(pm: dict) -> dict[str, str]:
    """GMV (wide) by channel, crowd, creative and phase where a cut has two rows or more, and the AIPL flow."""
    out = {}
    for by, title in POSTMORTEM_CUTS:
        rows = [r for r in pm["cuts"]["wide"][by] if r["gmv"] or r["spend"]]
        labels = [f"{schema.PHASES.get(r[by], '')} {r[by]}".strip() if by == "phase" else r[by] for r in rows]
        out[by] = charts.bar(labels, [float(r["gmv"]) for r in rows], title=f"成交金额 GMV (宽) · {title}",
                             xlabel="GMV") if len(rows) > 1 else ""
    out["flow"] = flow_chart(pm["flow"], pm["brand"])
    return out
