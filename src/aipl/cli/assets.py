"""`aipl assets …`: AIPL / DEEPLINK states, counts and flows."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _assets_wh,
    _fail,
    _frame_table,
    _group,
    _open,
    _require_key,
    _session,
    err,
    out,
)

assets_app = _group("assets", "Consumer assets: AIPL / DEEPLINK states, counts and flows.")
ScopeOpt = Annotated[str, typer.Option(help="brand or category (level-2 category).")]






@assets_app.command("build")
def assets_build(workspace: WorkspaceOpt = None) -> None:
    """Rebuild the AIPL / DEEPLINK condition intervals from all events (done automatically when stale)."""
    import time

    from aipl.assets import build

    wh = _open(workspace)
    t = time.perf_counter()
    rows = build(wh, wh.config.assets, report=lambda msg: err.print(msg))
    wh.close()
    sizes = ", ".join(f"{k} {v:,} intervals" for k, v in rows.items())
    out.print(f"built in {time.perf_counter() - t:.1f} s: {sizes}")


@assets_app.command("snapshot")
def assets_snapshot(
    key: Annotated[str, typer.Option(help="The brand id or category id.")],
    date: Annotated[str, typer.Option(help="The day (YYYY-MM-DD, workspace time zone).")],
    scope: ScopeOpt = "brand",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How many consumers are in each AIPL and DEEPLINK state on a day."""
    from aipl.assets import AIPL_LABELS, DEEPLINK_LABELS, snapshot

    with _session(workspace, assets=True) as wh:
        snap = snapshot(wh, scope, key, date)
        if not any(snap["counts"].values()):
            _require_key(wh, scope, key)
    if as_json:
        print(json.dumps(snap, ensure_ascii=False))
        return
    t = Table("state", "consumers", title=f"{scope} {key} on {snap['date']}")
    for s, n in snap["counts"].items():
        t.add_row(AIPL_LABELS[s], f"{n:,}")
    for s, n in snap["deeplink"].items():
        t.add_row("  " + DEEPLINK_LABELS[s], f"{n:,}")
    out.print(t)


@assets_app.command("flow")
def assets_flow(
    key: Annotated[str, typer.Option(help="The brand id or category id.")],
    start: Annotated[str, typer.Option("--from", help="Start day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="End day (YYYY-MM-DD).")],
    scope: ScopeOpt = "brand",
    attribute: Annotated[
        str | None, typer.Option(help="Credit upward moves by channel, touchpoint or event_type.")
    ] = None,
    save_cell: Annotated[str | None, typer.Option(help="Save the consumers of one cell, e.g. A:I, as a list.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The flow matrix between two days: counts, 流转率 and new / deepened / regressed / churned."""
    from aipl.assets import flow
    from aipl.assets.query import FLOW_STATES

    wh = _assets_wh(workspace)
    try:
        f = flow(wh, scope, key, start, end)
        if not sum(n for row in f["matrix"].values() for n in row.values()):
            _require_key(wh, scope, key)
        if save_cell:
            from aipl.assets import movers
            from aipl.clv import save_list

            s0, _, s1 = save_cell.partition(":")
            if s0 not in FLOW_STATES or s1 not in FLOW_STATES:
                _fail(f"a cell is FROM:TO over {', '.join(FLOW_STATES)}, not {save_cell!r}")
            m = movers(wh, scope, key, start, end)
            ids = m.filter((m.s0 == s0) & (m.s1 == s1)).select("consumer_id").execute()
            name = f"flow_{key}_{s0}_to_{s1}_{f['from']}_{f['to']}"
            save_list(wh, name, key, end, ids)
            err.print(f"saved {len(ids):,} consumers as list {name!r}")
    except ValueError as exc:
        _fail(str(exc))
    finally:
        wh.close()
    if as_json:
        print(json.dumps(f, ensure_ascii=False))
        return
    t = Table(f"{f['from']} ↓ / {f['to']} →", *FLOW_STATES, title=f"{scope} {key}: flows")
    for s in FLOW_STATES:
        cells = []
        for d in FLOW_STATES:
            n = f["matrix"][s][d]
            rate = f["rates"].get(s, {}).get(d)
            cells.append(f"{n:,}" + (f" ({rate:.0%})" if rate is not None and n else ""))
        t.add_row(s, *cells)
    out.print(t)
    out.print("  ".join(f"{k} {v:,}" for k, v in f["kinds"].items()))
    if attribute:
        from aipl.assets import attribution

        wh = _open(workspace)
        try:
            credit = attribution(wh, scope, key, start, end, by=attribute)
        finally:
            wh.close()
        out.print(_frame_table(credit, f"upward moves credited by {attribute} (last-touch and linear)"))








