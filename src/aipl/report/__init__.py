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


STATE_COLOURS = {"none": "#bbb", "A": "#f6b26b", "I": "#e69138", "P": "#e4393c", "L": "#990000"}


def sankey_svg(matrix: dict[str, dict[str, int]], width: int = 640, height: int = 300) -> str:
    """A two-column Sankey of a flow matrix (states at the start on the left, at the end on the right)."""
    states = list(matrix)
    total = sum(sum(r.values()) for r in matrix.values()) or 1
    gap, node_w = 8, 14
    usable = height - gap * (len(states) - 1)
    left = {s: sum(matrix[s].values()) for s in states}
    right = {t: sum(matrix[s][t] for s in states) for t in states}

    def stack(sizes):
        y, pos = 0.0, {}
        for s in states:
            h = usable * sizes[s] / total
            pos[s] = [y, h]
            y += h + gap
        return pos

    lp, rp = stack(left), stack(right)
    lo, ro = {s: lp[s][0] for s in states}, {s: rp[s][0] for s in states}
    x0, x1 = 90 + node_w, width - 90 - node_w
    parts = []
    for s in states:
        for t in states:
            n = matrix[s][t]
            if not n:
                continue
            h = usable * n / total
            y0, y1 = lo[s] + h / 2, ro[t] + h / 2
            lo[s] += h
            ro[t] += h
            mid = (x0 + x1) / 2
            parts.append(f'<path d="M{x0},{y0:.1f} C{mid},{y0:.1f} {mid},{y1:.1f} {x1},{y1:.1f}" fill="none" '
                         f'stroke="{STATE_COLOURS[s]}" stroke-opacity="0.45" stroke-width="{max(h, 0.5):.1f}">'
                         f"<title>{s} → {t}: {n:,}</title></path>")
    for side, pos, x, anchor, lx in (("l", lp, 90, "end", 84), ("r", rp, width - 90 - node_w, "start", width - 70)):
        for s in states:
            y, h = pos[s]
            size = left[s] if side == "l" else right[s]
            colour = STATE_COLOURS[s]
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{node_w}" height="{max(h, 1):.1f}" fill="{colour}"/>')
            parts.append(f'<text x="{lx}" y="{y + h / 2 + 4:.1f}" text-anchor="{anchor}">{s} {size:,}</text>')
    return f'<svg class="chart" width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def gather_assets(wh: Warehouse) -> dict | None:
    """The consumer-asset sections: states per brand on the last day, the top brand's flow, FAST and GROW."""
    from datetime import timedelta

    from aipl.assets import ensure_built, flow, states
    from aipl.assets.health import benchmarks, fast, grow, ranking

    last = wh.last_day(with_brand=True)
    if last is None:
        return None
    ensure_built(wh)
    s = states(wh, "brand", last)
    counts = s.group_by(["key", "aipl"]).aggregate(n=lambda t: t.count()).execute()
    dl = s.group_by(["key", "deeplink"]).aggregate(n=lambda t: t.count()).execute()
    table = counts.pivot_table(index="key", columns="aipl", values="n", fill_value=0)
    table = table.reindex(columns=["A", "I", "P", "L"], fill_value=0)
    dlt = dl.pivot_table(index="key", columns="deeplink", values="n", fill_value=0)
    table = table.join(dlt.reindex(columns=list(DEEPLINK_ORDER), fill_value=0)).fillna(0).astype(int)
    table["total"] = table[["A", "I", "P", "L"]].sum(axis=1)
    table = table.sort_values("total", ascending=False).head(20)
    top = str(table.index[0])
    start = last - timedelta(days=30)
    fl = flow(wh, "brand", top, start, last)
    fast_t = fast(wh, start, last)
    bench = benchmarks(fast_t).set_index(["category_id", "metric"])
    for m in ("F", "A", "T"):
        fast_t[f"{m}_P50"] = [bench.loc[(c, m), "P50"] if (c, m) in bench.index else None for c in fast_t.category_id]
    rank = ranking(fast_t)
    g = grow(wh, top, (start - timedelta(days=31), start - timedelta(days=1)), (start, last))
    clv = gather_clv(wh, top, last)
    return {"day": str(last), "brands": table.reset_index(), "top": top, "flow": fl,
            "sankey": sankey_svg(fl["matrix"]),
            "funnel": bar_svg(["A", "I", "P", "L"], [float(table.loc[top, k]) for k in ("A", "I", "P", "L")]),
            "fast": fast_t, "rank": rank, "grow": g, "clv": clv}


