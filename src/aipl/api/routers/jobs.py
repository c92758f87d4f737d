"""Jobs: ingestion of an uploaded file (admin) and a campaign post-mortem (analyst), polled for progress;
the post-mortem's HTML once done."""

from __future__ import annotations

import codecs
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, need
from aipl.api.routers.strategy import campaign_of
from aipl.config import load_config
from aipl.ingest import FORMATS, SourceError, ingest, parse_mapping
from aipl.report import write_postmortem
from aipl.warehouse import open_warehouse

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERRORS)  # unknown query parameters: the app's check
UPLOAD_SUFFIXES = (".csv", ".parquet", ".txt")


class IngestResult(BaseModel):
    """What an ingestion job loaded: rows read = accepted + rejected (quarantined)."""

    file: str | None
    read: int
    accepted: int
    rejected: int


class PostmortemResult(BaseModel):
    """Where a post-mortem job wrote its HTML and JSON (relative to the workspace); fetch them from
    /api/jobs/{id}/html and /api/jobs/{id}/json."""

    html: str
    json_file: str | None = None


class PostmortemFigures(BaseModel):
    """A campaign post-mortem's (结案) figures, as `aipl postmortem --json` gives them: the `totals` of both scopes
    (窄 narrow, 宽 wide) with the CVRs' numerators and denominators, the `cuts` of each scope by channel, crowd,
    creative, phase, customer (新老客) and strategy crowd, the new and returning `customers`, the AIPL `flow`,
    the purchase-intent index `pi` with its cuts, the `lift` and its `lift_cuts` (customer, strategy crowd and
    phase; the treated's outcomes by channel, crowd and creative)."""

    campaign: str
    brand: str
    start: str
    end: str
    attribution_days: int
    new_customer_days: int
    phases: list[dict]
    definitions: dict
    totals: dict
    cuts: dict
    customers: list[dict]
    flow: dict | None = None
    lift: dict | None = None
    lift_cuts: dict | None = None
    pi: dict | None = None


class JobSummary(BaseModel):
    """A job of the tenant: kind, status, progress 0–1, the last progress message and the error if it failed."""

    id: str
    tenant: str
    kind: Literal["ingest", "postmortem"]
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    message: str
    error: str | None
    created: str


class Job(JobSummary):
    """A job with its result once done."""

    result: IngestResult | PostmortemResult | None


class JobPage(PageOf[JobSummary]):
    """One page of the tenant's jobs, newest first."""


@router.get("")
def listing(request: Request, who: Caller, paging: Paging) -> JobPage:
    """The tenant's jobs, newest first."""
    return JobPage(**paging.cut(request.app.state.jobs.listing(who.tenant)))


