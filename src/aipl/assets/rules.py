"""The AIPL and DEEPLINK rules (DOMAIN.md §2.5 and §3 "[P]" defaults), read from `aipl.toml` [assets]."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

import ibis
import ibis.expr.types as ir

from aipl.config import CONFIG_FILE, Config, ConfigError, check_section, register_section

# the condition codes of the intervals (cond): the AIPL stages and the DEEPLINK refinements
CONDITIONS = ("A", "I", "enthuse", "perform", "P", "L", "keen")
NEVER = date(9999, 12, 31)  # the end of a condition that does not expire (membership)


@dataclass(frozen=True)
class AssetRules:
    """Windows in whole days of the workspace time zone (inclusive of the day: 15 days = d-14..d) and event classes.

    >>> r = AssetRules()
    >>> r.awareness_days, r.loyal_days, r.purchase
    (15, 365, ('purchase',))
    """

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
    # 亿元俱乐部: a brand whose GMV over one campaign reaches this line (in the amounts' currency: 1亿 yuan). A
    # simulated market is far smaller than a platform: its reports use the line times `simulated_gmv_scale`.
    # Reporting only: left out of the repr, which is what the asset tables' build fingerprint reads, so changing
    # them never makes the assets stale.
    gmv_club_line: float = field(default=100_000_000.0, repr=False)
    simulated_gmv_scale: float = field(default=0.0001, repr=False)
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_config(cls, section: dict | None) -> AssetRules:
        """Rules from an `[assets]` table; unknown keys are an error naming the key.

        >>> AssetRules.from_config({"loyal_days": 180, "purchase": ["purchase"]}).loyal_days
        180
        >>> AssetRules.from_config({"loyal_dayz": 180})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: [assets]: unknown key(s) loyal_dayz; known: awareness_days, ...
        """
        section = dict(section or {})
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ValueError(f"[assets]: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
        rules = check_section("assets", cls, kw)  # the declared types, as written: a ValueError naming the key
        for name in (f.name for f in fields(cls) if f.type == "int"):  # windows and thresholds, in days or counts
            if not 1 <= getattr(rules, name) <= 36_500:
                unit = " day" if name.endswith("_days") else ""
                raise ValueError(f"[assets] {name} must be at least 1{unit} and at most 36500")
        return rules

    @classmethod
    def of(cls, config: Config) -> AssetRules:
        """The rules of a workspace's `[assets]` section (a ConfigError naming the file when invalid).

        >>> from pathlib import Path
        >>> from aipl.config import Config
        >>> AssetRules.of(Config(root=Path("."), raw={"assets": {"purchase_days": 365}})).purchase_days
        365
        """
        try:
            return cls.from_config(config.raw.get("assets"))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{config.root / CONFIG_FILE}: {exc}") from exc


def held(has: dict[str, ir.BooleanValue]) -> tuple[ir.StringValue, ir.StringValue]:
    """The AIPL and DEEPLINK state from which conditions hold (highest first; null when none does)."""
    aipl = ibis.cases((has["L"], "L"), (has["P"], "P"), (has["I"], "I"), (has["A"], "A"), else_=ibis.null("string"))
    deeplink = ibis.cases(
        (has["L"] & has["keen"], "keen"), (has["L"], "numerous"), (has["P"], "initial"),
        (has["I"] & has["perform"], "perform"), (has["I"] & has["enthuse"], "enthuse"), (has["I"], "engage"),
        (has["A"], "discover"), else_=ibis.null("string"),
    )
    return aipl, deeplink


register_section("assets", AssetRules.from_config)
