"""`aipl run daily`: pick up the new files of the landing folder, load them, and bring every derived table, the
alerts and the report up to date, one recorded step at a time.

Each step is one row of the `runs` table (run id, step, start, end, rows, outcome, message). A run killed at any
point leaves its last step unfinished; the next run resumes that run from its first unfinished step. Every step
can be run again over its own half-done work and gives the same tables (ingestion is all-or-nothing and skips a
file loaded before; the other steps replace what they write), so a resumed run ends as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd

from aipl import schema
from aipl.assets import brands, ensure_built
from aipl.audience import refresh
from aipl.clv import asset_value, member_report
from aipl.ingest import batch_id, ingest
from aipl.pipeline.alerts import ALERT_COLUMNS, evaluate_alerts
from aipl.pipeline.settings import PipelineSettings
from aipl.report import write_report
from aipl.results import Result
from aipl.simulate import find_truth
from aipl.strategy import latest_plan
from aipl.warehouse import Warehouse, ibis_schema

STEPS: tuple[str, ...] = ("ingest", "assets", "tags", "clv", "plans", "alerts", "report")
"""The steps of a daily run, in order."""
EXIT_OK, EXIT_FAILED, EXIT_NOTHING = 0, 2, 99  # 99: Airflow's BashOperator marks the task skipped
KILL_ENV = "AIPL_TEST_KILL_AT"  # tests only: "<step>:before|during|after" kills the process there (SIGKILL)
Say = Callable[[str], None]


class StepFailed(RuntimeError):
    """A step of the daily run failed; `step` names it."""

    def __init__(self, step: str, message: str):
        super().__init__(f"step {step} failed: {message}")
        self.step = step


class RunSummary(Result):
    """What a daily run did: its id, outcome (ok, nothing, failed), the step it resumed from, each step's row
    of the runs table, the alerts it raised and the data's as-of day (what `run_daily` returns).

    >>> RunSummary(run_id="r1", outcome="ok", resumed_from=None, steps=[{"step": "ingest"}], alerts=[],
    ...            as_of="2026-10-24", failed_step=None, message="")
    RunSummary(r1 ok: 1 steps, 0 alerts, as of 2026-10-24)
    """

    def __repr__(self) -> str:
        return (f"RunSummary({self['run_id']} {self['outcome']}: {len(self['steps'])} steps, "
                f"{len(self['alerts'])} alerts, as of {self['as_of']})")

    @property
    def exit_code(self) -> int:
        """0 when it ran, 99 when there was nothing to do, 2 when a step failed.

        >>> RunSummary(outcome="nothing").exit_code
        99
        """
        return {"ok": EXIT_OK, "nothing": EXIT_NOTHING}.get(self["outcome"], EXIT_FAILED)


def _kill_point(step: str, when: str) -> None:
    """Tests of resumption: die here, as a kill -9 would, when AIPL_TEST_KILL_AT names this point."""
    if os.environ.get(KILL_ENV) == f"{step}:{when}":
        os.kill(os.getpid(), signal.SIGKILL)


def new_files(wh: Warehouse, settings: PipelineSettings) -> list[tuple[Path, str]]:
    """The landing files not loaded yet, with their format: each `[[pipeline.landing]]` glob in the declared
    order, its files sorted by name.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> new_files(wh, PipelineSettings())
    []
    >>> wh.close()
    """
    root = wh.config.root
    found = [(Path(p), entry.format) for entry in settings.landing
             for p in sorted(glob.glob(str(root / entry.glob), recursive=True)) if Path(p).is_file()]
    if not found:
        return []
    loaded = set(wh.table("batches").select("batch_id").distinct().execute().batch_id)
    return [(p, fmt) for p, fmt in found if batch_id(p, fmt) not in loaded]


def _runs(wh: Warehouse) -> pd.DataFrame:
    if not wh.has_table(schema.RUNS.name):
        return pd.DataFrame(columns=schema.RUNS.names)
    runs = wh.table(schema.RUNS.name).execute()
    runs["day"] = [None if d is None or d != d else pd.Timestamp(d).date() for d in runs.day]
    return runs


def _last_run(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return runs
    last = runs.sort_values("started").run_id.iloc[-1]
    return runs[runs.run_id == last]


def _unfinished(last: pd.DataFrame) -> list[str]:
    """The steps the last run still owes (none when it finished, or found nothing to do)."""
    if last.empty or (last.outcome == "nothing").any():
        return []
    done = set(last.step[last.outcome == "ok"])
    return [s for s in STEPS if s not in done]


@dataclass
class _Run:
    wh: Warehouse
    run_id: str
    settings: PipelineSettings
    say: Say
    on_commit: Callable[[str], None] | None

    def record(self, step: str, started: datetime, outcome: str, rows: int | None = None, message: str = "",
               day: date | None = None) -> dict:
        ended = None if outcome == "running" else datetime.now(UTC)
        row = {"run_id": self.run_id, "step": step, "started": started, "ended": ended, "rows": rows,
               "outcome": outcome, "message": message, "day": day, "batches": self.wh.count("batches")}
        self.wh.replace_rows(schema.RUNS.name, pd.DataFrame([row]), keys=["run_id", "step"])
        return row

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[dict]:
        """Record the step as running, do its work (the body fills `out["rows"]`, `out["message"]`), then record
        it ok, or failed with the error's message (StepFailed). After the ok row is written, the step's work is
        committed: that is where `on_commit(step)` runs (publish a snapshot for readers, release a lock …)."""
        started = datetime.now(UTC)
        self.say(f"[{STEPS.index(name) + 1}/{len(STEPS)}] {name}")
        self.record(name, started, "running")
        _kill_point(name, "before")
        out: dict = {"rows": 0, "message": ""}
        try:
            yield out
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.record(name, started, "failed", message=message)
            raise StepFailed(name, message) from exc
        _kill_point(name, "after")
        out["row"] = self.record(name, started, "ok", out["rows"], out["message"], self.wh.last_day())
        self.wh.publish()  # ← after a step commits: the one place readers are shown the new state
        if self.on_commit is not None:
            self.on_commit(name)

    def tick(self, name: str) -> Callable[..., None]:
        """The progress callback handed to an engine: says the message, and is a kill point ("during")."""
        def report(message: str = "", *_) -> None:
            if message:
                self.say(f"  {message}")
            _kill_point(name, "during")
        return report


def run_daily(wh: Warehouse, say: Say | None = None, on_commit: Callable[[str], None] | None = None) -> RunSummary:
    """Run the daily pipeline on the workspace: resume the last run if it did not finish, else start one when
    there are new landing files (or data loaded since the last run), else do nothing (outcome "nothing").

    `say` is told each step and its progress. After each step is recorded its state is published for readers
    (`Warehouse.publish`), then `on_commit(step)` is called.

    Skipped in the doctests only because it takes about 20 s (tests/test_run_daily.py runs it):

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(consumers=60, days=10)  # doctest: +SKIP
    >>> run = run_daily(wh)  # no landing folder declared, but data loaded by hand: a first run  # doctest: +SKIP
    >>> run.outcome, [s["step"] for s in run.steps] == list(STEPS)  # doctest: +SKIP
    ('ok', True)
    >>> run_daily(wh).outcome  # nothing new since  # doctest: +SKIP
    'nothing'
    """
    say = say or (lambda _: None)
    settings = PipelineSettings.of(wh.config)
    wh.ensure_table(schema.RUNS.name, ibis_schema(schema.RUNS))
    last = _last_run(_runs(wh))
    todo = _unfinished(last)
    if todo:
        run_id = str(last.run_id.iloc[0])
        say(f"resuming run {run_id} from step {todo[0]}")
    else:
        files = new_files(wh, settings)
        seen = None if last.empty else int(last.batches.max())
        if not files and seen == wh.count("batches") and not wh.stale():  # a config change rebuilds
            run_id = _new_id()
            row = _Run(wh, run_id, settings, say, None).record("ingest", datetime.now(UTC), "nothing", 0,
                                                               "no new landing files", wh.last_day())
            say("nothing to do: no new landing files")
            return RunSummary(run_id=run_id, outcome="nothing", resumed_from=None, steps=[_json(row)], alerts=[],
                              as_of=_day(wh.last_day()), failed_step=None, message="no new landing files")
        run_id, todo = _new_id(), list(STEPS)
    run = _Run(wh, run_id, settings, say, on_commit)
    resumed = todo[0] if len(todo) < len(STEPS) else None
    try:
        for name in todo:
            with run.step(name) as out:
                STEP_WORK[name](run, out)
    except StepFailed as exc:
        say(str(exc))
        return _summary(wh, run_id, "failed", resumed, exc.step, str(exc))
    return _summary(wh, run_id, "ok", resumed, None, "")


def _summary(wh: Warehouse, run_id: str, outcome: str, resumed: str | None, failed: str | None, message: str
             ) -> RunSummary:
    runs = _runs(wh)
    steps = runs[runs.run_id == run_id].sort_values("started")
    alerts = recent_alerts(wh, run_id=run_id)
    return RunSummary(run_id=run_id, outcome=outcome, resumed_from=resumed, steps=[_json(r) for r in
                      steps.to_dict("records")], alerts=alerts, as_of=_day(wh.last_day()), failed_step=failed,
                      message=message)


def _json(row: dict) -> dict:
    """A row as JSON-ready values: missing as None, days and instants as ISO strings, numpy numbers as Python's."""
    out = {}
    for k, v in row.items():
        if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
            v = None
        elif hasattr(v, "isoformat"):
            v = v.isoformat()
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def _day(d: date | None) -> str | None:
    return None if d is None else str(d)


