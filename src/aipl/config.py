"""Workspace configuration (`aipl.toml`): backend, time zone and the documented defaults of DOMAIN.md."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model, field_validator

CONFIG_FILE = "aipl.toml"

DEFAULT_TOML = """\
# aipl workspace configuration. Every value here has a documented default (DOMAIN.md "[P]").

[workspace]
backend = "duckdb"            # "duckdb" (embedded, one file) or "spark" (PySpark; local mode or a cluster)
timezone = "Asia/Shanghai"    # days are cut in this time zone; timestamps without an offset are read in it
database = "warehouse.duckdb" # the DuckDB file, relative to the workspace
memory_limit = "6GB"          # DuckDB spills to disk beyond this, or beyond its own default (80 % of RAM) if lower
temp_directory = ""           # where DuckDB spills, inside the workspace ("" = DuckDB's own: <database>.tmp)

[ingest]
# A timestamp outside [earliest, latest] is implausible and its row is quarantined.
earliest = "2000-01-01"
latest_days_ahead = 1         # latest = now + this many days
# Saved column mappings (source column = canonical column), used as `aipl ingest --map NAME` (docs/imports.md).
# [ingest.maps.crm]
# user_id = "consumer_id"

[privacy]
min_crowd_size = 100          # a crowd smaller than this is never exported
min_peer_brands = 5           # a benchmark or category figure needs at least this many other brands

[api]
max_upload_mb = 200           # the largest file `aipl serve` accepts as an upload (JSON bodies: 1 MiB)

[assets]
# AIPL windows in whole days of the time zone above, inclusive of the day (DOMAIN.md §2.5 [P]).
awareness_days = 15
interest_days = 15
purchase_days = 913           # 2.5 years
loyal_days = 365
loyal_min_purchase_days = 2   # L = at least this many purchase days in loyal_days (or purchase + review/share)
browse_min_days = 2           # product-page/store views count as I only on this many days in the window
# Event classes, DEEPLINK refinements and brand-only touchpoints have defaults too (see docs/assets.md).

[sequence]
# Sequenced delivery (序列化投放): the next action per DEEPLINK stage and the frequency cap (docs/autopilot.md).
# Actions: content, conversion_ad, coupon, member_offer. Stages left out keep their default.
# discover = "content"
# perform = "coupon"
cap_contacts = 3              # at most this many brand ad exposures per consumer …
cap_days = 7                  # … in any this many days

[pipeline]
# The daily run, `aipl run daily` (docs/pipeline.md): new landing files → assets, tags, CLV, plans, alerts, report.
late_hours = 30               # no run finished for this long: `aipl status` exits 1, the dashboard shows a banner
report = "report.html"        # the report each run writes, relative to the workspace ("" writes none)
# [[pipeline.landing]]        # one entry per kind of file: a glob relative to the workspace, and its format
# glob = "landing/events/*.csv"
# format = "events"
# [[alerts]]                  # rules evaluated at each run: flow_drop, fast_below_p25, plan_gap_growing
# kind = "flow_drop"          # the A→I flow rate down more than threshold % week on week
# threshold = 20

[spark]
# Used when backend = "spark" (docs/spark.md). Under spark-submit the active SparkSession is reused as it is.
master = "local[2]"           # local[N], spark://host:7077, yarn, k8s://https://host:443
# warehouse = "hdfs:///aipl/brand-x"  # where the tables live (Parquet); shared storage on a cluster.
                              # Default: the folder spark-warehouse in the workspace.
