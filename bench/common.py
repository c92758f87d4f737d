"""What the benchmarks share."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int):
    """(median seconds over `repeat` runs, the last result)."""
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
