"""The bitmap index: one roaring bitmap of dense consumer ids per (tag, key, value), kept in the warehouse
(`tag_bitmaps`) and refreshed incrementally (only the bitmaps whose members changed are rewritten); crowd
trees are evaluated on it. Number tags also keep "value ≥ v" bitmaps so that a range costs one difference.
`sql_ids` evaluates the same tree in SQL over `consumer_tags`: the independent reference."""

from __future__ import annotations

import array
import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from pyroaring import BitMap, FrozenBitMap

from aipl import schema
from aipl.assets import intervals
from aipl.audience.results import TagRefresh
from aipl.audience.saved import saved
from aipl.audience.tags import (
    CATALOGUE,
    GROUPS,
    IDS_TABLE,
    REACH,
    TAGS_TABLE,
    ensure_ids,
    midnight,
    tag_groups,
    tag_rows,
)
from aipl.config import parse_day
from aipl.warehouse import Warehouse

BITMAPS_TABLE = schema.TAG_BITMAPS.name
META_TABLE = schema.TAG_META.name
LISTS_TABLE = schema.CONSUMER_LISTS.name
PATCH_BATCH = 4_000_000  # rows of changes read at a time when the bitmaps are patched
_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def refresh(wh: Warehouse, day: str | date, report: Callable[[str], None] | None = None) -> TagRefresh:
    """Bring tags and bitmaps to `day`: new consumers get ids, tags are recomputed in the warehouse for the
    consumers whose inputs changed, and each (tag, key, value) bitmap whose members changed is patched with the
    ids that joined and left it. Returns what changed; `report` is told each step.

    A refresh with nothing loaded since the last one for the same day returns at once (the data version is kept
    in `tag_meta`). Otherwise the activity tags are recomputed for the consumers with new events, with events on
    a day that entered the tag day's reach or left one of their windows (`REACH`); the purchase tags for every
    buyer (recency moves with the day); the asset states and memberships for those consumers and those whose
    interval starts or ends or whose membership begins in between (all, when memberships were loaded); the
    profile tags when profiles were loaded. Late events (before the last refresh's last one), a new year, an
    earlier day or other settings recompute every tag; either way only what differs is rewritten.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> done = refresh(wh, wh.last_day())
    >>> done  # doctest: +ELLIPSIS
    TagRefresh(2026-10-24: ... new consumer ids, ... consumers recomputed, ... changed, ... bitmaps rewritten)
    >>> done.day, sorted(done)
    ('2026-10-24', ['bitmaps_rewritten', 'changed', 'day', 'new_ids', 'recomputed'])
    >>> again = refresh(wh, "2026-10-24", report=print)  # nothing changed since: nothing is rewritten
    0 new consumer ids
    tags of 0 consumers recomputed, of 0 changed
    0 bitmaps rewritten
    """
    d = parse_day(day)
    say = report or (lambda _: None)
    version = _version(wh)
    old = _meta(wh)
    if old is not None and old["day"] == d and all(old.get(k) == v for k, v in version.items()):
        say("0 new consumer ids")
        say("tags of 0 consumers recomputed, of 0 changed")
        say("0 bitmaps rewritten")
        return TagRefresh(day=str(d), new_ids=0, recomputed=0, changed=0, bitmaps_rewritten=0)
    plan = _plan(wh, d, old, version)
    added = ensure_ids(wh, None if plan is None else plan["people"])
    say(f"{added:,} new consumer ids")
    wh.ensure_table(TAGS_TABLE, {"id": "int64", "tag": "string", "key": "string", "value": "string", "num": "int64"})
    wh.ensure_table(BITMAPS_TABLE, {"bkey": "string", "tag": "string", "key": "string", "value": "string",
                                    "num": "int64", "bitmap": "binary"})
    wh.ensure_table(META_TABLE, {"day": "date", "refreshed_at": "timestamp('UTC')", "version": "string"})
    if old is None or not wh.count(TAGS_TABLE):  # from scratch: every row joins
        recomputed = changed = wh.count(IDS_TABLE)  # everyone has the purchase tags
        say(f"tags of {recomputed:,} consumers computed")
        with wh.transaction():  # the tags are written as computed, then the bitmaps read from them
            # the meta first: without a transaction (Spark), a failure before the end means from scratch again
            wh.replace_rows(META_TABLE, None, keys=[])
            wh.replace_rows(TAGS_TABLE, tag_rows(wh, d), keys=[])
            bitmaps = _patched(wh, wh.table(TAGS_TABLE).mutate(sign=ibis.literal(1, "int8")), {})
            wh.replace_rows(BITMAPS_TABLE, _bitmap_rows(bitmaps), keys=[])
            _write_meta(wh, d)
    else:
        changes, written = _changes(wh, d, old, plan)
        recomputed, changed = _consumers(ibis.union(written.select("id"), changes.select("id")), changes)
        say(f"tags of {recomputed:,} consumers recomputed, of {changed:,} changed")
        bitmaps = _patched(wh, changes, _stored(wh, changes))
        with wh.transaction():
            # bitmaps before tags: without a transaction (Spark), a failure in between leaves old tags, and the
            # next refresh (its meta unchanged) rebuilds from scratch
            gone = ibis.memtable({"bkey": list(bitmaps)}, schema={"bkey": "string"})
            wh.replace_rows(BITMAPS_TABLE, _bitmap_rows(bitmaps), keys=["bkey"], match=gone)
            slots = wh.materialize("_tag_slots", changes.select("id", "tag").distinct())
            wh.replace_rows(TAGS_TABLE, written.semi_join(slots, ["id", "tag"]), keys=["id", "tag"], match=slots)
            _write_meta(wh, d)
    n_touched = len(bitmaps)
    wh.drop_temp("_tags_new", "_tag_changes", "_tag_slots", "_tag_scope", "_tag_touched", "_tag_events",
                 "_tag_purchases", "_tag_held",
                 *[f"_tag_{n}_{r}" for r in REACH for n in ("events", "touched")])
    say(f"{n_touched:,} bitmaps rewritten")
    return TagRefresh(day=str(d), new_ids=added, recomputed=recomputed, changed=changed, bitmaps_rewritten=n_touched)


