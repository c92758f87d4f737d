"""Lookalike crowds: from a seed crowd and a multiple k, a PU-learning classifier (LightGBM; the seed as
positives, a random sample of everyone else as unlabeled) over the tags and the consumers' behaviour (recency
and frequency of views, carts, favourites and purchases, category affinity) scores every consumer, and the top
k·|seed| outside the seed form the lookalike crowd (DOMAIN.md §9.2 [P]). On held-out seed members the model is
compared with the rule it replaces (carted or favourited in 15 days); a model that does not beat the rule falls
back to it, and says so."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Self

import ibis
import numpy as np
import pandas as pd
from pyroaring import BitMap
from scipy.stats import binomtest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from aipl.audience.index import tag_day
from aipl.audience.results import LookalikeScores
from aipl.audience.tags import CATALOGUE, IDS_TABLE, TAGS_TABLE
from aipl.config import parse_day
from aipl.warehouse import Warehouse

BEHAVIOURS = ("pdp_view", "add_to_cart", "favorite", "purchase")  # the funnel, shallow to deep
WINDOW_DAYS = 15  # the behaviour features' window
TOP_CATEGORIES = 10  # categories with a share-of-events feature each
RULE = f"carted or favourited in {WINDOW_DAYS} days"
RULE_COLUMNS = (f"add_to_cart_{WINDOW_DAYS}d", f"favorite_{WINDOW_DAYS}d")


def _cutoff(wh: Warehouse, until: str | date | datetime | None) -> pd.Timestamp:
    """The instant behaviour is read up to (exclusive): the end of a day in the workspace time zone, or an instant."""
    if until is None:
        until = tag_day(wh) or wh.last_day()
    if isinstance(until, datetime | pd.Timestamp):
        ts = pd.Timestamp(until)
        return (ts.tz_localize(wh.config.timezone) if ts.tzinfo is None else ts).tz_convert("UTC")
    d = parse_day(until)
    return pd.Timestamp(d + timedelta(days=1)).tz_localize(wh.config.timezone).tz_convert("UTC")


def behaviour(wh: Warehouse, until: str | date | datetime | None = None) -> pd.DataFrame:
    """One row per dense id with events before `until` (a day, inclusive, or an instant; default the tag day):
    per funnel step (view, cart, favourite, purchase) the count in the last 15 days (`add_to_cart_15d` …) and a
    recency score 1 / (1 + days since the last one) (`add_to_cart_recency` …; 0 = never), the distinct
    categories, and category affinity: the share of the consumer's events in each of the 10 busiest categories
    (`event_share[c]`) and the purchase rate of the categories it browses (`category_conversion`).

    >>> from aipl.audience import refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> b = behaviour(wh)
    >>> b.index.name, list(b.columns[:4])
    ('id', ['pdp_view_15d', 'add_to_cart_15d', 'favorite_15d', 'purchase_15d'])
    >>> bool((b.purchase_recency <= 1).all()), bool(b.category_conversion.between(0, 1).all())
    (True, True)
    """
    cut = _cutoff(wh, until)
    ev = wh.table("events")
    ids = wh.table(IDS_TABLE)
    ev = ev.filter((ev.ts < ibis.literal(cut)) & ev.event_type.isin(BEHAVIOURS))
    ev = ev.inner_join(ids, "consumer_id")
    recent = ev.ts >= ibis.literal(cut - pd.Timedelta(days=WINDOW_DAYS))
    steps = ev.group_by(["id", "event_type"]).aggregate(n=ev.count(where=recent), last=ev.ts.max()).execute()
    if steps.empty:
        return pd.DataFrame(index=pd.Index([], name="id", dtype="int64"))
    age = (cut - pd.to_datetime(steps["last"], utc=True)).dt.total_seconds() / 86400
    steps = steps.assign(recency=1.0 / (1.0 + age.clip(lower=0)))
    counts = steps.pivot_table(index="id", columns="event_type", values="n", aggfunc="sum")
    rec = steps.pivot_table(index="id", columns="event_type", values="recency", aggfunc="max")
    out = pd.concat([counts.reindex(columns=list(BEHAVIOURS)).add_suffix(f"_{WINDOW_DAYS}d"),
                     rec.reindex(columns=list(BEHAVIOURS)).add_suffix("_recency")], axis=1)
    cats = ev.filter(ev.category_id.notnull() & recent)
    per = cats.group_by(["id", "category_id"]).aggregate(
        n=cats.count(), buys=cats.count(where=cats.event_type == "purchase")).execute()
    if not per.empty:
        by_cat = per.groupby("category_id")[["n", "buys"]].sum()
        per["share"] = per.n / per.groupby("id").n.transform("sum")
        per["conv"] = per.category_id.map(by_cat.buys / by_cat.n)
        aff = per.assign(w=per.share * per.conv).groupby("id").agg(categories=("category_id", "nunique"),
                                                                   category_conversion=("w", "sum"))
        top = by_cat.n.nlargest(TOP_CATEGORIES).index
        shares = per[per.category_id.isin(top)].pivot_table(index="id", columns="category_id", values="share")
        out = out.join(aff, how="left").join(shares.add_prefix("event_share[").add_suffix("]"), how="left")
    out.columns = [str(c) for c in out.columns]
    out.index = out.index.astype("int64").rename("id")
    return out.fillna(0.0).astype("float64").sort_index()


def features(wh: Warehouse, with_behaviour: bool = True) -> pd.DataFrame:
    """One row per dense id: number tags as numbers, category tags one-hot (keyed tags per key), and (unless
    `with_behaviour` is False) the `behaviour` features up to the tag day; 0 when absent.

    >>> from aipl.audience import features, refresh
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = refresh(wh, wh.last_day())  # a small workspace with crowd tags
    >>> x = features(wh)
    >>> len(x), x.index.name, [c for c in x.columns if "B01" in c][:4]
    (400, 'id', ['aipl[B01]=A', 'aipl[B01]=I', 'aipl[B01]=L', 'aipl[B01]=P'])
    >>> x[["age", "gender=F"]].head(3).to_dict("list")
    {'age': [50.0, 43.0, 27.0], 'gender=F': [0.0, 1.0, 1.0]}
    """
    t = wh.table(TAGS_TABLE)
    df = t.execute()
    kinds = df.tag.map(lambda x: CATALOGUE[x].kind)
    name = df.tag + np.where(df.key.notna(), "[" + df.key.fillna("") + "]", "")
    nums = df[kinds == "number"].assign(col=name[kinds == "number"])
    cats = df[kinds == "category"].assign(col=name[kinds == "category"] + "=" + df.value[kinds == "category"])
    wide_n = nums.pivot_table(index="id", columns="col", values="num", aggfunc="max")
    wide_c = cats.assign(one=1.0).pivot_table(index="id", columns="col", values="one", aggfunc="max")
    out = wide_n.join(wide_c, how="outer")
    if with_behaviour:
        out = out.join(behaviour(wh), how="outer")
    return out.fillna(0.0).sort_index()


def _frame(x) -> pd.DataFrame:
    if not isinstance(x, pd.DataFrame):
        raise TypeError("x must be a DataFrame of features indexed by consumer id (see `features`)")
    return x


def rule_members(x: pd.DataFrame) -> pd.Series | None:
    """Who the rule a lookalike replaces picks (carted or favourited in 15 days), per row of `x`; None when `x`
    has no behaviour features.

    >>> x = pd.DataFrame({"add_to_cart_15d": [0, 2, 0], "favorite_15d": [1, 0, 0]}, index=[4, 5, 6])
    >>> rule_members(x).tolist(), rule_members(x[["favorite_15d"]])
    ([True, True, False], None)
    """
    if not all(c in x.columns for c in RULE_COLUMNS):
        return None
    return (x[list(RULE_COLUMNS)] > 0).any(axis=1)


def wilson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion hits / n.

    >>> [round(v, 4) for v in wilson(8, 31)]
    [0.137, 0.4325]
    """
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(hits, n).proportion_ci(confidence_level=level, method="wilson")
    return (float(ci.low), float(ci.high))


