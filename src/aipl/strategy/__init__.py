"""Strategy Center: campaign calendars, the GTA back-calculation from a GMV target to consumer pools,
progress against last year and the industry, recommended strategies and a dated action plan, and a
backtest of the forecast against what happened."""

from aipl.strategy.calendar import Campaign, calendars_from_config, last_year, load_campaign, sync_calendars
from aipl.strategy.details import latest_plan, plan_details
from aipl.strategy.gta import POOL_LABELS, POOLS, backtest, plan, pool_sizes, pools_on, season, set_target

__all__ = [
    "POOLS",
    "POOL_LABELS",
    "Campaign",
    "backtest",
    "calendars_from_config",
    "last_year",
    "latest_plan",
    "load_campaign",
    "plan",
    "plan_details",
    "pool_sizes",
    "pools_on",
    "season",
    "set_target",
    "sync_calendars",
]