def _new_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# ------------------------------------------------------------------------------------------------- the steps
def _ingest(run: _Run, out: dict) -> None:
    files = new_files(run.wh, run.settings)
    read = accepted = rejected = 0
    for i, (path, fmt) in enumerate(files):
        if i:
            _kill_point("ingest", "during")  # some files loaded, not all
        r = ingest(run.wh, path, fmt, report=lambda label, pct: None)
        run.say(f"  {path.name} ({fmt}): read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}")
        read, accepted, rejected = read + r.read, accepted + r.accepted, rejected + r.rejected
    out.update(rows=accepted, message=f"{len(files)} file(s): read {read:,}, accepted {accepted:,}, "
               f"rejected {rejected:,}")


def _assets(run: _Run, out: dict) -> None:
    changed = ensure_built(run.wh, report=run.tick("assets"))
    out.update(rows=run.wh.count("asset_live"), message="updated" if changed else "already up to date")


def _tags(run: _Run, out: dict) -> None:
    day = run.wh.last_day()
    if day is None:
        out.update(message="no events")
        return
    done = refresh(run.wh, day, report=run.tick("tags"))
    out.update(rows=done["bitmaps_rewritten"], message=f"tags of {day}: {done['new_ids']:,} new consumer ids, "
               f"{done['changed']:,} consumers' tags changed, {done['bitmaps_rewritten']:,} bitmaps rewritten")


