"""Load test of `aipl serve` on loopback, in one run: concurrent dashboard users (each loops over the calls the
dashboard makes) at 8 and at 64 users on a warm service, then 64 users while an admin's ingestion job loads an
events file and publishes a new snapshot (the stampede case: every view of the new version is computed once,
the other users wait for it). Prints throughput and p50 / p95 / p99 latency per run (all calls, and the cached
views alone), the 64 / 8 ratios, the stall after the new snapshot against one cold computation of the views, and
the computations per view key, read from the answers' `X-AIPL-Views` header.

Checks before it reports a time (exit 1 when one fails): no answer but 200; each view computed once per key and
data version; every answer of a view for one data version and tenant is the same; two tenants never share a view.

    python bench/serve.py [--workspace WS] [--users 8,64] [--seconds 30] [--rows 100000] [--json PATH]

Without --workspace it builds the demo workspace (`aipl demo`, 20,000 consumers) in a temporary folder.
Exits 3 when a target is missed (throughput at 64 users below 8's, or the cached views' p99 at 64 users
over 500 ms).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from common import hwm_gib, process_cpu_seconds, row

CALLS = [  # the dashboard's calls; the crowd counts run on the bitmap index each time (not cached)
    ("GET", "/api/me", None), ("GET", "/api/brands", None), ("GET", "/api/assets/B01/snapshot", None),
    ("GET", "/api/assets/B01/flow?start=2026-10-15", None), ("GET", "/api/health/fast", None),
    ("GET", "/api/health/ranking", None), ("GET", "/api/autopilot/B01/sequence", None),
    ("POST", "/api/crowds/count", {"expr": 'aipl(brand="B01") = "I" and age between 18 and 35'}),
    ("POST", "/api/crowds/count", {"expr": 'aipl(brand="B01") = "A" and gender = "F"'}),
]
CACHED = {path for method, path, _ in CALLS if method == "GET"}  # the views computed once per data version
TENANTS = {"loadtest": "B01,B02", "loadpeer": "B01,B03"}  # two tenants granted one brand in common
P99_TARGET = 0.5
VIEW = re.compile(r"(\w+):(\w+)=(hit|waited|computed)")


@dataclass
class Answer:
    """One request: who asked what, when it ended, how long it took, and what the service said."""

    tenant: str
    path: str
    end: float
    seconds: float
    status: int | str
    snapshot: str
    views: list[tuple[str, str, str]]
    body: str


@dataclass
class Run:
    """The answers of one load run and its wall time."""

    name: str
    users: int
    answers: list[Answer] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0  # CPU seconds of this process (the simulated users) during the run
    server_cpu: float = 0.0  # CPU seconds of the service's process during the run

    def stats(self, cached_only: bool = False) -> dict:
        secs = [a.seconds for a in self.answers if not cached_only or a.path in CACHED]
        q = np.quantile(secs, [0.5, 0.95, 0.99]) if secs else [float("nan")] * 3
        return {"requests": len(secs), "rps": len(secs) / self.wall, "p50": q[0], "p95": q[1], "p99": q[2],
                "max": max(secs, default=float("nan"))}


def ask(client: httpx.Client, tenant: str, method: str, path: str, body: dict | None) -> Answer:
    t = time.perf_counter()
    try:
        r = client.request(method, path, json=body)
        status, headers, text = r.status_code, r.headers, r.text
    except httpx.HTTPError as exc:
        status, headers, text = type(exc).__name__, {}, ""
    end = time.perf_counter()
    views = VIEW.findall(headers.get("x-aipl-views", ""))
    return Answer(tenant, path, end, end - t, status, headers.get("x-aipl-snapshot", "?"), views,
                  hashlib.blake2b(text.encode(), digest_size=8).hexdigest())


def _user(base: str, tenant: str, token: str, start: int, until: list[float], out: list) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        i = start
        while time.perf_counter() < until[0]:
            out.append(ask(c, tenant, *CALLS[i % len(CALLS)]))
            i += 1


def load(name: str, base: str, tokens: dict[str, str], users: int, seconds: float, server: int,
         during: threading.Thread | None = None) -> Run:
    """`users` threads (the tenants in turn) calling the dashboard's endpoints for `seconds`, and, when `during`
    is given (started with them), until a third of that after it has finished."""
    run, until = Run(name, users), [time.perf_counter() + (float("inf") if during else seconds)]
    names = list(tokens)
    threads = [threading.Thread(target=_user, args=(base, names[i % len(names)], tokens[names[i % len(names)]], i,
                                                    until, run.answers)) for i in range(users)]
    t0, c0, s0 = time.perf_counter(), time.process_time(), process_cpu_seconds(server)
    for th in threads:
        th.start()
    if during is not None:
        during.start()
        during.join()
        until[0] = time.perf_counter() + seconds / 3
    for th in threads:
        th.join()
    run.wall = time.perf_counter() - t0
    run.client_cpu, run.server_cpu = time.process_time() - c0, process_cpu_seconds(server) - s0
    return run


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


def checks(answers: list[Answer]) -> tuple[list[str], Counter]:
    """What is wrong with the answers (empty when nothing), and the computations per view key."""
    problems: list[str] = []
    bad = Counter(f"{a.path} {a.status}" for a in answers if a.status != 200)
    if bad:
        problems.append(f"answers other than 200: {dict(bad.most_common(5))}")
    computed = Counter(key for a in answers for _, key, how in a.views if how == "computed")
    twice = {k: n for k, n in computed.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} view keys computed more than once per data version: {twice}")
    bodies: dict[tuple, set] = defaultdict(set)
    for a in answers:
        if a.path in CACHED and a.status == 200:
            bodies[(a.tenant, a.path, a.snapshot)].add(a.body)
    differ = [k for k, v in bodies.items() if len(v) > 1]
    if differ:
        problems.append(f"one view answered differently within one data version: {differ[:3]}")
    keys: dict[str, set] = defaultdict(set)
    for a in answers:
        keys[a.tenant] |= {key for _, key, _ in a.views}
    first, *others = keys.values() or [set()]
    shared = first.intersection(*others) if others else set()
    if shared:
        problems.append(f"tenants share {len(shared)} view keys")
    seen = {key for a in answers for _, key, _ in a.views}
    if seen - set(computed):
        problems.append(f"{len(seen - set(computed))} view keys used but never computed")
    return problems, computed


def setup(ws: Path | None, tmp: Path) -> tuple[Path, dict[str, str]]:
    """The workspace (the demo's when none is given) and an admin token per load-test tenant."""
    aipl = [sys.executable, "-m", "aipl.cli"]
    if ws is None:
        ws = tmp / "ws"
        print("building the demo workspace …", flush=True)
        subprocess.run([*aipl, "demo", "-w", str(ws)], check=True, capture_output=True)
    tokens = {}
    for tenant, brands in TENANTS.items():
        subprocess.run([*aipl, "tenant", "add", tenant, "--brands", brands, "-w", str(ws)], capture_output=True)
        tokens[tenant] = subprocess.run([*aipl, "tenant", "token", tenant, "--role", "admin", "-w", str(ws)],
                                        check=True, capture_output=True, text=True).stdout.strip()
    return ws, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--users", default="8,64", help="the two user counts to compare, fewer first")
    ap.add_argument("--seconds", type=float, default=30, help="per run")
    ap.add_argument("--rows", type=int, default=100_000, help="events the mid-run ingestion job loads")
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--json", type=Path, help="write the report here (bench/run.py's format)")
    args = ap.parse_args()
    few, many = (int(x) for x in args.users.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="aipl-load-"))
    ws, tokens = setup(args.workspace, tmp)
    server = subprocess.Popen([sys.executable, "-m", "aipl.cli", "serve", "-w", str(ws), "--port", str(args.port)])
    base = f"http://127.0.0.1:{args.port}"
    admin = next(iter(tokens.values()))
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/freshness", headers={"Authorization": f"Bearer {admin}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        cold = Run("cold", 1)  # one user, each call once: every view computed by the request that asks
        t0 = time.perf_counter()
        for tenant, token in tokens.items():
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
                cold.answers += [ask(c, tenant, *call) for call in CALLS]
        cold.wall = time.perf_counter() - t0
        runs = [load(f"{n} users", base, tokens, n, args.seconds, server.pid) for n in (few, many)]
        path = events_file(tmp / "load-events.csv", args.rows, seed=int(time.time()))  # new rows every run
        job_secs: list[float] = []

        def ingest() -> None:  # the admin's upload: loads, brings the assets up to date and publishes
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=600) as c:
                time.sleep(args.seconds / 3)
                t = time.perf_counter()
                job = c.post("/api/jobs/ingest?format=events", files={"file": (path.name, path.open("rb"))}).json()
                while (j := c.get(f"/api/jobs/{job['id']}").json())["status"] in ("queued", "running"):
                    time.sleep(0.2)
                job_secs.append(time.perf_counter() - t)
                if j["status"] != "done":
                    print(f"the ingestion job {j['status']}: {j.get('error')}", file=sys.stderr)

        stampede = load(f"{many} users, new snapshot", base, tokens, many, args.seconds, server.pid,
                        during=threading.Thread(target=ingest))
        peak = hwm_gib(server.pid)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, cold, runs, stampede, job_secs, peak)


