"""Lookalike crowds: from a seed crowd and a multiple k, a PU-learning classifier (LightGBM; the seed as
positives, a random sample of everyone else as unlabeled) over the tag features scores every consumer, and
the top k·|seed| outside the seed form the lookalike crowd (DOMAIN.md §9.2 [P])."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyroaring import BitMap

from aipl.audience.tags import CATALOGUE, TAGS_TABLE
from aipl.warehouse import Warehouse


def features(wh: Warehouse) -> pd.DataFrame:
    """One row per dense id: number tags as numbers, category tags one-hot (keyed tags per key), 0 when absent."""
    t = wh.table(TAGS_TABLE)
    df = t.execute()
    kinds = df.tag.map(lambda x: CATALOGUE[x].kind)
    name = df.tag + np.where(df.key.notna(), "[" + df.key.fillna("") + "]", "")
    nums = df[kinds == "number"].assign(col=name[kinds == "number"])
    cats = df[kinds == "category"].assign(col=name[kinds == "category"] + "=" + df.value[kinds == "category"])
    wide_n = nums.pivot_table(index="id", columns="col", values="num", aggfunc="max")
    wide_c = cats.assign(one=1.0).pivot_table(index="id", columns="col", values="one", aggfunc="max")
    return wide_n.join(wide_c, how="outer").fillna(0.0).sort_index()


def lookalike(x: pd.DataFrame, seed: BitMap, k: float = 3.0, unlabeled_ratio: float = 5.0,
              random_state: int = 0) -> tuple[pd.Series, dict]:
    """Scores for every consumer outside the seed (best first) and the model's summary: the top k·|seed| of
    them are the lookalike crowd. PU learning (Elkan & Noto 2008): a classifier of seed vs unlabeled ranks
    consumers as a classifier of positive vs negative would; c = P(labelled | positive) is estimated on
    held-out seed members."""
    from lightgbm import LGBMClassifier

    seed_ids = np.array(sorted(seed), dtype=np.int64)
    seed_ids = seed_ids[np.isin(seed_ids, x.index.to_numpy())]
    if len(seed_ids) < 20:
        raise ValueError(f"the seed has {len(seed_ids)} consumers with tags; a lookalike needs at least 20")
    rng = np.random.default_rng(random_state)
    others = x.index.to_numpy()[~np.isin(x.index.to_numpy(), seed_ids)]
    # a feature that (almost) defines the seed, e.g. aipl[B]=P for a seed of B's buyers, says nothing about
    # who else resembles it: leave such features out
    in_seed, outside = (x.loc[seed_ids] > 0).mean(), (x.loc[others] > 0).mean() if len(others) else 0.0
    defining = x.columns[((in_seed >= 0.9) & (outside <= 0.1)) | ((in_seed <= 0.1) & (outside >= 0.9))]
    x = x.drop(columns=defining)
    if not len(others):
        raise ValueError("everyone is in the seed: nobody to find")
    unl = rng.choice(others, size=min(len(others), int(unlabeled_ratio * len(seed_ids))), replace=False)
    hold = rng.random(len(seed_ids)) < 0.2
    train_ids = np.concatenate([seed_ids[~hold], unl])
    y = np.r_[np.ones((~hold).sum()), np.zeros(len(unl))]
    model = LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31, min_child_samples=20,
                           subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=random_state,
                           verbose=-1)
    model.fit(x.loc[train_ids].to_numpy(), y)
    c = float(model.predict_proba(x.loc[seed_ids[hold]].to_numpy())[:, 1].mean()) if hold.any() else 1.0
    scores = pd.Series(model.predict_proba(x.loc[others].to_numpy())[:, 1], index=others, name="score")
    scores = scores.sort_values(ascending=False, kind="mergesort")
    imp = pd.Series(model.feature_importances_, index=x.columns).sort_values(ascending=False)
    return scores, {"seed": len(seed_ids), "unlabeled": len(unl), "c": c, "k": k, "left_out": list(defining),
                    "size": min(len(scores), round(k * len(seed_ids))),
                    "top_features": imp.head(10).to_dict()}


def precision_lift(chosen, truth: set, candidates: set) -> dict:
    """How good a chosen set is at finding `truth` among `candidates`: precision, the base rate, and lift."""
    chosen = set(chosen) & candidates
    hits = len(chosen & truth)
    base = len(truth & candidates) / len(candidates) if candidates else 0.0
    precision = hits / len(chosen) if chosen else 0.0
    return {"chosen": len(chosen), "hits": hits, "precision": precision, "base_rate": base,
            "lift": precision / base if base else None}
