"""No stale result is served: every derived table records the settings and rules it was built with (the `builds`
table); after `[assets] purchase_days` changes, reading the assets rebuilds them, and a table not yet rebuilt is
named with a one-line "stale: rebuild with …" in the CLI, in freshness (the API and the dashboard) and its header."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aipl.assets import ensure_built
from aipl.audience import refresh
from aipl.cli import app
from aipl.config import init_workspace
from aipl.pipeline import freshness
from aipl.warehouse import open_warehouse
from tests.assets.test_states import at, ev, load

DAY = str(at(500).date())


def _snapshot(root) -> dict:
    r = CliRunner().invoke(app, ["assets", "snapshot", "--key", "B", "--day", DAY, "-w", str(root), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["counts"]


def test_a_changed_purchase_window_is_rebuilt_or_named_stale(tmp_path):
    root = init_workspace(tmp_path / "ws")
    with open_warehouse(root) as wh:  # p bought 500 days before DAY: a buyer under 913 days, not under 400
        load(wh, [ev("p", "purchase", 0, amount=10.0), ev("x", "exposure", 500)])
        ensure_built(wh)
        refresh(wh, DAY)
        assert wh.stale() == [] and freshness(wh).stale == []
    assert _snapshot(root)["P"] == 1

    cfg = root / "aipl.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("purchase_days = 913", "purchase_days = 400"),
                   encoding="utf-8")
    with open_warehouse(root, read_only=True) as wh:
        stale = {s["table"]: s for s in freshness(wh).stale}
    assert {"asset_live", "consumer_tags", "tag_bitmaps"} <= set(stale)
    assert stale["asset_live"]["message"] == ("stale: asset_live was built with other [assets] settings; rebuild "
                                              "with `aipl assets build`")
    assert stale["consumer_tags"]["rebuild"] == "aipl crowd refresh"
    status = CliRunner().invoke(app, ["status", "-w", str(root)])
    assert "stale: consumer_tags was built with other [assets] settings" in " ".join(status.output.split())

    assert _snapshot(root)["P"] == 0  # reading the assets rebuilt them with the new window
    with open_warehouse(root, read_only=True) as wh:
        left = {s["table"] for s in wh.stale()}
    assert "asset_live" not in left and "consumer_tags" in left  # the tags wait for `aipl crowd refresh`
