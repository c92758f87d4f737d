import pytest

from aipl.config import init_workspace
from aipl.warehouse import open_warehouse


@pytest.fixture
def fresh(tmp_path):
    """An empty DuckDB workspace."""
    w = open_warehouse(init_workspace(tmp_path / "ws"))
    yield w
    w.close()
