"""The crowd use cases that a notebook, the CLI (`aipl crowd …`) and the API (`/api/crowds`) all call, with the
same arguments: a crowd's tree from what the user typed, its count, saving and listing crowds, insight,
lookalike, export, the members of named crowds, and the tag catalogue.

A `namespace` (the API's tenant) makes saved crowd and list names its own: `crowd("young")` means the
namespace's `young` (built-in crowds are shared), saved names are stored under `namespace:name`, and neither
results nor error messages show the prefix. Without a namespace (the CLI, a notebook) names are used as they
are. A crowd given by a bare name (`young`) is the saved or built-in crowd of that name.

    >>> crowd_tree("age < 30 and gender = 'F'")["and"][0]
    {'tag': 'age', 'key': None, 'op': '<', 'value': 30}
    >>> crowd_tree("young", namespace="acme")
    {'crowd': 'acme:young'}
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from pyroaring import BitMap

from aipl.audience.crowds import (
    consumer_ids,
    consumers_of,
    crowd_flow,
    export,
    insight,
    listing,
    overlap,
    tree_of,
)
from aipl.audience.crowds import save as save_crowd
from aipl.audience.index import TagIndex
from aipl.audience.lang import CrowdSyntaxError, to_text
from aipl.audience.lookalike import features, lookalike
from aipl.audience.peers import Sight, check_crowd, sight, visible_features, visible_profile
from aipl.audience.saved import BUILT_IN, BUILT_IN_INFO
from aipl.audience.sectors import category_groups, cross_category, crowd_spend
from aipl.audience.tags import CATALOGUE, VALUE_LABELS
from aipl.clv import save_list
from aipl.privacy import PrivacyError, check_export_size
from aipl.warehouse import Warehouse

REFS = ("crowd", "list")  # tree nodes that name a saved crowd or a saved consumer list
APPAREL_CROWDS = ("apparel_gen_z", "apparel_trend", "apparel_luxury")  # the seeds' GENZ, 潮流人群, 奢品人群


def crowd_tree(expr: str | dict, namespace: str | None = None) -> dict:
    """The crowd tree of an expression (docs/crowds.md), its JSON tree, or a saved or built-in crowd's bare
    name; with a `namespace`, the saved crowds and lists it names are the namespace's own. A ValueError says
    where an expression does not parse.

    >>> crowd_tree('aipl(brand="B01") in ("P", "L")')
    {'tag': 'aipl', 'key': 'B01', 'op': 'in', 'value': ['P', 'L']}
    >>> crowd_tree('crowd("mine") or crowd("strategy_gen_z")', namespace="acme")
    {'or': [{'crowd': 'acme:mine'}, {'crowd': 'strategy_gen_z'}]}
    >>> crowd_tree("age between 20 and")
    Traceback (most recent call last):
    ...
    ValueError: the crowd expression does not parse at column 19: expected a number, found the end of the expression
      age between 20 and
                        ^
    """
    if isinstance(expr, str) and expr.isidentifier():  # a bare name is never an expression ("no crowd named …")
        tree: dict = {"crowd": expr}
    else:
        try:
            tree = tree_of(expr)
        except CrowdSyntaxError as exc:
            raise ValueError(f"the crowd expression does not parse {exc}") from exc
    return _within(tree, namespace) if namespace else tree


def brands_of(tree: dict) -> set[str]:
    """The brands a crowd tree names: keys of brand-keyed tags and the brand of behaviour counts (saved
    crowds it refers to were checked when they were saved).

    >>> sorted(brands_of(crowd_tree('aipl(brand="B01") = "A" or count(event="purchase", brand="B02", days=30) >= 1')))
    ['B01', 'B02']
    """
    if isinstance(tree, list):
        return set().union(*map(brands_of, tree)) if tree else set()
    if not isinstance(tree, dict):
        return set()
    if "count" in tree:
        brand = tree["count"].get("brand")
        return {str(brand)} if brand is not None else set()
    if "tag" in tree:
        spec = CATALOGUE.get(tree["tag"])
        return {str(tree["key"])} if spec is not None and spec.key == "brand" and tree.get("key") is not None else set()
    return set().union(*(brands_of(v) for k, v in tree.items() if k not in REFS))


@dataclass(frozen=True)
class CrowdCount:
    """How many of the `of` consumers with tags the crowd `expr` holds on the tag `day`, counted in `ms`.

    >>> from aipl.audience import count_crowd, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> res = count_crowd(wh, 'age < 30 and gender = "F"')
    >>> res.expr, res.count, res.of, res.day
    ('age < 30 and gender = "F"', 64, 400, datetime.date(2026, 10, 24))
    """

    expr: str
    count: int
    of: int
    day: date | None
    ms: float
    tree: dict = field(repr=False)

    def to_dict(self) -> dict:
        """The count as JSON-ready values.

        >>> from datetime import date
        >>> CrowdCount("age < 30", 111, 400, date(2026, 10, 24), 0.2, {}).to_dict()
        {'expr': 'age < 30', 'count': 111, 'of': 400, 'day': '2026-10-24', 'ms': 0.2, 'tree': {}}
        """
        return {**asdict(self), "day": _iso(self.day)}


@dataclass(frozen=True)
class SavedCrowd:
    """A saved crowd: its name, expression, coverage on the tag day and the last day it is valid.

    >>> from aipl.audience import create_crowd, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> create_crowd(wh, "young", "age < 30")
    SavedCrowd(name='young', expr='age < 30', coverage=111, valid_until=datetime.date(2027, 1, 22), source='tag')
    """

    name: str
    expr: str
    coverage: int
    valid_until: date
    source: str

    def to_dict(self) -> dict:
        """The saved crowd as JSON-ready values.

        >>> from datetime import date
        >>> SavedCrowd("young", "age < 30", 111, date(2027, 1, 22), "tag").to_dict()
        {'name': 'young', 'expr': 'age < 30', 'coverage': 111, 'valid_until': '2027-01-22', 'source': 'tag'}
        """
        return {**asdict(self), "valid_until": _iso(self.valid_until)}


@dataclass(frozen=True)
class CrowdInsight:
    """A crowd's `size`, its `profile` (share of each tag value in the crowd and in the base, TGI), its
    `overlap` with the crowds compared, and its AIPL `flow` with a brand (None unless asked).

    >>> from aipl.audience import crowd_insight, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> res = crowd_insight(wh, "age < 30", compare=["strategy_gen_z"], tags=["gender"])
    >>> res
    CrowdInsight(expr='age < 30', size=111)
    >>> res.profile[["value", "crowd_share", "tgi"]].round(2).to_dict("records")
    [{'value': 'F', 'crowd_share': 0.58, 'tgi': 102.96}, {'value': 'M', 'crowd_share': 0.42, 'tgi': 98.47}]
    """

    expr: str
    size: int
    profile: pd.DataFrame = field(repr=False)
    overlap: pd.DataFrame = field(repr=False)
    flow: dict | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The insight as JSON-ready values (the tables as lists of records, NaN as None).

        >>> import pandas as pd
        >>> profile = pd.DataFrame({"tag": ["gender"], "key": [float("nan")], "value": ["F"], "tgi": [103.0]})
        >>> CrowdInsight("age < 30", 111, profile, pd.DataFrame()).to_dict()
        {'expr': 'age < 30', 'size': 111, 'profile': [{'tag': 'gender', 'key': None, 'value': 'F', 'tgi': 103.0}], \
'overlap': [], 'flow': None}
        """
        return {"expr": self.expr, "size": self.size, "profile": _records(self.profile),
                "overlap": _records(self.overlap), "flow": self.flow}


