"""Uplift targeting as one use case: learn who responds to a treated arm, choose whom to contact under a budget,
and keep the choice as a saved list for crowds and the autopilot."""

from __future__ import annotations

from aipl.clv import save_list
from aipl.measure.experiment import only_experiment, pre_treatment_labels
from aipl.measure.results import UpliftTargets
from aipl.measure.uplift import uplift_targets
from aipl.warehouse import Warehouse


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

    On a small Hillstrom-shaped e-mail test where the e-mail moves women only:

    >>> import tempfile, numpy as np, pandas as pd
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> rng = np.random.default_rng(0); n = 1000
    >>> mail, women = rng.random(n) < 0.5, (rng.random(n) < 0.5).astype(int)
    >>> log = pd.DataFrame({"recency": rng.integers(1, 13, n), "history_segment": "1) $0 - $100",
    ...     "history": rng.gamma(2, 100, n).round(2), "mens": 1 - women, "womens": women, "zip_code": "Urban",
    ...     "newbie": rng.integers(0, 2, n), "channel": "Web", "segment": np.where(mail, "Womens E-Mail", "No E-Mail"),
    ...     "visit": (rng.random(n) < 0.1 + 0.15 * mail * women).astype(int), "conversion": 0, "spend": 0})
    >>> folder = tempfile.mkdtemp(); log.to_csv(f"{folder}/hillstrom.csv", index=False)
    >>> wh = open_warehouse(init_workspace(folder)); _ = ingest(wh, f"{folder}/hillstrom.csv", "hillstrom")
    >>> t = target_uplift(wh, metric="visit", budget=200, save="email_women")
    >>> t.experiment, t.arm, t.features, len(t.selected), t.saved_as
    ('hillstrom_2008', 'Womens E-Mail', ['history', 'recency', 'mens', 'womens', 'newbie'], 200, 'email_women')
    >>> bool(t.expected_incremental > t.expected_incremental_untargeted)
    True
    >>> wh.close()
    """
    labels = pre_treatment_labels(wh) if labels is None else tuple(labels)
    res = uplift_targets(wh, experiment or only_experiment(wh), arm, metric, learner, brand, labels, budget, cost,
                         value)
    chosen = res["selected"]
    saved = save if save and len(chosen) else None
    if saved:
        save_list(wh, saved, brand or "", res["window"]["end"], chosen[["consumer_id"]])
    res["saved_as"] = saved
    return res
