"""The warehouse: one Ibis connection to DuckDB (default) or Spark, the canonical tables, and batch loads."""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import fcntl
import gzip
import hashlib
import io
import itertools
import json
import logging
import lzma
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends.sql.datatypes import DuckDBType

from aipl import schema
from aipl.config import SECTIONS, Config, ConfigError, load_config, parse_day

IBIS_TYPES: dict[str, dt.DataType] = {
    schema.INT: dt.int64,
    schema.FLOAT: dt.float64,
    schema.STRING: dt.string,
    schema.TIMESTAMP: dt.Timestamp(timezone="UTC"),
    schema.DATE: dt.date,
    schema.BOOL: dt.boolean,
}


SPARK_TYPES: dict[str, str] = {
    schema.INT: "BIGINT", schema.FLOAT: "DOUBLE", schema.STRING: "STRING",
    schema.TIMESTAMP: "TIMESTAMP", schema.DATE: "DATE", schema.BOOL: "BOOLEAN",
}


def ibis_schema(table: schema.Table) -> ibis.Schema:
    """The Ibis schema of a canonical table."""
    return ibis.schema({c.name: IBIS_TYPES[c.type] for c in table.columns})


CAPABILITIES: dict[str, frozenset[str]] = {  # what each backend offers beyond the neutral operations
    "duckdb": frozenset({"transactions", "progress", "incremental_assets", "published_snapshots"}),
    "spark": frozenset(),
}


class SourceError(ValueError):
    """A source file cannot be read at all (missing, empty, not the declared format): nothing of it is loaded.

    >>> from aipl.ingest import ingest
    >>> from aipl.simulate import sample_warehouse
    >>> ingest(sample_warehouse(), "missing.csv", "consumers")
    Traceback (most recent call last):
    ...
    aipl.warehouse.SourceError: missing.csv: no such file or folder
    """


