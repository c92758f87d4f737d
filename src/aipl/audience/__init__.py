"""Crowds (达摩盘): consumer tags, the crowd language, a roaring-bitmap index, insight (TGI, overlap, flows),
built-in strategy crowds, lookalike and safe export."""

from aipl.audience.crowds import export, export_ids, insight, save
from aipl.audience.index import TagIndex, refresh, sql_ids, tag_day
from aipl.audience.lang import CrowdSyntaxError, parse, to_text
from aipl.audience.saved import BUILT_IN
from aipl.audience.tags import CATALOGUE, STRATEGY_CROWDS
from aipl.audience.usecases import (
    CrowdCount,
    CrowdExport,
    CrowdInsight,
    LookalikeCrowd,
    SavedCrowd,
    brands_of,
    count_crowd,
    create_crowd,
    crowd_insight,
    crowd_lookalike,
    crowd_members,
    crowd_tree,
    export_crowd,
    list_crowds,
    tag_catalogue,
)

__all__ = [
    "BUILT_IN",
    "CATALOGUE",
    "STRATEGY_CROWDS",
    "CrowdCount",
    "CrowdExport",
    "CrowdInsight",
    "CrowdSyntaxError",
    "LookalikeCrowd",
    "SavedCrowd",
    "TagIndex",
    "brands_of",
    "count_crowd",
    "create_crowd",
    "crowd_insight",
    "crowd_lookalike",
    "crowd_members",
    "crowd_tree",
    "export",
    "export_crowd",
    "export_ids",
    "insight",
    "list_crowds",
    "parse",
    "refresh",
    "save",
    "sql_ids",
    "tag_catalogue",
    "tag_day",
    "to_text",
]
