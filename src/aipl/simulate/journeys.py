"""Hidden truth for sequenced delivery: how likely a consumer in each DEEPLINK stage is to move one stage up
on a day, with no contact and after each kind of contact, and how much repeated contact wears the effect
down. A policy never reads this; it only sees who advanced."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aipl.vocab import ACTIONS, DEEPLINK_STAGES

STAGES = DEEPLINK_STAGES
# Where each action works best, as a position on the funnel (0 = discover … 6 = keen): content early,
# conversion ads in the interest stages, coupons just before the first purchase, member offers after it.
_ACTION_AIM = {"content": 0.0, "conversion_ad": 1.8, "coupon": 3.0, "member_offer": 5.0}


@dataclass
class Journeys:
    """Daily advance probabilities per stage (`base`, no contact) and per stage × action (`contact`), drawn
    around a funnel-shaped affinity with per-market noise, and the `fatigue` factor applied per contact the
    consumer already had in the last `fatigue_days`; `best` is the best action per stage.

    >>> j = Journeys.draw(seed=0)
    >>> j.best["discover"], j.best["perform"], j.contact["keen"]["coupon"]
    ('content', 'coupon', 0.0)
    """

    base: dict[str, float]
    contact: dict[str, dict[str, float]]
    fatigue: float = 0.6
    fatigue_days: int = 7
    seed: int = 0
    best: dict[str, str] = field(default_factory=dict)
    actions: tuple[str, ...] = ACTIONS

    @classmethod
    def random(cls, seed: int = 0, actions: tuple[str, ...] = ACTIONS, lift: float = 0.03,
               spread: float = 0.8) -> Journeys:
        """Journeys whose best action per stage owes nothing to any rule: each action's lift on each stage is
        `lift` × an independent lognormal(0, `spread`) draw, so the best actions fall at random.

        >>> j = Journeys.random(seed=0, actions=("a", "b", "c"))
        >>> sorted(j.contact["discover"]), j.best["discover"] in ("a", "b", "c"), j.contact["keen"]["a"]
        (['a', 'b', 'c'], True, 0.0)
        """
        rng = np.random.default_rng(seed)
        base = {s: float(0.004 * rng.lognormal(0, 0.3)) for s in STAGES[:-1]} | {"keen": 0.0}
        contact = {s: {a: base[s] + float(lift * rng.lognormal(0, spread)) for a in actions} for s in STAGES[:-1]}
        contact["keen"] = dict.fromkeys(actions, 0.0)
        best = {s: max(contact[s], key=contact[s].get) for s in STAGES[:-1]}
        return cls(base, contact, seed=seed, best=best, actions=tuple(actions))

    @classmethod
    def draw(cls, seed: int = 0, width: float = 1.2, noise: float = 0.35) -> Journeys:
        """A market's journeys: an action's lift on a stage falls off with its distance from the action's
        aim (a Gaussian of `width` stages), times lognormal `noise`.

        >>> j = Journeys.draw(seed=0)
        >>> round(j.base["discover"], 4), j.contact["discover"]["content"] > j.contact["discover"]["member_offer"]
        (0.0042, True)
        """
        rng = np.random.default_rng(seed)
        base = {s: float(0.004 * rng.lognormal(0, 0.3)) for s in STAGES[:-1]} | {"keen": 0.0}
        contact: dict[str, dict[str, float]] = {}
        for i, s in enumerate(STAGES[:-1]):
            contact[s] = {
                a: base[s] + float(0.05 * np.exp(-((i - aim) ** 2) / (2 * width**2)) * rng.lognormal(0, noise))
                for a, aim in _ACTION_AIM.items()
            }
        contact["keen"] = dict.fromkeys(ACTIONS, 0.0)
        best = {s: max(contact[s], key=contact[s].get) for s in STAGES[:-1]}
        return cls(base, contact, seed=seed, best=best)

    def step(self, stage: np.ndarray, action: np.ndarray, recent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Tomorrow's stage index per consumer: `stage` holds indices into STAGES, `action` indices into the
        journeys' `actions` or -1 for no contact, `recent` the contacts in the last `fatigue_days` before today's.

        >>> import numpy as np
        >>> j, rng = Journeys.draw(seed=0), np.random.default_rng(0)
        >>> content = ACTIONS.index("content")
        >>> np.bincount(j.step(np.zeros(1000, int), np.full(1000, content), np.zeros(1000), rng)).tolist()
        [928, 72]
        >>> j.step(np.full(3, 6), np.full(3, -1), np.zeros(3), rng).tolist()  # keen is the last stage
        [6, 6, 6]
        """
        base = np.array([self.base[s] for s in STAGES])
        table = np.array([[self.contact[s][a] for a in self.actions] for s in STAGES])
        touched = action >= 0
        p = base[stage].copy()
        lift = table[stage[touched], action[touched]] - base[stage[touched]]
        p[touched] += lift * self.fatigue ** recent[touched]
        up = rng.random(len(stage)) < p
        return np.minimum(stage + up, len(STAGES) - 1)