_UNITS = {"b": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(size: str) -> float:
    """Bytes in a DuckDB memory size ("6GB", "19.2 GiB"); infinity for what it cannot read.

    >>> _bytes("6GB"), _bytes("1.5 KiB"), _bytes("unlimited")
    (6000000000.0, 1536.0, inf)
    """
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", size)
    unit = _UNITS.get(m.group(2).lower()) if m else None
    return float(m.group(1)) * unit if m and unit else float("inf")


def _as_day(value) -> date | None:
    """A day from what a backend returns for a day (a date, a timestamp or text); None for null or NaN."""
    if value is None or value != value:
        return None
    return value.date() if isinstance(value, datetime) else value if isinstance(value, date) else parse_day(value)


class WarehouseBusy(RuntimeError):
    """Another process kept the workspace's writer lock for longer than the caller would wait.

    >>> str(WarehouseBusy("the warehouse is busy"))
    'the warehouse is busy'
    """


class Warehouse:
    """A workspace's warehouse: canonical tables on one backend, reached through Ibis.

    Every difference between the backends lives here: creating, replacing and deleting rows, bitmaps (BINARY
    on both), transactions, temporary tables and the DuckDB-only fast paths (see `supports`).

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> wh.ensure_table("notes", {"k": "string", "n": "int64"})
    >>> wh.replace_rows("notes", ibis.memtable({"k": ["a", "b"], "n": [1, 2]}), keys=["k"])
    >>> wh.replace_rows("notes", ibis.memtable({"k": ["a"], "n": [3]}), keys=["k"])
    >>> sorted(wh.table("notes").execute().itertuples(index=False, name=None))
    [('a', 3), ('b', 2)]
    >>> wh.close()
    """

    _in_transaction = False
    _streamed: frozenset[Path] = frozenset()  # source files staged as streams: read when first consumed
    _closed = False

    def __init__(self, config: Config, spark_session=None, read_only: bool = False, snapshot: str | None = None,
                 wait: float | None = None, on_wait: Callable[[str], None] | None = None):
        self.config = config
        self.backend = config.backend
        self.read_only = read_only  # DuckDB: a published copy, opened read-only; Spark: the tables' committed files
        self.snapshot: str | None = None  # the published version a reader reads
        if not self.read_only:  # one writer at a time, across processes; held until close()
            _writer_acquire(config.root, wait, on_wait)
        try:
            self._connect(spark_session, snapshot, wait, on_wait)
        except BaseException:
            if not self.read_only:
                _writer_release(config.root)
            raise

    def _connect(self, spark_session, snapshot: str | None, wait: float | None,
                 on_wait: Callable[[str], None] | None) -> None:
        config = self.config
        if self.backend == "duckdb":
            if self.read_only:
                self.con, self.snapshot = _open_published(config, snapshot, wait, on_wait)
            else:
                self.con = ibis.duckdb.connect(str(config.database_path))
            self.raw = self.con.con  # the DuckDB connection Ibis runs its statements on
            self.raw.execute(f"SET TimeZone = '{config.timezone}'")
            own = self.raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            if config.memory_limit and _bytes(config.memory_limit) < _bytes(own):  # a cap: DuckDB spills beyond it
                self.raw.execute(f"SET memory_limit = '{config.memory_limit}'")
            if config.temp_directory:
                spill = (config.root / config.temp_directory).as_posix().replace("'", "''")
                self.raw.execute(f"SET temp_directory = '{spill}'")
            # track query progress for our own progress bar (DuckDB's printing stays off)
            self.raw.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        else:
            self.spark = spark_session or spark_session_for(config)
            self._use_spark_database()
            self.con = ibis.pyspark.connect(self.spark)
            self.spark.conf.set("spark.sql.session.timeZone", config.timezone)  # after Ibis set UTC
            self._attach_spark_tables()
        if not self.read_only:
            self.ensure_tables()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.close(publish=kind is None)

    def supports(self, capability: str) -> bool:
        """Whether this backend offers `capability`: "transactions" (all-or-nothing writes), "progress" (a
        running statement's percentage), "incremental_assets" (the live asset store's day-by-day update,
        which runs DuckDB SQL on row ids) or "published_snapshots" (readers open a read-only copy that `publish`
        swaps in). Without one the callers take their backend-neutral path."""
        known = set().union(*CAPABILITIES.values())
        if capability not in known:
            raise ValueError(f"unknown capability {capability!r}; known: {', '.join(sorted(known))}")
        return capability in CAPABILITIES[self.backend]

    # ------------------------------------------------------------------ tables
    def ensure_tables(self) -> None:
        """Create every canonical and bookkeeping table that does not exist yet, and bring an existing one up to
        the declared columns (see `ensure_table`)."""
        for table in (*schema.TABLES.values(), *schema.SYSTEM_TABLES.values()):
            self.ensure_table(table.name, ibis_schema(table))

    def has_table(self, name: str) -> bool:
        """Whether the warehouse holds a table (or a session's temporary table) called `name`."""
        return name in self.con.list_tables()

    def ensure_table(self, name: str, table_schema: ibis.Schema | dict) -> None:
        """Create an empty table `name` with `table_schema` unless it exists; on DuckDB, add to an existing one the
        columns a newer schema declares (e.g. `events.event_id`), null in its rows. (A Spark session attaches its
        tables with the declared columns: the Parquet files without one read it as null.)"""
        declared = ibis.schema(table_schema)
        if self.has_table(name):
            if self.backend == "duckdb" and not self.read_only:
                have = set(self.table(name).columns)
                for column in [c for c in declared.names if c not in have]:
                    self.raw.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" '
                                     f"{DuckDBType.to_string(declared[column])}")
            return
        if self.backend == "duckdb":
            self.con.create_table(name, schema=declared)
        else:  # written as an empty Parquet file, so that a later session can attach it with its schema
            self._spark_write(self.spark.createDataFrame([], _spark_struct(declared)), name)

    def table(self, name: str) -> ir.Table:
        """The Ibis table `name`."""
        return self.con.table(name)

    def insert(self, name: str, rows: ir.Table | pd.DataFrame) -> None:
        """Append `rows` (an expression or a data frame with the table's columns) to table `name`."""
        self.con.insert(name, self._rows_for(name, rows))

    def replace_rows(
        self, name: str, rows: ir.Table | pd.DataFrame | None, keys: list[str], match: ir.Table | None = None
    ) -> None:
        """Delete the rows of `name` whose `keys` equal those of a row of `match` (default: of `rows`; no keys:
        every row), then add `rows` (None: add nothing). An upsert by key, all-or-nothing on both backends.

        DuckDB deletes and inserts in one transaction; Spark rewrites the table once from a checkpoint of the
        kept rows and the new ones (Parquet tables have no DELETE)."""
        new = None if rows is None else self._rows_for(name, rows)
        if keys and match is None and new is None:
            raise ValueError("replace_rows needs rows or a match for its keys")
        matched = None if not keys else (new if match is None else match).select(*keys).distinct()
        if self.backend == "duckdb":
            with self.transaction():
                if matched is None:
                    self.raw.execute(f'DELETE FROM "{name}"')
                else:
                    self.con.create_table("_aipl_match", matched, temp=True, overwrite=True)
                    on = " AND ".join(f'm."{k}" = "{name}"."{k}"' for k in keys)
                    self.raw.execute(f'DELETE FROM "{name}" WHERE EXISTS (SELECT 1 FROM temp._aipl_match m WHERE {on})')
                    self.drop_temp("_aipl_match")
                if new is not None:
                    self.con.insert(name, new)
        else:
            kept = self.spark.table(name)
            kept = kept.limit(0) if matched is None else kept.join(self._spark_df(matched), on=keys, how="left_anti")
            if new is not None:
                kept = kept.unionByName(self._spark_df(new))
            self._spark_overwrite(name, kept)
        self.record_build(name)

    def replace_table(self, name: str, expr: ir.Table | pd.DataFrame) -> ir.Table:
        """Make table `name` hold exactly the rows of `expr` (created, or replaced with `expr`'s schema); `expr`
        may read `name` itself. A table of `schema.BUILT_WITH` records what it was built with (`record_build`)."""
        if self.backend == "duckdb":
            self.con.create_table(name, expr, overwrite=True)
        else:
            if not isinstance(expr, ir.Table):
                expr = ibis.memtable(expr)
            df = self._spark_df(expr)
            if self.has_table(name) and self.table(name).schema() == expr.schema():
                self._spark_overwrite(name, df)
            else:
                df = df.localCheckpoint(eager=True)
                self.drop_table(name)
                self._spark_write(df, name)
        self.record_build(name)
        return self.table(name)

    # ------------------------------------------------------------------ what derived tables are built with
    def built_with(self, name: str) -> tuple[str, str] | None:
        """(fingerprint, settings as JSON) of what derived table `name` would be built with now: the settings its
        `schema.BUILT_WITH` declares, as this workspace's config reads them (defaults included), and its rules'
        version; None for a table that declares none."""
        declared = schema.BUILT_WITH.get(name)
        if declared is None:
            return None
        settings = {s: _setting(self.config, s) for s in declared.settings}
        text = json.dumps({"rules": declared.rules, **settings}, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16], text

    def record_build(self, *names: str) -> None:
        """Record that derived tables `names` are (being) written with the current settings and rules: the
        warehouse does it whenever a declared table is written with `replace_table` or `replace_rows`."""
        rows = [(n, *self.built_with(n)) for n in names if n in schema.BUILT_WITH]
        if not rows or self.read_only:
            return
        self.ensure_table(schema.BUILDS.name, ibis_schema(schema.BUILDS))
        b = self.table(schema.BUILDS.name)
        held = dict(b.filter(b.derived.isin([r[0] for r in rows])).select("derived", "fingerprint").execute()
                    .itertuples(index=False, name=None))
        rows = [r for r in rows if held.get(r[0]) != r[1]]
        if rows:
            frame = pd.DataFrame(rows, columns=["derived", "fingerprint", "settings"]).assign(
                built_at=datetime.now(UTC))
            self.replace_rows(schema.BUILDS.name, frame, keys=["derived"])

    def stale(self, names: list[str] | None = None) -> list[dict]:
        """The derived tables (of `names`, default all) whose stored rows were built with other settings or
        rules than the current ones: each with the settings that `changed`, the `rebuild` command and a one-line
        `message`. A table built before builds were recorded is not judged.

        >>> import pathlib, tempfile
        >>> from aipl.config import init_workspace
        >>> root = init_workspace(tempfile.mkdtemp())
        >>> wh = open_warehouse(root)
        >>> _ = wh.replace_table("asset_live", pd.DataFrame({"scope": ["brand"]}))
        >>> wh.stale()
        []
        >>> cfg = root / "aipl.toml"
        >>> _ = cfg.write_text(cfg.read_text().replace("purchase_days = 913", "purchase_days = 400"))
        >>> wh.close(); wh = open_warehouse(root)
        >>> [s["message"] for s in wh.stale()]
        ['stale: asset_live was built with other [assets] settings; rebuild with `aipl assets build`']
        >>> wh.close()
        """
        if not self.has_table(schema.BUILDS.name):
            return []
        out = []
        for r in self.table(schema.BUILDS.name).order_by("derived").execute().itertuples():
            now = self.built_with(r.derived)
            if (names is not None and r.derived not in names) or now is None or now[0] == r.fingerprint:
                continue
            if not self.has_table(r.derived):
                continue
            was, is_ = json.loads(r.settings or "{}"), json.loads(now[1])
            changed = [k for k in is_ if was.get(k) != is_[k]]
            what = ", ".join("rules" if k == "rules" else f"[{k}]" for k in changed)
            rebuild = schema.BUILT_WITH[r.derived].rebuild
            out.append({"table": r.derived, "changed": changed, "rebuild": rebuild,
                        "message": f"stale: {r.derived} was built with other {what} settings; rebuild with "
                                   f"`{rebuild}`"})
        return out

    def drop_table(self, name: str) -> None:
        """Remove table `name` and its data, if it exists."""
        if self.backend == "duckdb":
            self.con.drop_table(name, force=True)
            return
        if self.spark.catalog.tableExists(f"`{self.config.spark.database}`.`{name}`"):
            self.spark.sql(f"DROP TABLE IF EXISTS `{self.config.spark.database}`.`{name}`")
        self._spark_fs_delete(self._spark_location(name))

    def local_day(self, ts: ir.TimestampValue) -> ir.DateValue:
        """The calendar day of an instant in the workspace time zone."""
        return ts.date() if self.backend == "spark" else ts.cast("timestamp").date()

    def first_day(self) -> date | None:
        """The first day (workspace time zone) with events; None without any."""
        ev = self.table("events")
        return _as_day(ev.aggregate(d=self.local_day(ev.ts).min()).execute().d.iloc[0])

    def last_day(self, with_brand: bool = False) -> date | None:
        """The last day (workspace time zone) with events (with a brand, if `with_brand`); None without any."""
        ev = self.table("events")
        if with_brand:
            ev = ev.filter(ev.brand_id.notnull())
        return _as_day(ev.aggregate(d=self.local_day(ev.ts).max()).execute().d.iloc[0])

    def count(self, name: str) -> int:
        return int(self.con.table(name).count().execute())

    def materialize(self, name: str, expr: ir.Table) -> ir.Table:
        """Compute `expr` once into a session-scoped temporary table and return it. A streamed source file that
        turns out unreadable on the way (a corrupt Parquet page) raises SourceError naming it."""
        if self.backend == "duckdb":
            self.con._run_pre_execute_hooks(expr)  # registers the in-memory tables `expr` reads
            sql = self.con.compile(expr)
            try:
                self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
            except Exception as exc:  # a read error (not a query's own: those have their own classes)
                source = next((p for p in self._streamed if _sql_str(str(p)) in sql), None)
                if source is None or type(exc).__name__ not in ("Error", "IOException", "InvalidInputException"):
                    raise
                raise SourceError(f"{source}: cannot be read: {_first_line(exc)}") from exc
        else:
            # a checkpoint, not cache(): Spark would recompute a cached result after a write to its inputs
            self._spark_df(expr).localCheckpoint(eager=True).createOrReplaceTempView(name)
        return self.con.table(name)

    def materialize_sql(self, name: str, query: str) -> ir.Table:
        """A session-scoped temporary table `name` from a SELECT written in the backend's own SQL dialect (the
        query is the caller's backend-specific fast path; check `supports` first)."""
        if self.backend == "duckdb":
            self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query}')
        else:
            self.spark.sql(query).localCheckpoint(eager=True).createOrReplaceTempView(name)
        return self.con.table(name)

    def delete_row_ids(self, name: str, ids: ir.Column) -> int:
        """Delete the rows of `name` whose DuckDB `rowid` is in `ids` (capability "incremental_assets"); returns
        how many went."""
        self._require("incremental_assets")
        self.con._run_pre_execute_hooks(ids.as_table())
        sub = self.con.compile(ids.as_table())
        return int(self.raw.execute(f'DELETE FROM "{name}" WHERE rowid IN (SELECT * FROM ({sub}))').fetchone()[0])

    def drop_temp(self, *names: str) -> None:
        for name in names:
            if self.backend == "duckdb":
                self.raw.execute(f'DROP TABLE IF EXISTS temp."{name}"')
            else:
                self.spark.catalog.dropTempView(name)

    def _require(self, capability: str) -> None:
        if not self.supports(capability):
            raise NotImplementedError(f"the {self.backend} backend has no {capability!r}; take the neutral path")

    def _rows_for(self, name: str, rows: ir.Table | pd.DataFrame) -> ir.Table:
        """`rows` as an expression with the columns and types of table `name`."""
        target = self.table(name).schema()
        if isinstance(rows, ir.Table):
            return rows.select(*target.names).cast(target)
        # typed column by column: an empty column or a NaN in an integer column must not decide a type
        arrow = target.to_pyarrow()
        return ibis.memtable(pa.table([pa.array(rows[f.name].tolist(), type=f.type, from_pandas=True) for f in arrow],
                                      schema=arrow))

    # ------------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: on any error or interrupt the warehouse stays as it was.

        DuckDB gives a real transaction (a killed process leaves no partial batch). Spark has no
        multi-table transactions: there, writes happen only after every check has passed.
        """
        if not self.supports("transactions") or self._in_transaction:
            yield
            return
        with _write_mutex(self.config.database_path):  # a publish in this process never copies a half-commit
            self._in_transaction = True
            self.raw.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self._in_transaction = False
                self.raw.execute("ROLLBACK")
                raise
            self._in_transaction = False
            self.raw.execute("COMMIT")

    # ------------------------------------------------------------------ staging
    def stage_csv(
        self, path: Path, names: list[str] | None, delim: str = ",", name: str = "_staged", stream: bool = False,
        encoding: str = "utf-8",
    ) -> Staged:
        """Read a CSV (plain or compressed, see `text_source`) as strings with each record's line in `_line`.

        `names` is None for a file with a header, else the column names of a header-less file. The dialect is
        fixed (RFC 4180: `delim`, double quotes, quotes escaped by doubling; CRLF, LF or both end lines), never
        guessed from a sample. Records the CSV parser cannot split (wrong number of fields, broken quotes, longer
        than 2 MB) end up in `Staged.broken` with their line and the parser's message; nothing is dropped. Line
        numbers are physical lines, also after quoted values that hold line breaks. A file that is not valid text
        in `encoding`, or a broken compressed file, is refused (SourceError). The file is read in parallel and a
        row's line told from its place in the file's order. With `stream` it is read once, by whatever consumes
        `rel` first, which must keep its rows one for one (read it once only; an error then surfaces there; see
        `Staged.settle`); otherwise it is copied into a session table.
        """
        _check_readable(path)
        if self.backend == "spark":
            return self._spark_stage(path, "csv", names, delim, name, encoding)
        with text_source(path, encoding, self.config.root) as src:
            ends = src.line_ends()
            if not ends.mixed:
                if stream and not src.temporary:
                    return self._duck_stream_csv(src, path, names, delim, name, ends, encoding)
                try:
                    return self._duck_stage_csv(src, path, names, delim, name, ends, encoding)
                except MixedLineEnds:
                    pass
        with text_source(path, encoding, self.config.root, lf_only=True) as src:  # CRLF and LF mixed: all LF
            return self._duck_stage_csv(src, path, names, delim, name, src.line_ends(), encoding)

    def _csv_scan(self, src: TextSource, names: list[str] | None, delim: str, name: str) -> tuple[str, list[str], int]:
        """The `read_csv` call for `src` (every column a string, the parser's rejects kept in `{name}_re`), its
        columns, and the line of its first record."""
        header = names is None
        cols = names or src.header(delim)
        opts = [f"header = {str(header).lower()}", "auto_detect = false", f"delim = '{_sql_str(delim)}'",
                f"compression = '{src.compression}'"]
        opts.append("columns = {" + ", ".join(f"'{_sql_str(n)}': 'VARCHAR'" for n in cols) + "}")
        opts += ["quote = ''", "escape = ''"] if delim == "\x1f" else ["quote = '\"'", "escape = '\"'"]
        opts += ["store_rejects = true", f"rejects_scan = '{name}_rs'", f"rejects_table = '{name}_re'"]
        self.drop_temp(f"{name}_re", f"{name}_rs")  # DuckDB fails on appending to a previous scan's rejects
        return f"read_csv('{_sql_str(str(src.path))}', {', '.join(opts)})", cols, 2 if header else 1

    def _duck_stream_csv(
        self, src: TextSource, path: Path, names: list[str] | None, delim: str, name: str, ends: LineEnds,
        encoding: str,
    ) -> Staged:
        csv, _, first = self._csv_scan(src, names, delim, name)
        self._streamed |= {path}
        rel = _strip_names(self.con.sql(f"SELECT CAST(NULL AS BIGINT) AS _line, * FROM {csv}"))

        def settle(table: str) -> tuple[ir.Table, ir.Table | None] | None:
            self._refuse_bad_text(name, path, encoding)
            return self._lines_in_order(name, table, first, ends.lines, replace=True)

        def again() -> Staged:
            with text_source(path, encoding, self.config.root) as copy_src:
                return self._duck_stage_csv(copy_src, path, names, delim, name, ends, encoding)

        return Staged(path, rel, None, settle=settle, temps=_staging_temps(name), again=again)

    def _duck_stage_csv(
        self, src: TextSource, path: Path, names: list[str] | None, delim: str, name: str, ends: LineEnds,
        encoding: str,
    ) -> Staged:
        csv, cols, first = self._csv_scan(src, names, delim, name)
        temps = _staging_temps(name)
        # Read in parallel into a table, which keeps the file's order: when every line is one record, a row's place
        # gives its line.
        self._read_csv(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM {csv}', path, src)
        self._refuse_bad_text(name, path, encoding)
        numbered = self._lines_in_order(name, name, first, ends.lines)
        if numbered is not None:
            return Staged(path, _strip_names(numbered[0]), numbered[1], temps=temps)
        # Line breaks inside values, blank lines or lone CRs: read again, numbering the records in order (one
        # core); row_number() over a CSV scan follows the file's order, the numbers count records and skip
        # nothing: _settle_lines turns them into physical lines.
        csv, cols, first = self._csv_scan(src, names, delim, name)
        self._read_csv(f'CREATE OR REPLACE TEMP TABLE "{name}" AS '
                       f"SELECT row_number() OVER () + {first - 1} AS _line, * FROM {csv}", path, src)
        broken = self._settle_lines(name, name, first, cols, delim != "\x1f")
        return Staged(path, _strip_names(self.con.table(name)), broken, temps=temps)

    def _read_csv(self, statement: str, path: Path, src: TextSource) -> None:
        try:
            self.raw.execute(statement)
        except Exception as exc:
            if "state machine reached an invalid state" in str(exc) and not src.lf_only:
                raise MixedLineEnds() from exc
            raise SourceError(f"{path}: cannot be read as CSV: {_first_line(exc)}") from exc

    def materialize_in_order(self, name: str, expr: ir.Table) -> ir.Table | None:
        """Like `materialize`, keeping the order of the rows `expr` reads in the table's row order, or None (nothing
        computed) when `expr` cannot keep it (it joins, groups, sorts; or the backend does not say)."""
        if self.backend != "duckdb":
            return None
        self.con._run_pre_execute_hooks(expr)
        sql = self.con.compile(expr)
        # DuckDB keeps insertion order through scans, filters and projections; a long IN list is rewritten into a
        # join, which does not keep it: the rewrite is held off while this runs.
        self.raw.execute("SET disabled_optimizers = 'in_clause'")
        try:
            plan = json.loads(self.raw.execute(f"EXPLAIN (FORMAT json) {sql}").fetchall()[0][1])
            if not _keeps_order(plan):
                return None
            return self.materialize(name, expr)
        finally:
            self.raw.execute("RESET disabled_optimizers")

    def _refuse_bad_text(self, name: str, path: Path, encoding: str) -> None:
        """SourceError when the scan that kept its rejects in `{name}_re` met bytes that are not `encoding` text."""
        bad_text = self.raw.execute(
            f"SELECT min(line) FROM \"{name}_re\" WHERE error_type IN ('INVALID ENCODING', 'INVALID UNICODE')"
        ).fetchone()[0]
        if bad_text is not None:
            raise SourceError(_not_text(path, f"line {bad_text}", encoding))

    def _lines_in_order(
        self, name: str, table: str, first: int, lines: int | None, replace: bool = False
    ) -> tuple[ir.Table, ir.Table | None] | None:
        """When the file's `lines` are one record each (none blank, no value holding a line break), `table` (one row
        per record read, in the file's order) with each row's line as `_line` (`replace`: in place of its own), and
        the parser's rejected records with theirs (None without any); else None."""
        rejected = int(self.raw.execute(f'SELECT count(DISTINCT line) FROM "{name}_re"').fetchone()[0])
        read = int(self.raw.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        if lines is None or lines != first - 1 + read + rejected:
            return None
        if not rejected:  # the k-th row (rowid k) is on line first + k
            rest = "* EXCLUDE (_line)" if replace else "*"
            return self.con.sql(f'SELECT rowid + {first} AS _line, {rest} FROM "{table}"'), None
        self._rejected_records(name, first)
        drop = "__aipl_k, _line" if replace else "__aipl_k"
        # the k-th good row sits after every rejected record that has at most k good records before it
        self.raw.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}_l" AS SELECT CAST(t.__aipl_k + {first} + coalesce(b.n, 0) AS '
            f'BIGINT) AS _line, t.* EXCLUDE ({drop}) '
            f'FROM (SELECT rowid AS __aipl_k, * FROM "{table}") t '
            f'ASOF LEFT JOIN (SELECT q, sum(count(*)) OVER (ORDER BY q) AS n FROM "{name}_rq" GROUP BY q) b '
            f'ON t.__aipl_k >= b.q'
        )
        self.drop_temp(table)
        return self.con.table(f"{name}_l"), self.con.table(f"{name}_rj")

    def _rejected_records(self, name: str, first: int) -> None:
        """The parser's rejected records, one row per record line (`{name}_rj`: `_line`, `raw`, `reason`), and how
        many good records precede each (`{name}_rq`: `q`; the k-th good record (0-based) sits after every rejected
        record whose q <= k)."""
        self.raw.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}_rj" AS SELECT line AS _line, any_value(csv_line) AS raw, '
            f"string_agg(DISTINCT error_message, '; ') AS reason FROM \"{name}_re\" GROUP BY line"
        )
        self.raw.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}_rq" AS SELECT (_line - {first}) - '
            f'(row_number() OVER (ORDER BY _line) - 1) AS q FROM "{name}_rj"'
        )

    def stage_parquet(self, path: Path, name: str = "_staged", stream: bool = True) -> Staged:
        """Read a Parquet file with every column as a string and the row number as `_line`; a column of lists,
        structs or maps, or a file that is not Parquet, is refused (SourceError)."""
        _check_readable(path)
        if self.backend == "spark":
            return self._spark_stage(path, "parquet", None, ",", name)
        src = f"read_parquet('{_sql_str(str(path))}', file_row_number = true)"
        try:
            cols = [(c[0], c[1]) for c in self.raw.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        except Exception as exc:
            raise SourceError(f"{path}: cannot be read as Parquet: {_first_line(exc)}") from exc
        nested = [f"{c} ({t})" for c, t in cols if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION"))]
        if nested:
            raise SourceError(f"{path}: column(s) {', '.join(nested)} hold lists, structs or maps; aipl reads "
                              "columns of single values")
        casts = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c, _ in cols if c != "file_row_number")
        query = f"SELECT file_row_number + 1 AS _line, {casts} FROM {src}"
        if stream:
            self._streamed |= {path}
            return Staged(path, _strip_names(self.con.sql(query)), None)
        try:
            self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query}')
        except Exception as exc:
            raise SourceError(f"{path}: cannot be read as Parquet: {_first_line(exc)}") from exc
        return Staged(path, _strip_names(self.con.table(name)), None, temps=(name,))

    def _settle_lines(self, name: str, table: str, first: int, cols: list[str], quoted: bool = True) -> ir.Table | None:
        """After a scan numbered by record: give `table`'s rows their physical line numbers; return the parser's
        rejected records (with theirs), or None without any."""
        rejected = int(self.raw.execute(f'SELECT count(*) FROM "{name}_re"').fetchone()[0]) > 0
        if rejected:
            self._rejected_records(name, first)
            self.raw.execute(
                f'UPDATE "{table}" SET _line = _line + (SELECT count(*) FROM "{name}_rq" q '
                f'WHERE q.q <= "{table}"._line - {first})'
            )
        if not quoted:  # whole lines: a record is one line
            return self.con.table(f"{name}_rj") if rejected else None
        # Records numbered so far; a quoted value with line breaks moves every later record down by as many lines.
        spans = [f'SELECT _line, {" + ".join(_breaks(c) for c in cols)} AS n FROM "{table}" '
                 f'WHERE {" OR ".join(_has_break(c) for c in cols)}']
        if rejected:
            spans.append(f'SELECT _line, {_breaks("raw")} AS n FROM "{name}_rj" WHERE {_has_break("raw")}')
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}_rb" AS SELECT _line, '
                         f'sum(n) OVER (ORDER BY _line) AS shift FROM ({" UNION ALL ".join(spans)})')
        if int(self.raw.execute(f'SELECT count(*) FROM "{name}_rb"').fetchone()[0]):
            for target in (table, f"{name}_rj") if rejected else (table,):
                self.raw.execute(
                    f'UPDATE "{target}" SET _line = "{target}"._line + s.shift FROM (SELECT t._line AS at, b.shift '
                    f'FROM "{target}" t ASOF JOIN "{name}_rb" b ON t._line > b._line) s WHERE "{target}"._line = s.at'
                )
        self.drop_temp(f"{name}_rb")
        return self.con.table(f"{name}_rj") if rejected else None

    def _spark_stage(self, path: Path, fmt: str, names, delim: str, name: str, encoding: str = "utf-8") -> Staged:
        try:
            if fmt == "parquet":
                return self._spark_stage_text(path, None, fmt, names, delim, name)
            # checked and decoded as on DuckDB (Spark would read bytes that are not UTF-8 as U+FFFD)
            with text_source(path, encoding, self.config.root, check_text=True) as src:
                return self._spark_stage_text(path, src, fmt, names, delim, name)
        except SourceError:
            raise
        except Exception as exc:  # Spark reads while staging (a checkpoint): any read error refuses the file
            raise SourceError(f"{path}: cannot be read: {_first_line(exc)}") from exc

    def _spark_stage_text(self, path: Path, src: TextSource | None, fmt: str, names, delim: str, name: str) -> Staged:
        from pyspark.sql import types as T

        reader = self.spark.read
        if fmt == "parquet":
            df = reader.parquet(str(path))
            nested = [f"{f.name} ({f.dataType.simpleString()})" for f in df.schema.fields
                      if isinstance(f.dataType, T.ArrayType | T.StructType | T.MapType)]
            if nested:
                raise SourceError(f"{path}: column(s) {', '.join(nested)} hold lists, structs or maps; aipl reads "
                                  "columns of single values")
            df = df.select([df[c].cast("string").alias(c) for c in df.columns])
            first = 1
            broken = None
        else:
            header = names is None
            cols = src.header(delim) if header else names
            fields = [T.StructField(c, T.StringType()) for c in cols]
            fields.append(T.StructField("_corrupt", T.StringType()))
            opts = {"header": header, "sep": delim, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"}
            if delim == "\x1f":
                opts["quote"] = ""
            df = reader.options(**opts).schema(T.StructType(fields)).csv(str(src.path))
            first = 2 if header else 1
            broken = "_corrupt"
        rdd = df.rdd.zipWithIndex().map(lambda p: (p[1] + first, *p[0]))
        schema_ = T.StructType([T.StructField("_line", T.LongType()), *df.schema.fields])
        staged = self.spark.createDataFrame(rdd, schema_).localCheckpoint(eager=True)
        staged.createOrReplaceTempView(name)
        rel = _strip_names(self.con.table(name))
        if broken:
            bad = rel.filter(rel._corrupt.notnull())
            broken_rel = bad.select(
                _line=bad._line, raw=bad._corrupt, reason=ibis.literal("malformed CSV record (wrong number of fields)")
            )
            rel = rel.filter(rel._corrupt.isnull()).drop("_corrupt")
            return Staged(path, rel, broken_rel, temps=(name,))
        return Staged(path, rel, None, temps=(name,))

    # -------------------------------------------------------------------- spark
    def _use_spark_database(self) -> None:
        """Make `[spark] database`, located at the workspace's warehouse location, the session's current one."""
        db, where = self.config.spark.database, self.config.spark_warehouse.rstrip("/")
        if self.spark.catalog.databaseExists(db):
            have = self.spark.catalog.getDatabase(db).locationUri.rstrip("/")
            if _same_location(have, where):
                self.spark.catalog.setCurrentDatabase(db)
                return
            raise ConfigError(f"this Spark session's database {db!r} is at {have}, not {where}: name another "
                              "[spark] database for this workspace")
        self.spark.sql(f"CREATE DATABASE `{db}` LOCATION '{_sql_str(where)}'")
        self.spark.catalog.setCurrentDatabase(db)

    def _attach_spark_tables(self) -> None:
        """A new session's catalog may not know the tables kept at the warehouse location: attach each folder
        (the canonical tables with their declared types, others with the schema their Parquet files hold)."""
        known = {t.name for t in self.spark.catalog.listTables(self.config.spark.database)}
        declared = {**schema.TABLES, **schema.SYSTEM_TABLES}
        for name, where in self._spark_folders().items():
            if name in known:
                continue
            if name in declared:
                cols = ", ".join(f"`{c.name}` {SPARK_TYPES[c.type]}" for c in declared[name].columns)
                self.spark.sql(f"CREATE TABLE `{name}` ({cols}) USING parquet LOCATION '{_sql_str(where)}'")
            elif self._spark_has_data(where):
                self.spark.sql(f"CREATE TABLE `{name}` USING parquet LOCATION '{_sql_str(where)}'")
            else:  # a table folder without a Parquet file holds no rows and no schema: it goes
                self._spark_fs_delete(where)

    def _spark_df(self, expr: ir.Table):
        """The Spark DataFrame of an Ibis expression (its in-memory tables registered first)."""
        self.con._run_pre_execute_hooks(expr)
        return self.spark.sql(str(self.con.compile(expr)))

    def _spark_write(self, df, name: str) -> None:
        self._spark_fs_delete(self._spark_location(name))  # a dropped table's folder, if one remains
        df.write.saveAsTable(f"`{self.config.spark.database}`.`{name}`", format="parquet", mode="error")

    def _spark_overwrite(self, name: str, df) -> None:
        """Replace the rows of table `name` with `df`, which may read `name`: checkpointed first, since Spark
        cannot overwrite a table that the same statement reads."""
        cols = self.spark.table(name).columns
        df.select(*cols).localCheckpoint(eager=True).write.insertInto(name, overwrite=True)

    def _spark_location(self, name: str) -> str:
        return f"{self.config.spark_warehouse.rstrip('/')}/{name}"

    def _hadoop(self, where: str):
        jvm = self.spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(where)
        return path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), path

    def _spark_folders(self) -> dict[str, str]:
        fs, root = self._hadoop(self.config.spark_warehouse)
        if not fs.exists(root):
            return {}
        return {st.getPath().getName(): st.getPath().toString() for st in fs.listStatus(root) if st.isDirectory()}

    def _spark_has_data(self, where: str) -> bool:
        fs, path = self._hadoop(where)
        return any(not st.getPath().getName().startswith(("_", ".")) for st in fs.listStatus(path))

    def _spark_fs_delete(self, where: str) -> None:
        fs, path = self._hadoop(where)
        if fs.exists(path):
            fs.delete(path, True)

    # ----------------------------------------------------------------- progress
    @contextlib.contextmanager
    def progress(self, report: Callable[[float], None] | None) -> Iterator[None]:
        """Call `report(percent)` about every 0.2 s while a DuckDB statement runs."""
        if report is None or not self.supports("progress"):
            yield
            return
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.2):
                with contextlib.suppress(Exception):
                    pct = self.raw.query_progress()
                    if pct is not None and pct >= 0:
                        report(pct)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    # -------------------------------------------------------------- publishing
    def publish(self) -> str | None:
        """Make what this writer has committed the state readers open: a consistent read-only copy under
        `<workspace>/published/`, swapped in atomically; the published version (unchanged when nothing was
        written since the last one), None on Spark, where readers already see each table's committed files.

        `close()` publishes a writer's work; a long job calls it after each step that leaves a coherent state.

        >>> import tempfile
        >>> from aipl.config import init_workspace
        >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
        >>> wh.ensure_table("notes", {"k": "string"})
        >>> v = wh.publish(); v == wh.publish()  # nothing written in between: the same version
        True
        >>> reader = open_warehouse(wh.config.root, read_only=True)
        >>> reader.snapshot == v, reader.has_table("notes")
        (True, True)
        >>> reader.close(); wh.close()
        """
        if self.read_only:
            raise ValueError("a read-only warehouse cannot publish; open it as a writer")
        if not self.supports("published_snapshots"):
            return None
        return _publish(self)

    @property
    def closed(self) -> bool:
        """Whether `close()` was called (a closed warehouse answers nothing).

        >>> import tempfile
        >>> from aipl.config import init_workspace
        >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
        >>> wh.closed, (wh.close(), wh.closed)[1]
        (False, True)
        """
        return self._closed

    def close(self, publish: bool = True) -> None:
        """Release the connection (a Spark session stays up: others, or spark-submit, may share it); a writer
        first publishes what it committed (unless `publish` is False, e.g. after a failure) and then lets the
        next writer in."""
        if self._closed:
            return
        self._closed = True
        try:
            if publish and not self.read_only:
                self.publish()
        finally:
            if self.backend == "duckdb":
                self.con.disconnect()
            if not self.read_only:
                _writer_release(self.config.root)


