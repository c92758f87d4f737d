"""The incremental crowd refresh: nothing new costs no tag work, and a refresh that moves the day or adds a batch
leaves exactly the tags and bitmaps of a rebuild from scratch."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

import aipl.audience.index as index_module
from aipl.audience import TagIndex, refresh
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.simulate import MarketSpec, load_market, simulate_market
from aipl.warehouse import open_warehouse


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("refresh") / "ws"
    simulate_market(MarketSpec(consumers=300, days=40, brands=3, seed=11), root.parent / "market")
    with open_warehouse(init_workspace(root)) as wh:
        load_market(wh, root.parent / "market")
        last = wh.last_day()
        refresh(wh, last - timedelta(days=6))  # an earlier day: the tests move it
    return root, last


@pytest.fixture
def wh(market, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(market[0], copy)
    w = open_warehouse(copy)
    yield w
    w.close()


def state(w) -> tuple[dict, list]:
    tags = w.table("consumer_tags").execute().sort_values(["id", "tag", "key", "value"]).fillna(-1)
    return TagIndex.load(w).bitmaps, tags.values.tolist()


def rebuilt(w, day) -> tuple[dict, list]:
    for t in ("consumer_tags", "tag_bitmaps", "tag_meta"):
        w.drop_table(t)
    refresh(w, day)
    return state(w)


def test_moving_the_day_equals_a_rebuild(wh, market):
    day = market[1]
    done = refresh(wh, day)
    assert 0 < done.bitmaps_rewritten
    inc = state(wh)
    assert inc == rebuilt(wh, day)


def test_a_batch_of_events_patches_few_bitmaps_and_equals_a_rebuild(wh, market, tmp_path):
    day = market[1] - timedelta(days=6)
    extra = tmp_path / "extra.csv"
    extra.write_text("consumer_id,brand_id,category_id,event_type,ts,amount\n"  # after every loaded event
                     f"c00000001,B01,skincare,purchase,{market[1] + timedelta(days=1)} 10:00:00,50\n"
                     f"newbie,B02,makeup,favorite,{market[1] + timedelta(days=1)} 11:00:00,\n", encoding="utf-8")
    ingest(wh, extra, "events")
    done = refresh(wh, market[1] + timedelta(days=1))
    assert done.new_ids == 1
    total = wh.count("tag_bitmaps")
    inc = state(wh)
    assert inc == rebuilt(wh, market[1] + timedelta(days=1))
    assert 0 < done.bitmaps_rewritten < total
    assert refresh(wh, day).bitmaps_rewritten > 0  # an earlier day: recomputed whole, still right
    assert state(wh) == rebuilt(wh, day)


def test_nothing_new_does_no_tag_work(wh, market, monkeypatch):
    day = market[1] - timedelta(days=6)

    def forbidden(*args, **kwargs):
        raise AssertionError("tags recomputed with nothing new")

    monkeypatch.setattr(index_module, "tag_rows", forbidden)
    monkeypatch.setattr(index_module, "tag_groups", forbidden)
    done = refresh(wh, day)
    assert (done.new_ids, done.bitmaps_rewritten) == (0, 0)


def test_bitmaps_patched_a_few_rows_at_a_time_equal_one_read(wh, market, monkeypatch):
    """The changes stream in batches (PATCH_BATCH rows); a bitmap's ids split over batches give the same bitmaps."""
    day = market[1]
    monkeypatch.setattr(index_module, "PATCH_BATCH", 97)
    done = refresh(wh, day)
    assert done.changed > 0
    small = state(wh)
    monkeypatch.setattr(index_module, "PATCH_BATCH", 4_000_000)
    assert small == rebuilt(wh, day)
    assert wh.count("consumer_tags") > 97 * 20  # the rebuild read the rows in one batch, the refresh in many


def test_a_from_scratch_refresh_that_fails_midway_is_redone_from_scratch(wh, market, monkeypatch):
    """Without transactions (as on Spark), a from-scratch refresh that fails after writing the tags leaves no
    meta behind, so the next refresh starts from scratch again instead of patching stale bitmaps."""
    import contextlib

    day = market[1]
    wh.replace_rows("consumer_tags", None, keys=[])  # valid meta, no tags: the next refresh is from scratch
    monkeypatch.setattr(wh, "transaction", contextlib.nullcontext)

    def broken(*args, **kwargs):
        raise RuntimeError("the bitmaps failed")

    with monkeypatch.context() as m:
        m.setattr(index_module, "_patched", broken)
        with pytest.raises(RuntimeError):
            refresh(wh, day)
    assert wh.count("consumer_tags") > 0 and wh.count("tag_meta") == 0  # tags written, meta gone
    refresh(wh, day)
    assert state(wh) == rebuilt(wh, day)
