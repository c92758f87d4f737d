"""Adding a new day incrementally gives exactly the intervals, and the daily state counts, a full rebuild
gives; the counts equal the consumers' states counted one by one."""

from __future__ import annotations

import json
import random
import re

import ibis

from aipl import schema
from aipl.assets import AssetBuild, AssetRules, AssetUpdate, build, ensure_built, update
from aipl.warehouse import ibis_schema
from tests.assets.test_states import RULES, at, ev, load

TYPES = ["exposure", "pdp_view", "ad_click", "favorite", "purchase", "review_positive", "follow"]


def batch(wh, n: int, target: str = "events") -> None:
    wh.con.insert("batches", ibis.memtable({
        "batch_id": [f"b{n}"], "format": ["events"], "source": [f"day{n}"], "target": [target], "read": [1],
        "accepted": [1], "rejected": [0], "loaded_at": [at(n)],
    }).cast(ibis_schema(schema.BATCHES)))


def rows(day: int, rng: random.Random, k: int = 60) -> list[dict]:
    return [ev(f"u{rng.randrange(25)}", rng.choice(TYPES), day, brand_id=rng.choice(["B1", "B2"]),
               category_id=rng.choice(["c1", "c2"]), channel=rng.choice([None, "display"]),
               amount=1.0 if rng.random() < 0.5 else None) for _ in range(k)]


def counts(wh, days) -> dict:
    """Per scope and day: (key, aipl, deeplink) -> n from the count changes, and the same from states()."""
    from aipl.assets.query import state_counts, states

    out = {}
    for scope in ("brand", "category"):
        for d in days:
            fast = state_counts(wh, scope, d).execute()
            slow = states(wh, scope, d).group_by(["key", "aipl", "deeplink"]).aggregate(n=lambda t: t.count()).execute()
            as_dict = [{(r.key, r.aipl, r.deeplink): int(r.n) for r in df.itertuples()} for df in (fast, slow)]
            assert as_dict[0] == as_dict[1], (scope, d)
            out[scope, d] = as_dict[0]
    return out


def intervals(wh):
    from aipl.assets import intervals as all_intervals

    t = all_intervals(wh).execute()[["scope", "key", "consumer_id", "cond", "start", "end", "touch"]]
    return sorted(map(tuple, t.astype(str).values.tolist()))


def test_new_day_incremental_equals_full_rebuild(fresh):
    rng = random.Random(4)
    for day in range(0, 40, 3):
        load(fresh, rows(day, rng))
    batch(fresh, 1)
    build(fresh, RULES)
    for day in (41, 42):  # two new days, one batch each
        load(fresh, rows(day, rng))
        batch(fresh, day)
        assert ensure_built(fresh)
        meta = fresh.table("asset_meta").execute()
        assert meta.built_through.iloc[0] == f"2026-02-{day - 30:02d}"
    incremental = intervals(fresh)
    check_days = [f"2026-01-{d:02d}" for d in (1, 9, 20, 31)] + [f"2026-02-{d:02d}" for d in (5, 11, 12, 20)]
    counts_incremental = counts(fresh, check_days)
    assert any(counts_incremental.values())
    build(fresh, RULES)
    assert incremental == intervals(fresh)
    assert counts_incremental == counts(fresh, check_days)
    assert not ensure_built(fresh)  # up to date: nothing to do


def test_late_data_falls_back_to_a_full_rebuild(fresh):
    rng = random.Random(5)
    load(fresh, rows(10, rng))
    batch(fresh, 1)
    build(fresh, RULES)
    load(fresh, rows(3, rng) + rows(12, rng))  # day 3 is already built
    batch(fresh, 2)
    reports = []
    ensure_built(fresh, report=reports.append)
    assert any("full rebuild" in r for r in reports)
    got = intervals(fresh)
    build(fresh, RULES)
    assert got == intervals(fresh)


def test_another_hash_function_falls_back_to_a_full_rebuild(fresh):
    """The live store is keyed by the backend's hash: when it hashes differently (another DuckDB version) than
    when the store was built, the update rebuilds instead of looking up keys that no longer match."""
    rng = random.Random(6)
    load(fresh, rows(10, rng))
    batch(fresh, 1)
    build(fresh, RULES)
    fresh.raw.execute("UPDATE asset_meta SET hash_probe = hash_probe + 1")
    load(fresh, rows(12, rng))
    batch(fresh, 2)
    reports: list[str] = []
    ensure_built(fresh, report=reports.append)
    assert "full rebuild: the live store was keyed by another hash function" in reports
    got = intervals(fresh)
    build(fresh, RULES)
    assert got == intervals(fresh)


