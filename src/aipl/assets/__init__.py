"""Consumer assets: AIPL and DEEPLINK states per brand and per category, stored as condition intervals."""

from aipl.assets.build import CONDITIONS, SCOPES, build, daily_facts, ensure_built, intervals, update
from aipl.assets.query import attribution, consumer_states, flow, has_key, movers, snapshot, snapshot_all, states
from aipl.assets.rules import AIPL_LABELS, AIPL_STATES, DEEPLINK_LABELS, DEEPLINK_STATES, AssetRules

__all__ = [
    "AIPL_LABELS",
    "AIPL_STATES",
    "CONDITIONS",
    "DEEPLINK_LABELS",
    "DEEPLINK_STATES",
    "SCOPES",
    "AssetRules",
    "attribution",
    "build",
    "consumer_states",
    "daily_facts",
    "ensure_built",
    "flow",
    "has_key",
    "intervals",
    "movers",
    "snapshot",
    "snapshot_all",
    "states", "update",
]
