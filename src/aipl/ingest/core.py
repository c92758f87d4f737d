"""Validation and loading of one staged source into one canonical table, as one backend-neutral Ibis pipeline."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import ibis.expr.types as ir

from aipl import schema
from aipl.warehouse import IBIS_TYPES, SourceError, Staged, Warehouse

# A check: (condition true when the row is bad, field, reason). The reason may be an expression.
Check = tuple[ir.BooleanValue, str, "str | ir.StringValue"]
Columns = Callable[[ir.Table], dict[str, ir.Value]]


@dataclass
class Target:
    """How the rows of one staged source become rows of one canonical table.

    `columns` maps each canonical column to an expression over the staged (all-string) table;
    missing columns are null. `ts_window` narrows plausible timestamps to a dataset's known window. A format's
    plan (see `register`) returns the targets each staged file feeds.

    >>> import ibis
    >>> from aipl import schema
    >>> target = Target(schema.TABLES["consumers"], lambda t: {"consumer_id": t.id, "gender": t.sex})
    >>> staged = ibis.table({"_line": "int64", "id": "string", "sex": "string"}, name="staged")
    >>> target.table.name, sorted(target.columns(staged))
    ('consumers', ['consumer_id', 'gender'])
    """

    table: schema.Table
    columns: Columns
    checks: Callable[[ir.Table, dict[str, ir.Value]], list[Check]] | None = None
    ts_window: tuple[datetime, datetime] | None = None
    # Reshapes the staged rows first (filter, join, unpivot); it must keep `_line`.
    prepare: Callable[[ir.Table], ir.Table] | None = None
    # Names this load when one source feeds the same table twice (e.g. "events:visit").
    label: str | None = None


@dataclass
class LoadResult:
    """What one load of one source into one table did: rows read, accepted and rejected (rejections counted
    per field in `reasons`), or skipped because the batch was loaded before.

    >>> LoadResult("c.csv", "consumers", "b1", read=3, accepted=2, rejected=1, reasons={"birth_year": 1})
    LoadResult(source='c.csv', target='consumers', batch_id='b1', read=3, accepted=2, rejected=1, skipped=False, \
reasons={'birth_year': 1})
    """

    source: str
    target: str
    batch_id: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: bool = False
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The load as JSON-ready values.

        >>> LoadResult("c.csv", "consumers", "b1", read=3, accepted=2, rejected=1, reasons={"birth_year": 1}).as_dict()
        {'source': 'c.csv', 'target': 'consumers', 'batch_id': 'b1', 'read': 3, 'accepted': 2, 'rejected': 1, \
'skipped': False, 'reasons': {'birth_year': 1}}
        """
        return {
            "source": self.source, "target": self.target, "batch_id": self.batch_id, "read": self.read,
            "accepted": self.accepted, "rejected": self.rejected, "skipped": self.skipped, "reasons": self.reasons,
        }