def test_update_of_a_store_from_an_earlier_version_rebuilds(fresh):
    """A warehouse built before the live store (no asset_live, no hash probe): update() rebuilds it."""
    from aipl.assets import update

    rng = random.Random(7)
    load(fresh, rows(10, rng))
    batch(fresh, 1)
    build(fresh, RULES)
    fresh.raw.execute("ALTER TABLE asset_meta DROP COLUMN hash_probe")
    fresh.raw.execute("DROP TABLE asset_live")
    load(fresh, rows(12, rng))
    batch(fresh, 2)
    reports: list[str] = []
    update(fresh, RULES, report=reports.append)
    assert "full rebuild: no live store (built by an earlier version)" in reports
    got = intervals(fresh)
    build(fresh, RULES)
    assert got == intervals(fresh)


def test_day_by_day_with_short_windows_equals_full_rebuild(tmp_path):
    """Windows shorter than the history (I 4 d, P 20 d, L 12 d) so that the look-back cuts the history and
    states lapse between loads; ten new days added one at a time, then compared with a rebuild."""
    from aipl.config import init_workspace
    from aipl.warehouse import open_warehouse

    root = init_workspace(tmp_path / "ws")
    toml = root / "aipl.toml"
    text = toml.read_text()
    for name, days in (("awareness_days", 3), ("interest_days", 4), ("purchase_days", 20), ("loyal_days", 12)):
        text = re.sub(rf"^{name} = \d+", f"{name} = {days}", text, count=1, flags=re.M)
    toml.write_text(text)
    wh = open_warehouse(root)
    try:
        rules = AssetRules.of(wh.config)
        assert rules.loyal_days == 12
        rng = random.Random(11)
        for day in range(0, 30, 2):
            load(wh, rows(day, rng, 40))
        batch(wh, 1)
        build(wh, rules)
        reports: list[str] = []
        for day in range(30, 40):
            if day != 33:  # a day without events
                load(wh, rows(day, rng, 40))
            batch(wh, day)
            ensure_built(wh, report=reports.append)
        loads = [r for r in reports if not r.startswith("day ")]  # a load spanning two days reports each day
        assert len(loads) == 10 and all(r.startswith("incremental") for r in loads)
        check_days = [f"2026-01-{d:02d}" for d in (5, 25, 31)] + [f"2026-02-{d:02d}" for d in (1, 3, 9, 14, 28)]
        incremental, counts_incremental = intervals(wh), counts(wh, check_days)
        build(wh, rules)
        assert incremental == intervals(wh)
        assert counts_incremental == counts(wh, check_days)
    finally:
        wh.close()


def test_several_new_days_in_one_batch_equal_full_rebuild(fresh):
    """One batch bringing a week (with a gap) at once: the intervals opening on different new days are merged
    among themselves and with the stored ones."""
    rng = random.Random(21)
    for day in range(0, 30, 2):
        load(fresh, rows(day, rng))
    batch(fresh, 1)
    build(fresh, RULES)
    load(fresh, [r for day in (31, 32, 34, 37) for r in rows(day, rng)])
    batch(fresh, 2)
    reports: list[str] = []
    assert ensure_built(fresh, report=reports.append)
    assert reports and reports[0].startswith("incremental")
    check_days = [f"2026-01-{d:02d}" for d in (20, 31)] + [f"2026-02-{d:02d}" for d in (1, 3, 6, 10, 25)]
    incremental, counts_incremental = intervals(fresh), counts(fresh, check_days)
    build(fresh, RULES)
    assert incremental == intervals(fresh)
    assert counts_incremental == counts(fresh, check_days)


def test_build_and_update_say_what_they_did(fresh):
    """Typed results: intervals per scope after a full build, pairs touched and new events after an update."""
    rng = random.Random(7)
    load(fresh, rows(10, rng))
    batch(fresh, 1)
    built = build(fresh, RULES)
    assert isinstance(built, AssetBuild) and set(built) == {"brand", "category"}
    assert repr(built) == f"AssetBuild(full build: brand {built.brand:,}, category {built.category:,} intervals)"
    load(fresh, rows(12, rng, k=5))
    batch(fresh, 2)
    done = update(fresh, RULES)
    assert isinstance(done, AssetUpdate) and done.new_events == 5 and 0 < done.touched <= 10
    assert repr(done) == f"AssetUpdate(incremental: 5 new events, {done.touched} pairs touched)"
    assert json.loads(json.dumps(built.to_dict())) == dict(built) and json.loads(json.dumps(done.to_dict())) == done


def test_first_load_after_a_build_on_an_empty_warehouse_builds(fresh):
    build(fresh, RULES)  # nothing loaded yet: built through no day
    load(fresh, rows(10, random.Random(7)))
    batch(fresh, 1)
    reports = []
    ensure_built(fresh, report=reports.append)
    assert any("nothing built yet" in r for r in reports)
    got = intervals(fresh)
    build(fresh, RULES)
    assert got == intervals(fresh) != []
