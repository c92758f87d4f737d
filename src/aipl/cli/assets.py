"""`aipl assets …`: AIPL / DEEPLINK states, counts and flows."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from aipl.assets import (
    AIPL_LABELS,
    DEEPLINK_LABELS,
    FLOW_STATES,
    attribution,
    deeplink_flow,
    flow,
    flow_cell,
    rebuild,
    series,
    snapshot,
)
from aipl.cli.common import JsonOpt, WorkspaceOpt, _frame_table, _group, _print_json, _records, _session, err, out
from aipl.clv import save_list

assets_app = _group("assets", "Consumer assets: AIPL / DEEPLINK states, counts and flows.")
KeyOpt = Annotated[str, typer.Option(help="The brand id or category id (see --scope).")]
ScopeOpt = Annotated[str, typer.Option(help="brand or category (level-2 category).")]


@assets_app.command("build")
def assets_build(workspace: WorkspaceOpt = None) -> None:
    """Rebuild the AIPL / DEEPLINK condition intervals from all events (done automatically when stale)."""
    t = time.perf_counter()
    with _session(workspace) as wh:
        rows = rebuild(wh, report=lambda msg: err.print(msg))
    sizes = ", ".join(f"{k} {v:,} intervals" for k, v in rows.items())
    out.print(f"built in {time.perf_counter() - t:.1f} s: {sizes}")


@assets_app.command("snapshot")
def assets_snapshot(
    key: KeyOpt,
    day: Annotated[str, typer.Option(help="The day (YYYY-MM-DD, workspace time zone).")],
    scope: ScopeOpt = "brand",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How many consumers are in each AIPL and DEEPLINK state on a day."""
    with _session(workspace, assets=True, read=True) as wh:
        snap = snapshot(wh, scope, key, day)
    if as_json:
        _print_json(snap.to_dict())
        return
    t = Table("state", "consumers", title=f"{scope} {key} on {snap.date}")
    for s, n in snap.counts.items():
        t.add_row(AIPL_LABELS[s], f"{n:,}")
    for s, n in snap.deeplink.items():
        t.add_row("  " + DEEPLINK_LABELS[s], f"{n:,}")
    out.print(t)


@assets_app.command("series")
def assets_series(
    key: KeyOpt,
    start: Annotated[str, typer.Option("--start", "--from", help="The first day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", "--to", help="The last day (YYYY-MM-DD).")],
    scope: ScopeOpt = "brand",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The daily AIPL and DEEPLINK counts of a brand or category over a period (the trend)."""
    with _session(workspace, assets=True, read=True) as wh:
        s = series(wh, scope, key, start, end)
    s = s.assign(day=s.day.astype(str).str[:10])
    if as_json:
        _print_json({"key": key, "scope": scope, "start": s.day.iloc[0], "end": s.day.iloc[-1],
                     "items": _records(s)})
        return
    out.print(_frame_table(s, f"{scope} {key}: consumers per state, day by day"))


@assets_app.command("flow")
def assets_flow(
    key: KeyOpt,
    start: Annotated[str, typer.Option(help="The earlier day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="The later day (YYYY-MM-DD).")],
    scope: ScopeOpt = "brand",
    attribute: Annotated[
        str | None, typer.Option(help="Credit upward moves by channel, touchpoint or event_type.")
    ] = None,
    save_cell: Annotated[str | None, typer.Option(help="Save the consumers of one cell, e.g. A:I, as a list.")] = None,
    deeplink: Annotated[bool, typer.Option(
        "--deeplink", help="DEEPLINK flows instead: 流转率, 环比 rate and each channel's touches.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The flow matrix between two days: counts, 流转率 and new / deepened / regressed / churned."""
    if deeplink:
        with _session(workspace, assets=True, read=True) as wh:
            _print_deeplink(deeplink_flow(wh, scope, key, start, end), as_json)
        return
    credit = None
    with _session(workspace, assets=True, read=not save_cell) as wh:
        f = flow(wh, scope, key, start, end)
        if save_cell:
            cell = flow_cell(wh, scope, key, start, end, save_cell)
            save_list(wh, cell.name, key, end, cell.consumers)
            err.print(f"saved {len(cell.consumers):,} consumers as list {cell.name!r}")
        if attribute and not as_json:
            credit = attribution(wh, scope, key, start, end, by=attribute)
    if as_json:
        _print_json(f.to_dict())
        return
    t = Table(f"{f.start} ↓ / {f.end} →", *FLOW_STATES, title=f"{scope} {key}: flows")
    for s in FLOW_STATES:
        cells = []
        for d in FLOW_STATES:
            n = f.matrix[s][d]
            rate = f.rates.get(s, {}).get(d)
            cells.append(f"{n:,}" + (f" ({rate:.0%})" if rate is not None and n else ""))
        t.add_row(s, *cells)
    out.print(t)
    out.print("  ".join(f"{k} {v:,}" for k, v in f.kinds.items()))
    if credit is not None:
        out.print(_frame_table(credit, f"upward moves credited by {attribute} (last-touch and linear)"))


def _print_deeplink(f, as_json: bool) -> None:
    """DEEPLINK flows as JSON, or one line per flow with its rates and its three leading channels."""
    if as_json:
        _print_json(f.to_dict())
        return

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    t = Table("from", "to", "consumers", "流转率", "环比", "channels (touches)",
              title=f"{f.scope} {f.key}: DEEPLINK flows {f.start} → {f.end} (环比 {f.previous['from']} → "
                    f"{f.previous['to']})")
    for item in f.flows:
        top = ", ".join(f"{c} {n:,}" for c, n in list(item["channels"].items())[:3])
        t.add_row(DEEPLINK_LABELS.get(item["from"], item["from"]), DEEPLINK_LABELS[item["to"]], f"{item['n']:,}",
                  pct(item["rate"]), pct(item["previous_rate"]), top)
    out.print(t)
