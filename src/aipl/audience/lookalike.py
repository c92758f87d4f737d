"""Lookalike crowds: from a seed crowd and a multiple k, a PU-learning classifier (LightGBM; the seed as
positives, a random sample of everyone else as unlabeled) over the tag features scores every consumer, and
the top k·|seed| outside the seed form the lookalike crowd (DOMAIN.md §9.2 [P])."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

import numpy as np
import pandas as pd
from pyroaring import BitMap
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from aipl.audience.results import LookalikeScores
from aipl.audience.tags import CATALOGUE, TAGS_TABLE
from aipl.warehouse import Warehouse


def features(wh: Warehouse) -> pd.DataFrame:
    """One row per dense id: number tags as numbers, category tags one-hot (keyed tags per key), 0 when absent.

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
    return wide_n.join(wide_c, how="outer").fillna(0.0).sort_index()


def _frame(x) -> pd.DataFrame:
    if not isinstance(x, pd.DataFrame):
        raise TypeError("x must be a DataFrame of features indexed by consumer id (see `features`)")
    return x


class Lookalike(BaseEstimator):
    """PU-learning lookalike (Elkan & Noto 2008): a classifier of seed (labelled positives) vs a random sample of
    everyone else (unlabeled, `unlabeled_ratio` × the seed) ranks consumers as a classifier of positive vs
    negative would. A share `holdout_share` of the seed is held out to estimate c = P(labelled | positive).
    Features that (almost) define the seed, e.g. aipl[B]=P for a seed of B's buyers, say nothing about who else
    resembles it and are left out. `k` is the crowd's size as a multiple of the seed's; `classifier` is any
    scikit-learn classifier (None: LightGBM).

    Fitted: `classifier_`, `seed_ids_`, `left_out_`, `feature_names_in_`, `n_features_in_`, `n_unlabeled_`, `c_`,
    `size_` (k·|seed|, at most everyone outside the seed) and `feature_importances_` (a Series, best first).

    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
    >>> seed = x.index[x.a > 1.0][::2]  # the seed: half of the consumers with a high `a`
    >>> m = Lookalike(k=1.0).fit(x, seed)
    >>> m, m.size_, m.feature_importances_.index[0]
    (Lookalike(k=1.0), 39, 'a')
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
        in_seed, outside = (x.loc[seed_ids] > 0).mean(), (x.loc[others] > 0).mean() if len(others) else 0.0
        defining = x.columns[((in_seed >= 0.9) & (outside <= 0.1)) | ((in_seed <= 0.1) & (outside >= 0.9))]
        if not len(others):
            raise ValueError("everyone is in the seed: nobody to find")
        x = x.drop(columns=defining)
        unl = rng.choice(others, size=min(len(others), int(self.unlabeled_ratio * len(seed_ids))), replace=False)
        hold = rng.random(len(seed_ids)) < self.holdout_share
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
        return self

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
        them form the lookalike crowd.

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
        return scores.sort_values(ascending=False, kind="mergesort")


def lookalike(x: pd.DataFrame, seed: BitMap, k: float = 3.0, unlabeled_ratio: float = 5.0,
              random_state: int = 0) -> LookalikeScores:
    """Scores for every consumer outside the seed (best first) and the model's summary: the top k·|seed| of
    them (`size`, the property `top`) are the lookalike crowd. A Lookalike estimator fitted on `x` (see
    `features`) does the work.

    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
    >>> r = lookalike(x, BitMap(x.index[x.a > 1.0][::2]), k=1.0)
    >>> r  # doctest: +ELLIPSIS
    LookalikeScores(seed 39 × k 1.0: top 39 of 561 scored, c ...; top feature a)
    >>> r.seed, r.size, bool(x.a[r.top].mean() > 1.0)
    (39, 39, True)
    """
    m = Lookalike(k=k, unlabeled_ratio=unlabeled_ratio, random_state=random_state).fit(x, seed)
    return LookalikeScores(scores=m.rank(x), seed=len(m.seed_ids_), unlabeled=int(m.n_unlabeled_), c=float(m.c_),
                           k=k, left_out=[str(f) for f in m.left_out_], size=int(m.size_),
                           top_features={str(f): float(v) for f, v in m.feature_importances_.head(10).items()})


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
