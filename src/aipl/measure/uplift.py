"""Uplift targeting: T- and X-learners that predict each consumer's individual lift from a randomised
experiment, the Qini and uplift curves that evaluate them on held-out consumers, and the choice of whom to
contact under a budget."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from aipl.measure.experiment import OUTCOMES, experiment_frame
from aipl.measure.results import UpliftTargets
from aipl.warehouse import Warehouse


def _binary(y: np.ndarray) -> bool:
    return bool(np.isin(np.unique(y), (0, 1)).all())


def _check(x, t, y=None):
    x = np.asarray(x, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    t = np.asarray(t, dtype=bool)
    if len(t) != len(x):
        raise ValueError(f"{len(x)} feature rows for {len(t)} treatment flags")
    if y is not None:
        y = np.asarray(y, dtype=float)
        if len(y) != len(x):
            raise ValueError(f"{len(x)} feature rows for {len(y)} outcomes")
        if t.sum() < 10 or (~t).sum() < 10:
            raise ValueError("need at least 10 treated and 10 control consumers to learn an uplift")
    return x, t, y


class _Outcome(BaseEstimator):
    """An outcome model: a classifier's P(y=1) for binary outcomes, else a regressor's prediction."""

    def __init__(self, classifier: BaseEstimator, regressor: BaseEstimator):
        self.classifier, self.regressor = classifier, regressor

    def fit(self, x: np.ndarray, y: np.ndarray) -> Self:
        self.binary_ = _binary(y) and len(np.unique(y)) == 2
        self.model_ = clone(self.classifier if self.binary_ else self.regressor).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict_proba(x)[:, 1] if self.binary_ else self.model_.predict(x)


def _defaults(classifier, regressor, random_state):
    c = classifier or HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15,
                                                     min_samples_leaf=100, random_state=random_state)
    r = regressor or HistGradientBoostingRegressor(max_iter=100, learning_rate=0.05, max_leaf_nodes=15,
                                                   min_samples_leaf=100, random_state=random_state)
    return c, r


class _MetaLearner(BaseEstimator):
    """Parameters shared by the learners: the base classifier (binary outcomes) and regressor (amounts and
    effects), None = histogram gradient boosting, and the random_state of the default ones."""

    lookup_name = ""

    def __init__(self, classifier: BaseEstimator | None = None, regressor: BaseEstimator | None = None,
                 random_state: int = 0):
        self.classifier, self.regressor, self.random_state = classifier, regressor, random_state

    def _features(self, x) -> np.ndarray:
        """Features to predict on, once the learner is fitted."""
        check_is_fitted(self)
        return _check(x, np.zeros(len(np.atleast_1d(x)), dtype=bool))[0]


class TLearner(_MetaLearner):
    """Two outcome models, one fitted on treated and one on control consumers; uplift = m1(x) − m0(x).
    Fitted: `treated_` and `control_` outcome models.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0); x = rng.normal(size=(4000, 2)); t = rng.random(4000) < 0.5
    >>> y = (rng.random(4000) < 0.1 + 0.2 * t * (x[:, 0] > 0)).astype(int)
    >>> m = TLearner().fit(x, t, y); bool(m.predict(np.array([[1.0, 0]]))[0] > m.predict(np.array([[-1.0, 0]]))[0])
    True
    """

    lookup_name = "t"

    def fit(self, x: ArrayLike, t: ArrayLike, y: ArrayLike) -> Self:
        """Learn from features x, treatment flags t and outcomes y (0/1 or amounts) of a randomised experiment.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(400, 2)); t = rng.random(400) < 0.5
        >>> m = TLearner()
        >>> m.fit(x, t, rng.random(400) < 0.3) is m
        True
        """
        x, t, y = _check(x, t, y)
        c, r = _defaults(self.classifier, self.regressor, self.random_state)
        self.treated_ = _Outcome(c, r).fit(x[t], y[t])
        self.control_ = _Outcome(c, r).fit(x[~t], y[~t])
        return self

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Each consumer's predicted uplift: the outcome if treated minus the outcome if not.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(400, 2)); t = rng.random(400) < 0.5
        >>> TLearner().fit(x, t, rng.random(400) < 0.3).predict(x[:3]).shape
        (3,)
        """
        x = self._features(x)
        return self.treated_.predict(x) - self.control_.predict(x)