def _clv(run: _Run, out: dict) -> None:
    wh, day = run.wh, run.wh.last_day()
    keys = brands(wh) if day is not None else []
    members = [{"brand_id": b, "day": day, "bucket": k, "consumers": n}
               for b in keys for k, n in member_report(wh, b, day).buckets.items()]
    _replace_day(wh, schema.MEMBER_BUCKETS, members, day)
    run.tick("clv")()  # member buckets written, CLV not yet
    values, skipped, unconverged = [], [], []
    for b in keys:
        try:
            by_state = asset_value(wh, b, day).by_state
        except ValueError:  # the data cannot answer for this brand (too few repeat buyers to fit …)
            skipped.append(b)
            continue
        if not by_state.attrs["reliable"]:
            unconverged.append(b)
        values += [{"brand_id": b, "day": day, "aipl": r.aipl, "deeplink": r.deeplink,
                    "consumers": int(r.consumers), "value": float(r.value)} for r in by_state.itertuples()]
    _replace_day(wh, schema.CLV_VALUE, values, day)
    out.update(rows=len(values), message=f"{len(keys)} brand(s): member buckets and CLV value by state on {day}"
               + _skipped(skipped, "too little data to fit CLV")
               + (f"; fit not converged, values to read with care: {', '.join(unconverged)}" if unconverged else ""))


