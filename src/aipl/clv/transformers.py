"""Pure functions of the buy-till-you-die and spend models: log-likelihoods and predictions.

Notation (Fader, Hardie & Lee 2005): x = repeat purchases in the calibration period, t_x = time of the last
purchase, T = time from the first purchase to the end of calibration, all in the model's time unit.
Arrays broadcast; nothing here reads data or fits anything.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1, logsumexp


def _per_count(x: np.ndarray, fn):
    """fn(x), evaluated once per distinct purchase count when x holds small whole numbers (as it does)."""
    if len(x) > 256:
        xi = x.astype(np.int64)
        top = int(xi.max(initial=0))
        if top < 1_000_000 and np.array_equal(xi, x):
            return fn(np.arange(top + 1, dtype=float))[xi]
    return fn(x)


def bgnbd_loglik(params, x, t_x, T) -> np.ndarray:
    """BG/NBD log-likelihood of each customer (FHL 2005, eq. 6). params = (r, alpha, a, b)."""
    r, alpha, a, b = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    # the special functions depend on x only: one evaluation per distinct count
    a1 = _per_count(x, lambda k: gammaln(r + k) - gammaln(r)) + r * np.log(alpha)
    a2 = _per_count(x, lambda k: betaln(a, b + k) - betaln(a, b)) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    a3 = _per_count(x, lambda k: betaln(a + 1, b + np.maximum(k, 1.0) - 1) - betaln(a, b))
    a3 = a3 - (r + x) * np.log(alpha + t_x)  # the max() keeps b + k - 1 > 0 where the term is masked out
    return a1 + np.where(repeat, np.logaddexp(a2, a3), a2)


def bgnbd_loglik_grad(params, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """The BG/NBD log-likelihood of each customer and its gradient (4 × n) with respect to (r, alpha, a, b)."""
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


def bgnbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """P(a customer with history (x, t_x, T) is still alive) under BG/NBD."""
    r, alpha, a, b = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    xb = np.where(x > 0, x, 1.0)
    odds = np.where(x > 0, a / (b + xb - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return 1.0 / (1.0 + odds)


def bgnbd_expected(params, t) -> np.ndarray:
    """E[X(t)]: expected purchases in a period of length t for a new customer (BG/NBD)."""
    r, alpha, a, b = params
    t = np.asarray(t, float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_conditional_expected(params, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (FHL 2005, eq. 10)."""
    r, alpha, a, b = params
    x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return head * tail * bgnbd_p_alive(params, x, t_x, T)


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


def pareto_nbd_loglik(params, x, t_x, T) -> np.ndarray:
    """Pareto/NBD log-likelihood of each customer (Fader & Hardie 2005 note). params = (r, alpha, s, beta)."""
    r, alpha, s, beta = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    a3 = np.log(s) - np.log(r + s + x) + _pareto_log_a0(params, x, t_x, T)
    return a1 + np.logaddexp(a2, a3)


def pareto_nbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) under Pareto/NBD."""
    r, alpha, s, beta = params
    x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
    log_ratio = (
        np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
        + _pareto_log_a0(params, x, t_x, T)
    )
    return 1.0 / (1.0 + np.exp(log_ratio))


def pareto_nbd_conditional_expected(params, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under Pareto/NBD."""
    r, alpha, s, beta = params
    x, t_x, T, t = (np.asarray(v, float) for v in (x, t_x, T, t))
    head = (r + x) * (beta + T) / ((alpha + T) * (s - 1))
    return head * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * pareto_nbd_p_alive(params, x, t_x, T)


def gamma_gamma_loglik(params, x, m) -> np.ndarray:
    """Gamma-Gamma log-likelihood of each repeat customer's mean spend m over x transactions. params = (p, q, v)."""
    p, q, v = params
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)
    )


def gamma_gamma_expected_spend(params, x, m) -> np.ndarray:
    """E[spend per transaction | x, m] under Gamma-Gamma (a customer with x = 0 gets the population mean)."""
    p, q, v = params
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (p * (v + x * m)) / (p * x + q - 1)
