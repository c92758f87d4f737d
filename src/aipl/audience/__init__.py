"""Crowds (达摩盘): consumer tags, the crowd language, a roaring-bitmap index, insight (TGI, overlap, flows),
built-in strategy crowds, lookalike and safe export."""

from aipl.audience.crowds import export_ids
from aipl.audience.index import TagIndex, refresh, sql_ids, tag_day
from aipl.audience.lang import CrowdSyntaxError, parse, to_text
from aipl.audience.tags import CATALOGUE, STRATEGY_CROWDS

__all__ = ["CATALOGUE", "STRATEGY_CROWDS", "CrowdSyntaxError", "TagIndex", "parse", "refresh", "sql_ids", "tag_day",
           "to_text"]
__all__ += ["export_ids"]