@dataclass(frozen=True)
class LookalikeCrowd:
    """The `size` consumers outside the `seed_size` seed consumers who look most like them (k × the seed),
    the PU-learning constant `c`, the features that decided most, and the crowd name it was saved under
    (what `crowd_lookalike` returns).

    >>> LookalikeCrowd("age < 30", 111, 1.0, 111, 0.99, {"purchases_365d": 310.0}, [], saved="young_lal")
    LookalikeCrowd(seed='age < 30', seed_size=111, k=1.0, size=111, c=0.99, saved='young_lal')
    """

    seed: str
    seed_size: int
    k: float
    size: int
    c: float
    top_features: dict[str, float] = field(repr=False)
    left_out: list[str] = field(repr=False)
    saved: str | None = None
    method: str = field(default="lookalike", repr=False)  # "rule": the model did not beat the rule, which chose
    rule: str = field(default="", repr=False)
    holdout: dict | None = field(default=None, repr=False)  # the model against the rule on held-out consumers

    def to_dict(self) -> dict:
        """The lookalike summary as JSON-ready values.

        >>> LookalikeCrowd("age < 30", 111, 1.0, 111, 0.99, {"age": 310.0}, ["gender=F"]).to_dict()
        {'seed': 'age < 30', 'seed_size': 111, 'k': 1.0, 'size': 111, 'c': 0.99, 'top_features': {'age': 310.0}, \
'left_out': ['gender=F'], 'saved': None, 'method': 'lookalike', 'rule': '', 'holdout': None}
        """
        return asdict(self)