class XLearner(_MetaLearner):
    """Künzel et al. (2019): outcome models per group, imputed individual effects (D1 = y − m0(x) for the
    treated, D0 = m1(x) − y for controls), an effect model per group, blended by the propensity g(x):
    uplift = g·τ0(x) + (1 − g)·τ1(x). Strong when the groups differ in size. Fitted: `tau1_`, `tau0_` (effect
    models) and `propensity_`.

    >>> import numpy as np
    >>> from sklearn.base import clone
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0); x = rng.normal(size=(4000, 2)); t = rng.random(4000) < 0.3
    >>> y = 1.0 + x[:, 1] + 2.0 * t * (x[:, 0] > 0) + rng.normal(size=4000)  # an amount: the regressor learns it
    >>> m = XLearner(regressor=LinearRegression())
    >>> clone(m)
    XLearner(regressor=LinearRegression())
    >>> u = m.fit(x, t, y).predict(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    >>> bool(u[0] > u[1])
    True
    """

    lookup_name = "x"

    def fit(self, x: ArrayLike, t: ArrayLike, y: ArrayLike) -> Self:
        """Learn from features x, treatment flags t and outcomes y (0/1 or amounts) of a randomised experiment.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(400, 2)); t = rng.random(400) < 0.5
        >>> m = XLearner()
        >>> m.fit(x, t, rng.random(400) < 0.3) is m
        True
        """
        x, t, y = _check(x, t, y)
        c, r = _defaults(self.classifier, self.regressor, self.random_state)
        m1 = _Outcome(c, r).fit(x[t], y[t])
        m0 = _Outcome(c, r).fit(x[~t], y[~t])
        self.tau1_ = clone(r).fit(x[t], y[t] - m0.predict(x[t]))
        self.tau0_ = clone(r).fit(x[~t], m1.predict(x[~t]) - y[~t])
        self.propensity_ = LogisticRegression(max_iter=1000).fit(x, t)
        return self

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Each consumer's predicted uplift, blended from the two effect models by the propensity.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(400, 2)); t = rng.random(400) < 0.5
        >>> XLearner().fit(x, t, rng.random(400) < 0.3).predict(x[:3]).shape
        (3,)
        """
        x = self._features(x)
        g = self.propensity_.predict_proba(x)[:, 1]
        return g * self.tau0_.predict(x) + (1 - g) * self.tau1_.predict(x)


LEARNERS = {cls.lookup_name: cls for cls in (TLearner, XLearner)}


def _cumulative(y, t, score):
    """Per distinct score threshold (best first): consumers targeted, treated and control counts and sums."""
    y, t, s = np.asarray(y, dtype=float), np.asarray(t, dtype=bool), np.asarray(score, dtype=float)
    order = np.argsort(s, kind="mergesort")[::-1]
    y, t, s = y[order], t[order], s[order]
    cut = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each run of tied scores
    n_t = np.cumsum(t)[cut].astype(float)
    y_t = np.cumsum(y * t)[cut]
    y_c = np.cumsum(y * ~t)[cut]
    n = cut + 1.0
    return n, n_t, n - n_t, y_t, y_c


def _from_origin(n, v):
    return (np.r_[0.0, n], np.r_[0.0, v]) if n[0] != 0 or v[0] != 0 else (n, v)


def qini_curve(y: ArrayLike, t: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Radcliffe's Qini curve: for the top-k consumers by score, treated responses minus control responses
    scaled to the treated count. Returns (consumers targeted, incremental responses).

    >>> y, t = [1, 0, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]  # four treated, then four controls
    >>> score = [0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.2, 0.3]
    >>> n, gain = qini_curve(y, t, score)
    >>> n.tolist(), gain.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [0.0, 1.0, 1.0, 2.0, 2.0, 0.5, 1.0, 1.25, 1.0])
    """
    n, n_t, n_c, y_t, y_c = _cumulative(y, t, score)
    return _from_origin(n, y_t - y_c * np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0))


