"""`aipl calendars`, `plan`, `backtest-plan`: the Strategy Center."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aipl.cli.common import (
    BrandOpt,
    JsonOpt,
    WorkspaceOpt,
    _print_json,
    _session,
    app,
    err,
    out,
)
from aipl.report import write_plan
from aipl.strategy import backtest, campaigns, plan, save_calendars


def _num(v: float | None, fmt: str = ",.0f") -> str:
    return "—" if v is None else format(v, fmt)


@app.command("calendars")
def calendars_cmd(
    sync: Annotated[bool, typer.Option("--sync", help="First write the calendars declared in aipl.toml "
                                       "[campaigns.<id>] to the campaigns table (where post-mortems and the "
                                       "autopilot read them).")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the campaign calendars: the campaigns table's and those declared in aipl.toml [campaigns.<id>]."""
    with _session(workspace, read=not sync) as wh:
        if sync:
            err.print(f"{save_calendars(wh):,} calendar rows of aipl.toml written to the campaigns table")
        cals = campaigns(wh)
    if as_json:
        _print_json([c.to_dict() for c in cals])
        return
    for c in cals:
        out.print(f"{c.campaign_id} {escape(c.name)} ({c.brand or 'platform-wide'}): " + ", ".join(
            f"{p} {a}..{b}" for p, a, b in c.phases))


@app.command("plan")
def plan_cmd(
    brand: BrandOpt,
    campaign: Annotated[str, typer.Option(help="This year's campaign id.")],
    gmv_target: Annotated[float | None, typer.Option(help="The GMV target (without it: the forecast only).")] = None,
    day: Annotated[str | None, typer.Option(help="Plan as of this day (default: the last data day, at the "
                                            "latest the eve of the presale).")] = None,
    baseline: Annotated[str | None, typer.Option(help="Last year's campaign (default: the same name, a year "
                                                 "earlier).")] = None,
    aov: Annotated[float | None, typer.Option(help="GMV per buyer to plan with (default: last year's).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the plan as HTML (progress, "
                                                  "recommendations, action plan).")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Also write the plan as PDF to this file.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GTA: from a GMV target to the buyers and consumers each pool must hold, the gaps, and what to do."""
    with _session(workspace, assets=True, read=True) as wh:
        p = plan(wh, brand, campaign, gmv_target, day, baseline, aov)
    out_file = out_file or (pdf.with_suffix(".html") if pdf else None)  # a PDF comes with its HTML
    if out_file is not None:
        write_plan(p, out_file, pdf)
    if as_json:
        _print_json(p.to_dict())
        return
    if out_file is not None:
        out.print(f"plan written: {out_file}" + (f" and {pdf}" if pdf else ""))
        return
    iv = p.gmv_interval
    out.print(f"{brand} for {campaign} (baseline {p.baseline['campaign_id']}), as of {p.as_of}: forecast "
              f"GMV {p.forecast_gmv:,.0f} ({iv['level']:.0%} interval {iv['low']:,.0f}–{iv['high']:,.0f}, "
              f"{escape(iv['method'])}, n={iv['n']}); naive (last year's GMV again) {p.naive_gmv:,.0f}")
    out.print(f"method: {p.method} — {escape(p.method_label)}; {escape(p.method_reason)}")
    for w in p.warnings:
        out.print(f"[yellow]warning {w['code']}:[/yellow] {escape(w['message'])}")
    bench = p.progress.get("benchmark")
    if bench:
        out.print(f"benchmark (标杆): {escape(bench['label'])}")
    if gmv_target is not None:
        out.print(f"target {gmv_target:,.0f} needs {p.buyers_needed:,.0f} buyers at {p.aov:,.2f} each; "
                  f"GMV gap {p.gmv_gap:+,.0f}")
    t = Table("pool", "CVR", "share", "projected (pool model)", f"forecast ({p.method})", "interval", "naive",
              "forecast buyers", *(("size needed", "gap") if gmv_target is not None else ()), title="pools")
    for r in p.pools:
        cells = [escape(r["label"]), _num(r["cvr"], ".2%"), _num(r["share"], ".1%"), _num(r["projected"]),
                 _num(r["forecast_size"]), f"{_num(r['size_low'])}–{_num(r['size_high'])}"
                 if r["size_low"] is not None else "—", _num(r["naive_size"]), f"{r['forecast_buyers']:,.1f}"]
        if gmv_target is not None:
            cells += [f"{r['size_needed']:,.0f}" if r["size_needed"] is not None else "—",
                      f"{r['gap']:+,.0f}" if r["gap"] is not None else "—"]
        t.add_row(*cells)
    out.print(t)
    for r in p.recommendations:
        out.print(f"• {escape(r['label'])}: +{r['expected_buyers']:,.1f} buyers, +{r['expected_gmv']:,.0f} GMV "
                  f"({escape(r['scene'])})")


@app.command("backtest-plan")
def backtest_cmd(
    campaign: Annotated[str, typer.Option(help="A past campaign to forecast from the one a year before it.")],
    brand: Annotated[list[str] | None, typer.Option(help="Brands (repeatable; default: every brand).")] = None,
    days_before: Annotated[int, typer.Option(help="Plan this many days before the presale.")] = 0,
    baseline: Annotated[str | None, typer.Option(help="The campaign to forecast from (default: the same name, "
                                                 "a year earlier).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest the GTA forecast: predicted against actual buyers and GMV per pool (完成率), and the MAPE."""
    with _session(workspace, assets=True, read=True) as wh:
        bt = backtest(wh, campaign, brand, days_before, baseline)
    if as_json:
        _print_json(bt.to_dict())
        return
    res = bt.brands
    t = Table("brand", "predicted GMV", "actual GMV", "完成率", "APE", "pool MAPE", "last year's GMV APE",
              title=f"backtest of {campaign}")
    for r in res:
        t.add_row(r["brand"], f"{r['predicted_gmv']:,.0f}", f"{r['actual_gmv']:,.0f}",
                  f"{r['completion']:.0%}" if r["completion"] else "—",
                  f"{r['total_ape']:.1%}" if r["total_ape"] is not None else "—",
                  f"{r['pool_mape']:.1%}" if r["pool_mape"] is not None else "—",
                  f"{r['naive_ape']:.1%}" if r["naive_ape"] is not None else "—")
    out.print(t)
    if len(res) == 1:  # the post-campaign GTA report: 预计 vs 实际 per pool
        t = Table("pool", "预计 buyers", "实际 buyers", "预计 GMV", "实际 GMV", "完成率",
                  title=f"{res[0]['brand']} by pool")
        for p in res[0]["pools"]:
            t.add_row(escape(p["label"]), f"{p['predicted_buyers']:,.1f}", f"{p['actual_buyers']:,}",
                      f"{p['predicted_gmv']:,.0f}", f"{p['actual_gmv']:,.0f}",
                      f"{p['completion']:.0%}" if p["completion"] is not None else "—")
        out.print(t)
    if bt.total_ape is not None:
        out.print(f"all brands: predicted {bt.predicted_gmv:,.0f}, actual {bt.actual_gmv:,.0f}, error "
                  f"{bt.total_ape:.1%} (last year's GMV as the forecast: {bt.naive_ape:.1%})")