@dataclass(frozen=True)
class CrowdExport:
    """One logged export (crowd_exports): what, by whom, how many ids (or hashed identifiers: `id_type`, `hash`),
    where, the file's sha256, the audit id (`export_id`) and the manifest written beside the file.

    >>> import tempfile
    >>> from aipl.audience import export_crowd, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> done = export_crowd(wh, "age < 60", f"{tempfile.mkdtemp()}/ids.csv", actor="analyst")
    >>> done.crowd, done.actor, done.rows, done.path.endswith("ids.csv"), len(done.sha256), done.manifest[-14:]
    ("crowd 'age < 60'", 'analyst', 395, True, 64, '.manifest.json')
    """

    crowd: str
    actor: str
    rows: int
    path: str
    sha256: str
    exported_at: datetime = field(repr=False)
    export_id: str = field(default="", repr=False)
    id_type: str = "consumer_id"
    hash: str = ""
    expr: str | None = field(default=None, repr=False)
    consumers: int = field(default=0, repr=False)
    manifest: str = field(default="", repr=False)

    def to_dict(self) -> dict:
        """The export's log row as JSON-ready values.

        >>> from datetime import UTC, datetime
        >>> when = datetime(2026, 10, 25, tzinfo=UTC)
        >>> done = CrowdExport("crowd 'age < 60'", "analyst", 395, "/tmp/ids.csv", "ab12", when)
        >>> done.to_dict()["exported_at"]
        '2026-10-25T00:00:00+00:00'
        """
        return {**asdict(self), "exported_at": _iso(self.exported_at)}


def count_crowd(wh: Warehouse, expr: str | dict, namespace: str | None = None,
                index: TagIndex | None = None) -> CrowdCount:
    """How many consumers a crowd holds on the tag day (bitmap index), and how long the count took. `index`
    is a loaded TagIndex to reuse (default: the workspace's).

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> res = count_crowd(wh, "age < 30 and gender = 'F'")
    >>> res.expr, 0 < res.count < res.of
    ('age < 30 and gender = "F"', True)
    """
    tree = crowd_tree(expr)
    index = index or TagIndex.load(wh)
    t0 = time.perf_counter()
    with _answers(namespace):
        n = index.count(_within(tree, namespace))
    return CrowdCount(to_text(tree), n, len(index.universe), index.day, 1000 * (time.perf_counter() - t0), tree)


