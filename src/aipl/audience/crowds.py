"""Saved crowds, built-in crowds, insight (TGI profile against a base, overlap, AIPL flows) and export with an
audit log. A crowd is an expression (text or tree) evaluated on the tag index (see index.py)."""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
from pyroaring import BitMap

from aipl.audience.index import TagIndex, tag_day
from aipl.audience.lang import parse, to_text
from aipl.audience.tags import CATALOGUE, IDS_TABLE, STRATEGY_CROWDS
from aipl.warehouse import Warehouse

CROWDS_TABLE = "crowds"
EXPORTS_TABLE = "crowd_exports"
VALID_DAYS = 90  # DOMAIN.md §9.2 [P]: a crowd is valid for 90 days

LOWER_TIER = 'city_tier in (3, 4, 5, 6)'  # 下沉: third-tier cities and below (DOMAIN.md §9.3 [P])
BUILT_IN = {  # name -> (zh, expression)
    **{f"strategy_{k}": (v, f'strategy_crowd = "{k}"') for k, v in STRATEGY_CROWDS.items() if k != "other"},
    "lower_tier_active_youth": ("小镇高活青年", f"{LOWER_TIER} and age between 18 and 30 and active_days_30d >= 10"),
    "lower_tier_bargain_hunters": ("9块9包邮党", f"{LOWER_TIER} and cheap_share_180d >= 60"),
    "lower_tier_upgraders": ("消费升级人群", f"{LOWER_TIER} and aup_growth >= 130"),
    "lower_tier_high_spenders": ("下沉市场高消费力人群", f"{LOWER_TIER} and purchasing_power >= 4"),
    "lower_tier_beauty_lovers": ("美妆偏好人群", f'{LOWER_TIER} and top_category in ("skincare", "makeup")'),
}


def penetration(bought: str, never: str, days: int = 365) -> str:
    """The cross-category penetration crowd: buyers of category `bought` who never bought `never` (within
    `days`), e.g. Fashion × Beauty."""
    return (f'count(event="purchase", category="{bought}", days={days}) >= 1 and '
            f'not count(event="purchase", category="{never}", days={days}) >= 1')


def tree_of(expr: str | dict) -> dict:
    """A tree from text, JSON text, a tree, or the name of a built-in crowd."""
    if isinstance(expr, dict):
        return expr
    if expr in BUILT_IN:
        return parse(BUILT_IN[expr][1])
    if expr.lstrip().startswith("{"):
        return json.loads(expr)
    return parse(expr)


def _ensure_tables(wh: Warehouse) -> None:
    wh.ensure_table(CROWDS_TABLE, {
        "name": "string", "expr": "string", "tree": "string", "coverage": "int64", "source": "string",
        "created": "timestamp('UTC')", "valid_until": "date"})
    wh.ensure_table(EXPORTS_TABLE, {
        "crowd": "string", "actor": "string", "exported_at": "timestamp('UTC')", "rows": "int64",
        "path": "string", "sha256": "string"})


def save(wh: Warehouse, name: str, expr: str | dict, source: str = "tag", index: TagIndex | None = None) -> dict:
    """Save (or replace) a named crowd with its coverage on the tag day; valid for 90 days."""
    tree = tree_of(expr)
    index = index or TagIndex.load(wh)
    n = index.count(tree)
    _ensure_tables(wh)
    row = {"name": name, "expr": to_text(tree), "tree": json.dumps(tree, ensure_ascii=False), "coverage": n,
           "source": source, "created": datetime.now(UTC), "valid_until": (index.day or date.today())
           + timedelta(days=VALID_DAYS)}
    wh.replace_rows(CROWDS_TABLE, pd.DataFrame([row]), keys=["name"])
    return {**row, "tree": tree}


