"""Customer-base models with the scikit-learn contract: parameters in __init__, fit() returns self,
learned state in attributes ending in `_`. Each is registered under a `lookup_name` for configs and the CLI."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from aipl.clv import transformers as tf

MODELS: dict[str, type[_Model]] = {}
WARM_START_ROWS = 200_000  # above this many distinct histories, fits start from a subsample's optimum


class NotFittedError(RuntimeError):
    """A prediction was asked of a model that has not been fitted."""


def _check(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = len(out[0])
    for a in out:
        if len(a) != n:
            raise ValueError("all inputs must have the same length")
        if not np.all(np.isfinite(a)):
            raise ValueError("inputs must be finite numbers (no NaN or inf)")
    return out


class _Model:
    lookup_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

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

    def _fit(self, start: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray):
        if len(weights) > WARM_START_ROWS:  # start from a fit on a random tenth of the customers
            sub = np.random.default_rng(0).binomial(weights.astype(np.int64), 0.1).astype(float)
            keep = sub > 0
            start = self._minimize(np.log(start), tuple(c[keep] for c in data), sub[keep]).x
            start = np.exp(start)
        res = self._minimize(np.log(start), data, weights)
        params = np.exp(res.x)
        self.params_ = dict(zip(self.param_names, (float(p) for p in params), strict=True))
        self.loglik_ = float(weights @ self._loglik(params, *data))
        self.n_customers_ = int(weights.sum())
        self.converged_ = bool(res.success)
        return self

    def _loglik_grad(self, params, *data):
        """(log-likelihood per customer, gradient 4 × n), where a model has it analytically; else None."""
        return None

    def _minimize(self, log_start: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray):
        n = weights.sum()
        analytic = self._loglik_grad(np.exp(log_start), *data) is not None

        def objective(log_params: np.ndarray):
            params = np.exp(log_params)
            if analytic:
                ll, grad = self._loglik_grad(params, *data)
            else:
                ll, grad = self._loglik(params, *data), None
            if not np.all(np.isfinite(ll)):
                return (1e100, np.zeros_like(log_params)) if analytic else 1e100
            f = -(weights @ ll) / n + self.penalizer * float(np.sum(params**2))
            if not analytic:
                return f
            # chain rule to log-parameters
            g = -(grad @ weights) / n * params + self.penalizer * 2 * params**2
            return f, g

        if analytic:  # BFGS: few evaluations, and none of L-BFGS-B's per-step overhead
            return minimize(objective, log_start, jac=True, method="BFGS",
                            options={"maxiter": self.maxiter, "gtol": 1e-10})
        return minimize(objective, log_start, method="L-BFGS-B",
                        options={"maxiter": self.maxiter, "ftol": self.tol, "gtol": 1e-10})

    @property
    def _p(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return tuple(self.params_[k] for k in self.param_names)


def _unique_rows(*cols: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Collapse identical customer histories into one row with a weight (exact: the likelihood is a sum)."""
    counts = pd.DataFrame({i: c for i, c in enumerate(cols)}).value_counts(sort=False)
    idx = counts.index
    return tuple(idx.get_level_values(i).to_numpy(float) for i in range(len(cols))), counts.to_numpy(float)


class _Frequency(_Model):
    """Shared fit and validation of the purchase-frequency models."""

    start: ClassVar[tuple[float, ...]]

    def fit(self, frequency, recency, T, weights=None) -> _Frequency:
        """Fit by maximum likelihood to repeat-purchase counts, recency and age (same time unit)."""
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


class BetaGeo(_Frequency):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchasing while alive, geometric dropout after each purchase.

    >>> m = BetaGeo().fit([2, 1, 0, 0], [30.43, 1.71, 0, 0], [38.86, 38.86, 38.86, 38.86])
    >>> sorted(m.params_)
    ['a', 'alpha', 'b', 'r']
    """

    lookup_name = "bgnbd"
    param_names = ("r", "alpha", "a", "b")
    start = (1.0, 1.0, 1.0, 1.0)

    def _loglik(self, params, x, t_x, T):
        return tf.bgnbd_loglik(params, x, t_x, T)

    def _loglik_grad(self, params, x, t_x, T):
        return tf.bgnbd_loglik_grad(params, x, t_x, T)

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still active at T."""
        return tf.bgnbd_p_alive(self._p, *_check(frequency, recency, T))

    def predict(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected purchases of each customer in the next t time units."""
        return tf.bgnbd_conditional_expected(self._p, t, *_check(frequency, recency, T))

    def expected(self, t) -> np.ndarray:
        """Expected purchases in t time units of a newly acquired customer."""
        return tf.bgnbd_expected(self._p, t)


class ParetoNBD(_Frequency):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchasing, exponential lifetime.

    >>> m = ParetoNBD().fit([2, 1, 0, 3], [30.43, 1.71, 0, 20.0], [38.86, 38.86, 38.86, 38.86])
    >>> sorted(m.params_)
    ['alpha', 'beta', 'r', 's']
    """

    lookup_name = "pareto_nbd"
    param_names = ("r", "alpha", "s", "beta")
    start = (0.5, 10.0, 0.5, 10.0)

    def _loglik(self, params, x, t_x, T):
        return tf.pareto_nbd_loglik(params, x, t_x, T)

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still active at T."""
        return tf.pareto_nbd_p_alive(self._p, *_check(frequency, recency, T))

    def predict(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected purchases of each customer in the next t time units."""
        return tf.pareto_nbd_conditional_expected(self._p, t, *_check(frequency, recency, T))


class GammaGamma(_Model):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR): a customer's mean spend per transaction.

    Fit on repeat customers only (frequency > 0); spend must be independent of frequency.

    >>> m = GammaGamma().fit([2, 1, 4, 3], [22.35, 11.77, 30.1, 18.0])
    >>> sorted(m.params_)
    ['gamma', 'p', 'q']
    """

    lookup_name = "gamma_gamma"
    param_names = ("p", "q", "gamma")

    def _loglik(self, params, x, m):
        return tf.gamma_gamma_loglik(params, x, m)

    def fit(self, frequency, monetary, weights=None) -> GammaGamma:
        """Fit to repeat customers' transaction counts and mean spend per transaction."""
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

    def expected_spend(self, frequency, monetary) -> np.ndarray:
        """Expected spend per transaction of each customer (population mean where frequency is 0)."""
        return tf.gamma_gamma_expected_spend(self._p, *_check(frequency, monetary))

    def clv(self, model: _Frequency, frequency, recency, T, monetary, months: int = 36,
            units_per_month: float = 365.25 / 12 / 7, monthly_discount: float = 0.01) -> np.ndarray:
        """Discounted value of each customer's next `months` months: Σ E[purchases in month i] × spend / (1+d)^i.

        `units_per_month` converts months to the model's time unit (default: weeks).
        """
        x, t_x, age, m = _check(frequency, recency, T, monetary)
        spend = self.expected_spend(x, m)
        per_month = units_per_month
        value = np.zeros_like(x)
        prev = np.zeros_like(x)
        for i in range(1, months + 1):
            cum = model.predict(i * per_month, x, t_x, age)
            value += (cum - prev) * spend / (1 + monthly_discount) ** i
            prev = cum
        return value