def create_crowd(wh: Warehouse, name: str, expr: str | dict, namespace: str | None = None,
                 index: TagIndex | None = None, source: str = "tag") -> SavedCrowd:
    """Save (or replace) the crowd `name` with its coverage on the tag day; it is valid for 90 days and other
    crowds can use it as crowd("name").

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> young = create_crowd(wh, "young", "age < 30")
    >>> young.coverage == count_crowd(wh, 'crowd("young")').count, young.source
    (True, 'tag')
    """
    tree = crowd_tree(expr)
    with _answers(namespace):
        row = save_crowd(wh, _named(name, namespace), _within(tree, namespace), source=source, index=index)
    return SavedCrowd(name, to_text(tree), int(row["coverage"]), row["valid_until"], source)


def list_crowds(wh: Warehouse, namespace: str | None = None) -> pd.DataFrame:
    """The saved crowds (the namespace's own, when given), then the built-in ones: name, expr, coverage,
    source, created, valid_until.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> _ = create_crowd(wh, "mine", "age >= 40", namespace="acme")
    >>> "acme:mine" in set(list_crowds(wh).name), "mine" in set(list_crowds(wh, namespace="acme").name)
    (True, True)
    """
    df = listing(wh)
    built = df.source.astype(str).str.startswith("built-in")
    saved = df[~built]
    if namespace:
        prefix = f"{namespace}:"
        saved = saved[saved.name.astype(str).str.startswith(prefix)]
        saved = saved.assign(name=saved.name.str[len(prefix):],
                             expr=saved.expr.astype(str).str.replace(prefix, "", regex=False))
    df = pd.concat([saved, df[built]], ignore_index=True)
    cols = ["name", "expr", "coverage", "source", "created", "valid_until"]
    return df.reindex(columns=cols).reset_index(drop=True)


def crowd_members(wh: Warehouse, crowds: Iterable[str | dict], namespace: str | None = None,
                  index: TagIndex | None = None) -> set[str]:
    """The consumer ids in any of the crowds (names, expressions or trees), e.g. an autopilot's target crowds.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> len(crowd_members(wh, ["strategy_gen_z"])) == count_crowd(wh, "strategy_gen_z").count
    True
    """
    trees = [_within(crowd_tree(c), namespace) for c in crowds]
    with _answers(namespace):
        return consumers_of(wh, index or TagIndex.load(wh), trees)


def crowd_insight(wh: Warehouse, expr: str | dict, base: str | dict | None = None, tags: Iterable[str] = (),
                  compare: Iterable[str | dict] = (), brand: str | None = None, start: str | date | None = None,
                  end: str | date | None = None, namespace: str | None = None,
                  index: TagIndex | None = None, viewer: Iterable[str] | None = None) -> CrowdInsight:
    """A crowd's profile against a base (default: everyone; TGI per tag value, only `tags` when given), its
    overlap with the `compare` crowds, and its AIPL flow with `brand` from `start` to `end` when all three
    are given. A `viewer` (a tenant's brands) sees only the profile rows it may (see `aipl.audience.peers`), and
    no insight of a crowd or a base below [privacy] min_crowd_size.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> res = crowd_insight(wh, "age < 30", compare=["strategy_gen_z"], tags=["gender"])
    >>> sorted(res.profile.value), res.overlap.b.tolist()
    (['F', 'M'], ['crowd("strategy_gen_z")'])
    """
    if brand and bool(start) != bool(end):
        raise ValueError("a crowd's flow needs both start and end")
    index = index or TagIndex.load(wh)
    tree = crowd_tree(expr)
    with _answers(namespace):
        ids = index.evaluate(_within(tree, namespace))
        base_ids = index.evaluate(crowd_tree(base, namespace)) if base else None
    if viewer is not None:  # a tenant profiles no crowd (nor compares with one) smaller than the export minimum
        check_export_size(wh, f"crowd {to_text(tree)!r}", len(ids), "insight")
        if base_ids is not None:
            check_export_size(wh, f"comparison crowd {to_text(crowd_tree(base))!r}", len(base_ids), "insight")
    with _answers(namespace):
        prof = insight(index, ids, base_ids)
        others = {to_text(crowd_tree(c)): index.evaluate(crowd_tree(c, namespace)) for c in compare}
    prof = visible_profile(prof, sight(wh, viewer))
    tags = list(tags)
    if tags:
        prof = prof[prof.tag.isin(tags)].reset_index(drop=True)
    over = overlap({to_text(tree): ids, **others})
    flow = crowd_flow(wh, ids, brand, start, end) if brand and start and end else None
    return CrowdInsight(to_text(tree), len(ids), prof, over, flow)


