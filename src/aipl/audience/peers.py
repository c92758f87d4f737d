"""What a tenant may ask of the crowd data: a brand-keyed tag or count only of its own brands; a category-level one
(count(category=…), category_share, top_category) only over a category holding none or at least [privacy]
min_peer_brands brands it is not granted; a platform-wide one (a count with neither brand nor category, the
tags computed over every brand's events) only when the workspace holds that many. Otherwise `category buyers
minus own-brand buyers` would count one competitor's buyers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from aipl.assets import category_brands
from aipl.audience.tags import CATALOGUE
from aipl.privacy import PrivacyError, foreign, peer_shortfall
from aipl.warehouse import Warehouse

PLATFORM_TAGS = frozenset({"active_days_30d", "recency_days", "purchases_365d", "spend_level_365d",
                           "cheap_share_180d", "aup_growth"})  # computed over the events of every brand
CATEGORY_VALUE_TAGS = frozenset({"top_category"})  # a tag whose value is a category
ALL = "*"  # the scope of a platform-wide term


@dataclass(frozen=True)
class Sight:
    """What a `viewer` (a tenant's brands; None: the owner, who sees all) may see: its brands, and why a
    category's (or, under ALL, the platform's) figures are withheld.

    >>> s = Sight(frozenset({"B01"}), {"skincare": "category-level crowd data needs ≥ 5 other brands; ..."})
    >>> s.reason("category", "skincare")[:19], s.reason("category", "makeup"), s.reason("brand", "B02")
    ('category-level crow', None, "brand 'B02' is not granted")
    """

    viewer: frozenset[str] | None
    withheld: dict[str, str]

    def reason(self, scope: str, key: str | None) -> str | None:
        """Why a term of `scope` (brand, category or all) with `key` is refused to the viewer, or None."""
        if self.viewer is None:
            return None
        if scope == "brand":
            return None if key in self.viewer else f"brand {key!r} is not granted"
        return self.withheld.get(ALL if scope == "all" else str(key))


def sight(wh: Warehouse, viewer: Iterable[str] | None) -> Sight:
    """The viewer's sight of the crowd data in the workspace `wh`.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()  # four brands, each alone in its category
    >>> sight(wh, None).withheld, sorted(sight(wh, {"B01"}).withheld)
    ({}, ['*', 'makeup', 'menswear', 'womenswear'])
    >>> sight(wh, {"B01"}).withheld["makeup"]
    "category-level crowd data needs ≥ 5 other brands; category 'makeup' has 1"
    """
    if viewer is None:
        return Sight(None, {})
    viewer = frozenset(viewer)
    minimum = wh.config.min_peer_brands
    bc = category_brands(wh)  # a brand selling in several categories is a peer in each
    withheld = {str(cat): peer_shortfall(minimum, "category-level crowd data", f"category {cat!r}",
                                         len(foreign(g.brand_id, viewer)))
                for cat, g in bc.groupby("category_id")}
    withheld[ALL] = peer_shortfall(minimum, "platform-wide crowd data", "this workspace",
                                   len(foreign(bc.brand_id, viewer)))
    return Sight(viewer, {k: v for k, v in withheld.items() if v})


def _terms(tree) -> Iterable[tuple[str, str | None]]:
    """(scope, key) of every term of a crowd tree that reads brand data: brand, category or all."""
    if isinstance(tree, list):
        for v in tree:
            yield from _terms(v)
    elif isinstance(tree, dict):
        if "count" in tree:
            c = tree["count"]
            if c.get("brand") is not None:
                yield "brand", str(c["brand"])
            elif c.get("category") is not None:
                yield "category", str(c["category"])
            else:
                yield "all", None
        elif "tag" in tree:
            yield from _tag_terms(tree)
        else:
            for k, v in tree.items():
                if k not in ("crowd", "list"):  # a saved crowd was checked when it was saved
                    yield from _terms(v)


def _tag_terms(node: dict) -> Iterable[tuple[str, str | None]]:
    spec = CATALOGUE.get(node["tag"])
    if spec is not None and spec.key in ("brand", "category") and node.get("key") is not None:
        yield spec.key, str(node["key"])
    if node["tag"] in PLATFORM_TAGS:
        yield "all", None
    if node["tag"] in CATEGORY_VALUE_TAGS:
        values = node.get("value")
        yield "all", None
        for v in values if isinstance(values, list) else [values]:
            yield "category", str(v)


def check_crowd(wh: Warehouse, tree: dict, viewer: Iterable[str] | None, seen: Sight | None = None) -> None:
    """PrivacyError when the crowd `tree` reads data the `viewer` may not see (see the module doc); nothing for
    the owner (`viewer` None).

    >>> from aipl.audience import crowd_tree
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> check_crowd(wh, crowd_tree('aipl(brand="B01") = "P" and age < 30'), {"B01"})
    >>> check_crowd(wh, crowd_tree('count(event="purchase", days=30) >= 1'), {"B01"})
    Traceback (most recent call last):
    ...
    aipl.privacy.PrivacyError: platform-wide crowd data needs ≥ 5 other brands; this workspace has 3
    """
    seen = seen or sight(wh, viewer)
    for scope, key in _terms(tree):
        reason = seen.reason(scope, key)
        if reason:
            raise PrivacyError(reason)


def visible_profile(profile: pd.DataFrame, seen: Sight) -> pd.DataFrame:
    """The rows of an insight profile (or any frame with tag and key columns) the viewer may see.

    >>> p = pd.DataFrame({"tag": ["aipl", "aipl", "gender", "purchases_365d", "top_category", "top_category"],
    ...                   "key": ["B01", "B07", None, None, None, None], "value": ["P", "P", "F", 3, "drinks", "toys"]})
    >>> visible_profile(p, Sight(frozenset({"B01"}), {"drinks": "too few"})).value.tolist()
    ['P', 'F', 3, 'toys']
    """
    if seen.viewer is None:
        return profile
    values = profile.value if "value" in profile else pd.Series([[]] * len(profile), index=profile.index)
    keep = [not any(seen.reason(s, k) for s, k in _tag_terms({"tag": t, "key": None if pd.isna(key) else key,
                                                               "value": v}))
            for t, key, v in zip(profile.tag, profile.key, values, strict=True)]
    return profile[keep].reset_index(drop=True)


def visible_features(x: pd.DataFrame, seen: Sight) -> pd.DataFrame:
    """The columns of a lookalike feature table (see `features`: tag, tag[key], tag=value, tag[key]=value) the
    viewer may see.

    >>> x = pd.DataFrame(columns=["age", "aipl[B01]=P", "aipl[B07]=P", "purchases_365d"])
    >>> visible_features(x, Sight(frozenset({"B01"}), {"*": "too few"})).columns.tolist()
    ['age', 'aipl[B01]=P']
    """
    if seen.viewer is None:
        return x
    names = pd.Series(x.columns.astype(str)).str.extract(r"^(?P<tag>[^\[=]+)(?:\[(?P<key>[^\]]*)\])?")
    keep = visible_profile(names.assign(col=x.columns), seen).col
    return x[list(keep)]


__all__ = ["PLATFORM_TAGS", "Sight", "check_crowd", "sight", "visible_features", "visible_profile"]
