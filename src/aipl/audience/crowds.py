"""Saved crowds, built-in crowds, insight (TGI profile against a base, overlap, AIPL flows) and export with an
audit log. A crowd is an expression (text or tree) evaluated on the tag index (see index.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
from pyroaring import BitMap

from aipl.assets import FLOW_STATES, ensure_built, states
from aipl.audience.index import TagIndex, tag_day
from aipl.audience.lang import check, from_json, parse, to_text
from aipl.audience.results import CrowdRecord
from aipl.audience.saved import BUILT_IN, CROWDS_TABLE, saved
from aipl.audience.tags import CATALOGUE, IDS_TABLE
from aipl.privacy import ExportRecord, check_export_size, export_ids
from aipl.warehouse import Warehouse

VALID_DAYS = 90  # DOMAIN.md §9.2 [P]: a crowd is valid for 90 days



def penetration(bought: str, never: str, days: int = 365) -> str:
    """The cross-category penetration crowd: buyers of category `bought` who never bought `never` (within
    `days`), e.g. Fashion × Beauty.

    >>> from aipl.audience import parse
    >>> parse(penetration("womenswear", "skincare", days=180))["and"][1]["not"]["count"]
    {'event': 'purchase', 'category': 'skincare', 'days': 180}
    """
    return (f'count(event="purchase", category="{bought}", days={days}) >= 1 and '
            f'not count(event="purchase", category="{never}", days={days}) >= 1')


def tree_of(expr: str | dict) -> dict:
    """A tree from text, JSON text, a tree, or the name of a built-in crowd.

    >>> tree_of("strategy_gen_z")
    {'tag': 'strategy_crowd', 'key': None, 'op': '=', 'value': 'gen_z'}
    >>> tree_of('{"crowd": "young"}'), tree_of("age < 30")["op"]
    ({'crowd': 'young'}, '<')
    """
    if isinstance(expr, dict):
        return check(expr)
    if expr in BUILT_IN:
        return parse(BUILT_IN[expr][1])
    if expr.lstrip().startswith("{"):
        return from_json(expr)
    return parse(expr)


def _ensure_tables(wh: Warehouse) -> None:
    wh.ensure_table(CROWDS_TABLE, {
        "name": "string", "expr": "string", "tree": "string", "coverage": "int64", "source": "string",
        "created": "timestamp('UTC')", "valid_until": "date"})


def save(wh: Warehouse, name: str, expr: str | dict, source: str = "tag", index: TagIndex | None = None
         ) -> CrowdRecord:
    """Save (or replace) a named crowd with its coverage on the tag day; valid for 90 days. Returns the saved
    row (name, expr, tree, coverage, source, created, valid_until).

    >>> from aipl.audience import refresh, save
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> row = save(wh, "young_women", 'age < 30 and gender = "F"')
    >>> row  # doctest: +NORMALIZE_WHITESPACE
    CrowdRecord(young_women = age < 30 and gender = "F": 64 consumers, valid until 2027-01-22)
    >>> row["expr"], row["coverage"], row["valid_until"]
    ('age < 30 and gender = "F"', 64, datetime.date(2027, 1, 22))
    """
    tree = tree_of(expr)
    index = index or TagIndex.load(wh)
    n = index.count(tree)
    _ensure_tables(wh)
    row = {"name": name, "expr": to_text(tree), "tree": json.dumps(tree, ensure_ascii=False), "coverage": n,
           "source": source, "created": datetime.now(UTC), "valid_until": (index.day or date.today())
           + timedelta(days=VALID_DAYS)}
    wh.replace_rows(CROWDS_TABLE, pd.DataFrame([row]), keys=["name"])
    return CrowdRecord({**row, "tree": tree})


def listing(wh: Warehouse) -> pd.DataFrame:
    """Saved crowds, then the built-in ones.

    >>> from aipl.simulate import sample_warehouse
    >>> crowds = listing(sample_warehouse())
    >>> crowds[crowds.name == "strategy_gen_z"][["expr", "source"]].to_dict("records")
    [{'expr': 'strategy_crowd = "gen_z"', 'source': 'built-in: GenZ'}]
    """
    rows = wh.table(CROWDS_TABLE).execute() if CROWDS_TABLE in wh.con.list_tables() else pd.DataFrame()
    built = pd.DataFrame([{"name": k, "expr": v[1], "source": f"built-in: {v[0]}"} for k, v in BUILT_IN.items()])
    return pd.concat([rows.drop(columns=["tree"], errors="ignore"), built], ignore_index=True)


def consumer_ids(wh: Warehouse, ids: BitMap) -> pd.DataFrame:
    """The consumer ids behind dense ids, sorted.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> consumer_ids(wh, BitMap([2, 0])).consumer_id.tolist()
    ['c00000000', 'c00000002']
    """
    t = wh.table(IDS_TABLE)
    pick = ibis.memtable({"id": list(ids)}, schema={"id": "int64"})
    return t.inner_join(pick, "id").select("consumer_id").order_by("consumer_id").execute()


def consumers_of(wh: Warehouse, index: TagIndex, trees: list[dict]) -> set[str]:
    """The consumer ids in any of the crowds (their trees).

    >>> from aipl.audience import TagIndex, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> sorted(consumers_of(wh, TagIndex.load(wh), [parse("age < 20"), parse("age > 60")]))[:3]
    ['c00000020', 'c00000156', 'c00000186']
    """
    ids = BitMap()
    for tree in trees:
        ids |= index.evaluate(tree)
    return set(consumer_ids(wh, ids).consumer_id)


def insight(index: TagIndex, crowd: BitMap, base: BitMap | None = None, min_share: float = 0.01) -> pd.DataFrame:
    """Every tag value's share in the crowd and in the base (default: everyone) and TGI = 100 × share in
    crowd ÷ share in base; values held by less than `min_share` of the crowd are left out.

    >>> from aipl.audience import TagIndex, insight, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> index = TagIndex.load(wh)
    >>> profile = insight(index, index.evaluate(parse('age < 30 and gender = "F"')))
    >>> profile.columns.tolist()
    ['tag', 'name', 'key', 'value', 'crowd_share', 'base_share', 'tgi']
    >>> profile[profile.tag == "gender"][["value", "crowd_share", "base_share", "tgi"]].round(2).to_dict("records")
    [{'value': 'F', 'crowd_share': 1.0, 'base_share': 0.56, 'tgi': 178.57}]
    """
    base = base if base is not None else BitMap(index.universe)
    nc, nb = len(crowd), len(base)
    if not nc or not nb:
        raise ValueError("the crowd and the base must not be empty")
    rows = []
    for (tag, key), values in index.bitmaps.items():
        spec = CATALOGUE[tag]
        for value, bm in values.items():
            in_crowd = crowd.intersection_cardinality(bm) / nc
            if in_crowd < min_share:
                continue
            in_base = base.intersection_cardinality(bm) / nb
            rows.append({"tag": tag, "name": f"{spec.zh} {spec.en}", "key": key, "value": value,
                         "crowd_share": in_crowd, "base_share": in_base,
                         "tgi": 100 * in_crowd / in_base if in_base else None})
    return pd.DataFrame(rows).sort_values(["tag", "key", "value"], key=lambda c: c.astype(str), ignore_index=True)


def overlap(crowds: dict[str, BitMap]) -> pd.DataFrame:
    """Each pair of crowds: sizes, the intersection and the Jaccard index.

    >>> overlap({"a": BitMap([1, 2, 3]), "b": BitMap([2, 3, 4, 5])}).to_dict("records")
    [{'a': 'a', 'b': 'b', 'size_a': 3, 'size_b': 4, 'both': 2, 'jaccard': 0.4}]
    """
    names = list(crowds)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = crowds[a].intersection_cardinality(crowds[b])
            union = len(crowds[a]) + len(crowds[b]) - both
            rows.append({"a": a, "b": b, "size_a": len(crowds[a]), "size_b": len(crowds[b]), "both": both,
                         "jaccard": both / union if union else 0.0})
    return pd.DataFrame(rows)


def crowd_flow(wh: Warehouse, ids: BitMap, brand: str, start: str | date, end: str | date) -> dict:
    """The crowd's moves between AIPL states with the brand from `start` to `end` (a 5×5 matrix, "none" for no
    state).

    >>> from aipl.audience import TagIndex, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> ids = TagIndex.load(wh).evaluate(parse("age < 30"))
    >>> flow = crowd_flow(wh, ids, "B01", "2026-10-01", "2026-10-24")
    >>> flow["consumers"], flow["matrix"]["none"]
    (111, {'none': 70, 'A': 18, 'I': 3, 'P': 0, 'L': 0})
    """
    ensure_built(wh)
    members = consumer_ids(wh, ids)
    pick = ibis.memtable(members)
    a = states(wh, "brand", start, brand).select("consumer_id", s0="aipl")
    b = states(wh, "brand", end, brand).select("consumer_id", s1="aipl")
    j = pick.left_join(a, "consumer_id").left_join(b, "consumer_id")
    cells = j.select(s0=j.s0.fill_null("none"), s1=j.s1.fill_null("none")).group_by(["s0", "s1"]).aggregate(
        n=lambda t: t.count()).execute()
    matrix = {s: {t: 0 for t in FLOW_STATES} for s in FLOW_STATES}
    for r in cells.itertuples():
        matrix[r.s0][r.s1] = int(r.n)
    return {"brand": brand, "from": str(start), "to": str(end), "consumers": len(members), "matrix": matrix}


def export(wh: Warehouse, name: str, ids: BitMap, out: str | Path, actor: str | None = None,
           id_type: str = "consumer_id", hashing: str | None = None, expr: str | None = None,
           viewer: Iterable[str] | None = None) -> ExportRecord:
    """Export a crowd's consumer ids, or their hashed phone numbers, OAIDs or IDFAs (see export_ids); a crowd
    below [privacy] min_crowd_size is refused.

    >>> import tempfile
    >>> from aipl.audience import TagIndex, export, parse, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> index = TagIndex.load(wh)
    >>> ids = index.evaluate(parse("age < 60"))
    >>> row = export(wh, "under_60", ids, f"{tempfile.mkdtemp()}/under_60.csv", actor="analyst")
    >>> row["crowd"], row["rows"] == len(ids)
    ("crowd 'under_60'", True)
    >>> export(wh, "teens", index.evaluate(parse("age < 20")), f"{tempfile.mkdtemp()}/teens.csv")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aipl.privacy.PrivacyError: crowd 'teens' has 3 consumers, below the minimum export size 100 ...: not exported
    """
    check_export_size(wh, f"crowd {name!r}", len(ids))  # refuse before looking the ids up
    return export_ids(wh, f"crowd {name!r}", consumer_ids(wh, ids), out, actor, id_type, hashing, expr, viewer)


__all__ = ["BUILT_IN", "crowd_flow", "export", "export_ids", "insight", "listing", "overlap", "penetration", "save",
           "saved", "tag_day", "tree_of"]
