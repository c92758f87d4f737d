"""The REST API (FastAPI, OpenAPI at /docs) over every engine, with tenants and roles, and the web dashboard
served from the same process: `aipl serve`."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from aipl.api.deps import close_all, known_query
from aipl.api.guard import Gate
from aipl.api.jobs import Jobs
from aipl.api.routers import assets, autopilot, crowds, health, jobs, pipeline, strategy
from aipl.api.views import Views
from aipl.assets import ensure_built
from aipl.audience import TagIndex
from aipl.privacy import PrivacyError
from aipl.warehouse import Warehouse, open_warehouse

THREADS = 16  # request threads (the default, 40, opened 40 connections per snapshot and thrashed on 2 cores)
CACHE_SIZE = 256  # computed answers kept (least recently used dropped first)
MAX_BODY = 1 << 20  # JSON bodies; uploads have their own limit ([api] max_upload_mb)
UPLOADS = {"/api/jobs/ingest": "admin"}  # the paths that take a file, and the role that may send one
WEB = Path(__file__).resolve().parents[1] / "web"


def create_app(root: str | Path) -> FastAPI:
    """The service for the workspace at `root`: consumer assets are built (or brought up to date) first, and
    again after each load job, as the writer; requests read the newest published state (one snapshot each), so
    they keep answering while this service or another process writes, and none starts a build.

    >>> from fastapi.testclient import TestClient
    >>> from aipl.simulate import sample_warehouse
    >>> app = create_app(sample_warehouse().config.root)  # serve it with `uvicorn.run(app)`
    >>> TestClient(app).get("/api/me").status_code  # every call needs a token
    401
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # few request threads: each keeps a connection per snapshot, and more threads than cores only contend
        to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield
        close_all()

    app = FastAPI(lifespan=lifespan, title="aipl", version="0.1", docs_url=None, redoc_url=None,
                  dependencies=[Depends(known_query)],
                  description="Consumer operations for brands: assets, health, plans, crowds, autopilot and "
                  "post-mortems. Every call needs `Authorization: Bearer <token>`.")
    app.state.root = Path(root).resolve()
    app.state.jobs = Jobs()
    app.state.cache = Views(CACHE_SIZE)  # computed answers by view, data version and caller (single flight)
    app.state.freshness = Views(2)  # the freshness headers' answer, by snapshot and TTL period (single flight)
    app.state.fresh_before = {}  # the last freshness answer, by snapshot (answered while it is computed again)
    app.state.published = Views(8)  # the facts of the last few snapshots (see deps.published)
    lock = threading.Lock()
    index_cache: OrderedDict = OrderedDict()  # the tag index of the last few snapshots

    def refresh(wh: Warehouse) -> None:
        """Bring the assets of a writer up to date with the loaded data and publish them (at startup and after a
        load job only)."""
        ensure_built(wh)
        wh.publish()

    def tag_index(wh: Warehouse) -> TagIndex:
        with lock:
            if wh.snapshot is None or wh.snapshot not in index_cache:
                try:
                    index = TagIndex.load(wh)
                except ValueError as exc:
                    raise HTTPException(409, f"no tag index: {exc} (run `aipl crowd refresh`)") from exc
                if wh.snapshot is None:  # a writer's: its own, not kept
                    return index.bound(wh)
                index_cache[wh.snapshot] = index
                while len(index_cache) > 2:
                    index_cache.popitem(last=False)
            return index_cache[wh.snapshot].bound(wh)

    app.state.refresh = refresh
    app.state.tag_index = tag_index
    with open_warehouse(root) as wh:  # waits (saying so on stderr) while another process writes
        refresh(wh)
        max_upload = wh.config.max_upload_mb << 20
    # authentication from the headers before any body is read; bodies counted while they are read
    app.add_middleware(Gate, root=app.state.root, max_body=MAX_BODY, max_upload=max_upload, uploads=UPLOADS)

    @app.exception_handler(PrivacyError)
    async def withheld(request: Request, exc: PrivacyError):  # another brand's data, or a crowd too small
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.middleware("http")
    async def freshness_headers(request: Request, call_next):  # every API answer says how fresh its data is
        response = await call_next(request)
        if request.url.path.startswith("/api/"):
            version = getattr(request.state, "snapshot", None)
            if version:  # the published data version that answered
                response.headers["X-AIPL-Snapshot"] = version
            views = getattr(request.state, "views", None)
            if views:  # name=digest=hit|waited|computed for each computed view the answer used
                response.headers["X-AIPL-Views"] = ", ".join(views)
            with contextlib.suppress(Exception):  # never fail an answer over its headers
                fresh = pipeline.known_freshness(request) or await run_in_threadpool(pipeline.current_freshness,
                                                                                     request)
                run = fresh["last_run"] or {}
                response.headers["X-AIPL-As-Of"] = fresh["as_of"] or ""
                response.headers["X-AIPL-Last-Run"] = run.get("ended") or run.get("started") or "never"
                response.headers["X-AIPL-Last-Run-Outcome"] = run.get("outcome", "never")
                response.headers["X-AIPL-Status"] = fresh["status"]
                if fresh.get("stale"):  # derived tables built with other settings: named with their rebuild
                    response.headers["X-AIPL-Stale"] = "; ".join(f"{x['table']}: {x['rebuild']}"
                                                                 for x in fresh["stale"])
        return response

    @app.exception_handler(ValueError)
    async def bad_request(request: Request, exc: ValueError):  # a request the data cannot answer
        return JSONResponse({"detail": str(exc)}, status_code=422)

    for r in (assets, health, strategy, crowds, autopilot, jobs, pipeline):
        app.include_router(r.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:  # Swagger UI from the bundled files: no CDN at run time
        return get_swagger_ui_html(openapi_url="/openapi.json", title="aipl API",
                                   swagger_js_url="/web/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/web/vendor/swagger-ui.css", swagger_favicon_url="data:,")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/web/index.html")

    app.mount("/web", StaticFiles(directory=WEB), name="web")
    return app