def _bitmap_rows(bitmaps: dict[str, dict]) -> pd.DataFrame:
    """The `tag_bitmaps` rows of the patched bitmaps that are not empty."""
    return pd.DataFrame([b for b in bitmaps.values() if b["bitmap"] is not None],
                        columns=["bkey", "tag", "key", "value", "num", "bitmap"])


def _write_meta(wh: Warehouse, d: date) -> None:
    wh.replace_rows(META_TABLE, pd.DataFrame({"day": [d], "refreshed_at": [datetime.now(UTC)],
                                              "version": [json.dumps(_watermarks(wh))]}), keys=[])


def _consumers(*tables: ir.Table) -> list[int]:
    """The number of distinct consumers (ids) of each table, in one query."""
    n = ibis.union(*[t.aggregate(n=t.id.nunique()).mutate(k=ibis.literal(i)) for i, t in enumerate(tables)])
    return [int(v) for v in n.order_by("k").execute().n]


def _version(wh: Warehouse) -> dict:
    """What the tags are computed from, cheaply: the row counts of the inputs, the loaded batches and the
    settings' fingerprint. Equal versions on the same day: nothing to refresh."""
    have = set(wh.con.list_tables())
    inputs = [t for t in ("events", "consumers", "members", "batches") if t in have]
    counts = ibis.union(*[wh.table(t).count().name("n").as_table().mutate(t=ibis.literal(t)) for t in inputs])
    return {**{r.t: int(r.n) for r in counts.execute().itertuples()},  # one query
            "settings": (wh.built_with(TAGS_TABLE) or ("",))[0]}


def _watermarks(wh: Warehouse) -> dict:
    """The version, the last event's instant and the number of consumer ids: where the next refresh starts."""
    ev = wh.table("events")
    last = ev.ts.max().execute()
    last = None if last is None or pd.isna(last) else pd.Timestamp(last).isoformat()
    return {**_version(wh), "max_ts": last, "ids": wh.count(IDS_TABLE)}


