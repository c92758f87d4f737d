"""Ingestion: read raw files, validate every row, load the good ones and quarantine the rest, atomically."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aipl.ingest import adapters as _adapters  # noqa: F401  (registers the public-dataset formats)
from aipl.ingest.adapters.hillstrom import PRE_TREATMENT as PRE_TREATMENT_LABELS
from aipl.ingest.core import LoadResult, NotGranted, Target, batch_id, check, check_brands, stage_progress, write
from aipl.ingest.formats import FORMATS, Format, parse_mapping, reading, register
from aipl.ingest.review import Quarantine, WarehouseStatus, quarantined, warehouse_status
from aipl.warehouse import SourceError, Warehouse

__all__ = [
    "FORMATS",
    "PRE_TREATMENT_LABELS",
    "Format",
    "IngestReport",
    "LoadResult",
    "NotGranted",
    "Quarantine",
    "SourceError",
    "Target",
    "WarehouseStatus",
    "ingest",
    "parse_mapping",
    "quarantined",
    "register",
    "warehouse_status",
]


@dataclass
class IngestReport:
    """The outcome of one `ingest` call: one `LoadResult` per (source file, target), and their totals.

    >>> from aipl.ingest import ingest
    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "consumers.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc3,U,2001\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> done = ingest(wh, root / "consumers.csv", "consumers")
    >>> done.format, done.read, done.accepted, done.rejected, done.skipped
    ('consumers', 3, 2, 1, False)
    >>> wh.close()
    """

    format: str
    path: str
    loads: list[LoadResult] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Rows read from every source file.

        >>> a = LoadResult("a.csv", "events", "b1", read=3, accepted=2, rejected=1)
        >>> IngestReport("events", "in", [a, LoadResult("b.csv", "events", "b2", read=5, accepted=5)]).read
        8
        """
        return sum(r.read for r in self.loads)

    @property
    def accepted(self) -> int:
        """Rows loaded into their canonical tables.

        >>> a = LoadResult("a.csv", "events", "b1", read=3, accepted=2, rejected=1)
        >>> IngestReport("events", "in", [a, LoadResult("b.csv", "events", "b2", read=5, accepted=5)]).accepted
        7
        """
        return sum(r.accepted for r in self.loads)

    @property
    def rejected(self) -> int:
        """Rows written to `quarantine` instead.

        >>> a = LoadResult("a.csv", "events", "b1", read=3, accepted=2, rejected=1)
        >>> IngestReport("events", "in", [a, LoadResult("b.csv", "events", "b2", read=5, accepted=5)]).rejected
        1
        """
        return sum(r.rejected for r in self.loads)

    @property
    def skipped(self) -> bool:
        """True when every load was skipped: the file was loaded before.

        >>> a = LoadResult("a.csv", "events", "b1", skipped=True)
        >>> IngestReport("events", "in", [a]).skipped, IngestReport("events", "in", []).skipped
        (True, False)
        """
        return bool(self.loads) and all(r.skipped for r in self.loads)

    def as_dict(self) -> dict:
        """The report as JSON-ready values (totals and every load).

        >>> a = LoadResult("c.csv", "consumers", "b1", read=3, accepted=2, rejected=1)
        >>> d = IngestReport("consumers", "c.csv", [a]).as_dict()
        >>> {k: v for k, v in d.items() if k != "loads"}
        {'format': 'consumers', 'path': 'c.csv', 'read': 3, 'accepted': 2, 'rejected': 1, 'already_loaded': False}
        """
        return {
            "format": self.format, "path": self.path, "read": self.read, "accepted": self.accepted,
            "rejected": self.rejected, "already_loaded": self.skipped, "loads": [r.as_dict() for r in self.loads],
        }


def ingest(
    wh: Warehouse, path: str | Path, fmt: str, report: Callable[[str, float | None], None] | None = None,
    encoding: str = "utf-8",
    brands: Iterable[str] | None = None, mapping: Mapping[str, str] | None = None, brand: str | None = None,
) -> IngestReport:
    """Load `path` in format `fmt` into the warehouse: all of it or, on any error, nothing. Text files are read
    as `encoding` (a file that is not valid text in it is refused); `mapping` renames source columns to the
    names the format expects (`{"user_id": "consumer_id"}`, see `parse_mapping`) before anything else; a
    platform report without a brand column (docs/imports.md) is `brand`'s.

    Every row read is either accepted into its canonical table or written to `quarantine` with its
    line, field and reason. Loading the same file again changes nothing. SourceError when the format is
    unknown or the file cannot be read. With `brands` (a tenant's grant), NotGranted and nothing written
    when a row, as mapped into its table, belongs to another brand (see `check_brands`).

    >>> from aipl.ingest import ingest, quarantined
    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "consumers.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc3,U,2001\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> done = ingest(wh, root / "consumers.csv", "consumers")
    >>> done.accepted, done.rejected, done.loads[0].reasons
    (2, 1, {'birth_year': 1})
    >>> quarantined(wh).rows[["line", "field", "reason"]].to_dict("records")
    [{'line': 3, 'field': 'birth_year', 'reason': "not a valid int: '199x'"}]
    >>> ingest(wh, root / "consumers.csv", "consumers").skipped  # the same file again: nothing changes
    True
    >>> _ = (root / "e.csv").write_text("consumer_id, brand_id,event_type,ts\\nc1,B02,ad_click,2026-01-01\\n")
    >>> ingest(wh, root / "e.csv", "events", brands={"B01"})
    Traceback (most recent call last):
    aipl.ingest.core.NotGranted: e.csv → events: 1 row(s) name a brand not granted to the caller; nothing was loaded
    >>> wh.count("events")
    0
    >>> _ = (root / "crm.csv").write_text("user_id,gender\\nc9,F\\n")
    >>> ingest(wh, root / "crm.csv", "consumers", mapping={"user_id": "consumer_id"}).accepted
    1
    >>> wh.close()
    """
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}")
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    result = IngestReport(format=fmt, path=str(path))
    mapping = {k: v for k, v in (mapping or {}).items() if k != v}
    # the same bytes read with another mapping are another batch
    ident = fmt + (" " + json.dumps(sorted(mapping.items()), ensure_ascii=False) if mapping else "") + (
        f" brand={brand}" if brand else "")
    bids = {path: batch_id(path, ident)} if path.is_file() else {}
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
        with wh.progress(stage_progress(report, f"reading {path.name}")), reading(encoding, mapping, brand):
            jobs = FORMATS[fmt].plan(wh, path)
        for staged, targets in jobs:
            bid = bids.get(staged.path) or batch_id(staged.path, ident)
            for target in targets:
                pending = [c.accepted for c in checked if c.table == target.table.name and c.accepted is not None]
                checked.append(check(wh, staged, target, fmt, bid, len(checked), pending, report))
        if brands is not None:
            check_brands(wh, checked, frozenset(brands))
        with wh.transaction():
            for c in checked:
                write(wh, c, fmt, report)
    finally:
        wh.drop_temp(*[t for c in checked for t in c.temps], *[t for staged, _ in jobs for t in staged.temps])
    result.loads = [c.result for c in checked]
    return result
