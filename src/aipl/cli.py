"""The `aipl` command: a thin layer over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
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
    err.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


def _open(workspace: Path | None):
    from aipl.warehouse import open_warehouse

    try:
        return open_warehouse(workspace)
    except ConfigError as exc:
        _fail(str(exc))


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
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
    task = progress.add_task("reading", total=100)

    def report(label: str, pct: float | None) -> None:
        progress.update(task, description=label, completed=pct or 0)

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
    load: Annotated[bool, typer.Option("--ingest", help="Also load the files into the workspace.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Generate a synthetic market with hidden ground truth (seeded, reproducible)."""
    from aipl.simulate import MarketSpec, simulate_market

    spec = MarketSpec(consumers=consumers, days=days, brands=brands, start=start, seed=seed, holdout=holdout)
    with Progress(TextColumn("simulating day {task.completed}/{task.total}"), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as p:
        task = p.add_task("sim", total=days)
        simulate_market(spec, out_dir, progress=lambda d, n: p.update(task, completed=d))
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
        Path | None, typer.Option("--out", help="HTML file (default: <workspace>/report.html).")
    ] = None,
) -> None:
    """Write the HTML report of the workspace."""
    from aipl.report import write_report
    from aipl.simulate.load import find_truth

    wh = _open(workspace)
    target = out_file or wh.config.root / "report.html"
    path = write_report(wh, target, truth=find_truth(wh.config.root))
    wh.close()
    out.print(f"report written: {path}")


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
    from aipl.report import write_report
    from aipl.simulate.load import find_truth

    root = init_workspace(workspace)
    out.print(f"[1/4] workspace {root}")
    market = root / "market"
    simulate(out_dir=market, consumers=consumers, days=60, brands=12, start="2026-09-15", seed=7, holdout=0.1,
             load=False, workspace=root)
    out.print("[2/4] loading the synthetic market (validated like any file)")
    _ingest_market(market, root)
    out.print("[3/4] loading the bundled CDNOW sample and a deliberately dirty file")
    wh = _open(root)
    try:
        data = Path(str(files("aipl") / "data"))
        for name, fmt in (("CDNOW_sample.txt", "cdnow"), ("events_dirty.csv", "events")):
            r = run(wh, data / name, fmt)
            out.print(f"  {name}: read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}")
        path = write_report(wh, root / "report.html", truth=find_truth(root))
    finally:
        wh.close()
    out.print(f"[4/4] report written: {path}")


clv_app = typer.Typer(help="Customer lifetime value: BG/NBD, Pareto/NBD, Gamma-Gamma.", no_args_is_help=True)
app.add_typer(clv_app, name="clv")


def _clv_summary(file: Path | None, fmt: str | None, workspace: Path | None, brand: str | None,
                 calibration_end: str, time_unit: str):
    """The calibration summary from a file (validated into a temporary workspace) or from a workspace."""
    import tempfile

    from aipl.clv import rfm_summary
    from aipl.ingest import SourceError
    from aipl.ingest import ingest as run
    from aipl.warehouse import open_warehouse

    if file is not None:
        if not fmt:
            _fail("give --format with FILE (e.g. --format cdnow)")
        tmp = tempfile.TemporaryDirectory(prefix="aipl-clv-")
        wh = open_warehouse(init_workspace(tmp.name))
        try:
            r = run(wh, file, fmt)
        except SourceError as exc:
            _fail(str(exc))
        if r.rejected:
            err.print(f"{r.rejected:,} of {r.read:,} rows of {file} were quarantined and left out")
    else:
        wh, tmp = _open(workspace), None
    try:
        summary = rfm_summary(wh, calibration_end, time_unit, brand=brand)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        wh.close()
        if tmp:
            tmp.cleanup()
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


def main() -> None:  # pragma: no cover
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
