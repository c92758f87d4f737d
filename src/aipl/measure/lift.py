"""Lift estimators: difference in means (randomised) and CUPED / regression adjustment (randomised, less
variance), on per-consumer arrays or on each group's sufficient statistics (`Moments`, what a warehouse sends
instead of one row per consumer); IPW and doubly robust estimates of the effect on the treated (observational,
with covariate balance diagnostics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

RANDOMISED = ("difference_in_means", "cuped")
OBSERVATIONAL = ("ipw", "doubly_robust")
METHODS = RANDOMISED + OBSERVATIONAL


@dataclass
class Estimate:
    """A lift: treated minus control, per head, with its standard error and confidence interval.

    `incremental` is `effect × n_treated` (Alibaba's A/B increment: per-capita difference × treated UV).

    >>> est = difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0])
    >>> est.effect, est.relative, est.incremental
    (2.0, 1.0, 6.0)
    >>> est.covers(0.0), est.covers(2.0)
    (False, True)
    """

    metric: str
    method: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    treated_mean: float
    control_mean: float
    n_treated: int
    n_control: int
    confidence: float = 0.95
    observational: bool = False
    variance_reduction: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def relative(self) -> float | None:
        """The effect relative to the control mean (None when the control mean is 0).

        >>> difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0]).relative
        1.0
        """
        return self.effect / self.control_mean if self.control_mean else None

    @property
    def incremental(self) -> float:
        """Incremental outcome over all treated consumers.

        >>> difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0]).incremental
        6.0
        """
        return self.effect * self.n_treated

    def covers(self, value: float) -> bool:
        """Whether `value` lies inside the confidence interval.

        >>> difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0]).covers(0.0)
        False
        """
        return self.ci_low <= value <= self.ci_high

    def to_dict(self) -> dict:
        """A JSON-ready dict, including the relative lift and the incremental total.

        >>> d = difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0]).to_dict()
        >>> d["method"], d["effect"], d["relative"], d["incremental"], d["n_treated"]
        ('difference_in_means', 2.0, 1.0, 6.0, 3)
        """
        return {**asdict(self), "relative": self.relative, "incremental": self.incremental}


def _arrays(y, treated) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=bool)
    if y.shape != t.shape or y.ndim != 1:
        raise ValueError("outcome and treatment must be 1-d arrays of the same length")
    if np.isnan(y).any():
        raise ValueError("the outcome has missing values")
    if t.sum() < 2 or (~t).sum() < 2:
        raise ValueError(f"need at least two treated and two control consumers (have {t.sum()} and {(~t).sum()})")
    return y, t


def _interval(effect: float, se: float, confidence: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.5 + confidence / 2)
    return float(effect - z * se), float(effect + z * se)


def difference_in_means(y, treated, metric: str = "y", confidence: float = 0.95) -> Estimate:
    """Treated mean minus control mean with Neyman's (Welch) standard error, for a randomised experiment.

    >>> est = difference_in_means([3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0], metric="gmv")
    >>> est.treated_mean, est.control_mean, est.effect, round(est.se, 3)
    (4.0, 2.0, 2.0, 0.816)
    >>> round(est.ci_low, 2), round(est.ci_high, 2)
    (0.4, 3.6)
    """
    y, t = _arrays(y, treated)
    yt, yc = y[t], y[~t]
    effect = yt.mean() - yc.mean()
    se = float(np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc)))
    lo, hi = _interval(effect, se, confidence)
    return Estimate(metric, "difference_in_means", float(effect), se, lo, hi, float(yt.mean()), float(yc.mean()),
                    int(t.sum()), int((~t).sum()), confidence)


def _design(x, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x.reshape(n, -1) if x.ndim <= 1 else x
    if x.shape[0] != n:
        raise ValueError(f"covariates have {x.shape[0]} rows for {n} consumers")
    if np.isnan(x).any():
        raise ValueError("covariates have missing values")
    return x


@dataclass(frozen=True)
class Moments:
    """The sufficient statistics of named columns over a group of consumers: the count `n`, the sums Σz and the
    sums of products Σzzᵀ. Difference in means and CUPED need nothing else, and moments of two groups add up.

    >>> m = Moments.of({"y": [1.0, 2.0, 3.0, 6.0], "x": [0.0, 1.0, 1.0, 2.0]})
    >>> m.n, m.mean(["y", "x"]).tolist(), m.scatter(["y", "x"]).tolist()
    (4, [3.0, 1.0], [[14.0, 5.0], [5.0, 2.0]])
    >>> (m + m).n, (m + m).mean(["y"]).tolist()
    (8, [3.0])
    """

    names: tuple[str, ...]
    n: int
    sums: np.ndarray
    products: np.ndarray

    @classmethod
    def of(cls, columns: Mapping[str, Sequence[float] | np.ndarray]) -> Moments:
        """The moments of per-consumer columns (equal lengths).

        >>> Moments.of({"y": [1.0, 3.0]}).sums.tolist()
        [4.0]
        """
        z = np.column_stack([np.asarray(columns[c], dtype=float) for c in columns])
        return cls(tuple(columns), len(z), z.sum(axis=0), z.T @ z)

    def __add__(self, other: Moments) -> Moments:
        if self.names != other.names:
            raise ValueError("moments of different columns do not add up")
        return Moments(self.names, self.n + other.n, self.sums + other.sums, self.products + other.products)

    def _at(self, names: Sequence[str]) -> list[int]:
        return [self.names.index(c) for c in names]

    def mean(self, names: Sequence[str]) -> np.ndarray:
        """The means of the named columns.

        >>> Moments.of({"y": [1.0, 3.0]}).mean(["y"]).tolist()
        [2.0]
        """
        return self.sums[self._at(names)] / self.n

    def scatter(self, names: Sequence[str]) -> np.ndarray:
        """Σ(z − z̄)(z − z̄)ᵀ of the named columns (n − 1 times their covariance).

        >>> Moments.of({"y": [1.0, 3.0]}).scatter(["y"]).tolist()
        [[2.0]]
        """
        i = self._at(names)
        return self.products[np.ix_(i, i)] - np.outer(self.sums[i], self.sums[i]) / self.n

    def varies(self, name: str) -> bool:
        """Whether the column takes more than one value (beyond rounding of its sums).

        >>> m = Moments.of({"y": [1.0, 3.0], "c": [0.1, 0.1]})
        >>> m.varies("y"), m.varies("c")
        (True, False)
        """
        k = self.names.index(name)
        return bool(self.scatter([name])[0, 0] > 1e-12 * max(self.products[k, k], 1e-300))


def adjusted_lift(treated: Moments, control: Moments, metric: str, covariates: Sequence[str] = (),
                  confidence: float = 0.95) -> Estimate:
    """Difference in means of `metric` (no covariates) or CUPED on `covariates` (those that vary), from the two
    groups' moments: θ fitted on the pooled groups, each group's mean and variance of y − θ·(x − x̄), a Welch
    standard error. Equal to `difference_in_means` and `cuped` on the consumers' arrays.

    >>> t = Moments.of({"y": [3.0, 5.0, 4.0], "x": [1.0, 2.0, 2.0]})
    >>> c = Moments.of({"y": [1.0, 2.0, 3.0], "x": [0.0, 1.0, 2.0]})
    >>> plain = adjusted_lift(t, c, "y")
    >>> plain.method, plain.effect, round(plain.se, 3)
    ('difference_in_means', 2.0, 0.816)
    >>> adj = adjusted_lift(t, c, "y", ["x"])
    >>> adj.method, round(adj.effect, 3), round(adj.variance_reduction, 3)
    ('cuped', 1.0, 0.75)
    """
    if treated.n < 2 or control.n < 2:
        raise ValueError(f"need at least two treated and two control consumers (have {treated.n} and {control.n})")
    pooled = treated + control
    covs = [c for c in covariates if pooled.varies(c)]
    theta = _theta(pooled, metric, covs)
    means, variances = [], []
    for g in (treated, control):
        means.append(g.mean([metric])[0] - (g.mean(covs) - pooled.mean(covs)) @ theta)
        variances.append(_residual(g, metric, covs, theta) / (g.n - 1))
    effect = float(means[0] - means[1])
    se = float(np.sqrt(variances[0] / treated.n + variances[1] / control.n))
    lo, hi = _interval(effect, se, confidence)
    est = Estimate(metric, "cuped" if covariates else "difference_in_means", effect, se, lo, hi,
                   float(treated.mean([metric])[0]), float(control.mean([metric])[0]), treated.n, control.n,
                   confidence)
    if covariates:
        total = pooled.scatter([metric])[0, 0]
        est.variance_reduction = float(1 - _residual(pooled, metric, covs, theta) / total) if total > 0 else 0.0
        if not covs:
            est.notes.append("the covariates are constant: no adjustment")
    return est


def _theta(m: Moments, metric: str, covs: list[str]) -> np.ndarray:
    """The pooled least-squares coefficients of the metric on the covariates (standardised, so the normal
    equations stay well conditioned; the minimum-norm solution when covariates are collinear)."""
    if not covs:
        return np.zeros(0)
    s = m.scatter([*covs, metric])
    sxx, sxy = s[:-1, :-1], s[:-1, -1]
    d = np.sqrt(np.diag(sxx))
    theta, *_ = np.linalg.lstsq(sxx / np.outer(d, d), sxy / d, rcond=1e-12)
    return theta / d


def _residual(m: Moments, metric: str, covs: list[str], theta: np.ndarray) -> float:
    """Σ(y − ȳ − θ·(x − x̄))² within the group."""
    s = m.scatter([*covs, metric])
    return float(max(s[-1, -1] - 2 * theta @ s[:-1, -1] + theta @ s[:-1, :-1] @ theta, 0.0))


def cuped(y, treated, x, metric: str = "y", confidence: float = 0.95) -> Estimate:
    """CUPED (Deng et al. 2013): subtract θ·(x − x̄) from the outcome, θ fitted on pooled data, then take the
    difference in means. With several pre-treatment covariates this is regression adjustment; it stays
    unbiased in a randomised experiment and narrows the interval by the share of variance x explains.

    A randomised test with a true effect of 1.0 where the pre-period `x` explains most of the outcome:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> treated = rng.random(2000) < 0.5
    >>> y = 2 * x + 1.0 * treated + rng.normal(size=2000)
    >>> est = cuped(y, treated, x)
    >>> round(est.effect, 1), round(est.variance_reduction, 2), est.covers(1.0)
    (1.0, 0.77, True)
    >>> est.se < difference_in_means(y, treated).se
    True
    """
    y, t = _arrays(y, treated)
    x = _design(x, len(y))
    names = [f"x{i}" for i in range(x.shape[1])]
    cols = {"y": y, **dict(zip(names, x.T, strict=True))}
    group = [Moments.of({k: v[mask] for k, v in cols.items()}) for mask in (t, ~t)]
    est = adjusted_lift(*group, "y", names, confidence)
    est.metric = metric
    return est


def propensity(x, treated, clip: float = 0.01) -> np.ndarray:
    """P(treated | x) from a standardised logistic regression, clipped to [clip, 1 − clip].

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000)
    >>> e = propensity(x, rng.random(1000) < 1 / (1 + np.exp(-2 * x)))
    >>> e.shape, bool(e[x > 1].mean() > 0.8 > 0.2 > e[x < -1].mean())
    ((1000,), True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t = np.asarray(treated, dtype=bool)
    x = _design(x, len(t))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x, t)
    return np.clip(model.predict_proba(x)[:, 1], clip, 1 - clip)


