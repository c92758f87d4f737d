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
import json
import uuid
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


def check_export_size(wh: Warehouse, what: str, n: int, purpose: str = "export") -> None:
    """PrivacyError when `n` ids are fewer than [privacy] min_crowd_size: nothing that small is exported (or,
    with another `purpose` such as "insight", profiled).

    >>> from aipl.simulate import sample_warehouse
    >>> check_export_size(sample_warehouse(), "crowd 'teens'", 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aipl.privacy.PrivacyError: crowd 'teens' has 3 consumers, below the minimum export size 100 ...: not exported
    >>> check_export_size(sample_warehouse(), "crowd 'teens'", 3, "insight")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aipl.privacy.PrivacyError: crowd 'teens' has 3 consumers, below the minimum insight size 100 ...: no insight
    """
    minimum = wh.config.min_crowd_size
    if n < minimum:
        raise PrivacyError(f"{what} has {n:,} consumers, below the minimum {purpose} size {minimum} "
                           "([privacy] min_crowd_size in aipl.toml): "
                           + ("not exported" if purpose == "export" else f"no {purpose}"))


HASHES = ("md5", "sha256")
ID_TYPES = ("consumer_id", *schema.ID_TYPES)


def normalise(id_type: str, values: pd.Series) -> pd.Series:
    """Identifiers in the form a DMP hashes them: a phone number as its 11 digits (no +86, spaces or dashes), an
    OAID in lower case, an IDFA in upper case, trimmed; a consumer id as it is.

    >>> normalise("phone", pd.Series(["+86 138-0013-8000", "13900139000"])).tolist()
    ['13800138000', '13900139000']
    >>> normalise("idfa", pd.Series([" 6d92078a-8246-4ba4-ae5b-76104861e7dc "])).tolist()
    ['6D92078A-8246-4BA4-AE5B-76104861E7DC']
    """
    values = values.astype(str).str.strip()
    if id_type == "phone":
        digits = values.str.replace(r"\D", "", regex=True)
        return digits.where(~((digits.str.len() == 13) & digits.str.startswith("86")), digits.str[2:])
    return values.str.lower() if id_type == "oaid" else values.str.upper() if id_type == "idfa" else values


def hashed(values: pd.Series, how: str) -> pd.Series:
    """The hex digest (lower case) of each value's UTF-8 bytes, by `how` (md5 or sha256).

    >>> hashed(pd.Series(["13800138000"]), "md5").tolist()
    ['7945bd83237335e5376ff44d62e4f0ae']
    """
    fn = getattr(hashlib, how)
    return values.map(lambda v: fn(v.encode("utf-8")).hexdigest())


def identifiers(wh: Warehouse, consumers: pd.Series, id_type: str, brands: Iterable[str] | None = None
                ) -> pd.DataFrame:
    """The `id_type` identifiers (identities table) of the consumers, normalised: consumer_id, id_value; only those
    `brands` hold when given (a tenant's export never reads another brand's CRM identifiers).

    >>> from aipl.simulate import sample_warehouse
    >>> identifiers(sample_warehouse(), pd.Series(["c00000000"]), "phone").columns.tolist()
    ['consumer_id', 'id_value']
    """
    if id_type == "consumer_id":
        return pd.DataFrame({"consumer_id": consumers, "id_value": consumers})
    if id_type not in ID_TYPES:
        raise ValueError(f"unknown id type {id_type!r}: one of {', '.join(ID_TYPES)}")
    if not wh.has_table(schema.IDENTITIES.name):
        return pd.DataFrame({"consumer_id": pd.Series(dtype=str), "id_value": pd.Series(dtype=str)})
    t = wh.table(schema.IDENTITIES.name)
    pick = ibis.memtable(pd.DataFrame({"consumer_id": consumers.astype(str).unique()}))
    t = t.filter(t.id_type == id_type)
    if brands is not None:
        t = t.filter(t.brand_id.isin(sorted(brands)))
    rows = t.inner_join(pick, "consumer_id").select("consumer_id", "id_value").distinct().execute()
    return rows.assign(id_value=normalise(id_type, rows.id_value)).reset_index(drop=True)


