"""The product's shared vocabulary: consumer states, sequenced-delivery actions, member buckets and the
response-curve shapes, named once for every layer above (engines, simulator, faces).

>>> from aipl.vocab import DEEPLINK_STAGES, DEEPLINK_STATES
>>> DEEPLINK_STAGES[0], DEEPLINK_STATES["keen"]
('discover', 'L')
>>> round(float(hill(2.0, k=2.0, alpha=1.5)), 2)
0.5
"""

from __future__ import annotations

import numpy as np

# AIPL (DOMAIN.md §2): 认知 Awareness < 兴趣 Interest < 购买 Purchase < 忠诚 Loyalty.
AIPL_STATES: tuple[str, ...] = ("A", "I", "P", "L")
AIPL_LABELS: dict[str, str] = {"A": "认知 Awareness", "I": "兴趣 Interest", "P": "购买 Purchase", "L": "忠诚 Loyalty"}

# DEEPLINK's seven stages with their AIPL parent, lowest first (DOMAIN.md §3).
DEEPLINK_STATES: dict[str, str] = {
    "discover": "A", "engage": "I", "enthuse": "I", "perform": "I", "initial": "P", "numerous": "L", "keen": "L",
}
DEEPLINK_STAGES: tuple[str, ...] = tuple(DEEPLINK_STATES)
DEEPLINK_LABELS: dict[str, str] = {
    "discover": "发现 Discover", "engage": "种草 Engage", "enthuse": "热爱 Enthuse", "perform": "行动 Perform",
    "initial": "首购 Initial", "numerous": "复购 Numerous", "keen": "忠诚 Keen",
}

# Sequenced delivery (序列化投放, DOMAIN.md §1/§3): what a brand can send a consumer next.
ACTIONS: tuple[str, ...] = ("content", "conversion_ad", "coupon", "member_offer")

# FAST T 会员活跃率 (DOMAIN.md §4): a member is active with one of these in the last 30 days.
MEMBER_ACTIVITY: tuple[str, ...] = ("add_to_cart", "favorite", "coupon_claim", "trial_claim", "purchase")

# Member operations (DOMAIN.md §2.4, §11: 30/60/180 天未购): days since the last purchase, inclusive bounds.
MEMBER_BUCKETS: dict[str, tuple[int, int | None]] = {
    "active": (0, 29), "lapsed_30": (30, 59), "lapsed_60": (60, 179), "lapsed_180": (180, None),
}


def hill(x, k: float, alpha: float) -> np.ndarray:
    """Hill saturation x^α / (x^α + k^α), in [0, 1): the share of a channel's reach that spend `x` buys.

    >>> hill([0.0, 1.0], k=1.0, alpha=2.0).tolist()
    [0.0, 0.5]
    """
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    with np.errstate(divide="ignore", over="ignore"):  # 1 / (1 + (k/x)^α): no overflow for large x or α
        return np.where(x > 0, 1.0 / (1.0 + np.exp(alpha * (np.log(k) - np.log(np.where(x > 0, x, 1.0))))), 0.0)


def adstock(spend, theta: float) -> np.ndarray:
    """Geometric carry-over along the last axis: a_t = s_t + θ·a_{t−1}.

    >>> adstock([1.0, 0.0, 0.0], theta=0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    spend = np.asarray(spend, dtype=float)
    out = np.empty_like(spend)
    acc = np.zeros(spend.shape[:-1])
    for t in range(spend.shape[-1]):
        acc = spend[..., t] + theta * acc
        out[..., t] = acc
    return out