def saved(wh: Warehouse, name: str) -> dict:
    """A saved crowd (a built-in one when no saved crowd has the name)."""
    if CROWDS_TABLE in wh.con.list_tables():
        t = wh.table(CROWDS_TABLE)
        rows = t.filter(t.name == name).execute()
        if len(rows):
            r = rows.iloc[0].to_dict()
            return {**r, "tree": json.loads(r["tree"])}
    if name in BUILT_IN:
        return {"name": name, "expr": BUILT_IN[name][1], "tree": parse(BUILT_IN[name][1]), "source": "built-in"}
    raise ValueError(f"no crowd named {name!r} (see `aipl crowd list`)")


def listing(wh: Warehouse) -> pd.DataFrame:
    """Saved crowds, then the built-in ones."""
    rows = wh.table(CROWDS_TABLE).execute() if CROWDS_TABLE in wh.con.list_tables() else pd.DataFrame()
    built = pd.DataFrame([{"name": k, "expr": v[1], "source": f"built-in: {v[0]}"} for k, v in BUILT_IN.items()])
    return pd.concat([rows.drop(columns=["tree"], errors="ignore"), built], ignore_index=True)


def consumer_ids(wh: Warehouse, ids: BitMap) -> pd.DataFrame:
    """The consumer ids behind dense ids, sorted."""
    t = wh.table(IDS_TABLE)
    pick = ibis.memtable({"id": list(ids)}, schema={"id": "int64"})
    return t.inner_join(pick, "id").select("consumer_id").order_by("consumer_id").execute()


def consumers_of(wh: Warehouse, index: TagIndex, trees: list[dict]) -> set[str]:
    """The consumer ids in any of the crowds (their trees)."""
    ids = BitMap()
    for tree in trees:
        ids |= index.evaluate(tree)
    return set(consumer_ids(wh, ids).consumer_id)


def insight(index: TagIndex, crowd: BitMap, base: BitMap | None = None, min_share: float = 0.01) -> pd.DataFrame:
    """Every tag value's share in the crowd and in the base (default: everyone) and TGI = 100 × share in
    crowd ÷ share in base; values held by less than `min_share` of the crowd are left out."""
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
    """Each pair of crowds: sizes, the intersection and the Jaccard index."""
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
    """The crowd's moves between AIPL states with the brand from `start` to `end` (a 5×5 matrix)."""
    from aipl.assets import ensure_built, states
    from aipl.assets.query import FLOW_STATES

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


def _check_size(wh: Warehouse, what: str, n: int) -> None:
    minimum = wh.config.min_crowd_size
    if n < minimum:
        raise ValueError(f"{what} has {n:,} consumers, below the minimum export size {minimum} "
                         "([privacy] min_crowd_size in aipl.toml): not exported")


def export_ids(wh: Warehouse, what: str, df: pd.DataFrame, out: str | Path, actor: str | None = None) -> dict:
    """Write consumer ids (and any other columns of `df`) to CSV or Parquet if there are at least [privacy]
    min_crowd_size of them, and log who exported what, when, where, and the file's digest (crowd_exports)."""
    _check_size(wh, what, len(df))
    out = Path(out)
    (df.to_parquet if out.suffix == ".parquet" else df.to_csv)(out, index=False)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    _ensure_tables(wh)
    row = {"crowd": what, "actor": actor or getpass.getuser(), "exported_at": datetime.now(UTC), "rows": len(df),
           "path": str(out.resolve()), "sha256": digest}
    wh.con.insert(EXPORTS_TABLE, ibis.memtable(pd.DataFrame([row])).cast(wh.table(EXPORTS_TABLE).schema()))
    return row


def export(wh: Warehouse, name: str, ids: BitMap, out: str | Path, actor: str | None = None) -> dict:
    """Export a crowd's consumer ids (see export_ids)."""
    _check_size(wh, f"crowd {name!r}", len(ids))  # refuse before looking the ids up
    return export_ids(wh, f"crowd {name!r}", consumer_ids(wh, ids), out, actor)


__all__ = ["BUILT_IN", "crowd_flow", "export", "export_ids", "insight", "listing", "overlap", "penetration", "save",
           "saved", "tag_day", "tree_of"]
