"""The warehouse: one Ibis connection to DuckDB (default) or Spark, the canonical tables, and batch loads."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from aipl import schema
from aipl.config import Config, ConfigError, load_config, parse_day

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
        """Create every canonical and bookkeeping table that does not exist yet."""
        for table in (*schema.TABLES.values(), *schema.SYSTEM_TABLES.values()):
            self.ensure_table(table.name, ibis_schema(table))

    def has_table(self, name: str) -> bool:
        """Whether the warehouse holds a table (or a session's temporary table) called `name`."""
        return name in self.con.list_tables()

    def ensure_table(self, name: str, table_schema: ibis.Schema | dict) -> None:
        """Create an empty table `name` with `table_schema` unless it exists."""
        if self.has_table(name):
            return
        if self.backend == "duckdb":
            self.con.create_table(name, schema=ibis.schema(table_schema))
        else:  # written as an empty Parquet file, so that a later session can attach it with its schema
            self._spark_write(self.spark.createDataFrame([], _spark_struct(ibis.schema(table_schema))), name)

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
            return
        kept = self.spark.table(name)
        kept = kept.limit(0) if matched is None else kept.join(self._spark_df(matched), on=keys, how="left_anti")
        if new is not None:
            kept = kept.unionByName(self._spark_df(new))
        self._spark_overwrite(name, kept)

    def replace_table(self, name: str, expr: ir.Table | pd.DataFrame) -> ir.Table:
        """Make table `name` hold exactly the rows of `expr` (created, or replaced with `expr`'s schema); `expr`
        may read `name` itself."""
        if self.backend == "duckdb":
            return self.con.create_table(name, expr, overwrite=True)
        if not isinstance(expr, ir.Table):
            expr = ibis.memtable(expr)
        df = self._spark_df(expr)
        if self.has_table(name) and self.table(name).schema() == expr.schema():
            self._spark_overwrite(name, df)
        else:
            df = df.localCheckpoint(eager=True)
            self.drop_table(name)
            self._spark_write(df, name)
        return self.table(name)

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

    def last_day(self, with_brand: bool = False) -> date | None:
        """The last day (workspace time zone) with events (with a brand, if `with_brand`); None without any."""
        ev = self.table("events")
        if with_brand:
            ev = ev.filter(ev.brand_id.notnull())
        last = ev.aggregate(d=self.local_day(ev.ts).max()).execute().d.iloc[0]
        if last is None or last != last:
            return None
        return last.date() if isinstance(last, datetime) else last if isinstance(last, date) else parse_day(last)

    def count(self, name: str) -> int:
        return int(self.con.table(name).count().execute())

    def materialize(self, name: str, expr: ir.Table) -> ir.Table:
        """Compute `expr` once into a session-scoped temporary table and return it."""
        if self.backend == "duckdb":
            self.con._run_pre_execute_hooks(expr)  # registers the in-memory tables `expr` reads
            self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {self.con.compile(expr)}')
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
        self, path: Path, names: list[str] | None, delim: str = ",", name: str = "_staged", stream: bool = True
    ) -> Staged:
        """Read a CSV (or gzip CSV) as strings with each record's line number in `_line`.

        `names` is None for a file with a header, else the column names of a header-less file. Records
        the CSV parser cannot split (wrong number of fields, broken quotes) end up in `Staged.broken`
        with their line and the parser's message; nothing is dropped. With `stream` the file is read
        once, by whatever consumes `rel` first (read it once only); otherwise it is copied first.
        """
        _check_readable(path)
        if self.backend == "spark":
            return self._spark_stage(path, "csv", names, delim, name)
        header = names is None
        first = 2 if header else 1
        opts = [f"header = {str(header).lower()}", "all_varchar = true", f"delim = '{_sql_str(delim)}'"]
        if names:
            opts.append("columns = {" + ", ".join(f"'{_sql_str(n)}': 'VARCHAR'" for n in names) + "}")
        if delim == "\x1f":  # whole lines: no quoting at all
            opts += ["quote = ''", "escape = ''"]
        opts += ["store_rejects = true", f"rejects_scan = '{name}_rs'", f"rejects_table = '{name}_re'"]
        src = f"read_csv('{_sql_str(str(path))}', {', '.join(opts)})"
        self.drop_temp(f"{name}_re", f"{name}_rs")  # DuckDB fails on appending to a previous scan's rejects
        try:
            self.raw.execute(f"DESCRIBE SELECT * FROM {src}")
        except Exception as exc:
            raise SourceError(f"{path}: cannot be read as CSV: {exc}") from exc
        # row_number() over a CSV scan follows the file's order (DuckDB preserves insertion order);
        # the numbers skip nothing, so a rejected record shifts later lines: settle() corrects them.
        query = f"SELECT row_number() OVER () + {first - 1} AS _line, * FROM {src}"
        rejects = tuple(f"{name}{x}" for x in ("_re", "_rs", "_rj", "_rq"))  # the parser's and _settle_lines'
        if stream:
            rel = _strip_names(self.con.sql(query))
            return Staged(path, rel, None, settle=lambda table: self._settle_lines(name, table, first), temps=rejects)
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query}')
        broken = self._settle_lines(name, name, first)
        return Staged(path, _strip_names(self.con.table(name)), broken, temps=(name, *rejects))

    def stage_parquet(self, path: Path, name: str = "_staged", stream: bool = True) -> Staged:
        """Read a Parquet file with every column as a string and the row number as `_line`."""
        _check_readable(path)
        if self.backend == "spark":
            return self._spark_stage(path, "parquet", None, ",", name)
        src = f"read_parquet('{_sql_str(str(path))}', file_row_number = true)"
        try:
            cols = [c[0] for c in self.raw.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        except Exception as exc:
            raise SourceError(f"{path}: cannot be read as Parquet: {exc}") from exc
        casts = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols if c != "file_row_number")
        query = f"SELECT file_row_number + 1 AS _line, {casts} FROM {src}"
        if stream:
            return Staged(path, _strip_names(self.con.sql(query)), None)
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query}')
        return Staged(path, _strip_names(self.con.table(name)), None, temps=(name,))

    def _settle_lines(self, name: str, table: str, first: int) -> ir.Table | None:
        """After the scan: the parser's rejected records, and the true line numbers of `table`'s rows."""
        if int(self.raw.execute(f'SELECT count(*) FROM "{name}_re"').fetchone()[0]) == 0:
            return None
        self.raw.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}_rj" AS SELECT line AS _line, any_value(csv_line) AS raw, '
            f"string_agg(DISTINCT error_message, '; ') AS reason FROM \"{name}_re\" GROUP BY line"
        )
        # q = how many good records precede each rejected one: the k-th good record (0-based) sits
        # after every rejected record whose q <= k.
        self.raw.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}_rq" AS SELECT (_line - {first}) - '
            f'(row_number() OVER (ORDER BY _line) - 1) AS q FROM "{name}_rj"'
        )
        self.raw.execute(
            f'UPDATE "{table}" SET _line = _line + (SELECT count(*) FROM "{name}_rq" q '
            f'WHERE q.q <= "{table}"._line - {first})'
        )
        return self.con.table(f"{name}_rj")

    def _spark_stage(self, path: Path, fmt: str, names, delim: str, name: str) -> Staged:
        from pyspark.sql import types as T

        reader = self.spark.read
        if fmt == "parquet":
            df = reader.parquet(str(path))
            df = df.select([df[c].cast("string").alias(c) for c in df.columns])
            first = 1
            broken = None
        else:
            header = names is None
            if header:
                cols = reader.option("header", True).option("sep", delim).csv(str(path)).columns
            else:
                cols = names
            fields = [T.StructField(c, T.StringType()) for c in cols]
            fields.append(T.StructField("_corrupt", T.StringType()))
            opts = {"header": header, "sep": delim, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"}
            if delim == "\x1f":
                opts["quote"] = ""
            df = reader.options(**opts).schema(T.StructType(fields)).csv(str(path))
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


class Staged:
    """A source file read as strings: `rel` holds `_line` and the file's columns, `broken` the unsplittable records."""

    def __init__(
        self, path: Path, rel: ir.Table, broken: ir.Table | None,
        settle: Callable[[str], ir.Table | None] | None = None, temps: tuple[str, ...] = (),
    ):
        self.path = path
        self.temps = temps  # the session-local tables holding it, dropped after the load
        self.rel = rel
        self.broken = broken
        # For a streamed file: called with the table the scan was materialised into; it corrects
        # that table's line numbers and returns the parser's rejected records.
        self.settle = settle


def _strip_names(rel: ir.Table) -> ir.Table:
    """Header names with stray spaces (Tianchi's user_profile has one) are trimmed."""
    renames = {c.strip(): c for c in rel.columns if c != c.strip()}
    return rel.rename(renames) if renames else rel


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