def gather_clv(wh: Warehouse, brand: str, day) -> dict:
    """The brand's consumer-asset value by state and its member buckets (or why they cannot be shown)."""
    from aipl.clv import asset_value, member_status, member_summary

    out: dict = {"brand": brand, "members": member_summary(member_status(wh, brand, day))}
    try:
        _, by_state = asset_value(wh, brand, day, time_unit="day")
    except ValueError as exc:
        out["error"] = str(exc)
        return out
    out.update(by_state=by_state, total=float(by_state.value.sum()), meta=by_state.attrs)
    return out


DEEPLINK_ORDER = ("discover", "engage", "enthuse", "perform", "initial", "numerous", "keen")


def gather_measure(wh: Warehouse, truth: dict | None = None, limit: int = 12) -> dict | None:
    """The lift of the latest campaign with ad delivery, per brand: incremental purchases and GMV with their
    intervals, and the incremental ROI; against the simulation's truth when there is one."""
    from aipl.measure import campaign_lift

    ad = wh.table("ad_delivery")
    spend = ad.filter(ad.campaign_id.notnull()).group_by(["campaign_id", "brand_id"]).aggregate(cost=ad.cost.sum())
    c = wh.table("campaigns")
    starts = c.group_by("campaign_id").aggregate(first=c.start_date.min())
    spend = spend.inner_join(starts, "campaign_id").order_by([ibis.desc("first"), ibis.desc("cost")]).execute()
    if spend.empty:
        return None
    campaign = str(spend.campaign_id.iloc[0])
    rows = []
    for r in spend[spend.campaign_id == campaign].head(limit).itertuples():
        try:
            res = campaign_lift(wh, campaign, r.brand_id, metrics=("purchases", "spend"))
        except ValueError as exc:
            rows.append({"brand": r.brand_id, "error": str(exc)})
            continue
        arm = next(a for a in res["arms"] if a.get("lift"))
        p, g = arm["lift"]["purchases"], arm["lift"]["spend"]
        row = {"brand": r.brand_id, "kind": res["kind"], "method": res["method"], "n": p["n_treated"],
               "control": p["n_control"], "purchases": p, "gmv": g, "spend": float(r.cost),
               "iroi": g["incremental"] / r.cost if r.cost else None}
        bt = (truth or {}).get("brands", {}).get(r.brand_id)
        if bt and res["kind"] == "randomised":
            row["true_purchases"] = bt["true_itt_purchases_per_consumer"] * p["n_treated"]
            row["covered"] = p["ci_low"] <= bt["true_itt_purchases_per_consumer"] <= p["ci_high"]
        rows.append(row)
    return {"campaign": campaign, "rows": rows}


def gather_crowds(wh: Warehouse, brand: str | None) -> dict | None:
    """Built-in crowd sizes and the profile (TGI) of the brand's buyers, when the tag index exists."""
    from aipl.audience import TagIndex, parse
    from aipl.audience.crowds import BUILT_IN, insight
    from aipl.audience.index import BITMAPS_TABLE

    if not brand or BITMAPS_TABLE not in wh.con.list_tables():
        return None
    index = TagIndex.load(wh)
    sizes = [{"name": k, "zh": zh, "expr": expr, "n": index.count(parse(expr))} for k, (zh, expr) in BUILT_IN.items()]
    buyers = index.evaluate(parse(f'aipl(brand="{brand}") in ("P", "L")'))
    if not buyers:
        return {"day": str(index.day), "sizes": sizes, "brand": brand, "profile": None, "universe": len(index.universe)}
    prof = insight(index, buyers, min_share=0.02)
    prof = prof[prof.tag.isin(["gender", "city_tier", "strategy_crowd", "purchasing_power", "top_category"])]
    return {"day": str(index.day), "sizes": sizes, "brand": brand, "buyers": len(buyers),
            "universe": len(index.universe), "profile": prof.sort_values("tgi", ascending=False).head(15)}