class ExportRecord(Result):
    """The audit row of one export of consumer ids (what `export_ids` logs in crowd_exports and returns), with
    the export's manifest: its audit id, the identifier and hash written, the crowd's expression and how many
    consumers the rows cover.

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
    export_id: str
    id_type: str
    hash: str
    expr: str | None
    consumers: int
    manifest: str

    def to_dict(self) -> dict:
        """JSON-ready: the time in ISO format.

        >>> ExportRecord(crowd="c", exported_at=datetime(2026, 12, 2, tzinfo=UTC)).to_dict()
        {'crowd': 'c', 'exported_at': '2026-12-02T00:00:00+00:00'}
        """
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.items()}

    def __repr__(self) -> str:
        how = f" of {self.get('id_type')} {self['hash']}" if self.get("hash") else ""
        return (f"ExportRecord({self['rows']:,} rows{how} of {self['crowd']} by {self['actor']} → {self['path']}, "
                f"sha256 {self['sha256'][:12]}…)")


def export_ids(wh: Warehouse, what: str, df: pd.DataFrame, out: str | Path, actor: str | None = None,
               id_type: str = "consumer_id", hashing: str | None = None, expr: str | None = None,
               viewer: Iterable[str] | None = None) -> ExportRecord:
    """Write consumer ids (and any other columns of `df`) to CSV or Parquet if there are at least [privacy]
    min_crowd_size distinct consumers, and log who exported what, when, where, and the file's digest
    (crowd_exports); the one way ids leave the warehouse. Returns the log row.

    With an `id_type` of phone, oaid or idfa, the file holds instead the consumers' identifiers of that type
    (the identities table), normalised (see `normalise`) and hashed with `hashing` (md5 or sha256, required for
    them), one distinct digest a row (a `.txt` file: one a line, no header, as DMPs take them); the minimum
    applies to the consumers who have one. A manifest (`<file>.manifest.json`: crowd, expression, count, hash,
    id type, created, who, the audit id, the file's digest) is written beside every export. For a `viewer` (a
    tenant's brands) only the identifiers those brands hold are read.

    >>> import json, tempfile
    >>> import pandas as pd
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> df = pd.DataFrame({"consumer_id": [f"c{i:08d}" for i in range(150)], "score": 0.5})
    >>> row = export_ids(wh, "top scores", df, f"{tempfile.mkdtemp()}/top.parquet", actor="analyst")
    >>> row["crowd"], row["actor"], row["rows"], len(row["sha256"])
    ('top scores', 'analyst', 150, 64)
    >>> row = export_ids(wh, "top scores", df, f"{tempfile.mkdtemp()}/top.txt", id_type="consumer_id",
    ...                  hashing="sha256")
    >>> manifest = json.loads(Path(row["manifest"]).read_text())
    >>> manifest["count"], manifest["hash"], manifest["audit_id"] == row["export_id"]
    (150, 'sha256', True)
    """
    if id_type not in ID_TYPES:
        raise ValueError(f"unknown id type {id_type!r}: one of {', '.join(ID_TYPES)}")
    if hashing is not None and hashing not in HASHES:
        raise ValueError(f"unknown hash {hashing!r}: one of {', '.join(HASHES)}")
    if id_type != "consumer_id" and hashing is None:
        raise ValueError(f"{id_type} identifiers leave only hashed: give a hash ({', '.join(HASHES)})")
    out = Path(out)
    if id_type == "consumer_id" and hashing is None:
        people = df["consumer_id"].nunique() if "consumer_id" in df.columns else len(df)
        check_export_size(wh, what, people)
        rows = df
    else:
        found = identifiers(wh, df["consumer_id"], id_type, viewer)
        people = found.consumer_id.nunique()
        check_export_size(wh, f"{what} ({id_type})" if id_type != "consumer_id" else what, people)
        column = f"{id_type}_{hashing}"
        rows = pd.DataFrame({column: hashed(found.id_value, hashing)}).drop_duplicates().sort_values(column)
    if out.suffix == ".txt":
        out.write_text("".join(f"{v}\n" for v in rows.iloc[:, 0]), encoding="utf-8")
    else:
        (rows.to_parquet if out.suffix == ".parquet" else rows.to_csv)(out, index=False)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    wh.ensure_table(EXPORTS_TABLE, {
        "crowd": "string", "actor": "string", "exported_at": "timestamp('UTC')", "rows": "int64",
        "path": "string", "sha256": "string", "export_id": "string", "id_type": "string", "hash": "string"})
    manifest = out.with_name(out.name + ".manifest.json")
    row = ExportRecord(crowd=what, actor=actor or getpass.getuser(), exported_at=datetime.now(UTC), rows=len(rows),
                       path=str(out.resolve()), sha256=digest, export_id=uuid.uuid4().hex, id_type=id_type,
                       hash=hashing or "", expr=expr, consumers=int(people), manifest=str(manifest.resolve()))
    audit = pd.DataFrame([{k: row[k] for k in ("crowd", "actor", "exported_at", "rows", "path", "sha256",
                                                "export_id", "id_type", "hash")}])
    wh.insert(EXPORTS_TABLE, audit)  # ensure_table brought an older workspace's table up to these columns
    manifest.write_text(json.dumps({
        "audit_id": row["export_id"], "crowd": what, "expression": expr, "count": row["rows"],
        "consumers": row["consumers"], "id_type": id_type, "hash": hashing, "created": row["exported_at"].isoformat(),
        "who": row["actor"], "file": out.name, "sha256": digest}, ensure_ascii=False, indent=2), encoding="utf-8")
    return row


__all__ = ["HASHES", "ID_TYPES", "PEER", "ExportRecord", "PrivacyError", "check_export_size", "export_ids", "foreign",
           "hashed", "identifiers", "normalise", "peer_shortfall"]
