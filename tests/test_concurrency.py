"""Many readers while it is written: a real `aipl serve` keeps answering the dashboard's reads, and a BI tool's
read-only DuckDB connection in a third process keeps querying the published tables, while `aipl run daily`
ingests a new day of events from the landing folder and updates the assets, tags, CLV, plans and report.
Every read answers from the old or the new published state; no process errs or prints a lock traceback.

The unit tests below it check the writer lock and publishing in one process (fast)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from aipl.api.auth import add_tenant, issue_token
from aipl.assets import ensure_built
from aipl.cli import app
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, load_market, simulate_market
from aipl.warehouse import (
    WarehouseBusy,
    open_warehouse,
    published_path,
    writer_holder,
)

SRC = str(Path(__file__).resolve().parents[1] / "src")
READER = textwrap.dedent("""
    import json, sys, time, pathlib, duckdb
    root, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    while not stop.exists():
        name = (root / "published" / "CURRENT").read_text().strip()
        try:
            con = duckdb.connect(str(root / "published" / name), read_only=True)
        except duckdb.IOException:  # superseded and deleted meanwhile: read CURRENT again
            if (root / "published" / name).exists():
                raise
            continue
        n, day = con.execute("SELECT count(*), max(CAST(ts AS DATE))::VARCHAR FROM events").fetchone()
        con.close()
        print(json.dumps({"snapshot": name, "events": n}), flush=True)
        time.sleep(0.05)
""")


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "AIPL_WAIT": "120"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small market with its assets built and published, its last day of events held back as a new file."""
    root = tmp_path_factory.mktemp("concurrency")
    market = root / "market"
    simulate_market(MarketSpec(consumers=300, days=14, brands=2, seed=5), market)
    ev = pd.read_parquet(market / "events.parquet")
    last = ev.ts.max().floor("D") - pd.Timedelta(hours=8)  # the last day in Asia/Shanghai starts at 16:00 UTC
    (root / "landing").mkdir()
    ev[ev.ts >= last].to_parquet(root / "landing" / "events_new.parquet", index=False)
    ev[ev.ts < last].to_parquet(market / "events.parquet", index=False)
    init_workspace(root)
    with (root / "aipl.toml").open("a") as f:  # the daily pipeline picks the new file up from the landing folder
        f.write('\n[[pipeline.landing]]\nglob = "landing/*.parquet"\nformat = "events"\n')
    with open_warehouse(root) as wh:
        load_market(wh, market)
        ensure_built(wh)
        old = {"day": wh.last_day().isoformat(), "events": wh.count("events")}
    add_tenant(root, "acme", ["B01", "B02"])
    token = issue_token(root, "acme", "viewer")
    return {"root": root, "old": old, "new_rows": int((ev.ts >= last).sum()), "token": token}


