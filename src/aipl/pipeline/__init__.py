"""Whole-workspace use cases that string several engines together: the demo workspace, a file validated into a
throw-away workspace, and the daily run (`aipl run daily`) with its freshness and alerts. Above the engines and
the report, below the faces (the CLI, the API and notebooks call these)."""

from __future__ import annotations

from aipl.pipeline.alerts import ALERT_COLUMNS, KINDS, evaluate_alerts, fast_below_p25, flow_drop, plan_gap_growing
from aipl.pipeline.daily import (
    EXIT_FAILED,
    EXIT_NOTHING,
    EXIT_OK,
    STEPS,
    Freshness,
    RunSummary,
    freshness,
    new_files,
    recent_alerts,
    run_daily,
)
from aipl.pipeline.demo import BUNDLED, DemoResult, Progress, demo, file_warehouse
from aipl.pipeline.settings import ALERT_KINDS, AlertRule, Landing, PipelineSettings
from aipl.pipeline.whatif import GapBudget, gap_budget

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_KINDS",
    "BUNDLED",
    "EXIT_FAILED",
    "EXIT_NOTHING",
    "EXIT_OK",
    "KINDS",
    "STEPS",
    "AlertRule",
    "DemoResult",
    "Freshness",
    "GapBudget",
    "Landing",
    "PipelineSettings",
    "Progress",
    "RunSummary",
    "demo",
    "evaluate_alerts",
    "fast_below_p25",
    "file_warehouse",
    "flow_drop",
    "freshness",
    "gap_budget",
    "new_files",
    "plan_gap_growing",
    "recent_alerts",
    "run_daily",
]
