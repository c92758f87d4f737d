"""Sequenced delivery (序列化投放): the next action for each consumer from their DEEPLINK stage, with a
frequency cap, and a flight that measures how many consumers each policy moves up a stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd

from aipl.assets import states
from aipl.autopilot.results import Cap, SequenceComparison
from aipl.config import parse_day, register_section
from aipl.simulate.journeys import Journeys
from aipl.vocab import ACTIONS
from aipl.vocab import DEEPLINK_STAGES as STAGES
from aipl.warehouse import Warehouse

# DOMAIN.md §1 (序列化投放, "the right creative … to each relationship state") [P]: content for Discover,
# conversion ads for Engage/Enthuse, coupons for Perform, member offers for buyers.
NEXT_ACTION = {
    "discover": "content", "engage": "conversion_ad", "enthuse": "conversion_ad", "perform": "coupon",
    "initial": "member_offer", "numerous": "member_offer", "keen": "member_offer",
}
HOLD = "hold"  # capped: no contact today
# Sequenced delivery as a channel and a creative type per stage: the rule reads DOMAIN.md §1 the same way
# (种草 content early, conversion formats mid-funnel, coupons before the first purchase, member offers after).
DELIVERY_CHANNELS = ("search", "display", "affiliate", "live", "content")
CREATIVES = ("image", "video", "livestream", "coupon", "member_offer")
DELIVERY_ACTIONS = tuple(f"{ch}:{cr}" for ch in DELIVERY_CHANNELS for cr in CREATIVES)
DELIVERY_RULE = {
    "discover": "content:video", "engage": "display:image", "enthuse": "live:livestream", "perform": "search:coupon",
    "initial": "affiliate:member_offer", "numerous": "affiliate:member_offer", "keen": "affiliate:member_offer",
}
DEFAULT_CAP = Cap()


def from_config(section: dict | None) -> tuple[dict[str, str], Cap]:
    """The stage → action overrides and the frequency cap of an `aipl.toml` [sequence] table.

    >>> mapping, cap = from_config({"cap_contacts": 2, "cap_days": 14, "perform": "conversion_ad"})
    >>> mapping["perform"], mapping["discover"], cap
    ('conversion_ad', 'content', Cap(contacts=2, days=14))
    """
    section = dict(section or {})
    cap = {k: section.pop(k) for k in ("cap_contacts", "cap_days") if k in section}
    for k, v in cap.items():  # as written: whole numbers, not 1.5, true or "3"
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000:
            raise ValueError(f"aipl.toml [sequence]: {k} must be a whole number from 1 to 10000, not {v!r}")
    return check_mapping(section), Cap(**{k.removeprefix("cap_"): v for k, v in cap.items()})


def check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """The stage → action mapping completed from NEXT_ACTION; unknown stages or actions are an error.

    >>> check_mapping({"perform": "conversion_ad"}) == NEXT_ACTION | {"perform": "conversion_ad"}
    True
    >>> check_mapping({"perform": "sms"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: sequence mapping: unknown action 'sms'; stages: discover, ...; actions: content, ...
    """
    bad = [f"stage {s!r}" for s in mapping if s not in STAGES]
    bad += [f"action {a!r}" for a in mapping.values() if a not in ACTIONS]
    if bad:
        raise ValueError(f"sequence mapping: unknown {', '.join(bad)}; stages: {', '.join(STAGES)}; "
                         f"actions: {', '.join(ACTIONS)}")
    return NEXT_ACTION | mapping


def next_actions(wh: Warehouse, brand: str, day: str | date, mapping: dict[str, str] | None = None,
                 cap: Cap = DEFAULT_CAP) -> pd.DataFrame:
    """consumer_id, deeplink, contacts (brand exposures in the cap's window up to `day`) and today's action
    for every consumer in a DEEPLINK stage with `brand`; `hold` once the cap is reached.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> acts = next_actions(wh, "B01", "2026-10-24")
    >>> list(acts.columns), sorted(set(acts.action))
    (['consumer_id', 'deeplink', 'contacts', 'action'], ['content', 'conversion_ad', 'coupon', 'hold', 'member_offer'])
    >>> bool((acts[acts.contacts >= 3].action == "hold").all())
    True
    >>> sorted(set(next_actions(wh, "B01", "2026-10-24", cap=Cap(contacts=100)).action))
    ['content', 'conversion_ad', 'coupon', 'member_offer']
    """
    d = parse_day(day, "day")
    actions = check_mapping(mapping or {})
    s = states(wh, "brand", d, key=brand)
    e = wh.table("events")
    lo = ibis.literal(d - timedelta(days=cap.days - 1))
    day_of = wh.local_day(e.ts)
    e = e.filter((e.brand_id == brand) & (e.event_type == "exposure") & (day_of >= lo) & (day_of <= ibis.literal(d)))
    seen = e.group_by("consumer_id").aggregate(contacts=e.count())
    j = s.left_join(seen, "consumer_id").select(s.consumer_id, s.deeplink, contacts=seen.contacts.fill_null(0))
    act = j.deeplink.cases(*actions.items())
    out = j.mutate(action=ibis.ifelse(j.contacts >= cap.contacts, HOLD, act)).order_by("consumer_id").execute()
    out["contacts"] = out.contacts.astype(int)
    return out


# A policy picks an action index per reached consumer from their stage indices and what it has seen so far:
# counts[stage, action] of contacts and of advances.
Policy = Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def untargeted(stage, contacts, advances, rng) -> np.ndarray:
    """Any action, at random: delivery that ignores the consumer's stage.

    >>> import numpy as np
    >>> untargeted(np.array([0, 1, 3, 4]), None, None, np.random.default_rng(0)).tolist()
    [3, 2, 2, 1]
    """
    return rng.integers(0, len(ACTIONS) if contacts is None else contacts.shape[1], size=len(stage))


def by_rule(mapping: dict[str, str] | None = None, actions: tuple[str, ...] = ACTIONS) -> Policy:
    """The stage → action mapping (NEXT_ACTION unless given; over other `actions`, a stage not named gets the
    first).

    >>> import numpy as np
    >>> picks = by_rule()(np.array([0, 1, 3, 4]), None, None, None)  # discover, engage, perform, initial
    >>> [ACTIONS[i] for i in picks]
    ['content', 'conversion_ad', 'coupon', 'member_offer']
    """
    m = check_mapping(mapping or {}) if actions == ACTIONS else dict.fromkeys(STAGES, actions[0]) | dict(mapping or {})
    table = np.array([actions.index(m[s]) for s in STAGES])
    return lambda stage, contacts, advances, rng: table[stage]


def learned(stage, contacts, advances, rng) -> np.ndarray:
    """Thompson sampling per stage: each reached consumer gets the action whose advance rate, drawn from
    its Beta posterior for the consumer's stage, is highest. Starts knowing nothing.

    >>> import numpy as np
    >>> seen = np.zeros((len(STAGES), len(ACTIONS))); won = seen.copy()
    >>> seen[0], won[0] = 100, [30, 1, 1, 1]  # on discover, content moved 30 of 100, the others 1
    >>> learned(np.zeros(5, dtype=int), seen, won, np.random.default_rng(0)).tolist()
    [0, 0, 0, 0, 0]
    """
    draws = rng.beta(1 + advances[stage], 1 + contacts[stage] - advances[stage])
    return draws.argmax(axis=1)


def run_sequence(stages: np.ndarray, journeys: Journeys, policy: Policy, days: int = 28, reach: float = 0.3,
                 cap: Cap = DEFAULT_CAP, seed: int = 0) -> dict:
    """A flight of `days`: each day a random `reach` share of the consumers can be contacted (the same draws
    for every policy with the same seed), the capped ones are held back, the policy picks the actions and the
    hidden journeys move consumers up. Returns contacts, advances per 1,000 contacts and the share of
    consumers who moved up at least one stage.

    >>> import numpy as np
    >>> from aipl.simulate.journeys import Journeys
    >>> stages = np.random.default_rng(0).integers(0, 6, 1000)
    >>> res = run_sequence(stages, Journeys.draw(seed=0), by_rule(), days=14)
    >>> res["contacts"], round(res["advances_per_1000_contacts"], 1), res["advanced_share"]
    (3548, 32.1, 0.153)
    """
    rng = np.random.default_rng(seed)
    reach_rng, move_rng, pol_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**32, size=3))
    stage = np.asarray(stages, dtype=int).copy()
    start = stage.copy()
    n = len(stage)
    log = np.zeros((cap.days, n), dtype=np.int16)  # contacts on each of the last cap.days days
    fatigue_log = np.zeros((journeys.fatigue_days, n), dtype=np.int16)
    seen = np.zeros((len(STAGES), len(journeys.actions)))
    won = np.zeros((len(STAGES), len(journeys.actions)))
    total_contacts = total_adv = 0
    for t in range(days):
        reached = (reach_rng.random(n) < reach) & (log.sum(axis=0) < cap.contacts)
        action = np.full(n, -1)
        idx = np.flatnonzero(reached)
        action[idx] = policy(stage[idx], seen, won, pol_rng)
        new = journeys.step(stage, action, fatigue_log.sum(axis=0), move_rng)
        moved = new > stage
        np.add.at(seen, (stage[idx], action[idx]), 1)
        np.add.at(won, (stage[idx], action[idx]), moved[idx])
        total_contacts += len(idx)
        total_adv += int(moved[idx].sum())
        log[t % cap.days] = reached
        fatigue_log[t % journeys.fatigue_days] = reached
        stage = new
    return {"contacts": total_contacts, "advances_per_1000_contacts": 1000 * total_adv / max(total_contacts, 1),
            "advanced_share": float((stage > start).mean()), "final_stages": stage, "seen": seen, "won": won}


def compare_sequence(stages: np.ndarray, journeys: Journeys, days: int = 28, reach: float = 0.3,
                     cap: Cap = DEFAULT_CAP, seed: int = 0, mapping: dict[str, str] | None = None
                     ) -> SequenceComparison:
    """The flight under untargeted delivery, the stage rule, learned per-stage actions and the oracle (the
    hidden best action per stage), on the same reach draws. Lifts are against untargeted delivery.

    >>> import numpy as np
    >>> from aipl.simulate.journeys import Journeys
    >>> stages = np.random.default_rng(0).integers(0, 6, 2000)  # stage indices into STAGES
    >>> res = compare_sequence(stages, Journeys.draw(seed=0), days=14)
    >>> {k: p["advanced_share"] for k, p in res["policies"].items()}
    {'untargeted': 0.106, 'rule': 0.158, 'learned': 0.133, 'oracle': 0.162}
    >>> round(res["policies"]["rule"]["lift_vs_untargeted"], 2), res["hidden_best"]["perform"]
    (0.49, 'coupon')
    """
    policies = {"untargeted": untargeted, "rule": by_rule(mapping), "learned": learned,
                "oracle": by_rule(journeys.best)}
    res = {k: run_sequence(stages, journeys, p, days, reach, cap, seed) for k, p in policies.items()}
    base = res["untargeted"]["advanced_share"]
    return SequenceComparison(
        consumers=len(stages), days=days, reach=reach, cap=[cap.contacts, cap.days],
        policies={k: {"contacts": r["contacts"], "advanced_share": r["advanced_share"],
                      "advances_per_1000_contacts": r["advances_per_1000_contacts"],
                      "lift_vs_untargeted": r["advanced_share"] / base - 1 if base else None}
                  for k, r in res.items()},
        hidden_best=journeys.best,
    )


def compare_delivery(stages: np.ndarray, days: int = 28, reach: float = 0.3, cap: Cap = DEFAULT_CAP,
                     seed: int = 0) -> dict:
    """Sequenced delivery as a channel × creative type per stage, on journeys whose best actions are drawn at
    random (Journeys.random over DELIVERY_ACTIONS): untargeted delivery, the DELIVERY_RULE, learned per-stage
    actions (Thompson sampling from nothing) and the oracle on the same reach draws; the lift of each against
    untargeted, and per stage the learned choice (channel, creative, advance rate seen) beside the rule's and
    the hidden best.

    >>> import numpy as np
    >>> stages = np.random.default_rng(0).integers(0, 6, 3000)
    >>> res = compare_delivery(stages, days=14)
    >>> sorted(res["policies"]), sorted(res["plan"]["perform"])  # doctest: +NORMALIZE_WHITESPACE
    (['learned', 'oracle', 'rule', 'untargeted'],
     ['advance_rate', 'channel', 'contacts', 'creative', 'hidden_best', 'rule'])
    >>> res["policies"]["learned"]["lift_vs_untargeted"] > 0
    True
    """
    journeys = Journeys.random(seed, DELIVERY_ACTIONS)
    policies = {"untargeted": untargeted, "rule": by_rule(DELIVERY_RULE, DELIVERY_ACTIONS), "learned": learned,
                "oracle": by_rule(journeys.best, DELIVERY_ACTIONS)}
    res = {k: run_sequence(stages, journeys, p, days, reach, cap, seed) for k, p in policies.items()}
    base = res["untargeted"]["advanced_share"]
    seen, won = res["learned"]["seen"], res["learned"]["won"]
    rate = (1 + won) / (2 + seen)  # the Beta posterior's mean
    plan = {}
    for i, s in enumerate(STAGES[:-1]):
        best = int(rate[i].argmax())
        ch, cr = DELIVERY_ACTIONS[best].split(":")
        plan[s] = {"channel": ch, "creative": cr, "advance_rate": float(won[i, best] / max(seen[i, best], 1)),
                   "contacts": int(seen[i, best]), "rule": DELIVERY_RULE[s], "hidden_best": journeys.best[s]}
    return {"consumers": len(stages), "days": days, "reach": reach, "actions": len(DELIVERY_ACTIONS),
            "policies": {k: {"contacts": r["contacts"], "advanced_share": r["advanced_share"],
                             "advances_per_1000_contacts": r["advances_per_1000_contacts"],
                             "lift_vs_untargeted": r["advanced_share"] / base - 1 if base else None}
                         for k, r in res.items()},
            "plan": plan}


def brand_stages(wh: Warehouse, brand: str, day: str | date) -> np.ndarray:
    """The stage index (into STAGES) of every consumer in a DEEPLINK stage with `brand` on `day`.

    >>> import numpy as np
    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> np.bincount(brand_stages(wh, "B01", "2026-10-24"), minlength=len(STAGES)).tolist()
    [102, 25, 0, 9, 6, 0, 3]
    """
    df = states(wh, "brand", parse_day(day, "day"), key=brand).order_by("consumer_id").select("deeplink").execute()
    if df.empty:
        raise ValueError(f"brand {brand!r} has no consumer in a DEEPLINK stage on {day}")
    return df.deeplink.map({s: i for i, s in enumerate(STAGES)}).to_numpy(dtype=int)


register_section("sequence", from_config)  # checked whenever a workspace is loaded
