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
from aipl.strategy.center import Backtest, Plan, backtest_campaign, campaign_plan
from aipl.strategy.details import latest_plan, plan_details
from aipl.strategy.gta import POOL_LABELS, POOLS, backtest, plan, pool_sizes, pools_on, season, set_target

__all__ = [
    "POOLS",
    "POOL_LABELS",
    "Backtest",
    "Campaign",
    "Plan",
    "backtest",
    "backtest_campaign",
    "calendar_rows",
    "calendars_from_config",
    "campaign_plan",
    "campaigns",
    "last_year",
    "latest_plan",
    "load_campaign",
    "plan",
    "plan_details",
    "pool_sizes",
    "pools_on",
    "save_calendars",
    "season",
    "set_target",
    "sync_calendars",
]
