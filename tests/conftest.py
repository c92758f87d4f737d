from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
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
SLOW_FIRST = ("test_cluster.py", "test_parity_engines.py", "test_parity.py", "assets/test_states.py",
              "measure/test_lift.py", "test_pipeline.py", "autopilot/test_scenes.py", "test_run_daily.py",
              "strategy/test_backtest.py", "test_concurrency.py", "test_report.py")


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


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """A folder that `build(folder)` fills once per test run, shared by the run's xdist workers (the first to ask
    builds it under a lock, the others wait for it); read it, or `copy_of` it to write."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    done = base / name
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when this worker dies
        if not done.exists():
            part = base / f"{name}.part"
            shutil.rmtree(part, ignore_errors=True)  # a build that died half-way
            build(part)
            part.rename(done)
    return done


def copy_of(folder: Path, to: Path) -> Path:
    """A private copy of a `built_once` folder (a workspace: its links stay relative)."""
    shutil.copytree(folder, to, symlinks=True, dirs_exist_ok=True)
    return to


@pytest.fixture
def wh(tmp_path):
    root = init_workspace(tmp_path / "ws")
    w = open_warehouse(root)
    yield w
    w.close()


def counts(w) -> dict[str, int]:
    from aipl import schema

    return {name: w.count(name) for name in (*schema.TABLES, *schema.SYSTEM_TABLES)}
