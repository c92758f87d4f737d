"""AIPL / DEEPLINK states from the interval engine equal a naive day-by-day reading of the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aipl import schema
from aipl.assets import DEEPLINK_STATES, AssetRules, build, consumer_states, flow, snapshot, states
from aipl.config import init_workspace
from aipl.warehouse import ibis_schema, open_warehouse
from tests.assets.reference import state_on

SH = ZoneInfo("Asia/Shanghai")
D0 = date(2026, 1, 1)
RULES = AssetRules()


def at(day: int, hour: int = 12) -> datetime:
    """Day `day` after 2026-01-01 at `hour`:00 China time."""
    return datetime.combine(D0 + timedelta(days=day), datetime.min.time(), SH) + timedelta(hours=hour)


def load(wh, rows: list[dict]) -> None:
    cols = {c: [r.get(c) for r in rows] for c in schema.EVENTS.names}
    cols["brand_id"] = [r.get("brand_id", "B") for r in rows]
    cols["category_id"] = [r.get("category_id", "cat") for r in rows]
    wh.con.insert("events", ibis.memtable(cols).cast(ibis_schema(schema.EVENTS)))


def state(wh, consumer: str, day: int, scope: str = "brand", key: str | None = None):
    s = states(wh, scope, D0 + timedelta(days=day)).execute()
    s = s[s.consumer_id == consumer]
    if key is not None:
        s = s[s.key == key]
    return (None, None) if s.empty else (s.aipl.iloc[0], s.deeplink.iloc[0])


def ev(c: str, t: str, day: int, **kw) -> dict:
    return {"consumer_id": c, "event_type": t, "ts": kw.pop("ts", at(day)), **kw}


def test_hand_checked_rules(fresh):
    load(fresh, [
        ev("a", "exposure", 0),                                           # A for 15 days: day 0..14
        ev("b", "pdp_view", 0), ev("b", "pdp_view", 14),                  # 2 browse days in window → I on 14
        ev("c", "pdp_view", 0), ev("c", "pdp_view", 15),                  # 15 days apart → only A
        ev("d", "purchase", 0, amount=10.0), ev("d", "add_to_cart", 1),   # P wins over I (precedence)
        ev("e", "purchase", 0, amount=5.0), ev("e", "purchase", 364, amount=5.0),  # 2 purchase days in 365 → L
        ev("f", "purchase", 0, amount=5.0), ev("f", "purchase", 365, amount=5.0),  # 366 days apart → P
        ev("g", "purchase", 0, amount=5.0), ev("g", "review_positive", 3),          # purchase + review → L
        ev("h", "favorite", 0), ev("h", "follow", 2),                      # I: perform beats enthuse
        ev("i", "follow", 0),                                              # I: enthuse
        ev("j", "ad_click", 0),                                            # I: engage
    ])
    build(fresh, RULES)
    assert state(fresh, "a", 14) == ("A", "discover") and state(fresh, "a", 15) == (None, None)
    assert state(fresh, "b", 13) == ("A", "discover") and state(fresh, "b", 14) == ("I", "engage")
    assert state(fresh, "b", 28) == ("A", "discover")  # window of 14 no longer holds day 0
    assert state(fresh, "c", 15) == ("A", "discover")
    assert state(fresh, "d", 1) == ("P", "initial") and state(fresh, "d", 912) == ("P", "initial")
    assert state(fresh, "d", 913) == (None, None)
    assert state(fresh, "e", 364) == ("L", "numerous") and state(fresh, "e", 365) == ("P", "initial")
    assert state(fresh, "f", 365) == ("P", "initial")
    assert state(fresh, "g", 3) == ("L", "keen") and state(fresh, "g", 2) == ("P", "initial")
    assert state(fresh, "g", 364) == ("L", "keen") and state(fresh, "g", 365) == ("P", "initial")
    assert state(fresh, "h", 2) == ("I", "perform")
    assert state(fresh, "i", 5) == ("I", "enthuse")
    assert state(fresh, "j", 5) == ("I", "engage")


def test_the_days_touch_is_its_highest_ranked_latest_event(fresh):
    """Each (brand, consumer, day)'s touch is its highest-ranked event, the latest of those, then the greatest
    touch text among events of the same second, against pandas over the same events (many same-second ties)."""
    import random

    from aipl.assets import daily_facts

    rng = random.Random(7)
    kinds = ["exposure", "pdp_view", "ad_click", "favorite", "purchase", "share", "interaction", "search_brand_word"]
    rows = [dict(consumer_id=f"c{rng.randrange(6)}", brand_id=rng.choice("PQ"), event_type=rng.choice(kinds),
                 channel=rng.choice([None, "search", "display", "live"]),
                 touchpoint=rng.choice([None, "feed", "banner", "搜索结果"]),
                 ts=at(rng.randrange(3), 8) + timedelta(seconds=rng.randrange(4))) for _ in range(600)]
    load(fresh, rows)
    got = daily_facts(fresh, RULES, "brand").execute()
    got = {(r.key, r.consumer_id, r.day): r.touch for r in got.itertuples()}

    def rank(et: str) -> int:
        return next((n for n, cls in ((4, RULES.purchase + RULES.advocacy), (3, RULES.active), (2, RULES.browse),
                                      (1, RULES.passive)) if et in cls), 0)

    want: dict = {}
    for r in rows:
        touch = f"{r['event_type']}|{r['channel'] or ''}|{r['touchpoint'] or ''}"
        k = (r["brand_id"], r["consumer_id"], r["ts"].astimezone(SH).date())
        want[k] = max(want.get(k, (-1, r["ts"], "")), (rank(r["event_type"]), r["ts"], touch))
    assert {k: v[2] for k, v in want.items()} == {(k, c, d.date() if hasattr(d, "date") else d): t
                                                  for (k, c, d), t in got.items()}
    assert len(want) == 36  # 2 brands x 6 consumers x 3 days


def test_a_day_before_1970_of_an_unranked_event_keeps_its_facts(fresh):
    """An event type in no class ranks 0; before 1970 its touch score is negative, and its day is still kept."""
    from aipl.assets import daily_facts

    old = datetime(1965, 5, 1, 12, tzinfo=SH)
    load(fresh, [dict(consumer_id="u", event_type="video_view", ts=old),
                 dict(consumer_id="v", event_type="video_view", ts=old),
                 dict(consumer_id="v", event_type="exposure", ts=old + timedelta(seconds=1))])
    rules = AssetRules(passive=("exposure",))
    for events in (None, fresh.table("events")):
        got = daily_facts(fresh, rules, "brand", events).execute().set_index("consumer_id")
        assert got.touch.to_dict() == {"u": "video_view||", "v": "exposure||"}
        assert got.passive.to_dict() == {"u": False, "v": True}


def test_brand_only_touchpoints_never_count_for_category(fresh):
    load(fresh, [
        ev("k", "exposure", 0, channel="display"),
        ev("k", "ad_click", 1, channel="search"),
        ev("m", "pdp_view", 0, channel="display"), ev("m", "pdp_view", 1),
        ev("n", "favorite", 0),
    ])
    build(fresh, RULES)
    assert state(fresh, "k", 1, "brand") == ("I", "engage")
    assert state(fresh, "k", 1, "category") == (None, None)
    assert state(fresh, "m", 1, "brand") == ("I", "engage")
    assert state(fresh, "m", 1, "category") == ("A", "discover")  # the paid-channel view does not count
    assert state(fresh, "n", 0, "category") == ("I", "perform")


def test_days_are_cut_in_the_workspace_time_zone(fresh):
    late = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)   # 23:30 on 1 January in Shanghai
    early = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 January in Shanghai
    load(fresh, [ev("p", "exposure", 0, ts=late), ev("q", "exposure", 0, ts=early)])
    build(fresh, RULES)
    assert state(fresh, "p", 14) == ("A", "discover") and state(fresh, "p", 15) == (None, None)
    assert state(fresh, "q", 0) == (None, None) and state(fresh, "q", 15) == ("A", "discover")


def test_snapshot_flow_and_since(fresh):
    load(fresh, [
        ev("r", "exposure", 0, channel="display", touchpoint="feed"),
        ev("r", "add_to_cart", 5, channel="search"),
        ev("r", "purchase", 10, amount=20.0),
        ev("s", "exposure", 0), ev("t", "exposure", 20),
    ])
    build(fresh, RULES)
    snap = snapshot(fresh, "brand", "B", D0 + timedelta(days=6))
    assert snap["counts"] == {"A": 1, "I": 1, "P": 0, "L": 0}
    assert snap["deeplink"]["perform"] == 1 and snap["deeplink"]["discover"] == 1
    f = flow(fresh, "brand", "B", D0 + timedelta(days=6), D0 + timedelta(days=20))
    assert f["matrix"]["I"]["P"] == 1 and f["matrix"]["A"]["none"] == 1 and f["matrix"]["none"]["A"] == 1
    assert f["kinds"] == {"new": 1, "deepened": 1, "regressed": 0, "churned": 1, "stayed": 0}
    assert f["rates"]["I"]["P"] == 1.0
    cs = consumer_states(fresh, "brand", D0 + timedelta(days=6), "B").set_index("consumer_id")
    assert cs.loc["r", "aipl"] == "I" and str(cs.loc["r", "state_since"])[:10] == "2026-01-06"
    assert cs.loc["r", "via_event"] == "add_to_cart" and cs.loc["r", "via_channel"] == "search"


EVENT_TYPES = ["exposure", "pdp_view", "store_home_view", "ad_click", "favorite", "add_to_cart", "follow",
               "member_join", "interaction", "purchase", "review_positive", "share", "video_view"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(["B1", "B2"]), st.sampled_from(EVENT_TYPES),
              st.integers(0, 420), st.sampled_from([None, "display", "organic"])),
    min_size=1, max_size=40,
))
def test_engine_equals_the_day_by_day_reference(tmp_path_factory, rows):
    wh = open_warehouse(init_workspace(tmp_path_factory.mktemp("prop")))
    try:
        load(wh, [ev(c, t, d, brand_id=b, category_id="cat" + b[-1], channel=ch,
                     amount=1.0 if t == "purchase" else None) for c, b, t, d, ch in rows])
        build(wh, RULES)
        check_days = sorted({d for *_, d, _ in rows} | {d + k for *_, d, _ in rows for k in (1, 14, 15, 364, 365)})
        for day in check_days[:25]:
            on = D0 + timedelta(days=day)
            got = {(r.key, r.consumer_id): (r.aipl, r.deeplink) for r in states(wh, "brand", on).execute().itertuples()}
            cat = {(r.key, r.consumer_id): (r.aipl, r.deeplink)
                   for r in states(wh, "category", on).execute().itertuples()}
            for c in ("u1", "u2", "u3"):
                for b in ("B1", "B2"):
                    evs = [(D0 + timedelta(days=d), t) for cc, bb, t, d, _ in rows if cc == c and bb == b]
                    want = state_on(evs, on, RULES)
                    assert got.get((b, c), (None, None)) == want, (c, b, on, evs)
                    if want[0]:  # DEEPLINK rolls up to AIPL
                        assert DEEPLINK_STATES[want[1]] == want[0]
                    # category scope: brand-only event types and paid-channel touchpoints do not count; a
                    # purchase (and a review or share) counts whatever its channel
                    cat_evs = [(D0 + timedelta(days=d), t) for cc, bb, t, d, ch in rows
                               if cc == c and bb == b and t not in RULES.brand_only_event_types
                               and (ch not in RULES.brand_only_channels or t in (*RULES.purchase, *RULES.advocacy))]
                    assert cat.get(("cat" + b[-1], c), (None, None)) == state_on(cat_evs, on, RULES), (c, b, on)
    finally:
        wh.close()
