"""Privacy by default: the one guarded, audited way consumer ids leave the warehouse (every engine and face that
writes ids calls `export_ids`), and the peer-group minimum that keeps a tenant from deriving another brand's
figures from a benchmark or a category-level count (`peer_shortfall`).

It sits just above the warehouse so that every engine can use it: clv, below audience, writes ids too.

>>> from aipl.privacy import peer_shortfall
>>> peer_shortfall(5, "industry benchmark", "this category", 1)
'industry benchmark needs ≥ 5 other brands; this category has 1'
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd

from aipl import schema
from aipl.results import Result
from aipl.warehouse import Warehouse

EXPORTS_TABLE = schema.CROWD_EXPORTS.name
PEER = "同行 peer"  # how a brand the viewer is not granted shows in its figures


class PrivacyError(ValueError):
    """A request refused so that no tenant learns another brand's figures or a small crowd's ids (the API
    answers 403, the CLI one line).

    >>> isinstance(PrivacyError("withheld"), ValueError)
    True
    """


def peer_shortfall(minimum: int, what: str, where: str, others: int) -> str | None:
    """Why `what` over a group holding `others` brands the viewer is not granted is withheld, or None when it
    may be shown: none of them (all the viewer's own), or at least `minimum` ([privacy] min_peer_brands).

    >>> peer_shortfall(5, "industry benchmark", "category 'skincare'", 7) is None
    True
    >>> peer_shortfall(5, "category-level crowd count", "category 'skincare'", 2)
    "category-level crowd count needs ≥ 5 other brands; category 'skincare' has 2"
    """
    if others == 0 or others >= minimum:
        return None
    return f"{what} needs ≥ {minimum} other brands; {where} has {others}"


def foreign(brands: Iterable[str], viewer: Iterable[str] | None) -> list[str]:
    """The brands of `brands` the viewer is not granted (none for the owner, `viewer` None), sorted.

    >>> foreign(["B01", "B07", "B13"], {"B01"}), foreign(["B01", "B07"], None)
    (['B07', 'B13'], [])
    """
    return [] if viewer is None else sorted(set(brands) - set(viewer))


def check_export_size(wh: Warehouse, what: str, n: int) -> None:
    """PrivacyError when `n` ids are fewer than [privacy] min_crowd_size: nothing that small is exported.

    >>> from aipl.simulate import sample_warehouse
    >>> check_export_size(sample_warehouse(), "crowd 'teens'", 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aipl.privacy.PrivacyError: crowd 'teens' has 3 consumers, below the minimum export size 100 ...: not exported
    """
    minimum = wh.config.min_crowd_size
    if n < minimum:
        raise PrivacyError(f"{what} has {n:,} consumers, below the minimum export size {minimum} "
                           "([privacy] min_crowd_size in aipl.toml): not exported")


class ExportRecord(Result):
    """The audit row of one export of consumer ids (what `export_ids` logs in crowd_exports and returns).

    >>> ExportRecord(crowd="top scores", actor="analyst", exported_at=None, rows=150, path="/tmp/top.parquet",
    ...              sha256="ab" * 32)
    ExportRecord(150 rows of top scores by analyst → /tmp/top.parquet, sha256 abababababab…)
    """

    crowd: str
    actor: str
    exported_at: datetime
    rows: int
    path: str
    sha256: str

    def __repr__(self) -> str:
        return (f"ExportRecord({self['rows']:,} rows of {self['crowd']} by {self['actor']} → {self['path']}, "
                f"sha256 {self['sha256'][:12]}…)")


def export_ids(wh: Warehouse, what: str, df: pd.DataFrame, out: str | Path, actor: str | None = None
               ) -> ExportRecord:
    """Write consumer ids (and any other columns of `df`) to CSV or Parquet if there are at least [privacy]
    min_crowd_size distinct consumers, and log who exported what, when, where, and the file's digest
    (crowd_exports); the one way ids leave the warehouse. Returns the log row.

    >>> import tempfile
    >>> import pandas as pd
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> df = pd.DataFrame({"consumer_id": [f"c{i:08d}" for i in range(150)], "score": 0.5})
    >>> row = export_ids(wh, "top scores", df, f"{tempfile.mkdtemp()}/top.parquet", actor="analyst")
    >>> row["crowd"], row["actor"], row["rows"], len(row["sha256"])
    ('top scores', 'analyst', 150, 64)
    """
    people = df["consumer_id"].nunique() if "consumer_id" in df.columns else len(df)
    check_export_size(wh, what, people)
    out = Path(out)
    (df.to_parquet if out.suffix == ".parquet" else df.to_csv)(out, index=False)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    wh.ensure_table(EXPORTS_TABLE, {
        "crowd": "string", "actor": "string", "exported_at": "timestamp('UTC')", "rows": "int64",
        "path": "string", "sha256": "string"})
    row = ExportRecord(crowd=what, actor=actor or getpass.getuser(), exported_at=datetime.now(UTC), rows=len(df),
                       path=str(out.resolve()), sha256=digest)
    wh.insert(EXPORTS_TABLE, ibis.memtable(pd.DataFrame([dict(row)])).cast(wh.table(EXPORTS_TABLE).schema()))
    return row


__all__ = ["PEER", "ExportRecord", "PrivacyError", "check_export_size", "export_ids", "foreign", "peer_shortfall"]