def gather_autopilot(wh: Warehouse, brand: str | None, campaign: str | None) -> dict | None:
    """The brand's response curve per channel and the 爆发收割 split of its recent daily spend (None without
    ad delivery)."""
    from aipl.autopilot import fit_brand
    from aipl.autopilot.scenes import scene_plan

    if not brand or not campaign:
        return None
    a = wh.table("ad_delivery")
    a = a.filter(a.brand_id == brand)
    days = a.group_by("day").aggregate(cost=a.cost.sum()).order_by(ibis.desc("day")).limit(14).execute()
    if len(days) < 10:
        return None
    try:
        fits = fit_brand(wh, brand, holdout_days=14, boot=0)  # the report shows no intervals
        budget = float(days.cost.mean())
        plan = scene_plan(wh, brand, "爆发收割", budget, campaign, boot=0)  # the report shows no interval
    except ValueError as exc:
        return {"brand": brand, "error": str(exc)}
    return {"brand": brand, "campaign": campaign, "budget": budget, "fits": fits, "plan": plan}


EXAMPLE_GROWTH = 1.2  # the report's example target: last year's GMV + 20 %


def gather_plan(wh: Warehouse, brand: str | None) -> dict | None:
    """The GTA plan of the brand for the latest campaign that has last year's counterpart, with an example
    target of last year's GMV + 20 % (None when no campaign has one)."""
    from aipl.strategy import last_year, load_campaign, plan, set_target

    if not brand:
        return None
    c = wh.table("campaigns")
    ids = c.group_by("campaign_id").aggregate(first=c.start_date.min()).order_by(ibis.desc("first")).execute()
    for cid in ids.campaign_id:
        cur = load_campaign(wh, cid)
        try:
            ly = last_year(wh, cur, brand)
        except ValueError:
            continue
        if ly is None:
            continue
        p = plan(wh, brand, cid, baseline=ly.campaign_id)
        if not p["last_year"]["gmv"]:
            return None
        set_target(p, EXAMPLE_GROWTH * p["last_year"]["gmv"])
        return {**plan_context(wh, p), "example_growth": EXAMPLE_GROWTH}
    return None


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
        "assets": gather_assets(wh),
        "counts": counts, "batches": batches, "reasons": reasons, "samples": samples,
        "by_type": by_type, "by_day": by_day, "brands": brands, "calendar": cal,
    }


def write_report(wh: Warehouse, out: str | Path, truth: dict | None = None) -> Path:
    """Render the report for the warehouse to `out` and return its path."""
    data = gather(wh)
    data["measure"] = gather_measure(wh, truth)
    data["strategy"] = gather_plan(wh, data["assets"]["top"] if data["assets"] else None)
    data["crowds"] = gather_crowds(wh, data["assets"]["top"] if data["assets"] else None)
    data["autopilot"] = gather_autopilot(wh, data["assets"]["top"] if data["assets"] else None,
                                         data["measure"]["campaign"] if data["measure"] else None)
    tpl = _environment().get_template("report.html.j2")
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


def _environment() -> Environment:
    return Environment(loader=PackageLoader("aipl", "report/templates"), autoescape=select_autoescape(["html", "j2"]))


def _incremental(pm: dict) -> dict | None:
    """Incremental GMV with its interval and the incremental ROI, from the first treated arm's spend lift."""
    lift = pm.get("lift") or {}
    for arm in lift.get("arms", []):
        e = arm.get("lift", {}).get("spend")
        if e:
            spend = pm["totals"]["wide"]["spend"]
            gmv = e["incremental"]
            return {"gmv": gmv, "low": e["ci_low"] * e["n_treated"], "high": e["ci_high"] * e["n_treated"],
                    "iroi": gmv / spend if spend else None}
    return None


POSTMORTEM_CUTS = (("channel", "渠道 By channel"), ("crowd_id", "人群 By crowd"), ("creative_id", "创意 By creative"),
                   ("phase", "阶段 By phase"))


def cjk_font() -> str | None:
    """The family of an installed font that covers Chinese (fontconfig), or None."""
    import shutil
    import subprocess

    if not shutil.which("fc-list"):
        return None
    res = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return res.stdout.splitlines()[0] if res.stdout.strip() else None


