"""The `aipl` command: a thin layer over the library."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aipl.config import ConfigError, init_workspace, workspace_dir

app = typer.Typer(
    help="aipl — consumer operations for brands: load behaviour, order and ad data; see consumer assets.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console()

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: $AIPL_WORKSPACE, else the current folder)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(msg)}")
    raise typer.Exit(code)


def _open(workspace: Path | None):
    from aipl.warehouse import open_warehouse

    try:
        return open_warehouse(workspace)
    except ConfigError as exc:
        _fail(str(exc))


def _group(name: str, help_text: str) -> typer.Typer:
    """A command group `aipl NAME …`."""
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


@contextlib.contextmanager
def _session(workspace: Path | None, assets: bool = False):
    """The workspace's warehouse for one command (assets brought up to date first); bad requests exit 2."""
    wh = _assets_wh(workspace) if assets else _open(workspace)
    try:
        yield wh
    except ValueError as exc:  # a request the data cannot answer (bad day, scope, brand …)
        _fail(str(exc))
    finally:
        wh.close()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    backend: Annotated[str, typer.Option(help="duckdb (embedded) or spark.")] = "duckdb",
    timezone: Annotated[str, typer.Option(help="Time zone that cuts days.")] = "Asia/Shanghai",
) -> None:
    """Create a workspace: aipl.toml and an empty warehouse."""
    from aipl.warehouse import open_warehouse

    try:
        root = init_workspace(directory, backend=backend, timezone=timezone)
    except ConfigError as exc:
        _fail(str(exc))
    open_warehouse(root).close()
    out.print(f"workspace ready: {root} (backend {backend}, time zone {timezone})")


