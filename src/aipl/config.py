"""Workspace configuration (`aipl.toml`): backend, time zone and the documented defaults of DOMAIN.md."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIG_FILE = "aipl.toml"

DEFAULT_TOML = """\
# aipl workspace configuration. Every value here has a documented default (DOMAIN.md "[P]").

[workspace]
backend = "duckdb"            # "duckdb" (embedded, one file) or "spark" (PySpark; local mode or a cluster)
timezone = "Asia/Shanghai"    # days are cut in this time zone; timestamps without an offset are read in it
database = "warehouse.duckdb" # the DuckDB file, relative to the workspace

[ingest]
# A timestamp outside [earliest, latest] is implausible and its row is quarantined.
earliest = "2000-01-01"
latest_days_ahead = 1         # latest = now + this many days

[privacy]
min_crowd_size = 100          # a crowd smaller than this is never exported

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
    """Have `parse(aipl.toml[name])` validate the section on every load (it raises ValueError or TypeError).

    >>> register_section("example", lambda section: dict(section or {}))
    >>> SECTIONS.pop("example") is not None
    True
    """
    SECTIONS[name] = parse


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
        section = dict(section or {})
        unknown = sorted(set(section) - {"master", "warehouse", "database", "shuffle_partitions", "conf"})
        if unknown:
            raise ValueError(f"[spark]: unknown key(s) {', '.join(unknown)}")
        for key in ("master", "warehouse", "database"):
            if not isinstance(section.get(key, ""), str):
                raise ValueError(f"[spark] {key} must be a string")
        parts = section.get("shuffle_partitions", cls.shuffle_partitions)
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise ValueError(f"[spark] shuffle_partitions must be a whole number of at least 1, not {parts!r}")
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
    earliest: str = "2000-01-01"
    latest_days_ahead: int = 1
    min_crowd_size: int = 100
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
    ws, ing, priv = data.get("workspace", {}), data.get("ingest", {}), data.get("privacy", {})
    conf = Config(
        root=root,
        backend=ws.get("backend", "duckdb"),
        timezone=ws.get("timezone", "Asia/Shanghai"),
        database=ws.get("database", "warehouse.duckdb"),
        earliest=ing.get("earliest", "2000-01-01"),
        latest_days_ahead=int(ing.get("latest_days_ahead", 1)),
        min_crowd_size=int(priv.get("min_crowd_size", 100)),
        raw=data,
    )
    if conf.backend not in ("duckdb", "spark"):
        raise ConfigError(f"{cfg_path}: [workspace] backend must be 'duckdb' or 'spark', not {conf.backend!r}")
    try:
        ZoneInfo(conf.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{cfg_path}: [workspace] timezone {conf.timezone!r} is not a known time zone") from exc
    try:
        conf.spark = SparkSettings.from_config(data.get("spark"))
    except ValueError as exc:
        raise ConfigError(f"{cfg_path}: {exc}") from exc
    for name, parse in SECTIONS.items():
        try:
            parse(data.get(name))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{cfg_path}: {exc}") from exc
    return conf
