"""Maintenance of the consumer assets: a full rebuild with the workspace's own `[assets]` rules."""

from __future__ import annotations

from collections.abc import Callable

from aipl.assets.build import build
from aipl.assets.results import AssetBuild
from aipl.assets.rules import AssetRules
from aipl.warehouse import Warehouse


def rebuild(wh: Warehouse, report: Callable[[str], None] | None = None) -> AssetBuild:
    """Rebuild the AIPL / DEEPLINK condition intervals from all events with the workspace's `[assets]` rules
    (`ensure_built` does it incrementally and by itself when data is loaded); the intervals per scope.

    >>> from aipl.simulate import sample_warehouse
    >>> rebuild(sample_warehouse())  # doctest: +ELLIPSIS
    AssetBuild(full build: brand ..., category ... intervals)
    """
    return build(wh, AssetRules.of(wh.config), report)