def _setting(config: Config, name: str) -> object:
    """One setting a derived table is built with, as the workspace reads it: `section.key` of `[workspace]` from
    the config, a section an engine registered (config.SECTIONS) as it parses it (defaults included), any other
    section as written."""
    section, _, key = name.partition(".")
    if section == "workspace":
        return getattr(config, key)
    value = config.raw.get(section)
    if section in SECTIONS:
        with contextlib.suppress(Exception):  # an invalid section is reported when the workspace is loaded
            value = repr(SECTIONS[section](value))
    return value if not key or not isinstance(value, dict) else value.get(key)


class Staged:
    """A source file read as strings: `rel` holds `_line` and the file's columns, `broken` the unsplittable records."""

    def __init__(
        self, path: Path, rel: ir.Table, broken: ir.Table | None,
        settle: Callable[[str], tuple[ir.Table, ir.Table | None] | None] | None = None, temps: tuple[str, ...] = (),
        again: Callable[[], Staged] | None = None,
    ):
        self.path = path
        self.temps = temps  # the session-local tables holding it, dropped after the load
        self.rel = rel
        self.broken = broken
        # For a streamed CSV, whose `_line` is not known while it is read: called with the table `rel` was
        # materialised into (`Warehouse.materialize_in_order`: one row per record, in the file's order), it returns
        # that table with each row's line and the parser's rejected records, or None when the lines cannot be told
        # from the rows' order (line breaks inside values, blank lines); `again()` then stages the file as a copy.
        self.settle = settle
        self.again = again


