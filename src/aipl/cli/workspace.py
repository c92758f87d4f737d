"""`aipl init`, `ingest`, `quarantine`, `status`, `simulate`, `report`, `demo`: the workspace and its data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aipl.api.auth import tenants
from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _open,
    _print_json,
    _session,
    app,
    err,
    out,
)
from aipl.config import ConfigError, init_workspace, load_config, workspace_dir
from aipl.ingest import FORMATS, SourceError, parse_mapping, quarantined, warehouse_status
from aipl.ingest import ingest as load_file
from aipl.pipeline import demo as build_demo
from aipl.pipeline import freshness
from aipl.report import write_postmortem, write_report
from aipl.simulate import MarketSpec, find_truth, load_market, simulate_market
from aipl.warehouse import open_warehouse


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    backend: Annotated[str, typer.Option(help="duckdb (embedded) or spark.")] = "duckdb",
    timezone: Annotated[str, typer.Option(help="Time zone that cuts days.")] = "Asia/Shanghai",
) -> None:
    """Create a workspace: aipl.toml and an empty warehouse."""
    try:
        root = init_workspace(directory, backend=backend, timezone=timezone)
    except ConfigError as exc:
        _fail(str(exc))
    open_warehouse(root).close()
    out.print(f"workspace ready: {root} (backend {backend}, time zone {timezone})")


@app.command()
def formats() -> None:
    """List the input formats `aipl ingest --format` understands."""
    t = Table("format", "what it reads", show_lines=True)
    for name in sorted(FORMATS):
        t.add_row(name, FORMATS[name].doc)
    out.print(t)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A CSV, .csv.gz or Parquet file, or a dataset folder.")],
    format: Annotated[str, typer.Option("--format", "-f", help="Input format, or auto (chosen by the file's "
                                        "header); see `aipl formats` and docs/imports.md.")],
    workspace: WorkspaceOpt = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files (e.g. gbk, gb18030, utf-16).")] = "utf-8",
    tenant: Annotated[str | None, typer.Option(
        help="Load as this tenant (see `aipl tenant`): every row, as stored, must belong to a brand it is granted, "
             "as for an API upload; otherwise nothing is written.")] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="Rename a column: SRC=CANONICAL (repeatable), or NAME of a saved [ingest.maps.NAME] in "
                      "aipl.toml.")] = None,
    map_file: Annotated[Path | None, typer.Option(
        help="Column mapping file: .toml/.json table, or lines of SRC=CANONICAL (--map entries win).")] = None,
    brand: Annotated[str | None, typer.Option(
        help="The brand a platform report without a 品牌 column belongs to (docs/imports.md).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and load a file: good rows into the warehouse, bad rows into quarantine, all or nothing."""
    try:
        mapping = parse_mapping(map_ or [], load_config(workspace).ingest_maps, map_file)
    except SourceError as exc:
        _fail(str(exc))
    brands = None
    if tenant is not None:
        granted = tenants(workspace_dir(workspace)).get(tenant)
        if granted is None:
            _fail(f"no tenant {tenant!r}; create it with `aipl tenant add`")
        brands = frozenset(granted["brands"])
    wh = _open(workspace)
    progress, report = _stages()
    try:
        with progress:
            result = load_file(wh, path, format, report=report, brands=brands, encoding=encoding, mapping=mapping,
                               brand=brand)
    except SourceError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: nothing was written; the warehouse is as it was[/]")
        raise typer.Exit(130) from None
    finally:
        wh.close()
    if as_json:
        _print_json(result.as_dict())
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
    with _session(workspace, read=True) as wh:
        q = quarantined(wh, source, limit)
    if as_json:
        _print_json(q.to_dict())
        return
    t = Table("file", "line", "target", "field", "reason", "raw", title=f"quarantine ({q.total:,} rows)")
    for r in q.rows.itertuples():
        t.add_row(Path(r.source).name, str(r.line), r.target, r.field, r.reason, (r.raw or "")[:60])
    out.print(t)


@app.command()
def status(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Row counts of every table, the data's as-of day and the last daily run; exit 1 when it failed or is late."""
    with _session(workspace, read=True) as wh:
        st = warehouse_status(wh)
        fresh = freshness(wh)
    if as_json:
        _print_json({"workspace": str(workspace_dir(workspace)), **st.to_dict(), "freshness": fresh.to_dict()})
    else:
        t = Table("table", "rows")
        for k, v in st.tables.items():
            t.add_row(k, f"{v:,}")
        out.print(t)
        run = fresh.last_run
        out.print(f"data as of {fresh.as_of or '—'}; last run: " + ("never" if run is None else
                  f"{run['outcome']} ({run['ended'] or run['started']})") + f"; status {fresh.status}")
        if not fresh.healthy:
            err.print(f"[bold red]{fresh.status}:[/] " + (f"step {run['failed_step']} failed: {run['message']}"
                      if fresh.status == "failed" else f"no daily run finished in {fresh.late_hours:g} hours"))
    if not fresh.healthy:
        raise typer.Exit(1)


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
    with _session(workspace) as wh:
        for r in load_market(wh, folder):
            out.print(f"  loaded {Path(r.path).name}: read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}")


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
    if pdf and not campaign:
        _fail("--pdf goes with --campaign (the post-mortem)")
    with _session(workspace, assets=bool(campaign)) as wh:
        if campaign:
            target = out_file or wh.config.root / f"postmortem-{campaign}-{brand or 'campaign'}.html"
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
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                        transient=True, disable=not err.is_terminal)
    bar = progress.add_task("", total=1.0, visible=False)

    def report(message: str, fraction: float | None) -> None:
        if fraction is None:
            progress.update(bar, visible=False)
            out.print(message)
        else:
            progress.update(bar, description=message, completed=fraction, visible=True)

    try:
        with progress:
            res = build_demo(workspace, consumers, progress=report)
    except ValueError as exc:
        _fail(str(exc))
    out.print(f"writing {res.brand}'s post-mortem (结案)")
    with _session(res.root) as wh:
        pm = write_postmortem(wh, res.campaign, res.root / f"postmortem-{res.brand}.html", res.brand)
    out.print(f"report written: {res.root / 'report.html'} (by the daily pipeline: `aipl run daily -w {res.root}` "
              f"picks up new files in {res.root / 'landing' / 'events'}); post-mortem: {pm}")


def _stages() -> tuple[Progress, Callable[[str, float | None], None]]:
    """A transient progress display on stderr and the `report(stage, percent)` callback that drives it: a new
    stage pulses until its percentage is known."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    stage: dict = {"label": None, "task": None}

    def report(label: str, pct: float | None) -> None:
        if label != stage["label"]:
            if stage["task"] is not None:
                progress.remove_task(stage["task"])
            stage.update(label=label, task=progress.add_task(label, total=None))
        if pct:
            progress.update(stage["task"], total=100, completed=pct)

    return progress, report
