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
