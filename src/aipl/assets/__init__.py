"""Consumer assets: AIPL and DEEPLINK states per brand and per category, stored as condition intervals."""

from aipl.assets.build import CONDITIONS, SCOPES, build, daily_facts, ensure_built, intervals, update
from aipl.assets.health import benchmarks, brand_categories, fast, grow, ranking
from aipl.assets.query import (
    FLOW_STATES,
    attribution,
    consumer_states,
    flow,
    movers,
    snapshot,
    snapshot_all,
    state_counts,
    states,
)
from aipl.assets.rules import AssetRules
from aipl.vocab import AIPL_LABELS, AIPL_STATES, DEEPLINK_LABELS, DEEPLINK_STATES

__all__ = [
    "AIPL_LABELS",
    "AIPL_STATES",
    "CONDITIONS",
    "DEEPLINK_LABELS",
    "DEEPLINK_STATES",
    "FLOW_STATES",
    "SCOPES",
    "AssetRules",
    "attribution",
    "benchmarks",
    "brand_categories",
    "build",
    "consumer_states",
    "daily_facts",
    "ensure_built",
    "fast",
    "flow",
    "grow",
    "intervals",
    "movers",
    "ranking",
    "snapshot",
    "snapshot_all",
    "state_counts",
    "states",
    "update",
]
