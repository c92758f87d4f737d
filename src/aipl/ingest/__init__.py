"""Ingestion: read raw files, validate every row, load the good ones and quarantine the rest, atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aipl.ingest import adapters as _adapters  # noqa: F401  (registers the public-dataset formats)
from aipl.ingest.adapters.hillstrom import PRE_TREATMENT as PRE_TREATMENT_LABELS
from aipl.ingest.core import LoadResult, Target, batch_id, check, stage_progress, write
from aipl.ingest.formats import FORMATS, Format, register
from aipl.ingest.review import Quarantine, WarehouseStatus, file_brands, quarantined, warehouse_status
from aipl.warehouse import SourceError, Warehouse

__all__ = [
    "FORMATS",
    "PRE_TREATMENT_LABELS",
    "Format",
    "IngestReport",
    "LoadResult",
    "Quarantine",
    "SourceError",
    "Target",
    "WarehouseStatus",
    "file_brands",
    "ingest",
    "quarantined",
    "register",
    "warehouse_status",
]


@dataclass
class IngestReport:
    """The outcome of one `ingest` call: one `LoadResult` per (source file, target)."""

    format: str
    path: str
    loads: list[LoadResult] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(r.read for r in self.loads)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.loads)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.loads)

    @property
    def skipped(self) -> bool:
        return bool(self.loads) and all(r.skipped for r in self.loads)

    def as_dict(self) -> dict:
        return {
            "format": self.format, "path": self.path, "read": self.read, "accepted": self.accepted,
            "rejected": self.rejected, "already_loaded": self.skipped, "loads": [r.as_dict() for r in self.loads],
        }


def ingest(
    wh: Warehouse, path: str | Path, fmt: str, report: Callable[[str, float | None], None] | None = None
) -> IngestReport:
    """Load `path` in format `fmt` into the warehouse: all of it or, on any error, nothing.

    Every row read is either accepted into its canonical table or written to `quarantine` with its
    line, field and reason. Loading the same file again changes nothing.
    """
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}")
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    result = IngestReport(format=fmt, path=str(path))
    bids = {path: batch_id(path, fmt)} if path.is_file() else {}
    if bids:  # a file loaded before is recognised before it is read (its targets were written together)
        b = wh.table("batches")
        done = b.filter(b.batch_id == bids[path]).select("target").execute().target
        if len(done):
            result.loads = [LoadResult(str(path), str(t), bids[path], skipped=True) for t in done]
            return result
    # Staging, validation and duplicate checks write only session-local tables, before the transaction
    # (DuckDB reads tables created inside a transaction much more slowly); the transaction only writes.
    if report:
        report(f"reading {path.name}", None)
    jobs, checked = [], []
    try:
        with wh.progress(stage_progress(report, f"reading {path.name}")):
            jobs = FORMATS[fmt].plan(wh, path)
        for staged, targets in jobs:
            bid = bids.get(staged.path) or batch_id(staged.path, fmt)
            for target in targets:
                pending = [c.accepted for c in checked if c.table == target.table.name and c.accepted is not None]
                checked.append(check(wh, staged, target, fmt, bid, len(checked), pending, report))
        with wh.transaction():
            for c in checked:
                write(wh, c, fmt, report)
    finally:
        wh.drop_temp(*[t for c in checked for t in c.temps], *[t for staged, _ in jobs for t in staged.temps])
    result.loads = [c.result for c in checked]
    return result
