"""What the benchmarks share."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

# the public datasets: $AIPL_DATA, else the folder laid beside the clone in CI
DATA = Path(os.environ.get("AIPL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def timed(fn, repeat: int):
    """(median seconds over `repeat` runs, the last result)."""
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
