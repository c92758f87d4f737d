"""`aipl run daily` and `aipl alerts`: the scheduled pipeline, its record and the alerts it raised."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import typer
from rich.markup import escape
from rich.table import Table

from aipl.cli.common import JsonOpt, WorkspaceOpt, _group, _print_json, _session, app, err, out
from aipl.pipeline import freshness, recent_alerts, run_daily

run_app = _group("run", "Scheduled runs: `aipl run daily` under cron or a scheduler (exit 0 ran, 99 nothing new, "
                 "2 failed).")


def _progress():
    """On a terminal: a live status line; otherwise: one timestamped line per message on stderr (a log)."""
    if err.is_terminal:
        status = err.status("starting")
        started = time.perf_counter()

        def say(message: str) -> None:
            if message.startswith("["):
                err.print(f"[dim]{time.perf_counter() - started:6.1f} s[/] {escape(message)}")
            status.update(escape(message.strip()))
        return status, say

    def log(message: str) -> None:
        err.print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {message}", markup=False, highlight=False)
    return _NoStatus(), log


class _NoStatus:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


@run_app.command("daily")
def run_daily_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Load the new landing files, then update assets, tags, CLV and member buckets, plan progress, alerts and the
    report; resume an unfinished run from its first unfinished step. Exit 0: ran; 99: nothing new; 2: failed."""
    status, say = _progress()
    with _session(workspace) as wh, status:
        summary = run_daily(wh, say=say)
    if as_json:
        body = summary.to_dict()
        if summary.outcome == "failed":
            body["error"] = summary.message
        _print_json(body)
    else:
        _print_summary(summary)
    if summary.outcome == "failed":
        err.print(f"[bold red]error:[/] {escape(summary.message)}")
    raise typer.Exit(summary.exit_code)


def _print_summary(summary) -> None:
    if summary.outcome == "nothing":
        out.print(f"nothing to do: no new landing files (data as of {summary.as_of})")
        return
    title = f"run {summary.run_id}" + (f" (resumed at {summary.resumed_from})" if summary.resumed_from else "")
    t = Table("step", "outcome", "seconds", "rows", "message", title=title)
    for s in summary.steps:
        secs = (datetime.fromisoformat(s["ended"]) - datetime.fromisoformat(s["started"])).total_seconds() if (
            s["ended"]) else None
        t.add_row(s["step"], s["outcome"], "" if secs is None else f"{secs:.1f}",
                  "" if s["rows"] is None else f"{s['rows']:,}", escape(s["message"] or ""))
    out.print(t)
    for a in summary.alerts:
        out.print(f"[yellow]alert[/] {escape(a['message'])}")
    out.print(f"data as of {summary.as_of}; {len(summary.alerts)} alert(s)")


@app.command("alerts")
def alerts_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The alerts of the latest daily run, with the numbers that fired them."""
    with _session(workspace, read=True) as wh:
        rows = recent_alerts(wh)
        fresh = freshness(wh)
    if as_json:
        _print_json({"freshness": fresh.to_dict(), "alerts": rows})
        return
    if not rows:
        out.print(f"no alerts (last run: {fresh.status})")
    for a in rows:
        out.print(f"[yellow]{escape(a['rule'])}[/] {escape(a['message'])}")