def _skipped(brands_: list[str], why: str) -> str:
    return f"; {len(brands_)} without ({why}): {', '.join(brands_)}" if brands_ else ""


def _plans(run: _Run, out: dict) -> None:
    wh, rows, skipped = run.wh, [], []
    for b in brands(wh):
        try:
            p = latest_plan(wh, b)
            prog = None if p is None else p["progress"]  # the plan holds its progress
        except ValueError:  # the data cannot answer for this brand (no buyers last year, no peers …)
            skipped.append(b)
            continue
        if prog is None:
            continue
        for r in prog["series"]:
            if r["this_year"] is None or r["this_year"] != r["this_year"]:
                continue
            gap = (r["needed"] if r["needed"] is not None else r["last_year"]) - r["this_year"]
            rows.append({"brand_id": b, "campaign_id": p["campaign"]["campaign_id"], "as_of": p["as_of"],
                         "pool": r["pool"], "day": r["day"], "this_year": float(r["this_year"]),
                         "last_year": float(r["last_year"]), "needed": r["needed"], "gap": float(gap)})
    run.tick("plans")()
    frame = pd.DataFrame(rows, columns=schema.PLAN_PROGRESS.names)
    _ensure(wh, schema.PLAN_PROGRESS)
    wh.replace_rows(schema.PLAN_PROGRESS.name, frame if len(frame) else None, keys=[])
    out.update(rows=len(frame), message=f"progress of {frame.brand_id.nunique()} brand plan(s)"
               + _skipped(skipped, "nothing to plan from"))


def _alerts(run: _Run, out: dict) -> None:
    wh, day = run.wh, run.wh.last_day()
    _ensure(wh, schema.PLAN_PROGRESS)
    gaps = wh.table(schema.PLAN_PROGRESS.name).execute()
    gaps["day"] = pd.to_datetime(gaps["day"]).dt.date
    found = evaluate_alerts(wh, day, run.settings.alerts, gaps) if day is not None else pd.DataFrame(
        columns=ALERT_COLUMNS)
    found.insert(0, "run_id", run.run_id)
    found.insert(1, "day", day)
    run.tick("alerts")()
    _ensure(wh, schema.ALERTS)
    wh.replace_rows(schema.ALERTS.name, found if len(found) else None, keys=["run_id"],
                    match=ibis.memtable({"run_id": [run.run_id]}))
    for r in found.itertuples():
        run.say(f"  alert: {r.message}")
    out.update(rows=len(found), message=f"{len(found)} alert(s) from {len(run.settings.alerts)} rule(s)")


def _report(run: _Run, out: dict) -> None:
    run.tick("report")()
    if not run.settings.report:
        out.update(message="no report ([pipeline] report is empty)")
        return
    path = write_report(run.wh, run.wh.config.root / run.settings.report, truth=find_truth(run.wh.config.root))
    out.update(message=f"report written: {path}")


STEP_WORK: dict[str, Callable[[_Run, dict], None]] = {
    "ingest": _ingest, "assets": _assets, "tags": _tags, "clv": _clv, "plans": _plans, "alerts": _alerts,
    "report": _report,
}


def _ensure(wh: Warehouse, table: schema.Derived) -> None:
    wh.ensure_table(table.name, ibis_schema(table))