def report(args, cold: Run, runs: list[Run], stampede: Run, job_secs: list[float], peak: float | None) -> None:
    everything = cold.answers + [a for r in (*runs, stampede) for a in r.answers]
    problems, computed = checks(everything)
    old = {a.snapshot for r in (cold, *runs) for a in r.answers}
    fresh = sorted((a for a in stampede.answers if a.snapshot not in old), key=lambda a: a.end)
    if not fresh:
        problems.append("no answer came from the new snapshot (the ingestion job did not publish)")
    # the stall: the slowest cached-view answer of the new snapshot's first wave (each user's first two calls)
    wave = [a for a in fresh if a.path in CACHED][: 2 * stampede.users]
    stall = max((a.seconds for a in wave), default=float("nan"))
    cold_views = max(a.seconds for a in cold.answers if a.path in CACHED)
    for r in (cold, *runs, stampede):
        s, c = r.stats(), r.stats(cached_only=True)
        print(f"{r.name:22} {s['requests']:6,} requests {s['rps']:7.1f} req/s  p50 {1000 * s['p50']:6.0f} ms  "
              f"p95 {1000 * s['p95']:6.0f} ms  p99 {1000 * s['p99']:6.0f} ms | cached views p50 "
              f"{1000 * c['p50']:5.0f} ms  p99 {1000 * c['p99']:5.0f} ms")
        if r.wall and r.answers and r is not cold:
            print(f"{'':22} CPU per request: server {1000 * r.server_cpu / len(r.answers):.2f} ms, users' client "
                  f"{1000 * r.client_cpu / len(r.answers):.2f} ms (cores busy: server "
                  f"{r.server_cpu / r.wall:.2f}, client {r.client_cpu / r.wall:.2f} of 2)")
    (few, many) = runs
    f, m = few.stats(), many.stats()
    fc, mc = few.stats(cached_only=True), many.stats(cached_only=True)
    by_view = Counter(name for a in everything for name, _, how in a.views if how == "computed")
    waited = sum(how == "waited" for a in everything for _, _, how in a.views)
    print(f"throughput {many.users} / {few.users} users: {m['rps'] / f['rps']:.2f}×; cached views p99 at "
          f"{many.users} users {1000 * mc['p99']:.0f} ms (target ≤ {1000 * P99_TARGET:.0f} ms)")
    job = job_secs[0] if job_secs else float("nan")
    print(f"new snapshot under {stampede.users} users: ingestion job {job:.1f} s; "
          f"slowest first answer {1000 * stall:.0f} ms against {1000 * cold_views:.0f} ms for the slowest view "
          f"computed cold by one user")
    print(f"computations: {len(computed)} view keys, at most {max(computed.values(), default=0)} each "
          f"({dict(sorted(by_view.items()))}); {waited} answers waited for a computation in flight")
    rows = [
        row(f"throughput at {many.users} users (s per request)", 1 / m["rps"], f"{few.users} users", 1 / f["rps"],
            "≤ 1× (throughput at 64 ≥ at 8)", m["rps"] >= f["rps"], peak),
        row(f"cached views p99 at {many.users} users", mc["p99"], f"{few.users} users", fc["p99"], "≤ 0.5 s",
            mc["p99"] <= P99_TARGET),
        row(f"cached views p50 at {many.users} users", mc["p50"], f"{few.users} users", fc["p50"]),
        row(f"all calls p99 at {many.users} users", m["p99"], f"{few.users} users", f["p99"]),
        row(f"slowest first answer after a new snapshot, {stampede.users} users", stall,
            "slowest view computed cold, 1 user", cold_views),
    ]
    if job_secs:
        rows.append(row(f"ingestion job of {args.rows:,} events under {stampede.users} users", job_secs[0]))
    ok = not problems
    for p in problems:
        print("CHECK FAILED:", p)
    if args.json:
        args.json.write_text(json.dumps({
            "bench": "serve", "args": {"users": args.users, "seconds": args.seconds, "rows": args.rows,
                                       "views_computed": len(computed), "answers_waited": waited},
            "rows": rows, "ok": ok}, indent=1))
    if not ok:
        sys.exit(1)
    if not all(r["met"] for r in rows if r["met"] is not None):
        sys.exit(3)


if __name__ == "__main__":
    main()
