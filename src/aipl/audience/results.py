"""Typed results of the audience engine's steps (`aipl.results.Result` subclasses): dicts whose fields also read
as attributes, with a one-line repr. (The use cases' results — CrowdCount, SavedCrowd, … — are in usecases.py.)"""

from __future__ import annotations

from datetime import date

import pandas as pd

from aipl.results import Result


class TagRefresh(Result):
    """What bringing the tags and bitmaps to a `day` changed: consumers given an id (`new_ids`), consumers whose
    tags were recomputed (`recomputed`) and of those whose tags changed (`changed`), and bitmaps rewritten (what
    `refresh` returns).

    >>> r = TagRefresh(day="2026-10-24", new_ids=0, recomputed=96, changed=41, bitmaps_rewritten=212)
    >>> r
    TagRefresh(2026-10-24: 0 new consumer ids, 96 consumers recomputed, 41 changed, 212 bitmaps rewritten)
    >>> r.bitmaps_rewritten
    212
    """

    day: str
    new_ids: int
    recomputed: int
    changed: int
    bitmaps_rewritten: int

    def __repr__(self) -> str:
        return (f"TagRefresh({self['day']}: {self['new_ids']:,} new consumer ids, {self['recomputed']:,} consumers "
                f"recomputed, {self['changed']:,} changed, {self['bitmaps_rewritten']:,} bitmaps rewritten)")


class CrowdRecord(Result):
    """A saved crowd's row (what `save` returns): its name, expression (`expr`, and its `tree`), coverage on the
    tag day, source, when it was saved (`created`) and the last day it is valid.

    >>> from datetime import datetime, timezone
    >>> r = CrowdRecord(name="young", expr="age < 30", tree={"tag": "age", "key": None, "op": "<", "value": 30},
    ...                 coverage=111, source="tag", created=datetime(2026, 10, 24, 8, 0, tzinfo=timezone.utc),
    ...                 valid_until=date(2027, 1, 22))
    >>> r
    CrowdRecord(young = age < 30: 111 consumers, valid until 2027-01-22)
    >>> r.to_dict()["created"], r.to_dict()["valid_until"]
    ('2026-10-24T08:00:00+00:00', '2027-01-22')
    """

    name: str
    expr: str
    tree: dict
    coverage: int
    source: str
    created: date
    valid_until: date

    def to_dict(self) -> dict:
        """JSON-ready: the days and times in ISO format.

        >>> CrowdRecord(name="young", valid_until=date(2027, 1, 22)).to_dict()
        {'name': 'young', 'valid_until': '2027-01-22'}
        """
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in self.items()}

    def __repr__(self) -> str:
        return (f"CrowdRecord({self['name']} = {self['expr']}: {self['coverage']:,} consumers, valid until "
                f"{self['valid_until']})")


class LookalikeScores(Result):
    """A lookalike model's `scores` for every consumer outside the seed (best first; the top `size` = k·|seed|
    are the lookalike crowd) and its summary: the `seed` size, the `unlabeled` sample, the PU constant `c`,
    `k`, the tags `left_out` and the `top_features` (what `lookalike` returns); the `method` that chose the crowd
    ("lookalike", or "rule" when the model did not beat the `rule` it replaces on held-out consumers), and that
    comparison, `holdout` (precision and lift with its 95 % interval against the rule's; None without one).

    >>> r = LookalikeScores(scores=pd.Series([0.9, 0.7, 0.2], index=[7, 3, 5]), seed=1, unlabeled=3, c=0.5, k=2.0,
    ...                     left_out=[], size=2, top_features={"age": 0.6})
    >>> r
    LookalikeScores(seed 1 × k 2.0: top 2 of 3 scored, c 0.500; top feature age)
    >>> r.top.tolist(), r.to_dict()["size"]
    ([7, 3], 2)
    >>> LookalikeScores(scores=pd.Series([0.9]), seed=30, c=0.5, k=1.0, size=30, top_features={}, method="rule",
    ...                 rule="carted or favourited in 15 days", holdout={"precision": 0.2, "rule_precision": 0.3})
    LookalikeScores(seed 30 × k 1.0: top 30 of 1 scored, c 0.500; fell back to the rule: carted or favourited \
in 15 days, precision 20.0% vs the rule's 30.0% on held-out consumers)
    """

    scores: pd.Series
    seed: int
    unlabeled: int
    c: float
    k: float
    left_out: list[str]
    size: int
    top_features: dict[str, float]
    method: str
    rule: str
    holdout: dict | None

    @property
    def top(self) -> pd.Index:
        """The consumers of the lookalike crowd: the `size` best scored.

        >>> LookalikeScores(scores=pd.Series([0.9, 0.2], index=[7, 5]), size=1).top.tolist()
        [7]
        """
        return self["scores"].head(self["size"]).index

    def to_dict(self) -> dict:
        """JSON-ready: the summary (the per-consumer scores stay in `scores`).

        >>> LookalikeScores(scores=pd.Series([0.9]), seed=1, size=1, c=0.5).to_dict()
        {'seed': 1, 'size': 1, 'c': 0.5}
        """
        return {k: v for k, v in self.items() if k != "scores"}

    def __repr__(self) -> str:
        top = next(iter(self["top_features"]), None)
        head = (f"LookalikeScores(seed {self['seed']:,} × k {self['k']}: top {self['size']:,} of "
                f"{len(self['scores']):,} scored, c {self['c']:.3f}")
        if self.get("method") == "rule":
            h = self["holdout"]
            return (f"{head}; fell back to the rule: {self['rule']}, precision {h['precision']:.1%} vs the rule's "
                    f"{h['rule_precision']:.1%} on held-out consumers)")
        return head + (f"; top feature {top})" if top else ")")