def crowd_lookalike(wh: Warehouse, seed: str | dict, k: float = 3.0, save: str | None = None,
                    namespace: str | None = None, index: TagIndex | None = None,
                    viewer: Iterable[str] | None = None) -> LookalikeCrowd:
    """Consumers who look like the seed crowd: a PU-learning classifier over the tags and behaviour (those a
    `viewer`, a tenant's brands, may see), the top k·|seed| outside the seed, or the rule it replaces when it
    does not beat it (`method`); saved as a consumer list and a crowd named `save` when given.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> lal = crowd_lookalike(wh, "age < 30", k=1, save="young_lal")
    >>> lal.size == count_crowd(wh, "young_lal").count, lal.saved
    (True, 'young_lal')
    """
    index = index or TagIndex.load(wh)
    tree = crowd_tree(seed)
    with _answers(namespace):
        ids = index.evaluate(_within(tree, namespace))
    seen = sight(wh, viewer)
    # behaviour features count every brand's events: only for a viewer who may see platform-wide data
    x = visible_features(features(wh, with_behaviour=seen.reason("all", None) is None), seen)
    summary = lookalike(x, ids, k)
    if save:
        top = BitMap(summary.top.tolist())
        save_list(wh, _named(save, namespace), "", index.day, consumer_ids(wh, top))
        create_crowd(wh, save, {"list": save}, namespace, index, source=f"lookalike of {to_text(tree)} × {k}")
    return LookalikeCrowd(to_text(tree), int(summary["seed"]), float(k), int(summary["size"]), float(summary["c"]),
                          {str(f): float(v) for f, v in summary["top_features"].items()},
                          [str(f) for f in summary["left_out"]], save, summary["method"], summary["rule"],
                          summary["holdout"])


def export_crowd(wh: Warehouse, expr: str | dict, out: str | Path, actor: str | None = None,
                 namespace: str | None = None, index: TagIndex | None = None, id_type: str = "consumer_id",
                 hashing: str | None = None, viewer: Iterable[str] | None = None) -> CrowdExport:
    """Write a crowd's consumer ids to CSV or Parquet (never below [privacy] min_crowd_size) and log who
    exported what, when, where and the file's digest in crowd_exports; with an `id_type` (phone, oaid, idfa)
    and `hashing` (md5, sha256), the consumers' hashed identifiers instead, as DMPs take them, with a manifest
    beside the file (see `aipl.privacy.export_ids`); for a `viewer` (a tenant's brands) only the identifiers its
    brands hold.

    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/ids.csv"
    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> export_crowd(wh, "age < 60", path, actor="analyst@agency").rows == count_crowd(wh, "age < 60").count
    True
    """
    tree = crowd_tree(expr)
    with _answers(namespace):
        ids = (index or TagIndex.load(wh)).evaluate(_within(tree, namespace))
    name = expr if isinstance(expr, str) and expr.isidentifier() else to_text(tree)
    row = export(wh, name, ids, out, actor, id_type, hashing, to_text(tree), viewer)
    return CrowdExport(row["crowd"], row["actor"], int(row["rows"]), row["path"], row["sha256"], row["exported_at"],
                       row["export_id"], row["id_type"], row["hash"], row["expr"], row["consumers"], row["manifest"])


