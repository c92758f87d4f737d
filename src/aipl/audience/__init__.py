"""Crowds (达摩盘): consumer tags, the crowd language, a roaring-bitmap index, insight (TGI, overlap, flows),
built-in strategy crowds, lookalike and safe export."""

from aipl.audience.crowds import BUILT_IN, export, export_ids, insight, save
from aipl.audience.index import TagIndex, refresh, sql_ids, tag_day
from aipl.audience.lang import CrowdSyntaxError, parse, to_text
from aipl.audience.lookalike import Lookalike, features, lookalike
from aipl.audience.tags import CATALOGUE, STRATEGY_CROWDS

__all__ = [
    "BUILT_IN",
    "CATALOGUE",
    "STRATEGY_CROWDS",
    "CrowdSyntaxError",
    "Lookalike",
    "TagIndex",
    "export",
    "export_ids",
    "features",
    "insight",
    "lookalike",
    "parse",
    "refresh",
    "save",
    "sql_ids",
    "tag_day",
    "to_text",
]