def write_postmortem(wh: Warehouse, campaign: str, out: str | Path, brand: str | None = None,
                     pdf: str | Path | None = None) -> Path:
    """Render the campaign's post-mortem (结案) to HTML at `out`, and to PDF at `pdf` when given (the PDF's
    Chinese labels need a Chinese font installed: see cjk_font)."""
    from aipl.measure.postmortem import postmortem

    pm = postmortem(wh, campaign, brand)
    narrow = {by: {r[by]: r for r in rows} for by, rows in pm["cuts"]["narrow"].items()}
    charts = {}
    for by, _ in POSTMORTEM_CUTS:
        rows = [r for r in pm["cuts"]["wide"][by] if r["gmv"] or r["spend"]]
        labels = [schema.PHASES.get(r[by], r[by]) if by == "phase" else r[by] for r in rows]
        charts[by] = bar_svg(labels, [float(r["gmv"]) for r in rows]) if len(rows) > 1 else ""
    page = _environment().get_template("postmortem.html.j2").render(
        pm=pm, narrow=narrow, charts=charts, cuts=POSTMORTEM_CUTS, phases=schema.PHASES,
        sankey=sankey_svg(pm["flow"]["matrix"]), incremental=_incremental(pm),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    if pdf is not None:
        from weasyprint import HTML

        HTML(string=page, base_url=str(out.parent)).write_pdf(pdf)
    return out


SERIES_COLOURS = ("#e4393c", "#999", "#2a7", "#36c")


def lines_svg(labels: list[str], series: dict[str, list[float | None]], width: int = 640, height: int = 170) -> str:
    """Several daily series on one chart as inline SVG (gaps where a value is missing), with a legend."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if len(labels) < 2 or not values:
        return "<p>—</p>"
    top = max(values) or 1
    left, bottom, legend = 60, 20, 16
    step = (width - left) / (len(labels) - 1)
    plot_h = height - bottom - legend - 8

    def y(v: float) -> float:
        return legend + 8 + plot_h * (1 - v / top)

    parts = [f'<line x1="{left}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#ccc"/>',
             f'<text x="{left - 6}" y="{y(top) + 4:.1f}" text-anchor="end">{top:,.0f}</text>',
             f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
             f'<text x="{left}" y="{height - 4}">{html.escape(labels[0])}</text>',
             f'<text x="{width}" y="{height - 4}" text-anchor="end">{html.escape(labels[-1])}</text>']
    for k, (name, vs) in enumerate(series.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        runs, run = [], []
        for i, v in enumerate(vs):
            if v is None or v != v:
                runs, run = ([*runs, run] if run else runs), []
            else:
                run.append(f"{left + i * step:.1f},{y(v):.1f}")
        runs += [run] if run else []
        parts += [f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(r)}"/>' for r in runs]
        parts.append(f'<rect x="{left + k * 150}" y="2" width="12" height="10" fill="{colour}"/>'
                     f'<text x="{left + k * 150 + 16}" y="11">{html.escape(name)}</text>')
    return f'<svg class="chart" width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def plan_context(wh: Warehouse, plan: dict) -> dict:
    """Everything a plan's page shows: the plan, its progress with a chart per pool, the recommendations and
    the dated action plan."""
    from aipl.strategy import load_campaign
    from aipl.strategy.progress import progress
    from aipl.strategy.rules import action_plan, recommend

    prog = progress(wh, plan)
    charts = {}
    for pool in ("A_xu", "I_xu", "P", "L"):
        rows = [r for r in prog["series"] if r["pool"] == pool]
        series = {"今年 this year": [r["this_year"] for r in rows], "去年 last year": [r["last_year"] for r in rows],
                  "标杆 benchmark": [r["benchmark"] for r in rows]}
        if any(r["needed"] is not None for r in rows):
            series["所需 needed"] = [r["needed"] for r in rows]
        charts[pool] = lines_svg([f"D{r['offset']:+d}" for r in rows], series)
    recs = recommend(wh, plan, prog)
    return {"plan": plan, "progress": prog, "charts": charts, "recommendations": recs,
            "actions": action_plan(plan, recs, load_campaign(wh, plan["campaign"]["campaign_id"]))}


def write_plan(wh: Warehouse, plan: dict, out: str | Path) -> Path:
    """Render a GTA plan (see aipl.strategy.plan) with its progress, recommendations and action plan."""
    ctx = plan_context(wh, plan)
    page = _environment().get_template("plan.html.j2").render(
        **ctx, phases=schema.PHASES, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