@router.get("/{job_id}")
def status(request: Request, who: Caller, job_id: str) -> Job:
    """A job's status and progress (404 for another tenant's job, as for an unknown one)."""
    job = request.app.state.jobs.get(who.tenant, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return Job(**job)


@router.post("/ingest", status_code=202)
async def ingest_upload(request: Request, file: UploadFile,
                        format: Annotated[str, Query(description="the input format, as `aipl ingest --format` "
                                                     "(see `aipl formats`)")],
                        who: Annotated[Principal, Depends(need("admin"))],
                        encoding: Annotated[str, Query(max_length=40, description="the text encoding of a CSV "
                                                       "file, as `aipl ingest --encoding` (e.g. gbk)")] = "utf-8",
                        map: Annotated[list[str], Query(max_length=200, description="rename a column, as `aipl "
                                                        "ingest --map`: src=canonical (repeatable), or the name "
                                                        "of a saved [ingest.maps.NAME]")] = [],  # noqa: B006
                        brand: Annotated[str | None, Query(max_length=128, description="the brand of a platform "
                                                           "report without a 品牌 column, as `aipl ingest "
                                                           "--brand`")] = None,
                        ) -> Job:
    """Load an uploaded file (CSV or Parquet in `format`) as a job, as `aipl ingest --tenant` does. Every row, as
    stored, must belong to a brand granted to the tenant, else the job fails and nothing is written; the load is
    all or nothing, rejected rows are quarantined."""
    if format not in FORMATS:
        raise HTTPException(422, f"unknown format {format!r}; one of {', '.join(sorted(FORMATS))}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise HTTPException(422, f"unknown encoding {encoding!r}") from None
    try:
        mapping = parse_mapping(map, load_config(request.app.state.root).ingest_maps)
    except SourceError as exc:
        raise HTTPException(422, str(exc)) from None
    suffix = Path(file.filename or "upload.csv").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:  # a .tsv is not read as tab-separated: refused here, not failed later
        raise HTTPException(415, f"{file.filename}: send one of {', '.join(UPLOAD_SUFFIXES)} (comma-separated CSV "
                                 "or Parquet, in a format of `aipl formats`)")
    folder = Path(request.app.state.root) / "uploads"
    folder.mkdir(exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(file.filename or "upload").stem)[:60]
    # a private folder keeps the file's own name: quarantine names it, and adapters recognise files by name
    tmp = str(Path(tempfile.mkdtemp(dir=folder, prefix="upload-")) / f"{stem}{suffix}")
    with open(tmp, "wb") as out:  # the gate (api/guard.py) has counted the body against [api] max_upload_mb
        while chunk := await file.read(1 << 20):
            out.write(chunk)
    app = request.app

    def work(report):
        wh = open_warehouse(app.state.root, on_wait=report)
        try:  # the rows, as mapped into their tables, must belong to the tenant's brands (else nothing is written)
            r = ingest(wh, tmp, format, report=lambda msg, frac=None: report(msg, frac), brands=who.brands,
                       encoding=encoding, mapping=mapping, brand=brand)
            app.state.refresh(wh)
        finally:
            wh.close()
            shutil.rmtree(Path(tmp).parent, ignore_errors=True)
        return {"file": file.filename, "read": r.read, "accepted": r.accepted, "rejected": r.rejected}

    return Job(**app.state.jobs.submit(who.tenant, "ingest", work))


class PostmortemIn(BaseModel):
    """A campaign post-mortem (结案) of one brand."""

    brand: str = Field(min_length=1, max_length=64)
    campaign: str = Field(min_length=1, max_length=64)


@router.post("/postmortem", status_code=202)
def postmortem(request: Request, body: PostmortemIn, who: Annotated[Principal, Depends(need("analyst"))]) -> Job:
    """Write the brand's post-mortem as a job; fetch it from /api/jobs/{id}/html when done."""
    brand_of(who, body.brand)
    campaign_of(request, who, body.campaign)
    app = request.app

    def work(report):
        out = Path(app.state.root) / "reports" / who.tenant
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"postmortem-{body.brand}-{body.campaign}.html"
        figures = path.with_suffix(".json")
        report("writing the post-mortem", 0.1)
        wh = open_warehouse(app.state.root, on_wait=report)
        try:
            write_postmortem(wh, body.campaign, path, body.brand, json_out=figures)
        finally:
            wh.close()
        return {"html": str(path.relative_to(app.state.root)), "json_file": str(figures.relative_to(app.state.root))}

    return Job(**app.state.jobs.submit(who.tenant, "postmortem", work))


_AS_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@router.get("/{job_id}/html", response_class=HTMLResponse,
            responses={code: {**v, "content": _AS_JSON} for code, v in ERRORS.items()})
def job_html(request: Request, who: Caller, job_id: str) -> HTMLResponse:
    """The HTML a finished post-mortem job wrote."""
    job = request.app.state.jobs.get(who.tenant, job_id)
    if job is None or job["status"] != "done" or not (job["result"] or {}).get("html"):
        raise HTTPException(404, f"no finished report for job {job_id!r}")
    return HTMLResponse((Path(request.app.state.root) / job["result"]["html"]).read_text(encoding="utf-8"))


@router.get("/{job_id}/json")
def job_json(request: Request, who: Caller, job_id: str) -> PostmortemFigures:
    """The figures a finished post-mortem job computed (the same as its HTML shows)."""
    job = request.app.state.jobs.get(who.tenant, job_id)
    if job is None or job["status"] != "done" or not (job["result"] or {}).get("json_file"):
        raise HTTPException(404, f"no finished post-mortem for job {job_id!r}")
    path = Path(request.app.state.root) / job["result"]["json_file"]
    return PostmortemFigures(**json.loads(path.read_text(encoding="utf-8")))