def uplift_curve(y: ArrayLike, t: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The uplift curve: (treated response rate − control response rate) among the top-k, times k.

    >>> y, t = [1, 0, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]  # four treated, then four controls
    >>> score = [0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.2, 0.3]
    >>> n, gain = uplift_curve(y, t, score)
    >>> gain.round(2).tolist()
    [0.0, 1.0, 1.0, 2.0, 2.67, 0.83, 2.0, 2.92, 2.0]
    """
    n, n_t, n_c, y_t, y_c = _cumulative(y, t, score)
    rt = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
    rc = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
    return _from_origin(n, (rt - rc) * n)


def _area_over_random(x: np.ndarray, v: np.ndarray) -> float:
    return float(np.trapezoid(v, x) - x[-1] * v[-1] / 2)


def qini_coefficient(y: ArrayLike, t: ArrayLike, score: ArrayLike) -> float:
    """Area between the Qini curve and random targeting, as a share of the perfect model's (binary outcomes;
    1 = perfect, 0 = random, below 0 = worse than random).

    >>> y, t = [1, 0, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]  # four treated, then four controls
    >>> score = [0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.2, 0.3]
    >>> round(qini_coefficient(y, t, score), 3)
    0.553
    """
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=bool)
    if not _binary(y):
        raise ValueError("the Qini coefficient needs a 0/1 outcome (use qini_curve for amounts)")
    perfect = y * t - y * ~t
    return _area_over_random(*qini_curve(y, t, score)) / _area_over_random(*qini_curve(y, t, perfect))


def uplift_auc(y: ArrayLike, t: ArrayLike, score: ArrayLike) -> float:
    """Area between the uplift curve and random targeting, as a share of the perfect model's (AUUC,
    binary outcomes).

    >>> y, t = [1, 0, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]  # four treated, then four controls
    >>> score = [0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.2, 0.3]
    >>> round(uplift_auc(y, t, score), 3)
    0.344
    """
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=bool)
    if not _binary(y):
        raise ValueError("the normalised AUUC needs a 0/1 outcome (use uplift_curve for amounts)")
    control_responders = np.sum((y == 1) & ~t)
    treated_non_responders = np.sum((y == 0) & t)
    perfect = 2 * (y == t) + (y if control_responders > treated_non_responders else t)
    return _area_over_random(*uplift_curve(y, t, score)) / _area_over_random(*uplift_curve(y, t, perfect))


def select_under_budget(uplift: ArrayLike, budget: float, cost_per_contact: float = 1.0, value_per_response: float = 0.0
                        ) -> np.ndarray:
    """Indices of the consumers to contact, best first: the highest predicted uplift while the budget lasts,
    and only where contact pays (uplift × value > cost when a value is given, else uplift > 0).

    >>> select_under_budget([0.05, -0.01, 0.30, 0.10], budget=10).tolist()  # never a negative uplift
    [2, 3, 0]
    >>> select_under_budget([0.05, -0.01, 0.30, 0.10], budget=10, cost_per_contact=2, value_per_response=10).tolist()
    [2]
    """
    if budget < 0 or cost_per_contact <= 0:
        raise ValueError("the budget must be ≥ 0 and the cost per contact > 0")
    u = np.asarray(uplift, dtype=float)
    order = np.argsort(-u, kind="mergesort")
    worth = u[order] * value_per_response > cost_per_contact if value_per_response > 0 else u[order] > 0
    k = min(int(budget // cost_per_contact), int(worth.sum()))
    return order[:k]


def uplift_targets(wh: Warehouse, experiment: str, arm: str | None = None, metric: str = "conversion",
                   learner: str = "x", brand: str | None = None, labels: tuple[str, ...] = (), budget: float = 0.0,
                   cost_per_contact: float = 1.0, value_per_response: float = 0.0, test_share: float = 0.5,
                   days: int = 14, pre_days: int = 30, seed: int = 0) -> UpliftTargets:
    """Learn who responds to a treated arm of a randomised experiment and choose whom to contact.

    Every learner of LEARNERS is fitted on a random (1 − test_share) of the arm and control consumers and
    scored on the rest (Qini coefficient and normalised AUUC against random targeting); the chosen learner
    is then refitted on all of them and scores every consumer of the experiment; `selected` holds those to
    contact under the budget, best first.

    >>> import tempfile, numpy as np, pandas as pd
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> rng = np.random.default_rng(0); n = 1000
    >>> mail, women = rng.random(n) < 0.5, (rng.random(n) < 0.5).astype(int)  # the e-mail moves women only
    >>> log = pd.DataFrame({"recency": rng.integers(1, 13, n), "history_segment": "1) $0 - $100",
    ...     "history": rng.gamma(2, 100, n).round(2), "mens": 1 - women, "womens": women, "zip_code": "Urban",
    ...     "newbie": rng.integers(0, 2, n), "channel": "Web", "segment": np.where(mail, "Womens E-Mail", "No E-Mail"),
    ...     "visit": (rng.random(n) < 0.1 + 0.15 * mail * women).astype(int), "conversion": 0, "spend": 0})
    >>> folder = tempfile.mkdtemp(); log.to_csv(f"{folder}/hillstrom.csv", index=False)
    >>> wh = open_warehouse(init_workspace(folder))
    >>> ingest(wh, f"{folder}/hillstrom.csv", "hillstrom").rejected
    0
    >>> res = uplift_targets(wh, "hillstrom_2008", metric="visit", labels=("womens", "recency", "newbie"), budget=200)
    >>> res["arm"], res["scored"], len(res["selected"]), [e["learner"] for e in res["evaluation"]]
    ('Womens E-Mail', 1000, 200, ['t', 'x', 'random'])
    >>> bool(res["expected_incremental"] > res["expected_incremental_untargeted"])
    True
    >>> wh.close()
    """
    if learner not in LEARNERS:
        raise ValueError(f"unknown learner {learner!r}; choose one of {', '.join(LEARNERS)}")
    if metric not in OUTCOMES:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(OUTCOMES)}")
    if not 0 < test_share < 1:
        raise ValueError("test_share must lie strictly between 0 and 1")
    df, window, covs = experiment_frame(wh, experiment, brand, None, labels, days, pre_days)
    if not covs:
        raise ValueError("no pre-treatment feature varies between consumers: name labels to learn from")
    treated_arms = sorted(df.arm[~df.is_control].unique())
    arm = arm or (treated_arms[0] if len(treated_arms) == 1 else None)
    if arm not in treated_arms:
        raise ValueError(f"name the treated arm: one of {', '.join(treated_arms)}")
    d = df[(df.arm == arm) | df.is_control]
    x, t, y = d[covs].to_numpy(), (d.arm == arm).to_numpy(), d[metric].to_numpy()
    test = np.random.default_rng(seed).random(len(d)) < test_share
    binary = _binary(y)
    evaluation = []
    rng = np.random.default_rng(seed + 1)
    for name, cls in LEARNERS.items():
        score = cls(random_state=seed).fit(x[~test], t[~test], y[~test]).predict(x[test])
        evaluation.append(_evaluate(name, y[test], t[test], score, binary))
    evaluation.append(_evaluate("random", y[test], t[test], rng.random(test.sum()), binary))
    model = LEARNERS[learner](random_state=seed).fit(x, t, y)
    scores = pd.DataFrame({"consumer_id": df.consumer_id, "uplift": model.predict(df[covs].to_numpy())})
    pick = select_under_budget(scores.uplift.to_numpy(), budget, cost_per_contact, value_per_response)
    selected = scores.iloc[pick].reset_index(drop=True)
    return UpliftTargets(experiment=experiment, arm=arm, metric=metric, learner=learner, features=covs,
                         window={"start": str(window.start), "end": str(window.end)}, train=int((~test).sum()),
                         test=int(test.sum()), evaluation=evaluation, scored=len(scores), selected=selected,
                         expected_incremental=float(selected.uplift.sum()),
                         expected_incremental_untargeted=float(scores.uplift.mean() * len(selected)),
                         qini=qini_curve(y[test], t[test], model.predict(x[test])), saved_as=None)


def _evaluate(name: str, y, t, score, binary: bool) -> dict:
    x, v = qini_curve(y, t, score)
    row = {"learner": name, "qini_gain": float(_area_over_random(x, v) / x[-1])}  # mean gain over random targeting
    if binary:
        row.update(qini_coefficient=qini_coefficient(y, t, score), uplift_auc=uplift_auc(y, t, score))
    return row