def _meta(wh: Warehouse) -> dict | None:
    """The last refresh: its day, data version and watermarks (None before the first, or from an older version)."""
    have = set(wh.con.list_tables())
    if not {META_TABLE, TAGS_TABLE, BITMAPS_TABLE} <= have:
        return None
    m = wh.table(META_TABLE).execute()
    if not len(m) or "version" not in m.columns or not isinstance(m.version.iloc[0], str):
        return None
    return {"day": parse_day(m.day.iloc[0]), **json.loads(m.version.iloc[0])}


def _plan(wh: Warehouse, d: date, old: dict | None, version: dict) -> dict | None:
    """How to refresh incrementally from `old` to `d` (None: rebuild everything): the new events' consumers
    (`people`), the events added and whether the profiles changed."""
    now = version
    if old is None or "max_ts" not in old or d < old["day"] or d.year != old["day"].year \
            or now["settings"] != old["settings"] or now.get("events", 0) < old.get("events", 0):
        return None
    ev = wh.table("events")
    new = ev.filter(ev.ts > ibis.literal(pd.Timestamp(old["max_ts"]))) if old["max_ts"] else ev
    if int(new.count().execute()) != now.get("events", 0) - old.get("events", 0):
        return None  # late events (at or before the last refresh's last instant): rebuild
    profiles = now.get("consumers") != old.get("consumers") or _batches_for(wh, old, "consumers")
    people = new.select("consumer_id")
    if profiles:
        people = people.union(wh.table("consumers").select("consumer_id"), distinct=True)
    members = now.get("members") != old.get("members") or _batches_for(wh, old, "members")
    return {"people": people, "new_events": new, "profiles": profiles, "members": members}


def _batches_for(wh: Warehouse, old: dict, target: str) -> bool:
    b = wh.table("batches").order_by("loaded_at").execute().iloc[int(old.get("batches", 0)):]
    return bool((b.target == target).any())


def _changes(wh: Warehouse, d: date, old: dict | None, plan: dict | None) -> tuple[ir.Table, ir.Table]:
    """(rows that joined (sign 1) or left (sign -1) consumer_tags, the recomputed rows) from `old` to `d`; without
    a `plan`, every tag of everyone is recomputed and compared."""
    t = wh.table(TAGS_TABLE)
    if plan is None:
        new = wh.materialize("_tags_new", tag_rows(wh, d))
        return wh.materialize("_tag_changes", _diff(new, t)), new
    ids = wh.table(IDS_TABLE)
    ev = wh.table("events")
    one = timedelta(days=1)

    def on_days(a: date, b: date) -> ir.Table:  # ids with events on days a + 1 … b
        return ev.filter((ev.ts >= midnight(wh, a + one)) & (ev.ts < midnight(wh, b + one))).select("consumer_id")

    touched = [plan["new_events"].select("consumer_id")]
    if d > old["day"]:  # consumers with events on a day that entered the tag day's reach
        touched.append(on_days(old["day"], d))
    base = ibis.union(*touched, distinct=True).inner_join(ids, "consumer_id").select("id")
    base = wh.materialize("_tag_touched", base.union(ids.filter(ids.id >= int(old["ids"])).select("id")))
    only = {}
    for r, (_, windows) in REACH.items():  # and those with events on a day that left one of the reach's windows
        gone = [on_days(old["day"] - timedelta(days=w), d - timedelta(days=w)) for w in windows if d > old["day"]]
        gone = [ibis.union(*gone, distinct=True).inner_join(ids, "consumer_id").select("id")] if gone else []
        only[r] = wh.materialize(f"_tag_touched_{r}", ibis.union(base, *gone, distinct=True))
    # a state changes with the consumer's own events, or where an interval starts or ends; a membership when
    # its join day is reached, or when memberships were loaded (then all are compared)
    if plan["members"]:
        held = None
    elif d == old["day"]:  # the same day: no interval starts or ends and no membership begins in between
        held = base
    else:
        iv = intervals(wh)
        iv = iv.filter((iv.scope == "brand") & (((iv.start > old["day"]) & (iv.start <= d))
                                                | ((iv.end > old["day"]) & (iv.end <= d))))
        m = wh.table("members")
        joined = m.filter((m.joined_at >= midnight(wh, old["day"] + timedelta(days=1)))
                          & (m.joined_at < midnight(wh, d + timedelta(days=1))))
        moved = [iv.select("consumer_id"), joined.select("consumer_id")]
        held = wh.materialize("_tag_held", ibis.union(
            base, ibis.union(*moved, distinct=True).inner_join(ids, "consumer_id").select("id"), distinct=True))
    groups = ("activity", "purchases", "states", *(("profile",) if plan["profiles"] else ()))
    parts = tag_groups(wh, d, only=only, groups=groups, held=held)
    new = wh.materialize("_tags_new", ibis.union(*parts.values(), distinct=False))
    scope = wh.materialize("_tag_scope", new.filter(new.tag == GROUPS["purchases"][0]).select("id"))

    def of(group: str) -> ir.Table:
        return t.filter(t.tag.isin(list(GROUPS[group])))

    t = wh.table(TAGS_TABLE)
    before = [*[t.filter(t.tag.isin(list(tags))).semi_join(only[r], "id") for r, (tags, _) in REACH.items()],
              of("purchases").semi_join(scope, "id"),
              of("states") if held is None else of("states").semi_join(held, "id"),
              *([of("profile")] if plan["profiles"] else [])]
    return wh.materialize("_tag_changes", _diff(new, ibis.union(*before, distinct=False))), new


