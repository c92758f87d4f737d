"""Pure functions of the buy-till-you-die and spend models: log-likelihoods and predictions.

Notation (Fader, Hardie & Lee 2005): x = repeat purchases in the calibration period, t_x = time of the last
purchase, T = time from the first purchase to the end of calibration, all in the model's time unit.
Arrays broadcast; nothing here reads data or fits anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logsumexp


def _per_count(x: np.ndarray, fn):
    """fn(x), evaluated once per distinct purchase count when x holds small whole numbers (as it does)."""
    if len(x) > 256:
        xi = x.astype(np.int64)
        top = int(xi.max(initial=0))
        if top < 1_000_000 and np.array_equal(xi, x):
            return fn(np.arange(top + 1, dtype=float))[xi]
    return fn(x)


def bgnbd_loglik(params: Sequence[float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """BG/NBD log-likelihood of each customer (FHL 2005, eq. 6). params = (r, alpha, a, b).

    >>> bg = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of CDNOW (FHL 2005)
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> bgnbd_loglik(bg, x, t_x, T).round(4).tolist()
    [-0.5547, -9.4586]
    """
    r, alpha, a, b = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    # the special functions depend on x only: one evaluation per distinct count
    a1 = _per_count(x, lambda k: gammaln(r + k) - gammaln(r)) + r * np.log(alpha)
    a2 = _per_count(x, lambda k: betaln(a, b + k) - betaln(a, b)) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    a3 = _per_count(x, lambda k: betaln(a + 1, b + np.maximum(k, 1.0) - 1) - betaln(a, b))
    a3 = a3 - (r + x) * np.log(alpha + t_x)  # the max() keeps b + k - 1 > 0 where the term is masked out
    return a1 + np.where(repeat, np.logaddexp(a2, a3), a2)


def bgnbd_loglik_grad(params: Sequence[float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The BG/NBD log-likelihood of each customer and its gradient (4 × n) with respect to (r, alpha, a, b).

    >>> bg = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of CDNOW (FHL 2005)
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> ll, grad = bgnbd_loglik_grad(bg, x, t_x, T)
    >>> ll.round(4).tolist(), grad.shape
    ([-0.5547, -9.4586], (4, 2))
    """
    r, alpha, a, b = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    repeat = x > 0
    bab = betaln(a, b)
    a1 = _per_count(x, lambda k: gammaln(r + k) - gammaln(r)) + r * np.log(alpha)
    l_aT, l_atx = np.log(alpha + T), np.log(alpha + t_x)
    a2 = _per_count(x, lambda k: betaln(a, b + k)) - bab - (r + x) * l_aT
    a3 = _per_count(x, lambda k: betaln(a + 1, b + np.maximum(k, 1.0) - 1)) - bab - (r + x) * l_atx
    top = np.where(repeat, np.logaddexp(a2, a3), a2)
    w2 = np.exp(a2 - top)
    w3 = np.where(repeat, np.exp(a3 - top), 0.0)
    d_ab, d_b, d_a = digamma(a + b), digamma(b), digamma(a)
    dig_abx = _per_count(x, lambda k: digamma(a + b + k))
    g_r = _per_count(x, lambda k: digamma(r + k)) - digamma(r) + np.log(alpha) - w2 * l_aT - w3 * l_atx
    g_alpha = r / alpha - w2 * (r + x) / (alpha + T) - w3 * (r + x) / (alpha + t_x)
    g_a = w2 * (d_ab - dig_abx) + w3 * (digamma(a + 1) - dig_abx - d_a + d_ab)
    g_b = (w2 * (_per_count(x, lambda k: digamma(b + k)) - dig_abx - d_b + d_ab)
           + w3 * (_per_count(x, lambda k: digamma(b + np.maximum(k, 1.0) - 1)) - dig_abx - d_b + d_ab))
    return a1 + top, np.vstack([g_r, g_alpha, g_a, g_b])