def batch_id(path: Path, fmt: str) -> str:
    """The batch identity: a digest of the format and the file's bytes (so a renamed copy is the same batch).

    >>> import pathlib, tempfile
    >>> a = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = a.write_text("x\\n1\\n")
    >>> b = a.with_name("copy.csv")
    >>> _ = b.write_text("x\\n1\\n")
    >>> batch_id(a, "events"), batch_id(b, "events") == batch_id(a, "events")  # a renamed copy: the same batch
    ('08be20952c033d36bd83', True)
    >>> batch_id(a, "labels") == batch_id(a, "events")  # the same bytes in another format: another batch
    False
    """
    h = hashlib.sha256(fmt.encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()[:20]


def clean(s: ir.StringValue) -> ir.StringValue:
    """A raw string with empty as null (surrounding spaces are kept: they are part of the value).

    >>> import ibis
    >>> t = ibis.memtable({"s": ["a", ""]})
    >>> t.select(v=clean(t.s)).to_pyarrow()["v"].to_pylist()
    ['a', None]
    """
    return s.nullif("")


# The written forms each type accepts (README, "Accepted forms"); any other form is quarantined with its reason, so
# that no value is guessed and no row's value depends on another's (DuckDB's cast of a named time zone did that).
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?"  # at most microseconds, as stored
_OFFSET = r"(Z|[-+][0-9]{2}(:?[0-9]{2})?)"
FORMS: dict[str, str] = {
    schema.INT: r"^-?[0-9]+(\.0+)?$",  # 12 or 12.0 (a zero fraction: how pandas writes integers beside gaps)
    schema.FLOAT: r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$",
    schema.DATE: f"^{_DAY}$",
    # ISO 8601: a day, or a day and a time (T or a space), optionally with Z or a numeric offset
    schema.TIMESTAMP: f"^{_DAY}([T ]{_TIME}{_OFFSET}?)?$",
}
EPOCH_SECONDS_BELOW, EPOCH_MS_BELOW = 10**11, 10**14  # an integer below 1e11 counts seconds, then milliseconds
DATE_YEARS_AHEAD = 5  # a date column may hold days up to this many years ahead
FLOAT_LIMIT = 1e15  # a float beyond this magnitude is quarantined: sums of such values lose cents or overflow


@ibis.udf.scalar.builtin(name="chr")
def _chr(code: int) -> str:  # DuckDB's and Spark's chr(): a NUL cannot be written into SQL text
    ...


def _integer(s: ir.StringValue) -> ir.IntegerValue:
    """The integer written as `s` in one of the accepted forms, else null."""
    n = s.try_cast("int64")
    canonical = n.cast("string") == s  # the common form, checked without a regular expression
    return ibis.cases((canonical | s.re_search(FORMS[schema.INT]), n), else_=ibis.null("int64"))


def parse(raw: ir.Value, type_: str) -> ir.Value:
    """The typed value of a raw string written in one of the accepted forms (`FORMS`), else null.

    >>> import ibis
    >>> t = ibis.memtable({"n": ["7", "x", "", "1.5", "+3", "1_000", "2.0"], "f": ["1.5", "nan", "inf", "1e400", \
"-2e3", ".5", "1,5"]})
    >>> t.select(n=parse(t.n, schema.INT), f=parse(t.f, schema.FLOAT)).to_pyarrow().to_pydict()
    {'n': [7, None, None, None, None, None, 2], 'f': [1.5, None, None, None, -2000.0, 0.5, None]}
    >>> ts = ibis.memtable({"s": ["2026-10-01T10:00:00Z", "2026-10-01 10:00:00 UTC", "1791936000", "1791936000000"]}).s
    >>> [str(v) for v in ts.as_table().select(v=parse(ts, schema.TIMESTAMP)).to_pyarrow()["v"].to_pylist()]
    ['2026-10-01 10:00:00+00:00', 'None', '2026-10-14 00:00:00+00:00', '2026-10-14 00:00:00+00:00']
    """
    target = IBIS_TYPES[type_]
    if not raw.type().is_string():
        value = raw.cast(target)
        return ibis.cases((value.isnan() | value.isinf(), ibis.null(target)), else_=value) if type_ == schema.FLOAT \
            else value
    s = clean(raw)
    if type_ == schema.STRING:
        return s
    if type_ == schema.BOOL:
        low = s.lower()
        return ibis.cases(
            (low.isin(["1", "true", "t", "yes", "y"]), True),
            (low.isin(["0", "false", "f", "no", "n"]), False),
            else_=ibis.null("boolean"),
        )
    if type_ == schema.INT:
        return _integer(s)
    if type_ == schema.FLOAT:
        f = s.try_cast(target)
        return ibis.cases((s.re_search(FORMS[type_]) & ~f.isnan() & ~f.isinf(), f), else_=ibis.null(target))
    if type_ == schema.TIMESTAMP:  # epoch seconds or milliseconds, else ISO 8601 (no offset: the workspace zone)
        n = s.try_cast("int64")
        epoch = n.cast("string") == s
        return ibis.cases(
            (epoch & n.between(1 - EPOCH_SECONDS_BELOW, EPOCH_SECONDS_BELOW - 1), n.as_timestamp("s").cast(target)),
            (epoch & n.between(EPOCH_SECONDS_BELOW, EPOCH_MS_BELOW - 1),
             (n // 1000).as_timestamp("s").cast(target) + (n % 1000).as_interval("ms")),
            (s.re_search(FORMS[type_]), s.try_cast(target)),
            else_=ibis.null(target),
        )
    return ibis.cases((s.re_search(FORMS[type_]), s.try_cast(target)), else_=ibis.null(target))


def _utc(moment: datetime) -> ir.TimestampValue:
    return ibis.literal(moment.astimezone(UTC), IBIS_TYPES[schema.TIMESTAMP])


def _plausible_range(wh: Warehouse, target: Target) -> tuple[datetime, datetime, str]:
    if target.ts_window:
        lo, hi = target.ts_window
        return lo, hi, f"outside the dataset's window {lo.isoformat()} .. {hi.isoformat()}"
    lo = datetime.fromisoformat(wh.config.earliest).replace(tzinfo=UTC)
    hi = datetime.now(UTC) + timedelta(days=wh.config.latest_days_ahead)
    return lo, hi, f"implausible: before {lo.date()} or after {hi.date()} ({wh.config.root / 'aipl.toml'} [ingest])"


def _plausible_days(wh: Warehouse) -> tuple[date, date]:
    """The days a date column may hold: from `[ingest] earliest` to `DATE_YEARS_AHEAD` years ahead (calendars and
    launches are planned ahead)."""
    today = datetime.now(UTC).date()
    ahead = today.replace(year=today.year + DATE_YEARS_AHEAD, day=min(today.day, 28))
    return date.fromisoformat(wh.config.earliest), ahead


def validated(wh: Warehouse, staged: ir.Table, target: Target) -> ir.Table:
    """The typed canonical columns the source gives, plus `_line`, `_field`, `_reason` (null when the row is
    good), `_raw` (the source record, kept for bad rows only) and `_h` (a hash of the given key columns).

    Each raw value is cleaned and parsed once, in an inner projection; the checks read those columns.
    Columns the source does not give are null in every row and are not carried.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender", "birth_year")})
    >>> v = validated(wh, stage(wh, root / "c.csv").rel, target).execute()
    >>> v[["_line", "_field", "_reason"]].dropna().to_dict("records")
    [{'_line': 3, '_field': 'birth_year', '_reason': "not a valid int: '199x'"}]
    >>> wh.close()
    """
    table = target.table
    if target.prepare is not None:
        staged = target.prepare(staged)
    given = target.columns(staged)
    unknown = set(given) - set(table.names)
    if unknown:
        raise ValueError(f"mapping names columns {sorted(unknown)} that table {table.name!r} does not have")
    inner = {}
    for name, raw in given.items():
        inner[f"__s_{name}"] = clean(raw) if raw.type().is_string() else raw
        inner[f"__v_{name}"] = parse(raw, table.column(name).type)
    t = staged.mutate(**inner)
    typed: dict[str, ir.Value] = {
        c.name: t[f"__v_{c.name}"] if c.name in given else ibis.null(IBIS_TYPES[c.type]) for c in table.columns
    }
    lo, hi, ts_reason = _plausible_range(wh, target)
    day_lo, day_hi = _plausible_days(wh)
    checks: list[Check] = []
    for col in table.columns:
        if col.name not in given:
            continue
        raw_clean, val = t[f"__s_{col.name}"], typed[col.name]
        if col.required:
            checks.append((raw_clean.isnull(), col.name, "missing (required)"))
        if col.type == schema.STRING:
            checks.append((raw_clean.contains(_chr(0)), col.name, "contains a NUL byte"))
        else:
            checks.append(
                (raw_clean.notnull() & val.isnull(), col.name,
                 ibis.literal(f"not a valid {col.type}: '") + raw_clean.cast("string") + "'")
            )
        if col.type == schema.FLOAT:
            checks.append((val.abs() > FLOAT_LIMIT, col.name,
                           ibis.literal(f"out of range: beyond ±{FLOAT_LIMIT:g}: ") + val.cast("string")))
        if col.enum:
            allowed = ", ".join(col.enum)
            checks.append(
                (val.notnull() & ~val.isin(list(col.enum)), col.name,
                 ibis.literal("'") + val + f"' is not one of: {allowed}")
            )
        if col.min is not None:
            low = ibis.literal(f"below the minimum {col.min:g}: ") + val.cast("string")
            checks.append((val < col.min, col.name, low))
        if col.max is not None:
            high = ibis.literal(f"above the maximum {col.max:g}: ") + val.cast("string")
            checks.append((val > col.max, col.name, high))
        if col.type == schema.TIMESTAMP:
            checks.append(
                ((val < _utc(lo)) | (val >= _utc(hi)), col.name,
                 ibis.literal("timestamp ") + val.cast("string") + f" {ts_reason}")
            )
        if col.type == schema.DATE:
            checks.append(
                ((val < day_lo) | (val > day_hi), col.name,
                 ibis.literal("date ") + val.cast("string") + f" implausible: before {day_lo} or after {day_hi}")
            )
    if table.one_of:
        none = ibis.and_(*[typed[c].isnull() for c in table.one_of])
        checks.append((none, "|".join(table.one_of), f"missing: a row needs one of {', '.join(table.one_of)}"))
    for left, op, right in TABLE_RULES.get(table.name, ()):
        lv, rv = typed[left], typed[right]
        bad = {"<=": lv > rv, ">=": lv < rv}[op]
        checks.append((bad.fill_null(False), left, f"{left} must be {op} {right}"))
    if target.checks:  # the adapter's checks name source fields: they speak first
        checks = target.checks(t, typed) + checks

    # which check fails first (0: none), evaluated once per row; field, reason and record only for bad rows
    first = ibis.cases(*[(cond.fill_null(False), i + 1) for i, (cond, _, _) in enumerate(checks)], else_=0)
    t = t.mutate(_check=first)
    field_ = ibis.cases(*[(t._check == i + 1, ibis.literal(f)) for i, (_, f, _) in enumerate(checks)],
                        else_=ibis.null("string"))
    reason = ibis.cases(
        *[(t._check == i + 1, r if isinstance(r, ir.Value) else ibis.literal(r)) for i, (_, _, r) in enumerate(checks)],
        else_=ibis.null("string"),
    )
    if "_raw" in staged.columns:
        raw = t._raw
    else:
        raw_cols = [c for c in staged.columns if not c.startswith("_")]
        raw = ibis.literal(",").join([t[c].cast("string").fill_null("") for c in raw_cols])
    key_hash = key_hash_of(typed, given_key(table, given))
    return t.select(
        _line=t._line, **{c: typed[c] for c in table.names if c in given}, _field=field_, _reason=reason,
        _raw=ibis.cases((t._check > 0, raw), else_=ibis.null("string")),  # kept for rejected rows only
        _h=key_hash,
    )


def given_key(table: schema.Table, given) -> list[str]:
    """The key columns of `table` that a source gives (the others are null in all its rows); for a `MULTISET`
    table whose source gives no key, the columns it gives (the whole row is the identity).

    >>> given_key(schema.TABLES["consumers"], ["gender", "consumer_id"])
    ['consumer_id']
    >>> given_key(schema.TABLES["events"], ["ts", "event_type", "consumer_id", "gender"])
    ['consumer_id', 'event_type', 'ts']
    >>> given_key(schema.TABLES["events"], ["ts", "event_id", "consumer_id"])
    ['event_id']
    """
    key = [k for k in table.key if k in given]
    if key or table.repeats != schema.MULTISET:
        return key
    return [c for c in table.names if c in given]


def key_hash_of(cols, key: list[str]) -> ir.IntegerValue:
    """A 64-bit hash of a row's `key` columns (equal keys, equal hashes; the same type on every backend).

    >>> import ibis
    >>> t = ibis.memtable({"a": ["x", "x", "y"], "b": [1, 1, 1]})
    >>> h = t.select(h=key_hash_of(t, ["a", "b"])).execute().h
    >>> str(h.dtype), bool(h[0] == h[1]), bool(h[0] == h[2])
    ('int64', True, False)
    """
    return ibis.struct({k: cols[k] for k in key}).hash().cast("int64")


# Row rules that compare two columns of the same table.
TABLE_RULES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ad_delivery": (("clicks", "<=", "impressions"),),
    "campaigns": (("end_date", ">=", "start_date"),),
}


def duplicates(
    wh: Warehouse, v: ir.Table, table: schema.Table, pending: list[ir.Table] = (), shared_name: str = "_shared"
) -> ir.Table:
    """`_line`, `_h`, `_first` of every good row whose key repeats an earlier line (`_first`) or the warehouse (-1).

    `pending` are rows accepted for the same table earlier in the same ingest, not written yet: they
    count as the warehouse's. Rows are first grouped by a hash of the key (one column: fast); only rows
    in a group of two or more are then compared on the key itself, so a hash collision never makes a
    false duplicate. Key columns the batch does not give are null in all its rows: only stored rows with
    those null can match. The few shared hashes are kept in the session-local table `shared_name`.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender", "birth_year")})
    >>> v = wh.materialize("_v", validated(wh, stage(wh, root / "c.csv").rel, target))
    >>> duplicates(wh, v, schema.CONSUMERS).execute()[["_line", "_first"]].to_dict("records")
    [{'_line': 4, '_first': 2}]
    >>> wh.close()
    """
    key = given_key(table, v.columns)
    good = v.filter(v._field.isnull()).select(*key, "_line", _h=v._h.cast("int64"))  # Spark's hash is 32-bit
    existing = wh.table(table.name)
    if pending:
        existing = ibis.union(existing, *[p.cast(existing.schema()) for p in pending], distinct=False)
    absent = [existing[k].isnull() for k in table.key if k not in key]
    if table.repeats == schema.MULTISET:  # keyed rows meet keyed rows only
        absent = [existing[k].notnull() for k in key]
    if absent:
        existing = existing.filter(*absent)
    if "ts" in key:  # only the batch's time range can hold a duplicate
        span = good.aggregate(lo=good.ts.min(), hi=good.ts.max())
        existing = existing.cross_join(span).filter(lambda t: t.ts.between(t.lo, t.hi))
    existing = existing.select(*key).mutate(_line=ibis.literal(-1, "int64"), _h=key_hash_of(existing, key))
    hashes = good.select("_h").union(existing.select("_h"), distinct=False)
    shared = hashes.group_by("_h").aggregate(_n=hashes.count()).filter(lambda t: t._n > 1).select("_h")
    shared = wh.materialize(shared_name, shared)  # computed once: both sides below probe it
    cand = good.semi_join(shared, "_h").union(existing.semi_join(shared, "_h"), distinct=False)
    firsts = cand.group_by(key).aggregate(_first=cand._line.min(), _n=cand._line.count()).filter(lambda t: t._n > 1)
    mine = cand.filter(cand._line >= 0)
    joined = mine.inner_join(firsts, [mine[k].identical_to(firsts[k]) for k in key])
    return joined.filter(joined._line != joined._first).select("_line", "_h", "_first")


def multiset_repeats(
    wh: Warehouse, v: ir.Table, table: schema.Table, pending: list[ir.Table] = (), shared_name: str = "_shared"
) -> ir.Table:
    """`_line`, `_h`, `_first` (-1) of the good rows without a key that are copies the warehouse already holds.

    A `MULTISET` table's rows without a key are a multiset of whole rows: when the warehouse (with `pending`)
    holds k copies of a row and the source n, the source's first k copies are repeats and the other n − k are
    new. Only rows whose hash the warehouse also holds are compared, on the columns themselves.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> head = "consumer_id,brand_id,event_type,ts\\n"
    >>> _ = (root / "e.csv").write_text(head + "c1,B1,ad_click,2026-01-01\\n" * 3)
    >>> wh = open_warehouse(init_workspace(root))
    >>> cols = ("consumer_id", "brand_id", "event_type", "ts")
    >>> target = Target(schema.EVENTS, lambda t: {c: t[c] for c in cols})
    >>> v = wh.materialize("_v", validated(wh, stage(wh, root / "e.csv").rel, target))
    >>> len(multiset_repeats(wh, v, schema.EVENTS).execute())  # three clicks, none held yet: none repeats
    0
    >>> _ = (root / "two.csv").write_text(head + "c1,B1,ad_click,2026-01-01\\n" * 2)
    >>> from aipl.ingest import ingest
    >>> ingest(wh, root / "two.csv", "events").accepted
    2
    >>> sorted(multiset_repeats(wh, v, schema.EVENTS).execute()._line)  # two held already: one click is new
    [2, 3]
    >>> wh.close()
    """
    cols = [c for c in table.names if c in v.columns and c not in table.key]
    good = v.filter(v._field.isnull())
    keyed = [good[k].isnull() for k in table.key if k in v.columns]
    good = good.filter(*keyed) if keyed else good
    own = good._h if not keyed else key_hash_of(good, cols)  # the row hash (v's `_h` hashes the key then)
    good = good.select(*cols, "_line", _vh=good._h.cast("int64"), _h=own.cast("int64"))
    existing = wh.table(table.name)
    if pending:
        existing = ibis.union(existing, *[p.cast(existing.schema()) for p in pending], distinct=False)
    existing = existing.filter(*[existing[c].isnull() for c in table.names if c not in cols])
    if "ts" in cols:  # only the batch's time range can hold a copy
        span = good.aggregate(lo=good.ts.min(), hi=good.ts.max())
        existing = existing.cross_join(span).filter(lambda t: t.ts.between(t.lo, t.hi))
    existing = existing.select(*cols).mutate(_h=key_hash_of(existing, cols))
    if not int(existing.count().execute()):  # nothing held where the batch lies: no row is a repeat
        return good.select("_line", _h=good._vh, _first=ibis.literal(-1, "int64")).limit(0)
    shared = wh.materialize(shared_name, good.select("_h").intersect(existing.select("_h")))
    held = existing.semi_join(shared, "_h")
    held = held.group_by(cols).aggregate(_held=held.count())
    cand = good.semi_join(shared, "_h")
    cand = cand.mutate(_copy=ibis.row_number().over(group_by=[cand[c] for c in cols], order_by=cand._line))
    j = cand.inner_join(held, [cand[c].identical_to(held[c]) for c in cols])
    return j.filter(j._copy < j._held).select("_line", _h=j._vh, _first=ibis.literal(-1, "int64"))


def latest_versions(
    wh: Warehouse, v: ir.Table, table: schema.Table, pending: list[ir.Table] = (), names: tuple[str, ...] = ("_p", "_r")
) -> tuple[ir.Table, ir.Table]:
    """For a `LATEST` table: the good rows that change nothing (`_line`, `_h`, `_first`: the line they repeat,
    -1 for the stored row) and every changed row in full: the table's columns, `_line`, `_final`, `_next` (the line
    of the key's next version, null for the last) and `_first` (the key's first changed line).

    A row changes nothing when its given columns equal those of the key's previous version (the stored row,
    or the rows of `pending`, or an earlier line). Columns the source does not give keep their stored values.
    `_final` marks the key's last version (the new current row); the stored row and the other versions go to
    history. Two session-local tables are written (`names`).

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender\\nc1,F\\nc1,F\\nc1,M\\nc2,U\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender")})
    >>> v = wh.materialize("_v", validated(wh, stage(wh, root / "c.csv").rel, target))
    >>> same, changed = latest_versions(wh, v, schema.CONSUMERS)
    >>> same.execute()[["_line", "_first"]].to_dict("records")
    [{'_line': 3, '_first': 2}]
    >>> changed.order_by("_line").execute()[["consumer_id", "gender", "_final", "_first"]].to_dict("list")
    {'consumer_id': ['c1', 'c1', 'c2'], 'gender': ['F', 'M', 'U'], '_final': [False, True, True], '_first': [2, 2, 5]}
    >>> wh.close()
    """
    key, names_all = list(table.key), table.names
    cols = [c for c in names_all if c in v.columns]
    rest = [c for c in cols if c not in key]
    good = v.filter(v._field.isnull()).select(*cols, _line=v._line.cast("int64"), _h=v._h.cast("int64"))
    stored = wh.table(table.name)
    layers = [stored, *[p.cast(stored.schema()) for p in pending]]  # later ones are newer
    prior = ibis.union(*[s.select(*names_all).mutate(_src=ibis.literal(i, "int64")) for i, s in enumerate(layers)],
                       distinct=False).semi_join(good, key)
    newest = ibis.window(group_by=[prior[k] for k in key], order_by=ibis.desc(prior._src))
    prior = prior.mutate(_n=ibis.row_number().over(newest))
    prior = wh.materialize(names[0], prior.filter(prior._n == 0).drop("_n", "_src"))
    u = ibis.union(
        prior.select(*cols, _line=ibis.literal(-1, "int64"), _h=ibis.literal(0, "int64")), good, distinct=False
    )
    w = ibis.window(group_by=[u[k] for k in key], order_by=u._line)
    same = ibis.and_(*[u[c].identical_to(u[c].lag().over(w)) for c in rest]) if rest else ibis.literal(True)
    u = u.mutate(_prev=u._line.lag().over(w), _same=same)
    repeats = u.filter((u._line >= 0) & u._prev.notnull() & u._same).select("_line", "_h", _first=u._prev)
    repeats = wh.materialize(names[1], repeats)
    changed = good.anti_join(repeats, [good._line == repeats._line, good._h == repeats._h])
    later = ibis.window(group_by=[changed[k] for k in key], order_by=changed._line)
    changed = changed.mutate(_next=changed._line.lead().over(later), _first=changed._line.min().over(later))
    j = changed.left_join(prior, [changed[k] == prior[k] for k in key])  # given columns: the row's; others: stored
    full = j.select(*names_all, "_line", "_next", "_first", _final=j._next.isnull())
    return repeats, full


def stage_progress(report: Callable[[str, float | None], None] | None, label: str) -> Callable[[float], None] | None:
    """The callback that reports a stage's percentage under `label` (None without `report`).

    >>> stage_progress(print, "reading events.csv")(50.0)
    reading events.csv 50.0
    >>> stage_progress(None, "reading events.csv") is None
    True
    """
    return (lambda pct: report(label, pct)) if report else None


@dataclass
class Checked:
    """One source × target validated and checked for duplicates, ready to write (or already loaded): what `check`
    returns and `write` takes.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender", "birth_year")})
    >>> checked = check(wh, stage(wh, root / "c.csv"), target, "consumers", "batch-1")
    >>> checked.table, checked.result.accepted, checked.result.rejected
    ('consumers', 1, 2)
    >>> wh.close()
    """

    result: LoadResult
    table: str = ""
    accepted: ir.Table | None = None
    quarantine: ir.Table | None = None
    temps: tuple[str, ...] = ()
    rows: ir.Table | None = None  # every validated row, good or bad (for the brand check)
    changed: ir.Table | None = None  # a LATEST table's changed rows (see `latest_versions`)


def check(
    wh: Warehouse, staged: Staged, target: Target, fmt: str, bid: str, n: int = 0,
    pending: list[ir.Table] = (), report: Callable[[str, float | None], None] | None = None,
) -> Checked:
    """Validate `staged` for `target` into session-local tables (`n` numbers them) without touching the warehouse.

    `pending` are the accepted rows of earlier checks for the same table in this ingest.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender", "birth_year")})
    >>> checked = check(wh, stage(wh, root / "c.csv"), target, "consumers", "batch-1")
    >>> checked.result.read, checked.result.accepted, checked.result.rejected, wh.count("consumers")
    (3, 1, 2, 0)
    >>> wh.close()
    """
    table = target.table
    label = target.label or table.name
    source = str(staged.path)
    result = LoadResult(source=source, target=label, batch_id=bid)
    done = wh.table("batches")
    if int(done.filter((done.batch_id == bid) & (done.target == label)).count().execute()):
        result.skipped = True
        return Checked(result)

    temps = (f"_validated{n}", f"_dups{n}", f"_shared{n}", f"_prior{n}", f"_changed{n}")
    if report:
        report(f"validating {table.name}", None)
    with wh.progress(stage_progress(report, f"validating {table.name}")):
        v, broken = _validate(wh, staged, target, temps[0])
    if report:
        report(f"checking repeats in {table.name}", None)
    with wh.progress(stage_progress(report, f"checking repeats in {table.name}")):
        d, changed = _repeats(wh, v, table, pending, temps)

    same = [v._line == d._line, v._h == d._h]
    if changed is None:
        good = v.filter(v._field.isnull()).anti_join(d, same)
        accepted = good.select(*[good[c.name] if c.name in v.columns else ibis.null(IBIS_TYPES[c.type]).name(c.name)
                                 for c in table.columns])
    else:
        accepted = changed.filter(changed._final).select(*table.names)
    bad = v.filter(v._field.notnull()).select(_line=v._line, field=v._field, reason=v._reason, raw=v._raw)
    # a duplicate is a valid row: its record is shown as parsed (the line number points at the source)
    parsed = ibis.literal(",").join(
        [v[c].cast("string").fill_null("") if c in v.columns else ibis.literal("") for c in table.names]
    )
    dup_rows = v.inner_join(d, same).select(_line=v._line, _first=d._first, _raw=parsed)
    held, earlier = REPEAT_REASONS[table.repeats]
    dup_bad = dup_rows.select(
        _line=dup_rows._line,
        field=ibis.literal("(key)"),
        reason=ibis.cases(
            (dup_rows._first == -1, ibis.literal(held.format(name=table.name))),
            else_=ibis.literal(earlier) + dup_rows._first.cast("string"),
        ) + f" ({', '.join(table.key)})",
        raw=dup_rows._raw,
    )
    rejected = bad.union(dup_bad, distinct=False)
    if broken is not None:
        b = broken
        rejected = rejected.union(
            b.select(_line=b._line.cast("int64"), field=ibis.literal("(record)"), reason=b.reason, raw=b.raw),
            distinct=False,
        )
    quarantine = rejected.select(
        batch_id=ibis.literal(bid), source=ibis.literal(source), line=rejected._line.cast("int64"),
        target=ibis.literal(label), field=rejected.field, reason=rejected.reason, raw=rejected.raw,
    )
    stats = v.aggregate(n=v.count(), bad=v._field.notnull().sum()).execute().iloc[0]
    n_bad, n_dups = int(stats.bad or 0), int(d.count().execute())
    n_broken = int(broken.count().execute()) if broken is not None else 0
    result.read = int(stats.n) + n_broken
    result.accepted = int(stats.n) - n_bad - n_dups
    result.rejected = n_bad + n_dups + n_broken
    return Checked(result, table.name, accepted, quarantine, temps, v, changed)


def _validate(wh: Warehouse, staged: Staged, target: Target, name: str) -> tuple[ir.Table, ir.Table | None]:
    """`validated` rows of `staged` in the session-local table `name`, and the source's unsplittable records. A
    streamed CSV is validated as it is read, when its rows keep their order (then their place gives their lines);
    else it is staged again as a copy."""
    if staged.settle is None:
        return wh.materialize(name, validated(wh, staged.rel, target)), staged.broken
    if target.prepare is None and wh.materialize_in_order(name, validated(wh, staged.rel, target)) is not None:
        settled = staged.settle(name)
        if settled is not None:
            return settled
    staged = staged.again()
    return wh.materialize(name, validated(wh, staged.rel, target)), staged.broken


# (the warehouse holds it, it repeats line …) per `schema.Table.repeats`
REPEAT_REASONS = {
    schema.UNIQUE: ("duplicate: the warehouse already holds this {name} key", "duplicate of line "),
    schema.MULTISET: ("duplicate: the warehouse already holds this event (its key, or every copy of the row)",
                      "duplicate of line "),
    schema.LATEST: ("unchanged: the warehouse already holds this {name} row", "unchanged: the same as line "),
}


def _repeats(
    wh: Warehouse, v: ir.Table, table: schema.Table, pending: list[ir.Table], temps: tuple[str, ...]
) -> tuple[ir.Table, ir.Table | None]:
    """The repeats of `v` by the table's rule (`_line`, `_h`, `_first`) and, for a LATEST table, its changed rows."""
    if table.repeats == schema.LATEST:
        d, changed = latest_versions(wh, v, table, pending, (temps[3], temps[1]))
        return d, wh.materialize(temps[4], changed)
    if table.repeats == schema.MULTISET:
        d = multiset_repeats(wh, v, table, pending, temps[2])
        keys = [v[k].notnull() for k in table.key if k in v.columns]
        if keys:
            d = d.union(duplicates(wh, v.filter(ibis.or_(*keys)), table, pending, temps[3]), distinct=False)
        return wh.materialize(temps[1], d), None
    return wh.materialize(temps[1], duplicates(wh, v, table, pending, temps[2])), None


def write(wh: Warehouse, checked: Checked, fmt: str, report: Callable[[str, float | None], None] | None = None) -> None:
    """Write a checked load's accepted and quarantined rows and its batch record (inside the caller's transaction);
    an error when what was written does not reconcile with what was read.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> target = Target(schema.CONSUMERS, lambda t: {c: t[c] for c in ("consumer_id", "gender", "birth_year")})
    >>> checked = check(wh, stage(wh, root / "c.csv"), target, "consumers", "batch-1")
    >>> with wh.transaction():
    ...     write(wh, checked, "consumers")
    >>> wh.count("consumers"), wh.count("quarantine"), checked.result.reasons
    (1, 2, {'(key)': 1, 'birth_year': 1})
    >>> wh.close()
    """
    result, name = checked.result, checked.table
    if result.skipped:
        return
    if report:
        report(f"writing {name}", None)
    history = schema.HISTORY.get(name)
    tables = (name, "quarantine", *([history.name] if history else []))
    before = {t: wh.count(t) for t in tables}
    expected = {name: result.accepted, "quarantine": result.rejected}
    with wh.progress(stage_progress(report, f"writing {name}")):
        if checked.changed is None:
            wh.con.insert(name, checked.accepted)
        else:
            expected.update(_supersede(wh, checked, history))
        wh.con.insert("quarantine", checked.quarantine)
    written = {t: wh.count(t) - n for t, n in before.items()}
    if written != expected:  # the caller rolls back
        raise RuntimeError(
            f"{result.source}: counts do not reconcile for {result.target}: read {result.read}, accepted "
            f"{result.accepted} + rejected {result.rejected}; expected to write {expected}, wrote {written}; "
            "nothing was kept"
        )
    q = wh.table("quarantine")
    q = q.filter((q.batch_id == result.batch_id) & (q.target == result.target) & (q.source == result.source))
    reasons = q.group_by("field").aggregate(n=q.count()).execute()
    result.reasons = {str(r.field): int(r.n) for r in reasons.sort_values("field").itertuples()}
    wh.con.insert(
        "batches",
        ibis.memtable({
            "batch_id": [result.batch_id], "format": [fmt], "source": [result.source], "target": [result.target],
            "read": [result.read], "accepted": [result.accepted], "rejected": [result.rejected],
            "loaded_at": [datetime.now(UTC)],
        }).cast(dict(wh.table("batches").schema().items())),
    )


def _supersede(wh: Warehouse, checked: Checked, history: schema.Table) -> dict[str, int]:
    """Write a LATEST load: the stored rows it replaces and its own earlier versions go to `history`, its last
    version of each key becomes the current row. Returns the rows each table should have gained."""
    name, bid = checked.table, checked.result.batch_id
    key, names = list(schema.TABLES[name].key), schema.TABLES[name].names
    ch = checked.changed
    finals, older = ch.filter(ch._final), ch.filter(~ch._final)
    stored = wh.table(name)
    by = finals.select(*[finals[k].name(f"_k_{k}") for k in key], _by=finals._first)
    replaced = stored.inner_join(by, [stored[k] == by[f"_k_{k}"] for k in key])
    now = ibis.literal(datetime.now(UTC), IBIS_TYPES[schema.TIMESTAMP])
    rows = ibis.union(replaced.select(*names, line=replaced._by), older.select(*names, line=older._next),
                      distinct=False)
    n_replaced, n_final = int(replaced.count().execute()), int(finals.count().execute())
    wh.insert(history.name, rows.mutate(superseded_at=now, batch_id=ibis.literal(bid)))
    wh.replace_rows(name, finals.select(*names), keys=key)
    return {name: n_final - n_replaced, history.name: n_replaced + checked.result.accepted - n_final}


class NotGranted(SourceError):
    """A load would write rows of a brand the caller is not granted (or change rows every brand shares): nothing
    of it is written.

    >>> raise NotGranted("e.csv → events: 1 row(s) name a brand not granted to the caller; nothing was loaded")
    Traceback (most recent call last):
    aipl.ingest.core.NotGranted: e.csv → events: 1 row(s) name a brand not granted to the caller; nothing was loaded
    """


# canonical tables every tenant reads and no brand owns: a tenant's load could pass its figures off as the platform's
OWNER_ONLY = frozenset({schema.INDUSTRY_BENCHMARKS.name})


def check_brands(wh: Warehouse, checked: list[Checked], brands: frozenset[str]) -> None:
    """NotGranted unless every row the checked loads read belongs to `brands`: its own `brand_id` (as stored,
    after mapping), and for a LATEST table the stored row it would replace (another brand's item or membership);
    a LATEST table without a brand (consumer profiles, shared by every brand) takes new keys only, and an
    OWNER_ONLY table (industry benchmarks) none.

    Rows with no brand (category-scope events) are not any brand's. Error messages count rows, never name brands.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "e.csv").write_text("consumer_id,brand_id,event_type,ts\\nc1,B01,ad_click,2026-01-01\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> cols = ("consumer_id", "brand_id", "event_type", "ts")
    >>> checked = check(wh, stage(wh, root / "e.csv"), Target(schema.EVENTS, lambda t: {c: t[c] for c in cols}),
    ...                 "events", "b1")
    >>> check_brands(wh, [checked], frozenset({"B01"}))  # granted: no error
    >>> check_brands(wh, [checked], frozenset({"B02"}))
    Traceback (most recent call last):
    aipl.ingest.core.NotGranted: e.csv → events: 1 row(s) name a brand not granted to the caller; nothing was loaded
    >>> wh.close()
    """
    allowed = sorted(brands)
    problems = []
    for c in checked:
        if c.result.skipped:
            continue
        table, v = schema.TABLES[c.table], c.rows
        where = f"{Path(c.result.source).name} → {c.result.target}"
        if c.table in OWNER_ONLY:
            problems.append(f"{where}: {c.table} is read by every tenant, so only the workspace's owner loads it "
                            "(aipl ingest)")
            continue
        if "brand_id" in v.columns:
            n = int(v.filter(v.brand_id.notnull() & ~v.brand_id.isin(allowed)).count().execute())
            if n:
                problems.append(f"{where}: {n} row(s) name a brand not granted to the caller")
        if c.changed is None:
            continue
        stored = wh.table(c.table).semi_join(c.changed, list(table.key))
        if "brand_id" in table.names:
            n = int(stored.filter(stored.brand_id.notnull() & ~stored.brand_id.isin(allowed)).count().execute())
            if n:
                problems.append(f"{where}: {n} row(s) would change rows of a brand not granted to the caller")
        else:
            n = int(stored.count().execute())
            if n:
                problems.append(f"{where}: {n} row(s) would change stored {c.table} rows, which every brand shares "
                                "(a tenant's load may add them, not change them)")
    if problems:
        raise NotGranted("; ".join(problems) + "; nothing was loaded")
