"""Crowds (达摩盘): consumer tags, the crowd language, a roaring-bitmap index, insight (TGI, overlap, flows),
built-in strategy crowds, lookalike and safe export."""

from aipl.audience.crowds import BUILT_IN, ExportRecord, export, export_ids, insight, save
from aipl.audience.index import TagIndex, refresh, sql_ids, tag_day
from aipl.audience.lang import CrowdSyntaxError, parse, to_text
from aipl.audience.lookalike import Lookalike, features, lookalike
from aipl.audience.peers import Sight, check_crowd, sight
from aipl.audience.results import CrowdRecord, LookalikeScores, TagRefresh
from aipl.audience.tags import CATALOGUE, STRATEGY_CROWDS, strategy_crowd
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
    "CrowdRecord",
    "CrowdSyntaxError",
    "ExportRecord",
    "Lookalike",
    "LookalikeCrowd",
    "LookalikeScores",
    "SavedCrowd",
    "Sight",
    "TagIndex",
    "TagRefresh",
    "brands_of",
    "check_crowd",
    "count_crowd",
    "create_crowd",
    "crowd_insight",
    "crowd_lookalike",
    "crowd_members",
    "crowd_tree",
    "export",
    "export_crowd",
    "export_ids",
    "features",
    "insight",
    "list_crowds",
    "lookalike",
    "parse",
    "refresh",
    "save",
    "sight",
    "sql_ids",
    "strategy_crowd",
    "tag_catalogue",
    "tag_day",
    "to_text",
]
