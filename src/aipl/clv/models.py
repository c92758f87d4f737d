"""Customer-base models with scikit-learn's estimator contract (`BaseEstimator`): parameters in __init__,
stored unchanged, so that `sklearn.base.clone`, `get_params` and `set_params` work; fit() returns self;
learned state in attributes ending in `_`. Each is registered in MODELS under a `lookup_name` for configs
and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from aipl.clv import transformers as tf
from aipl.clv.results import FitCheck

MODELS: dict[str, type[_Model]] = {}
Bounds = dict[str, tuple[float, float]]
WARM_START_ROWS = 200_000  # above this many distinct histories, fits start from a subsample's optimum
RESTARTS = 6  # other starting points tried when a fit is not a proper optimum
GRAD_TOL = 1e-4  # largest gradient (mean log-likelihood per log-parameter) of an optimum
HESS_TOL = 1e-7  # smallest Hessian eigenvalue of an optimum, relative to the largest


def _gradient(f: Callable, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function."""
    e = np.eye(len(x)) * h
    return np.array([(f(x + e[i]) - f(x - e[i])) / (2 * h) for i in range(len(x))])


def _hessian(f: Callable, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function.

    >>> _hessian(lambda z: z[0] ** 2 + 3 * z[0] * z[1], np.array([1.0, 2.0])).round(6).tolist()
    [[2.0, 3.0], [3.0, 0.0]]
    """
    k, e = len(x), np.eye(len(x)) * h
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            out[i, j] = out[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                                     + f(x - e[i] - e[j])) / (4 * h * h)
    return out


class NotFittedError(_SklearnNotFittedError):
    """A prediction was asked of a model that has not been fitted (a kind of scikit-learn's NotFittedError).

    >>> try:
    ...     BetaGeo().expected([10.0])
    ... except NotFittedError as e:
    ...     print(e)
    BetaGeo is not fitted yet: call fit() first
    """


def _check(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = len(out[0])
    for a in out:
        if len(a) != n:
            raise ValueError("all inputs must have the same length")
        if not np.all(np.isfinite(a)):
            raise ValueError("inputs must be finite numbers (no NaN or inf)")
    return out


class _Model(BaseEstimator):
    """Maximum-likelihood fit shared by the models: `penalizer` adds an L2 penalty on the parameters, `tol` and
    `maxiter` bound the optimiser. Fitted: params_ (name → value), loglik_, n_customers_, check_ (a FitCheck:
    optimiser status, gradient norm, parameters at a boundary, Hessian; a fit that fails it is refitted from
    other starting points) and converged_ (the check passed)."""

    lookup_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    bounds: ClassVar[Bounds] = {}  # a fitted value outside (lo, hi) is degenerate

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "lookup_name" in cls.__dict__:  # concrete models only
            MODELS[cls.lookup_name] = cls

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-12, maxiter: int = 2000):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter

    def _loglik(self, params, *data) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, start: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray) -> Self:
        if len(weights) > WARM_START_ROWS:  # start from a fit on a random tenth of the customers
            sub = np.random.default_rng(0).binomial(weights.astype(np.int64), 0.1).astype(float)
            keep = sub > 0
            start = self._minimize(np.log(start), tuple(c[keep] for c in data), sub[keep]).x
            start = np.exp(start)
        res = self._minimize(np.log(start), data, weights)
        check = self._check_fit(res, data, weights, starts=1)
        if not check["ok"]:  # refit from other starting points; keep the best proper optimum, else the best
            best = (check["ok"], -res.fun, res, check)
            rng = np.random.default_rng(0)
            for i in range(RESTARTS):
                log_start = np.log(start) + rng.normal(0.0, 1.5, len(start))
                r2 = self._minimize(log_start, data, weights)
                c2 = self._check_fit(r2, data, weights, starts=i + 2)
                if np.isfinite(r2.fun) and (c2["ok"], -r2.fun) > best[:2]:
                    best = (c2["ok"], -r2.fun, r2, c2)
            res, check = best[2], best[3]
            check = FitCheck(**{**check, "starts": RESTARTS + 1})
        params = np.exp(res.x)
        self.params_ = dict(zip(self.param_names, (float(p) for p in params), strict=True))
        self.loglik_ = float(weights @ self._loglik(params, *data))
        self.n_customers_ = int(weights.sum())
        self.check_ = check
        self.converged_ = bool(check["ok"])
        return self

    def _check_fit(self, res, data: tuple[np.ndarray, ...], weights: np.ndarray, starts: int) -> FitCheck:
        """Whether `res` is a proper optimum: optimiser status, gradient norm, parameters off their bounds and a
        positive-definite Hessian (all of the mean negative log-likelihood in log-parameters)."""
        f = self._objective(data, weights)
        x = np.asarray(res.x, float)
        value = (lambda z: f(z)[0]) if self._analytic(data) else f
        grad = f(x)[1] if self._analytic(data) else _gradient(value, x)
        hess = _hessian(value, x)
        eig = np.linalg.eigvalsh((hess + hess.T) / 2) if np.all(np.isfinite(hess)) else np.array([np.nan])
        params = np.exp(x)
        problems = []
        at_bound = [f"{k} = {v:.3g}" for k, v in zip(self.param_names, params, strict=True)
                    if not self.bounds.get(k, (0.0, np.inf))[0] < v < self.bounds.get(k, (0.0, np.inf))[1]]
        if at_bound:
            problems.append("parameters at a boundary: " + ", ".join(at_bound))
        grad_norm = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else float("inf")
        if not grad_norm < GRAD_TOL:
            problems.append(f"gradient norm {grad_norm:.2g} (not at an optimum)")
        min_eig = float(np.min(eig))
        if not min_eig > HESS_TOL * max(1.0, float(np.max(np.abs(eig)))):
            problems.append(f"Hessian not positive definite (smallest eigenvalue {min_eig:.2g}): "
                            "the data do not pin the parameters down")
        return FitCheck(ok=not problems, problems=problems, optimizer=str(res.message), success=bool(res.success),
                        grad_norm=grad_norm, min_eigenvalue=min_eig, starts=starts)

    def _loglik_grad(self, params, *data):
        """(log-likelihood per customer, gradient 4 × n), where a model has it analytically; else None."""
        return None

    def _analytic(self, data: tuple[np.ndarray, ...]) -> bool:
        return self._loglik_grad(np.ones(len(self.param_names)), *(c[:1] for c in data)) is not None

    def _objective(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> Callable:
        """The mean negative log-likelihood (plus the penalty) of log-parameters; with its gradient where the
        model has one analytically."""
        n = weights.sum()
        analytic = self._analytic(data)

        def objective(log_params: np.ndarray):
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # a non-finite value is rejected
                params = np.exp(log_params)
                if analytic:
                    ll, grad = self._loglik_grad(params, *data)
                else:
                    ll, grad = self._loglik(params, *data), None
            if not (np.all(np.isfinite(params)) and np.all(np.isfinite(ll))):
                return (1e100, np.zeros_like(log_params)) if analytic else 1e100
            f = -(weights @ ll) / n + self.penalizer * float(np.sum(params**2))
            if not analytic:
                return f
            # chain rule to log-parameters
            g = -(grad @ weights) / n * params + self.penalizer * 2 * params**2
            return f, g

        return objective

    def _minimize(self, log_start: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray):
        objective = self._objective(data, weights)
        if self._analytic(data):  # BFGS: few evaluations, and none of L-BFGS-B's per-step overhead
            return minimize(objective, log_start, jac=True, method="BFGS",
                            options={"maxiter": self.maxiter, "gtol": 1e-10})
        return minimize(objective, log_start, method="L-BFGS-B",
                        options={"maxiter": self.maxiter, "ftol": self.tol, "gtol": 1e-10})

    def _fitted(self) -> tuple[float, ...]:
        """The fitted parameters in `param_names` order; NotFittedError before fit()."""
        if "params_" not in vars(self):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return tuple(self.params_[k] for k in self.param_names)


def _unique_rows(*cols: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Collapse identical customer histories into one row with a weight (exact: the likelihood is a sum)."""
    counts = pd.DataFrame({i: c for i, c in enumerate(cols)}).value_counts(sort=False)
    idx = counts.index
    return tuple(idx.get_level_values(i).to_numpy(float) for i in range(len(cols))), counts.to_numpy(float)


def sample_histories() -> pd.DataFrame:
    """Ten customers' calibration histories in weeks (frequency, recency, T, monetary), for trying the models.

    >>> h = sample_histories()
    >>> list(h.columns), len(h)
    (['frequency', 'recency', 'T', 'monetary'], 10)
    """
    return pd.DataFrame({
        "frequency": [0, 1, 0, 4, 2, 0, 6, 1, 0, 3],
        "recency": [0, 12.0, 0, 30.1, 20.5, 0, 35.0, 3.0, 0, 15.2],
        "T": [38.9, 38.9, 36.0, 38.9, 38.9, 30.0, 38.9, 38.9, 20.0, 38.9],
        "monetary": [0, 20.0, 0, 35.5, 18.2, 0, 41.0, 12.5, 0, 25.0],
    })


class _Frequency(_Model):
    """Shared fit, validation and predictions of the purchase-frequency models."""

    start: ClassVar[tuple[float, ...]]
    _p_alive: ClassVar[Callable[..., np.ndarray]]
    _conditional_expected: ClassVar[Callable[..., np.ndarray]]

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood to repeat-purchase counts, recency and age (same time unit); `weights`
        counts customers per row (default: identical histories are collapsed, which gives the same fit).

        >>> h = sample_histories()
        >>> m = BetaGeo()
        >>> m.fit(h.frequency, h.recency, h["T"]) is m, m.n_customers_
        (True, 10)
        """
        x, t_x, age = _check(frequency, recency, T)
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age + 1e-9):
            raise ValueError("need frequency >= 0 and 0 <= recency <= T for every customer")
        if np.any((x == 0) & (t_x != 0)):
            raise ValueError("a customer with frequency 0 must have recency 0")
        if weights is None:
            data, w = _unique_rows(x, t_x, age)
        else:
            data, w = (x, t_x, age), _check(weights)[0]
        return self._fit(np.array(self.start), data, w)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Probability that each customer is still active at T.

        >>> h = sample_histories()
        >>> m = ParetoNBD(penalizer=0.01).fit(h.frequency, h.recency, h["T"])
        >>> p = m.p_alive([0, 6], [0, 35.0], [38.9, 38.9])
        >>> bool(0 < p[0] < p[1] <= 1)  # six purchases, the last one recent: more likely alive
        True
        """
        return type(self)._p_alive(self._fitted(), *_check(frequency, recency, T))

    def predict(self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Expected purchases of each customer in the next t time units.

        >>> h = sample_histories()
        >>> m = BetaGeo(penalizer=0.01).fit(h.frequency, h.recency, h["T"])
        >>> e = m.predict(52, [0, 6], [0, 35.0], [38.9, 38.9])
        >>> bool(0 < e[0] < e[1])
        True
        """
        return type(self)._conditional_expected(self._fitted(), t, *_check(frequency, recency, T))


class BetaGeo(_Frequency):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchasing while alive, geometric dropout after each purchase.

    Parameters `penalizer` (L2 on the parameters), `tol` and `maxiter` (optimiser); fitted `params_` (r, alpha,
    a, b), `loglik_`, `n_customers_`, `converged_`.

    >>> from sklearn.base import clone
    >>> from aipl.clv.models import sample_histories
    >>> h = sample_histories()
    >>> m = BetaGeo(penalizer=0.01).fit(h.frequency, h.recency, h["T"])
    >>> m, sorted(m.params_)
    (BetaGeo(penalizer=0.01), ['a', 'alpha', 'b', 'r'])
    >>> clone(m).get_params()  # same parameters, not fitted
    {'maxiter': 2000, 'penalizer': 0.01, 'tol': 1e-12}
    """

    lookup_name = "bgnbd"
    param_names = ("r", "alpha", "a", "b")
    bounds: ClassVar[Bounds] = {"r": (1e-3, 1e3), "alpha": (1e-6, 1e6), "a": (1e-3, 1e3), "b": (1e-3, 1e3)}
    start = (1.0, 1.0, 1.0, 1.0)
    _p_alive = staticmethod(tf.bgnbd_p_alive)
    _conditional_expected = staticmethod(tf.bgnbd_conditional_expected)

    def _loglik(self, params, x, t_x, T):
        return tf.bgnbd_loglik(params, x, t_x, T)

    def _loglik_grad(self, params, x, t_x, T):
        return tf.bgnbd_loglik_grad(params, x, t_x, T)

    def expected(self, t: ArrayLike) -> np.ndarray:
        """Expected purchases in t time units of a newly acquired customer.

        >>> h = sample_histories()
        >>> e = BetaGeo(penalizer=0.01).fit(h.frequency, h.recency, h["T"]).expected([10.0, 52.0])
        >>> bool(0 < e[0] < e[1])
        True
        """
        return tf.bgnbd_expected(self._fitted(), t)


class ParetoNBD(_Frequency):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchasing, exponential lifetime.

    Parameters as BetaGeo's; fitted `params_` (r, alpha, s, beta), `loglik_`, `n_customers_`, `converged_`.

    >>> from aipl.clv.models import sample_histories
    >>> h = sample_histories()
    >>> m = ParetoNBD().fit(h.frequency, h.recency, h["T"])
    >>> m, sorted(m.params_)
    (ParetoNBD(), ['alpha', 'beta', 'r', 's'])
    """

    lookup_name = "pareto_nbd"
    param_names = ("r", "alpha", "s", "beta")
    bounds: ClassVar[Bounds] = {"r": (1e-3, 1e3), "alpha": (1e-6, 1e6), "s": (1e-3, 1e3), "beta": (1e-6, 1e6)}
    start = (0.5, 10.0, 0.5, 10.0)
    _p_alive = staticmethod(tf.pareto_nbd_p_alive)
    _conditional_expected = staticmethod(tf.pareto_nbd_conditional_expected)

    def _loglik(self, params, x, t_x, T):
        return tf.pareto_nbd_loglik(params, x, t_x, T)


class GammaGamma(_Model):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR): a customer's mean spend per transaction.

    Fit on repeat customers only (frequency > 0); spend must be independent of frequency. Parameters as
    BetaGeo's; fitted `params_` (p, q, gamma), `loglik_`, `n_customers_`, `converged_`.

    >>> from aipl.clv.models import sample_histories
    >>> h = sample_histories()
    >>> m = GammaGamma().fit(h.frequency, h.monetary)
    >>> m, sorted(m.params_), m.n_customers_
    (GammaGamma(), ['gamma', 'p', 'q'], 6)
    """

    lookup_name = "gamma_gamma"
    param_names = ("p", "q", "gamma")
    bounds: ClassVar[Bounds] = {"p": (1e-3, 1e3), "q": (1.0, 1e3), "gamma": (1e-6, 1e9)}  # q ≤ 1: infinite mean

    def _loglik(self, params, x, m):
        return tf.gamma_gamma_loglik(params, x, m)

    def fit(self, frequency: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None) -> Self:
        """Fit to repeat customers' transaction counts and mean spend per transaction (customers with frequency 0
        are left out).

        >>> h = sample_histories()
        >>> m = GammaGamma()
        >>> m.fit(h.frequency, h.monetary) is m
        True
        """
        x, m = _check(frequency, monetary)
        keep = x > 0
        if not keep.any():
            raise ValueError("no repeat customers (frequency > 0) to fit a spend model on")
        if np.any(m[keep] <= 0):
            raise ValueError("mean spend must be positive for every repeat customer")
        if weights is None:
            data, w = _unique_rows(x[keep], m[keep])
        else:
            data, w = (x[keep], m[keep]), _check(weights)[0][keep]
        return self._fit(np.array([1.0, 1.0, float(np.mean(m[keep]))]), data, w)

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> np.ndarray:
        """Expected spend per transaction of each customer (population mean where frequency is 0).

        >>> h = sample_histories()
        >>> s = GammaGamma().fit(h.frequency, h.monetary).expected_spend([0, 4], [0.0, 35.5])
        >>> bool((s > 0).all())
        True
        """
        return tf.gamma_gamma_expected_spend(self._fitted(), *_check(frequency, monetary))

    def clv(self, model: _Frequency, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, monetary: ArrayLike,
            months: int = 36,
            units_per_month: float = 365.25 / 12 / 7, monthly_discount: float = 0.01) -> np.ndarray:
        """Discounted value of each customer's next `months` months: Σ E[purchases in month i] × spend / (1+d)^i.

        `units_per_month` converts months to the model's time unit (default: weeks).

        >>> h = sample_histories()
        >>> bg = BetaGeo(penalizer=0.01).fit(h.frequency, h.recency, h["T"])
        >>> v = GammaGamma().fit(h.frequency, h.monetary).clv(bg, [0, 6], [0, 35.0], [38.9, 38.9], [0, 41.0], months=12)
        >>> bool(0 < v[0] < v[1])
        True
        """
        x, t_x, age, m = _check(frequency, recency, T, monetary)
        spend = self.expected_spend(x, m)
        value = np.zeros_like(x)
        prev = np.zeros_like(x)
        for i in range(1, months + 1):
            cum = model.predict(i * units_per_month, x, t_x, age)
            value += (cum - prev) * spend / (1 + monthly_discount) ** i
            prev = cum
        return value