def tag_catalogue(index: TagIndex | None = None, viewer: Sight | None = None) -> pd.DataFrame:
    """The tags a crowd can use: name, zh, en, kind (number or category), key (what a keyed tag is per),
    description and zh_description; with a loaded `index`, also `values`: each value the tag takes on the tag
    day with its key, how many consumers hold it and its zh and en labels (only what the `viewer`, a tenant's
    Sight, may see).

    >>> tag_catalogue().set_index("name").loc["aipl", "key"]
    'brand'
    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> gender = tag_catalogue(TagIndex.load(wh)).set_index("name").loc["gender", "values"]
    >>> [(v["value"], v["count"], v["zh"], v["en"]) for v in gender]
    [('F', 224, '女', 'Female'), ('M', 172, '男', 'Male'), ('U', 4, '未知', 'Unknown')]
    """
    df = pd.DataFrame([{"name": t.name, "zh": t.zh, "en": t.en, "kind": t.kind, "key": t.key,
                        "description": t.description, "zh_description": t.zh_description} for t in CATALOGUE.values()])
    if index is None:
        return df
    rows = pd.DataFrame([{"tag": tag, "key": key, "value": value, "count": len(bm)}
                         for (tag, key), values in index.bitmaps.items() for value, bm in values.items()],
                        columns=["tag", "key", "value", "count"])
    if viewer is not None:
        rows = visible_profile(rows, viewer)
    rows = rows.sort_values(["tag", "key", "value"], key=lambda c: c.astype(str) if c.name != "value" else
                            c.map(lambda v: (0, v, "") if isinstance(v, int) else (1, 0, str(v))))
    labels = [VALUE_LABELS.get(t, {}).get(str(v), (str(v), str(v))) for t, v in zip(rows.tag, rows.value, strict=True)]
    rows = rows.assign(zh=[z for z, _ in labels], en=[e for _, e in labels])
    grouped = {t: _records(g.drop(columns="tag")) for t, g in rows.groupby("tag", sort=False)}
    return df.assign(values=[grouped.get(name, []) for name in df.name])


def built_in_crowds(wh: Warehouse, index: TagIndex | None = None, viewer: Iterable[str] | None = None
                    ) -> pd.DataFrame:
    """The built-in crowds (strategy, 下沉 lower-tier, apparel, cross-category) with their zh and en names, group,
    expression and size on the tag day; a size the `viewer` (a tenant's brands) may not see is None, with why
    in `withheld`.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> crowds = built_in_crowds(wh).set_index("name")
    >>> crowds.loc["apparel_trend", ["zh", "en", "group"]].tolist()
    ['潮流人群', 'Trend seekers', 'apparel']
    >>> int(crowds.loc["strategy_gen_z", "size"]) == count_crowd(wh, "strategy_gen_z").count
    True
    """
    index = index or TagIndex.load(wh)
    seen = sight(wh, viewer)
    rows = []
    for name, (zh, expr) in BUILT_IN.items():
        tree = crowd_tree(expr)
        try:
            check_crowd(wh, tree, viewer, seen)
            size, why = index.count(tree), None
        except PrivacyError as exc:
            size, why = None, str(exc)
        en, group = BUILT_IN_INFO[name]
        rows.append({"name": name, "zh": zh, "en": en, "group": group, "expr": to_text(tree), "size": size,
                     "withheld": why})
    return pd.DataFrame(rows)


