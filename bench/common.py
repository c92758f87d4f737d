"""What the benchmarks share: the data folder, medians of timed runs, peak RSS and the `--json PATH` report that
bench/run.py collects."""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import time
from pathlib import Path

# the public datasets: $AIPL_DATA, else the folder laid beside the clone in CI
DATA = Path(os.environ.get("AIPL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
GIB = 1024**3


def timed(fn, repeat: int):
    """(median seconds over `repeat` runs, the last result)."""
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """Another process's user + system CPU seconds so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_gib(who: int = resource.RUSAGE_SELF) -> float:
    """The peak resident set size so far, in GiB, of this process (or of its waited-for children)."""
    return resource.getrusage(who).ru_maxrss * 1024 / GIB  # ru_maxrss is in KiB on Linux


def hwm_gib(pid: int | str = "self") -> float | None:
    """A process's peak RSS (this one's by default, since the last `reset_hwm()`; Linux VmHWM), in GiB; None
    where /proc lacks it."""
    try:
        m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None
    return int(m.group(1)) * 1024 / GIB if m else None


def reset_hwm() -> bool:
    """Restart the peak-RSS count from the current RSS (Linux `clear_refs` 5), so that a step's own peak can be
    read with `hwm_gib()`; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def row(step: str, seconds: float, baseline: str | None = None, baseline_seconds: float | None = None,
        target: str | None = None, met: bool | None = None, peak_rss_gib: float | None = None,
        cpu_seconds: float | None = None) -> dict:
    """One timed result of a benchmark in the `--json` format (ratio = ours / baseline); `cpu_seconds`, where
    measured, is an optional extra key (on a busy machine it shows what the step itself cost)."""
    seconds = float(seconds)  # plain floats and booleans (numpy's do not write as JSON numbers)
    baseline_seconds = None if baseline_seconds is None else float(baseline_seconds)
    ratio = seconds / baseline_seconds if baseline_seconds else None
    out = {"step": step, "seconds": seconds, "baseline": baseline, "baseline_seconds": baseline_seconds,
           "ratio": ratio, "target": target, "met": None if met is None else bool(met), "peak_rss_gib": peak_rss_gib}
    return out if cpu_seconds is None else {**out, "cpu_seconds": cpu_seconds}


def write_json(path: str | Path | None, bench: str, args: dict, rows: list[dict], ok: bool) -> None:
    """Write a benchmark's report for bench/run.py: `{"bench", "args", "rows", "ok"}` (nothing without a path)."""
    if path:
        Path(path).write_text(json.dumps({"bench": bench, "args": args, "rows": rows, "ok": ok}, indent=1,
                                         default=str), encoding="utf-8")
