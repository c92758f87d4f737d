"""Uplift targeting as a use case: the CLI's `aipl uplift` and the library's `target_uplift` give the same
answer for the same arguments, and both keep the chosen consumers as a saved list."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aipl.cli import app
from aipl.measure import UpliftTargets, target_uplift
from aipl.warehouse import open_warehouse
from tests.measure.conftest import market_workspace


def test_cli_and_library_choose_the_same_consumers(tmp_path):
    folder = tmp_path / "m"
    wh, _ = market_workspace(folder, consumers=3000, days=14, brands=3, seed=5, lead_days=14, holdout=0.3)
    lib = target_uplift(wh, brand="B01", budget=40, save="wave_lib")
    wh.close()
    assert isinstance(lib, UpliftTargets) and lib.saved_as == "wave_lib" and "selected" not in repr(lib)
    assert len(lib.selected) == lib.to_dict()["chosen"] <= 40
    r = CliRunner().invoke(app, ["uplift", "--brand", "B01", "--budget", "40", "--save", "wave_cli", "-w",
                                 str(folder), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body == {**json.loads(json.dumps(lib.to_dict(), default=str)), "saved_as": "wave_cli"}
    wh = open_warehouse(folder)
    lists = wh.table("consumer_lists").execute()
    wh.close()
    by = {name: sorted(g.consumer_id) for name, g in lists.groupby("list_name")}
    assert by["wave_cli"] == by["wave_lib"] == sorted(lib.selected.consumer_id)