def _diff(new: ir.Table, before: ir.Table) -> ir.Table:
    joined = new.difference(before).mutate(sign=ibis.literal(1, "int8"))
    left = before.difference(new).mutate(sign=ibis.literal(-1, "int8"))
    return joined.union(left, distinct=False)


def _bkey(t: ir.Table) -> ir.StringValue:
    return t.tag + "|" + t.key.fill_null("") + "|" + t.value


def _stored(wh: Warehouse, changes: ir.Table) -> dict[str, BitMap]:
    """The stored bitmaps that `changes` touch."""
    keys = changes.select(bkey=_bkey(changes)).distinct()
    rows = wh.table(BITMAPS_TABLE).semi_join(keys, "bkey").select("bkey", "bitmap").execute()
    return {k: BitMap.deserialize(v) for k, v in zip(rows.bkey, rows.bitmap, strict=True)}


def _bitmap(ids: np.ndarray) -> BitMap:
    """A bitmap of sorted ids, built in bulk."""
    buf = array.array("I")
    buf.frombytes(ids.astype(np.uint32, copy=False).tobytes())
    return BitMap(buf)


def _patched(wh: Warehouse, changes: ir.Table, stored: dict[str, BitMap]) -> dict[str, dict]:
    """Each (tag, key, value) that `changes` touch, as a `tag_bitmaps` row with its stored bitmap (if any) plus the
    ids that joined and minus those that left (`bitmap` None: now empty). The ids come sorted from the warehouse
    as columns, a few million rows at a time (a full build of 10M consumers has about 100M), and each bitmap's run
    of ids in a batch is added in one call."""
    c = changes.mutate(_k=changes.key.fill_null(""))  # joins on the bitmap's parts: no string is built per row
    keys = c.select("tag", "_k", "value", "num").distinct()
    keys = wh.materialize("_tag_keys", keys.mutate(bkey=keys.tag + "|" + keys._k + "|" + keys.value,
                                                   key=keys._k.nullif("")).mutate(
        g=ibis.row_number().over(order_by="bkey").cast("int32")))  # 0, 1, …
    info = keys.order_by("g").execute().to_dict("records")  # not via Arrow: Spark's gives a null key as "NaN"
    rows = c.inner_join(keys.select("tag", "_k", "value", "g"), ["tag", "_k", "value"])
    rows = rows.select("g", "sign", id=rows.id.cast("int32"))
    out: dict[str, dict] = {}
    for part in rows.order_by(["g", "sign", "id"]).to_pyarrow_batches(chunk_size=PATCH_BATCH):
        if not part.num_rows:
            continue
        g, sign, ids = (part.column(n).to_numpy() for n in ("g", "sign", "id"))
        cuts = np.flatnonzero((np.diff(g) != 0) | (np.diff(sign) != 0)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(g)], strict=True):
            r = info[int(g[a])]
            row = out.get(r["bkey"])
            if row is None:
                # a missing key or number may arrive as NaN (Spark's frames): stored as null, never as "NaN"
                row = out[r["bkey"]] = {"bkey": r["bkey"], "tag": r["tag"], "value": r["value"],
                                        "key": None if r["key"] is None or pd.isna(r["key"]) else r["key"],
                                        "num": None if r["num"] is None or pd.isna(r["num"]) else int(r["num"]),
                                        "bm": stored.get(r["bkey"], BitMap())}
            if sign[a] > 0:  # a consumer never both joins and leaves one bitmap: the order does not matter
                row["bm"] |= _bitmap(ids[a:b])
            else:
                row["bm"] -= _bitmap(ids[a:b])
    wh.drop_temp("_tag_keys")
    for row in out.values():
        bm = row.pop("bm")
        row["bitmap"] = bm.serialize() if bm else None
    return out


