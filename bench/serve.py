"""Load test of `aipl serve` on loopback: concurrent dashboard users (each loops over the calls the dashboard
makes) for a bounded time, first on a quiet service (the baseline), then while an admin's ingestion job
loads a large events file. Prints throughput, p50 / p95 latency and errors for each, and their ratios.

    python bench/serve.py [--workspace WS] [--users 8] [--seconds 30] [--rows 500000]

Without --workspace it builds the demo workspace (`aipl demo`, 20,000 consumers) in a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

CALLS = [
    ("GET", "/api/me", None), ("GET", "/api/brands", None), ("GET", "/api/assets/B01/snapshot", None),
    ("GET", "/api/assets/B01/flow?start=2026-10-15", None), ("GET", "/api/health/fast", None),
    ("GET", "/api/health/ranking", None), ("GET", "/api/autopilot/B01/sequence", None),
    ("POST", "/api/crowds/count", {"expr": 'aipl(brand="B01") = "I" and age between 18 and 35'}),
    ("POST", "/api/crowds/count", {"expr": 'aipl(brand="B02") = "A" and gender = "F"'}),
]


def _user(base: str, token: str, until: float, out: list, errors: list) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        i = 0
        while time.perf_counter() < until:
            method, path, body = CALLS[i % len(CALLS)]
            i += 1
            t = time.perf_counter()
            try:
                r = c.request(method, path, json=body)
                ok = r.status_code == 200
            except httpx.HTTPError as exc:
                ok, r = False, exc
            out.append((path, time.perf_counter() - t))
            if not ok:
                errors.append(f"{path}: {getattr(r, 'status_code', r)}")


def load(base: str, token: str, users: int, seconds: float) -> dict:
    """`users` threads calling the dashboard's endpoints for `seconds`; latencies and errors."""
    lat: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=_user, args=(base, token, until, lat, errors)) for _ in range(users)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    secs = [x for _, x in lat]
    q = np.quantile(secs, [0.5, 0.95]) if secs else [float("nan")] * 2
    per = pd.DataFrame(lat, columns=["path", "s"]).groupby("path").s.median().mul(1000).round().astype(int)
    return {"requests": len(lat), "rps": len(lat) / wall, "p50_ms": 1000 * q[0], "p95_ms": 1000 * q[1],
            "errors": len(errors), "error_sample": errors[:3], "median_ms_by_path": per.to_dict()}


def events_file(path: Path, rows: int, seed: int = 0) -> Path:
    """`rows` product-page views of B01 by existing-looking consumers on 2026-11-12."""
    rng = np.random.default_rng(seed)
    secs = rng.integers(0, 86_000, rows)
    pd.DataFrame({
        "consumer_id": [f"c{x:08d}" for x in rng.integers(0, 20_000, rows)], "brand_id": "B01",
        "event_type": "pdp_view",
        "ts": pd.Timestamp("2026-11-12T00:00:00+08:00") + pd.to_timedelta(secs, unit="s"),
        "touchpoint": [f"load{i}" for i in range(rows)],  # every row distinct: none is a duplicate
    }).to_csv(path, index=False)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--port", type=int, default=8799)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aipl-load-"))
    ws = args.workspace
    aipl = [sys.executable, "-m", "aipl.cli"]
    if ws is None:
        ws = tmp / "ws"
        print("building the demo workspace …", flush=True)
        subprocess.run([*aipl, "demo", "-w", str(ws)], check=True, capture_output=True)
    subprocess.run([*aipl, "tenant", "add", "loadtest", "--brands", "B01,B02", "-w", str(ws)], check=True,
                   capture_output=True)
    token = subprocess.run([*aipl, "tenant", "token", "loadtest", "--role", "admin", "-w", str(ws)], check=True,
                           capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([*aipl, "serve", "-w", str(ws), "--port", str(args.port)])
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        quiet = load(base, token, args.users, args.seconds)
        path = events_file(tmp / "load-events.csv", args.rows, seed=int(time.time()))  # new rows every run
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
            t_up = time.perf_counter()
            job = c.post("/api/jobs/ingest?format=events", files={"file": (path.name, path.open("rb"))}).json()
            busy = load(base, token, args.users, args.seconds)
            while (j := c.get(f"/api/jobs/{job['id']}").json())["status"] in ("queued", "running"):
                time.sleep(0.5)
            ingest_secs = time.perf_counter() - t_up
        print(f"ingestion job: {j['status']} {j.get('result')} in {ingest_secs:.1f} s (upload included)")
        for name, r in (("quiet", quiet), ("during ingestion", busy)):
            print(f"{name:17} {args.users} users × {args.seconds:.0f} s: {r['requests']:,} requests, "
                  f"{r['rps']:.1f} req/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, errors {r['errors']}"
                  + (f" {r['error_sample']}" if r["errors"] else ""))
            print("   median ms by call: " + ", ".join(f"{k} {v}" for k, v in r["median_ms_by_path"].items()))
        print(f"during / quiet: throughput {busy['rps'] / quiet['rps']:.2f}×, p95 "
              f"{busy['p95_ms'] / quiet['p95_ms']:.2f}×; median latency ratio "
              f"{statistics.median([busy['p50_ms']]) / quiet['p50_ms']:.2f}×")
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