def bgnbd_p_alive(params: Sequence[float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """P(a customer with history (x, t_x, T) is still alive) under BG/NBD.

    >>> bg = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of CDNOW (FHL 2005)
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> bgnbd_p_alive(bg, x, t_x, T).round(4).tolist()
    [1.0, 0.7266]
    """
    r, alpha, a, b = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    xb = np.where(x > 0, x, 1.0)
    # log-odds of being dead: no overflow for the long histories of heavy buyers
    log_odds = np.log(a) - np.log(b + xb - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, expit(-log_odds), 1.0)


def bgnbd_expected(params: Sequence[float], t: ArrayLike) -> np.ndarray:
    """E[X(t)]: expected purchases in a period of length t for a new customer (BG/NBD).

    >>> bg = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of CDNOW (FHL 2005)
    >>> bgnbd_expected(bg, [39.0, 78.0]).round(4).tolist()
    [1.1967, 1.8605]
    """
    r, alpha, a, b = params
    t = np.asarray(t, float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_conditional_expected(params: Sequence[float], t: ArrayLike, x: ArrayLike, t_x: ArrayLike,
                               T: ArrayLike) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (FHL 2005, eq. 10).

    >>> bg = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of CDNOW (FHL 2005)
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> bgnbd_conditional_expected(bg, 39.0, x, t_x, T).round(4).tolist()  # FHL 2005: 1.226
    [0.1951, 1.226]
    """
    r, alpha, a, b = params
    x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
    head = (a + b + x - 1) / (a - 1)
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        # (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z), by Euler's transformation where that is finite (no 0 × inf for
        # long histories), else as it stands (finite where Euler's is not: a and b both huge)
        euler = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        direct = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        tail = 1 - np.where(np.isfinite(euler), euler, direct)
        alive = bgnbd_p_alive(params, x, t_x, T)
        return np.where(alive > 0, head * tail * alive, 0.0)


def _pareto_log_a0(params, x, t_x, T) -> np.ndarray:
    r, alpha, s, beta = params
    if alpha < beta:
        lo, hi, second = alpha, beta, r + x
    else:
        lo, hi, second = beta, alpha, s + 1.0
    rsx = r + s + x
    diff = hi - lo
    p1 = hyp2f1(rsx, second, rsx + 1.0, diff / (hi + t_x))
    q1 = hi + t_x
    p2 = hyp2f1(rsx, second, rsx + 1.0, diff / (hi + T))
    q2 = hi + T
    sign = np.ones_like(x)
    num = logsumexp([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)], axis=0, b=[sign, -sign])
    return num - rsx * np.log(q1 * q2)


def pareto_nbd_loglik(params: Sequence[float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Pareto/NBD log-likelihood of each customer (Fader & Hardie 2005 note). params = (r, alpha, s, beta).

    >>> pn = (0.553, 10.578, 0.606, 11.669)  # r, alpha, s, beta of CDNOW
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> pareto_nbd_loglik(pn, x, t_x, T).round(4).tolist()
    [-0.521, -9.5543]
    """
    r, alpha, s, beta = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    a3 = np.log(s) - np.log(r + s + x) + _pareto_log_a0(params, x, t_x, T)
    return a1 + np.logaddexp(a2, a3)


def pareto_nbd_p_alive(params: Sequence[float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """P(alive | x, t_x, T) under Pareto/NBD.

    >>> pn = (0.553, 10.578, 0.606, 11.669)  # r, alpha, s, beta of CDNOW
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> pareto_nbd_p_alive(pn, x, t_x, T).round(4).tolist()
    [0.2953, 0.8692]
    """
    r, alpha, s, beta = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    log_ratio = (
        np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
        + _pareto_log_a0(params, x, t_x, T)
    )
    return 1.0 / (1.0 + np.exp(log_ratio))


def pareto_nbd_conditional_expected(params: Sequence[float], t: ArrayLike, x: ArrayLike, t_x: ArrayLike,
                                    T: ArrayLike) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under Pareto/NBD.

    >>> pn = (0.553, 10.578, 0.606, 11.669)  # r, alpha, s, beta of CDNOW
    >>> x, t_x, T = [0, 2], [0.0, 30.43], [38.86, 38.86]  # no repeat purchase; two, the last in week 30.43
    >>> pareto_nbd_conditional_expected(pn, 39.0, x, t_x, T).round(4).tolist()
    [0.1071, 1.4551]
    """
    r, alpha, s, beta = params
    x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
    head = (r + x) * (beta + T) / ((alpha + T) * (s - 1))
    return head * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * pareto_nbd_p_alive(params, x, t_x, T)


def gamma_gamma_loglik(params: Sequence[float], x: ArrayLike, m: ArrayLike) -> np.ndarray:
    """Gamma-Gamma log-likelihood of each repeat customer's mean spend m over x transactions. params = (p, q, v).

    >>> gamma_gamma_loglik((6.25, 3.74, 15.44), [2, 1], [22.35, 11.77]).round(4).tolist()
    [-3.5513, -3.7377]
    """
    p, q, v = params
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)
    )


def gamma_gamma_expected_spend(params: Sequence[float], x: ArrayLike, m: ArrayLike) -> np.ndarray:
    """E[spend per transaction | x, m] under Gamma-Gamma (a customer with x = 0 gets the population mean).

    >>> gamma_gamma_expected_spend((6.25, 3.74, 15.44), [0, 2], [0.0, 22.35]).round(4).tolist()
    [35.219, 24.6637]
    """
    p, q, v = params
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (p * (v + x * m)) / (p * x + q - 1)