class Lookalike(BaseEstimator):
    """PU-learning lookalike (Elkan & Noto 2008): a classifier of seed (labelled positives) vs a random sample of
    everyone else (unlabeled, `unlabeled_ratio` × the seed) ranks consumers as a classifier of positive vs
    negative would. A share `holdout_share` of the seed and of everyone else is held out of training: it
    estimates c = P(labelled | positive) and compares the model with the rule it replaces (carted or favourited
    in 15 days, when `x` has the behaviour features): at the rule's size, does the model find more held-out seed
    members, beyond doubt (the 95 % Wilson lower bound of its precision above the rule's precision)? If not, the
    crowd falls back to the rule (`method_` "rule": the rule's members first). Features
    that (almost) define the seed, e.g. aipl[B]=P for a seed of B's buyers, say nothing about who else resembles
    it and are left out. `k` is the crowd's size as a multiple of the seed's; `classifier` is any scikit-learn
    classifier (None: LightGBM gradient boosting).

    Fitted: `classifier_`, `seed_ids_`, `left_out_`, `feature_names_in_`, `n_features_in_`, `n_unlabeled_`, `c_`,
    `size_` (k·|seed|, at most everyone outside the seed), `feature_importances_` (a Series, best first),
    `holdout_` (the comparison with the rule: precision and lift with a 95 % Wilson interval, or None) and
    `method_` ("lookalike" or "rule").

    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
    >>> seed = x.index[x.a > 1.0][::2]  # the seed: half of the consumers with a high `a`
    >>> m = Lookalike(k=1.0).fit(x, seed)
    >>> m, m.size_, m.feature_importances_.index[0], m.method_, m.holdout_  # no behaviour: no rule to compare
    (Lookalike(k=1.0), 39, 'a', 'lookalike', None)
    >>> crowd = m.rank(x).index[: m.size_]
    >>> bool((x.a[crowd] > 1.0).mean() > 0.8)  # most of the crowd has a high `a` too
    True
    """

    def __init__(self, k: float = 3.0, unlabeled_ratio: float = 5.0, holdout_share: float = 0.2,
                 classifier: BaseEstimator | None = None, random_state: int = 0):
        self.k = k
        self.unlabeled_ratio = unlabeled_ratio
        self.holdout_share = holdout_share
        self.classifier = classifier
        self.random_state = random_state

    def _classifier(self) -> BaseEstimator:
        if self.classifier is not None:
            return clone(self.classifier)
        from lightgbm import LGBMClassifier  # heavy: imported only when a lookalike is fitted

        return LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31, min_child_samples=20,
                              subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=self.random_state,
                              verbose=-1)

    def fit(self, x: pd.DataFrame, seed: Iterable[int]) -> Self:
        """Learn who resembles the seed: `x` holds one row of features per consumer id (its index, e.g. from
        `features`), `seed` the seed's ids (a BitMap or any iterable; ids without a row are ignored).

        >>> import numpy as np, pandas as pd
        >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
        >>> m = Lookalike()
        >>> m.fit(x, x.index[x.a > 1.0][::2]) is m, len(m.seed_ids_)
        (True, 39)
        """
        x = _frame(x)
        if self.k <= 0 or self.unlabeled_ratio <= 0 or not 0 <= self.holdout_share < 1:
            raise ValueError("need k > 0, unlabeled_ratio > 0 and 0 <= holdout_share < 1")
        ids = x.index.to_numpy()
        seed_ids = np.array(sorted(seed), dtype=np.int64)
        seed_ids = seed_ids[np.isin(seed_ids, ids)]
        if len(seed_ids) < 20:
            raise ValueError(f"the seed has {len(seed_ids)} consumers with tags; a lookalike needs at least 20")
        rng = np.random.default_rng(self.random_state)
        others = ids[~np.isin(ids, seed_ids)]
        if not len(others):
            raise ValueError("everyone is in the seed: nobody to find")
        in_seed, outside = (x.loc[seed_ids] > 0).mean(), (x.loc[others] > 0).mean()
        defining = x.columns[((in_seed >= 0.9) & (outside <= 0.1)) | ((in_seed <= 0.1) & (outside >= 0.9))]
        rule = rule_members(x)
        x = x.drop(columns=defining)
        hold = rng.random(len(seed_ids)) < self.holdout_share
        held_out = rng.random(len(others)) < self.holdout_share  # everyone else's share kept for the comparison
        pool = others[~held_out]
        unl = rng.choice(pool, size=min(len(pool), int(self.unlabeled_ratio * len(seed_ids))), replace=False)
        train_ids = np.concatenate([seed_ids[~hold], unl])
        y = np.r_[np.ones((~hold).sum()), np.zeros(len(unl))]
        self.classifier_ = self._classifier().fit(x.loc[train_ids].to_numpy(), y)
        self.seed_ids_ = seed_ids
        self.left_out_ = list(defining)
        self.feature_names_in_ = x.columns.to_numpy(dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.n_unlabeled_ = len(unl)
        self.c_ = float(self.classifier_.predict_proba(x.loc[seed_ids[hold]].to_numpy())[:, 1].mean()) \
            if hold.any() else 1.0
        self.size_ = min(len(others), round(self.k * len(seed_ids)))
        self.feature_importances_ = pd.Series(getattr(self.classifier_, "feature_importances_", np.nan),
                                              index=x.columns, name="importance").sort_values(ascending=False)
        self.holdout_ = self._against_rule(x, rule, seed_ids[hold], others[held_out])
        self.method_ = "rule" if self.holdout_ is not None and not self.holdout_["beats_rule"] else "lookalike"
        return self

    def _against_rule(self, x: pd.DataFrame, rule: pd.Series | None, pos: np.ndarray, neg: np.ndarray
                      ) -> dict | None:
        """On held-out consumers (seed members `pos`, everyone else `neg`): the model's precision at the rule's
        size against the rule's, with the lift over the base rate and its Wilson interval."""
        pool = np.concatenate([pos, neg])
        if rule is None or not len(pos) or not len(neg):
            return None
        picked = rule.reindex(pool, fill_value=False).to_numpy()
        m = int(picked.sum())
        if m == 0:
            return None
        truth = np.isin(pool, pos)
        scores = self.classifier_.predict_proba(x.loc[pool].to_numpy())[:, 1]
        top = np.argsort(-scores, kind="stable")[:m]
        hits, rule_hits = int(truth[top].sum()), int(truth[picked].sum())
        base = len(pos) / len(pool)
        lo, hi = wilson(hits, m)
        # the model is kept only when its precision's 95 % lower bound clears the rule's: a win within the noise
        # of a small holdout is no win
        return {"consumers": len(pool), "seed_members": len(pos), "base_rate": base, "chosen": m,
                "precision": hits / m, "precision_ci": [lo, hi], "rule_precision": rule_hits / m,
                "lift": hits / m / base, "lift_ci": [lo / base, hi / base], "rule_lift": rule_hits / m / base,
                "beats_rule": lo > rule_hits / m}

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """P(unlabeled), P(seed-like) of each row of `x` (features missing from `x` count as 0), as a
        classifier's predict_proba: an n × 2 array.

        >>> import numpy as np, pandas as pd
        >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
        >>> p = Lookalike().fit(x, x.index[x.a > 1.0][::2]).predict_proba(x.head(3))
        >>> p.shape, bool(np.allclose(p.sum(axis=1), 1))
        ((3, 2), True)
        """
        check_is_fitted(self)
        x = _frame(x).reindex(columns=self.feature_names_in_, fill_value=0.0)
        return self.classifier_.predict_proba(x.to_numpy())

    def rank(self, x: pd.DataFrame) -> pd.Series:
        """The score (P(seed-like)) of every consumer of `x` outside the seed, best first: the first `size_` of
        them form the lookalike crowd. When the model fell back to the rule, the rule's members come first.

        >>> import numpy as np, pandas as pd
        >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
        >>> m = Lookalike(k=2.0).fit(x, x.index[x.a > 1.0][::2])
        >>> scores = m.rank(x)
        >>> len(scores), bool(scores.is_monotonic_decreasing), m.size_
        (561, True, 78)
        """
        check_is_fitted(self)
        rest = x[~x.index.isin(self.seed_ids_)]
        scores = pd.Series(self.predict_proba(rest)[:, 1], index=rest.index, name="score")
        order = scores.sort_values(ascending=False, kind="mergesort")
        if self.method_ == "rule":
            first = rule_members(rest).reindex(order.index)
            order = pd.concat([order[first], order[~first]])
        return order


def lookalike(x: pd.DataFrame, seed: BitMap, k: float = 3.0, unlabeled_ratio: float = 5.0,
              random_state: int = 0, classifier: BaseEstimator | None = None) -> LookalikeScores:
    """Scores for every consumer outside the seed (best first) and the model's summary: the top k·|seed| of
    them (`size`, the property `top`) are the lookalike crowd. A Lookalike estimator fitted on `x` (see
    `features`) does the work; `method` says whether the crowd is the model's or, when the model did not beat
    the rule on the held-out consumers (`holdout`), the rule's.

    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
    >>> r = lookalike(x, BitMap(x.index[x.a > 1.0][::2]), k=1.0)
    >>> r  # doctest: +ELLIPSIS
    LookalikeScores(seed 39 × k 1.0: top 39 of 561 scored, c ...; top feature a)
    >>> r.seed, r.size, bool(x.a[r.top].mean() > 1.0), r.method
    (39, 39, True, 'lookalike')
    """
    m = Lookalike(k=k, unlabeled_ratio=unlabeled_ratio, random_state=random_state, classifier=classifier).fit(x, seed)
    return LookalikeScores(scores=m.rank(x), seed=len(m.seed_ids_), unlabeled=int(m.n_unlabeled_), c=float(m.c_),
                           k=k, left_out=[str(f) for f in m.left_out_], size=int(m.size_),
                           top_features={str(f): float(v) for f, v in m.feature_importances_.head(10).items()},
                           method=m.method_, rule=RULE, holdout=m.holdout_)


def precision_lift(chosen: Iterable[int], truth: set[int], candidates: set[int]) -> dict:
    """How good a chosen set is at finding `truth` among `candidates`: precision, the base rate, and lift.

    >>> precision_lift([1, 2, 3, 4], truth={1, 2, 9}, candidates=set(range(1, 11)))
    {'chosen': 4, 'hits': 2, 'precision': 0.5, 'base_rate': 0.3, 'lift': 1.6666666666666667}
    """
    chosen = set(chosen) & candidates
    hits = len(chosen & truth)
    base = len(truth & candidates) / len(candidates) if candidates else 0.0
    precision = hits / len(chosen) if chosen else 0.0
    return {"chosen": len(chosen), "hits": hits, "precision": precision, "base_rate": base,
            "lift": precision / base if base else None}