def _staging_temps(name: str) -> tuple[str, ...]:
    """The session-local tables staging `name` may leave: the copy, the parser's rejects, the line settling's."""
    return (name, *[f"{name}{x}" for x in ("_re", "_rs", "_rj", "_rq", "_l")])


# Physical operators that keep the order of the rows they read (DuckDB's EXPLAIN names).
ORDER_KEEPING = frozenset({"PROJECTION", "FILTER", "READ_CSV", "TABLE_SCAN", "SEQ_SCAN"})


def _keeps_order(plan: list[dict] | dict) -> bool:
    """Whether every operator of a DuckDB plan (EXPLAIN's JSON) keeps its input's order.

    >>> _keeps_order([{"name": "PROJECTION", "children": [{"name": "READ_CSV", "children": []}]}])
    True
    >>> _keeps_order([{"name": "HASH_JOIN", "children": []}])
    False
    """
    nodes = plan if isinstance(plan, list) else [plan]
    return all(n.get("name") in ORDER_KEEPING and _keeps_order(n.get("children", [])) for n in nodes)


def _strip_names(rel: ir.Table) -> ir.Table:
    """Header names with stray spaces (Tianchi's user_profile has one) are trimmed."""
    renames = {c.strip(): c for c in rel.columns if c != c.strip()}
    return rel.rename(renames) if renames else rel


