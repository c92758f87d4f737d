"""Spark on a real cluster: a standalone master and one worker on 127.0.0.1 (pyspark's own `spark-class`), a
driver process that runs ingest → assets → crowds → CLV against it, and the same on DuckDB; the results agree.
The cluster is stopped by the test in every case, and each wait is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.test_parity import CLUSTER_MARKET, cluster_outputs, compare, engine_market, engine_workspace, spark_ready

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90  # seconds for the master to listen and the worker to register
DRIVER_TIMEOUT = 600  # seconds for the whole pipeline on the cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _wait(until, what: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if until():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _stop(proc: subprocess.Popen) -> None:
    """Stop a daemon and everything it started (its own process group): TERM, then KILL after 20 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@contextlib.contextmanager
def standalone_cluster(tmp: Path):
    """A master and one worker (1 core, 1 GB) bound to 127.0.0.1; yields the master URL."""
    port, ui, wui = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_MASTER_HOST": "127.0.0.1",
           "SPARK_WORKER_DIR": str(tmp / "work"), "SPARK_LOG_DIR": str(tmp), "SPARK_NO_DAEMONIZE": "1"}
    cls = str(_spark_class())
    (tmp / "work").mkdir(parents=True, exist_ok=True)
    procs = []
    try:
        mlog = tmp / "master.log"
        with mlog.open("w") as out:
            procs.append(subprocess.Popen(
                [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                 "--webui-port", str(ui)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        _wait(lambda: _listening(port), "the master", START_TIMEOUT, procs[0], mlog)
        url = f"spark://127.0.0.1:{port}"
        wlog = tmp / "worker.log"
        with wlog.open("w") as out:
            procs.append(subprocess.Popen(
                [cls, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory",
                 "1g", "--webui-port", str(wui), url], env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
        _wait(lambda: "Registering worker" in mlog.read_text(errors="replace"), "the worker", START_TIMEOUT,
              procs[1], wlog)
        yield url
    finally:
        for p in reversed(procs):
            _stop(p)


DRIVER = """
import json, sys
from pathlib import Path
from tests.test_parity import cluster_outputs, engine_workspace
market, ws, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
wh = engine_workspace(ws, market, "spark", extra=sys.argv[4])
result = cluster_outputs(wh)
out.write_text(json.dumps(result))
wh.spark.stop()
"""


def test_ingest_assets_crowds_clv_on_a_standalone_cluster(tmp_path, record_property):
    if not spark_ready():
        pytest.skip("the Spark backend needs pyspark and Java 17 (scripts/test.sh installs them)")
    market = engine_market(tmp_path / "market", CLUSTER_MARKET)
    expected = cluster_outputs(engine_workspace(tmp_path / "duck", market, "duckdb"))
    t0 = time.monotonic()
    with standalone_cluster(tmp_path / "cluster") as url:
        extra = textwrap.dedent(f"""
            [spark]
            master = "{url}"
            shuffle_partitions = 2
            [spark.conf]
            "spark.driver.host" = "127.0.0.1"
            "spark.driver.bindAddress" = "127.0.0.1"
            "spark.executor.memory" = "768m"
            "spark.cores.max" = "1"
            "spark.pyspark.python" = "{sys.executable}"
            "spark.executorEnv.PYTHONPATH" = "{ROOT / 'src'}{os.pathsep}{ROOT}"
            """)
        out = tmp_path / "cluster.json"
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "SPARK_LOCAL_IP": "127.0.0.1"}
        r = subprocess.run([sys.executable, "-c", DRIVER, str(market), str(tmp_path / "spark"), str(out), extra],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=DRIVER_TIMEOUT)
        assert r.returncode == 0, r.stderr[-5000:]
    seconds = time.monotonic() - t0
    record_property("cluster_seconds", round(seconds, 1))
    print(f"standalone cluster: start, ingest → assets → crowds → CLV, stop in {seconds:.1f} s")
    compare(expected, json.loads(out.read_text()))
    shutil.rmtree(tmp_path / "cluster", ignore_errors=True)