def sector_spend(wh: Warehouse, start: str | date, end: str | date, crowds: Iterable[str | dict] = APPAREL_CROWDS,
                 brand: str | None = None, categories: Iterable[str] = (), namespace: str | None = None,
                 index: TagIndex | None = None, viewer: Iterable[str] | None = None) -> pd.DataFrame:
    """Per-capita spend of crowds (default: the apparel strategy crowds GenZ, 潮流人群, 奢品人群) against the
    market's, from `start` to `end`, over the purchases of `brand` and of the `categories` when given (see
    `aipl.audience.sectors.crowd_spend`); with zh and en names for built-in crowds. A `viewer` (a tenant's
    brands) sees only its brands' purchases, or the market's where enough other brands share it.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> spend = sector_spend(wh, "2026-09-15", "2026-10-24")
    >>> spend.crowd.tolist(), spend.zh.tolist()
    (['apparel_gen_z', 'apparel_trend', 'apparel_luxury'], ['服饰Z世代', '潮流人群', '奢品人群'])
    """
    categories = tuple(categories)
    seen = sight(wh, viewer)
    scope = [("brand", brand)] if brand else [("category", c) for c in categories] or [("all", None)]
    for s, k in scope:
        reason = seen.reason(s, k)
        if reason:
            raise PrivacyError(reason)
    index = index or TagIndex.load(wh)
    named = {}
    with _answers(namespace):
        for c in crowds:
            tree = crowd_tree(c)
            check_crowd(wh, tree, viewer, seen)
            named[c if isinstance(c, str) and c in BUILT_IN else to_text(tree)] = index.evaluate(
                _within(tree, namespace))
    df = crowd_spend(wh, named, start, end, brand, categories)
    return df.assign(zh=[BUILT_IN.get(c, (c, ""))[0] for c in df.crowd],
                     en=[BUILT_IN_INFO.get(c, (c, ""))[0] for c in df.crowd])


def category_penetration(wh: Warehouse, days: int = 365, viewer: Iterable[str] | None = None,
                         index: TagIndex | None = None) -> pd.DataFrame:
    """Cross-category penetration (Fashion × Beauty) over the `days` up to the tag day, between the level-1
    category groups (see `aipl.audience.sectors.cross_category`); a `viewer` (a tenant's brands) sees only the
    pairs whose categories hold none or enough other brands.

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> pen = category_penetration(wh)
    >>> pen.loc[0, ["a", "b"]].tolist(), bool(pen.loc[0, "both"] == count_crowd(wh, pen.loc[0, "expr"]).count)
    (['apparel', 'beauty'], True)
    """
    day = (index or TagIndex.load(wh)).day
    if day is None:
        raise ValueError("no tag index yet: run `aipl crowd refresh --day YYYY-MM-DD` first")
    groups = category_groups(wh)
    seen = sight(wh, viewer)
    hidden = {g for g, cats in groups.items() if any(seen.reason("category", c) for c in cats)}
    if seen.reason("all", None):  # every buyer of a group (the base rate) is platform-wide
        hidden = set(groups)
    pen = cross_category(wh, day, days, groups)
    return pen[~pen.a.isin(hidden) & ~pen.b.isin(hidden)].reset_index(drop=True)


def _within(tree, namespace: str | None):
    """The tree with the saved crowds and lists it names made the namespace's own (built-in crowds stay)."""
    if not namespace:
        return tree
    if isinstance(tree, list):
        return [_within(v, namespace) for v in tree]
    if not isinstance(tree, dict):
        return tree
    return {k: (_ref(k, v, namespace) if k in REFS and isinstance(v, str) else _within(v, namespace))
            for k, v in tree.items()}


def _ref(kind: str, name: str, namespace: str) -> str:
    return name if kind == "crowd" and name in BUILT_IN else _named(name, namespace)


def _named(name: str, namespace: str | None) -> str:
    return f"{namespace}:{name}" if namespace else name


@contextmanager
def _answers(namespace: str | None) -> Iterator[None]:
    """A request the index cannot answer (unknown tag, crowd or list) as a ValueError that names no namespace."""
    try:
        yield
    except (KeyError, ValueError) as exc:
        msg = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        if not namespace and isinstance(exc, ValueError):
            raise
        raise ValueError(msg.replace(f"{namespace}:", "") if namespace else msg) from exc


def _iso(v) -> str | None:
    return None if v is None else v.isoformat()


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in df.astype(object).to_dict("records")]


__all__ = ["APPAREL_CROWDS", "CrowdCount", "CrowdExport", "CrowdInsight", "LookalikeCrowd", "SavedCrowd", "brands_of",
           "built_in_crowds", "category_penetration", "count_crowd", "create_crowd", "crowd_insight", "crowd_lookalike",
           "crowd_members", "crowd_tree", "export_crowd", "list_crowds", "sector_spend", "tag_catalogue"]