class MixedLineEnds(Exception):
    """DuckDB's CSV parser stops on lines that end partly in CRLF, partly in LF: such a file is read again, all LF."""


# The compressed containers, known by their first bytes (not the file name). DuckDB reads gzip itself; the others
# are decompressed here. zstd is refused: DuckDB reads a truncated zstd file without an error, and Python (3.11)
# has no zstd module to check it.
CONTAINERS: dict[bytes, str] = {
    b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip", b"\x28\xb5\x2f\xfd": "zstd",
}


def container(path: Path) -> str:
    """The compressed container a file is in ("gzip", "bzip2", "xz", "zip", "zstd"), or "none".

    >>> import gzip, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(gzip.compress(b"a\\n1\\n"))
    >>> container(p)
    'gzip'
    """
    with open(path, "rb") as f:
        head = f.read(6)
    return next((kind for magic, kind in CONTAINERS.items() if head.startswith(magic)), "none")


class LineEnds(NamedTuple):
    """A text's count of lines (None when a line ends in a lone CR) and whether CRLF and LF are mixed."""

    lines: int | None
    mixed: bool


class TextSource:
    """A CSV's text as DuckDB reads it: the file itself (plain or gzip) or a decoded, decompressed UTF-8 copy."""

    def __init__(self, path: Path, compression: str, encoding: str, temporary: bool, lf_only: bool):
        self.path, self.compression, self.encoding = path, compression, encoding
        self.temporary, self.lf_only = temporary, lf_only

    def line_ends(self) -> LineEnds:
        """How the text's lines end: how many lines it has (ending in LF or CRLF; the line ends it finishes with
        count as one), None when a line ends in a lone CR; and whether CRLF and LF are mixed.

        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = p.write_bytes(b"a,b\\r\\n1,2\\r\\n3,4\\r\\n\\r\\n")
        >>> TextSource(p, "none", "utf-8", False, False).line_ends()
        LineEnds(lines=3, mixed=False)
        """
        lf = cr = crlf = 0
        last = tail = b""  # the previous chunk's last byte; the run of line ends the text finishes with
        with (gzip.open if self.compression == "gzip" else open)(self.path, "rb") as f:
            while chunk := f.read(1 << 22):
                lf, cr = lf + chunk.count(b"\n"), cr + chunk.count(b"\r")
                crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
                last = chunk[-1:]
                kept = chunk.rstrip(b"\r\n")
                tail = tail + chunk if not kept else chunk[len(kept):]
        return LineEnds(None if cr != crlf else lf - tail.count(b"\n") + 1, 0 < crlf < lf)

    def header(self, delim: str) -> list[str]:
        """The column names of the first record (a leading byte-order mark dropped; an empty name: columnN)."""
        opener = gzip.open if self.compression == "gzip" else open
        with opener(self.path, "rt", encoding="utf-8-sig" if self.encoding == "utf-8" else self.encoding,
                    newline="") as f:
            try:
                names = next(csv.reader(io.StringIO(_first_record(f)), delimiter=delim), [])
            except UnicodeDecodeError as exc:
                raise SourceError(_not_text(self.path, exc.start, self.encoding)) from None
            except (OSError, EOFError, zlib.error, csv.Error) as exc:
                raise SourceError(f"{self.path}: the header cannot be read: {exc}") from None
        names = [n or f"column{i}" for i, n in enumerate(names)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if not names or twice:
            raise SourceError(f"{self.path}: " + (f"column(s) {', '.join(twice)} appear twice in the header"
                                                 if twice else "no header"))
        return names


def _first_record(f) -> str:
    """The text of the first CSV record of `f` (a quoted header name may hold a line break)."""
    text = ""
    for line in f:
        text += line
        if text.count('"') % 2 == 0 or len(text) > 1 << 20:
            break
    return text


def _check_encoding(encoding: str) -> str:
    """The codec's canonical name; SourceError for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} (e.g. utf-8, gbk, gb18030, utf-16, latin-1)") from None


@contextlib.contextmanager
def text_source(
    path: Path, encoding: str, workdir: Path, lf_only: bool = False, check_text: bool = False
) -> Iterator[TextSource]:
    """The text of a CSV file: checked whole when gzip-compressed; decompressed (bzip2, xz, a zip of one file) and
    decoded from `encoding` into a temporary UTF-8 copy in `workdir` when DuckDB cannot read it directly (with
    `lf_only`, every CRLF becomes LF). A broken container or bytes that are not `encoding` text: SourceError (for a
    file read directly, only if `check_text`: DuckDB finds bad text itself, Spark would read it as U+FFFD).

    >>> import bz2, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "x.csv.bz2").write_bytes(bz2.compress("名,n\\n白领,1\\n".encode("gbk")))
    >>> with text_source(root / "x.csv.bz2", "gbk", root) as src:
    ...     src.temporary, src.path.read_text(encoding="utf-8")
    (True, '名,n\\n白领,1\\n')
    """
    encoding = _check_encoding(encoding)
    kind = container(path)
    if kind == "zstd":
        raise SourceError(f"{path}: zstd-compressed files are not read (their completeness cannot be checked); "
                          "decompress it, or compress it with gzip")
    direct = kind in ("none", "gzip") and encoding == "utf-8" and not lf_only
    if kind == "gzip" or (check_text and direct):  # DuckDB reads a truncated gzip file without an error
        _read_all(path, kind, encoding, None, check_text=check_text)
    if direct:
        yield TextSource(path, kind, encoding, temporary=False, lf_only=False)
        return
    fd, tmp = tempfile.mkstemp(dir=workdir, prefix=".aipl-staging-", suffix=".csv")
    try:
        with open(fd, "wb") as out:
            _read_all(path, kind, encoding, out, lf_only)
        yield TextSource(Path(tmp), "none", "utf-8", temporary=True, lf_only=lf_only)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_all(path: Path, kind: str, encoding: str, out, lf_only: bool = False, check_text: bool = False) -> None:
    """Decompress all of `path` and decode it (into `out` as UTF-8, if given; else only with `check_text`): every
    container and text error is found, whatever its place in the file."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    done, held = 0, ""
    try:
        with _open_container(path, kind) as f:
            while chunk := f.read(1 << 22):
                text = decoder.decode(chunk) if out is not None or check_text else ""
                if out is not None:
                    if lf_only:
                        text = (held + text).replace("\r\n", "\n")
                        held, text = (text[-1:], text[:-1]) if text.endswith("\r") else ("", text)
                    out.write(text.encode("utf-8"))
                done += len(chunk)
            if out is not None or check_text:
                tail = held + decoder.decode(b"", final=True)
                if out is not None:
                    out.write(tail.encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceError(_not_text(path, done + exc.start, encoding)) from None
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{path}: the {kind} file is broken ({exc}); nothing was read") from None


@contextlib.contextmanager
def _open_container(path: Path, kind: str):
    if kind != "zip":
        with {"none": open, "gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind](path, "rb") as f:
            yield f
        return
    with zipfile.ZipFile(path) as z:
        files = [i for i in z.infolist() if not i.is_dir()]
        if len(files) != 1:
            raise SourceError(f"{path}: a zip file must hold exactly one file; it holds {len(files)}")
        with z.open(files[0]) as f:
            yield f


def _not_text(path: Path, where: int | str, encoding: str) -> str:
    at = f"byte {where:,}" if isinstance(where, int) else where
    return (f"{path}: {at} is not valid {encoding} text; name the file's encoding with --encoding "
            "(e.g. gbk, gb18030, utf-16)")


def _first_line(exc: BaseException) -> str:
    """The first line of a backend's error message (DuckDB's run to twenty lines)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _has_break(col: str) -> str:
    """SQL: whether the text column `col` holds a line break."""
    return f'(contains("{col}", chr(10)) OR contains("{col}", chr(13)))'


def _breaks(col: str) -> str:
    """SQL: how many line breaks (CRLF, LF or CR) the text column `col` holds."""
    def n(sep: str) -> str:
        return f'(length(coalesce("{col}", \'\')) - length(replace(coalesce("{col}", \'\'), {sep}, \'\')))'

    return f"({n('chr(10)')} + {n('chr(13)')} - {n('chr(13) || chr(10)')} // 2)"


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder; this format reads one file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def _same_location(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        return u.replace("file:///", "file:/").rstrip("/")

    return norm(a) == norm(b)


def _spark_struct(table_schema: ibis.Schema):
    from ibis.backends.pyspark.datatypes import PySparkSchema  # pyspark is optional: imported only for Spark

    return PySparkSchema.from_ibis(table_schema)


def spark_session_for(config: Config):
    """The SparkSession for a workspace: the active one when there is one (spark-submit, a notebook), else one
    built from `[spark]` (master, shuffle partitions, extra conf).

    A reused session keeps its own settings; only the session time zone is set to the workspace's.
    """
    from pyspark.sql import SparkSession  # pyspark is optional: imported only for the Spark backend

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    s = config.spark
    builder = (
        SparkSession.builder.master(s.master)
        .appName("aipl")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", config.timezone)
        .config("spark.sql.warehouse.dir", config.spark_warehouse)
        .config("spark.sql.shuffle.partitions", str(s.shuffle_partitions))
    )
    for key, value in s.conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def open_warehouse(workspace: str | Path | None = None, spark_session=None, read_only: bool = False,
                   wait: float | None = None, on_wait: Callable[[str], None] | None = None,
                   snapshot: str | None = None) -> Warehouse:
    """Open the warehouse of the workspace at `workspace` (see `aipl.config.workspace_dir`).

    A writer (the default) holds the workspace's writer lock until `close()`: another process that opens a
    writer waits up to `wait` seconds (default `$AIPL_WAIT`, else 600), telling `on_wait` (default: a logged
    warning) who holds it, then raises `WarehouseBusy`. A reader (`read_only=True`) never waits for a writer:
    it opens the newest published snapshot (see `Warehouse.publish`), or the version `snapshot` while it is
    kept, and sees that state until it is closed.
    """
    return Warehouse(load_config(workspace), spark_session=spark_session, read_only=read_only, snapshot=snapshot,
                     wait=wait, on_wait=on_wait)


# ------------------------------------------------------------------ readers and the writer
PUBLISHED = "published"  # <workspace>/published/<version>.duckdb, CURRENT names the newest, current.duckdb links it
CURRENT = "CURRENT"
LOCK_FILE = "writer.lock"  # <workspace>/writer.lock: flock'ed by the writer, holds who it is (JSON)
GRACE_SECONDS = 30.0  # a superseded snapshot is deleted this long after the next one was published
DEFAULT_WAIT = 600.0
log = logging.getLogger("aipl.warehouse")
_held: dict[Path, list] = {}  # lock file → [fd, count]: a process holds the writer lock once, counted
_held_guard = threading.Lock()
_mutexes: dict[Path, threading.RLock] = {}


def _write_mutex(database: Path) -> threading.RLock:
    """The process's lock around commits and publishing of one database file."""
    with _held_guard:
        return _mutexes.setdefault(Path(database), threading.RLock())


def writer_holder(workspace: str | Path) -> dict | None:
    """Who holds the workspace's writer lock, {"pid", "command", "since"}, or None when no process does.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> writer_holder(root) is None
    True
    >>> wh = open_warehouse(root)
    >>> writer_holder(root)["pid"] == os.getpid()
    True
    >>> wh.close(); writer_holder(root) is None
    True
    """
    path = Path(workspace) / LOCK_FILE
    if not path.exists():
        return None
    with _held_guard:
        if path.resolve() in _held:
            return _read_holder(path)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path) or {"pid": None, "command": "another process", "since": None}
    finally:
        os.close(fd)  # closing drops the probe's lock, if it got one
    return None


def describe_holder(holder: dict | None) -> str:
    """A holder of the writer lock in words.

    >>> describe_holder({"pid": 123, "command": "aipl ingest", "since": "2026-10-24T14:02:11+00:00"})
    '`aipl ingest` (pid 123) since 2026-10-24 14:02:11 UTC'
    """
    if not holder:
        return "another process"
    since = f" since {holder['since'][:19].replace('T', ' ')} UTC" if holder.get("since") else ""
    pid = f" (pid {holder['pid']})" if holder.get("pid") else ""
    return f"`{holder.get('command') or 'another process'}`{pid}{since}"


def _read_holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


def _command() -> str:
    """What this process is, for the lock's holder: `aipl ingest …`, or the program's name."""
    argv = sys.argv or ["python"]
    prog = Path(argv[0]).name
    if prog in ("aipl", "__main__.py"):
        return " ".join(["aipl", *[a for a in argv[1:] if not a.startswith("-")][:2]])
    return prog or "python"


def _writer_acquire(root: Path, wait: float | None, on_wait: Callable[[str], None] | None) -> None:
    """Take the workspace's writer lock (counted: a process takes it once), waiting up to `wait` seconds."""
    path = (Path(root) / LOCK_FILE).resolve()
    wait = float(os.environ.get("AIPL_WAIT") or DEFAULT_WAIT) if wait is None else wait
    deadline, told, fd = time.monotonic() + wait, False, None
    try:
        while True:
            with _held_guard:
                if path in _held:
                    _held[path][1] += 1
                    return
                if fd is None:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    me = {"pid": os.getpid(), "command": _command(),
                          "since": datetime.now(UTC).isoformat("T", "seconds")}
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, json.dumps(me).encode(), 0)
                    _held[path], fd = [fd, 1], None
                    return
            who = describe_holder(_read_holder(path))
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse is busy: held by {who}; gave up after {wait:g} s (try again "
                                    "later, or wait longer with --wait / $AIPL_WAIT)")
            if not told:
                (on_wait or log.warning)(f"waiting for the warehouse: held by {who} (up to {wait:g} s) …")
                told = True
            time.sleep(0.1)
    finally:
        if fd is not None:
            os.close(fd)