def _att_weights(t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """ATT weights: 1 for the treated, e/(1−e) for controls (controls re-weighted to look like the treated)."""
    return np.where(t, 1.0, e / (1 - e))


def ipw(y, treated, x, metric: str = "y", confidence: float = 0.95) -> Estimate:
    """Inverse-propensity-weighted effect on the treated (observational); a normalised (Hájek) estimator with
    an influence-function standard error that treats the propensity as known.

    Consumers with a high `x` are both likelier to be treated and spend more, so the naive difference is
    biased; the true effect is 1.0:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> treated = rng.random(4000) < 1 / (1 + np.exp(-x))
    >>> y = 2 * x + 1.0 * treated + rng.normal(size=4000)
    >>> round(difference_in_means(y, treated).effect, 1)
    2.6
    >>> est = ipw(y, treated, x)
    >>> round(est.effect, 1), est.covers(1.0), est.observational
    (1.0, True, True)
    """
    y, t = _arrays(y, treated)
    e = propensity(x, t)
    w = _att_weights(t, e)
    wc = w[~t] / w[~t].sum()
    mu0 = float(wc @ y[~t])
    effect = y[t].mean() - mu0
    p = t.mean()
    psi = (t * (y - y[t].mean()) - (~t) * w * (y - mu0)) / p
    se = float(psi.std(ddof=1) / np.sqrt(len(y)))
    lo, hi = _interval(effect, se, confidence)
    return Estimate(metric, "ipw", float(effect), se, lo, hi, float(y[t].mean()), mu0, int(t.sum()),
                    int((~t).sum()), confidence, observational=True)


def doubly_robust(y, treated, x, metric: str = "y", confidence: float = 0.95) -> Estimate:
    """Augmented IPW effect on the treated (observational): a control-outcome regression m0(x) corrected by
    propensity-weighted control residuals; consistent if either model is right.

    The same confounded data as in `ipw` (true effect 1.0):

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> treated = rng.random(4000) < 1 / (1 + np.exp(-x))
    >>> y = 2 * x + 1.0 * treated + rng.normal(size=4000)
    >>> est = doubly_robust(y, treated, x)
    >>> est.method, round(est.effect, 1), est.covers(1.0)
    ('doubly_robust', 1.0, True)
    """
    from sklearn.linear_model import LinearRegression

    y, t = _arrays(y, treated)
    x = _design(x, len(y))
    e = propensity(x, t)
    m0 = LinearRegression().fit(x[~t], y[~t]).predict(x)
    r = y - m0
    w = _att_weights(t, e)
    p = t.mean()
    effect = float((t * r).sum() / t.sum() - ((~t) * w * r).sum() / t.sum())
    psi = (t * (r - effect) - (~t) * w * r) / p
    se = float(psi.std(ddof=1) / np.sqrt(len(y)))
    lo, hi = _interval(effect, se, confidence)
    mu0 = float(y[t].mean() - effect)
    return Estimate(metric, "doubly_robust", effect, se, lo, hi, float(y[t].mean()), mu0, int(t.sum()),
                    int((~t).sum()), confidence, observational=True)


def balance(x: pd.DataFrame, treated, threshold: float = 0.1) -> pd.DataFrame:
    """Standardised mean differences (treated − control) per covariate before and after ATT weighting;
    `balanced` is |SMD after| < threshold (the usual 0.1 rule).

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame({"pre_gmv": rng.normal(size=4000)})
    >>> treated = rng.random(4000) < 1 / (1 + np.exp(-x["pre_gmv"]))
    >>> table = balance(x, treated)
    >>> list(table.columns)
    ['covariate', 'treated_mean', 'control_mean', 'smd_before', 'smd_after', 'balanced']
    >>> row = table.iloc[0]
    >>> row["covariate"], bool(abs(row["smd_before"]) > 0.5), bool(row["balanced"])
    ('pre_gmv', True, True)
    """
    t = np.asarray(treated, dtype=bool)
    e = propensity(x.to_numpy(dtype=float), t)
    w = _att_weights(t, e)
    rows = []
    for col in x.columns:
        v = x[col].to_numpy(dtype=float)
        sd = np.sqrt((v[t].var() + v[~t].var()) / 2) or 1.0
        before = (v[t].mean() - v[~t].mean()) / sd
        after = (v[t].mean() - np.average(v[~t], weights=w[~t])) / sd
        rows.append({"covariate": col, "treated_mean": v[t].mean(), "control_mean": v[~t].mean(),
                     "smd_before": before, "smd_after": after, "balanced": abs(after) < threshold})
    return pd.DataFrame(rows)


def e_value(treated_mean: float, control_mean: float) -> float | None:
    """VanderWeele and Ding's (2017) E-value of a ratio of means: how strongly (as a risk ratio with both the
    exposure and the outcome) a hidden confounder must be associated to explain the effect away, i.e. to move
    the estimate to zero or past it. 1 means no confounding is needed; None when a mean is not positive.

    >>> round(e_value(0.06, 0.04), 3)  # RR 1.5
    2.366
    >>> e_value(0.04, 0.06) == e_value(0.06, 0.04), e_value(0.05, 0.05), e_value(0.05, 0.0)
    (True, 1.0, None)
    """
    if treated_mean <= 0 or control_mean <= 0:
        return None
    rr = max(treated_mean / control_mean, control_mean / treated_mean)
    return float(rr + np.sqrt(rr * (rr - 1)))


def sensitivity(est: Estimate) -> dict:
    """How strong hidden confounding must be to flip the sign: the E-value of the point estimate (its ratio of
    treated to counterfactual means) and of the interval's limit nearest zero (1 when the interval holds 0).

    >>> est = Estimate("conversion", "ipw", 0.02, 0.005, 0.01, 0.03, 0.06, 0.04, 1000, 3000)
    >>> s = sensitivity(est)
    >>> round(s["e_value"], 3), round(s["e_value_ci"], 3), round(s["risk_ratio"], 3)
    (2.366, 1.69, 1.5)
    """
    near = 0.0 if est.ci_low <= 0 <= est.ci_high else min(est.ci_low, est.ci_high, key=abs)
    mu0 = est.treated_mean - est.effect
    ev = e_value(est.treated_mean, mu0)
    ev_ci = e_value(est.treated_mean, est.treated_mean - near)
    reads = (f"no E-value: the estimated counterfactual mean of {est.metric} is not positive" if ev is None
             or ev_ci is None else
             f"a hidden confounder associated with both exposure and {est.metric} by a risk ratio of {ev:.2f} each "
             f"would explain the whole effect away (a stronger one flips its sign); {ev_ci:.2f} brings the "
             "interval to zero")
    return {"risk_ratio": est.treated_mean / mu0 if mu0 > 0 else None, "e_value": ev, "e_value_ci": ev_ci,
            "reads": reads}


ASSUMPTIONS = (
    "no hidden confounding: given the pre-period covariates, exposure is as good as random",
    "overlap: every kind of consumer could have been exposed or not (propensities clipped to 1–99 %)",
    "no interference: one consumer's exposure does not change another's outcome",
    "the models: a logistic propensity and a linear control-outcome model on the covariates",
)


def verdict(table: pd.DataFrame, estimates: list[Estimate], threshold: float = 0.1) -> dict:
    """Whether an observational estimate may be presented: only when every covariate is balanced after weighting
    (|SMD| < threshold). Otherwise the reason and the range the estimators span (their intervals' hull) instead.

    >>> import pandas as pd
    >>> table = pd.DataFrame({"covariate": ["pre_spend", "pre_visit"], "smd_after": [0.35, 0.02]})
    >>> est = [Estimate("spend", m, e, 1.0, e - 2, e + 2, 5.0, 5.0 - e, 100, 300) for m, e in (("ipw", 3.0),
    ...        ("doubly_robust", -1.0))]
    >>> v = verdict(table, est)
    >>> v["presented"], v["unbalanced"], v["range"]
    (False, ['pre_spend'], [-3.0, 5.0])
    >>> v["reason"]
    'balance fails after weighting: |SMD| ≥ 0.1 for pre_spend (0.35); the estimate depends on the model'
    >>> verdict(table.assign(smd_after=0.01), est)["presented"]
    True
    """
    bad = table[table.smd_after.abs() >= threshold]
    lo, hi = min(e.ci_low for e in estimates), max(e.ci_high for e in estimates)
    if bad.empty:
        return {"presented": True, "reason": None, "unbalanced": [], "range": [lo, hi], "threshold": threshold}
    what = ", ".join(f"{r.covariate} ({r.smd_after:.2f})" for r in bad.itertuples())
    return {"presented": False, "unbalanced": bad.covariate.tolist(), "range": [lo, hi], "threshold": threshold,
            "reason": f"balance fails after weighting: |SMD| ≥ {threshold:g} for {what}; the estimate depends on "
                      "the model"}


def estimate(method: str, y, treated, x=None, metric: str = "y", confidence: float = 0.95) -> Estimate:
    """Run the named estimator (one of METHODS); covariates are required for all but difference_in_means.

    >>> METHODS
    ('difference_in_means', 'cuped', 'ipw', 'doubly_robust')
    >>> est = estimate("difference_in_means", [3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0])
    >>> est.method, est.effect
    ('difference_in_means', 2.0)
    >>> estimate("cuped", [3, 5, 4, 1, 2, 3], [1, 1, 1, 0, 0, 0])
    Traceback (most recent call last):
    ...
    ValueError: cuped needs covariates
    """
    if method not in METHODS:
        raise ValueError(f"unknown lift method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "difference_in_means":
        return difference_in_means(y, treated, metric, confidence)
    if x is None:
        raise ValueError(f"{method} needs covariates")
    return {"cuped": cuped, "ipw": ipw, "doubly_robust": doubly_robust}[method](y, treated, x, metric, confidence)
