"""Long work (ingestion, reports) as jobs: one worker thread runs them in order, so the service writes with
one writer at a time; each job reports its progress and can be polled by its tenant."""

from __future__ import annotations

import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as QueueTimeout
from datetime import UTC, datetime
from typing import TypeVar

Work = Callable[[Callable[[str, float | None], None]], dict]
T = TypeVar("T")


class Jobs:
    """Jobs by id, each with tenant, kind, status (queued, running, done, failed), progress 0–1, message,
    result and error."""

    def __init__(self) -> None:
        self._jobs: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aipl-job")

    def submit(self, tenant: str, kind: str, work: Work) -> dict:
        """Queue `work(report)`; `report(message, fraction)` updates the job's progress."""
        job_id = uuid.uuid4().hex[:12]
        job = {"id": job_id, "tenant": tenant, "kind": kind, "status": "queued", "progress": 0.0, "message": "",
               "result": None, "error": None, "created": datetime.now(UTC).isoformat(timespec="seconds")}
        with self._lock:
            self._jobs[job_id] = job

        def report(message: str, fraction: float | None = None) -> None:
            with self._lock:
                job["message"] = message
                if fraction is not None:
                    job["progress"] = max(0.0, min(1.0, float(fraction)))

        def run() -> None:
            report("running", 0.0)
            job["status"] = "running"
            try:
                result = work(report)
            except Exception as exc:  # the job fails, the service does not
                job.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                job["trace"] = traceback.format_exc(limit=3)
                return
            job.update(status="done", progress=1.0, result=result, message="done")

        self._pool.submit(run)
        return dict(job)

    def run(self, work: Callable[[], T], timeout: float) -> T:
        """`work()` on the job thread after the jobs queued before it, and its result (a small write made while
        the caller waits); `TimeoutError` if it has not started within `timeout` s (it then never runs)."""
        future = self._pool.submit(work)
        try:
            return future.result(timeout)
        except QueueTimeout:
            if future.cancel():
                raise
            return future.result()  # it started meanwhile: its answer is due

    def get(self, tenant: str, job_id: str) -> dict | None:
        """The job if it belongs to `tenant`."""
        job = self._jobs.get(job_id)
        return {k: v for k, v in job.items() if k != "trace"} if job and job["tenant"] == tenant else None

    def listing(self, tenant: str) -> list[dict]:
        """The tenant's jobs, newest first."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j["tenant"] == tenant]
        return [{k: v for k, v in j.items() if k not in ("trace", "result")} for j in reversed(mine)]

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every job queued so far has finished (tests, shutdown)."""
        self._pool.submit(lambda: None).result(timeout)
