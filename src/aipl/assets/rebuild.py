"""A full rebuild of the consumer assets with the workspace's own `[assets]` rules."""

from __future__ import annotations

from collections.abc import Callable

from aipl.assets.build import build
from aipl.warehouse import Warehouse


def rebuild(wh: Warehouse, report: Callable[[str], None] | None = None) -> dict[str, int]:
    """Rebuild the AIPL / DEEPLINK condition intervals from all events with the workspace's `[assets]` rules
    (done incrementally and automatically by `ensure_built` when data is loaded); the intervals per scope.

    >>> rebuild(open_warehouse("demo"))  # doctest: +SKIP
    {'brand': 120931, 'category': 88410}
    """
    return build(wh, wh.config.assets, report)
