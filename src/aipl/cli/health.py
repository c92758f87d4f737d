"""`aipl fast`, `rank`, `grow`: brand health against the industry."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from aipl.assets import METRICS, fast_ranking, fast_summary, grow, period, records
from aipl.cli.common import BrandOpt, JsonOpt, WorkspaceOpt, _frame_table, _print_json, _require_key, _session, app, out

StartOpt = Annotated[str | None, typer.Option(help="First day of the period (default: 30 days to --end).")]
EndOpt = Annotated[str | None, typer.Option(help="Last day of the period (default: the last day with events).")]


def _period(wh, start: str | None, end: str | None):
    """The FAST period, its end the data's last day unless given."""
    return period(start, end, last_day=wh.last_day() if end is None else None)


@app.command("fast")
def fast_cmd(
    start: StartOpt = None,
    end: EndOpt = None,
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """FAST per brand (F 可运营人群, A 加深率, S 会员, T 会员活跃率) with its category's P25/P50/P75/P90."""
    with _session(workspace, assets=True, read=True) as wh:
        summary = fast_summary(wh, *_period(wh, start, end), brands=None if brand is None else [brand])
    if as_json:
        _print_json(summary.to_dict())
        return
    title = f"FAST {summary['from']} … {summary['to']}"
    out.print(_frame_table(summary.brands[["brand_id", "category_id", "F", "F_index", *METRICS[1:]]], title))
    out.print(_frame_table(summary.benchmarks, "industry percentiles per category"))


@app.command("rank")
def rank_cmd(
    start: StartOpt = None,
    end: EndOpt = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The FAST health ranking (榜单) of brands within each category."""
    with _session(workspace, assets=True, read=True) as wh:
        d0, d1 = _period(wh, start, end)
        table = fast_ranking(wh, d0, d1, category).drop(columns="own")
    if as_json:
        _print_json(records(table))
        return
    out.print(_frame_table(table, f"FAST 健康度榜单 {d0} … {d1}"))


@app.command("grow")
def grow_cmd(
    brand: BrandOpt,
    start0: Annotated[str, typer.Option(help="First day of the base period (YYYY-MM-DD).")],
    end0: Annotated[str, typer.Option(help="Last day of the base period.")],
    start1: Annotated[str, typer.Option(help="First day of the compared period.")],
    end1: Annotated[str, typer.Option(help="Last day of the compared period.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GROW: ΔGMV split exactly into G 渗透 (buyers), R 复购 (frequency), O 价格 (spend per occasion), and W."""
    with _session(workspace, assets=True, read=True) as wh:
        g = grow(wh, brand, (start0, end0), (start1, end1))
        if not g.gmv0 and not g.gmv1:  # the engine answers zeros for a brand it never saw
            _require_key(wh, "brand", brand)
    if as_json:
        _print_json(g.to_dict())
        return
    out.print(f"{brand}: GMV {g.gmv0:,.2f} → {g.gmv1:,.2f} (Δ {g.delta:,.2f})")
    for k, label in (("G", "G 渗透 buyers"), ("R", "R 复购 frequency"), ("O", "O 价格 spend per occasion")):
        out.print(f"  {label:28} {g[k]:>14,.2f}   (new {g.segments['new'][k]:,.2f},"
                  f" returning {g.segments['returning'][k]:,.2f})")
    out.print(f"  W 延展 new-category GMV      {g.W:>14,.2f}")
    wf = g.W_fmcg
    if wf["score"] is not None:
        c = wf["components"]
        out.print(f"  W 新品力 (快消) score          {wf['score']:>14,.1f}   (category median = 100 over {wf['peers']} "
                  f"brands; new products {c['new_product_share_of_new_customers']:.1%} of new customers' GMV, "
                  f"首发期 GMV {c['launch_gmv']:,.2f}, {c['launches_per_quarter']:.1f} launches a quarter)")
    if g.get("crowds"):
        t = Table("strategy crowd", "GMV before", "GMV after", "G", "R", "O", title="by strategy crowd")
        for name, v in sorted(g["crowds"].items(), key=lambda kv: -(kv[1]["gmv1"] - kv[1]["gmv0"])):
            t.add_row(name, f"{v['gmv0']:,.2f}", f"{v['gmv1']:,.2f}", f"{v['G']:,.2f}", f"{v['R']:,.2f}",
                      f"{v['O']:,.2f}")
        out.print(t)
