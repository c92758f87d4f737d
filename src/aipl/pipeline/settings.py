"""The daily pipeline's settings in `aipl.toml`: `[pipeline]` (landing globs, the report, when a run is late) and
`[[alerts]]` (the rules evaluated at each run). Both are checked whenever a workspace is opened."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from aipl.config import Config, check_section, register_section

ALERT_KINDS: dict[str, str] = {
    "flow_drop": "a brand's A→I flow rate (流转率) over the last 7 days is down more than `threshold` % on the "
                 "7 days before",
    "fast_below_p25": "a brand's FAST `metric` (F, A, S or T) over the last 30 days is below its category's P25",
    "plan_gap_growing": "a brand's pool behind its plan (the need, else last year's curve) by more each day, "
                        "`days` days running",
}
RULE_KEYS = {"kind", "brand", "category", "threshold", "metric", "days", "name"}
DEFAULT_THRESHOLDS = {"flow_drop": 20.0, "fast_below_p25": 0.0, "plan_gap_growing": 0.0}


@dataclass(frozen=True)
class Landing:
    """One `[[pipeline.landing]]` entry: files matching `glob` (relative to the workspace) are read as `format`.

    >>> Landing("landing/events/*.csv", "events")
    Landing(glob='landing/events/*.csv', format='events')
    """

    glob: str
    format: str


@dataclass(frozen=True)
class AlertRule:
    """One `[[alerts]]` rule: its kind (see ALERT_KINDS), the brand or category it watches (default: every
    brand), its threshold, the FAST metric and the number of days, as the kind needs; `name` labels it.

    >>> r = AlertRule.from_dict({"kind": "flow_drop", "brand": "B01", "threshold": 25})
    >>> r.name, r.threshold, r.days
    ('flow_drop B01', 25.0, 3)
    """

    kind: str
    brand: str | None = None
    category: str | None = None
    threshold: float = 0.0
    metric: str = "A"
    days: int = 3
    name: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> AlertRule:
        """Validate one rule; ValueError naming the key at fault.

        >>> AlertRule.from_dict({"kind": "sales_up"})
        Traceback (most recent call last):
        ValueError: [[alerts]] kind 'sales_up' is not one of flow_drop, fast_below_p25, plan_gap_growing
        """
        if not isinstance(d, dict):
            raise ValueError("[[alerts]] each rule is a table (kind = …)")
        unknown = sorted(set(d) - RULE_KEYS)
        if unknown:
            raise ValueError(f"[[alerts]] unknown key(s) {', '.join(unknown)}")
        kind = d.get("kind")
        if kind not in ALERT_KINDS:
            raise ValueError(f"[[alerts]] kind {kind!r} is not one of {', '.join(ALERT_KINDS)}")
        metric = str(d.get("metric", "A"))
        if metric not in ("F", "A", "S", "T"):
            raise ValueError(f"[[alerts]] metric must be F, A, S or T, not {metric!r}")
        days = d.get("days", 3)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"[[alerts]] days must be a whole number of at least 1, not {days!r}")
        threshold = d.get("threshold", DEFAULT_THRESHOLDS[kind])
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"[[alerts]] threshold must be a number, not {threshold!r}")
        brand, category = d.get("brand"), d.get("category")
        name = d.get("name") or " ".join(x for x in (kind, brand or category) if x)
        return cls(kind, brand, category, float(threshold), metric, days, str(name))


class _Keys(BaseModel):
    """The scalar keys of `[pipeline]`, as written: late after 0–8,760 hours (a year); the report's file name
    ("" writes none)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    late_hours: float = Field(30.0, gt=0, le=8760, allow_inf_nan=False)
    report: str = Field("report.html", max_length=255)


@dataclass(frozen=True)
class PipelineSettings:
    """The `[pipeline]` section and the `[[alerts]]` rules of a workspace.

    >>> s = PipelineSettings.from_sections({"late_hours": 26, "landing": [{"glob": "in/*.csv", "format": "events"}]},
    ...                                    [{"kind": "fast_below_p25", "metric": "S"}])
    >>> s.late_hours, s.landing[0].format, s.report, s.alerts[0].metric
    (26.0, 'events', 'report.html', 'S')
    """

    landing: tuple[Landing, ...] = ()
    late_hours: float = 30.0
    report: str = "report.html"
    alerts: tuple[AlertRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_sections(cls, section: dict | None, alerts: list | None) -> PipelineSettings:
        """Validate `[pipeline]` and `[[alerts]]`; ValueError naming the key at fault."""
        section = dict(section or {})
        unknown = sorted(set(section) - {"landing", "late_hours", "report"})
        if unknown:
            raise ValueError(f"[pipeline]: unknown key(s) {', '.join(unknown)}")
        landing = []
        for entry in section.get("landing", []):
            if not isinstance(entry, dict) or set(entry) != {"glob", "format"}:
                raise ValueError("[[pipeline.landing]] each entry needs exactly glob and format")
            landing.append(Landing(str(entry["glob"]), str(entry["format"])))
        keys = check_section("pipeline", _Keys, {k: v for k, v in section.items() if k != "landing"})
        late, report = keys.late_hours, keys.report
        if alerts is not None and not isinstance(alerts, list):
            raise ValueError("alerts must be written [[alerts]] (a list of rules)")
        return cls(tuple(landing), float(late), report, tuple(AlertRule.from_dict(a) for a in alerts or []))

    @classmethod
    def of(cls, config: Config) -> PipelineSettings:
        """The settings of a loaded workspace configuration."""
        return cls.from_sections(config.raw.get("pipeline"), config.raw.get("alerts"))


register_section("pipeline", lambda section: PipelineSettings.from_sections(section, None))
register_section("alerts", lambda rules: PipelineSettings.from_sections(None, rules))
