"""The canonical schema: named once, consistent, and documented from the code."""

from __future__ import annotations

from aipl import schema
from tests.conftest import ROOT


def test_keys_and_one_of_name_real_columns():
    for table in (*schema.TABLES.values(), *schema.SYSTEM_TABLES.values()):
        names = table.names
        assert len(names) == len(set(names)), table.name
        assert set(table.key) <= set(names), table.name
        assert set(table.one_of) <= set(names), table.name


def test_event_taxonomy_is_domain_md_2_5():
    # DOMAIN.md §2.5, in its order
    assert schema.EVENT_TYPES == (
        "exposure", "ad_click", "search_category_word", "search_brand_word", "pdp_view", "store_home_view",
        "live_view", "video_view", "follow", "member_join", "favorite", "add_to_cart", "trial_claim",
        "coupon_claim", "interaction", "purchase", "review_positive", "share",
    )
    assert list(schema.PHASES.values()) == ["日销", "蓄水期", "预售期", "预热期", "爆发期", "返场"]


def test_docs_schema_md_is_generated_from_the_code():
    assert (ROOT / "docs" / "schema.md").read_text(encoding="utf-8") == schema.markdown()
