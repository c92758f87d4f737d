"""What ingestion left in the warehouse: row counts, batches, quarantined rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from aipl import schema
from aipl.warehouse import Warehouse


@dataclass
class WarehouseStatus:
    """Row counts of every canonical and system table, and the batches loaded (oldest first).

    >>> from aipl.ingest import ingest, warehouse_status
    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "consumers.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc3,U,2001\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> _ = ingest(wh, root / "consumers.csv", "consumers")
    >>> status = warehouse_status(wh)
    >>> status.tables["consumers"], status.tables["quarantine"], status.batches.target.tolist()
    (2, 1, ['consumers'])
    >>> wh.close()
    """

    tables: dict[str, int]
    batches: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return f"WarehouseStatus({sum(self.tables.values()):,} rows in {len(self.tables)} tables, " \
               f"{len(self.batches)} batches)"

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> import pandas as pd
        >>> WarehouseStatus({"events": 0}, pd.DataFrame({"batch_id": ["b1"], "read": [3]})).to_dict()
        {'tables': {'events': 0}, 'batches': [{'batch_id': 'b1', 'read': 3}]}
        """
        return {"tables": dict(self.tables),
                "batches": json.loads(self.batches.to_json(orient="records", date_format="iso"))}


@dataclass
class Quarantine:
    """Quarantined rows (file, line, target, field, reason, raw), at most `limit` of `total`.

    >>> from aipl.ingest import ingest, quarantined
    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "consumers.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc3,U,2001\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> _ = ingest(wh, root / "consumers.csv", "consumers")
    >>> q = quarantined(wh)
    >>> q, q.rows[["line", "field", "raw"]].to_dict("records")
    (Quarantine(1 of 1 rows), [{'line': 3, 'field': 'birth_year', 'raw': 'c2,M,199x'}])
    >>> wh.close()
    """

    total: int
    rows: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return f"Quarantine({len(self.rows):,} of {self.total:,} rows)"

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> import pandas as pd
        >>> Quarantine(7, pd.DataFrame({"line": [3], "reason": ["missing (required)"]})).to_dict()
        {'total': 7, 'rows': [{'line': 3, 'reason': 'missing (required)'}]}
        """
        return {"total": self.total, "rows": json.loads(self.rows.to_json(orient="records"))}


def warehouse_status(wh: Warehouse) -> WarehouseStatus:
    """Rows per table and the batches loaded.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> warehouse_status(wh).tables["events"]
    0
    >>> wh.close()
    """
    counts = {name: wh.count(name) for name in (*schema.TABLES, *schema.SYSTEM_TABLES)}
    return WarehouseStatus(counts, wh.table("batches").order_by("loaded_at").execute())


def quarantined(wh: Warehouse, source: str | None = None, limit: int = 50) -> Quarantine:
    """Quarantined rows by file and line, only from files whose path contains `source` if given.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> quarantined(wh, limit=10)
    Quarantine(0 of 0 rows)
    >>> wh.close()
    """
    if limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    q = wh.table("quarantine")
    if source:
        q = q.filter(q.source.contains(source))
    rows = q.order_by(["source", "line", "target"]).limit(limit).execute()
    return Quarantine(int(q.count().execute()), rows)
