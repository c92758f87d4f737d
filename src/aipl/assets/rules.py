"""The AIPL and DEEPLINK rules (DOMAIN.md §2.5 and §3 "[P]" defaults), read from `aipl.toml` [assets]."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

import ibis
import ibis.expr.types as ir

AIPL_STATES = ("A", "I", "P", "L")
# DEEPLINK's seven stages with their AIPL parent, lowest first (DOMAIN.md §3).
DEEPLINK_STATES = {
    "discover": "A", "engage": "I", "enthuse": "I", "perform": "I", "initial": "P", "numerous": "L", "keen": "L",
}
DEEPLINK_LABELS = {
    "discover": "发现 Discover", "engage": "种草 Engage", "enthuse": "热爱 Enthuse", "perform": "行动 Perform",
    "initial": "首购 Initial", "numerous": "复购 Numerous", "keen": "忠诚 Keen",
}
# the condition codes of the intervals (cond): the AIPL stages and the DEEPLINK refinements
CONDITIONS = ("A", "I", "enthuse", "perform", "P", "L", "keen")
NEVER = date(9999, 12, 31)  # the end of a condition that does not expire (membership)
AIPL_LABELS = {"A": "认知 Awareness", "I": "兴趣 Interest", "P": "购买 Purchase", "L": "忠诚 Loyalty"}


@dataclass(frozen=True)
class AssetRules:
    """Windows in whole days of the workspace time zone (inclusive of the day: 15 days = d-14..d) and event classes."""

    awareness_days: int = 15
    interest_days: int = 15
    purchase_days: int = 913
    loyal_days: int = 365
    loyal_min_purchase_days: int = 2
    browse_min_days: int = 2
    passive: tuple[str, ...] = ("exposure", "search_category_word", "live_view", "video_view")
    browse: tuple[str, ...] = ("pdp_view", "store_home_view")
    active: tuple[str, ...] = (
        "ad_click", "search_brand_word", "follow", "member_join", "favorite", "add_to_cart", "trial_claim",
        "coupon_claim", "interaction",
    )
    purchase: tuple[str, ...] = ("purchase",)
    advocacy: tuple[str, ...] = ("review_positive", "share")
    # DEEPLINK refinements of I and L
    intent: tuple[str, ...] = ("add_to_cart", "favorite", "coupon_claim", "trial_claim")  # → 行动 Perform
    deep: tuple[str, ...] = ("follow", "member_join")  # → 热爱 Enthuse
    enthuse_min_interactions: int = 3
    enthuse_min_active_days: int = 2
    keen_min_purchase_days: int = 3
    # Touchpoints that count toward brand AIPL only, never toward category AIPL (DOMAIN.md §2.2).
    brand_only_event_types: tuple[str, ...] = ("exposure", "ad_click", "live_view", "follow", "member_join")
    brand_only_channels: tuple[str, ...] = ("search", "display", "affiliate", "live", "content", "crm")
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, section: dict | None) -> AssetRules:
        """Rules from an `[assets]` table; unknown keys are an error naming the key."""
        section = dict(section or {})
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ValueError(f"[assets]: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
        rules = cls(**kw)
        for name in ("awareness_days", "interest_days", "purchase_days", "loyal_days"):
            if getattr(rules, name) < 1:
                raise ValueError(f"[assets] {name} must be at least 1 day")
        return rules


def held(has: dict[str, ir.BooleanValue]) -> tuple[ir.StringValue, ir.StringValue]:
    """The AIPL and DEEPLINK state from which conditions hold (highest first; null when none does)."""
    aipl = ibis.cases((has["L"], "L"), (has["P"], "P"), (has["I"], "I"), (has["A"], "A"), else_=ibis.null("string"))
    deeplink = ibis.cases(
        (has["L"] & has["keen"], "keen"), (has["L"], "numerous"), (has["P"], "initial"),
        (has["I"] & has["perform"], "perform"), (has["I"] & has["enthuse"], "enthuse"), (has["I"], "engage"),
        (has["A"], "discover"), else_=ibis.null("string"),
    )
    return aipl, deeplink
