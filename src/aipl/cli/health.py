"""`aipl fast`, `rank`, `grow`: brand health against the industry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _frame_table,
    _records,
    _session,
    app,
    out,
)


@app.command("fast")
def fast_cmd(
    start: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")],
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """FAST per brand (F 可运营人群, A 加深率, S 会员, T 会员活跃率) with its category's P25/P50/P75/P90."""
    from aipl.assets.health import benchmarks, fast

    with _session(workspace, assets=True) as wh:
        table = fast(wh, start, end)
    bench = benchmarks(table)
    if brand is not None:
        if brand not in set(table.brand_id):
            _fail(f"no brand {brand!r} in the workspace")
        table = table[table.brand_id == brand]
        bench = bench[bench.category_id.isin(table.category_id)]
    if as_json:
        print(json.dumps({"from": start, "to": end, "brands": _records(table), "benchmarks": _records(bench)},
                         ensure_ascii=False))
        return
    out.print(_frame_table(table[["brand_id", "category_id", "F", "F_index", "A", "S", "T"]], f"FAST {start} … {end}"))
    out.print(_frame_table(bench, "industry percentiles per category"))


@app.command("rank")
def rank_cmd(
    start: Annotated[str, typer.Option("--from", help="First day of the period.")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period.")],
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The FAST health ranking (榜单) of brands within each category."""
    from aipl.assets.health import fast, ranking

    with _session(workspace, assets=True) as wh:
        table = ranking(fast(wh, start, end), category)
    cols = ["category_id", "rank", "brand_id", "score", "F", "A", "S", "T"]
    if as_json:
        print(json.dumps(_records(table[cols]), ensure_ascii=False))
        return
    out.print(_frame_table(table[cols], f"FAST 健康度榜单 {start} … {end}"))


@app.command("grow")
def grow_cmd(
    brand: Annotated[str, typer.Option(help="The brand.")],
    period0: Annotated[str, typer.Option(help="Base period FROM:TO, e.g. 2025-10-01:2025-11-11.")],
    period1: Annotated[str, typer.Option(help="Compared period FROM:TO.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GROW: ΔGMV split exactly into G 渗透 (buyers), R 复购 (frequency), O 价格 (spend per occasion), and W."""
    from aipl.assets.health import grow

    def span(s: str) -> tuple[str, str]:
        a, sep, b = s.partition(":")
        if not sep:
            _fail(f"a period is FROM:TO (YYYY-MM-DD:YYYY-MM-DD), not {s!r}")
        return a, b

    with _session(workspace) as wh:
        g = grow(wh, brand, span(period0), span(period1))
    if as_json:
        print(json.dumps(g, ensure_ascii=False))
        return
    out.print(f"{brand}: GMV {g['gmv0']:,.2f} → {g['gmv1']:,.2f} (Δ {g['delta']:,.2f})")
    for k, label in (("G", "G 渗透 buyers"), ("R", "R 复购 frequency"), ("O", "O 价格 spend per occasion")):
        out.print(f"  {label:28} {g[k]:>14,.2f}   (new {g['segments']['new'][k]:,.2f},"
                  f" returning {g['segments']['returning'][k]:,.2f})")
    out.print(f"  W 延展 new-category GMV      {g['W']:>14,.2f}")
    wf = g["W_fmcg"]
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


