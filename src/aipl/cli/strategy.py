"""`aipl calendars`, `plan`, `backtest-plan`: the Strategy Center."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _session,
    app,
    out,
)


# ---- strategy
def _sync_calendars(wh) -> None:
    """Bring the campaigns declared in aipl.toml into the campaigns table."""
    from aipl.strategy import sync_calendars

    section = wh.config.raw.get("campaigns")
    if section:
        sync_calendars(wh, section)


@app.command("calendars")
def calendars_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the campaign calendars (after loading those declared in aipl.toml [campaigns.<id>])."""
    from aipl.strategy import load_campaign

    with _session(workspace) as wh:
        _sync_calendars(wh)
        ids = sorted(wh.table("campaigns").select("campaign_id").distinct().execute().campaign_id)
        cals = [load_campaign(wh, c) for c in ids]
    if as_json:
        print(json.dumps([c.to_dict() for c in cals], ensure_ascii=False))
        return
    for c in cals:
        out.print(f"{c.campaign_id} {escape(c.name)} ({c.brand or 'platform-wide'}): " + ", ".join(
            f"{p} {a}..{b}" for p, a, b in c.phases))


@app.command("plan")
def plan_cmd(
    brand: Annotated[str, typer.Option(help="The brand.")],
    campaign: Annotated[str, typer.Option(help="This year's campaign id.")],
    gmv_target: Annotated[float | None, typer.Option(help="The GMV target (without it: the forecast only).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Plan as of this day (default: the last data day, at the "
                                              "latest the eve of the presale).")] = None,
    baseline: Annotated[str | None, typer.Option(help="Last year's campaign (default: the same name, a year "
                                                 "earlier).")] = None,
    aov: Annotated[float | None, typer.Option(help="GMV per buyer to plan with (default: last year's).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the plan as HTML (progress, "
                                                  "recommendations, action plan).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GTA: from a GMV target to the buyers and consumers each pool must hold, the gaps, and what to do."""
    from aipl.report import plan_context, write_plan
    from aipl.strategy import plan

    with _session(workspace, assets=True) as wh:
        _sync_calendars(wh)
        p = plan(wh, brand, campaign, gmv_target, as_of, baseline, aov)
        if out_file is not None:
            write_plan(wh, p, out_file)
        ctx = plan_context(wh, p) if as_json or out_file is None else None
    if as_json:
        print(json.dumps({**p, "progress": ctx["progress"], "recommendations": ctx["recommendations"],
                          "actions": ctx["actions"]}, default=str, ensure_ascii=False))
        return
    if out_file is not None:
        out.print(f"plan written: {out_file}")
        return
    out.print(f"{brand} for {campaign} (baseline {p['baseline']['campaign_id']}), as of {p['as_of']}: forecast "
              f"GMV {p['forecast_gmv']:,.0f} from {p['forecast_buyers']:,.0f} buyers")
    if gmv_target is not None:
        out.print(f"target {gmv_target:,.0f} needs {p['buyers_needed']:,.0f} buyers at {p['aov']:,.2f} each; "
                  f"GMV gap {p['gmv_gap']:+,.0f}")
    t = Table("pool", "CVR", "share", "projected", "forecast buyers", *(
        ("size needed", "gap") if gmv_target is not None else ()), title="pools")
    for r in p["pools"]:
        cells = [escape(r["label"]), f"{r['cvr']:.2%}" if r["cvr"] is not None else "—",
                 f"{r['share']:.1%}" if r["share"] is not None else "—",
                 f"{r['projected']:,.0f}" if r["projected"] is not None else "—", f"{r['forecast_buyers']:,.1f}"]
        if gmv_target is not None:
            cells += [f"{r['size_needed']:,.0f}" if r["size_needed"] is not None else "—",
                      f"{r['gap']:+,.0f}" if r["gap"] is not None else "—"]
        t.add_row(*cells)
    out.print(t)
    for r in ctx["recommendations"]:
        out.print(f"• {escape(r['label'])}: +{r['expected_buyers']:,.1f} buyers, +{r['expected_gmv']:,.0f} GMV "
                  f"({escape(r['scene'])})")


@app.command("backtest-plan")
def backtest_cmd(
    campaign: Annotated[str, typer.Option(help="A past campaign to forecast from the one a year before it.")],
    brand: Annotated[list[str] | None, typer.Option(help="Brands (repeatable; default: every brand).")] = None,
    days_before: Annotated[int, typer.Option(help="Plan this many days before the presale.")] = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest the GTA forecast: predicted against actual buyers and GMV per pool (完成率), and the MAPE."""
    from aipl.strategy import backtest

    with _session(workspace, assets=True) as wh:
        _sync_calendars(wh)
        brands = brand or sorted(wh.table("events").select("brand_id").distinct().execute().brand_id.dropna())
        res = [backtest(wh, b, campaign, days_before) for b in brands]
    pred, act = sum(r["predicted_gmv"] for r in res), sum(r["actual_gmv"] for r in res)
    naive = sum(r["naive_gmv"] for r in res)
    summary = {"campaign": campaign, "days_before": days_before, "brands": res, "predicted_gmv": pred,
               "actual_gmv": act, "total_ape": abs(pred - act) / act if act else None, "naive_gmv": naive,
               "naive_ape": abs(naive - act) / act if act else None}
    if as_json:
        print(json.dumps(summary, default=str, ensure_ascii=False))
        return
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
    if summary["total_ape"] is not None:
        out.print(f"all brands: predicted {pred:,.0f}, actual {act:,.0f}, error {summary['total_ape']:.1%} "
                  f"(last year's GMV as the forecast: {summary['naive_ape']:.1%})")


