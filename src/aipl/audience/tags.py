"""Consumer tags computed in the warehouse (DOMAIN.md §9): demographics, city tier, purchasing power, the
strategy crowd (§9.4 [P] rules), activity, RFM, category preference and spend share, price sensitivity,
AIPL and DEEPLINK state per brand, and membership. Tags live in one long table, `consumer_tags`
(id, tag, key, value, num), over dense integer consumer ids (`consumer_ids`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from aipl import schema
from aipl.assets import ensure_built, states
from aipl.config import parse_day
from aipl.vocab import AIPL_LABELS, DEEPLINK_LABELS
from aipl.warehouse import Warehouse

IDS_TABLE = schema.CONSUMER_IDS.name
TAGS_TABLE = schema.CONSUMER_TAGS.name


@dataclass(frozen=True)
class Tag:
    """A tag of the catalogue: `number` tags hold small integers (ranges work), `category` tags labels;
    `key` names what a keyed tag is per (brand or category); the description in English and in Chinese.

    >>> CATALOGUE["aipl"].kind, CATALOGUE["aipl"].key, CATALOGUE["age"].kind, CATALOGUE["age"].zh_description
    ('category', 'brand', 'number', '标签日的年龄（按出生年份）')
    """

    name: str
    zh: str
    en: str
    kind: str
    description: str
    key: str | None = None
    zh_description: str = ""


CATALOGUE = {t.name: t for t in (
    Tag("gender", "性别", "Gender", "category", "F, M or U (profile)", None, "女、男或未知（画像）"),
    Tag("age", "年龄", "Age", "number", "years on the tag day, from the birth year", None,
        "标签日的年龄（按出生年份）"),
    Tag("city_tier", "城市等级", "City tier", "number", "1–6 (profile; DOMAIN.md §9.1)", None, "1–6 线城市（画像）"),
    Tag("purchasing_power", "消费力分级", "Purchasing power", "number", "1–5 (profile)", None, "1–5 级（画像）"),
    Tag("occupation", "预测职业", "Occupation", "category", "profile", None, "画像"),
    Tag("life_stage", "人生阶段", "Life stage", "category", "profile", None, "画像"),
    Tag("strategy_crowd", "策略人群", "Strategy crowd", "category",
        "Tmall's eight FMCG strategy crowds by DOMAIN.md §9.4's [P] rules (first match wins), else other", None,
        "天猫快消八大策略人群（按规则先匹配者优先），其余为其他"),
    Tag("active_days_30d", "30天活跃天数", "Active days (30 d)", "number", "days with any event in the last 30",
        None, "近 30 天有任何行为的天数"),
    Tag("recency_days", "最近购买距今天数", "Days since last purchase (R)", "number",
        "days since the last purchase of any brand, capped at 999 (999 = never)", None,
        "距最近一次购买（任何品牌）的天数，最多 999（999 = 从未购买）"),
    Tag("purchases_365d", "365天购买次数", "Purchases (F, 365 d)", "number", "purchases of any brand, capped at 99",
        None, "近 365 天购买次数（任何品牌），最多 99"),
    Tag("spend_level_365d", "365天消费金额等级", "Spend level (M, 365 d)", "number",
        "0 = no purchase; 1–5 = quintile of the spend of buyers", None, "0 = 未购买；1–5 = 购买者消费金额五分位"),
    Tag("top_category", "偏好类目", "Preferred category", "category",
        "the category with the most events in the last 90 days", None, "近 90 天行为最多的类目"),
    Tag("category_share", "类目消费占比", "Category spend share", "number",
        "percent (0–100) of the consumer's 365-day spend in the category", "category",
        "该类目在近 365 天消费金额中的占比（0–100%）"),
    Tag("cheap_share_180d", "低价订单占比", "Share of ≤ ¥9.9 orders", "number",
        "percent of the last 180 days' orders paid ≤ ¥9.9", None, "近 180 天实付 ≤ ¥9.9 的订单占比（%）"),
    Tag("aup_growth", "客单价增长", "Order value growth", "number",
        "mean order value of the last 180 days as a percent of the 180 days before (capped at 999; 0 = none)", None,
        "近 180 天平均客单价相对前 180 天的百分比（最多 999；0 = 无）"),
    Tag("aipl", "AIPL 状态", "AIPL state", "category", "A, I, P or L with the brand on the tag day", "brand",
        "标签日与该品牌的 AIPL 状态（认知、兴趣、购买或忠诚）"),
    Tag("deeplink", "DEEPLINK 状态", "DEEPLINK state", "category", "one of the seven stages", "brand",
        "DEEPLINK 七个阶段之一"),
    Tag("member", "会员", "Member", "category", "yes: an active member of the brand", "brand",
        "该品牌的有效会员"),
)}

STRATEGY_CROWDS = {  # DOMAIN.md §9.4 [P], in priority order; "GenZ" is how the Chinese seeds write it
    "supermom": "精致妈妈", "gen_z": "GenZ", "rookie_white_collar": "新锐白领", "wealthy_middle_class": "资深中产",
    "urban_blue_collar": "都市蓝领", "urban_gray_hair": "都市银发", "small_town_youth": "小镇青年",
    "small_town_mature": "小镇中老年", "other": "其他",
}
STRATEGY_CROWDS_EN = {
    "supermom": "Supermoms", "gen_z": "Gen Z", "rookie_white_collar": "Rookie white collars",
    "wealthy_middle_class": "Wealthy middle class", "urban_blue_collar": "Urban blue collars",
    "urban_gray_hair": "Urban gray hairs", "small_town_youth": "Small-town youth",
    "small_town_mature": "Small-town mature", "other": "Other",
}
# what a label value means, in both languages (values not listed are shown as they are: a category, a brand's key)
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "gender": {"F": ("女", "Female"), "M": ("男", "Male"), "U": ("未知", "Unknown")},
    "strategy_crowd": {k: (v, STRATEGY_CROWDS_EN[k]) for k, v in STRATEGY_CROWDS.items()},
    "aipl": {k: tuple(v.split(" ", 1)) for k, v in AIPL_LABELS.items()},
    "deeplink": {k: tuple(v.split(" ", 1)) for k, v in DEEPLINK_LABELS.items()},
    "member": {"yes": ("是", "yes")},
    "occupation": {"white_collar": ("白领", "White collar"), "blue_collar": ("蓝领", "Blue collar"),
                   "service": ("服务业", "Service"), "student": ("学生", "Student"),
                   "civil_servant": ("公务员", "Civil servant"), "other": ("其他", "Other")},
    "life_stage": {"single": ("单身", "Single"), "married": ("已婚", "Married"), "pregnant": ("孕期", "Pregnant"),
                   "parent": ("有孩家庭", "Parent"), "retired": ("退休", "Retired")},
}


def strategy_crowd(t: ir.Table, year: int) -> ir.StringValue:
    """The §9.4 [P] rule chain over gender, birth year, city tier, occupation, life stage and purchasing power.

    >>> import ibis
    >>> t = ibis.memtable({"gender": ["F", "M", "M"], "life_stage": ["parent", "single", "married"],
    ...                    "city_tier": [2, 1, 5], "birth_year": [1990, 2004, 1980],
    ...                    "occupation": ["other", "student", "service"], "purchasing_power": [3, 2, 2]})
    >>> t.select(crowd=strategy_crowd(t, 2026)).execute().crowd.tolist()
    ['supermom', 'gen_z', 'small_town_mature']
    """
    age = year - t.birth_year
    high = t.city_tier <= 3
    low = t.city_tier >= 4
    return ibis.cases(
        ((t.gender == "F") & t.life_stage.isin(["pregnant", "parent"]) & high, "supermom"),
        ((t.birth_year >= 1995) & (age <= 24) & high, "gen_z"),
        (age.between(25, 35) & high & (t.occupation == "white_collar"), "rookie_white_collar"),
        (age.between(36, 49) & high & (t.purchasing_power >= 4), "wealthy_middle_class"),
        (age.between(25, 49) & high & t.occupation.isin(["blue_collar", "service"]), "urban_blue_collar"),
        ((age >= 50) & high, "urban_gray_hair"),
        (age.between(18, 34) & low, "small_town_youth"),
        ((age >= 35) & low, "small_town_mature"),
        else_="other",
    )


GROUPS = {  # the tags by the inputs they read: a refresh recomputes a group only where its inputs changed
    "profile": ("gender", "age", "city_tier", "purchasing_power", "occupation", "life_stage", "strategy_crowd"),
    "activity": ("active_days_30d", "top_category", "category_share", "cheap_share_180d", "aup_growth"),
    "purchases": ("recency_days", "purchases_365d", "spend_level_365d"),
    "states": ("aipl", "deeplink", "member"),
}
# the activity tags by reach (the days of events they read), with the windows (days) whose leaving day changes them
REACH = {30: (("active_days_30d",), (30,)), 90: (("top_category",), (90,)),
         360: (("cheap_share_180d", "aup_growth"), (180, 360)), 365: (("category_share",), (365,))}


def ensure_ids(wh: Warehouse, people: ir.Table | None = None) -> int:
    """Give every consumer of the profiles and events (or of `people`, a table with `consumer_id`, when only
    those can be new) a dense integer id, new ones after the existing; returns how many were added. The
    dictionary is append-only: an id never changes.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> _ = ensure_ids(wh)
    >>> ensure_ids(wh), wh.count("consumer_ids")  # everyone has an id already
    (0, 400)
    """
    if people is None:
        people = wh.table("consumers").select("consumer_id").union(wh.table("events").select("consumer_id"),
                                                                    distinct=True)
    if IDS_TABLE not in wh.con.list_tables():
        wh.con.create_table(IDS_TABLE, schema=ibis.schema({"consumer_id": "string", "id": "int64"}))
    ids = wh.table(IDS_TABLE)
    new = wh.materialize("_ids_new", people.select("consumer_id").distinct().anti_join(ids, "consumer_id"))
    n = int(new.count().execute())
    if n:
        top = int(ids.id.max().fill_null(-1).execute())
        rows = new.mutate(id=ibis.row_number().over(order_by="consumer_id") + top + 1)
        wh.con.insert(IDS_TABLE, rows.select("consumer_id", "id"))
    wh.drop_temp("_ids_new")
    return n


def _long(t: ir.Table, tag: str, value, num=None, key=None) -> ir.Table:
    return t.select(
        "id", tag=ibis.literal(tag), key=ibis.literal(None, "string") if key is None else key.cast("string"),
        value=value.cast("string"), num=ibis.literal(None, "int64") if num is None else num.cast("int64"))


def tag_rows(wh: Warehouse, day: str | date) -> ir.Table:
    """Every tag of every consumer on `day`, long form: id, tag, key, value (label or number as text), num.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_ids(wh)
    >>> rows = tag_rows(wh, wh.last_day())
    >>> rows.columns
    ('id', 'tag', 'key', 'value', 'num')
    >>> age = rows.filter(rows.tag == "age")
    >>> age.filter(age.id == 0).select("value", "num").execute().to_dict("records")
    [{'value': '50', 'num': 50}]
    """
    return ibis.union(*tag_groups(wh, day).values(), distinct=False)


def tag_groups(wh: Warehouse, day: str | date, only: ir.Table | dict[int, ir.Table] | None = None,
               groups: tuple[str, ...] = tuple(GROUPS), held: ir.Table | None = None) -> dict[str, ir.Table]:
    """The rows of each group of `GROUPS` on `day` (of `groups` only). With `only` (a table of `id`, or one per
    reach of `REACH`), the activity group holds only those consumers and the purchases group only them and the
    buyers (the spend levels rank every buyer); with `held` (ids), the states group only those; the profile
    group is whole.

    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_ids(wh)
    >>> few = tag_groups(wh, wh.last_day(), only=ibis.memtable({"id": [0, 1]}), groups=("activity",))
    >>> sorted(set(few["activity"].execute().id))
    [0, 1]
    """
    d = parse_day(day)
    ids = wh.table(IDS_TABLE)
    out: dict[str, ir.Table] = {}
    if "profile" in groups:
        out["profile"] = _profile(wh, d, ids)
    ev = wh.table("events")
    ev = ev.filter(ev.ts < midnight(wh, d + timedelta(days=1)))  # by instant: no time-zone arithmetic per row

    def slim(t: ir.Table) -> ir.Table:
        t = t.inner_join(ids, "consumer_id")
        return t.select("id", "event_type", "category_id", "amount", day=wh.local_day(t.ts))

    def reach(days: int) -> ir.Table:
        return ev.filter(ev.ts >= midnight(wh, d - timedelta(days=days - 1)))

    def of(t: ir.Table, who: ir.Table) -> ir.Table:  # the events of `who` (ids): few, so picked before the join
        return t.semi_join(ids.semi_join(who, "id").select("consumer_id"), "consumer_id")

    if "activity" in groups:  # read once into slim tables: the tags aggregate them several times
        if only is None or not isinstance(only, dict):
            act = slim(reach(max(REACH)) if only is None else of(reach(max(REACH)), only))
            act = wh.materialize("_tag_events", act)
            slims = dict.fromkeys(REACH, act)
        else:  # one read of the longest reach for all of them, then each reach's days and consumers
            act = wh.materialize("_tag_events", slim(of(reach(max(REACH)), ibis.union(*only.values(), distinct=True))))
            slims = {r: act.filter(_since(act, d, r)).semi_join(only[r], "id") for r in REACH}
        out["activity"] = _activity(slims, d)
    if "purchases" in groups:
        buy = wh.materialize("_tag_purchases", slim(ev.filter(ev.event_type == "purchase")))
        some = None if only is None else only if not isinstance(only, dict) else ibis.union(*only.values())
        out["purchases"] = _purchases(buy, d, ids.select("id"), some)
    if "states" in groups:
        out["states"] = _states(wh, d, ids if held is None else ids.semi_join(held, "id"))
    return out


def midnight(wh: Warehouse, day: date) -> ir.TimestampScalar:
    """The instant `day` starts in the workspace time zone (events before it are of earlier days).

    >>> from aipl.simulate import sample_warehouse
    >>> midnight(sample_warehouse(), date(2026, 10, 24)).execute()
    Timestamp('2026-10-23 16:00:00+0000', tz='UTC')
    """
    return ibis.literal(datetime.combine(day, datetime.min.time(), wh.config.tz).astimezone(UTC))


def _since(t: ir.Table, d: date, days: int) -> ir.BooleanValue:
    return t.day > ibis.literal(d - timedelta(days=days))


def _profile(wh: Warehouse, d: date, ids: ir.Table) -> ir.Table:
    c = wh.table("consumers").inner_join(ids, "consumer_id")
    return ibis.union(
        _long(c.filter(c.gender.notnull()), "gender", c.gender),
        _long(c.filter(c.birth_year.notnull()), "age", d.year - c.birth_year, d.year - c.birth_year),
        _long(c.filter(c.city_tier.notnull()), "city_tier", c.city_tier, c.city_tier),
        _long(c.filter(c.purchasing_power.notnull()), "purchasing_power", c.purchasing_power, c.purchasing_power),
        _long(c.filter(c.occupation.notnull()), "occupation", c.occupation),
        _long(c.filter(c.life_stage.notnull()), "life_stage", c.life_stage),
        _long(c, "strategy_crowd", strategy_crowd(c, d.year)), distinct=False)


def _activity(slims: dict[int, ir.Table], d: date) -> ir.Table:
    ev = slims[30]
    act = ev.filter(_since(ev, d, 30)).group_by("id").aggregate(n=lambda t: t.day.nunique())
    parts = [_long(act, "active_days_30d", act.n, act.n)]
    ev = slims[90]
    recent = ev.filter(_since(ev, d, 90) & ev.category_id.notnull())
    cat_n = recent.group_by(["id", "category_id"]).aggregate(n=lambda t: t.count())
    ranked = cat_n.mutate(r=ibis.row_number().over(group_by="id", order_by=[ibis.desc("n"), "category_id"]))
    top = ranked.filter(ranked.r == 0).select("id", cat="category_id")
    parts.append(_long(top, "top_category", top.cat))
    buy = slims[365].filter(slims[365].event_type == "purchase")
    yb = buy.filter(_since(buy, d, 365) & buy.category_id.notnull())
    per_cat = yb.group_by(["id", "category_id"]).aggregate(m=yb.amount.sum())
    tot = per_cat.group_by("id").aggregate(total=per_cat.m.sum())
    share = per_cat.inner_join(tot, "id")
    # rounded to 6 places first: a half-percent must not fall either way by the last bits of a parallel sum
    share = share.filter(share.total > 0).mutate(pct=(100 * share.m / share.total).round(6).round().cast("int64"))
    parts.append(_long(share, "category_share", share.pct, share.pct, key=share.category_id))
    buy = slims[360].filter(slims[360].event_type == "purchase")
    half = buy.filter(_since(buy, d, 180))
    cheap = half.group_by("id").aggregate(
        pct=(100 * half.count(where=half.amount <= 9.9) / half.count()).round().cast("int64"))
    parts.append(_long(cheap, "cheap_share_180d", cheap.pct, cheap.pct))
    prior = buy.filter(_since(buy, d, 360) & ~_since(buy, d, 180))
    a1 = half.group_by("id").aggregate(a1=half.amount.mean())
    a0 = prior.group_by("id").aggregate(a0=prior.amount.mean())
    g = a1.inner_join(a0, "id")
    g = g.filter(g.a0 > 0).mutate(pct=ibis.least((100 * g.a1 / g.a0).round(), 999).cast("int64"))
    parts.append(_long(g, "aup_growth", g.pct, g.pct))
    return ibis.union(*parts, distinct=False)


def _purchases(ev: ir.Table, d: date, ids: ir.Table, only: ir.Table | None) -> ir.Table:
    buy = ev.filter(ev.event_type == "purchase")
    rfm = buy.group_by("id").aggregate(last=buy.day.max(), f=buy.count(where=_since(buy, d, 365)),
                                       m=buy.amount.sum(where=_since(buy, d, 365)).fill_null(0.0))
    rfm = rfm.mutate(r=ibis.least(ibis.literal(d).delta(rfm["last"], unit="day"), 999), f=ibis.least(rfm.f, 99))
    spenders = rfm.filter(rfm.m > 0)
    level = ibis.ntile(5).over(order_by=[spenders.m, spenders.id]) + 1  # ties broken by id: deterministic
    rfm = rfm.left_join(spenders.select("id", level=level), "id").select("id", "r", "f", "level")
    who = ids if only is None else rfm.select("id").union(only.select("id"), distinct=True)
    everyone = who.left_join(rfm, "id")
    r, f, lvl = everyone.r.fill_null(999), everyone.f.fill_null(0), everyone.level.fill_null(0)
    return ibis.union(_long(everyone, "recency_days", r, r), _long(everyone, "purchases_365d", f, f),
                      _long(everyone, "spend_level_365d", lvl, lvl), distinct=False)


def _states(wh: Warehouse, d: date, ids: ir.Table) -> ir.Table:
    ensure_built(wh)
    s = states(wh, "brand", d).inner_join(ids, "consumer_id")
    m = wh.table("members")
    m = m.filter((m.status == "active") & (wh.local_day(m.joined_at) <= ibis.literal(d))).inner_join(ids, "consumer_id")
    m = m.select("id", "brand_id").distinct()
    return ibis.union(_long(s, "aipl", s.aipl, key=s.key), _long(s, "deeplink", s.deeplink, key=s.key),
                      _long(m, "member", ibis.literal("yes"), key=m.brand_id), distinct=False)