database = "aipl"             # the catalog database holding the tables (created at the warehouse location)
shuffle_partitions = 4        # spark.sql.shuffle.partitions: about 2-3 per core of the cluster
# [spark.conf]                # any further Spark settings, passed as they are
# "spark.executor.memory" = "4g"
"""


class ConfigError(ValueError):
    """The workspace configuration is missing or invalid."""


# Each engine parses its own section of aipl.toml; those registered here are checked whenever a workspace is
# loaded, so that a mistake is reported at once, naming the file, not at the first command that needs it.
SECTIONS: dict[str, Callable[[dict | None], object]] = {}


def register_section(name: str, parse: Callable[[dict | None], object]) -> None:
    """Have `parse(aipl.toml[name])` validate the section on every load (it raises ValueError or TypeError,
    best through `check_section`, which names the key and the reason).

    >>> register_section("example", lambda section: dict(section or {}))
    >>> SECTIONS.pop("example") is not None
    True
    """
    SECTIONS[name] = parse


def _reason(error: dict) -> str:
    """One pydantic error as `key: reason (got value)`."""
    key = ".".join(str(p) for p in error["loc"]) or "(section)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    got = error.get("input")
    shown = repr(got) if not isinstance(got, str | int | float) or len(repr(got)) <= 40 else repr(got)[:40] + "…"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{key}: {msg[0].lower()}{msg[1:]} (got {shown})"


T = TypeVar("T")


def check_section(name: str, kind: type[T], section: dict | None) -> T:
    """The `[name]` table validated into `kind` (a pydantic model or a dataclass); a ValueError naming
    `[name] key` and the reason otherwise.

    >>> check_section("privacy", PrivacySettings, {"min_crowd_size": 50}).min_crowd_size
    50
    >>> check_section("privacy", PrivacySettings, {"min_crowd_size": -1})
    Traceback (most recent call last):
    ValueError: [privacy] min_crowd_size: input should be greater than or equal to 1 (got -1)
    """
    if section is not None and not isinstance(section, dict):
        raise ValueError(f"[{name}] must be a table, not {type(section).__name__}")
    section = dict(section or {})
    try:
        checked = _model_of(kind).model_validate(section)
    except ValidationError as exc:
        raise ValueError(f"[{name}] " + "; ".join(_reason(e) for e in exc.errors())) from None
    return checked if isinstance(checked, kind) else kind(**{k: getattr(checked, k) for k in section})


@functools.cache
def _model_of(kind: type) -> type[BaseModel]:
    """A pydantic model itself; for a dataclass, a strict model of its fields (values of their types as written,
    unknown keys refused)."""
    if issubclass(kind, BaseModel):
        return kind
    hints = typing.get_type_hints(kind)
    return create_model(kind.__name__, __config__=ConfigDict(strict=True, extra="forbid"),
                        **{f.name: (hints[f.name], None) for f in dataclasses.fields(kind)})


class _Section(BaseModel):
    """A section of aipl.toml: values of the declared types as written (no coercion), unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for a path-like or empty name, NUL bytes …
        raise ValueError("not a known time zone (e.g. Asia/Shanghai, UTC)") from None
    return name


def _inside(name: str) -> str:
    path = PurePath(name)
    if not name.strip() or "\x00" in name or path.is_absolute() or ".." in path.parts or name.endswith(("/", "\\")):
        raise ValueError("must be a file name inside the workspace (e.g. warehouse.duckdb)")
    return name


class WorkspaceSettings(_Section):
    """`[workspace]`: the backend, the time zone days are cut in, the DuckDB file (inside the workspace), and
    DuckDB's memory cap and spill folder (6GB by default, so that a command stays under 8 GiB peak RSS with
    Python's share; never above DuckDB's own default, 80 % of the RAM it sees, so a small machine spills rather
    than runs out; docs/performance.md).

    >>> WorkspaceSettings(timezone="UTC").database, WorkspaceSettings(memory_limit="512 MiB").memory_limit
    ('warehouse.duckdb', '512MiB')
    """

    backend: Literal["duckdb", "spark"] = "duckdb"
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "Asia/Shanghai"
    database: Annotated[str, Field(min_length=1, max_length=255)] = "warehouse.duckdb"
    memory_limit: Annotated[str, Field(max_length=32)] = "6GB"
    temp_directory: Annotated[str, Field(max_length=255)] = ""

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str) -> str:
        size = value.replace(" ", "")
        if size and not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", size):
            raise ValueError(f"{value!r} is not a memory size (e.g. 6GB, 512MiB; \"\" for no cap of aipl's)")
        return size

    @field_validator("temp_directory")
    @classmethod
    def _spill(cls, value: str) -> str:
        try:
            return value and _inside(value)
        except ValueError:
            raise ValueError("must be a folder inside the workspace (e.g. spill)") from None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    @field_validator("database")
    @classmethod
    def _file(cls, value: str) -> str:
        return _inside(value)


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)  # a ValueError (an impossible day) is reported with the key
    raise ValueError("must be a day, written 2000-01-01")


