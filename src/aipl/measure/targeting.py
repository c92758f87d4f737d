"""Uplift targeting as one use case: learn who responds to a treated arm, choose whom to contact under a budget,
and keep the choice as a saved list for crowds and the autopilot."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from aipl.clv import save_list
from aipl.measure.experiment import only_experiment, pre_treatment_labels
from aipl.measure.uplift import uplift_targets
from aipl.warehouse import Warehouse


@dataclass
class UpliftTargets:
    """Who to contact for a treated arm: the learners' held-out evaluation, the consumers chosen under the budget
    (`selected`: consumer_id and uplift, best first) and the increment expected against random targeting."""

    experiment: str
    arm: str
    metric: str
    learner: str
    features: list[str]
    window: dict[str, str]
    train: int
    test: int
    evaluation: list[dict]
    scored: int
    selected: pd.DataFrame = field(repr=False)
    expected_incremental: float
    expected_incremental_untargeted: float
    qini: tuple[np.ndarray, np.ndarray] = field(repr=False)
    saved_as: str | None = None

    def to_dict(self) -> dict:
        """Plain JSON-ready values: the selection as a count (`chosen`), without the ids and the Qini curve."""
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("selected", "qini")}
        return {**body, "chosen": len(self.selected)}


def target_uplift(wh: Warehouse, experiment: str | None = None, arm: str | None = None, metric: str = "conversion",
                  learner: str = "x", brand: str | None = None, labels: tuple[str, ...] | None = None,
                  budget: float = 0.0, cost: float = 1.0, value: float = 0.0, save: str | None = None
                  ) -> UpliftTargets:
    """`uplift_targets` on the named experiment (or the workspace's only one), learning from `labels` (default:
    the pre-treatment labels the warehouse holds); the chosen consumers (`selected`, best first) are saved as
    list `save` of the brand when a name is given and someone was chosen (`saved_as`).

    >>> from importlib.resources import files
    >>> from aipl.pipeline import file_warehouse
    >>> with file_warehouse(files("aipl") / "data" / "events_dirty.csv", "events") as (wh, _):
    ...     target_uplift(wh)
    Traceback (most recent call last):
    ValueError: name the experiment: the workspace has no experiment
    """
    labels = pre_treatment_labels(wh) if labels is None else tuple(labels)
    res = uplift_targets(wh, experiment or only_experiment(wh), arm, metric, learner, brand, labels, budget, cost,
                         value)
    chosen = res["selected"]
    saved = save if save and len(chosen) else None
    if saved:
        save_list(wh, saved, brand or "", res["window"]["end"], chosen[["consumer_id"]])
    return UpliftTargets(**res, saved_as=saved)
