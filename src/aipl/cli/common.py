"""Shared pieces of the `aipl` command: the app, consoles, common options and error handling."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click.exceptions import ClickException  # Typer ships its own click
from typer._click.globals import get_current_context
from typer.exceptions import Abort, Exit

from aipl.api.errors import failure, first_line
from aipl.assets import ensure_built, has_key
from aipl.config import ConfigError
from aipl.ingest import quarantined
from aipl.pipeline import file_warehouse
from aipl.warehouse import Warehouse, WarehouseBusy, describe_holder, open_warehouse, refused_write, writer_holder

FILE_PARAMS = ("path", "file", "source", "out")  # the option or argument that names the file a command works on


def _step() -> str:
    """The running command and the file it works on, as a failure names them (`aipl ingest x.csv`)."""
    ctx = get_current_context(silent=True)
    if ctx is None:
        return "aipl"
    files = [str(ctx.params[k]) for k in FILE_PARAMS if ctx.params.get(k) is not None]
    return " ".join([ctx.command_path, *files[:1]])


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` whose every failure is one line and exit 2 (a JSON object with --json): a lock held by another
    process, a full disk, an error inside DuckDB, Ibis or Arrow, any other exception (AIPL_DEBUG=1: the
    traceback)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (Exit, Abort, ClickException, BrokenPipeError, KeyboardInterrupt):
            raise
        except ConfigError as exc:
            _fail(str(exc))
        except Exception as exc:
            if os.environ.get("AIPL_DEBUG"):
                raise
            f = failure(exc, _step())
            _fail(f.message + (" (AIPL_DEBUG=1 shows where)" if f.status == 500 else ""))

    return run


class _Typer(typer.Typer):
    """A command group whose commands end in one line and exit 2 on any failure (see `_guarded`)."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_guarded(fn))
            return fn

        return decorate


app = _Typer(
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
BrandOpt = Annotated[str, typer.Option(help="The brand.")]
FileArg = Annotated[Path | None, typer.Argument(help="A file to read directly (with --format), not the workspace.")]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE (see `aipl formats`).")]
_json_mode = {"on": False}  # whether the running command was given --json (its errors are JSON too)
_wait: dict[str, float | None] = {"seconds": None}  # how long a writing command waits for the warehouse


def _set_json_mode(value: bool) -> bool:
    _json_mode["on"] = bool(value)
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.",
                                       callback=_set_json_mode)]


@app.callback()
def _start(
    wait: Annotated[float | None, typer.Option(
        "--wait", envvar="AIPL_WAIT", min=0, metavar="SECONDS",
        help="How long a command that writes waits while another one writes (default 600).")] = None,
) -> None:
    _json_mode["on"] = False  # until the command's own --json says otherwise
    _wait["seconds"] = wait


def _say_error(msg: str, code: int = 2) -> int:
    """Print a one-line error on stderr (with --json also `{"error": …}` on stdout); return the exit code."""
    msg = first_line(msg)  # one line: a crowd expression's column is in it, DuckDB's context lines are not
    if _json_mode["on"]:
        print(json.dumps({"error": msg, "exit_code": code}, ensure_ascii=False))
    err.print(f"[bold red]error:[/] {escape(msg)}")
    return code


def _usage_error(exc: ClickException, as_json: bool) -> int:
    """Print a usage error (unknown option, bad value …) as one line naming the command's --help."""
    _json_mode["on"] = as_json
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return _say_error(f"{exc.format_message()}{hint}", exc.exit_code)


def _fail(msg: str, code: int = 2) -> None:
    """End the command with a one-line error (exit 2); with --json also `{"error": …}` on stdout."""
    raise typer.Exit(_say_error(msg, code))


