"""Hidden truth for 万相台 crowd × channel cells: per cell a response curve of impressions to spend, the
incremental outcome one impression buys for each scene aim, and the (larger, differently ranked) outcome that
last-touch attribution credits it with; a daily delivery log whose outcomes are measured against a randomised
holdout of each crowd, so a cell's lift is known only with noise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aipl.vocab import DEEPLINK_STAGES, adstock, hill

CELL_CHANNELS = ("search", "display", "affiliate", "live", "content", "short_video")
CELL_AIMS = ("gmv", "new_customer_gmv", "new_item_gmv", "hero_item_gmv", "fav_cart", "member_joins")
# what one incremental impression on a crowd in each DEEPLINK stage brings, per aim (relative scale, [P] sim)
_STAGE_AIM = {  # discover, engage, enthuse, perform, initial, numerous, keen
    "gmv": (0.2, 0.4, 0.6, 1.5, 1.0, 1.2, 1.0),
    "new_customer_gmv": (0.2, 0.4, 0.6, 1.5, 0.03, 0.0, 0.0),
    "new_item_gmv": (0.1, 0.3, 0.4, 0.6, 0.8, 1.0, 1.2),
    "hero_item_gmv": (0.1, 0.3, 0.7, 1.4, 0.6, 0.8, 0.5),
    "fav_cart": (1.0, 1.5, 1.2, 0.6, 0.3, 0.3, 0.2),
    "member_joins": (0.01, 0.02, 0.03, 0.1, 1.0, 0.8, 0.3),
}
_AIM_SCALE = {"gmv": 0.5, "new_customer_gmv": 0.3, "new_item_gmv": 0.15, "hero_item_gmv": 0.2,
              "fav_cart": 0.004, "member_joins": 0.0003}  # per impression at relative value 1
# last touch credits a channel with organic outcomes it only sat next to: a multiple of its incremental outcome
_ATTRIBUTION = {"search": 3.0, "display": 0.9, "affiliate": 2.0, "live": 1.3, "content": 2.6, "short_video": 1.1}


def simulate_cells(crowds: int | None = None, channels: int = 5, days: int = 60, seed: int = 0,
                   noise: float = 0.05, lift_noise: float = 0.3) -> tuple[pd.DataFrame, dict]:
    """A delivery log per crowd × channel cell and day (`day, channel, crowd, stage, cost, impressions`, and per
    aim `lift_<aim>`, the holdout-measured incremental outcome, and `attributed_<aim>`, last touch's figure) with
    its truth: per cell the curve (`reach, k, alpha, theta`), `value` (incremental outcome per impression by
    aim) and `attributed`. Crowds are the 7 DEEPLINK stages, or `crowds` crowds each in a random stage.
    Impressions carry `noise` (relative, normal); a day's lift carries the holdout comparison's noise, `lift_noise`
    times the cell's mean daily incremental outcome.

    >>> log, truth = simulate_cells(days=30, seed=1)
    >>> len(log), log.crowd.nunique(), log.channel.nunique(), len(truth["cells"])
    (1050, 7, 5, 35)
    >>> cell = truth["cells"]["search/discover"]
    >>> sorted(cell), cell["attributed"]["gmv"] > cell["value"]["gmv"]
    (['alpha', 'attributed', 'channel', 'crowd', 'k', 'reach', 'stage', 'theta', 'value'], True)
    """
    if not (1 <= channels <= len(CELL_CHANNELS) and days >= 10 and (crowds is None or 1 <= crowds <= 100)):
        raise ValueError(f"channels 1 to {len(CELL_CHANNELS)}, crowds 1 to 100 and at least 10 days")
    rng = np.random.default_rng(seed)
    chans = CELL_CHANNELS[:channels]
    if crowds is None:
        names, stages = list(DEEPLINK_STAGES), list(DEEPLINK_STAGES)
    else:
        stages = [DEEPLINK_STAGES[i] for i in rng.integers(0, len(DEEPLINK_STAGES), crowds)]
        names = [f"crowd{i:02d}" for i in range(crowds)]
    theta = dict(zip(chans, rng.uniform(0.2, 0.6, len(chans)).tolist(), strict=True))
    chan_aim = {a: dict(zip(chans, rng.lognormal(0, 0.5, len(chans)).tolist(), strict=True)) for a in CELL_AIMS}
    crowd_aim = {a: rng.lognormal(0, 0.3, len(names)) for a in CELL_AIMS}
    cells, frames = {}, []
    day0 = pd.Timestamp("2026-09-01")
    for j, (crowd, stage) in enumerate(zip(names, stages, strict=True)):
        size = rng.lognormal(np.log(40_000), 0.6)
        si = DEEPLINK_STAGES.index(stage)
        for ch in chans:
            base = rng.lognormal(np.log(300), 0.6)
            c = {"channel": ch, "crowd": crowd, "stage": stage, "reach": float(size * rng.uniform(0.05, 0.2)),
                 "k": float(base * rng.uniform(1.0, 3.0)), "alpha": float(rng.uniform(1.1, 2.2)), "theta": theta[ch]}
            c["value"] = {a: float(_AIM_SCALE[a] * _STAGE_AIM[a][si] * chan_aim[a][ch] * crowd_aim[a][j]
                                   * rng.lognormal(0, 0.2)) for a in CELL_AIMS}
            c["attributed"] = {a: v * _ATTRIBUTION[ch] * float(rng.lognormal(0, 0.15)) for a, v in c["value"].items()}
            cells[f"{ch}/{crowd}"] = c
            spend = np.round(base * rng.lognormal(0, 0.6, days), 2)
            true = c["reach"] * hill(adstock(spend, c["theta"]), c["k"], c["alpha"])
            imps = np.maximum(true * rng.normal(1, noise, days), 0).round()
            row = {"day": (day0 + pd.to_timedelta(np.arange(days), "D")).date, "channel": ch, "crowd": crowd,
                   "stage": stage, "cost": spend, "impressions": imps}
            for a, v in c["value"].items():
                # treated minus the holdout's rate scaled up: the organic baseline's noise stays in
                row[f"lift_{a}"] = v * imps + rng.normal(0, lift_noise * v * imps.mean(), days)
                row[f"attributed_{a}"] = c["attributed"][a] * imps * rng.lognormal(0, 0.1, days)
            frames.append(pd.DataFrame(row))
    return pd.concat(frames, ignore_index=True), {"cells": cells, "channels": list(chans), "crowds": names,
                                                  "stages": dict(zip(names, stages, strict=True))}