_Column = Annotated[str, Field(min_length=1, max_length=128)]


class IngestSettings(_Section):
    """`[ingest]`: the plausible range of timestamps (earliest day, and days after now), and the saved column
    mappings (`[ingest.maps.NAME]`: source column = canonical column).

    >>> IngestSettings(earliest="2010-01-01").earliest
    datetime.date(2010, 1, 1)
    >>> check_section("ingest", IngestSettings, {"maps": {"crm": {"user_id": "consumer_id"}}}).maps
    {'crm': {'user_id': 'consumer_id'}}
    >>> check_section("ingest", IngestSettings, {"maps": {"crm": {"user_id": 3}}})
    Traceback (most recent call last):
    ValueError: [ingest] maps.crm.user_id: input should be a valid string (got 3)
    """

    earliest: Annotated[date, BeforeValidator(_day), Field(ge=date(1900, 1, 1), le=date(2100, 1, 1))] = date(2000, 1, 1)
    latest_days_ahead: Annotated[int, Field(ge=0, le=3650)] = 1
    maps: dict[_Column, dict[_Column, _Column]] = Field(default_factory=dict)


class PrivacySettings(_Section):
    """`[privacy]`: the smallest crowd that may be exported, the fewest other brands behind a peer figure.

    >>> PrivacySettings().min_peer_brands
    5
    """

    min_crowd_size: Annotated[int, Field(ge=1, le=1_000_000_000)] = 100
    min_peer_brands: Annotated[int, Field(ge=1, le=100_000)] = 5


class ApiSettings(_Section):
    """`[api]`: the largest upload `aipl serve` accepts, in MB.

    >>> ApiSettings().max_upload_mb
    200
    """

    max_upload_mb: Annotated[int, Field(ge=1, le=1_048_576)] = 200


@dataclass(frozen=True)
class SparkSettings:
    """The `[spark]` section: where the Spark backend runs and keeps its tables.

    `warehouse` is any Hadoop-compatible location (a local folder, hdfs://, s3a://, abfss:// …); empty means
    the folder `spark-warehouse` of the workspace.

    >>> s = SparkSettings.from_config({"master": "spark://10.0.0.5:7077", "conf": {"spark.executor.cores": 2}})
    >>> s.master, s.shuffle_partitions, s.conf
    ('spark://10.0.0.5:7077', 4, {'spark.executor.cores': '2'})
    """

    master: str = "local[2]"
    warehouse: str = ""
    database: str = "aipl"
    shuffle_partitions: int = 4
    conf: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, section: dict | None) -> SparkSettings:
        """Validate a parsed `[spark]` table; ValueError naming the key at fault."""
        if section is not None and not isinstance(section, dict):
            raise ValueError("[spark] must be a table")
        section = dict(section or {})
        unknown = sorted(set(section) - {"master", "warehouse", "database", "shuffle_partitions", "conf"})
        if unknown:
            raise ValueError(f"[spark]: unknown key(s) {', '.join(unknown)}")
        for key in ("master", "warehouse", "database"):
            if not isinstance(section.get(key, ""), str):
                raise ValueError(f"[spark] {key} must be a string")
        parts = section.get("shuffle_partitions", cls.shuffle_partitions)
        if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= 100_000:
            raise ValueError(f"[spark] shuffle_partitions must be a whole number from 1 to 100000, not {parts!r}")
        database = section.get("database", cls.database)
        if not database.replace("_", "").isalnum():
            raise ValueError(f"[spark] database must be letters, digits and _, not {database!r}")
        conf = section.get("conf", {})
        if not isinstance(conf, dict) or any(isinstance(v, dict | list) for v in conf.values()):
            raise ValueError("[spark.conf] must map Spark setting names to single values")
        return cls(master=section.get("master", cls.master) or cls.master, warehouse=section.get("warehouse", ""),
                   database=database, shuffle_partitions=parts,
                   conf={str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()})