def _open(workspace: Path | None, read: bool = False) -> Warehouse:
    """The workspace's warehouse: a reader opens the newest published state and never waits for a writer; a
    writer waits for the one before it (saying who that is). A missing or invalid workspace, or a writer that
    waited in vain, exits 2."""
    try:
        return open_warehouse(workspace, read_only=read, wait=_wait["seconds"],
                              on_wait=lambda msg: err.print(f"[yellow]{escape(msg)}[/]"))
    except (ConfigError, WarehouseBusy) as exc:
        _fail(str(exc))
    except Exception as exc:  # e.g. the file is locked by a running `aipl serve`: one line, not a traceback
        _fail(failure(exc, "cannot open the workspace's warehouse").message)


def _group(name: str, help_text: str) -> typer.Typer:
    """A command group `aipl NAME …`."""
    sub = _Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


@contextlib.contextmanager
def _session(workspace: Path | None, assets: bool = False, read: bool = False) -> Iterator[Warehouse]:
    """The workspace's warehouse for one command (assets brought up to date first); bad requests exit 2. A
    command that only reads says `read`: it reads the published state, even while another command writes.
    A writer publishes what it wrote when it ends well."""
    wh = _assets_wh(workspace, read) if assets else _open(workspace, read)
    for stale in wh.stale():  # never served silently: one line each (`aipl run daily` rebuilds them all)
        err.print(f"[yellow]{escape(stale['message'])}[/]")
    ok = False
    try:
        yield wh
        ok = True
    except ValueError as exc:  # a request the data cannot answer (bad day, scope, brand …)
        _fail(str(exc))
    finally:
        wh.close(publish=ok)


def _assets_wh(workspace: Path | None, read: bool = False) -> Warehouse:
    wh = _open(workspace, read)
    if read and not wh.supports("published_snapshots"):  # readers there see the tables: a build needs the writer
        wh.close()
        return _assets_wh(workspace)
    try:  # a reader only finds out whether they are current: a writer builds them
        built = ensure_built(wh, report=None if read else lambda msg: err.print(f"building consumer assets: {msg}"))
    except Exception as exc:
        if not (read and refused_write(exc)):
            wh.close(publish=False)
            raise
        # the published assets are behind the loaded data: build them, unless a writer is at work
        holder = writer_holder(wh.config.root)
        if holder is not None:
            err.print(f"[yellow]note:[/] the consumer assets are behind the loaded data while "
                      f"{escape(describe_holder(holder))} writes; showing the last published state")
            return wh
        wh.close()
        with _session(workspace, assets=True):
            pass
        return _open(workspace, read=True)
    if built:
        err.print("consumer assets built")
    return wh


def _require_key(wh: Warehouse, scope: str, key: str) -> None:
    """Exit 2 when no consumer of the brand or category was ever in a state (most likely a mistyped key)."""
    if not has_key(wh, scope, key):
        _fail(f"no {scope} {key!r} in the workspace's consumer assets")


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


def _print_json(body) -> None:
    """One JSON document on stdout (non-ASCII kept readable; dates and other values as strings)."""
    print(json.dumps(body, default=str, ensure_ascii=False))


@contextlib.contextmanager
def _file_or_workspace(file: Path | None, fmt: str | None, workspace: Path | None,
                       read: bool = False) -> Iterator[Warehouse]:
    """A warehouse holding FILE (validated into a temporary workspace), or the workspace's own (its published
    state when the command only reads)."""
    if file is None:
        with _session(workspace, read=read) as wh:
            yield wh
        return
    if not fmt:
        _fail("give --format with FILE (e.g. --format cdnow)")
    try:
        with file_warehouse(file, fmt) as (wh, r):
            if r.rejected:  # the temporary workspace goes away: say here which rows and why
                err.print(f"{r.rejected:,} of {r.read:,} rows of {file} were quarantined and left out:")
                q = quarantined(wh, limit=10)
                for row in q.rows.itertuples():
                    err.print(f"  line {row.line} ({row.target}.{row.field}): {escape(str(row.reason))}")
                if r.rejected > len(q.rows):
                    err.print(f"  … and {r.rejected - len(q.rows):,} more (load it with `aipl ingest` to see them "
                              "all)")
            yield wh
    except ValueError as exc:
        _fail(str(exc))
