"""Strategy Center: campaign calendars, the GTA back-calculation from a GMV target to consumer pools,
progress against last year and the industry, recommended strategies and a dated action plan, and a
backtest of the forecast against what happened."""

from aipl.strategy.calendar import (
    Campaign,
    calendar_rows,
    calendars_from_config,
    campaigns,
    last_year,
    load_campaign,
    save_calendars,
    sync_calendars,
)
from aipl.strategy.center import backtest, latest_plan, plan
from aipl.strategy.gta import POOL_LABELS, POOLS, pool_sizes, pools_on, season
from aipl.strategy.results import Backtest, Plan, PoolSizes, Season

__all__ = [
    "POOLS",
    "POOL_LABELS",
    "Backtest",
    "Campaign",
    "Plan",
    "PoolSizes",
    "Season",
    "backtest",
    "calendar_rows",
    "calendars_from_config",
    "campaigns",
    "last_year",
    "latest_plan",
    "load_campaign",
    "plan",
    "pool_sizes",
    "pools_on",
    "save_calendars",
    "season",
    "sync_calendars",
]
