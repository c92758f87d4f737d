"""A process killed in the middle of a load leaves the warehouse exactly as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from aipl.config import init_workspace
from aipl.warehouse import open_warehouse
from tests.conftest import BUNDLED, counts


def test_sigkill_between_writes_leaves_no_partial_batch(tmp_path):
    root = init_workspace(tmp_path / "ws")
    w = open_warehouse(root)
    before = counts(w)
    w.close()
    script = textwrap.dedent(f"""
        import os, signal
        from aipl.warehouse import open_warehouse
        from aipl.ingest import ingest
        wh = open_warehouse({str(root)!r})
        real = wh.con.insert
        def insert(name, obj, **kw):
            real(name, obj, **kw)
            if name == "events":  # the accepted rows are written, the transaction is open
                os.kill(os.getpid(), signal.SIGKILL)
        wh.con.insert = insert
        ingest(wh, {str(BUNDLED / "events_dirty.csv")!r}, "events")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    w = open_warehouse(root)
    try:
        assert counts(w) == before
    finally:
        w.close()
