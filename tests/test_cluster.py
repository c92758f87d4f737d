"""Spark on a real cluster: a standalone master and one worker on 127.0.0.1 (pyspark's own `spark-class`), and a
job script submitted to it once with `spark-submit` (the session it makes is the one aipl uses, docs/spark.md):
ingest (Python on the executor numbers each file's lines) → the asset build → both scopes' snapshots; the same on
DuckDB; the results agree. What only proves engines equal on Spark (crowd tags, CLV, …) is in
tests/test_parity_engines.py, on a local session. The cluster is stopped by the test in every case, and each wait
is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aipl.assets import AssetRules, build, snapshot_all
from aipl.config import init_workspace
from aipl.simulate.load import load_market
from aipl.warehouse import open_warehouse
from tests.test_parity import CLUSTER_MARKET, compare, engine_market, plain, spark_ready, spark_workspace

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90  # seconds for the master to listen and the worker to register
DRIVER_TIMEOUT = 600  # seconds for the submitted job (its driver, ingest and build) on the cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_bin(name: str) -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / name


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
    cls = str(_spark_bin("spark-class"))
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


def deployed_outputs(wh, market: Path) -> dict:
    """ingest → assets: each market file's load (read, accepted, rejected), the tables' counts, the asset build and
    both scopes' snapshots of the last day (plain values, JSON-ready)."""
    loads = [[Path(r.path).name, r.read, r.accepted, r.rejected] for r in load_market(wh, market)]
    day = wh.last_day()
    return {"loads": loads, "counts": {t: wh.count(t) for t in ("events", "members", "campaigns", "quarantine")},
            "built": plain(build(wh, AssetRules.of(wh.config))),
            "assets": {s: plain(snapshot_all(wh, s, day)) for s in ("brand", "category")}}


JOB = """
import json, sys
from pathlib import Path
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()  # the session spark-submit made: aipl uses it as it is
from aipl.warehouse import open_warehouse
from tests.test_cluster import deployed_outputs
market, root, out = (Path(a) for a in sys.argv[1:4])
wh = open_warehouse(root)
result = {"master": wh.spark.sparkContext.master, "same_session": wh.spark is spark,
          "outputs": deployed_outputs(wh, market)}
out.write_text(json.dumps(result))
spark.stop()
"""


def test_a_job_submitted_to_a_standalone_cluster_ingests_and_builds_as_duckdb_does(tmp_path, record_property):
    if not spark_ready():
        pytest.skip("the Spark backend needs pyspark and Java 17 (scripts/test.sh installs them)")
    market = engine_market(tmp_path / "market", CLUSTER_MARKET)
    duck = open_warehouse(init_workspace(tmp_path / "duck"))
    try:
        expected = deployed_outputs(duck, market)
    finally:
        duck.close()
    job, out, root = tmp_path / "job.py", tmp_path / "cluster.json", spark_workspace(tmp_path / "spark", "cluster")
    job.write_text(JOB, encoding="utf-8")
    path = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    conf = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.ui.enabled": "false",
            "spark.executor.memory": "768m", "spark.cores.max": "1", "spark.sql.shuffle.partitions": "2",
            "spark.pyspark.python": sys.executable, "spark.executorEnv.PYTHONPATH": path}
    env = {**os.environ, "PYTHONPATH": path, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    t0 = time.monotonic()
    with standalone_cluster(tmp_path / "cluster") as url:
        submit = [str(_spark_bin("spark-submit")), "--master", url,
                  *(x for k, v in conf.items() for x in ("--conf", f"{k}={v}")),
                  str(job), str(market), str(root), str(out)]
        r = subprocess.run(submit, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=DRIVER_TIMEOUT)
        assert r.returncode == 0, r.stderr[-5000:]
    seconds = time.monotonic() - t0
    record_property("cluster_seconds", round(seconds, 1))
    print(f"standalone cluster: start, spark-submit ingest → assets, stop in {seconds:.1f} s")
    got = json.loads(out.read_text())
    assert got["master"] == url and got["same_session"]  # on the standalone master, in spark-submit's session
    compare(expected, got["outputs"])
    shutil.rmtree(tmp_path / "cluster", ignore_errors=True)