@app.command()
def formats() -> None:
    """List the input formats `aipl ingest --format` understands."""
    from aipl.ingest import FORMATS

    t = Table("format", "what it reads", show_lines=True)
    for name in sorted(FORMATS):
        t.add_row(name, FORMATS[name].doc)
    out.print(t)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A CSV, .csv.gz or Parquet file, or a dataset folder.")],
    format: Annotated[str, typer.Option("--format", "-f", help="Input format; see `aipl formats`.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and load a file: good rows into the warehouse, bad rows into quarantine, all or nothing."""
    from aipl.ingest import SourceError
    from aipl.ingest import ingest as run

    wh = _open(workspace)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    stage: dict = {"label": None, "task": None}

    def report(label: str, pct: float | None) -> None:
        if label != stage["label"]:  # a new stage pulses until DuckDB tells how far it is
            if stage["task"] is not None:
                progress.remove_task(stage["task"])
            stage.update(label=label, task=progress.add_task(label, total=None))
        if pct:
            progress.update(stage["task"], total=100, completed=pct)

    try:
        with progress:
            result = run(wh, path, format, report=report)
    except SourceError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: nothing was written; the warehouse is as it was[/]")
        raise typer.Exit(130) from None
    finally:
        wh.close()
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    t = Table("source", "target", "read", "accepted", "rejected", title=f"ingest {path} ({format})")
    for r in result.loads:
        note = " (already loaded: unchanged)" if r.skipped else ""
        t.add_row(Path(r.source).name, r.target + note, f"{r.read:,}", f"{r.accepted:,}", f"{r.rejected:,}")
    out.print(t)
    for r in result.loads:
        for field, n in r.reasons.items():
            out.print(f"  quarantined {n:,} row(s) of {Path(r.source).name} → {r.target}: field {field}")
    out.print(f"read {result.read:,} = accepted {result.accepted:,} + rejected {result.rejected:,}")
    if result.rejected:
        out.print("see them with: aipl quarantine")


@app.command()
def quarantine(
    workspace: WorkspaceOpt = None,
    source: Annotated[str | None, typer.Option(help="Only rows from files whose path contains this.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show quarantined rows: file, line, field, reason and the raw record."""
    wh = _open(workspace)
    q = wh.table("quarantine")
    if source:
        q = q.filter(q.source.contains(source))
    rows = q.order_by(["source", "line"]).limit(limit).execute()
    total = int(q.count().execute())
    wh.close()
    if as_json:
        print(json.dumps({"total": total, "rows": json.loads(rows.to_json(orient="records"))}, ensure_ascii=False))
        return
    t = Table("file", "line", "target", "field", "reason", "raw", title=f"quarantine ({total:,} rows)")
    for r in rows.itertuples():
        t.add_row(Path(r.source).name, str(r.line), r.target, r.field, r.reason, (r.raw or "")[:60])
    out.print(t)


@app.command()
def status(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Row counts of every table and the batches loaded."""
    from aipl import schema

    wh = _open(workspace)
    counts = {name: wh.count(name) for name in (*schema.TABLES, *schema.SYSTEM_TABLES)}
    rows = wh.table("batches").order_by("loaded_at").execute()
    batches = json.loads(rows.to_json(orient="records", date_format="iso"))
    wh.close()
    if as_json:
        print(json.dumps({"workspace": str(workspace_dir(workspace)), "tables": counts, "batches": batches}))
        return
    t = Table("table", "rows")
    for k, v in counts.items():
        t.add_row(k, f"{v:,}")
    out.print(t)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the market's files and truth.json.")],
    consumers: int = 20_000,
    days: int = 60,
    brands: int = 12,
    start: str = "2026-09-15",
    seed: int = 7,
    holdout: float = 0.10,
    lead_days: Annotated[int, typer.Option(help="Days of organic behaviour before the campaign and holdout "
                                           "start (a pre-period for lift covariates).")] = 0,
    seasons: Annotated[int, typer.Option(help="Campaign seasons a year apart (2: last year's and this year's, "
                                         "for plans and backtests).")] = 1,
    lead_ads: Annotated[bool, typer.Option(help="Run everyday ads in the lead-in too (a brand with a history).")
                        ] = False,
    load: Annotated[bool, typer.Option("--ingest", help="Also load the files into the workspace.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Generate a synthetic market with hidden ground truth (seeded, reproducible)."""
    from aipl.simulate import MarketSpec, simulate_market

    spec = MarketSpec(consumers=consumers, days=days, brands=brands, start=start, seed=seed, holdout=holdout,
                      lead_days=lead_days, seasons=seasons, lead_ads=lead_ads)
    with Progress(TextColumn("simulating day {task.completed}/{task.total}"), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as p:
        task = p.add_task("sim", total=days + lead_days)
        simulate_market(spec, out_dir, progress=lambda d, n: p.update(task, completed=d, total=n))
    out.print(f"market written to {out_dir.resolve()} (ground truth: truth.json)")
    if load:
        _ingest_market(out_dir, workspace)


def _ingest_market(folder: Path, workspace: Path | None) -> None:
    from aipl.simulate.load import load_market

    wh = _open(workspace)
    try:
        for r in load_market(wh, folder):
            out.print(f"  loaded {Path(r.path).name}: read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}")
    finally:
        wh.close()


@app.command()
def report(
    workspace: WorkspaceOpt = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: <workspace>/report.html, or "
                                  "<workspace>/postmortem-<campaign>-<brand>.html).")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="Write this campaign's post-mortem (结案) instead.")] = None,
    brand: Annotated[str | None, typer.Option(help="The brand of the post-mortem (default: the campaign's).")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Also write the post-mortem as PDF to this file.")] = None,
) -> None:
    """Write the HTML report of the workspace, or a campaign's post-mortem (HTML, optionally PDF)."""
    from aipl.report import cjk_font, write_postmortem, write_report
    from aipl.simulate.load import find_truth

    if pdf and not campaign:
        _fail("--pdf goes with --campaign (the post-mortem)")
    with _session(workspace, assets=bool(campaign)) as wh:
        if campaign:
            target = out_file or wh.config.root / f"postmortem-{campaign}-{brand or 'campaign'}.html"
            if pdf and not cjk_font():
                err.print("[yellow]warning:[/] no Chinese font is installed (e.g. Debian's fonts-noto-cjk): the "
                          "PDF's Chinese labels will show as boxes")
            path = write_postmortem(wh, campaign, target, brand, pdf)
        else:
            path = write_report(wh, out_file or wh.config.root / "report.html", truth=find_truth(wh.config.root))
    out.print(f"report written: {path}" + (f" and {pdf}" if pdf else ""))


@app.command()
def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Folder for the demo workspace.")] = Path(
        "aipl-demo"
    ),
    consumers: int = 20_000,
) -> None:
    """The main job end to end on bundled data: a workspace, a synthetic market, CDNOW, ingestion, the report."""
    from importlib.resources import files

    from aipl.ingest import ingest as run
    from aipl.report import write_postmortem, write_report
    from aipl.simulate.load import find_truth

    root = init_workspace(workspace)
    out.print(f"[1/4] workspace {root}")
    market = root / "market"
    simulate(out_dir=market, consumers=consumers, days=60, brands=12, start="2025-09-15", seed=7, holdout=0.1,
             lead_days=30, seasons=2, load=False, workspace=root)
    out.print("[2/4] loading the synthetic market (validated like any file)")
    _ingest_market(market, root)
    out.print("[3/4] loading the bundled CDNOW sample and a deliberately dirty file")
    wh = _open(root)
    try:
        data = Path(str(files("aipl") / "data"))
        for name, fmt in (("CDNOW_sample.txt", "cdnow"), ("events_dirty.csv", "events")):
            r = run(wh, data / name, fmt)
            out.print(f"  {name}: read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}")
        out.print("[4/4] consumer assets (AIPL, DEEPLINK, flows, FAST, GROW), CLV value, members, crowd tags, "
                  "the GTA plan, campaign lift, the report and B01's post-mortem (结案)")
        from aipl.audience import refresh

        refresh(wh, wh.last_day())
        path = write_report(wh, root / "report.html", truth=find_truth(root))
        pm = write_postmortem(wh, "sim_double11", root / "postmortem-B01.html", "B01")
    finally:
        wh.close()
    out.print(f"report written: {path}; post-mortem: {pm}")


assets_app = _group("assets", "Consumer assets: AIPL / DEEPLINK states, counts and flows.")
ScopeOpt = Annotated[str, typer.Option(help="brand or category (level-2 category).")]


def _assets_wh(workspace: Path | None):
    from aipl.assets import ensure_built

    wh = _open(workspace)
    if ensure_built(wh, report=lambda msg: err.print(f"building consumer assets: {msg}")):
        err.print("consumer assets built")
    return wh


def _require_key(wh, scope: str, key: str) -> None:
    """Exit 2 when no consumer of the brand or category was ever in a state (most likely a mistyped key)."""
    from aipl.assets.query import has_key

    if not has_key(wh, scope, key):
        _fail(f"no {scope} {key!r} in the workspace's consumer assets")


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


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _frame_table(df, title: str) -> Table:
    t = Table(*[str(c) for c in df.columns], title=title)
    for row in df.itertuples(index=False):
        t.add_row(*[_cell(v) for v in row])
    return t


def _records(df) -> list[dict]:
    return json.loads(df.to_json(orient="records", force_ascii=False))


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


clv_app = _group("clv", "Customer lifetime value: BG/NBD, Pareto/NBD, Gamma-Gamma.")


@contextlib.contextmanager
def _file_or_workspace(file: Path | None, fmt: str | None, workspace: Path | None):
    """A warehouse holding FILE (validated into a temporary workspace), or the workspace's own."""
    import tempfile

    from aipl.ingest import SourceError
    from aipl.ingest import ingest as run
    from aipl.warehouse import open_warehouse

    if file is None:
        with _session(workspace) as wh:
            yield wh
        return
    if not fmt:
        _fail("give --format with FILE (e.g. --format cdnow)")
    with tempfile.TemporaryDirectory(prefix="aipl-file-") as tmp:
        wh = open_warehouse(init_workspace(tmp))
        try:
            try:
                r = run(wh, file, fmt)
            except SourceError as exc:
                _fail(str(exc))
            if r.rejected:  # the temporary workspace goes away: say here which rows and why
                err.print(f"{r.rejected:,} of {r.read:,} rows of {file} were quarantined and left out:")
                q = wh.table("quarantine").order_by(["line", "target"]).limit(10).execute()
                for row in q.itertuples():
                    err.print(f"  line {row.line} ({row.target}.{row.field}): {escape(str(row.reason))}")
                if r.rejected > len(q):
                    err.print(f"  … and {r.rejected - len(q):,} more (load it with `aipl ingest` to see them all)")
            yield wh
        except ValueError as exc:
            _fail(str(exc))
        finally:
            wh.close()


def _clv_summary(file: Path | None, fmt: str | None, workspace: Path | None, brand: str | None,
                 calibration_end: str, time_unit: str):
    """The calibration summary from a file (validated into a temporary workspace) or from a workspace."""
    from aipl.clv import rfm_summary

    with _file_or_workspace(file, fmt, workspace) as wh:
        summary = rfm_summary(wh, calibration_end, time_unit, brand=brand)
    if summary.empty:
        _fail("no purchases before the calibration end" + (f" for brand {brand}" if brand else ""))
    return summary


@clv_app.command("fit")
def clv_fit(
    file: Annotated[Path | None, typer.Argument(help="A transaction file to read directly (with --format).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE, e.g. cdnow.")] = None,
    calibration_end: Annotated[str, typer.Option(help="Last day of the calibration period (YYYY-MM-DD).")] = "",
    time_unit: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    model: Annotated[str, typer.Option(help="bgnbd, pareto_nbd or gamma_gamma.")] = "bgnbd",
    brand: Annotated[str | None, typer.Option(help="Only this brand's purchases.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a CLV model by maximum likelihood and print its parameters and log-likelihood."""
    from aipl.clv import MODELS

    if model not in MODELS:
        _fail(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if not calibration_end:
        _fail("give --calibration-end YYYY-MM-DD")
    s = _clv_summary(file, fmt, workspace, brand, calibration_end, time_unit)
    m = MODELS[model]()
    if model == "gamma_gamma":
        m.fit(s.frequency, s.monetary)
    else:
        m.fit(s.frequency, s.recency, s["T"])
    body = {"model": model, "params": m.params_, "loglik": m.loglik_, "customers": m.n_customers_,
            "time_unit": time_unit, "calibration_end": calibration_end}
    if as_json:
        print(json.dumps(body))
        return
    out.print(f"{model} on {m.n_customers_:,} customers (time unit {time_unit}, calibration to {calibration_end})")
    for k, v in m.params_.items():
        out.print(f"  {k:6} = {v:.4f}")
    out.print(f"  log-likelihood = {m.loglik_:,.2f}")


@clv_app.command("value")
def clv_value(
    brand: Annotated[str, typer.Option(help="The brand.")],
    calibration_end: Annotated[str, typer.Option(help="The valuation day (YYYY-MM-DD).")],
    months: Annotated[int, typer.Option(help="Horizon in months (default: 3 years).")] = 36,
    monthly_discount: Annotated[float, typer.Option(help="Discount rate per month.")] = 0.01,
    time_unit: Annotated[str, typer.Option(help="Model time unit: day, week or month.")] = "week",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write per-consumer values (.csv or .parquet).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The brand's consumer-asset value: 3-year CLV per consumer, summed by AIPL and DEEPLINK state."""
    from aipl.clv import asset_value

    with _session(workspace, assets=True) as wh:
        consumers, by_state = asset_value(wh, brand, calibration_end, months, monthly_discount, time_unit)
    if out_file is not None:
        (consumers.to_parquet if out_file.suffix == ".parquet" else consumers.to_csv)(out_file, index=False)
        err.print(f"per-consumer values written to {out_file}")
    meta = by_state.attrs
    body = {**{k: meta[k] for k in ("brand", "calibration_end", "months", "new_customer_value", "conversion")},
            "total": float(by_state.value.sum()), "by_state": _records(by_state)}
    if as_json:
        print(json.dumps(body, ensure_ascii=False))
        return
    out.print(_frame_table(by_state, f"{brand}: consumer-asset value over {months} months at {calibration_end}"))
    out.print(f"total {body['total']:,.2f}; A and I are conversion estimates (30-day conversion "
              f"A {meta['conversion']['A']:.1%}, I {meta['conversion']['I']:.1%} × a new customer's "
              f"{meta['new_customer_value']:,.2f})")


@clv_app.command("predict")
def clv_predict(
    calibration_end: Annotated[str, typer.Option(help="Last day of the calibration period.")],
    out_file: Annotated[Path, typer.Option("--out", help="Predictions file (.csv or .parquet).")],
    horizon: Annotated[float, typer.Option(help="Predict purchases over this many time units.")] = 52,
    time_unit: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    brand: Annotated[str | None, typer.Option(help="Only this brand's purchases.")] = None,
    file: Annotated[Path | None, typer.Argument(help="A transaction file to read directly (with --format).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE, e.g. cdnow.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Per customer: P(alive), expected purchases over the horizon, expected spend and discounted 3-year CLV."""
    from aipl.clv import BetaGeo, GammaGamma

    s = _clv_summary(file, fmt, workspace, brand, calibration_end, time_unit)
    bg = BetaGeo().fit(s.frequency, s.recency, s["T"])
    gg = GammaGamma().fit(s.frequency, s.monetary)
    x, tx, T, m = s.frequency, s.recency, s["T"], s.monetary
    s["p_alive"] = bg.p_alive(x, tx, T)
    s["expected_purchases"] = bg.predict(horizon, x, tx, T)
    s["expected_spend"] = gg.expected_spend(x, m)
    s["clv_36m"] = gg.clv(bg, x, tx, T, m, units_per_month=365.25 / 12 / {"day": 1, "week": 7, "month": 30}[time_unit])
    (s.to_parquet if out_file.suffix == ".parquet" else s.to_csv)(out_file, index=False)
    out.print(f"{len(s):,} customers → {out_file} (BG/NBD {bg.params_}, Gamma-Gamma {gg.params_})")


members_app = _group("members", "Member operations: lapsed buckets, activity, recall and reactivation lists.")


@members_app.command("summary")
def members_summary(
    brand: Annotated[str, typer.Option(help="The brand.")],
    date: Annotated[str, typer.Option(help="The day (YYYY-MM-DD).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Buyers and members by days since their last purchase (30/60/180 天未购), activity and reactivation."""
    from aipl.clv import member_status, member_summary

    with _session(workspace) as wh:
        summary = member_summary(member_status(wh, brand, date))
    if as_json:
        print(json.dumps({"brand": brand, "date": date, **summary}))
        return
    rate = summary["member_activity_rate"]
    out.print(f"{brand} on {date}: {summary['buyers']:,} buyers, {summary['members']:,} members"
              f" (active in 30 days: {'—' if rate is None else f'{rate:.1%}'})")
    for b, n in summary["buckets"].items():
        out.print(f"  {b:14} {n:,}")
    out.print(f"  老会员激活 reactivation list: {summary['reactivation']:,}")


@members_app.command("list")
def members_list(
    brand: Annotated[str, typer.Option(help="The brand.")],
    date: Annotated[str, typer.Option(help="The day (YYYY-MM-DD).")],
    kind: Annotated[str, typer.Option(help="active, lapsed_30, lapsed_60, lapsed_180, never_bought, reactivation.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Export the ids (.csv or .parquet).")] = None,
    save: Annotated[str | None, typer.Option(help="Also save the list in the warehouse under this name.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Build a recall or reactivation list; save it for crowds and the autopilot, or export it (min. size applies)."""
    from aipl.audience.crowds import export_ids
    from aipl.clv import member_status, save_list, select_list

    with _session(workspace) as wh:
        ids = select_list(member_status(wh, brand, date), kind)
        if save:
            save_list(wh, save, brand, date, ids)
            out.print(f"saved {len(ids):,} consumers as list {save!r} of {brand}")
        if out_file is not None:
            export_ids(wh, f"the {kind} list of {brand} on {date}", ids, out_file)
            out.print(f"exported {len(ids):,} consumer ids to {out_file} (logged in crowd_exports)")
    if not save and out_file is None:
        out.print(f"{len(ids):,} consumers in {kind} (use --save NAME or --out FILE)")


# ---- measurement
FileArg = Annotated[Path | None, typer.Argument(help="A file to read directly (with --format), not the workspace.")]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE, e.g. hillstrom.")]
MetricOpt = Annotated[list[str] | None, typer.Option("--metric", help="visit, conversion, purchases or spend "
                                                     "(repeatable; default: all).")]
LabelOpt = Annotated[list[str] | None, typer.Option("--label", help="A pre-treatment label to adjust for "
                                                    "(repeatable; labels table).")]


def _format_defaults(fmt: str | None) -> tuple[str, ...]:
    """Pre-treatment labels a file format carries (Hillstrom: history, recency, …)."""
    if fmt == "hillstrom":
        from aipl.ingest.adapters.hillstrom import PRE_TREATMENT

        return PRE_TREATMENT
    return ()


def _print_lift(res: dict) -> None:
    kind = "randomised" if res["kind"] == "randomised" else "[bold yellow]OBSERVATIONAL[/]"
    out.print(f"{kind} lift, method {res['method']}, brand {res.get('brand') or 'all'}, "
              f"{res['window']['start']} .. {res['window']['end']}")
    if res.get("warning"):
        out.print(f"[yellow]{escape(res['warning'])}[/]")
    metrics = [k for k in res["arms"][0] if k.endswith(("_rate", "_per_head"))]
    t = Table("arm", "n", *metrics, title="arms")
    for a in res["arms"]:
        t.add_row(escape(a["arm"]) + (" (control)" if a.get("control") else ""), f"{a['n']:,}",
                  *[f"{a[m]:.4f}" for m in metrics])
    out.print(t)
    t = Table("arm", "metric", "lift", "95% interval", "relative", "incremental", title="lift over control")
    for a in res["arms"]:
        for m, e in a.get("lift", {}).items():
            rel = f"{e['relative']:+.1%}" if e["relative"] is not None else "—"
            t.add_row(escape(a["arm"]), m, f"{e['effect']:+.5f}", f"[{e['ci_low']:+.5f}, {e['ci_high']:+.5f}]", rel,
                      f"{e['incremental']:+,.1f}")
    out.print(t)
    if res.get("covariates"):
        out.print(f"adjusted for: {', '.join(res['covariates'])}")


@app.command("lift")
def lift_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    campaign: Annotated[str | None, typer.Option(help="The campaign (its dates set the window).")] = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment (assignments).")] = None,
    brand: Annotated[str | None, typer.Option(help="The brand whose outcomes count.")] = None,
    method: Annotated[str | None, typer.Option(help="difference_in_means or cuped (randomised); ipw or "
                                               "doubly_robust (observational).")] = None,
    metric: MetricOpt = None,
    label: LabelOpt = None,
    days: Annotated[int, typer.Option(help="Outcome window in days from assignment (no campaign).")] = 14,
    pre_days: Annotated[int, typer.Option(help="Pre-period for the covariates, in days.")] = 30,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lift of a campaign or experiment over its control, with confidence intervals (randomised when a holdout
    exists, else an observational estimate labelled as such)."""
    from aipl.measure import OUTCOMES, campaign_lift, experiment_lift

    metrics = tuple(metric or OUTCOMES)
    labels = tuple(label or _format_defaults(fmt))
    with _file_or_workspace(file, fmt, workspace) as wh:
        if campaign:
            res = campaign_lift(wh, campaign, brand, experiment, method, metrics, pre_days, labels)
        else:
            res = experiment_lift(wh, experiment or _only_experiment(wh), brand, None, metrics, method or "cuped",
                                  labels, days, pre_days)
    if as_json:
        print(json.dumps(res, default=str, ensure_ascii=False))
        return
    _print_lift(res)


def _only_experiment(wh) -> str:
    a = wh.table("assignments")
    known = sorted(a.select("experiment_id").distinct().execute().experiment_id)
    if len(known) != 1:
        _fail("name the --experiment" + (f" (one of {', '.join(known)})" if known else
                                         ": the workspace has no experiment"))
    return known[0]


@app.command("uplift")
def uplift_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment to learn from.")] = None,
    arm: Annotated[str | None, typer.Option(help="The treated arm (message) to target.")] = None,
    metric: Annotated[str, typer.Option(help="visit, conversion, purchases or spend.")] = "conversion",
    learner: Annotated[str, typer.Option(help="t or x (T- or X-learner) for the final scores.")] = "x",
    label: LabelOpt = None,
    brand: Annotated[str | None, typer.Option(help="The brand whose outcomes count.")] = None,
    budget: Annotated[float, typer.Option(help="Budget for contacts (0: evaluate only).")] = 0.0,
    cost: Annotated[float, typer.Option(help="Cost of one contact.")] = 1.0,
    value: Annotated[float, typer.Option(help="Value of one incremental response (0: any positive uplift).")] = 0.0,
    save: Annotated[str | None, typer.Option(help="Save the chosen consumers as a list under this name.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Export chosen ids, uplift (.csv/.parquet).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who to send a coupon or recall message to: T/X-learner uplift, Qini on held-out consumers, top under budget."""
    from aipl.measure.uplift import uplift_targets

    labels = tuple(label or _format_defaults(fmt))
    if save and file is not None:
        _fail("--save keeps a list in a workspace: load the file with `aipl ingest` first, or use --out")
    with _file_or_workspace(file, fmt, workspace) as wh:
        res = uplift_targets(wh, experiment or _only_experiment(wh), arm, metric, learner, brand, labels, budget,
                             cost, value)
        chosen = res.pop("selected")
        res.pop("qini")
        if save and len(chosen):
            from aipl.clv import save_list

            save_list(wh, save, brand or "", res["window"]["end"], chosen[["consumer_id"]])
        if out_file is not None:
            from aipl.audience.crowds import export_ids

            export_ids(wh, f"uplift targets of {res['arm']}", chosen, out_file)
    res["chosen"] = len(chosen)
    if as_json:
        print(json.dumps(res, default=str))
        return
    out.print(f"uplift of {escape(res['arm'])} on {metric}, experiment {res['experiment']}: learned from "
              f"{', '.join(res['features'])}; {res['train']:,} consumers to fit, {res['test']:,} held out")
    t = Table("learner", "Qini coefficient", "AUUC", "mean Qini gain over random", title="held-out evaluation")
    for e in res["evaluation"]:
        t.add_row(e["learner"], f"{e.get('qini_coefficient', float('nan')):.4f}",
                  f"{e.get('uplift_auc', float('nan')):.4f}", f"{e['qini_gain']:+,.1f}")
    out.print(t)
    if budget:
        out.print(f"chosen {len(chosen):,} of {res['scored']:,} consumers under budget {budget:,.2f} "
                  f"(cost {cost:,.2f} each): expected +{res['expected_incremental']:,.1f} {metric}, against "
                  f"+{res['expected_incremental_untargeted']:,.1f} for as many consumers at random")
    if save and len(chosen):
        out.print(f"saved as list {save!r}")
    if out_file is not None:
        out.print(f"exported {len(chosen):,} consumers to {out_file}")


pi_app = _group("pi", "Purchase-intent index (PI): weights per industry, PI and its lift per campaign.")


@pi_app.command("learn")
def pi_learn(
    industry: Annotated[str, typer.Option(help="Level-1 category (products.category_l1), e.g. beauty.")],
    date: Annotated[str, typer.Option(help="Behaviours before this day predict purchases from it (YYYY-MM-DD).")],
    horizon: Annotated[int, typer.Option(help="Days of later purchases to predict.")] = 30,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Learn and save the industry's behaviour weights by regressing next-30-day purchase on the behaviours."""
    from aipl.measure.pi import learn_weights

    with _session(workspace) as wh:
        res = learn_weights(wh, industry, date, horizon)
    if as_json:
        print(json.dumps(res))
        return
    out.print(f"PI weights for {industry} from {res['pairs']:,} consumer-brand pairs ({res['buyers']:,} bought "
              f"within {horizon} days of {res['as_of']}):")
    for b, w in res["weights"].items():
        out.print(f"  {b:15} {w:.3f}")


@pi_app.command("campaign")
def pi_campaign(
    campaign: Annotated[str, typer.Argument(help="The campaign.")],
    brand: Annotated[str | None, typer.Option(help="The brand (default: the campaign's).")] = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment holding the control.")] = None,
    method: Annotated[str | None, typer.Option(help="difference_in_means, ipw or doubly_robust.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """PI of exposed and control consumers over the campaign, the lift with its interval, and channel credit."""
    from aipl.measure.pi import campaign_pi

    with _session(workspace) as wh:
        res = campaign_pi(wh, campaign, brand, experiment, method)
    if as_json:
        print(json.dumps(res, default=str))
        return
    lift = res["lift"]
    kind = res["kind"] if res["kind"] == "randomised" else "[bold yellow]OBSERVATIONAL[/]"
    out.print(f"PI of {res['brand']} in {campaign} ({res['window']['start']} .. {res['window']['end']}), {kind}, "
              f"weights {res['weights_source']}")
    exp, ctl = res["groups"]
    t = Table("behaviour", "weight", f"exposed (n={exp['n']:,})", f"control (n={ctl['n']:,})",
              title="share of consumers showing each behaviour")
    for b, w in res["weights"].items():
        t.add_row(b, f"{w:.3f}", f"{exp['rates'][b]:.4f}", f"{ctl['rates'][b]:.4f}")
    t.add_row("PI (0-100)", "", f"{exp['pi']:.2f}", f"{ctl['pi']:.2f}", style="bold")
    out.print(t)
    out.print(f"PI lift {lift['effect']:+.3f} points, 95% interval [{lift['ci_low']:+.3f}, {lift['ci_high']:+.3f}] "
              f"({lift['method']})")
    if res["credit"]:
        out.print("behaviours credited to channels (linear, 15-day window): " + ", ".join(
            f"{c['channel']} {c['share']:.0%}" for c in res["credit"]))


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


# ---- crowds
crowd_app = _group("crowd", "Crowds (达摩盘): tags, the crowd language, counts, insight, lookalike, export.")
ExprArg = Annotated[str, typer.Argument(help='A crowd: an expression (e.g. \'city_tier in (3,4) and age between '
                                        '18 and 30\'), its JSON tree, or a saved or built-in crowd\'s name.')]


def _crowd_tree(wh, expr: str) -> dict:
    from aipl.audience import CrowdSyntaxError
    from aipl.audience.crowds import saved, tree_of

    if expr.isidentifier():  # a bare name is never an expression: a saved or built-in crowd ("no crowd named …")
        return saved(wh, expr)["tree"]
    try:
        return tree_of(expr)
    except CrowdSyntaxError as exc:
        _fail(f"the crowd expression does not parse {exc}")


@crowd_app.command("refresh")
def crowd_refresh(
    date: Annotated[str, typer.Option(help="The tag day (YYYY-MM-DD): windows end on it.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Compute the tags for a day and bring the bitmap index up to date (only changed bitmaps are rewritten)."""
    from aipl.audience import refresh

    with _session(workspace, assets=True) as wh:
        res = refresh(wh, date, report=lambda m: err.print(f"  {m}"))
    out.print(f"tags of {res['day']}: {res['new_ids']:,} new consumers, {res['bitmaps_rewritten']:,} bitmaps rewritten")


@crowd_app.command("tags")
def crowd_tags(as_json: JsonOpt = False) -> None:
    """The tag catalogue."""
    from aipl.audience import CATALOGUE

    if as_json:
        print(json.dumps([vars(t) for t in CATALOGUE.values()], ensure_ascii=False))
        return
    t = Table("tag", "名称", "name", "kind", "per", "description")
    for tag in CATALOGUE.values():
        t.add_row(tag.name, tag.zh, tag.en, tag.kind, tag.key or "", tag.description)
    out.print(t)


@crowd_app.command("count")
def crowd_count(expr: ExprArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """How many consumers a crowd holds (and how long the bitmap evaluation took)."""
    import time

    from aipl.audience import TagIndex, to_text

    with _session(workspace) as wh:
        tree = _crowd_tree(wh, expr)
        index = TagIndex.load(wh)
        t0 = time.perf_counter()
        n = index.count(tree)
        ms = 1000 * (time.perf_counter() - t0)
    if as_json:
        print(json.dumps({"expr": to_text(tree), "tree": tree, "count": n, "of": len(index.universe),
                          "day": str(index.day), "ms": ms}, ensure_ascii=False))
        return
    out.print(f"{n:,} of {len(index.universe):,} consumers ({ms:.2f} ms) on {index.day}: {escape(to_text(tree))}")


@crowd_app.command("create")
def crowd_create(name: Annotated[str, typer.Argument(help="The crowd's name.")], expr: ExprArg,
                 workspace: WorkspaceOpt = None) -> None:
    """Save a named crowd (valid for 90 days); other crowds can use it as crowd("name")."""
    from aipl.audience.crowds import save

    with _session(workspace) as wh:
        row = save(wh, name, _crowd_tree(wh, expr))
    out.print(f"crowd {name!r}: {row['coverage']:,} consumers, valid until {row['valid_until']}")


@crowd_app.command("list")
def crowd_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Saved and built-in crowds."""
    from aipl.audience.crowds import listing

    with _session(workspace) as wh:
        df = listing(wh)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False, date_format="iso"))
        return
    t = Table("name", "source", "coverage", "expression")
    for r in df.itertuples():
        cov = getattr(r, "coverage", None)
        t.add_row(r.name, escape(str(r.source)), f"{int(cov):,}" if cov == cov and cov is not None else "",
                  escape(r.expr))
    out.print(t)


@crowd_app.command("insight")
def crowd_insight(
    expr: ExprArg,
    base: Annotated[str | None, typer.Option(help="The base crowd (default: everyone).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only these tags (repeatable).")] = None,
    brand: Annotated[str | None, typer.Option(help="Also the crowd's AIPL flow with this brand …")] = None,
    start: Annotated[str | None, typer.Option("--from", help="… from this day …")] = None,
    end: Annotated[str | None, typer.Option("--to", help="… to this day.")] = None,
    compare: Annotated[list[str] | None, typer.Option(help="Other crowds to overlap with (repeatable).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A crowd's profile against a base (TGI per tag value), its overlap with other crowds, its AIPL flow."""
    from aipl.audience import TagIndex
    from aipl.audience.crowds import crowd_flow, insight, overlap

    with _session(workspace) as wh:
        index = TagIndex.load(wh)
        ids = index.evaluate(_crowd_tree(wh, expr))
        base_ids = index.evaluate(_crowd_tree(wh, base)) if base else None
        prof = insight(index, ids, base_ids)
        if tag:
            prof = prof[prof.tag.isin(tag)]
        over = overlap({expr: ids, **{c: index.evaluate(_crowd_tree(wh, c)) for c in compare or []}})
        flow = crowd_flow(wh, ids, brand, start, end) if brand and start and end else None
    body = {"size": len(ids), "profile": prof.to_dict(orient="records"), "overlap": over.to_dict(orient="records"),
            "flow": flow}
    if as_json:
        print(json.dumps(body, default=str, ensure_ascii=False))
        return
    out.print(f"{len(ids):,} consumers")
    t = Table("tag", "key", "value", "crowd", "base", "TGI")
    for r in prof.itertuples():
        t.add_row(r.tag, r.key if isinstance(r.key, str) else "", str(r.value), f"{r.crowd_share:.1%}",
                  f"{r.base_share:.1%}", f"{r.tgi:.0f}" if r.tgi == r.tgi and r.tgi is not None else "—")
    out.print(t)
    for r in over.itertuples():
        out.print(f"overlap {escape(r.a)} ∩ {escape(r.b)}: {r.both:,} (Jaccard {r.jaccard:.3f})")
    if flow:
        out.print(f"AIPL flow with {brand} {start} → {end}: " + "; ".join(
            f"{a}→{b} {n:,}" for a, row in flow["matrix"].items() for b, n in row.items() if n))


@crowd_app.command("lookalike")
def crowd_lookalike(
    seed: ExprArg,
    k: Annotated[float, typer.Option(help="Multiple of the seed's size (放大倍数).")] = 3.0,
    save: Annotated[str | None, typer.Option(help="Save the lookalike crowd under this name.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Consumers who look like the seed: a PU-learning LightGBM over the tags, top k·|seed| outside the seed."""
    from pyroaring import BitMap

    from aipl.audience import TagIndex
    from aipl.audience.crowds import save as save_crowd
    from aipl.audience.lookalike import features, lookalike

    with _session(workspace) as wh:
        index = TagIndex.load(wh)
        ids = index.evaluate(_crowd_tree(wh, seed))
        scores, summary = lookalike(features(wh), ids, k)
        top = scores.head(summary["size"])
        if save:
            from aipl.audience.crowds import consumer_ids
            from aipl.clv import save_list

            save_list(wh, save, "", index.day, consumer_ids(wh, BitMap(top.index.tolist())))
            save_crowd(wh, save, {"list": save}, source=f"lookalike of {seed} × {k}", index=index)
    summary["saved"] = save
    if as_json:
        print(json.dumps(summary, default=str, ensure_ascii=False))
        return
    out.print(f"lookalike of {len(ids):,} seed consumers × {k}: {summary['size']:,} consumers "
              f"(PU c = {summary['c']:.2f}); top features: " + ", ".join(list(summary["top_features"])[:5]))
    if save:
        out.print(f"saved as crowd {save!r}")


@crowd_app.command("export")
def crowd_export(
    expr: ExprArg,
    out_file: Annotated[Path, typer.Option("--out", help="CSV or Parquet file of consumer ids.")],
    actor: Annotated[str | None, typer.Option(help="Who exports (for the audit log; default: the OS user).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export a crowd's consumer ids (never below [privacy] min_crowd_size), logged in crowd_exports."""
    from aipl.audience import TagIndex
    from aipl.audience.crowds import export

    with _session(workspace) as wh:
        ids = TagIndex.load(wh).evaluate(_crowd_tree(wh, expr))
        row = export(wh, expr, ids, out_file, actor)
    out.print(f"exported {row['rows']:,} consumer ids to {out_file} (sha256 {row['sha256'][:12]}…), logged")


# ---- autopilot
autopilot_app = _group("autopilot", "Autopilot (万相台): response curves per channel and budget allocation.")


@autopilot_app.command("fit")
def autopilot_fit(
    brand: Annotated[str, typer.Option(help="The brand.")],
    holdout_days: Annotated[int, typer.Option(help="Last days kept out of the fit to measure its error.")] = 14,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit each channel's response curve (Hill saturation × adstock) from ad-delivery history."""
    from dataclasses import asdict

    from aipl.autopilot import fit_brand

    with _session(workspace) as wh:
        res = fit_brand(wh, brand, holdout_days)
    body = {ch: {**asdict(r["curve"]), "holdout_mape": r["holdout_mape"], "days": r["days"],
                 "intervals": r["intervals"]} for ch, r in res.items()}
    if as_json:
        print(json.dumps(body))
        return
    t = Table("channel", "reach/day", "k (half-saturation spend)", "alpha", "adstock θ", "held-out error",
              title=f"{brand}: daily impressions = reach · hill(adstock(spend))")
    for ch, r in body.items():
        iv = r["intervals"]
        t.add_row(ch, f"{r['reach']:,.0f} [{iv['reach'][0]:,.0f}–{iv['reach'][1]:,.0f}]",
                  f"{r['k']:,.2f} [{iv['k'][0]:,.2f}–{iv['k'][1]:,.2f}]", f"{r['alpha']:.2f}", f"{r['theta']:.2f}",
                  f"{r['holdout_mape']:.1%}" if r["holdout_mape"] is not None else "—")
    out.print(t)


@autopilot_app.command("plan")
def autopilot_plan(
    brand: Annotated[str, typer.Option(help="The brand.")],
    budget: Annotated[float, typer.Option(help="The budget (a day, or the whole package: see --budget-mode).")],
    scene: Annotated[str | None, typer.Option(help="拉新快, 会员快, 上新快, 货品加速, 预热蓄水 or 爆发收割 "
                                              "(default: impressions).")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign whose attributed outcomes value each channel "
                                                 "(default: the latest with delivery).")] = None,
    budget_mode: Annotated[str, typer.Option(help="daily, or package (spread over the campaign's days).")] = "daily",
    min_share: Annotated[float, typer.Option(help="Least share of the budget per channel.")] = 0.0,
    max_share: Annotated[float, typer.Option(help="Most share of the budget per channel.")] = 1.0,
    roi_floor: Annotated[float | None, typer.Option(help="Least outcome per unit spend (a scene's ROI).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="An item to promote (up to 10; repeatable): only "
                                                   "outcomes on these items count.")] = None,
    crowd: Annotated[list[str] | None, typer.Option(help="A target crowd (saved or built-in; repeatable): only "
                                                    "its consumers' outcomes count.")] = None,
    strategy: Annotated[str, typer.Option(help="cost_first (消耗优先: spend the budget) or effect_first (效率优先: "
                                          "stop where a yuan stops paying).")] = "cost_first",
    min_marginal: Annotated[float | None, typer.Option(help="effect_first: the outcome one more yuan must still "
                                                       "bring (default 1 for GMV aims).")] = None,
    start: Annotated[str | None, typer.Option(help="First day of a package budget (default: the campaign's).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of a package budget (default: the campaign's).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Split a budget across channels for a scene's aim (or impressions), within share limits and a ROI floor."""
    from aipl.autopilot import allocate, fit_brand
    from aipl.autopilot.scenes import AIMS, scene_plan
    from aipl.config import parse_day
    from aipl.measure.experiment import campaign_window

    if budget_mode not in ("daily", "package"):
        _fail("--budget-mode is daily or package")
    with _session(workspace) as wh:
        if scene or budget_mode == "package":
            campaign = campaign or _latest_campaign(wh, brand)
            window, _ = campaign_window(wh, campaign, 0)
            first, last = parse_day(start or window.start, "--start"), parse_day(end or window.end, "--end")
            if last < first:
                _fail(f"--end {last} is before --start {first}")
            daily = budget / ((last - first).days + 1) if budget_mode == "package" else budget
        else:
            daily = budget
        if scene:
            consumers = _crowd_consumers(wh, crowd) if crowd else None
            res = scene_plan(wh, brand, scene, daily, campaign, min_share, max_share, roi_floor, tuple(item or ()),
                             consumers, strategy, min_marginal)
        else:
            curves = {ch: r["curve"] for ch, r in fit_brand(wh, brand, holdout_days=0, boot=0).items()}
            res = {"aim": "impressions", "spend": daily,
                   **allocate(curves, daily, min_share=min_share, max_share=max_share)}
    if as_json:
        print(json.dumps(res, ensure_ascii=False))
        return
    aim = AIMS.get(res["aim"], res["aim"])
    out.print(f"{brand}{' · ' + scene if scene else ''}: a day {res['spend']:,.2f} of {daily:,.2f}, for {aim}")
    for ch, w in sorted(res["shares"].items(), key=lambda kv: -kv[1]):
        out.print(f"  {ch:10} {w:6.1%}  {w * res['spend']:>12,.2f} a day")
    if res["equal_split"]:
        out.print(f"expected {aim} a day {res['objective']:,.1f}, against {res['equal_split']:,.1f} for an equal "
                  f"split ({res['objective'] / res['equal_split'] - 1:+.1%})")
    if res.get("objective_interval"):
        lo, hi = res["objective_interval"]
        out.print(f"  90% interval from the curves' bootstrap: {lo:,.1f} – {hi:,.1f}")
    for k, v in (res.get("expected") or {}).items():
        out.print(f"  {k}: {v:,.2f}" if v is not None else f"  {k}: —")


def _crowd_consumers(wh, names: list[str]) -> set[str]:
    """The consumers of any of the named crowds (saved or built-in)."""
    from aipl.audience import TagIndex
    from aipl.audience.crowds import consumers_of, saved

    return consumers_of(wh, TagIndex.load(wh), [saved(wh, name)["tree"] for name in names])


def _latest_campaign(wh, brand: str) -> str:
    a = wh.table("ad_delivery")
    c = wh.table("campaigns")
    ids = a.filter((a.brand_id == brand) & a.campaign_id.notnull()).select("campaign_id").distinct()
    rows = c.semi_join(ids, "campaign_id").group_by("campaign_id").aggregate(first=c.start_date.min()).execute()
    if rows.empty:
        _fail(f"brand {brand!r} has no ad delivery in a known campaign: name the --campaign")
    return str(rows.sort_values("first").campaign_id.iloc[-1])


@autopilot_app.command("simulate")
def autopilot_simulate(
    brand: Annotated[str, typer.Option(help="A brand of the simulated market.")],
    budget: Annotated[float | None, typer.Option(help="Daily budget (default: half the summed half-saturation "
                                                 "spend, where the split matters).")] = None,
    days: Annotated[int, typer.Option(help="Days of the flight.")] = 30,
    seed: int = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a flight against the simulated market's hidden curves: Thompson sampling against the oracle, an
    equal split and proportional-to-last-ROI (regret = share of the oracle's impressions lost)."""
    from aipl.autopilot import Curve
    from aipl.autopilot.flight import compare
    from aipl.simulate.load import find_truth

    with _session(workspace) as wh:
        truth = find_truth(wh.config.root)
    if not truth or brand not in truth.get("brands", {}):
        _fail(f"no simulated truth for brand {brand!r}: this needs a workspace made by `aipl simulate` "
              "(market/truth.json)")
    true = {ch: Curve(c["max_daily_reach"], c["hill_k"], c["hill_alpha"], c["adstock_theta"])
            for ch, c in truth["brands"][brand]["curves"].items()}
    res = compare(true, budget or 0.5 * sum(c.k for c in true.values()), days=days, seed=seed)
    if as_json:
        print(json.dumps(res))
        return
    out.print(f"{brand}: {days}-day flight at {res['budget']:,.2f} a day")
    for name, r in sorted(res["regret"].items(), key=lambda kv: kv[1]):
        out.print(f"  {name:26} impressions {res['totals'][name]:>12,.0f}   regret {r:6.1%}")


@autopilot_app.command("sequence")
def autopilot_sequence(
    brand: Annotated[str, typer.Option(help="The brand.")],
    day: Annotated[str | None, typer.Option(help="The day whose stages decide (default: the last day with "
                                            "events).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write consumer_id, deeplink, contacts, action "
                                                  "to this CSV.")] = None,
    flight: Annotated[int, typer.Option(help="Also run a flight of this many days against the simulator's "
                                        "hidden journeys (0: none).")] = 0,
    reach: Annotated[float, typer.Option(help="Share of consumers reachable a day in the flight.")] = 0.3,
    seed: int = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sequenced delivery (序列化投放): each consumer's next action from their DEEPLINK stage, frequency-capped;
    with --flight, the stage-advancing rate of the rule, of learned actions and of untargeted delivery."""
    from aipl.autopilot.sequence import STAGES, brand_stages, compare_sequence, from_config, next_actions
    from aipl.simulate.journeys import Journeys

    with _session(workspace, assets=True) as wh:
        section, cap = from_config(wh.config.raw.get("sequence"))
        d = day or _last_event_day(wh)
        acts = next_actions(wh, brand, d, section, cap)
        res = compare_sequence(brand_stages(wh, brand, d), Journeys.draw(seed), flight, reach, cap, seed,
                               section) if flight else None
    if out_file:
        acts.to_csv(out_file, index=False)
    table = acts.groupby(["deeplink", "action"]).size().rename("consumers").reset_index()
    table["order"] = table.deeplink.map({s: i for i, s in enumerate(STAGES)})
    table = table.sort_values(["order", "action"]).drop(columns="order")
    if as_json:
        print(json.dumps({"brand": brand, "day": str(d), "cap": [cap.contacts, cap.days],
                          "actions": table.to_dict("records"), "flight": res}, ensure_ascii=False))
        return
    t = Table("stage", "action", "consumers", title=f"{brand} on {d}: next actions (cap {cap.contacts} in "
              f"{cap.days} days)")
    for r in table.itertuples(index=False):
        t.add_row(r.deeplink, r.action, f"{r.consumers:,}")
    out.print(t)
    if out_file:
        out.print(f"wrote {len(acts):,} rows to {out_file}")
    if res:
        out.print(f"{flight}-day flight, {res['consumers']:,} consumers, {reach:.0%} reachable a day "
                  "(moved up ≥ 1 stage; advances per 1,000 contacts; against untargeted):")
        for name, r in res["policies"].items():
            out.print(f"  {name:11} moved up {r['advanced_share']:6.1%}  {r['advances_per_1000_contacts']:5.1f} "
                      f"per 1,000 contacts  {r['lift_vs_untargeted']:+.0%}")


@autopilot_app.command("subsidy")
def autopilot_subsidy(
    pool: Annotated[float, typer.Option(help="The subsidy pool a day.")],
    history: Annotated[Path | None, typer.Argument(help="CSV or Parquet: merchant_id, tier, day, subsidy, gmv "
                                                   "(one row per merchant and day).")] = None,
    floor: Annotated[list[str] | None, typer.Option(help="A tier's least share of the pool, e.g. new=0.3 "
                                                    "(repeatable).")] = None,
    cold_start_min: Annotated[float, typer.Option(help="Least subsidy a day per merchant in its cold start.")] = 0.0,
    cold_start_days: Annotated[int, typer.Option(help="Days of history before a merchant's own curve is "
                                                 "trusted.")] = 30,
    simulate: Annotated[int, typer.Option(help="Instead of a file: simulate this many merchants and compare "
                                          "the plan with the oracle and rules of thumb.")] = 0,
    seed: int = 0,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the per-merchant plan to this CSV.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Platform-side 红包: split a daily subsidy pool across head, waist and new merchants for the most
    incremental GMV, with per-tier floors and a cold start for new merchants."""
    import pandas as pd

    from aipl.autopilot.subsidy import allocate_subsidy, compare_subsidy, fit_merchants
    from aipl.simulate.merchants import simulate_merchants

    floors = {}
    for f in floor or []:
        tier, _, share = f.partition("=")
        try:
            floors[tier.strip()] = float(share)
        except ValueError:
            _fail(f"--floor {f!r}: write tier=share, e.g. new=0.3")
    try:
        if simulate:
            hist, truth = simulate_merchants(simulate, seed=seed)
            cmp = compare_subsidy(hist, truth, pool, floors, cold_start_min, cold_start_days)
            fitted = cmp.pop("fitted")
        elif history is not None:
            if not history.exists():
                _fail(f"{history}: no such file")
            hist = pd.read_parquet(history) if history.suffix == ".parquet" else pd.read_csv(history)
            fitted, cmp = fit_merchants(hist, cold_start_days), None
        else:
            _fail("give a history file, or --simulate N")
        plan = allocate_subsidy(fitted, pool, floors, cold_start_min)
    except ValueError as exc:
        _fail(f"{history or 'simulated history'}: {exc}")
    alloc = plan.pop("allocation")
    if out_file:
        alloc.to_csv(out_file, index=False)
    if as_json:
        print(json.dumps({**plan, "comparison": cmp}, ensure_ascii=False))
        return
    out.print(f"pool {pool:,.0f} a day across {len(alloc):,} merchants ({int(alloc.cold_start.sum())} in cold "
              f"start): expected incremental GMV {plan['incremental_gmv']:,.0f} a day (ROI {plan['roi'] or 0:.2f})")
    for tier, v in plan["tiers"].items():
        out.print(f"  {tier:6} {v['subsidy']:>12,.0f} ({v['share']:5.1%})   "
                  f"incremental GMV {v['incremental_gmv']:>14,.0f}")
    if plan["unspent"] > 0.01:
        out.print(f"  unspent {plan['unspent']:,.0f}: every curve is saturated")
    if cmp:
        out.print("on the hidden curves, share of the oracle's incremental GMV: " + ", ".join(
            f"{k} {v:.1%}" for k, v in cmp["share_of_oracle"].items() if k != "oracle"))
    if out_file:
        out.print(f"wrote {len(alloc):,} merchants to {out_file}")


def _last_event_day(wh) -> str:
    last = wh.last_day()
    if last is None:
        _fail("the workspace has no events: load some first")
    return str(last)


# ---- service
tenant_app = _group("tenant", "Tenants of the REST API and dashboard: a brand, or an agency granted several brands.")


@tenant_app.command("add")
def tenant_add(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    brands: Annotated[str, typer.Option(help="Comma-separated brand ids it may see.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a tenant (or replace its brands)."""
    from aipl.api.auth import add_tenant
    from aipl.config import workspace_dir

    try:
        t = add_tenant(workspace_dir(workspace), name, [b.strip() for b in brands.split(",") if b.strip()])
    except ValueError as exc:
        _fail(str(exc))
    out.print(f"tenant {t['tenant']}: brands {', '.join(t['brands'])}")


@tenant_app.command("list")
def tenant_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Tenants, their brands and how many tokens each has."""
    from aipl.api.auth import tenants
    from aipl.config import workspace_dir

    ts = tenants(workspace_dir(workspace))
    if as_json:
        print(json.dumps(ts, ensure_ascii=False))
        return
    for name, t in ts.items():
        out.print(f"{name}: {', '.join(t['brands'])} ({t['tokens']} token(s))")


@tenant_app.command("token")
def tenant_token(
    name: Annotated[str, typer.Argument(help="The tenant.")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")] = "viewer",
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """Issue an API token (printed once; only its hash is kept)."""
    from aipl.api.auth import issue_token
    from aipl.config import workspace_dir

    try:
        print(issue_token(workspace_dir(workspace), name, role, label))
    except ValueError as exc:
        _fail(str(exc))


@tenant_app.command("revoke")
def tenant_revoke(name: Annotated[str, typer.Argument(help="The tenant.")], workspace: WorkspaceOpt = None) -> None:
    """Revoke every token of a tenant (takes effect on the next request)."""
    from aipl.api.auth import revoke_tenant_tokens
    from aipl.config import workspace_dir

    out.print(f"revoked {revoke_tenant_tokens(workspace_dir(workspace), name)} token(s) of {name}")


@app.command("serve")
def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the web dashboard (at /)."""
    import uvicorn

    from aipl.api import create_app
    from aipl.config import workspace_dir

    root = workspace_dir(workspace)
    err.print(f"aipl: building the service for {root} …")
    uvicorn.run(create_app(root), host=host, port=port, log_level="warning")


def main() -> None:  # pragma: no cover
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
