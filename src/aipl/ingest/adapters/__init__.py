"""Adapters from public dataset layouts and platform report exports to the canonical tables (importing registers
them)."""

from aipl.ingest.adapters import ali_display_ad, cdnow, exports, hillstrom, tmall_repeat, userbehavior

__all__ = ["ali_display_ad", "cdnow", "exports", "hillstrom", "tmall_repeat", "userbehavior"]
