"""The bitmap index: one roaring bitmap of dense consumer ids per (tag, key, value), kept in the warehouse
(`tag_bitmaps`) and refreshed incrementally (only the bitmaps whose members changed are rewritten); crowd
trees are evaluated on it. Number tags also keep "value ≥ v" bitmaps so that a range costs one difference.
`sql_ids` evaluates the same tree in SQL over `consumer_tags`: the independent reference."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import ibis
import pandas as pd
from pyroaring import BitMap, FrozenBitMap

from aipl import schema
from aipl.audience.results import TagRefresh
from aipl.audience.saved import saved
from aipl.audience.tags import CATALOGUE, IDS_TABLE, TAGS_TABLE, ensure_ids, tag_rows
from aipl.config import parse_day
from aipl.warehouse import Warehouse

BITMAPS_TABLE = schema.TAG_BITMAPS.name
META_TABLE = schema.TAG_META.name
LISTS_TABLE = schema.CONSUMER_LISTS.name
_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def refresh(wh: Warehouse, day: str | date, report: Callable[[str], None] | None = None) -> TagRefresh:
    """Bring tags and bitmaps to `day`: new consumers get ids, tags are recomputed in the warehouse, and only
    the (tag, key, value) bitmaps whose members changed are rewritten. Returns what changed; `report` is told
    each step.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> done = refresh(wh, wh.last_day())
    >>> done  # doctest: +ELLIPSIS
    TagRefresh(2026-10-24: ... new consumer ids, ... bitmaps rewritten)
    >>> done.day, sorted(done)
    ('2026-10-24', ['bitmaps_rewritten', 'day', 'new_ids'])
    >>> again = refresh(wh, "2026-10-24", report=print)  # nothing changed since: nothing is rewritten
    0 new consumer ids
    0 bitmaps rewritten
    """
    d = parse_day(day)
    say = report or (lambda _: None)
    added = ensure_ids(wh)
    say(f"{added:,} new consumer ids")
    new = tag_rows(wh, d)
    with wh.transaction():
        wh.ensure_table(TAGS_TABLE, new.schema())
        wh.ensure_table(BITMAPS_TABLE, {"bkey": "string", "tag": "string", "key": "string", "value": "string",
                                        "num": "int64", "bitmap": "binary"})
        wh.ensure_table(META_TABLE, {"day": "date", "refreshed_at": "timestamp('UTC')"})
        wh.materialize("_tags_new", new)
        old, fresh = wh.table(TAGS_TABLE), wh.table("_tags_new")

        def keyed(t):
            return t.select("id", bkey=t.tag + "|" + t.key.fill_null("") + "|" + t.value)

        changed = keyed(old).difference(keyed(fresh)).union(keyed(fresh).difference(keyed(old)))
        touched = changed.select("bkey").distinct()
        wh.materialize("_touched", touched)
        f = fresh.mutate(bkey=fresh.tag + "|" + fresh.key.fill_null("") + "|" + fresh.value)
        rows = f.semi_join(wh.table("_touched"), "bkey").execute()
        n_touched = int(wh.table("_touched").count().execute())
        out = [{"bkey": k, "tag": g.tag.iloc[0], "key": g.key.iloc[0] if g.key.notna().iloc[0] else None,
                "value": g.value.iloc[0], "num": None if pd.isna(g.num.iloc[0]) else int(g.num.iloc[0]),
                "bitmap": BitMap(g.id.astype("int64").tolist()).serialize()}
               for k, g in rows.groupby("bkey", sort=False)]
        # bitmaps before tags: without a transaction (Spark), a failure in between leaves old tags, and the next
        # refresh rewrites these bitmaps again
        wh.replace_rows(BITMAPS_TABLE, pd.DataFrame(out) if out else None, keys=["bkey"], match=wh.table("_touched"))
        wh.replace_rows(TAGS_TABLE, fresh, keys=[])
        wh.replace_rows(META_TABLE, pd.DataFrame({"day": [d], "refreshed_at": [datetime.now(UTC)]}), keys=[])
    say(f"{n_touched:,} bitmaps rewritten")
    return TagRefresh(day=str(d), new_ids=added, bitmaps_rewritten=n_touched)


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