def _writer_release(root: Path) -> None:
    path = (Path(root) / LOCK_FILE).resolve()
    with _held_guard:
        entry = _held.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[path]
            os.ftruncate(entry[0], 0)
            fcntl.flock(entry[0], fcntl.LOCK_UN)
            os.close(entry[0])


def published_path(workspace: str | Path) -> Path | None:
    """The newest published snapshot of a workspace (a DuckDB file to open read-only: a notebook, a BI tool), or
    None before the first publish. `<workspace>/published/current.duckdb` links to it where links exist.

    >>> import tempfile
    >>> from aipl.config import init_workspace
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> published_path(root) is None
    True
    >>> open_warehouse(root).close()  # a writer publishes when it closes
    >>> published_path(root).parent.name
    'published'
    """
    name = _current(Path(workspace) / PUBLISHED)
    return None if name is None else Path(workspace).resolve() / PUBLISHED / name


def _current(folder: Path) -> str | None:
    try:
        return (folder / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def _open_published(config: Config, snapshot: str | None, wait: float | None,
                    on_wait: Callable[[str], None] | None) -> tuple:
    """A read-only connection to `snapshot` (default: the newest) and its name. Before the first publish, or
    when the newest lacks a declared table (a workspace of an older version), a writer publishes first."""
    folder = config.root / PUBLISHED
    declared = {t.name for t in (*schema.TABLES.values(), *schema.SYSTEM_TABLES.values())}
    republished = False
    for _ in range(8):
        name = snapshot if snapshot and (folder / snapshot).exists() else _current(folder)
        snapshot = None
        if name is not None:
            path = folder / name
            if not path.exists():  # superseded and deleted between reading CURRENT and here: read it again
                continue
            con = ibis.duckdb.connect(str(path), read_only=True)
            if republished or declared <= set(con.list_tables()):
                return con, name
            con.disconnect()
        Warehouse(config, wait=wait, on_wait=on_wait).close()  # a writer publishes when it closes
        republished = True
    raise RuntimeError(f"no published snapshot could be opened in {folder}")


def _publish(wh: Warehouse) -> str:
    root, src = wh.config.root, wh.config.database_path
    folder = root / PUBLISHED
    folder.mkdir(exist_ok=True)
    with _write_mutex(src):  # no commit of this process lands while the file is copied
        try:
            wh.raw.execute("CHECKPOINT")
            clean = not Path(f"{src}.wal").exists() or Path(f"{src}.wal").stat().st_size == 0
        except Exception:  # e.g. another connection of this process holds a write transaction open
            clean = False
        st = src.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        current = _current(folder)
        same = current and (folder / current).exists() and _snapshot_meta(folder, current).get("source") == stamp
        if clean and same:
            return current
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        tmp = folder / f".{version}.tmp"
        if clean:  # a checkpointed file is a consistent database: copy it
            shutil.copyfile(src, tmp)
        else:  # copy through DuckDB, which reads one committed state
            db = wh.raw.execute("SELECT current_database()").fetchone()[0]
            wh.raw.execute(f"ATTACH '{_sql_str(str(tmp))}' AS _aipl_publish")
            try:
                wh.raw.execute(f'COPY FROM DATABASE "{db}" TO _aipl_publish')
            finally:
                wh.raw.execute("DETACH _aipl_publish")
            stamp = ""
        os.replace(tmp, folder / f"{version}.duckdb")
    meta = {"source": stamp, "published": datetime.now(UTC).isoformat("T", "seconds"), "by": _command()}
    (folder / f"{version}.json").write_text(json.dumps(meta))
    _replace_text(folder / CURRENT, f"{version}.duckdb\n")
    with contextlib.suppress(OSError):  # a stable name for BI tools, where the file system has links
        os.symlink(f"{version}.duckdb", folder / f".{version}.link")
        os.replace(folder / f".{version}.link", folder / "current.duckdb")
    _prune(folder, f"{version}.duckdb")
    return f"{version}.duckdb"


def _snapshot_meta(folder: Path, name: str) -> dict:
    try:
        return json.loads((folder / name).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _prune(folder: Path, current: str) -> None:
    """Delete the snapshots superseded more than GRACE_SECONDS ago (a reader that has one open keeps reading it:
    the file goes when it closes)."""
    snaps = sorted(p for p in folder.glob("*.duckdb") if not p.is_symlink())
    now = time.time()
    for tmp in folder.glob(".*.tmp"):  # left by a publish that was killed
        if now - tmp.stat().st_mtime > GRACE_SECONDS:
            tmp.unlink(missing_ok=True)
    for old, newer in itertools.pairwise(snaps):
        if old.name != current and now - newer.stat().st_mtime > GRACE_SECONDS:
            with contextlib.suppress(OSError):
                old.unlink()
                old.with_suffix(".json").unlink(missing_ok=True)


def refused_write(exc: BaseException) -> bool:
    """Whether `exc` is a reader's warehouse refusing a write (the caller may do the work as a writer).

    >>> refused_write(ValueError("no such brand"))
    False
    """
    return isinstance(exc, duckdb.Error) and "read-only mode" in str(exc)
