"""Every benchmark at one size, each in its own process, and the scale table in docs/performance.md.

    python bench/run.py --size tiny|1m|10m|100m [--only NAME ...] [--timeout S] [--nice 10] [--dry-run]
        [--no-write] [--doc docs/performance.md] [--store docs/performance.json] [--logs DIR]
    python bench/run.py --render          # only rewrite the tables from docs/performance.json

A size is a count of events; consumers are a tenth of it (10M events ↔ 1M consumers, 100M ↔ 10M), and each
benchmark gets the arguments that size means for it (`--dry-run` prints them). Each runs as a child process
under `nice`, with `--json FILE` (the report format of bench/common.py's `write_json`) and a timeout; its wall
time, CPU time and peak RSS (the child's own, from `wait4`, descendants it waited for included, or its report's
highest step peak if that is higher: a benchmark that restarts its high-water mark hides earlier peaks) are measured
here; its output and temporary files go to the logs folder (`--logs`, default a new temporary one). A
benchmark without `--json` yet still runs and is recorded as "not reported" with the reason; an argument a
benchmark does not know is dropped and named in the note. Results are merged into docs/performance.json (one
entry per size, so runs at different sizes accumulate; `--only` replaces only the benchmarks it ran), and the
`## Scale` section of docs/performance.md is rewritten from it: per size, each benchmark's status, wall time and
peak memory, and each step's seconds, peak memory, ratio to its baseline and target; across sizes, the growth
exponent of every step (the log-log slope of seconds, and of peak RSS, against events between two recorded
sizes).

Exits 1 when a benchmark failed its correctness check (its report says `"ok": false`, or it crashed or timed
out without one); a benchmark that reports a correct answer but exits 1 has missed a target, which the table
shows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GIB = 1024**3
MEMORY_CAP_GIB = 8.0  # issue 23 item 8: every command under 8 GiB at 100M events
SIZES = {"tiny": 100_000, "1m": 1_000_000, "10m": 10_000_000, "100m": 100_000_000}
TIMEOUTS = {"tiny": 600, "1m": 1800, "10m": 3 * 3600, "100m": 12 * 3600}  # per benchmark, seconds
BEGIN, END = "<!-- scale tables: written by bench/run.py from docs/performance.json -->", "<!-- end of scale tables -->"
INTRO = """\
`python bench/run.py --size S` (S = tiny, 1m, 10m or 100m events; consumers are a tenth of the events) runs every
benchmark in its own process under `nice`, checks each one's answer (a benchmark exits 1 and reports `"ok": false`
when its result differs from its baseline or reference, and then the run exits 1), measures its wall time, CPU
time and peak RSS, and rewrites the tables below from docs/performance.json, where runs at different sizes
accumulate. Ratios are ours / baseline, each from one run of that benchmark. A step's peak RSS is given where
the benchmark measures it; a benchmark's own peak (its process and the children it waited for) is always given,
against the 8 GiB cap of issue 23. CPU seconds far below wall seconds mean the shared machine was busy. The
growth exponent is the log-log slope between two sizes from 1m up: 1.0 means cost grows in proportion to the
events, below 1 slower. "tiny" is a smoke test of the benchmarks (fixed costs rule there), so it has no
exponent. A benchmark's status is `ok` (answer checked, targets met or shown), `missed` (answer checked, a
target missed), `failed` (a wrong answer, or a crash without a report), `timeout`, or `not reported` (it has no
`--json` yet: its wall time, CPU time and peak RSS are still measured)."""


@dataclass(frozen=True)
class Size:
    """What a size means: its events, and consumers a tenth of them."""

    name: str
    events: int

    @property
    def consumers(self) -> int:
        return self.events // 10

    @property
    def repeat(self) -> int:  # every method in a benchmark gets the same number of runs (their median)
        return 1 if self.name == "tiny" else 3

    @property
    def label(self) -> str:
        return f"{_count(self.events)} events ({_count(self.consumers)} consumers)"


def _count(n: float) -> str:
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:g}{unit}"
    return f"{n:g}"


def benchmarks(size: Size) -> dict[str, tuple[list[str], bool]]:
    """Each benchmark's arguments at `size`, and whether its work grows with the events (for the exponent)."""
    e, c, r, tiny = size.events, size.consumers, str(size.repeat), size.name == "tiny"
    brands = str(min(20_000, max(20, e // 5000)))
    return {
        "ingest": (["--rows", str(e), "--repeat", r], True),
        # at 100M one build and one day's snapshot (a build takes about 10 minutes: the series, the update and
        # the rebuild that checks it would take hours)
        "assets": (["--events", str(e), "--consumers", str(c), "--brands", brands]
                   + (["--repeat", "1", "--no-pandas", "--parts", "none"] if e >= 100_000_000 else ["--repeat", r]),
                   True),
        "keys": (["--events", str(e), "--consumers", str(c), "--brands", brands, "--load-rows", str(e), "--repeat", r],
                 True),
        "pipeline": (["--events", str(e), "--consumers", str(c), "--brands", "10" if tiny else "50"], True),
        "crowds": (["--consumers", str(c)], True),
        "clv": (["--big", str(c), "--synthetic", str(min(c, 1_000_000)), "--repeat", r], True),
        "measure": (["--consumers", str(c), "--repeat", r] + (["--uplift-rows", "20000"] if tiny else []), True),
        "serve": (["--seconds", "5" if tiny else "30", "--rows", str(max(10_000, e // 20))], False),
        "strategy": (["--consumers", "6000"] if tiny else [], False),
        "autopilot": (["--seeds", "1"] if tiny else [], False),
        "lookalike": ([], False),
    }


@dataclass
class Child:
    """How a child process ended: exit code (None after a timeout), wall and CPU seconds, peak RSS, its output."""

    code: int | None
    wall: float
    cpu: float
    peak_rss_gib: float
    output: str


def run_child(cmd: list[str], timeout: float, log: Path) -> Child:
    """Run `cmd` in its own process group, output to `log`; kill the group after `timeout` s. The peak RSS is the
    child's own (`wait4`), not the maximum over every child this process ever had."""
    with open(log, "wb") as out:
        t = time.perf_counter()
        # a killed child's last lines still reach the log; its temporary workspaces stay beside the log, out of
        # reach of other jobs' clean-ups of /tmp (one such deleted a running pipeline's workspace)
        tmp = log.parent / "tmp"
        tmp.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp)}
        pid = os.posix_spawnp(cmd[0], cmd, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, out.fileno(), 2)])
        deadline = t + timeout
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline:
                os.killpg(pid, signal.SIGKILL)
                _, _, usage = os.wait4(pid, 0)
                code = None
                break
            time.sleep(0.1)
        wall = time.perf_counter() - t
    return Child(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024 / GIB,
                 log.read_text(errors="replace"))


def _unknown_args(output: str) -> list[str]:
    m = re.search(r"unrecognized arguments: (.*)$", output, re.M)
    return m.group(1).split() if m else []


def _drop(argv: list[str], unknown: list[str]) -> list[str]:
    """`argv` without the options argparse did not know (and their values)."""
    out, skipping = [], False
    for a in argv:
        if a.startswith("--"):
            skipping = a in unknown
        elif not (skipping and a in unknown):
            skipping = False
        if not skipping:
            out.append(a)
    return out


def _portable(args: dict) -> dict:
    """A report's arguments as kept in the store: no --json path, and files by name (not this machine's paths)."""
    return {k: Path(v).name if isinstance(v, str) and v.startswith("/") else v for k, v in args.items() if k != "json"}


def _last_line(output: str) -> str:
    lines = [x.strip() for x in output.splitlines() if x.strip()]
    return lines[-1][:300] if lines else "no output"


def run_bench(name: str, argv: list[str], scales: bool, timeout: float, nice: int, logs: Path,
              script: Path | None = None) -> dict:
    """Run one benchmark and return its record: status, reason, wall, peak RSS, the rows of its report."""
    script = script or HERE / f"{name}.py"
    report = logs / f"{name}.json"
    report.unlink(missing_ok=True)
    prefix = ["nice", "-n", str(nice)] if nice else []
    ignored: list[str] = []
    full = [*argv, "--json", str(report)]
    while True:
        cmd = [*prefix, sys.executable, str(script), *full]
        print(f"[{name}] {shlex.join(cmd)}", flush=True)
        child = run_child(cmd, timeout, logs / f"{name}.log")
        unknown = _unknown_args(child.output) if child.code == 2 else []
        fewer = _drop(full, unknown)
        if not unknown or not set(unknown) <= set(full) or fewer == full:
            break
        ignored += [a for a in unknown if a.startswith("--")]
        full = fewer
    shown = ["python", os.path.relpath(script, ROOT), *_drop(full, ["--json", str(report)])]
    rec = {"bench": name, "command": shlex.join(shown), "scales": scales,
           "ignored": ignored, "exit": child.code, "wall": round(child.wall, 3), "cpu": round(child.cpu, 3),
           "peak_rss_gib": round(child.peak_rss_gib, 3), "rows": [], "args": {}}
    data = None
    if report.exists():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except ValueError as exc:
            rec.update(status="failed", reason=f"unreadable report: {exc}")
            return rec
    if data is not None:
        rec.update(rows=data.get("rows", []), args=_portable(data.get("args", {})))
        # a benchmark that restarts its high-water mark per step (Linux clear_refs) hides its earlier peaks from
        # wait4, which reports the last mark: its steps' own peaks count too
        steps = [r["peak_rss_gib"] for r in rec["rows"] if isinstance(r.get("peak_rss_gib"), (int, float))]
        rec["peak_rss_gib"] = round(max([child.peak_rss_gib, *steps]), 3)
    if child.code is None:
        rec.update(status="timeout", reason=f"killed after {timeout:.0f} s")
    elif data is not None and not data.get("ok", False):
        rec.update(status="failed", reason=f"correctness check failed (exit {child.code}): {_last_line(child.output)}")
    elif data is not None:
        rec.update(status="ok" if child.code == 0 else "missed",
                   reason="" if child.code == 0 else f"a target missed (exit {child.code})")
    elif child.code != 0:
        rec.update(status="failed", reason=f"exit {child.code} without a report: {_last_line(child.output)}")
    else:
        why = "no --json option" if "--json" in ignored else "it wrote no report"
        rec.update(status="not reported", reason=f"{why}; the run passed (exit 0)")
    if ignored and rec["status"] in ("ok", "missed"):
        rec["reason"] = (rec["reason"] + "; " if rec["reason"] else "") + "ignored " + " ".join(ignored)
    return rec


def failed(rec: dict) -> bool:
    return rec["status"] in ("failed", "timeout")


# -------- the store and the tables --------

def merge(store: dict, size: Size, records: list[dict], when: str) -> dict:
    """`store` with this run's records replacing the same benchmarks at this size (others kept)."""
    entry = store.setdefault("sizes", {}).setdefault(size.name, {"benches": {}})
    entry.update(events=size.events, consumers=size.consumers, cpus=os.cpu_count())
    for rec in records:
        entry["benches"][rec["bench"]] = {**rec, "recorded": when}
    return store


def _n(x: float | None) -> str:
    """A figure to read: whole above 100, two decimals above 1, else three significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"


def _gib(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _met(v: bool | None) -> str:
    return "" if v is None else ("met" if v else "**missed**")


def _esc(s: object) -> str:
    return str(s or "").replace("|", "\\|").replace("\n", " ")


def size_tables(name: str, entry: dict) -> list[str]:
    """The markdown of one size: each benchmark's status, wall and peak; then each step."""
    size = Size(name, entry["events"])
    recorded = sorted({b.get("recorded", "")[:10] for b in entry["benches"].values()} - {""})
    out = [f"### {size.label}", "",
           f"`python bench/run.py --size {name}` on {entry.get('cpus', '?')} cores, recorded "
           f"{', '.join(recorded) or '?'}.", "",
           "| bench | status | wall s | CPU s | peak RSS GiB | ≤ 8 GiB | note |", "|---|---|---:|---:|---:|---|---|"]
    benches = sorted(entry["benches"].values(), key=lambda b: b["bench"])
    for b in benches:
        out.append(f"| {b['bench']} | {b['status']} | {_n(b['wall'])} | {_n(b.get('cpu'))} | "
                   f"{_gib(b['peak_rss_gib'])} | {_met(b['peak_rss_gib'] <= MEMORY_CAP_GIB)} | "
                   f"{_esc(b.get('reason'))} |")
    out += ["", "| bench | step | s | CPU s | peak RSS GiB | baseline | baseline s | ratio | target | met |",
            "|---|---|---:|---:|---:|---|---:|---:|---|---|"]
    for b in benches:
        for r in b["rows"]:
            ratio = r.get("ratio")
            out.append(f"| {b['bench']} | {_esc(r['step'])} | {_n(r.get('seconds'))} | {_n(r.get('cpu_seconds'))} | "
                       f"{_gib(r.get('peak_rss_gib'))} | {_esc(r.get('baseline'))} | {_n(r.get('baseline_seconds'))} | "
                       f"{'' if ratio is None else _n(ratio) + 'x'} | {_esc(r.get('target'))} | {_met(r.get('met'))} |")
    return [*out, ""]


def exponent(a: tuple[int, float | None], b: tuple[int, float | None]) -> float | None:
    """The log-log slope of a cost between two (events, cost) points; None where either cost is missing or 0."""
    (e1, c1), (e2, c2) = a, b
    if not c1 or not c2 or e1 == e2:
        return None
    return math.log(c2 / c1) / math.log(e2 / e1)


def growth(store: dict) -> list[str]:
    """The growth table: seconds and peak RSS of every step at each recorded size, and the exponents between
    neighbouring sizes (only benchmarks whose work grows with the events; not "tiny", where fixed costs rule)."""
    sizes = sorted(((n, e) for n, e in store.get("sizes", {}).items() if n != "tiny"), key=lambda kv: kv[1]["events"])
    if len(sizes) < 2:
        return []
    points: dict[tuple[str, str], dict[str, tuple[float | None, float | None]]] = {}
    for name, entry in sizes:
        for b in entry["benches"].values():
            if not b.get("scales") or failed(b):
                continue
            points.setdefault((b["bench"], "(whole run)"), {})[name] = (b["wall"], b["peak_rss_gib"])
            for r in b["rows"]:
                points.setdefault((b["bench"], r["step"]), {})[name] = (r.get("seconds"), r.get("peak_rss_gib"))
    pairs = list(itertools.pairwise(sizes))
    head = ["bench", "step", *(f"s @{n}" for n, _ in sizes), *(f"GiB @{n}" for n, _ in sizes),
            *(f"time exp. {a}→{b}" for (a, _), (b, _) in pairs), *(f"memory exp. {a}→{b}" for (a, _), (b, _) in pairs)]
    out = ["### Growth with size", "",
           "Exponent k in cost ∝ events^k between two sizes (from the tables above; blank where a size lacks the "
           "step).", "", "| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for (bench, step), at in sorted(points.items()):
        if len(at) < 2:
            continue
        secs = [at.get(n, (None, None))[0] for n, _ in sizes]
        mem = [at.get(n, (None, None))[1] for n, _ in sizes]
        exps = []
        for which in (0, 1):
            for (a, ea), (b, eb) in pairs:
                k = exponent((ea["events"], at.get(a, (None, None))[which]),
                             (eb["events"], at.get(b, (None, None))[which]))
                exps.append("" if k is None else f"{k:.2f}")
        out.append("| " + " | ".join([bench, _esc(step), *(_n(s) for s in secs), *(_gib(m) for m in mem), *exps])
                   + " |")
    return [*out, ""]


def render(store: dict) -> str:
    """The generated part of the `## Scale` section: one block per recorded size, then the growth table."""
    lines = [BEGIN, ""]
    for name, entry in sorted(store.get("sizes", {}).items(), key=lambda kv: kv[1]["events"]):
        lines += size_tables(name, entry)
    lines += growth(store)
    return "\n".join([*lines, END])


def write_doc(doc: str, store: dict) -> str:
    """`doc` with its `## Scale` tables replaced by the ones of `store` (the section is added if missing)."""
    tables = render(store)
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        return head + tables + rest.split(END, 1)[1]
    return doc.rstrip("\n") + f"\n\n## Scale\n\n{INTRO}\n\n{tables}\n"


def write(doc_path: Path, store_path: Path, records: list[dict], size: Size | None = None) -> None:
    """Merge `records` (of `size`) into the store and rewrite the doc's `## Scale` tables from it."""
    store = json.loads(store_path.read_text(encoding="utf-8")) if store_path.exists() else {}
    if size is not None:
        merge(store, size, records, datetime.now(UTC).isoformat(timespec="seconds"))
        store_path.write_text(json.dumps(store, indent=1) + "\n", encoding="utf-8")
    doc = doc_path.read_text(encoding="utf-8") if doc_path.exists() else "# Performance\n"
    doc_path.write_text(write_doc(doc, store), encoding="utf-8")
    print(f"wrote {store_path} and the ## Scale section of {doc_path}" if size else f"rewrote {doc_path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=list(SIZES))
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these benchmarks")
    ap.add_argument("--timeout", type=float, help="seconds per benchmark (default by size)")
    ap.add_argument("--nice", type=int, default=10, help="niceness of the children (0: not niced)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.{md,json} alone")
    ap.add_argument("--render", action="store_true", help="only rewrite the tables from the store, run nothing")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    ap.add_argument("--store", type=Path, default=ROOT / "docs" / "performance.json")
    ap.add_argument("--logs", type=Path, help="folder for each benchmark's output and report (default: a temp one)")
    args = ap.parse_args(argv)
    if args.render:
        write(args.doc, args.store, [])
        return 0
    if not args.size:
        ap.error("--size is required (or --render)")
    size = Size(args.size, SIZES[args.size])
    todo = benchmarks(size)
    if args.only:
        unknown = sorted(set(args.only) - set(todo))
        if unknown:
            ap.error(f"no benchmark named {', '.join(unknown)} (known: {', '.join(todo)})")
        todo = {k: v for k, v in todo.items() if k in args.only}
    if args.dry_run:
        for name, (bench_args, _) in todo.items():
            print(shlex.join([sys.executable, str(HERE / f"{name}.py"), *bench_args, "--json", f"{name}.json"]))
        return 0
    logs = args.logs or Path(tempfile.mkdtemp(prefix=f"aipl-bench-{size.name}-"))
    logs.mkdir(parents=True, exist_ok=True)
    timeout = args.timeout or TIMEOUTS[size.name]
    print(f"{size.label}: {len(todo)} benchmarks, {timeout:.0f} s each at most; output in {logs}", flush=True)
    records = []
    for name, (bench_args, scales) in todo.items():
        rec = run_bench(name, bench_args, scales, timeout, args.nice, logs)
        records.append(rec)
        print(f"[{name}] {rec['status']} in {rec['wall']:.1f} s ({rec['cpu']:.1f} s CPU), "
              f"peak RSS {rec['peak_rss_gib']:.2f} GiB"
              + (f": {rec['reason']}" if rec["reason"] else ""), flush=True)
    if not args.no_write:
        write(args.doc, args.store, records, size)
    bad = [r["bench"] for r in records if failed(r)]
    print(f"{len(records) - len(bad)} of {len(records)} benchmarks gave a checked answer or were not reported"
          + (f"; failed: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