@dataclass
class Config:
    """A workspace's settings, read from `aipl.toml` with defaults for every key."""

    root: Path
    backend: str = "duckdb"
    timezone: str = "Asia/Shanghai"
    database: str = "warehouse.duckdb"
    memory_limit: str = "6GB"
    temp_directory: str = ""
    earliest: str = "2000-01-01"
    latest_days_ahead: int = 1
    min_crowd_size: int = 100
    min_peer_brands: int = 5
    max_upload_mb: int = 200
    ingest_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    spark: SparkSettings = field(default_factory=SparkSettings)

    @property
    def database_path(self) -> Path:
        return self.root / self.database

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def spark_warehouse(self) -> str:
        """Where the Spark backend keeps its tables: `[spark] warehouse`, else the workspace's spark-warehouse."""
        return self.spark.warehouse or (self.root / "spark-warehouse").as_uri()


def parse_day(value, what: str = "day") -> date:
    """A calendar day from a date or 'YYYY-MM-DD'; a clear ValueError naming `what` otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a valid day (YYYY-MM-DD)") from None


def workspace_dir(path: str | os.PathLike | None) -> Path:
    """The workspace folder: the given path, else `$AIPL_WORKSPACE`, else the current directory."""
    return Path(path or os.environ.get("AIPL_WORKSPACE") or ".").resolve()


def init_workspace(path: str | os.PathLike, backend: str = "duckdb", timezone: str = "Asia/Shanghai") -> Path:
    """Create a workspace folder with a default `aipl.toml` (kept if it already exists)."""
    root = Path(path).resolve()
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / CONFIG_FILE
    if not cfg.exists():
        text = DEFAULT_TOML.replace('backend = "duckdb"', f'backend = "{backend}"')
        text = text.replace('timezone = "Asia/Shanghai"', f'timezone = "{timezone}"')
        cfg.write_text(text, encoding="utf-8")
    load_config(root)  # validate
    return root


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate `aipl.toml` of the workspace at `path`."""
    root = workspace_dir(path)
    cfg_path = root / CONFIG_FILE
    if not cfg_path.exists():
        raise ConfigError(f"{root} is not an aipl workspace (no {CONFIG_FILE}); create one with `aipl init {root}`")
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path}: {exc}") from exc
    try:
        ws = check_section("workspace", WorkspaceSettings, data.get("workspace"))
        ing = check_section("ingest", IngestSettings, data.get("ingest"))
        priv = check_section("privacy", PrivacySettings, data.get("privacy"))
        api = check_section("api", ApiSettings, data.get("api"))
        spark = SparkSettings.from_config(data.get("spark"))
    except ValueError as exc:
        raise ConfigError(f"{cfg_path}: {exc}") from None
    if not (root / ws.database).resolve().is_relative_to(root):
        raise ConfigError(f"{cfg_path}: [workspace] database: {ws.database!r} leads outside the workspace")
    for name, parse in SECTIONS.items():
        try:
            parse(data.get(name))
        except Exception as exc:  # any mistake in an engine's section is one line naming it, never a traceback
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"{cfg_path}: {text if f'[{name}]' in text else f'[{name}] {text}'}") from None
    return Config(root=root, backend=ws.backend, timezone=ws.timezone, database=ws.database,
                  memory_limit=ws.memory_limit, temp_directory=ws.temp_directory,
                  earliest=ing.earliest.isoformat(), latest_days_ahead=ing.latest_days_ahead,
                  min_crowd_size=priv.min_crowd_size, min_peer_brands=priv.min_peer_brands,
                  max_upload_mb=api.max_upload_mb, ingest_maps=dict(ing.maps), raw=data, spark=spark)