def test_reads_answer_from_a_published_state_while_a_writer_ingests_and_rebuilds(workspace):
    root, old = workspace["root"], workspace["old"]
    port, stop = _free_port(), root / "stop-reader"
    aipl = [sys.executable, "-m", "aipl.cli"]
    logs = {name: (root / f"{name}.err").open("w+") for name in ("serve", "reader", "writer")}
    serve = subprocess.Popen([*aipl, "serve", "-w", str(root), "--port", str(port)], env=_env(),
                             stdout=subprocess.DEVNULL, stderr=logs["serve"])
    reader = subprocess.Popen([sys.executable, "-c", READER, str(root), str(stop)], env=_env(),
                              stdout=subprocess.PIPE, stderr=logs["reader"], text=True)
    reader_lines: list[str] = []
    threading.Thread(target=lambda: reader_lines.extend(reader.stdout), daemon=True).start()
    writer = None
    try:
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {workspace['token']}"}, timeout=30)
        started = time.monotonic()
        deadline = started + 45
        while True:  # the service is up once it answers
            try:
                if client.get("/api/me").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert serve.poll() is None and time.monotonic() < deadline, _read(logs["serve"])
            time.sleep(0.2)
        up = time.monotonic()
        writer = subprocess.Popen([*aipl, "run", "daily", "-w", str(root)],  # ingest, assets, tags, CLV, plans …
                                  env=_env(), stdout=subprocess.DEVNULL, stderr=logs["writer"])
        reads = ["/api/brands", "/api/assets/B01/snapshot", "/api/health/fast", "/api/strategy/campaigns"]
        latencies, errors, days = [], [], set()
        i, after = 0, 0
        while after < len(reads):  # until the writer is done and one more round of reads has been answered
            if writer.poll() is not None:
                after += 1
            t = time.perf_counter()
            r = client.get(reads[i % len(reads)])
            latencies.append(time.perf_counter() - t)
            i += 1
            time.sleep(0.02)  # a dashboard's pace, not a load test: the writer gets its share of the CPU
            if r.status_code != 200:
                errors.append((r.request.url.path, r.status_code, r.text[:200]))
                continue
            body = r.json()
            if "last_day" in body or "date" in body:  # the as-of day of /api/brands and of a snapshot
                days.add(body.get("last_day") or body["date"])
        assert writer.returncode == 0, _read(logs["writer"])
        wrote = time.monotonic() - up
        new = httpx.get(f"{base}/api/brands", headers=client.headers).json()["last_day"]
    finally:
        stop.touch()
        for p in (serve, reader, writer):
            if p is not None and p.poll() is None:
                p.terminate()
        for p in (serve, reader, writer):
            if p is not None:
                p.wait(20)
    lat = sorted(latencies)
    print(f"\nconcurrent reads while writing: {len(lat)} requests, p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.0f} ms, {len(errors)} errors; "
          f"the BI reader: {len(reader_lines)} queries; the service up in {up - started:.1f} s, the writer's daily "
          f"run in {wrote:.1f} s")
    assert errors == []
    assert new > old["day"]
    assert new in days and days <= {old["day"], new}, days
    counts = {json.loads(line)["events"] for line in reader_lines}
    assert reader_lines and counts <= {old["events"], old["events"] + workspace["new_rows"]}, counts
    for name, f in logs.items():
        text = _read(f)
        assert "Traceback" not in text and "Conflicting lock" not in text, (name, text[-2000:])


def _read(f) -> str:
    f.flush()
    f.seek(0)
    return f.read()


def test_a_second_writer_waits_then_gives_up_in_one_line(workspace, tmp_path):
    root = workspace["root"]
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom aipl.warehouse import open_warehouse\n"
                               "wh = open_warehouse(sys.argv[1]); print('held', flush=True); time.sleep(60)",
                               str(root)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        told = []
        with pytest.raises(WarehouseBusy, match=r"held by `-c` \(pid \d+\) since .*gave up after 0.3 s"):
            open_warehouse(root, wait=0.3, on_wait=told.append)
        assert told and told[0].startswith("waiting for the warehouse: held by `-c`")
        assert writer_holder(root)["pid"] == holder.pid
        with open_warehouse(root, read_only=True) as reader:  # a reader never waits
            assert reader.count("events") > 0
        busy = CliRunner().invoke(app, ["--wait", "0.3", "assets", "build", "-w", str(root)])
        assert busy.exit_code == 2 and "Traceback" not in busy.output, busy.output
        assert busy.output.splitlines()[-1].startswith("error: the warehouse is busy: held by `-c`"), busy.output
        status = CliRunner().invoke(app, ["status", "--json", "-w", str(root)])
        assert status.exit_code == 0 and json.loads(status.stdout)["tables"]["events"] > 0, status.output
    finally:
        holder.kill()
        holder.wait()
    with open_warehouse(root, wait=5) as wh:  # a killed holder leaves no lock behind
        assert wh.count("events") > 0


def test_a_reader_keeps_its_snapshot_while_a_writer_publishes(tmp_path):
    wh = open_warehouse(init_workspace(tmp_path))
    wh.ensure_table("notes", {"n": "int64"})
    wh.insert("notes", pd.DataFrame({"n": [1]}))
    first = wh.publish()
    reader = open_warehouse(tmp_path, read_only=True)
    wh.insert("notes", pd.DataFrame({"n": [2]}))
    assert reader.count("notes") == 1  # nothing is published until the writer says so
    second = wh.publish()
    assert second != first and published_path(tmp_path).name == second
    assert reader.count("notes") == 1 and reader.snapshot == first  # one snapshot from start to end
    with open_warehouse(tmp_path, read_only=True) as fresh:
        assert fresh.count("notes") == 2
    with pytest.raises(Exception, match="read-only"):
        reader.insert("notes", pd.DataFrame({"n": [3]}))
    reader.close()
    wh.close(publish=False)  # a failed writer publishes nothing
    assert published_path(tmp_path).name == second
