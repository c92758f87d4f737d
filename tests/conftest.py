from __future__ import annotations

import os
from pathlib import Path

import pytest

from aipl.config import init_workspace
from aipl.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
BUNDLED = ROOT / "src" / "aipl" / "data"
# the public datasets: $AIPL_DATA, else the folder CI lays beside the clone
SHARED = Path(os.environ.get("AIPL_DATA") or ROOT.parent / "shared" / "data")


# Files that take a minute or more, started first so that the two workers finish together (the suite runs with
# `--dist loadfile --no-loadscope-reorder`: a file stays on one worker, and files are handed out in this order).
SLOW_FIRST = ("test_cluster.py", "test_parity_engines.py", "test_parity.py", "test_report.py", "assets/test_states.py",
              "measure/test_lift.py", "autopilot/test_scenes.py", "test_run_daily.py", "test_pipeline.py",
              "strategy/test_backtest.py", "test_concurrency.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = Path(str(item.fspath)).relative_to(ROOT / "tests").as_posix()
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the rest keep their collection order


def shared(rel: str) -> Path:
    """A file of the public datasets ($AIPL_DATA), or skip the test with the reason when absent (a user's clone)."""
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"needs {path} (the shared public datasets; present in CI)")
    return path


@pytest.fixture
def wh(tmp_path):
    root = init_workspace(tmp_path / "ws")
    w = open_warehouse(root)
    yield w
    w.close()


def counts(w) -> dict[str, int]:
    from aipl import schema

    return {name: w.count(name) for name in (*schema.TABLES, *schema.SYSTEM_TABLES)}