def _replace_day(wh: Warehouse, table: schema.Derived, rows: list[dict], day: date | None) -> None:
    """Make `table` hold `rows` for `day` (its earlier days are kept)."""
    _ensure(wh, table)
    wh.replace_rows(table.name, pd.DataFrame(rows, columns=table.names) if rows else None, keys=["day"],
                    match=ibis.memtable({"day": [day]}, schema={"day": "date"}))


# -------------------------------------------------------------------------------------------------- reading
class Freshness(Result):
    """How fresh the workspace's data is: the as-of day, the last run (id, start, end, outcome, the step that
    failed), whether it is late, the overall status (ok, failed, late, unfinished, never) and the derived tables
    built with other settings than the current ones (`stale`, see Warehouse.stale); what `freshness` returns.

    >>> Freshness(as_of="2026-10-24", status="ok", late=False, last_run=None, late_hours=30.0)
    Freshness(as of 2026-10-24, last run never: ok)
    """

    def __repr__(self) -> str:
        run = self["last_run"]
        when = run["ended"] or run["started"] if run else "never"
        return f"Freshness(as of {self['as_of']}, last run {when}: {self['status']})"

    @property
    def healthy(self) -> bool:
        """False when the last run failed or is late.

        >>> Freshness(status="late").healthy
        False
        """
        return self["status"] not in ("failed", "late")


def freshness(wh: Warehouse, as_of: date | None = None, now: datetime | None = None) -> Freshness:
    """The data's as-of day (`as_of`, default the last day with events) and the last run's time and outcome; late
    when no run has finished in `[pipeline] late_hours` (a workspace never run by the pipeline is not late).

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> freshness(wh).status  # never run by the pipeline
    'never'
    >>> wh.close()
    """
    settings = PipelineSettings.of(wh.config)
    now = now or datetime.now(UTC)
    runs = _runs(wh)
    last = _last_run(runs)
    day = as_of or wh.last_day()
    stale = wh.stale()  # tables built with other settings: a one-line "stale: rebuild with …" each
    if last.empty:
        return Freshness(as_of=_day(day), status="never", late=False, last_run=None, late_hours=settings.late_hours,
                         stale=stale)
    failed = last[last.outcome == "failed"]
    finished = max((g.ended.max() for _, g in runs.groupby("run_id") if not _unfinished(g)), default=None)
    late = finished is None or now - pd.Timestamp(finished).to_pydatetime() > timedelta(hours=settings.late_hours)
    status = "failed" if len(failed) else "late" if late else "unfinished" if _unfinished(last) else "ok"
    outcome = "failed" if len(failed) else "nothing" if (last.outcome == "nothing").any() else (
        "unfinished" if _unfinished(last) else "ok")
    run = {"run_id": str(last.run_id.iloc[0]), "started": _iso(last.started.min()), "ended": _iso(last.ended.max()),
           "outcome": outcome, "failed_step": str(failed.step.iloc[0]) if len(failed) else None,
           "message": str(failed.message.iloc[0]) if len(failed) else None}
    return Freshness(as_of=_day(day), status=status, late=bool(late), last_run=run, late_hours=settings.late_hours,
                     last_success=_iso(finished), stale=stale)


def _iso(v) -> str | None:
    return None if v is None or v != v or v is pd.NaT else pd.Timestamp(v).isoformat()


def recent_alerts(wh: Warehouse, run_id: str | None = None, limit: int = 200) -> list[dict]:
    """The alerts of one run (default: the latest run that evaluated them), newest first, as JSON-ready dicts.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> recent_alerts(wh)
    []
    >>> wh.close()
    """
    if not wh.has_table(schema.ALERTS.name):
        return []
    a = wh.table(schema.ALERTS.name)
    if run_id is None:
        runs = _runs(wh)
        done = runs[(runs.step == "alerts") & (runs.outcome == "ok")].sort_values("started")
        if done.empty:
            return []
        run_id = str(done.run_id.iloc[-1])
    rows = a.filter(a.run_id == run_id).limit(limit).execute()
    rows["day"] = [None if d is None or d != d else pd.Timestamp(d).date() for d in rows.day]
    return [_json(r) for r in rows.to_dict("records")]
