"""The warehouse: one Ibis connection to DuckDB (default) or Spark, the canonical tables, and batch loads."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from aipl import schema
from aipl.config import Config, load_config, parse_day

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


class SourceError(ValueError):
    """A source file cannot be read at all (missing, empty, not the declared format)."""


class Warehouse:
    """A workspace's warehouse: canonical tables on one backend, reached through Ibis."""

    def __init__(self, config: Config, spark_session=None):
        self.config = config
        self.backend = config.backend
        if self.backend == "duckdb":
            self.con = ibis.duckdb.connect(str(config.database_path))
            self.raw = self.con.con  # the DuckDB connection Ibis runs its statements on
            self.raw.execute(f"SET TimeZone = '{config.timezone}'")
            # track query progress for our own progress bar (DuckDB's printing stays off)
            self.raw.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        else:
            self.spark = spark_session or _spark_session(config)
            self.con = ibis.pyspark.connect(self.spark)
            self._attach_spark_tables()
        self.ensure_tables()

    # ------------------------------------------------------------------ tables
    def ensure_tables(self) -> None:
        """Create every canonical and bookkeeping table that does not exist yet."""
        existing = set(self.con.list_tables())
        for table in (*schema.TABLES.values(), *schema.SYSTEM_TABLES.values()):
            if table.name not in existing:
                self.con.create_table(table.name, schema=ibis_schema(table))

    def table(self, name: str) -> ir.Table:
        """The Ibis table `name`."""
        return self.con.table(name)

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
            self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {self.con.compile(expr)}')
        else:
            # a checkpoint, not cache(): Spark would recompute a cached result after a write to its inputs
            df = self.spark.sql(str(self.con.compile(expr))).localCheckpoint(eager=True)
            df.createOrReplaceTempView(name)
        return self.con.table(name)

    def drop_temp(self, *names: str) -> None:
        for name in names:
            if self.backend == "duckdb":
                self.raw.execute(f'DROP TABLE IF EXISTS temp."{name}"')
            else:
                self.spark.catalog.dropTempView(name)

    # ------------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: on any error or interrupt the warehouse stays as it was.

        DuckDB gives a real transaction (a killed process leaves no partial batch). Spark has no
        multi-table transactions: there, writes happen only after every check has passed.
        """
        if self.backend != "duckdb":
            yield
            return
        self.raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
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

    def _attach_spark_tables(self) -> None:
        root = self.config.root / "spark-warehouse"
        self.spark.conf.set("spark.sql.session.timeZone", self.config.timezone)
        tables = {**schema.TABLES, **schema.SYSTEM_TABLES}
        if root.exists():  # a new session's catalog is empty: attach the tables kept in the workspace
            for sub in root.iterdir():
                if sub.is_dir() and sub.name in tables:
                    cols = ", ".join(f"`{c.name}` {SPARK_TYPES[c.type]}" for c in tables[sub.name].columns)
                    self.spark.sql(f"CREATE TABLE IF NOT EXISTS {sub.name} ({cols}) USING parquet LOCATION '{sub}'")

    # ----------------------------------------------------------------- progress
    @contextlib.contextmanager
    def progress(self, report: Callable[[float], None] | None) -> Iterator[None]:
        """Call `report(percent)` about every 0.2 s while a DuckDB statement runs."""
        if report is None or self.backend != "duckdb":
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

    def close(self) -> None:
        if self.backend == "duckdb":
            self.con.disconnect()


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


def _spark_session(config: Config):
    from pyspark.sql import SparkSession

    wh = config.root / "spark-warehouse"
    return (
        SparkSession.builder.master("local[2]")
        .appName("aipl")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(wh))
        .config("spark.sql.session.timeZone", config.timezone)
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def open_warehouse(workspace: str | Path | None = None, spark_session=None) -> Warehouse:
    """Open the warehouse of the workspace at `workspace` (see `aipl.config.workspace_dir`)."""
    return Warehouse(load_config(workspace), spark_session=spark_session)
