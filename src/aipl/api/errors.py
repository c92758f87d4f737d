"""The last resort of both faces: any exception that reaches the CLI or the API becomes one line naming what
failed and why, with the status the API answers (the CLI always exits 2). A lock held by another process, a
full disk and an error raised inside DuckDB, Ibis, Arrow, pandas or Spark each have their own sentence."""

from __future__ import annotations

import errno
from dataclasses import dataclass

# exceptions raised by these libraries are about the data or the warehouse, not a bug of the request's code path
LIBRARIES = frozenset({"duckdb", "_duckdb", "ibis", "pyarrow", "pandas", "numpy", "pyspark", "py4j", "sqlglot"})
MAX_LINE = 300


@dataclass(frozen=True)
class Failure:
    """What went wrong, in one line, and the HTTP status that says so (503 busy, 507 disk full, 422 the data
    cannot answer, 500 a fault of aipl itself)."""

    message: str
    status: int


def first_line(text: str) -> str:
    """The first non-empty line of a message, at most MAX_LINE characters.

    >>> first_line("Conversion Error: bad value\\n\\nLINE 1: SELECT …")
    'Conversion Error: bad value'
    """
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…"


def _from_library(exc: BaseException) -> bool:
    return any(k.__module__.split(".")[0] in LIBRARIES for k in type(exc).__mro__[:-1])


def failure(exc: BaseException, step: str = "") -> Failure:
    """`exc` as one line prefixed with the `step` that failed (a command, a file).

    >>> failure(OSError(errno.ENOSPC, "No space left on device", "/ws/warehouse.duckdb.wal")).message
    'the disk is full (writing /ws/warehouse.duckdb.wal): free some space and run it again; nothing was half-written'
    >>> failure(KeyError("x"), "aipl fast").status
    500
    """
    text = first_line(str(exc)) or type(exc).__name__
    at = f"{step}: " if step else ""
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc):
        where = f" (writing {exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        return Failure(f"{at}the disk is full{where}: free some space and run it again; nothing was half-written",
                       507)
    if "Could not set lock on file" in str(exc) or "Conflicting lock" in str(exc):
        return Failure(f"{at}the warehouse is in use by another process ({text}); stop it, or wait for it to "
                       "finish", 503)
    if _from_library(exc):
        return Failure(f"{at}{type(exc).__name__}: {text}", 422)
    return Failure(f"{at}{type(exc).__name__}: {text}", 500)
