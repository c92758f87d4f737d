"""Consumer assets: AIPL and DEEPLINK states per brand and per category, stored as condition intervals."""

from aipl.assets.build import CONDITIONS, INTERVALS, SCOPES, build, daily_facts, ensure_built, update
from aipl.assets.query import attribution, consumer_states, flow, movers, snapshot, snapshot_all, states
from aipl.assets.rules import AIPL_LABELS, AIPL_STATES, DEEPLINK_LABELS, DEEPLINK_STATES, AssetRules

__all__ = [
    "AIPL_LABELS",
    "AIPL_STATES",
    "CONDITIONS",
    "DEEPLINK_LABELS",
    "DEEPLINK_STATES",
    "INTERVALS",
    "SCOPES",
    "AssetRules",
    "attribution",
    "build",
    "consumer_states",
    "daily_facts",
    "ensure_built",
    "flow",
    "movers",
    "snapshot",
    "snapshot_all",
    "states", "update",
]