def tag_day(wh: Warehouse) -> date | None:
    """The day the tags and bitmaps describe (None before the first refresh).

    >>> from aipl.audience import refresh, tag_day
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> tag_day(wh)
    datetime.date(2026, 10, 24)
    """
    if META_TABLE not in wh.con.list_tables():
        return None
    m = wh.table(META_TABLE).execute()
    return parse_day(m.day.iloc[0]) if len(m) else None


class TagIndex:
    """The bitmaps in memory: `evaluate(tree)` gives the crowd's ids as a bitmap, `count(tree)` its size.
    `universe` holds every dense consumer id and `day` is the tag day.

    >>> from aipl.audience import TagIndex, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> index = TagIndex.load(wh)
    >>> index.day, len(index.universe)
    (datetime.date(2026, 10, 24), 400)
    >>> index.count(parse('age < 30 and gender = "F"'))
    64
    """

    def __init__(self, bitmaps: dict[tuple[str, str | None], dict], universe: FrozenBitMap, day: date | None,
                 behaviour: Callable[[dict], BitMap] | None = None, crowds: Callable[[str], dict] | None = None,
                 lists: Callable[[str], BitMap] | None = None):
        self.bitmaps, self.universe, self.day = bitmaps, universe, day
        self.behaviour, self.crowds, self.lists = behaviour, crowds, lists
        self.ge: dict[tuple[str, str | None], tuple[list[int], list[FrozenBitMap]]] = {}
        self.all = {k: FrozenBitMap.union(*v.values()) if len(v) > 1 else next(iter(v.values()))
                    for k, v in bitmaps.items() if v}  # everyone holding the tag
        for k, values in bitmaps.items():
            nums = sorted(v for v in values if isinstance(v, int))
            if nums and CATALOGUE.get(k[0], None) and CATALOGUE[k[0]].kind == "number":
                acc, cum = BitMap(), []
                for v in reversed(nums):
                    acc |= values[v]
                    cum.append(FrozenBitMap(acc))
                self.ge[k] = (nums, cum[::-1])

    @classmethod
    def load(cls, wh: Warehouse) -> TagIndex:
        """Read the bitmaps of the workspace (refresh first), bound to `wh` (see `bound`).

        >>> from aipl.audience import TagIndex, refresh
        >>> from aipl.simulate import sample_warehouse
        >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
        >>> TagIndex.load(wh).count({"tag": "gender", "key": None, "op": "=", "value": "F"})
        224
        """
        if BITMAPS_TABLE not in wh.con.list_tables():
            raise ValueError("no tag index yet: run `aipl crowd refresh --date YYYY-MM-DD` first")
        rows = wh.table(BITMAPS_TABLE).execute()
        maps: dict[tuple[str, str | None], dict] = {}
        for r in rows.itertuples():
            key = None if pd.isna(r.key) else r.key
            value = int(r.num) if not pd.isna(r.num) else r.value
            maps.setdefault((r.tag, key), {})[value] = FrozenBitMap.deserialize(r.bitmap)
        ids = wh.table(IDS_TABLE).id.execute()
        return cls(maps, FrozenBitMap(ids.astype("int64").tolist()), tag_day(wh)).bound(wh)

    def bound(self, wh: Warehouse) -> TagIndex:
        """The same bitmaps, with behaviour counts, saved crowds and lists looked up through `wh` (a service
        shares one index between threads, each with its own connection).

        >>> from aipl.audience import TagIndex, parse, refresh
        >>> from aipl.simulate import sample_warehouse
        >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
        >>> index = TagIndex.load(wh).bound(wh)
        >>> index.count(parse('count(event="purchase", days=30) >= 1')), index.count(parse('crowd("strategy_gen_z")'))
        (37, 21)
        """
        other = copy.copy(self)
        day = self.day
        other.behaviour = lambda t: behaviour_ids(wh, t, day)
        other.crowds = lambda name: _saved_tree(wh, name)
        other.lists = lambda name: list_ids(wh, name)
        return other

    def _values(self, tree: dict) -> dict:
        tag, key = tree["tag"], tree.get("key")
        if tag not in CATALOGUE:
            raise ValueError(f"unknown tag {tag!r}; see `aipl crowd tags`")
        spec = CATALOGUE[tag]
        if spec.key and key is None:
            raise ValueError(f"tag {tag!r} needs its {spec.key}, e.g. {tag}({spec.key}=\"…\")")
        if not spec.key and key is not None:
            raise ValueError(f"tag {tag!r} takes no key")
        if spec.kind == "number" and any(isinstance(v, str) for v in _as_list(tree["value"])):
            raise ValueError(f"tag {tag!r} is a number: compare it with numbers")
        return self.bitmaps.get((tag, key), {})

    def _terms(self, tree: dict) -> tuple[list, list]:
        """A leaf as (sets it must be in, sets it must not be in), without copying the stored bitmaps: a range
        of a number tag is "≥ lo" minus "≥ hi + 1"; "!=" is "has the tag" minus the value."""
        values = self._values(tree)
        op, want = tree["op"], tree["value"]
        key = (tree["tag"], tree.get("key"))
        if key not in self.all:
            return [FrozenBitMap()], []
        if key in self.ge:
            if op == "in" and all(isinstance(v, int) for v in want) and (  # consecutive: a range (never listed)
                    len(set(want)) == len(want) == max(want) - min(want) + 1):
                op, want = "between", [min(want), max(want)]
            at_least = self._at_least(key)
            if op == "between":
                return [at_least(want[0])], [at_least(_next_int(want[1]))]
            if op in (">=", ">"):
                return [at_least(want if op == ">=" else _next_int(want))], []
            if op in ("<", "<="):
                return [self.all[key]], [at_least(want if op == "<" else _next_int(want))]
        if op == "=":
            return [values.get(want, FrozenBitMap())], []
        if op == "!=":
            return [self.all[key]], [values[want]] if want in values else []
        if op == "in":
            hits = [values[v] for v in want if v in values]
        elif op == "between":
            hits = [bm for v, bm in values.items() if want[0] <= v <= want[1]]
        else:
            hits = [bm for v, bm in values.items() if _OPS[op](v, want)]
        return [FrozenBitMap.union(*hits) if len(hits) > 1 else hits[0] if hits else FrozenBitMap()], []

    def _at_least(self, key):
        import bisect

        nums, cum = self.ge[key]

        def at_least(x) -> FrozenBitMap:  # members whose value is ≥ x
            i = bisect.bisect_left(nums, x)
            return cum[i] if i < len(nums) else FrozenBitMap()

        return at_least

    def _combine(self, pos: list, neg: list) -> BitMap:
        """Intersect the positive sets (smallest first), then take away the negative ones."""
        pos = sorted(pos, key=len) if pos else [self.universe]
        acc = pos[0] & pos[1] if len(pos) > 1 else BitMap(pos[0])
        for p in pos[2:]:
            if not acc:
                break
            acc &= p
        for n in neg:
            if not acc:
                break
            acc -= n
        return acc

    def leaf(self, tree: dict) -> BitMap:
        """The ids one tag test (a leaf of a tree) selects.

        >>> from pyroaring import FrozenBitMap as F
        >>> index = TagIndex({("age", None): {25: F([1, 4]), 40: F([2, 3, 5])}}, universe=F(range(1, 7)), day=None)
        >>> index.leaf({"tag": "age", "key": None, "op": ">=", "value": 30})
        BitMap([2, 3, 5])
        """
        return self._combine(*self._terms(tree))

    def evaluate(self, tree: dict, _seen: tuple[str, ...] = ()) -> BitMap:
        """The ids of the consumers a tree selects. Saved crowds, lists and behaviour counts need an index bound to
        a warehouse (`load`); tag tests work on any index.

        >>> from aipl.audience import parse
        >>> from pyroaring import FrozenBitMap as F
        >>> index = TagIndex({("gender", None): {"F": F([1, 2, 3]), "M": F([4, 5])},
        ...                   ("age", None): {25: F([1, 4]), 40: F([2, 3, 5])}}, universe=F(range(1, 7)), day=None)
        >>> index.evaluate(parse('gender = "F" or age between 20 and 30'))
        BitMap([1, 2, 3, 4])
        >>> index.evaluate(parse('not gender = "F"'))  # everyone else, those without the tag too
        BitMap([4, 5, 6])
        """
        if "and" in tree:
            pos, neg = [], []
            for p in tree["and"]:
                if "tag" in p:
                    a, b = self._terms(p)
                    pos += a
                    neg += b
                elif "not" in p:
                    neg.append(self.evaluate(p["not"], _seen))
                else:
                    pos.append(self.evaluate(p, _seen))
            return self._combine(pos, neg)
        if "or" in tree:
            return BitMap.union(*(self.evaluate(p, _seen) for p in tree["or"]))
        if "minus" in tree:
            a, b = tree["minus"]
            return self.evaluate(a, _seen) - self.evaluate(b, _seen)
        if "not" in tree:
            return BitMap(self.universe) - self.evaluate(tree["not"], _seen)
        if "crowd" in tree:
            name = tree["crowd"]
            if name in _seen:
                raise ValueError(f"crowd {name!r} refers to itself")
            if self.crowds is None:
                raise ValueError("no saved crowds here")
            return self.evaluate(self.crowds(name), (*_seen, name))
        if "list" in tree:
            if self.lists is None:
                raise ValueError("saved lists need the warehouse")
            return self.lists(tree["list"])
        if "count" in tree:
            if self.behaviour is None:
                raise ValueError("behaviour predicates need the warehouse")
            return self.behaviour(tree)
        return self.leaf(tree)

    def count(self, tree: dict) -> int:
        """How many consumers a tree selects.

        >>> from aipl.audience import parse
        >>> from pyroaring import FrozenBitMap as F
        >>> index = TagIndex({("gender", None): {"F": F([1, 2, 3]), "M": F([4, 5])}}, universe=F(range(1, 7)), day=None)
        >>> index.count(parse('gender = "F"')), index.count(parse('gender != "F"'))
        (3, 2)
        """
        return len(self.evaluate(tree))


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _next_int(v) -> int:
    return int(v) + 1 if float(v).is_integer() else int(-(-v // 1))


def behaviour_ids(wh: Warehouse, tree: dict, day: date | None) -> BitMap:
    """Ids of consumers with `op value` events matching count(event=…, days=…, brand/category/channel=…) in
    the `days` up to the tag day.

    >>> from aipl.audience import parse, refresh, tag_day
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> len(behaviour_ids(wh, parse('count(event="purchase", days=30) >= 1'), tag_day(wh)))
    37
    """
    if day is None:
        raise ValueError("no tag day yet: refresh the index first")
    a = tree["count"]
    ev = wh.table("events")
    local = wh.local_day(ev.ts)
    cond = (ev.event_type == a["event"]) & (local <= ibis.literal(day)) & (
        local > ibis.literal(day - timedelta(days=int(a["days"]))))
    for col, arg in (("brand_id", "brand"), ("category_id", "category"), ("channel", "channel")):
        if arg in a:
            cond &= ev[col] == a[arg]
    per = ev.filter(cond).group_by("consumer_id").aggregate(n=lambda t: t.count())
    ids = wh.table(IDS_TABLE)
    n = ids.left_join(per, "consumer_id").select("id", n=per.n.fill_null(0))
    hit = n.filter(_OPS[tree["op"]](n.n, tree["value"])).id.execute()
    return BitMap(hit.astype("int64").tolist())


def list_ids(wh: Warehouse, name: str) -> BitMap:
    """Ids of a saved consumer list (consumer_lists: member recall lists, uplift targets, lookalikes).

    >>> import pandas as pd
    >>> from aipl.audience import refresh
    >>> from aipl.clv import save_list
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> _ = save_list(wh, "vip", "B01", wh.last_day(), pd.DataFrame({"consumer_id": ["c00000000", "c00000002"]}))
    >>> list_ids(wh, "vip")
    BitMap([0, 2])
    """
    if LISTS_TABLE not in wh.con.list_tables():
        raise ValueError(f"no consumer list named {name!r}")
    lists = wh.table(LISTS_TABLE)
    rows = lists.filter(lists.list_name == name)
    if not int(rows.count().execute()):
        raise ValueError(f"no consumer list named {name!r}")
    ids = wh.table(IDS_TABLE).semi_join(rows, "consumer_id").id.execute()
    return BitMap(ids.astype("int64").tolist())


def _saved_tree(wh: Warehouse, name: str) -> dict:
    return saved(wh, name)["tree"]


def sql_ids(wh: Warehouse, tree: dict) -> set[int]:
    """The same crowd evaluated in SQL over consumer_tags (set algebra on id lists): the reference.

    >>> from aipl.audience import TagIndex, parse, refresh, sql_ids
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> tree = parse('age < 30 and gender = "F"')
    >>> ids = sql_ids(wh, tree)
    >>> len(ids), ids == set(TagIndex.load(wh).evaluate(tree))
    (64, True)
    """
    t = wh.table(TAGS_TABLE)
    everyone = wh.table(IDS_TABLE).select("id")

    def ev(node) -> ibis.Table:
        if "and" in node:
            parts = [ev(p) for p in node["and"]]
            return parts[0].intersect(*parts[1:]) if len(parts) > 1 else parts[0]
        if "or" in node:
            parts = [ev(p) for p in node["or"]]
            return parts[0].union(*parts[1:], distinct=True) if len(parts) > 1 else parts[0]
        if "minus" in node:
            return ev(node["minus"][0]).difference(ev(node["minus"][1]))
        if "not" in node:
            return everyone.difference(ev(node["not"]))
        if "crowd" in node:
            return ev(_saved_tree(wh, node["crowd"]))
        if "count" in node or "list" in node:
            got = behaviour_ids(wh, node, tag_day(wh)) if "count" in node else list_ids(wh, node["list"])
            return ibis.memtable({"id": sorted(got)}, schema={"id": "int64"})
        rows = t.filter(t.tag == node["tag"])
        rows = rows.filter(rows.key == node["key"]) if node.get("key") is not None else rows
        col = rows.num if CATALOGUE[node["tag"]].kind == "number" else rows.value
        op, v = node["op"], node["value"]
        cond = col.isin(v) if op == "in" else col.between(*v) if op == "between" else _OPS[op](col, v)
        return rows.filter(cond).select("id").distinct()

    return set(ev(tree).execute().id.astype("int64"))
